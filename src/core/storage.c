/*
 * storage.c - reference-counted memory behind tensors. A storage is referenced by every tensor handle (base or
 * view) on it and by every command list that recorded an op using it.
 */
#include "core/core_private.h"

#include <stdlib.h>

/* desc->memory_limit caps the bytes of storage held at once. Past it the call fails with the code a real allocation
 * failure gives on the backend, so that callers exercise their out-of-memory paths through the limit. A successful
 * reserve counts the bytes in stats.bytes_allocated until vkattn__memory_release gives them back. Backends
 * reserve the scratch they allocate for recorded ops the same way. */
vkattn_result vkattn__memory_reserve(vkattn_context *ctx, uint64_t bytes, const char *func)
{
    uint64_t limit = ctx->desc.memory_limit, held = ctx->stats.bytes_allocated, total;
    if (limit != 0 && (!vkattn__add_u64(held, bytes, &total) || total > limit)) {
        vkattn_result r = ctx->info.backend == VKATTN_BACKEND_VULKAN ? VKATTN_ERROR_OUT_OF_DEVICE_MEMORY
                                                                     : VKATTN_ERROR_OUT_OF_HOST_MEMORY;
        return vkattn__error(ctx, r,
                             "%s: %llu more bytes of storage would pass the context's memory_limit of %llu bytes "
                             "(%llu held)",
                             func, (unsigned long long)bytes, (unsigned long long)limit, (unsigned long long)held);
    }
    ctx->stats.bytes_allocated += bytes;
    return VKATTN_OK;
}

void vkattn__memory_release(vkattn_context *ctx, uint64_t bytes)
{
    ctx->stats.bytes_allocated -= bytes;
}

vkattn_result vkattn__storage_create(vkattn_context *ctx, uint64_t bytes, const char *func, vkattn__storage **out)
{
    *out = NULL;
    vkattn_result r = vkattn__memory_reserve(ctx, bytes, func);
    if (r != VKATTN_OK)
        return r;
    vkattn__storage *s = calloc(1, sizeof *s);
    r = s ? ctx->backend->buffer_create(ctx, bytes, &s->impl)
          : vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    if (r != VKATTN_OK) {
        free(s);
        vkattn__memory_release(ctx, bytes);
        return r;
    }
    s->refs = 1;
    s->bytes = bytes;
    *out = s;
    return VKATTN_OK;
}

void vkattn__storage_retain(vkattn__storage *s)
{
    s->refs++;
}

void vkattn__storage_release(vkattn_context *ctx, vkattn__storage *s)
{
    if (--s->refs > 0)
        return;
    ctx->backend->buffer_destroy(ctx, s->impl);
    vkattn__memory_release(ctx, s->bytes);
    free(s);
}
