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

vkattn__op vkattn__unary_op(vkattn__op_kind kind, const char *name, const vkattn__tensor *in,
                            const vkattn__tensor *out)
{
    vkattn__op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.name = name;
    op.n_inputs = 1;
    op.n_outputs = 1;
    op.inputs[0] = vkattn__tensor_as4d(in);
    op.outputs[0] = vkattn__tensor_as4d(out);
    return op;
}
