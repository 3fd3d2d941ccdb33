/*
 * tensor.c - creating, viewing, describing and destroying tensors.
 */
#include "core/core_private.h"

#include <string.h>

static const char create_func[] = "vkattn_tensor_create";
static const char view_func[] = "vkattn_tensor_view";

size_t vkattn_dtype_size(vkattn_dtype dtype)
{
    switch (dtype) {
    case VKATTN_F32: return 4;
    case VKATTN_F16: return 2;
    case VKATTN_I32: return 4;
    }
    return 0;
}

const char *vkattn_dtype_name(vkattn_dtype dtype)
{
    switch (dtype) {
    case VKATTN_F32: return "f32";
    case VKATTN_F16: return "f16";
    case VKATTN_I32: return "i32";
    }
    return "?";
}

/* What every tensor desc must satisfy: a known dtype and 1 to 4 dims of at least 1 element. */
static vkattn_result check_dims(vkattn_context *ctx, const vkattn_tensor_desc *desc, const char *func)
{
    if (vkattn_dtype_size(desc->dtype) == 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->dtype is %d, not a vkattn_dtype", func,
                             (int)desc->dtype);
    if (desc->ndim < 1 || desc->ndim > VKATTN_MAX_DIMS)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->ndim is %u (must be 1 to %d)", func,
                             desc->ndim, VKATTN_MAX_DIMS);
    for (uint32_t k = 0; k < desc->ndim; k++)
        if (desc->shape[k] < 1)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: shape[%u] is %lld (every dim must be >= 1)", func, k,
                                 (long long)desc->shape[k]);
    return VKATTN_OK;
}

/* dtype, ndim and shape of a checked desc; strides and storage are filled in by the caller. */
static vkattn__tensor tensor_from_desc(const vkattn_tensor_desc *desc)
{
    vkattn__tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = desc->dtype;
    t.ndim = desc->ndim;
    memcpy(t.shape, desc->shape, desc->ndim * sizeof t.shape[0]);
    return t;
}

/* Row-major strides for t's shape; false when the element count does not fit in int64. */
static bool contiguous_strides(vkattn__tensor *t, uint64_t *numel)
{
    uint64_t n = 1;
    for (uint32_t k = t->ndim; k-- > 0;) {
        t->strides[k] = (int64_t)n; /* <= the final n, checked below */
        if (!vkattn__mul_u64(n, (uint64_t)t->shape[k], &n))
            return false;
    }
    *numel = n;
    return n <= (uint64_t)INT64_MAX;
}

static vkattn_result size_overflow(vkattn_context *ctx, const vkattn__tensor *t, const char *func)
{
    char shape[96];
    return vkattn__error(ctx, VKATTN_ERROR_OVERFLOW, "%s: the size of a %s tensor of shape %s overflows", func,
                         vkattn_dtype_name(t->dtype), vkattn__shape_str(t, shape, sizeof shape));
}

/* Stores a tensor that holds one fresh storage reference; drops the reference if no handle can be made. */
static vkattn_result add_tensor(vkattn_context *ctx, const vkattn__tensor *t, const char *func, vkattn_tensor *out)
{
    vkattn_result r = vkattn__pool_add(ctx, t, func, out);
    if (r != VKATTN_OK)
        vkattn__storage_release(ctx, t->storage);
    return r;
}

vkattn_result vkattn_tensor_create(vkattn_context *ctx, const vkattn_tensor_desc *desc, vkattn_tensor *out)
{
    if (out)
        out->id = 0;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!desc || !out)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", create_func, desc ? "out" : "desc");
    vkattn_result r = check_dims(ctx, desc, create_func);
    if (r != VKATTN_OK)
        return r;
    for (uint32_t k = 0; k < desc->ndim; k++)
        if (desc->strides[k] != 0)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: strides[%u] is %lld (a new tensor is contiguous, so strides must be all zero; "
                                 "strided views come from vkattn_tensor_view)",
                                 create_func, k, (long long)desc->strides[k]);
    vkattn__tensor t = tensor_from_desc(desc);
    uint64_t numel, bytes;
    if (!contiguous_strides(&t, &numel) || !vkattn__mul_u64(numel, vkattn_dtype_size(t.dtype), &bytes))
        return size_overflow(ctx, &t, create_func);
    r = vkattn__storage_create(ctx, bytes, create_func, &t.storage);
    if (r != VKATTN_OK)
        return r;
    return add_tensor(ctx, &t, create_func, out);
}

/* Strides of a view: all zero = contiguous; otherwise each dim of size > 1 needs a stride >= 1. A dim of size 1
 * never moves, so its stride is ignored (stored as given when >= 1, else as 1). */
static vkattn_result view_strides(vkattn_context *ctx, const vkattn_tensor_desc *desc, vkattn__tensor *v)
{
    bool all_zero = true;
    for (uint32_t k = 0; k < v->ndim; k++)
        all_zero = all_zero && desc->strides[k] == 0;
    uint64_t numel;
    if (all_zero)
        return contiguous_strides(v, &numel) ? VKATTN_OK : size_overflow(ctx, v, view_func);
    for (uint32_t k = 0; k < v->ndim; k++) {
        if (desc->strides[k] < 1 && v->shape[k] > 1)
            return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                                 "%s: strides[%u] is %lld (must be >= 1 for a dim of size %lld)", view_func, k,
                                 (long long)desc->strides[k], (long long)v->shape[k]);
        v->strides[k] = desc->strides[k] < 1 ? 1 : desc->strides[k];
    }
    return VKATTN_OK;
}

/* Sets v->offset = base offset + offset after checking that the view's last element, offset + sum((shape - 1) *
 * stride) from the base's first element, lies inside the storage. An element index past INT64_MAX is an overflow
 * (offsets and strides are int64), whatever the storage's size. */
static vkattn_result view_bounds(vkattn_context *ctx, const vkattn__tensor *base, int64_t offset, vkattn__tensor *v)
{
    uint64_t first, last;
    bool ok = vkattn__add_u64((uint64_t)base->offset, (uint64_t)offset, &first);
    last = first;
    for (uint32_t k = 0; k < v->ndim && ok; k++) {
        uint64_t reach;
        ok = vkattn__mul_u64((uint64_t)(v->shape[k] - 1), (uint64_t)v->strides[k], &reach) &&
             vkattn__add_u64(last, reach, &last);
    }
    if (!ok || last > (uint64_t)INT64_MAX)
        return vkattn__error(ctx, VKATTN_ERROR_OVERFLOW, "%s: offset %lld with these shape and strides overflows",
                             view_func, (long long)offset);
    uint64_t elements = base->storage->bytes / vkattn_dtype_size(base->dtype);
    if (last >= elements)
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: the view reaches element %llu of the base's storage, which has %llu elements",
                             view_func, (unsigned long long)last, (unsigned long long)elements);
    v->offset = (int64_t)first; /* first <= last < elements <= INT64_MAX */
    return VKATTN_OK;
}

static vkattn_result view_check(vkattn_context *ctx, const vkattn__tensor *base, const vkattn_tensor_desc *desc,
                                int64_t offset, vkattn__tensor *v)
{
    vkattn_result r = check_dims(ctx, desc, view_func);
    if (r != VKATTN_OK)
        return r;
    if (desc->dtype != base->dtype)
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: desc->dtype is %s but base is %s (must be equal)",
                             view_func, vkattn_dtype_name(desc->dtype), vkattn_dtype_name(base->dtype));
    if (offset < 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: offset is %lld (must be >= 0)", view_func,
                             (long long)offset);
    *v = tensor_from_desc(desc);
    v->storage = base->storage;
    r = view_strides(ctx, desc, v);
    return r != VKATTN_OK ? r : view_bounds(ctx, base, offset, v);
}

vkattn_result vkattn_tensor_view(vkattn_context *ctx, vkattn_tensor base, const vkattn_tensor_desc *desc,
                                 int64_t offset, vkattn_tensor *out)
{
    if (out)
        out->id = 0;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!desc || !out)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", view_func, desc ? "out" : "desc");
    vkattn__tensor b, v;
    vkattn_result r = vkattn__tensor_resolve(ctx, base, view_func, "base", &b);
    if (r == VKATTN_OK)
        r = view_check(ctx, &b, desc, offset, &v);
    if (r != VKATTN_OK)
        return r;
    vkattn__storage_retain(v.storage);
    return add_tensor(ctx, &v, view_func, out);
}

void vkattn_tensor_destroy(vkattn_context *ctx, vkattn_tensor t)
{
    if (ctx)
        vkattn__pool_remove(ctx, t);
}

vkattn_result vkattn_tensor_get_desc(vkattn_context *ctx, vkattn_tensor t, vkattn_tensor_desc *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!out)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_get_desc: out is NULL");
    vkattn__tensor tensor;
    vkattn_result r = vkattn__tensor_resolve(ctx, t, "vkattn_tensor_get_desc", "t", &tensor);
    if (r != VKATTN_OK)
        return r;
    out->dtype = tensor.dtype;
    out->ndim = tensor.ndim;
    memcpy(out->shape, tensor.shape, tensor.ndim * sizeof out->shape[0]);
    memcpy(out->strides, tensor.strides, tensor.ndim * sizeof out->strides[0]);
    return VKATTN_OK;
}

vkattn_result vkattn_tensor_numel(vkattn_context *ctx, vkattn_tensor t, uint64_t *numel)
{
    if (numel)
        *numel = 0;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!numel)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_numel: numel is NULL");
    vkattn__tensor tensor;
    vkattn_result r = vkattn__tensor_resolve(ctx, t, "vkattn_tensor_numel", "t", &tensor);
    if (r == VKATTN_OK)
        *numel = vkattn__tensor_numel(&tensor);
    return r;
}
