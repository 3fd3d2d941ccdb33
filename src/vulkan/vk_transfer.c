/*
 * vk_transfer.c - host <-> tensor copies. Zero-copy devices (unified memory) map the blocks: a transfer is a memcpy
 * plus a flush or invalidate where the memory is not coherent. Otherwise the bytes go through a host-visible staging
 * buffer (grown on demand up to CHUNK_BYTES, larger transfers go in chunks) with a one-time command buffer and a
 * fence per chunk.
 *
 * The core waits for all submitted work before a transfer; the barriers around each copy order it against
 * dispatches of earlier and later submissions (a barrier's scopes reach across submissions on one queue).
 */
#include "vulkan/vk_internal.h"

#include <string.h>

#define CHUNK_BYTES ((VkDeviceSize)64 << 20)
#define MIN_STAGING_BYTES ((VkDeviceSize)1 << 20)

static uint64_t transfer_timeout_ns(const vkattn_context *ctx)
{
    return (uint64_t)ctx->desc.timeout_ms * 1000000u;
}

vkattn_result vkattn__vk_transfer_wait(vkattn_context *ctx, const char *func, uint64_t timeout_ns)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_staging *s = &vk->memory.staging;
    if (!s->pending)
        return VKATTN_OK;
    VkResult res = vk->fn.vkWaitForFences(vk->device, 1, &s->fence, VK_TRUE, timeout_ns);
    if (res == VK_TIMEOUT)
        return vkattn__error(ctx, VKATTN_ERROR_TIMEOUT, "%s: a transfer did not finish within %llu ms", func,
                             (unsigned long long)(timeout_ns / 1000000u));
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkWaitForFences", res);
    res = vk->fn.vkResetFences(vk->device, 1, &s->fence);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkResetFences", res);
    s->pending = false;
    return VKATTN_OK;
}

/* The transfer command pool, its command buffer and fence. */
static vkattn_result staging_commands(vkattn_context *ctx, const char *func)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_staging *s = &vk->memory.staging;
    VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
        .queueFamilyIndex = vk->queue_family,
    };
    VkResult res = vk->fn.vkCreateCommandPool(vk->device, &pool, NULL, &s->pool);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateCommandPool", res);
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = s->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    res = vk->fn.vkAllocateCommandBuffers(vk->device, &alloc, &s->cb);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkAllocateCommandBuffers", res);
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    res = vk->fn.vkCreateFence(vk->device, &fence, NULL, &s->fence);
    return res != VK_SUCCESS ? vkattn__vk_fail(ctx, func, "vkCreateFence", res) : VKATTN_OK;
}

/* A staging buffer of at least `need` (<= CHUNK_BYTES) bytes: powers of two from MIN_STAGING_BYTES. */
static vkattn_result staging_reserve(vkattn_context *ctx, const char *func, VkDeviceSize need)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_staging *s = &vk->memory.staging;
    if (!s->pool) {
        vkattn_result r = staging_commands(ctx, func);
        if (r != VKATTN_OK) {
            vkattn__vk_staging_destroy(ctx);
            return r;
        }
    }
    if (s->size >= need)
        return VKATTN_OK;
    VkDeviceSize size = MIN_STAGING_BYTES;
    while (size < need)
        size *= 2;
    if (size > CHUNK_BYTES)
        size = CHUNK_BYTES;
    uint32_t type;
    const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    if (!vkattn__vk_memory_type(ctx, visible, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                                &type))
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED, "%s: the device offers no host-visible memory for staging",
                             func);
    vkattn__vk_raw_destroy(ctx, s->buffer, s->memory);
    s->size = 0;
    vkattn_result r = vkattn__vk_raw_create(ctx, func, size, type, true, &s->buffer, &s->memory, &s->mapped);
    if (r != VKATTN_OK)
        return r;
    s->size = size;
    s->coherent = vk->memory_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    return VKATTN_OK;
}

/* Copies `bytes` (<= the staging size) between the staging buffer's start and the block at `offset`, and waits. */
static vkattn_result copy_chunk(vkattn_context *ctx, const char *func, const vkattn__vk_block *block,
                                VkDeviceSize offset, VkDeviceSize bytes, bool to_device)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_staging *s = &vk->memory.staging;
    VkResult res = vk->fn.vkResetCommandPool(vk->device, s->pool, 0);
    const char *call = "vkResetCommandPool";
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (res == VK_SUCCESS) {
        call = "vkBeginCommandBuffer";
        res = vk->fn.vkBeginCommandBuffer(s->cb, &begin);
    }
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, call, res);
    VkBufferCopy region = {
        .srcOffset = to_device ? 0 : offset,
        .dstOffset = to_device ? offset : 0,
        .size = bytes,
    };
    vkattn__vk_full_barrier(ctx, s->cb);
    vk->fn.vkCmdCopyBuffer(s->cb, to_device ? s->buffer : block->buffer, to_device ? block->buffer : s->buffer, 1,
                           &region);
    vkattn__vk_full_barrier(ctx, s->cb);
    VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cb};
    call = "vkEndCommandBuffer";
    res = vk->fn.vkEndCommandBuffer(s->cb);
    if (res == VK_SUCCESS) {
        call = "vkQueueSubmit";
        res = vk->fn.vkQueueSubmit(vk->queue, 1, &submit, s->fence);
    }
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, call, res);
    ctx->stats.submissions++;
    s->pending = true;
    return vkattn__vk_transfer_wait(ctx, func, transfer_timeout_ns(ctx));
}

/* One chunk through the staging buffer, with the host side of the copy. */
static vkattn_result staged_chunk(vkattn_context *ctx, const char *func, const vkattn__vk_buffer *buf,
                                  uint64_t offset, unsigned char *host, VkDeviceSize n, bool to_device)
{
    vkattn__vk_staging *s = &vkattn__vk(ctx)->memory.staging;
    vkattn_result r = VKATTN_OK;
    if (to_device) {
        memcpy(s->mapped, host, n);
        if (!s->coherent)
            r = vkattn__vk_sync_mapped(ctx, func, s->memory, s->size, 0, n, true);
    }
    if (r == VKATTN_OK)
        r = copy_chunk(ctx, func, buf->block, buf->offset + offset, n, to_device);
    if (r != VKATTN_OK || to_device)
        return r;
    if (!s->coherent)
        r = vkattn__vk_sync_mapped(ctx, func, s->memory, s->size, 0, n, false);
    if (r == VKATTN_OK)
        memcpy(host, s->mapped, n);
    return r;
}

static vkattn_result transfer(vkattn_context *ctx, const char *func, const vkattn__vk_buffer *buf, uint64_t offset,
                              unsigned char *host, uint64_t bytes, bool to_device)
{
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK || bytes == 0)
        return r;
    vkattn__vk_memory *m = &vkattn__vk(ctx)->memory;
    if (m->zero_copy) {
        const vkattn__vk_block *b = buf->block;
        unsigned char *mapped = b->mapped + buf->offset + offset;
        if (to_device)
            memcpy(mapped, host, bytes);
        if (!m->coherent)
            r = vkattn__vk_sync_mapped(ctx, func, b->memory, b->size, buf->offset + offset, bytes, to_device);
        if (r == VKATTN_OK && !to_device)
            memcpy(host, mapped, bytes);
        return r;
    }
    r = vkattn__vk_transfer_wait(ctx, func, transfer_timeout_ns(ctx));
    if (r == VKATTN_OK)
        r = staging_reserve(ctx, func, bytes < CHUNK_BYTES ? bytes : CHUNK_BYTES);
    VkDeviceSize chunk = m->staging.size;
    for (uint64_t done = 0; r == VKATTN_OK && done < bytes; done += chunk) {
        VkDeviceSize n = bytes - done < chunk ? bytes - done : chunk;
        r = staged_chunk(ctx, func, buf, offset + done, host + done, n, to_device);
    }
    return r;
}

vkattn_result vkattn__vk_buffer_write(vkattn_context *ctx, void *buf, uint64_t offset, const void *src,
                                      uint64_t bytes)
{
    /* The host bytes are only read on this path: the cast serves the shared code of both directions. */
    return transfer(ctx, "vkattn_tensor_write", buf, offset, (unsigned char *)(uintptr_t)src, bytes, true);
}

vkattn_result vkattn__vk_buffer_read(vkattn_context *ctx, void *buf, uint64_t offset, void *dst, uint64_t bytes)
{
    return transfer(ctx, "vkattn_tensor_read", buf, offset, dst, bytes, false);
}

void vkattn__vk_staging_destroy(vkattn_context *ctx)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn__vk_staging *s = &vk->memory.staging;
    vkattn__vk_raw_destroy(ctx, s->buffer, s->memory);
    if (s->fence)
        vk->fn.vkDestroyFence(vk->device, s->fence, NULL);
    if (s->pool) /* frees the command buffer */
        vk->fn.vkDestroyCommandPool(vk->device, s->pool, NULL);
    memset(s, 0, sizeof *s);
}
