/*
 * tensor_io.c - vkattn_tensor_write / vkattn_tensor_read: dense host data <-> a tensor's elements.
 *
 * A contiguous tensor is one transfer. A strided view goes through a host copy of the storage range it touches
 * (read, scatter or gather element by element, and for writes, write back), so the elements between the view's
 * own ones keep their values.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

/* Resolves t, checks the host buffer against it and waits for the work already submitted on the context. */
static vkattn_result io_prepare(vkattn_context *ctx, vkattn_tensor t, const void *host, size_t bytes,
                                const char *func, vkattn__tensor *out)
{
    vkattn_result r = vkattn__tensor_resolve(ctx, t, func, "t", out);
    if (r != VKATTN_OK)
        return r;
    uint64_t numel = vkattn__tensor_numel(out);
    size_t size = vkattn_dtype_size(out->dtype);
    if (!host)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: the host pointer is NULL", func);
    if (bytes / size != numel || bytes % size != 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: bytes is %zu but the tensor holds %llu elements of %s (%llu bytes)", func, bytes,
                             (unsigned long long)numel, vkattn_dtype_name(out->dtype),
                             (unsigned long long)(numel * size));
    r = ctx->backend->wait_idle(ctx, (uint64_t)ctx->desc.timeout_ms * 1000000u);
    if (r == VKATTN_ERROR_TIMEOUT)
        return vkattn__error(ctx, r, "%s: submitted work did not finish within %u ms", func, ctx->desc.timeout_ms);
    return r;
}

/* Copies every element between its place in `span` (a host copy of the storage from element lo on) and the dense
 * host array in logical row-major order: from `src` into the span when src is non-NULL, else from the span to `dst`. */
static void scatter_gather(const vkattn__tensor *t, unsigned char *span, int64_t lo, const unsigned char *src,
                           unsigned char *dst)
{
    vkattn__tensor t4 = vkattn__tensor_as4d(t);
    size_t size = vkattn_dtype_size(t->dtype), n = 0;
    for (int64_t i0 = 0; i0 < t4.shape[0]; i0++)
        for (int64_t i1 = 0; i1 < t4.shape[1]; i1++)
            for (int64_t i2 = 0; i2 < t4.shape[2]; i2++)
                for (int64_t i3 = 0; i3 < t4.shape[3]; i3++) {
                    int64_t e = t4.offset + i0 * t4.strides[0] + i1 * t4.strides[1] + i2 * t4.strides[2] +
                                i3 * t4.strides[3];
                    unsigned char *elem = span + (size_t)(e - lo) * size;
                    if (src)
                        memcpy(elem, src + n * size, size);
                    else
                        memcpy(dst + n * size, elem, size);
                    n++;
                }
}

/* A strided transfer: writes from `src` when it is non-NULL, else reads into `dst`. */
static vkattn_result strided_io(vkattn_context *ctx, const vkattn__tensor *t, const void *src, void *dst,
                                const char *func)
{
    int64_t lo, hi;
    vkattn__tensor_span(t, &lo, &hi);
    size_t size = vkattn_dtype_size(t->dtype);
    uint64_t span_bytes = (uint64_t)(hi - lo + 1) * size; /* inside the storage, so no overflow */
    unsigned char *span = span_bytes <= SIZE_MAX ? malloc((size_t)span_bytes) : NULL;
    if (!span)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY,
                             "%s: out of host memory for the %llu-byte range the strided view spans", func,
                             (unsigned long long)span_bytes);
    uint64_t offset = (uint64_t)lo * size;
    vkattn_result r = ctx->backend->buffer_read(ctx, t->storage->impl, offset, span, span_bytes);
    if (r == VKATTN_OK) {
        scatter_gather(t, span, lo, src, dst);
        if (src)
            r = ctx->backend->buffer_write(ctx, t->storage->impl, offset, span, span_bytes);
    }
    free(span);
    return r;
}

vkattn_result vkattn_tensor_write(vkattn_context *ctx, vkattn_tensor t, const void *src, size_t bytes)
{
    static const char func[] = "vkattn_tensor_write";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor tensor;
    vkattn_result r = io_prepare(ctx, t, src, bytes, func, &tensor);
    if (r != VKATTN_OK)
        return r;
    if (vkattn__tensor_is_contiguous(&tensor))
        return ctx->backend->buffer_write(ctx, tensor.storage->impl,
                                          (uint64_t)tensor.offset * vkattn_dtype_size(tensor.dtype), src, bytes);
    return strided_io(ctx, &tensor, src, NULL, func);
}

vkattn_result vkattn_tensor_read(vkattn_context *ctx, vkattn_tensor t, void *dst, size_t bytes)
{
    static const char func[] = "vkattn_tensor_read";
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn__tensor tensor;
    vkattn_result r = io_prepare(ctx, t, dst, bytes, func, &tensor);
    if (r != VKATTN_OK)
        return r;
    if (vkattn__tensor_is_contiguous(&tensor))
        return ctx->backend->buffer_read(ctx, tensor.storage->impl,
                                         (uint64_t)tensor.offset * vkattn_dtype_size(tensor.dtype), dst, bytes);
    return strided_io(ctx, &tensor, NULL, dst, func);
}
