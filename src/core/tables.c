/*
 * tables.c - small read-only tables the kernels need beside their tensors (RoPE and sinusoidal phase tables, ALiBi
 * slopes), kept in backend memory and cached by content, so an op called again with the same desc reuses its table
 * instead of allocating and uploading it again. The cache holds one storage reference per table and recorded ops
 * hold their own, so evicting the least recently used table never frees one that a pending command list reads.
 */
#include "core/core_private.h"

#include <stdlib.h>
#include <string.h>

uint64_t vkattn__fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static void entry_clear(vkattn_context *ctx, vkattn__table_entry *e)
{
    if (e->storage)
        vkattn__storage_release(ctx, e->storage);
    free(e->data);
    memset(e, 0, sizeof *e);
}

static vkattn__table_entry *find(vkattn_context *ctx, uint64_t hash, vkattn_dtype dtype, const void *data,
                                 uint32_t bytes)
{
    for (int i = 0; i < VKATTN__TABLE_CACHE_SIZE; i++) {
        vkattn__table_entry *e = &ctx->tables[i];
        if (e->storage && e->hash == hash && e->dtype == dtype && e->bytes == bytes && !memcmp(e->data, data, bytes))
            return e;
    }
    return NULL;
}

/* A free entry, or the least recently used one emptied. */
static vkattn__table_entry *victim(vkattn_context *ctx)
{
    vkattn__table_entry *oldest = &ctx->tables[0];
    for (int i = 0; i < VKATTN__TABLE_CACHE_SIZE; i++) {
        vkattn__table_entry *e = &ctx->tables[i];
        if (!e->storage)
            return e;
        if (e->last_use < oldest->last_use)
            oldest = e;
    }
    entry_clear(ctx, oldest);
    return oldest;
}

static vkattn_result insert(vkattn_context *ctx, const char *func, uint64_t hash, vkattn_dtype dtype,
                            const void *data, uint32_t bytes, vkattn__table_entry **out)
{
    vkattn__table_entry *e = victim(ctx);
    e->data = malloc(bytes);
    if (!e->data)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory for a %u-byte table",
                             func, bytes);
    memcpy(e->data, data, bytes);
    vkattn__storage *s;
    vkattn_result r = vkattn__storage_create(ctx, bytes, func, &s);
    if (r == VKATTN_OK) {
        /* A new storage: no submitted work can touch it, so no wait is needed before the write. */
        r = ctx->backend->buffer_write(ctx, s->impl, 0, data, bytes);
        if (r != VKATTN_OK)
            vkattn__storage_release(ctx, s);
    }
    if (r != VKATTN_OK) {
        free(e->data);
        e->data = NULL;
        return r;
    }
    e->storage = s;
    e->hash = hash;
    e->dtype = dtype;
    e->bytes = bytes;
    *out = e;
    return VKATTN_OK;
}

vkattn_result vkattn__table(vkattn_context *ctx, const char *func, vkattn_dtype dtype, const void *data,
                            uint32_t bytes, vkattn__tensor *out)
{
    if (bytes == 0 || bytes % 4 != 0)
        return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: a table of %u bytes (not a positive multiple of 4)",
                             func, bytes);
    uint64_t hash = vkattn__fnv1a64(vkattn__fnv1a64(VKATTN__FNV_BASIS, &dtype, sizeof dtype), data, bytes);
    vkattn__table_entry *e = find(ctx, hash, dtype, data, bytes);
    if (!e) {
        vkattn_result r = insert(ctx, func, hash, dtype, data, bytes, &e);
        if (r != VKATTN_OK)
            return r;
    }
    e->last_use = ++ctx->table_clock;
    *out = (vkattn__tensor){
        .dtype = dtype,
        .ndim = 4,
        .shape = {1, 1, 1, bytes / 4},
        .strides = {0, 0, 0, 1},
        .storage = e->storage,
    };
    return VKATTN_OK;
}

void vkattn__tables_destroy(vkattn_context *ctx)
{
    for (int i = 0; i < VKATTN__TABLE_CACHE_SIZE; i++)
        entry_clear(ctx, &ctx->tables[i]);
}
