/*
 * half.c - IEEE 754 binary16 <-> binary32 conversion, written from the format definitions:
 *   binary16: sign(1) exponent(5, bias 15) fraction(10); binary32: sign(1) exponent(8, bias 127) fraction(23).
 * Exponent field 0 holds zero and subnormals (fraction * 2^(1 - bias - fraction bits)), all ones holds inf (fraction
 * 0) and NaN. float -> half rounds to nearest, ties to even; too large values become inf.
 */
#include "core/internal.h"

#include <string.h>

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float vkattn__half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t frac = h & 0x3ffu;
    if (exp == 0x1f) /* inf, or NaN with its payload kept */
        return bits_float(sign | 0x7f800000u | (frac << 13));
    if (exp != 0)
        return bits_float(sign | ((exp - 15 + 127) << 23) | (frac << 13));
    if (frac == 0)
        return bits_float(sign);
    /* Subnormal: frac * 2^-24. Shift the leading one up to the implicit-bit position, lowering the exponent. */
    int32_t e = -14;
    while (!(frac & 0x400u)) {
        frac <<= 1;
        e--;
    }
    return bits_float(sign | ((uint32_t)(e + 127) << 23) | ((frac & 0x3ffu) << 13));
}

/* value >> shift rounded to nearest, ties to even (shift 1..31). */
static uint32_t shift_round_even(uint32_t value, uint32_t shift)
{
    uint32_t q = value >> shift;
    uint32_t rem = value & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++;
    return q;
}

uint16_t vkattn__float_to_half(float f)
{
    uint32_t u = float_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t frac = u & 0x7fffffu;
    if (exp == 0xff) /* inf stays inf; NaN keeps the top of its payload and stays NaN (quiet bit set) */
        return (uint16_t)(sign | 0x7c00u | (frac ? 0x200u | (frac >> 13) : 0));
    int32_t e = (int32_t)exp - 127;
    if (e > 15)
        return (uint16_t)(sign | 0x7c00u);
    if (e >= -14) {
        /* Normal half. A carry out of the fraction bumps the exponent, up to inf (0x7c00), as it must. */
        uint32_t biased = ((uint32_t)(e + 15) << 23) | frac;
        return (uint16_t)(sign | shift_round_even(biased, 13));
    }
    /* Half subnormal: value = (frac | 2^23) * 2^(e - 23) = q * 2^-24  ->  q = (frac | 2^23) >> -(e + 1).
     * Below 2^-25 (shift > 24) everything rounds to zero. Carry into 0x400 gives the smallest normal. */
    int32_t shift = -(e + 1);
    if (shift > 24)
        return (uint16_t)sign;
    return (uint16_t)(sign | shift_round_even(frac | 0x800000u, (uint32_t)shift));
}
