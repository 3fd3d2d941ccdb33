/*
 * softmax.c - vkattn_softmax: y = softmax(scale * x) along the last axis, f32 or f16, in place or out of place.
 */
#include "ops/unary.h"

#include <math.h>

vkattn_result vkattn_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_softmax_desc *desc, vkattn_tensor x,
                             vkattn_tensor y)
{
    static const char func[] = "vkattn_softmax";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    float scale = (desc && desc->scale != 0.0f) ? desc->scale : 1.0f;
    if (!isfinite(scale))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->scale is %g (must be finite)", func,
                             (double)scale);
    vkattn__tensor xt, yt;
    vkattn_result r = vkattn__float_xy_resolve(ctx, func, x, y, 1, VKATTN_MAX_DIMS, "1 to 4 dims", &xt, &yt);
    if (r != VKATTN_OK)
        return r;
    vkattn__op op = vkattn__unary_op(VKATTN__OP_SOFTMAX, "softmax", &xt, &yt);
    op.desc.softmax.scale = scale;
    return vkattn__submit_op(ctx, cmd, &op, func);
}
