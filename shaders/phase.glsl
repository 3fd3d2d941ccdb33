// phase.glsl - sin and cos of the angle 2 pi * frac(p * turn / 2^64), accurate to float precision at any int32
// position p, with no call of the driver's sin/cos (Vulkan only bounds their absolute error by 2^-11 on [-pi, pi],
// and says nothing outside it).
//
// turn is a phase-table entry (vkattn__phase_entry in src/core/internal.h): the frequency in turns per position
// step modulo 1, as a 64-bit fixed-point fraction (turn.x = low word, turn.y = high word). The reduction modulo one
// turn is exact integer arithmetic; the top 32 bits of the wrapping 64-bit product are the phase in units of
// 2^-32 turn (truncation error < 2^-32 turn = 1.5e-9 rad). The nearest multiple of a quarter turn is split off, the
// remainder r in [-2^29, 2^29) units is the angle x = r * 2 pi / 2^32 in [-pi/4, pi/4] (two float roundings:
// <= 1e-7 rad), and Taylor polynomials give sin x and cos x there (truncation error below 2e-9).

// Radians per 2^-32 turn.
const float PHASE_RAD_PER_UNIT = 1.4629180792671596e-9;

// Top 32 bits of p * turn mod 2^64, p sign-extended to 64 bits (p_hi = 0 or 0xffffffff):
//   p * turn = p_lo t_lo + 2^32 (p_lo t_hi + p_hi t_lo) + 2^64 (...), and p_hi t_lo = -t_lo mod 2^32 when p < 0.
uint phase_units(int p, uvec2 turn)
{
    uint hi, lo;
    umulExtended(uint(p), turn.x, hi, lo);
    return hi + uint(p) * turn.y - (p < 0 ? turn.x : 0u);
}

// sin x and cos x for |x| <= pi/4: Taylor to x^9 and x^10 (next terms x^11/11! < 1.8e-9, x^12/12! < 1.2e-10).
vec2 sincos_quarter(float x)
{
    float x2 = x * x;
    float s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362880.0)))));
    float c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40320.0 +
                                                                               x2 * (-1.0 / 3628800.0)))));
    return vec2(s, c);
}

// (sin, cos) of the angle `phase` * 2 pi / 2^32. Quadrant q = round(phase / 2^30) (mod 4); the remainder
// phase - q 2^30, read as signed, lies in [-2^29, 2^29). Then with theta = q pi/2 + x:
//   q = 1: (sin, cos) = (cos x, -sin x);  q = 2: (-sin x, -cos x);  q = 3: (-cos x, sin x).
vec2 phase_sincos(uint phase)
{
    uint q = (phase + 0x20000000u) >> 30;
    int r = int(phase - (q << 30));
    vec2 sc = sincos_quarter(float(r) * PHASE_RAD_PER_UNIT);
    if ((q & 1u) != 0u) {
        sc = vec2(sc.y, -sc.x);
    }
    return (q & 2u) != 0u ? -sc : sc;
}

// (sin, cos) of 2 pi * frac(p * turn / 2^64).
vec2 turn_sincos(int p, uvec2 turn)
{
    return phase_sincos(phase_units(p, turn));
}
