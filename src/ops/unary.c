/*
 * unary.c - checks and op building shared by the one-input, one-output front ends.
 */
#include "ops/unary.h"

#include <string.h>

vkattn_result vkattn__unary_resolve(vkattn_context *ctx, const char *func, vkattn_tensor in, const char *in_name,
                                    vkattn_tensor out, const char *out_name, vkattn__tensor *in_t,
                                    vkattn__tensor *out_t)
{
    vkattn_result r = vkattn__tensor_resolve(ctx, in, func, in_name, in_t);
    if (r == VKATTN_OK)
        r = vkattn__tensor_resolve(ctx, out, func, out_name, out_t);
    if (r != VKATTN_OK)
        return r;
    char a[96], b[96];
    if (!vkattn__same_shape(in_t, out_t))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: %s and %s differ in shape (%s vs %s)", func,
                             in_name, out_name, vkattn__shape_str(in_t, a, sizeof a),
                             vkattn__shape_str(out_t, b, sizeof b));
    if (vkattn__tensor_self_overlaps(out_t))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: the strides of %s make some of its elements share memory", func, out_name);
    if (!vkattn__same_view(in_t, out_t) && vkattn__tensors_overlap(in_t, out_t))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: %s and %s overlap in memory (they must be the same view or disjoint)", func,
                             in_name, out_name);
    return VKATTN_OK;
}

vkattn_result vkattn__float_xy_resolve(vkattn_context *ctx, const char *func, vkattn_tensor x, vkattn_tensor y,
                                       uint32_t min_ndim, uint32_t max_ndim, const char *shapes, vkattn__tensor *xt,
                                       vkattn__tensor *yt)
{
    vkattn_result r = vkattn__unary_resolve(ctx, func, x, "x", y, "y", xt, yt);
    if (r != VKATTN_OK)
        return r;
    if (xt->dtype != yt->dtype || xt->dtype == VKATTN_I32)
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: x is %s and y is %s (both f32 or both f16)",
                             func, vkattn_dtype_name(xt->dtype), vkattn_dtype_name(yt->dtype));
    char shape[96];
    if (xt->ndim < min_ndim || xt->ndim > max_ndim)
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: x has shape %s; expected %s", func,
                             vkattn__shape_str(xt, shape, sizeof shape), shapes);
    *xt = vkattn__tensor_as4d(xt);
    *yt = vkattn__tensor_as4d(yt);
    return VKATTN_OK;
}

vkattn__op vkattn__unary_op(vkattn__op_kind kind, const char *name, const vkattn__tensor *in,
                            const vkattn__tensor *out)
{
    vkattn__tensor in4 = vkattn__tensor_as4d(in), out4 = vkattn__tensor_as4d(out);
    return vkattn__op_make(kind, name, &in4, 1, &out4, 1);
}
