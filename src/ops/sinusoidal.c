/*
 * sinusoidal.c - vkattn_sinusoidal_add: checks and the phase table of the encoding's frequencies.
 */
#include "ops/pe.h"
#include "ops/unary.h"

#include <math.h>
#include <stdlib.h>

static vkattn_result check_desc(vkattn_context *ctx, const char *func, const vkattn_sinusoidal_desc *desc,
                                int64_t dim, vkattn_sinusoidal_desc *out)
{
    static const vkattn_sinusoidal_desc defaults;
    *out = desc ? *desc : defaults;
    if (out->layout != VKATTN_SINUSOIDAL_INTERLEAVED && out->layout != VKATTN_SINUSOIDAL_CONCAT)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->layout is not a vkattn_sinusoidal_layout "
                             "value", func);
    if (out->base == 0.0)
        out->base = 10000.0;
    if (!(isfinite(out->base) && out->base > 1.0))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->base is %g (must be finite and > 1)",
                             func, out->base);
    if (dim > VKATTN__PE_MAX_DIM)
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: dim is %lld (at most %d)", func, (long long)dim,
                             VKATTN__PE_MAX_DIM);
    if (out->layout == VKATTN_SINUSOIDAL_CONCAT && dim < 4)
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: the concat layout needs dim >= 4 (its step ln(base) / (dim/2 - 1)), got %lld", func,
                             (long long)dim);
    return VKATTN_OK;
}

/* w_k of the layout (vkattn.h): Vaswani base^(-2k/dim); fairseq exp(-k ln(base) / (h - 1)). */
static double frequency(const vkattn_sinusoidal_desc *d, uint32_t k, uint32_t dim)
{
    if (d->layout == VKATTN_SINUSOIDAL_INTERLEAVED)
        return pow(d->base, -2.0 * k / dim);
    return exp(-(double)k * log(d->base) / (double)(dim / 2 - 1));
}

static vkattn_result freq_table(vkattn_context *ctx, const char *func, const vkattn_sinusoidal_desc *d, uint32_t dim,
                                uint32_t n, vkattn__tensor *table)
{
    vkattn__phase_entry *entries = malloc(n * sizeof *entries);
    if (!entries)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %u frequencies", func,
                             n);
    for (uint32_t k = 0; k < n; k++)
        entries[k] = vkattn__phase_entry_of(frequency(d, k, dim), 0);
    vkattn_result r = vkattn__table(ctx, func, VKATTN_I32, entries, n * (uint32_t)sizeof *entries, table);
    free(entries);
    return r;
}

vkattn_result vkattn_sinusoidal_add(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_sinusoidal_desc *desc,
                                    vkattn_tensor x, vkattn_tensor positions, vkattn_tensor y)
{
    static const char func[] = "vkattn_sinusoidal_add";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor xt, yt, pt, table;
    vkattn_result r = vkattn__float_xy_resolve(ctx, func, x, y, 2, 3, "[batch, seq, dim] or [seq, dim]", &xt, &yt);
    if (r != VKATTN_OK)
        return r;
    vkattn_sinusoidal_desc d;
    bool has_pos = false;
    r = check_desc(ctx, func, desc, xt.shape[3], &d);
    if (r == VKATTN_OK)
        r = vkattn__positions_resolve(ctx, func, positions, 1, xt.shape[1], xt.shape[2], &has_pos, &pt);
    if (r == VKATTN_OK)
        r = vkattn__positions_check_offset(ctx, func, has_pos, d.pos_offset, xt.shape[2]);
    uint32_t dim = (uint32_t)xt.shape[3];
    uint32_t n = d.layout == VKATTN_SINUSOIDAL_INTERLEAVED ? (dim + 1) / 2 : dim / 2;
    if (r == VKATTN_OK)
        r = freq_table(ctx, func, &d, dim, n, &table);
    if (r != VKATTN_OK)
        return r;
    vkattn__op op = vkattn__pe_op(VKATTN__OP_SINUSOIDAL, "sinusoidal_add", &xt, &table, &pt, has_pos, &yt);
    op.desc.sinusoidal = (vkattn__sinusoidal_params){
        .layout = d.layout,
        .n_freqs = n,
        .pos_offset = d.pos_offset,
        .has_positions = has_pos,
    };
    return vkattn__submit_op(ctx, cmd, &op, func);
}
