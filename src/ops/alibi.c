/*
 * alibi.c - vkattn_alibi and vkattn_alibi_slopes: desc checks and the per-head slopes.
 *
 * The paper's get_slopes (Press et al. 2022, arXiv:2108.12409, and its repository) gives, for n heads and
 * n' = 2^floor(log2 n): m_h = 2^(-8(h+1)/n') for h < n', then every other slope of 2n' heads,
 * m_h = 2^(-8(2(h-n')+1)/(2n')). ggml's max_bias formula is the same with 8 replaced by max_bias, so one function
 * serves both, max_bias 0 meaning the paper's 8.
 */
#include "ops/attn.h"
#include "ops/pe.h"
#include "ops/unary.h"

#include <math.h>
#include <stdlib.h>

#define PAPER_MAX_BIAS 8.0

static vkattn_result check_desc(vkattn_context *ctx, const char *func, const vkattn_alibi_desc *d, uint32_t heads)
{
    if (!isfinite(d->max_bias) || d->max_bias < 0.0f)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->max_bias is %g (must be finite, >= 0)",
                             func, (double)d->max_bias);
    if (!d->slopes) {
        if (d->slope_count != 0)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: desc->slope_count is %u but desc->slopes is NULL", func, d->slope_count);
        return VKATTN_OK;
    }
    if (d->max_bias != 0.0f)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->slopes and desc->max_bias are both set (give one or the other)", func);
    if (d->slope_count != heads)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->slope_count is %u but there are %u heads", func, d->slope_count, heads);
    for (uint32_t h = 0; h < heads; h++)
        if (!isfinite(d->slopes[h]))
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->slopes[%u] is not finite", func, h);
    return VKATTN_OK;
}

static double computed_slope(double max_bias, uint32_t h, uint32_t heads)
{
    double n2 = ldexp(1.0, (int)floor(log2((double)heads))); /* n' */
    if (h < n2)
        return exp2(-max_bias * (h + 1) / n2);
    return exp2(-max_bias * (2.0 * (h - n2) + 1.0) / (2.0 * n2));
}

static void slopes(const vkattn_alibi_desc *d, uint32_t heads, uint32_t k_len, float *out)
{
    double max_bias = d->max_bias != 0.0f ? d->max_bias : PAPER_MAX_BIAS;
    double scale = d->train_len && k_len > d->train_len ? (double)d->train_len / k_len : 1.0;
    for (uint32_t h = 0; h < heads; h++) {
        double m = d->slopes ? d->slopes[h] : computed_slope(max_bias, h, heads);
        out[h] = (float)(m * scale);
    }
}

vkattn_result vkattn_alibi_slopes(const vkattn_alibi_desc *desc, uint32_t heads, uint32_t k_len, float *out)
{
    static const char func[] = "vkattn_alibi_slopes";
    static const vkattn_alibi_desc defaults;
    const vkattn_alibi_desc *d = desc ? desc : &defaults;
    if (heads == 0 || !out)
        return vkattn__error(NULL, VKATTN_ERROR_INVALID_ARGUMENT, "%s: %s", func,
                             heads == 0 ? "heads is 0" : "out is NULL");
    vkattn_result r = check_desc(NULL, func, d, heads);
    if (r == VKATTN_OK)
        slopes(d, heads, k_len, out);
    return r;
}

vkattn_result vkattn__alibi_table(vkattn_context *ctx, const char *func, const vkattn_alibi_desc *desc,
                                  uint32_t heads, uint32_t k_len, vkattn__tensor *out)
{
    vkattn_result r = check_desc(ctx, func, desc, heads);
    if (r != VKATTN_OK)
        return r;
    float *m = malloc(heads * sizeof *m);
    if (!m)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %u slopes", func, heads);
    slopes(desc, heads, k_len, m);
    r = vkattn__table(ctx, func, VKATTN_F32, m, heads * (uint32_t)sizeof *m, out);
    free(m);
    return r;
}

/* Query positions q_offset .. q_offset + q_len - 1 must be int32, and non-negative on a grid. */
static vkattn_result check_positions(vkattn_context *ctx, const char *func, const vkattn_alibi_desc *d, int64_t q_len,
                                     int64_t k_len)
{
    if ((int64_t)d->q_offset + q_len - 1 > INT32_MAX || k_len > INT32_MAX)
        return vkattn__error(ctx, VKATTN_ERROR_OVERFLOW, "%s: query or key positions do not fit in int32", func);
    if (d->grid_width && d->q_offset < 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->q_offset is %d; grid positions (grid_width > 0) must be >= 0", func,
                             d->q_offset);
    return VKATTN_OK;
}

vkattn_result vkattn_alibi(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_alibi_desc *desc, vkattn_tensor x,
                           vkattn_tensor y)
{
    static const char func[] = "vkattn_alibi";
    static const vkattn_alibi_desc defaults;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    const vkattn_alibi_desc *d = desc ? desc : &defaults;
    vkattn__tensor xt, yt, table;
    vkattn_result r = vkattn__float_xy_resolve(ctx, func, x, y, 2, 4,
                                               "[batch, heads, q_len, k_len], [heads, q_len, k_len] or [q_len, k_len]",
                                               &xt, &yt);
    if (r != VKATTN_OK)
        return r;
    if ((uint64_t)xt.shape[1] > UINT32_MAX / sizeof(float))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: %lld heads are too many", func,
                             (long long)xt.shape[1]);
    uint32_t heads = (uint32_t)xt.shape[1];
    r = check_positions(ctx, func, d, xt.shape[2], xt.shape[3]);
    if (r != VKATTN_OK)
        return r;
    r = vkattn__alibi_table(ctx, func, d, heads, (uint32_t)xt.shape[3], &table);
    if (r != VKATTN_OK)
        return r;
    vkattn__op op = vkattn__pe_op(VKATTN__OP_ALIBI, "alibi", &xt, &table, NULL, false, &yt);
    op.desc.alibi = (vkattn__alibi_params){.q_offset = d->q_offset, .causal = d->causal, .grid_width = d->grid_width};
    return vkattn__submit_op(ctx, cmd, &op, func);
}
