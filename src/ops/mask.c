/*
 * mask.c - masking of attention scores shared by vkattn_softmax and vkattn_attention: causal, sliding window,
 * additive mask (broadcast over the leading dims) and the fused ALiBi bias.
 */
#include "ops/attn.h"

#include <string.h>

vkattn__tensor vkattn__swap_dims(const vkattn__tensor *t, int d0, int d1)
{
    vkattn__tensor out = *t;
    out.shape[d0] = t->shape[d1];
    out.shape[d1] = t->shape[d0];
    out.strides[d0] = t->strides[d1];
    out.strides[d1] = t->strides[d0];
    return out;
}

/* The mask aligned with the scores: each of its dims (right-aligned) equals the scores' or is 1 (stride 0). */
static vkattn_result mask_resolve(vkattn_context *ctx, const char *func, vkattn_tensor handle, const int64_t scores[4],
                                  const vkattn__tensor *y, vkattn__tensor *out)
{
    vkattn__tensor m;
    vkattn_result r = vkattn__tensor_resolve(ctx, handle, func, "mask", &m);
    if (r != VKATTN_OK)
        return r;
    if (m.dtype == VKATTN_I32)
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: the mask is i32 (must be f32 or f16)", func);
    char shape[96];
    vkattn__shape_str(&m, shape, sizeof shape);
    *out = vkattn__tensor_as4d(&m);
    for (int k = 0; k < 4; k++) {
        if (out->shape[k] == scores[k])
            continue;
        if (out->shape[k] != 1)
            return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                                 "%s: the mask's shape %s does not broadcast to the scores [%lld,%lld,%lld,%lld] "
                                 "(each dim must equal the scores' or be 1)",
                                 func, shape, (long long)scores[0], (long long)scores[1], (long long)scores[2],
                                 (long long)scores[3]);
        out->shape[k] = scores[k];
        out->strides[k] = 0;
    }
    if (y && vkattn__tensors_overlap(out, y))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: the mask overlaps the output in memory", func);
    return VKATTN_OK;
}

static vkattn_result check_request(vkattn_context *ctx, const char *func, const vkattn__mask_request *req,
                                   const int64_t scores[4])
{
    if ((int64_t)req->q_offset + scores[2] - 1 > INT32_MAX || scores[3] > INT32_MAX)
        return vkattn__error(ctx, VKATTN_ERROR_OVERFLOW,
                             "%s: query positions q_offset + q_len - 1 or key positions do not fit in int32", func);
    if (req->alibi && (req->alibi->q_offset != 0 || req->alibi->causal))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: the ALiBi desc's q_offset and causal must be 0 here (this op's own q_offset and "
                             "causal apply)", func);
    if (req->alibi && req->alibi->grid_width && req->q_offset < 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: q_offset is %d; ALiBi grid positions (grid_width > 0) must be >= 0", func,
                             req->q_offset);
    if ((uint64_t)scores[1] > UINT32_MAX / sizeof(float))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: %lld heads are too many", func,
                             (long long)scores[1]);
    return VKATTN_OK;
}

vkattn_result vkattn__mask_setup(vkattn_context *ctx, const char *func, const vkattn__mask_request *req,
                                 const int64_t scores[4], const vkattn__tensor *placeholder, const vkattn__tensor *y,
                                 vkattn__mask_params *params, vkattn__tensor *mask, vkattn__tensor *slopes)
{
    memset(params, 0, sizeof *params);
    *mask = *placeholder;
    *slopes = *placeholder;
    vkattn_result r = check_request(ctx, func, req, scores);
    if (r == VKATTN_OK && req->mask.id != 0)
        r = mask_resolve(ctx, func, req->mask, scores, y, mask);
    if (r == VKATTN_OK && req->alibi)
        r = vkattn__alibi_table(ctx, func, req->alibi, (uint32_t)scores[1], (uint32_t)scores[3], slopes);
    if (r != VKATTN_OK)
        return r;
    *params = (vkattn__mask_params){
        .causal = req->causal,
        .q_offset = req->q_offset,
        .window = req->window,
        .has_mask = req->mask.id != 0,
        .has_alibi = req->alibi != NULL,
        .grid_width = req->alibi ? req->alibi->grid_width : 0,
    };
    return VKATTN_OK;
}

vkattn__op vkattn__softmax_op(const vkattn__tensor *x, const vkattn__tensor *y, float scale,
                              const vkattn__mask_params *params, const vkattn__tensor *mask,
                              const vkattn__tensor *slopes)
{
    const vkattn__tensor inputs[3] = {*x, *mask, *slopes};
    vkattn__op op = vkattn__op_make(VKATTN__OP_SOFTMAX, "softmax", inputs, 3, y, 1);
    op.desc.softmax = (vkattn__softmax_params){.scale = scale, .mask = *params};
    return op;
}
