/*
 * checked.c - unsigned 64-bit arithmetic that reports overflow instead of wrapping.
 */
#include "core/internal.h"

bool vkattn__mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool vkattn__add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b > UINT64_MAX - a)
        return false;
    *out = a + b;
    return true;
}
