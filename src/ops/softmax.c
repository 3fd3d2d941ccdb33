/*
 * softmax.c - vkattn_softmax: y = softmax(scale * x + mask + ALiBi bias, causal / window masking) along the last
 * axis, f32 or f16, in place or out of place.
 */
#include "ops/attn.h"
#include "ops/unary.h"

#include <math.h>

vkattn_result vkattn_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_softmax_desc *desc, vkattn_tensor x,
                             vkattn_tensor y)
{
    static const char func[] = "vkattn_softmax";
    static const vkattn_softmax_desc defaults;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    const vkattn_softmax_desc *d = desc ? desc : &defaults;
    float scale = d->scale != 0.0f ? d->scale : 1.0f;
    if (!isfinite(scale))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->scale is %g (must be finite)", func,
                             (double)scale);
    vkattn__tensor xt, yt, mask, slopes;
    vkattn_result r = vkattn__float_xy_resolve(ctx, func, x, y, 1, VKATTN_MAX_DIMS, "1 to 4 dims", &xt, &yt);
    if (r != VKATTN_OK)
        return r;
    vkattn__mask_request req = {d->causal, d->q_offset, d->window, d->mask, d->alibi};
    vkattn__mask_params params;
    r = vkattn__mask_setup(ctx, func, &req, xt.shape, &xt, &yt, &params, &mask, &slopes);
    if (r != VKATTN_OK)
        return r;
    vkattn__op op = vkattn__softmax_op(&xt, &yt, scale, &params, &mask, &slopes);
    return vkattn__submit_op(ctx, cmd, &op, func);
}
