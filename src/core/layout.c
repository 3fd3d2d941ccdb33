/*
 * layout.c - questions about a tensor's layout: its 4-dim form, element count, the storage range it touches,
 * contiguity and overlap. All counts are in elements of the tensor's dtype.
 */
#include "core/internal.h"

#include <stdio.h>

vkattn__tensor vkattn__tensor_as4d(const vkattn__tensor *t)
{
    vkattn__tensor out = *t;
    uint32_t pad = VKATTN_MAX_DIMS - t->ndim;
    for (uint32_t k = 0; k < VKATTN_MAX_DIMS; k++) {
        out.shape[k] = k < pad ? 1 : t->shape[k - pad];
        out.strides[k] = k < pad ? 0 : t->strides[k - pad];
    }
    out.ndim = VKATTN_MAX_DIMS;
    return out;
}

uint64_t vkattn__tensor_numel(const vkattn__tensor *t)
{
    uint64_t n = 1;
    for (uint32_t k = 0; k < t->ndim; k++)
        n *= (uint64_t)t->shape[k];
    return n;
}

void vkattn__tensor_span(const vkattn__tensor *t, int64_t *lo, int64_t *hi)
{
    *lo = *hi = t->offset;
    for (uint32_t k = 0; k < t->ndim; k++) {
        int64_t reach = (t->shape[k] - 1) * t->strides[k];
        if (reach < 0)
            *lo += reach;
        else
            *hi += reach;
    }
}

bool vkattn__tensor_is_contiguous(const vkattn__tensor *t)
{
    int64_t expected = 1;
    for (uint32_t k = t->ndim; k-- > 0;) {
        if (t->shape[k] != 1 && t->strides[k] != expected)
            return false;
        expected *= t->shape[k];
    }
    return true;
}

bool vkattn__same_shape(const vkattn__tensor *a, const vkattn__tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (uint32_t k = 0; k < a->ndim; k++)
        if (a->shape[k] != b->shape[k])
            return false;
    return true;
}

/* Sufficient test for no overlap: taking the dims of size > 1 by increasing stride, each stride must exceed the reach
 * sum((shape - 1) * stride) of the dims before it. Layouts whose dims interleave without colliding (shape [3,2],
 * strides [2,3]) fail it and count as overlapping, which only makes the callers stricter. */
bool vkattn__tensor_self_overlaps(const vkattn__tensor *t)
{
    int64_t stride[VKATTN_MAX_DIMS], shape[VKATTN_MAX_DIMS];
    uint32_t n = 0;
    for (uint32_t k = 0; k < t->ndim; k++) {
        if (t->shape[k] == 1)
            continue;
        uint32_t i = n++;
        for (; i > 0 && stride[i - 1] > t->strides[k]; i--) {
            stride[i] = stride[i - 1];
            shape[i] = shape[i - 1];
        }
        stride[i] = t->strides[k];
        shape[i] = t->shape[k];
    }
    int64_t reach = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (stride[i] <= reach)
            return true;
        reach += (shape[i] - 1) * stride[i];
    }
    return false;
}

/* Conservative: the byte ranges of the two spans intersect. Views that interleave without sharing an element
 * (even and odd columns) count as overlapping. */
bool vkattn__tensors_overlap(const vkattn__tensor *a, const vkattn__tensor *b)
{
    if (a->storage != b->storage)
        return false;
    int64_t alo, ahi, blo, bhi;
    vkattn__tensor_span(a, &alo, &ahi);
    vkattn__tensor_span(b, &blo, &bhi);
    int64_t asize = (int64_t)vkattn_dtype_size(a->dtype), bsize = (int64_t)vkattn_dtype_size(b->dtype);
    return alo * asize < (bhi + 1) * bsize && blo * bsize < (ahi + 1) * asize;
}

/* Strides of dims of size 1 never address anything, so they do not make two views different. */
bool vkattn__same_view(const vkattn__tensor *a, const vkattn__tensor *b)
{
    if (a->storage != b->storage || a->dtype != b->dtype || a->offset != b->offset || !vkattn__same_shape(a, b))
        return false;
    for (uint32_t k = 0; k < a->ndim; k++)
        if (a->shape[k] != 1 && a->strides[k] != b->strides[k])
            return false;
    return true;
}

const char *vkattn__shape_str(const vkattn__tensor *t, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (uint32_t k = 0; k < t->ndim && used < len; k++) {
        int n = snprintf(buf + used, len - used, "%s%lld", k ? "," : "[", (long long)t->shape[k]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}
