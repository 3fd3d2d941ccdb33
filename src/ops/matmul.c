/*
 * matmul.c - vkattn_matmul: batched c = scale * a b (or a b^T) with grouped-query broadcast of b's heads.
 */
#include "ops/attn.h"

#include <math.h>
#include <string.h>

static vkattn_result shape_error(vkattn_context *ctx, const char *func, const vkattn__tensor *a,
                                 const vkattn__tensor *b, const vkattn__tensor *c, const char *why)
{
    char sa[96], sb[96], sc[96];
    return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: %s (a %s, b %s as used, c %s)", func, why,
                         vkattn__shape_str(a, sa, sizeof sa), vkattn__shape_str(b, sb, sizeof sb),
                         vkattn__shape_str(c, sc, sizeof sc));
}

static vkattn_result check_shapes(vkattn_context *ctx, const char *func, const vkattn__tensor *a,
                                  const vkattn__tensor *b, const vkattn__tensor *c)
{
    if (b->shape[2] != a->shape[3])
        return shape_error(ctx, func, a, b, c, "the inner dims differ");
    if (b->shape[0] != a->shape[0] && b->shape[0] != 1)
        return shape_error(ctx, func, a, b, c, "b's batch must equal a's or be 1");
    if (a->shape[1] % b->shape[1] != 0)
        return shape_error(ctx, func, a, b, c, "b's heads must divide a's heads");
    if (c->shape[0] != a->shape[0] || c->shape[1] != a->shape[1] || c->shape[2] != a->shape[2] ||
        c->shape[3] != b->shape[3])
        return shape_error(ctx, func, a, b, c, "c must be [batch, heads, M, N]");
    return VKATTN_OK;
}

static vkattn_result check_memory(vkattn_context *ctx, const char *func, const vkattn__tensor *a,
                                  const vkattn__tensor *b, const vkattn__tensor *c)
{
    const vkattn__tensor *ts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (ts[i]->dtype == VKATTN_I32)
            return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: %c is i32 (a, b, c are f32 or f16)", func,
                                 "abc"[i]);
    if (vkattn__tensor_self_overlaps(c))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: the strides of c make elements share memory",
                             func);
    if (vkattn__tensors_overlap(c, a) || vkattn__tensors_overlap(c, b))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: c overlaps a or b in memory", func);
    return VKATTN_OK;
}

vkattn_result vkattn__matmul_op(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, float scale,
                                const vkattn__tensor *a, const vkattn__tensor *b, const vkattn__tensor *c)
{
    vkattn__tensor bt = *b;
    if (bt.shape[0] == 1) { /* batch broadcast: the kernels index b's batch with a's */
        bt.shape[0] = a->shape[0];
        bt.strides[0] = 0;
    }
    vkattn_result r = check_shapes(ctx, func, a, b, c);
    if (r == VKATTN_OK)
        r = check_memory(ctx, func, a, b, c);
    if (r != VKATTN_OK)
        return r;
    const vkattn__tensor inputs[2] = {*a, bt};
    vkattn__op op = vkattn__op_make(VKATTN__OP_MATMUL, "matmul", inputs, 2, c, 1);
    op.desc.matmul = (vkattn__matmul_params){.scale = scale, .group = (uint32_t)(a->shape[1] / b->shape[1])};
    return vkattn__submit_op(ctx, cmd, &op, func);
}

vkattn_result vkattn_matmul(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_matmul_desc *desc, vkattn_tensor a,
                            vkattn_tensor b, vkattn_tensor c)
{
    static const char func[] = "vkattn_matmul";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    float scale = desc && desc->scale != 0.0f ? desc->scale : 1.0f;
    if (!isfinite(scale))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->scale is %g (must be finite)", func,
                             (double)scale);
    vkattn__tensor at, bt, ct;
    vkattn_result r = vkattn__tensor_resolve(ctx, a, func, "a", &at);
    if (r == VKATTN_OK)
        r = vkattn__tensor_resolve(ctx, b, func, "b", &bt);
    if (r == VKATTN_OK)
        r = vkattn__tensor_resolve(ctx, c, func, "c", &ct);
    if (r != VKATTN_OK)
        return r;
    if (at.ndim < 2 || bt.ndim < 2 || ct.ndim != at.ndim) {
        char sa[96], sb[96], sc[96];
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: a and b need 2 to 4 dims and c as many as a (a %s, b %s, c %s)", func,
                             vkattn__shape_str(&at, sa, sizeof sa), vkattn__shape_str(&bt, sb, sizeof sb),
                             vkattn__shape_str(&ct, sc, sizeof sc));
    }
    at = vkattn__tensor_as4d(&at);
    bt = vkattn__tensor_as4d(&bt);
    ct = vkattn__tensor_as4d(&ct);
    if (desc && desc->transpose_b)
        bt = vkattn__swap_dims(&bt, 2, 3);
    return vkattn__matmul_op(ctx, cmd, func, scale, &at, &bt, &ct);
}
