/*
 * rope_freq.c - RoPE desc defaults and checks, and the frequency of every pair in float64 (vkattn_rope_frequencies).
 *
 * Notation as in vkattn.h: a ladder of n frequencies over d = 2n dims, theta_k = base^(-2k/d); s = factor,
 * L = orig_ctx, c = context length. The scalings follow Hugging Face transformers' modeling_rope_utils.py
 * (_compute_*_parameters), computed here in float64 where HF uses float32.
 */
#include "ops/pe.h"

#include <math.h>
#include <stdlib.h>

#define PI 3.14159265358979323846

static vkattn_result bad(vkattn_context *ctx, const char *func, const char *what)
{
    return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: %s", func, what);
}

/* 0 = `fallback`; otherwise finite and above `min` (or at least, when min_inclusive). */
static bool defaulted(double *v, double fallback, double min, bool min_inclusive)
{
    if (*v == 0.0)
        *v = fallback;
    return isfinite(*v) && (*v > min || (min_inclusive && *v == min));
}

static bool factors_ok(const float *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(f[i]) || f[i] <= 0.0f)
            return false;
    return true;
}

static vkattn_result check_dims(vkattn_context *ctx, const char *func, vkattn__rope_plan *p, int64_t head_dim)
{
    if (head_dim < 1 || head_dim > VKATTN__PE_MAX_DIM)
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: head_dim is %lld (must be 1 to %d)", func,
                             (long long)head_dim, VKATTN__PE_MAX_DIM);
    p->head_dim = (uint32_t)head_dim;
    uint32_t rot = p->d.rot_dims ? p->d.rot_dims : p->head_dim;
    if (rot > p->head_dim)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->rot_dims is %u, more than head_dim %u",
                             func, rot, p->head_dim);
    if (rot % 2 != 0 || rot < 2)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: rot_dims is %u%s (it must be even and at least 2: dims rotate in pairs)", func, rot,
                             p->d.rot_dims ? "" : " (the default: head_dim)");
    p->d.rot_dims = rot;
    p->n_pairs = rot / 2;
    p->ladder = p->n_pairs;
    p->axes = 1;
    if (p->d.axes == VKATTN_ROPE_AXES_2D) {
        if (rot % 4 != 0)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: 2D axial RoPE needs rot_dims a multiple of 4 (half the pairs per axis), got %u",
                                 func, rot);
        p->ladder = p->n_pairs / 2;
        p->axes = 2;
    } else if (p->d.axes == VKATTN_ROPE_AXES_MROPE) {
        const uint32_t *s = p->d.mrope_section;
        if ((uint64_t)s[0] + s[1] + s[2] != p->n_pairs)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: mrope_section {%u, %u, %u} must sum to rot_dims / 2 = %u", func, s[0], s[1],
                                 s[2], p->n_pairs);
        p->axes = 3;
    } else if (p->d.axes != VKATTN_ROPE_AXES_1D) {
        return bad(ctx, func, "desc->axes is not a vkattn_rope_axes value");
    }
    if (p->d.axes != VKATTN_ROPE_AXES_MROPE && (p->d.mrope_section[0] || p->d.mrope_section[1] ||
                                               p->d.mrope_section[2]))
        return bad(ctx, func, "desc->mrope_section is set but desc->axes is not VKATTN_ROPE_AXES_MROPE");
    return VKATTN_OK;
}

static bool scaling_needs_orig(vkattn_rope_scaling s)
{
    return s == VKATTN_ROPE_SCALING_DYNAMIC || s == VKATTN_ROPE_SCALING_YARN || s == VKATTN_ROPE_SCALING_LONGROPE ||
           s == VKATTN_ROPE_SCALING_LLAMA3;
}

static vkattn_result check_scaling(vkattn_context *ctx, const char *func, vkattn__rope_plan *p)
{
    vkattn_rope_desc *d = &p->d;
    if ((unsigned)d->scaling > VKATTN_ROPE_SCALING_LLAMA3)
        return bad(ctx, func, "desc->scaling is not a vkattn_rope_scaling value");
    /* A NaN or infinite factor means nothing even where the scaling ignores it: reject it as a caller's bug. */
    if (!isfinite(d->factor) || (d->scaling != VKATTN_ROPE_SCALING_NONE && !(d->factor > 0.0)))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->factor is %g (must be finite, and > 0 for every scaling but NONE)", func,
                             d->factor);
    if (scaling_needs_orig(d->scaling) && d->orig_ctx == 0)
        return bad(ctx, func, "desc->orig_ctx is 0 (this scaling needs the original context length)");
    if (d->scaling == VKATTN_ROPE_SCALING_LONGROPE && d->orig_ctx < 2)
        return bad(ctx, func, "desc->orig_ctx must be at least 2 for LongRoPE (its attention factor divides by ln L)");
    bool ntk = d->scaling == VKATTN_ROPE_SCALING_NTK || d->scaling == VKATTN_ROPE_SCALING_DYNAMIC;
    if (ntk && p->ladder < 2)
        return bad(ctx, func, "NTK scaling needs a ladder of at least 2 frequencies (exponent d / (d - 2))");
    if (!defaulted(&d->beta_fast, 32.0, 0.0, false) || !defaulted(&d->beta_slow, 1.0, 0.0, false))
        return bad(ctx, func, "desc->beta_fast and desc->beta_slow must be finite and > 0 (0 = 32 and 1)");
    if (!(isfinite(d->attn_factor) && d->attn_factor >= 0.0))
        return bad(ctx, func, "desc->attn_factor must be finite and > 0 (0 = the scaling's default)");
    if (!(isfinite(d->yarn_mscale) && d->yarn_mscale >= 0.0) ||
        !(isfinite(d->yarn_mscale_all_dim) && d->yarn_mscale_all_dim >= 0.0))
        return bad(ctx, func, "desc->yarn_mscale and desc->yarn_mscale_all_dim must be finite and >= 0");
    if (!defaulted(&d->low_freq_factor, 1.0, 0.0, false) || !defaulted(&d->high_freq_factor, 4.0, 0.0, false))
        return bad(ctx, func, "desc->low_freq_factor and desc->high_freq_factor must be finite and > 0");
    if (d->scaling == VKATTN_ROPE_SCALING_LLAMA3 && d->high_freq_factor <= d->low_freq_factor)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->high_freq_factor (%g) must exceed desc->low_freq_factor (%g)", func,
                             d->high_freq_factor, d->low_freq_factor);
    return VKATTN_OK;
}

static vkattn_result check_factor_arrays(vkattn_context *ctx, const char *func, const vkattn__rope_plan *p)
{
    const vkattn_rope_desc *d = &p->d;
    bool longrope = d->scaling == VKATTN_ROPE_SCALING_LONGROPE;
    if (longrope && (!d->short_factor || !d->long_factor))
        return bad(ctx, func, "LongRoPE needs desc->short_factor and desc->long_factor");
    if (!longrope && (d->short_factor || d->long_factor))
        return bad(ctx, func, "desc->short_factor / long_factor are set but the scaling is not LONGROPE");
    bool any = d->short_factor || d->long_factor || d->freq_factors;
    if (any && d->factor_count != p->ladder)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->factor_count is %u but the factor arrays need %u entries (one per frequency)",
                             func, d->factor_count, p->ladder);
    if (!any && d->factor_count != 0)
        return bad(ctx, func, "desc->factor_count is set but no factor array is given");
    if ((d->short_factor && !factors_ok(d->short_factor, p->ladder)) ||
        (d->long_factor && !factors_ok(d->long_factor, p->ladder)) ||
        (d->freq_factors && !factors_ok(d->freq_factors, p->ladder)))
        return bad(ctx, func, "every entry of the factor arrays must be finite and > 0");
    return VKATTN_OK;
}

vkattn_result vkattn__rope_plan_make(vkattn_context *ctx, const char *func, const vkattn_rope_desc *desc,
                                     int64_t head_dim, vkattn__rope_plan *out)
{
    static const vkattn_rope_desc defaults;
    vkattn__rope_plan p = {.d = desc ? *desc : defaults};
    if (p.d.mode != VKATTN_ROPE_NEOX && p.d.mode != VKATTN_ROPE_GPTJ)
        return bad(ctx, func, "desc->mode is not a vkattn_rope_mode value");
    if (!defaulted(&p.d.base, 10000.0, 1.0, false))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->base is %g (must be finite and > 1)",
                             func, p.d.base);
    if (p.d.flags & ~(uint32_t)VKATTN_ROPE_YARN_NO_TRUNCATE)
        return bad(ctx, func, "desc->flags has unknown bits");
    vkattn_result r = check_dims(ctx, func, &p, head_dim);
    if (r == VKATTN_OK)
        r = check_scaling(ctx, func, &p);
    if (r == VKATTN_OK)
        r = check_factor_arrays(ctx, func, &p);
    if (r == VKATTN_OK)
        *out = p;
    return r;
}

bool vkattn__rope_needs_ctx_len(const vkattn__rope_plan *p)
{
    return p->d.scaling == VKATTN_ROPE_SCALING_DYNAMIC || p->d.scaling == VKATTN_ROPE_SCALING_LONGROPE;
}

/* ---- the ladder ----------------------------------------------------------------------------------------------- */

/* YaRN's correction dim: the dim whose wavelength fits `rotations` times into L (HF find_correction_dim). */
static double yarn_correction_dim(double rotations, double d, double base, double orig)
{
    return d * log(orig / (rotations * 2.0 * PI)) / (2.0 * log(base));
}

/* HF get_mscale. */
static double yarn_mscale(double s, double mscale)
{
    return s <= 1.0 ? 1.0 : 0.1 * mscale * log(s) + 1.0;
}

/* YaRN: blend of theta_k (extrapolation) and theta_k / s (interpolation) with a linear ramp over the dims between
 * the correction dims of beta_fast and beta_slow rotations (HF find_correction_range, linear_ramp_factor). */
static double yarn_theta(const vkattn_rope_desc *d, double theta, uint32_t k, uint32_t n)
{
    double dims = 2.0 * n;
    double low = yarn_correction_dim(d->beta_fast, dims, d->base, d->orig_ctx);
    double high = yarn_correction_dim(d->beta_slow, dims, d->base, d->orig_ctx);
    if (!(d->flags & VKATTN_ROPE_YARN_NO_TRUNCATE)) {
        low = floor(low);
        high = ceil(high);
    }
    low = fmax(low, 0.0);
    high = fmin(high, dims - 1.0);
    if (low == high)
        high += 0.001;
    double ramp = fmin(fmax((k - low) / (high - low), 0.0), 1.0);
    double extrapolation = 1.0 - ramp;
    return theta / d->factor * (1.0 - extrapolation) + theta * extrapolation;
}

/* Llama 3.1: long wavelengths scaled by 1/s, short kept, smooth between (HF _compute_llama3_parameters). */
static double llama3_theta(const vkattn_rope_desc *d, double theta)
{
    double wavelen = 2.0 * PI / theta;
    double low_wavelen = d->orig_ctx / d->low_freq_factor;
    double high_wavelen = d->orig_ctx / d->high_freq_factor;
    if (wavelen > low_wavelen)
        return theta / d->factor;
    if (wavelen < high_wavelen)
        return theta;
    double smooth = (d->orig_ctx / wavelen - d->low_freq_factor) / (d->high_freq_factor - d->low_freq_factor);
    return (1.0 - smooth) * theta / d->factor + smooth * theta;
}

/* The base after NTK-style changes: d/(d-2) is HF's dim / (dim - 2). */
static double scaled_base(const vkattn_rope_desc *d, uint32_t n, int64_t ctx_len)
{
    double dims = 2.0 * n, s = d->factor;
    if (d->scaling == VKATTN_ROPE_SCALING_NTK)
        return d->base * pow(s, dims / (dims - 2.0));
    if (d->scaling == VKATTN_ROPE_SCALING_DYNAMIC) {
        /* HF's s c' / L - (s - 1), written as s (c' - L) / L + 1: the same value, but never below 1, where the
         * difference of two huge terms could cancel to 0 (a zero base) for a large s. */
        double c = ctx_len > (int64_t)d->orig_ctx ? (double)ctx_len : (double)d->orig_ctx;
        return d->base * pow(s * (c - d->orig_ctx) / d->orig_ctx + 1.0, dims / (dims - 2.0));
    }
    return d->base;
}

static double ladder_theta(const vkattn__rope_plan *p, uint32_t k, double base, int64_t ctx_len)
{
    const vkattn_rope_desc *d = &p->d;
    uint32_t n = p->ladder;
    double theta = pow(base, -2.0 * k / (2.0 * n));
    switch (d->scaling) {
    case VKATTN_ROPE_SCALING_LINEAR: theta /= d->factor; break;
    case VKATTN_ROPE_SCALING_YARN: theta = yarn_theta(d, theta, k, n); break;
    case VKATTN_ROPE_SCALING_LLAMA3: theta = llama3_theta(d, theta); break;
    case VKATTN_ROPE_SCALING_LONGROPE:
        theta /= ctx_len > (int64_t)d->orig_ctx ? d->long_factor[k] : d->short_factor[k];
        break;
    case VKATTN_ROPE_SCALING_NONE:
    case VKATTN_ROPE_SCALING_NTK:
    case VKATTN_ROPE_SCALING_DYNAMIC: break;
    }
    return d->freq_factors ? theta / d->freq_factors[k] : theta;
}

static double default_attn_factor(const vkattn_rope_desc *d)
{
    if (d->scaling == VKATTN_ROPE_SCALING_YARN) {
        if (d->yarn_mscale != 0.0 && d->yarn_mscale_all_dim != 0.0)
            return yarn_mscale(d->factor, d->yarn_mscale) / yarn_mscale(d->factor, d->yarn_mscale_all_dim);
        return yarn_mscale(d->factor, 1.0);
    }
    if (d->scaling == VKATTN_ROPE_SCALING_LONGROPE && d->factor > 1.0)
        return sqrt(1.0 + log(d->factor) / log((double)d->orig_ctx));
    return 1.0;
}

/* Pair i's place in the ladder and its position axis. */
static uint32_t pair_axis(const vkattn__rope_plan *p, uint32_t i, uint32_t *k)
{
    *k = i;
    if (p->d.axes == VKATTN_ROPE_AXES_2D) {
        *k = i % p->ladder;
        return i / p->ladder;
    }
    if (p->d.axes == VKATTN_ROPE_AXES_MROPE) {
        const uint32_t *s = p->d.mrope_section;
        return i < s[0] ? 0u : i < s[0] + s[1] ? 1u : 2u;
    }
    return 0;
}

void vkattn__rope_pairs(const vkattn__rope_plan *p, int64_t ctx_len, double *theta, uint32_t *axis,
                        double *attn_factor)
{
    double base = scaled_base(&p->d, p->ladder, ctx_len);
    for (uint32_t i = 0; i < p->n_pairs; i++) {
        uint32_t k;
        uint32_t a = pair_axis(p, i, &k);
        theta[i] = ladder_theta(p, k, base, ctx_len);
        if (axis)
            axis[i] = a;
    }
    *attn_factor = p->d.attn_factor != 0.0 ? p->d.attn_factor : default_attn_factor(&p->d);
}

vkattn_result vkattn_rope_frequencies(const vkattn_rope_desc *desc, uint32_t head_dim, double *inv_freq,
                                      uint32_t capacity, double *attn_factor)
{
    static const char func[] = "vkattn_rope_frequencies";
    vkattn__rope_plan p;
    vkattn_result r = vkattn__rope_plan_make(NULL, func, desc, head_dim, &p);
    if (r != VKATTN_OK)
        return r;
    if (!inv_freq || capacity < p.n_pairs)
        return vkattn__error(NULL, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: inv_freq must have room for rot_dims / 2 = %u values (capacity %u%s)", func,
                             p.n_pairs, capacity, inv_freq ? "" : ", pointer NULL");
    double factor;
    vkattn__rope_pairs(&p, p.d.ctx_len, inv_freq, NULL, &factor);
    if (attn_factor)
        *attn_factor = factor;
    return VKATTN_OK;
}
