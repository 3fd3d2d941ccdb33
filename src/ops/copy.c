/*
 * copy.c - vkattn_copy: dst = src element by element, f32 <-> f16 converted, i32 only to i32; vkattn_copy_buffer:
 * the same bytes between contiguous tensors, by the device's transfer command.
 */
#include "ops/unary.h"

vkattn_result vkattn_copy(vkattn_context *ctx, vkattn_cmd *cmd, vkattn_tensor src, vkattn_tensor dst)
{
    static const char func[] = "vkattn_copy";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor s, d;
    vkattn_result r = vkattn__unary_resolve(ctx, func, src, "src", dst, "dst", &s, &d);
    if (r != VKATTN_OK)
        return r;
    if ((s.dtype == VKATTN_I32) != (d.dtype == VKATTN_I32))
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: i32 copies only to i32 (src %s, dst %s)", func,
                             vkattn_dtype_name(s.dtype), vkattn_dtype_name(d.dtype));
    if (vkattn__same_view(&s, &d))
        return VKATTN_OK; /* copying a view onto itself changes nothing */
    vkattn__op op = vkattn__unary_op(VKATTN__OP_COPY, "copy", &s, &d);
    return vkattn__submit_op(ctx, cmd, &op, func);
}

vkattn_result vkattn_copy_buffer(vkattn_context *ctx, vkattn_cmd *cmd, vkattn_tensor src, vkattn_tensor dst)
{
    static const char func[] = "vkattn_copy_buffer";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor s, d;
    vkattn_result r = vkattn__unary_resolve(ctx, func, src, "src", dst, "dst", &s, &d);
    if (r != VKATTN_OK)
        return r;
    if (s.dtype != d.dtype)
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: src is %s, dst %s; use vkattn_copy to convert",
                             func, vkattn_dtype_name(s.dtype), vkattn_dtype_name(d.dtype));
    if (!vkattn__tensor_is_contiguous(&s) || !vkattn__tensor_is_contiguous(&d))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: %s is a strided view; it copies contiguous tensors only (vkattn_copy takes any "
                             "strides)",
                             func, vkattn__tensor_is_contiguous(&s) ? "dst" : "src");
    if (vkattn__same_view(&s, &d))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: src and dst are the same memory", func);
    vkattn__op op = vkattn__unary_op(VKATTN__OP_COPY_BUFFER, "copy_buffer", &s, &d);
    return vkattn__submit_op(ctx, cmd, &op, func);
}
