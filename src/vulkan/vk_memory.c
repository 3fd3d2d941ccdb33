/*
 * vk_memory.c - tensor memory: a few large blocks (one VkDeviceMemory and one VkBuffer each) cut into aligned
 * pieces, so thousands of tensors need only a few allocations (maxMemoryAllocationCount can be as low as 4096).
 *
 * Pieces are found first-fit in each block's sorted free list; freed pieces merge with free neighbours. A request
 * larger than the block size gets a dedicated block. Empty blocks are freed except one spare, so a loop that
 * creates and destroys a tensor does not allocate device memory every time.
 */
#include "vulkan/vk_internal.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES ((VkDeviceSize)64 << 20)
#define BUFFER_USAGE \
    (VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT)

static uint32_t count_bits(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

bool vkattn__vk_memory_type(const vkattn_context *ctx, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred, uint32_t *out)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    const VkPhysicalDeviceMemoryProperties *props = &vk->memory_props;
    int64_t best = -1;
    for (uint32_t i = 0; i < props->memoryTypeCount; i++) {
        VkMemoryPropertyFlags flags = props->memoryTypes[i].propertyFlags;
        if (!(vk->memory.type_bits & (1u << i)) || (flags & required) != required)
            continue;
        int64_t score = count_bits(flags & preferred);
        if (score > best) {
            best = score;
            *out = i;
        }
    }
    return best >= 0;
}

vkattn_result vkattn__vk_raw_create(vkattn_context *ctx, const char *func, VkDeviceSize size, uint32_t type, bool map,
                                    VkBuffer *buffer, VkDeviceMemory *memory, unsigned char **mapped)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    *mapped = NULL;
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = BUFFER_USAGE,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult res = vk->fn.vkCreateBuffer(vk->device, &info, NULL, buffer);
    const char *call = "vkCreateBuffer";
    if (res == VK_SUCCESS) {
        VkMemoryRequirements req;
        vk->fn.vkGetBufferMemoryRequirements(vk->device, *buffer, &req);
        VkMemoryAllocateInfo alloc = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
            .allocationSize = req.size,
            .memoryTypeIndex = type,
        };
        /* Drivers may fail past maxMemoryAllocationCount or just slow down; the limit is refused here, so it is
         * honoured the same way everywhere (and the phone profile's 4096 is testable). */
        if (vk->allocations >= vk->limits.maxMemoryAllocationCount) {
            vkattn__vk_raw_destroy(ctx, *buffer, VK_NULL_HANDLE);
            *buffer = VK_NULL_HANDLE;
            return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_DEVICE_MEMORY,
                                 "%s: the device allows %u memory allocations, all in use", func,
                                 vk->limits.maxMemoryAllocationCount);
        }
        call = "vkAllocateMemory";
        res = vk->fn.vkAllocateMemory(vk->device, &alloc, NULL, memory);
        if (res == VK_SUCCESS)
            vk->allocations++;
    }
    if (res == VK_SUCCESS) {
        call = "vkBindBufferMemory";
        res = vk->fn.vkBindBufferMemory(vk->device, *buffer, *memory, 0);
    }
    if (res == VK_SUCCESS && map) {
        call = "vkMapMemory";
        res = vk->fn.vkMapMemory(vk->device, *memory, 0, VK_WHOLE_SIZE, 0, (void **)mapped);
    }
    if (res == VK_SUCCESS)
        return VKATTN_OK;
    vkattn__vk_raw_destroy(ctx, *buffer, *memory);
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    *mapped = NULL;
    return vkattn__vk_fail(ctx, func, call, res);
}

void vkattn__vk_raw_destroy(vkattn_context *ctx, VkBuffer buffer, VkDeviceMemory memory)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    if (buffer)
        vk->fn.vkDestroyBuffer(vk->device, buffer, NULL);
    if (memory) { /* also unmaps */
        vk->fn.vkFreeMemory(vk->device, memory, NULL);
        vk->allocations--;
    }
}

vkattn_result vkattn__vk_sync_mapped(vkattn_context *ctx, const char *func, VkDeviceMemory memory,
                                     VkDeviceSize memory_size, VkDeviceSize offset, VkDeviceSize size, bool flush)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    /* Ranges must start and end on nonCoherentAtomSize multiples, or end at the end of the allocation. */
    VkDeviceSize atom = vk->limits.nonCoherentAtomSize ? vk->limits.nonCoherentAtomSize : 1;
    VkDeviceSize start = offset / atom * atom;
    VkDeviceSize end = (offset + size + atom - 1) / atom * atom;
    VkMappedMemoryRange range = {
        .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
        .memory = memory,
        .offset = start,
        .size = end >= memory_size ? VK_WHOLE_SIZE : end - start,
    };
    VkResult res = flush ? vk->fn.vkFlushMappedMemoryRanges(vk->device, 1, &range)
                         : vk->fn.vkInvalidateMappedMemoryRanges(vk->device, 1, &range);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges",
                               res);
    return VKATTN_OK;
}

/* memoryTypeBits is the same for every buffer created with the same usage and flags (Vulkan spec,
 * VkMemoryRequirements), so a small probe tells the types of all blocks. */
static vkattn_result probe_type_bits(vkattn_context *ctx, const char *func)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 256,
        .usage = BUFFER_USAGE,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer probe;
    VkResult res = vk->fn.vkCreateBuffer(vk->device, &info, NULL, &probe);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateBuffer", res);
    VkMemoryRequirements req;
    vk->fn.vkGetBufferMemoryRequirements(vk->device, probe, &req);
    vk->fn.vkDestroyBuffer(vk->device, probe, NULL);
    vk->memory.type_bits = req.memoryTypeBits;
    return VKATTN_OK;
}

vkattn_result vkattn__vk_memory_init(vkattn_context *ctx, const char *func)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_memory *m = &vk->memory;
    vkattn_result r = probe_type_bits(ctx, func);
    if (r != VKATTN_OK)
        return r;
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags mappable = local | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    bool zero_copy = ctx->info.unified_memory && !(ctx->desc.flags & VKATTN_CONTEXT_FORCE_STAGING);
    m->zero_copy =
        zero_copy && vkattn__vk_memory_type(ctx, mappable,
                                            VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                                            &m->type_index);
    if (!m->zero_copy && !vkattn__vk_memory_type(ctx, local, 0, &m->type_index) &&
        !vkattn__vk_memory_type(ctx, 0, 0, &m->type_index))
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED, "%s: the device offers no memory type for storage buffers",
                             func);
    m->coherent = vk->memory_props.memoryTypes[m->type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    VkDeviceSize align = vk->limits.minStorageBufferOffsetAlignment;
    m->alignment = align > 16 ? align : 16;
    VkDeviceSize block = BLOCK_BYTES;
    if (block > vk->max_allocation_size)
        block = vk->max_allocation_size;
    if (block > vk->limits.maxStorageBufferRange) /* so every piece of a block can be bound whole */
        block = vk->limits.maxStorageBufferRange;
    m->block_size = block / m->alignment * m->alignment;
    return VKATTN_OK;
}

/* ---- blocks ------------------------------------------------------------------------------------------------- */

static vkattn_result block_create(vkattn_context *ctx, const char *func, VkDeviceSize size, bool dedicated,
                                  vkattn__vk_block **out)
{
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    vkattn__vk_block *b = calloc(1, sizeof *b);
    vkattn__vk_span *free_list = calloc(4, sizeof *free_list);
    if (!b || !free_list) {
        free(b);
        free(free_list);
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    }
    vkattn_result r = vkattn__vk_raw_create(ctx, func, size, m->type_index, m->zero_copy, &b->buffer, &b->memory,
                                            &b->mapped);
    if (r != VKATTN_OK) {
        free(b);
        free(free_list);
        return r;
    }
    b->size = size;
    b->dedicated = dedicated;
    b->free = free_list;
    b->free_cap = 4;
    b->free[0] = (vkattn__vk_span){0, size};
    b->free_count = 1;
    b->next = m->blocks;
    if (m->blocks)
        m->blocks->prev = b;
    m->blocks = b;
    ctx->stats.memory_blocks++;
    *out = b;
    return VKATTN_OK;
}

static void block_destroy(vkattn_context *ctx, vkattn__vk_block *b)
{
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    vkattn__vk_raw_destroy(ctx, b->buffer, b->memory);
    if (b->prev)
        b->prev->next = b->next;
    else
        m->blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b->free);
    free(b);
    ctx->stats.memory_blocks--;
}

/* Index of the first free range of at least `size` bytes, or free_count. */
static uint32_t block_fit(const vkattn__vk_block *b, VkDeviceSize size)
{
    uint32_t i = 0;
    while (i < b->free_count && b->free[i].size < size)
        i++;
    return i;
}

/* Makes the free list able to hold every range the block can come to have after one more piece (free ranges are
 * separated by pieces, so there are at most pieces + 1 of them). */
static bool block_reserve(vkattn__vk_block *b)
{
    uint32_t need = b->allocs + 2;
    if (need <= b->free_cap)
        return true;
    uint32_t cap = b->free_cap * 2 > need ? b->free_cap * 2 : need;
    vkattn__vk_span *grown = realloc(b->free, (size_t)cap * sizeof *grown);
    if (!grown)
        return false;
    b->free = grown;
    b->free_cap = cap;
    return true;
}

static VkDeviceSize block_take(vkattn__vk_block *b, uint32_t i, VkDeviceSize size)
{
    vkattn__vk_span *span = &b->free[i];
    VkDeviceSize offset = span->offset;
    span->offset += size;
    span->size -= size;
    if (span->size == 0) {
        memmove(span, span + 1, (size_t)(b->free_count - i - 1) * sizeof *span);
        b->free_count--;
    }
    b->allocs++;
    return offset;
}

static void block_give(vkattn__vk_block *b, VkDeviceSize offset, VkDeviceSize size)
{
    uint32_t i = 0;
    while (i < b->free_count && b->free[i].offset < offset)
        i++;
    bool with_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    bool with_next = i < b->free_count && offset + size == b->free[i].offset;
    if (with_prev && with_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (size_t)(b->free_count - i - 1) * sizeof *b->free);
        b->free_count--;
    } else if (with_prev) {
        b->free[i - 1].size += size;
    } else if (with_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else {
        memmove(&b->free[i + 1], &b->free[i], (size_t)(b->free_count - i) * sizeof *b->free);
        b->free[i] = (vkattn__vk_span){offset, size};
        b->free_count++;
    }
    b->allocs--;
}

/* ---- tensor buffers ------------------------------------------------------------------------------------------- */

/* A piece of `size` bytes from the first standard block with room, or from a new block. */
static vkattn_result place(vkattn_context *ctx, const char *func, VkDeviceSize size, vkattn__vk_buffer *buf)
{
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    vkattn__vk_block *b = m->blocks;
    uint32_t i = 0;
    for (; b; b = b->next) {
        i = b->dedicated ? b->free_count : block_fit(b, size);
        if (i < b->free_count)
            break;
    }
    if (!b) { /* a new block's free list has room for its first pieces */
        vkattn_result r = block_create(ctx, func, m->block_size, false, &b);
        if (r != VKATTN_OK)
            return r;
        i = 0;
    } else if (!block_reserve(b)) {
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    } else if (b->allocs == 0) {
        m->empty_blocks--; /* the spare is in use again */
    }
    buf->block = b;
    buf->offset = block_take(b, i, size);
    return VKATTN_OK;
}

static vkattn_result place_dedicated(vkattn_context *ctx, const char *func, VkDeviceSize size,
                                     vkattn__vk_buffer *buf)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    if (size > vk->max_allocation_size)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_DEVICE_MEMORY,
                             "%s: %llu bytes is more than the device's maxMemoryAllocationSize (%llu bytes)", func,
                             (unsigned long long)size, (unsigned long long)vk->max_allocation_size);
    vkattn_result r = block_create(ctx, func, size, true, &buf->block);
    if (r != VKATTN_OK)
        return r;
    buf->offset = block_take(buf->block, 0, size);
    return VKATTN_OK;
}

vkattn_result vkattn__vk_buffer_create(vkattn_context *ctx, uint64_t bytes, void **out)
{
    static const char func[] = "vkattn_tensor_create";
    *out = NULL;
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK)
        return r;
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    if (bytes > UINT64_MAX - m->alignment)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_DEVICE_MEMORY, "%s: %llu bytes cannot be allocated", func,
                             (unsigned long long)bytes);
    VkDeviceSize size = (bytes ? bytes + m->alignment - 1 : m->alignment) / m->alignment * m->alignment;
    vkattn__vk_buffer *buf = calloc(1, sizeof *buf);
    if (!buf)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    r = size > m->block_size ? place_dedicated(ctx, func, size, buf) : place(ctx, func, size, buf);
    if (r != VKATTN_OK) {
        free(buf);
        return r;
    }
    buf->size = size;
    *out = buf;
    return VKATTN_OK;
}

void vkattn__vk_buffer_destroy(vkattn_context *ctx, void *buffer)
{
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    vkattn__vk_buffer *buf = buffer;
    vkattn__vk_block *b = buf->block;
    block_give(b, buf->offset, buf->size);
    free(buf);
    if (b->allocs > 0)
        return;
    if (b->dedicated || m->empty_blocks > 0)
        block_destroy(ctx, b);
    else
        m->empty_blocks++;
}

void vkattn__vk_memory_destroy(vkattn_context *ctx)
{
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    while (m->blocks)
        block_destroy(ctx, m->blocks);
    m->empty_blocks = 0;
    vkattn__vk_staging_destroy(ctx);
}
