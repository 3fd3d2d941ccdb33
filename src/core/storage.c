/*
 * storage.c - reference-counted memory behind tensors. A storage is referenced by every tensor handle (base or
 * view) on it and by every command list that recorded an op using it.
 */
#include "core/core_private.h"

#include <stdlib.h>

vkattn_result vkattn__storage_create(vkattn_context *ctx, uint64_t bytes, const char *func, vkattn__storage **out)
{
    *out = NULL;
    vkattn__storage *s = calloc(1, sizeof *s);
    if (!s)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    vkattn_result r = ctx->backend->buffer_create(ctx, bytes, &s->impl);
    if (r != VKATTN_OK) {
        free(s);
        return r;
    }
    s->refs = 1;
    s->bytes = bytes;
    ctx->stats.bytes_allocated += bytes;
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
    ctx->stats.bytes_allocated -= s->bytes;
    free(s);
}
