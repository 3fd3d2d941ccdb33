/*
 * pool.c - the tensor handle pool of a context (after sokol_gfx's pools).
 *
 * A handle is ((uint64_t)serial << 32) | (slot index + 1). Serials come from one process-wide counter, so a handle
 * of a destroyed tensor, of another context or a made-up one does not match the serial its slot holds now (until
 * the 32-bit counter wraps). Free slots form a list through next_free; the slot array grows by doubling.
 */
#include "core/core_private.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic uint32_t serial_counter;

static uint32_t next_serial(void)
{
    uint32_t s;
    do
        s = atomic_fetch_add(&serial_counter, 1u) + 1u;
    while (s == 0); /* 0 marks a free slot */
    return s;
}

static bool pool_grow(vkattn_context *ctx)
{
    if (ctx->slot_cap > UINT32_MAX / 4)
        return false; /* the slot index + 1 must fit in the handle's 32 low bits */
    uint32_t cap = ctx->slot_cap ? ctx->slot_cap * 2 : 64;
    vkattn__slot *slots = realloc(ctx->slots, (size_t)cap * sizeof *slots);
    if (!slots)
        return false;
    ctx->slots = slots;
    ctx->slot_cap = cap;
    return true;
}

/* Index of a free slot, taken off the free list or from the unused tail; UINT32_MAX when out of memory. */
static uint32_t pool_take(vkattn_context *ctx)
{
    if (ctx->free_head) {
        uint32_t index = ctx->free_head - 1;
        ctx->free_head = ctx->slots[index].next_free;
        return index;
    }
    if (ctx->slot_count == ctx->slot_cap && !pool_grow(ctx))
        return UINT32_MAX;
    return ctx->slot_count++;
}

vkattn_result vkattn__pool_add(vkattn_context *ctx, const vkattn__tensor *t, const char *func, vkattn_tensor *out)
{
    uint32_t index = pool_take(ctx);
    if (index == UINT32_MAX)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory for the tensor handle",
                             func);
    vkattn__slot *slot = &ctx->slots[index];
    slot->serial = next_serial();
    slot->next_free = 0;
    slot->tensor = *t;
    ctx->stats.tensors_alive++;
    out->id = ((uint64_t)slot->serial << 32) | (index + 1u);
    return VKATTN_OK;
}

static vkattn__slot *pool_slot(const vkattn_context *ctx, vkattn_tensor t)
{
    uint32_t serial = (uint32_t)(t.id >> 32);
    uint32_t index_plus_one = (uint32_t)t.id;
    if (serial == 0 || index_plus_one == 0 || index_plus_one > ctx->slot_count)
        return NULL;
    vkattn__slot *slot = &ctx->slots[index_plus_one - 1];
    return slot->serial == serial ? slot : NULL;
}

vkattn__tensor *vkattn__pool_get(const vkattn_context *ctx, vkattn_tensor t)
{
    vkattn__slot *slot = pool_slot(ctx, t);
    return slot ? &slot->tensor : NULL;
}

vkattn_result vkattn__tensor_resolve(vkattn_context *ctx, vkattn_tensor t, const char *func, const char *what,
                                     vkattn__tensor *out)
{
    const vkattn__tensor *found = vkattn__pool_get(ctx, t);
    if (!found)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_HANDLE,
                             "%s: %s is not a live tensor of this context (handle 0x%016llx: %s)", func, what,
                             (unsigned long long)t.id,
                             t.id == 0 ? "the zero handle" : "destroyed, never created or from another context");
    *out = *found;
    return VKATTN_OK;
}

static void pool_free_slot(vkattn_context *ctx, vkattn__slot *slot)
{
    vkattn__storage_release(ctx, slot->tensor.storage);
    slot->serial = 0;
    slot->tensor.storage = NULL;
    slot->next_free = ctx->free_head;
    ctx->free_head = (uint32_t)(slot - ctx->slots) + 1u;
    ctx->stats.tensors_alive--;
}

void vkattn__pool_remove(vkattn_context *ctx, vkattn_tensor t)
{
    vkattn__slot *slot = pool_slot(ctx, t);
    if (slot)
        pool_free_slot(ctx, slot);
}

void vkattn__pool_destroy(vkattn_context *ctx)
{
    for (uint32_t i = 0; i < ctx->slot_count; i++)
        if (ctx->slots[i].serial != 0)
            pool_free_slot(ctx, &ctx->slots[i]);
    free(ctx->slots);
    ctx->slots = NULL;
    ctx->slot_count = ctx->slot_cap = ctx->free_head = 0;
}
