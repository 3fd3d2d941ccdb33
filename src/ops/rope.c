/*
 * rope.c - vkattn_rope: checks, the context length for DYNAMIC / LONGROPE, and the phase table of the pairs.
 */
#include "ops/pe.h"
#include "ops/unary.h"

#include <math.h>
#include <stdlib.h>

/* Every desc field may be valid on its own while their combination still overflows a frequency (a LINEAR factor of
 * 1e-310 divides theta by almost nothing): such a frequency has no phase, so the call fails instead. */
static vkattn_result pair_entry(vkattn_context *ctx, const char *func, uint32_t pair, double theta, uint32_t axis,
                                vkattn__phase_entry *out)
{
    if (!isfinite(theta))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: the desc gives pair %u the frequency %g rad per position (base, factor and the "
                             "factor arrays must combine to a finite value)", func, pair, theta);
    *out = vkattn__phase_entry_of(theta, axis);
    return VKATTN_OK;
}

/* The phase table of every pair, uploaded (or found in the cache). */
static vkattn_result pair_table(vkattn_context *ctx, const char *func, const vkattn__rope_plan *plan, int64_t ctx_len,
                                vkattn__tensor *table, double *attn_factor)
{
    uint32_t n = plan->n_pairs;
    double *theta = malloc(n * sizeof *theta);
    uint32_t *axis = malloc(n * sizeof *axis);
    vkattn__phase_entry *entries = malloc(n * sizeof *entries);
    vkattn_result r = VKATTN_OK;
    if (!theta || !axis || !entries) {
        r = vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %u frequencies", func, n);
    } else {
        vkattn__rope_pairs(plan, ctx_len, theta, axis, attn_factor);
        for (uint32_t i = 0; i < n && r == VKATTN_OK; i++)
            r = pair_entry(ctx, func, i, theta[i], axis[i], &entries[i]);
        if (r == VKATTN_OK)
            r = vkattn__table(ctx, func, VKATTN_I32, entries, n * (uint32_t)sizeof *entries, table);
    }
    free(theta);
    free(axis);
    free(entries);
    return r;
}

vkattn_result vkattn_rope(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_rope_desc *desc, vkattn_tensor x,
                          vkattn_tensor positions, vkattn_tensor y)
{
    static const char func[] = "vkattn_rope";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor xt, yt, pt, table;
    vkattn__rope_plan plan;
    bool has_pos = false;
    vkattn_result r = vkattn__float_xy_resolve(ctx, func, x, y, 3, 4,
                                               "[batch, seq, heads, head_dim] or [seq, heads, head_dim]", &xt, &yt);
    if (r == VKATTN_OK)
        r = vkattn__rope_plan_make(ctx, func, desc, xt.shape[3], &plan);
    if (r == VKATTN_OK)
        r = vkattn__positions_resolve(ctx, func, positions, plan.axes, xt.shape[0], xt.shape[1], &has_pos, &pt);
    if (r == VKATTN_OK)
        r = vkattn__positions_check_offset(ctx, func, has_pos, plan.d.pos_offset, xt.shape[1]);
    int64_t ctx_len = plan.d.ctx_len;
    if (r == VKATTN_OK && ctx_len == 0 && vkattn__rope_needs_ctx_len(&plan))
        r = vkattn__positions_extent(ctx, func, positions, has_pos, plan.d.pos_offset, xt.shape[1], &ctx_len);
    double attn_factor = 1.0;
    if (r == VKATTN_OK)
        r = pair_table(ctx, func, &plan, ctx_len, &table, &attn_factor);
    if (r != VKATTN_OK)
        return r;
    vkattn__op op = vkattn__pe_op(VKATTN__OP_ROPE, "rope", &xt, &table, &pt, has_pos, &yt);
    op.desc.rope = (vkattn__rope_params){
        .mode = plan.d.mode,
        .n_pairs = plan.n_pairs,
        .attn_factor = (float)attn_factor,
        .pos_offset = plan.d.pos_offset,
        .has_positions = has_pos,
    };
    return vkattn__submit_op(ctx, cmd, &op, func);
}
