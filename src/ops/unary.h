/*
 * unary.h - what the front ends of one-input, one-output ops (copy, softmax) share.
 */
#ifndef VKATTN_OPS_UNARY_H
#define VKATTN_OPS_UNARY_H

#include "core/internal.h"

/* Resolves the input and output handles (named in messages as in_name / out_name) and checks what every such op
 * needs: the same shape, an output without overlapping elements, and an output that is either the input's very
 * view (in place) or shares no memory with it. */
vkattn_result vkattn__unary_resolve(vkattn_context *ctx, const char *func, vkattn_tensor in, const char *in_name,
                                    vkattn_tensor out, const char *out_name, vkattn__tensor *in_t,
                                    vkattn__tensor *out_t);

/* vkattn__unary_resolve for ops on float data named x and y: also both f32 or both f16, and x of min_ndim to
 * max_ndim dims (`shapes` names the accepted shapes in the message). *xt and *yt come back in 4-dim form. */
vkattn_result vkattn__float_xy_resolve(vkattn_context *ctx, const char *func, vkattn_tensor x, vkattn_tensor y,
                                       uint32_t min_ndim, uint32_t max_ndim, const char *shapes, vkattn__tensor *xt,
                                       vkattn__tensor *yt);

/* An op with inputs[0] = in and outputs[0] = out, both in 4-dim form, and a zero desc. */
vkattn__op vkattn__unary_op(vkattn__op_kind kind, const char *name, const vkattn__tensor *in,
                            const vkattn__tensor *out);

#endif /* VKATTN_OPS_UNARY_H */
