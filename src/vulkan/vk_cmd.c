/*
 * vk_cmd.c - command lists: one command buffer, fence, chain of descriptor pools and (with VKATTN_CMD_TIMESTAMPS)
 * chain of timestamp query pools each. Recording starts at the first op.
 *
 * Barriers: since the last barrier the list remembers the byte ranges its dispatches read and wrote. A dispatch that
 * reads or writes a range written since then, or writes a range read since then, gets one compute -> compute memory
 * barrier first (read-after-write, write-after-write, write-after-read); independent ops run without one. Every
 * command buffer also starts and ends with a full barrier, which orders it against other submissions (transfers,
 * other lists) and makes its writes visible to the host.
 *
 * Large grids: a kernel's workgroups are laid over x (up to maxComputeWorkGroupCount[0]) and y; beyond
 * maxComputeWorkGroupCount[1] rows the work is split into several dispatches whose push constants carry a base.
 *
 * Long lists: drivers reset a GPU whose single piece of work runs for seconds (Windows TDR after 2 s, Linux job
 * timeouts, phone watchdogs), so a list is recorded into segments, each its own command buffer and its own batch of
 * the one vkQueueSubmit: a segment is closed after SEGMENT_OPS ops or SEGMENT_BYTES of bound memory (between the
 * dispatches of one op, too). Memory traffic is what the ops of this library are bound by, so it stands for time:
 * 256 MiB is about 10 ms on a phone GPU and well under that on desktop GPUs.
 */
#include "vulkan/vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_SETS 64u        /* descriptor sets per descriptor pool */
#define POOL_OPS 64u         /* ops per timestamp query pool (two queries each) */
#define TRACKED_RANGES 256u  /* read or written ranges remembered; a barrier is placed when more would be needed */
#define MAX_PUSH_BYTES 128u  /* maxPushConstantsSize every device offers */
#define SEGMENT_OPS 64u
#define SEGMENT_BYTES ((VkDeviceSize)256 << 20)

typedef struct byte_range {
    const vkattn__vk_block *block;
    VkDeviceSize lo, hi; /* [lo, hi) */
} byte_range;

typedef struct vk_cmd {
    VkCommandPool pool;
    VkCommandBuffer cb;        /* the segment being recorded: cbs[cb_used - 1] */
    VkCommandBuffer *cbs;      /* every segment's command buffer, kept across resets */
    uint32_t cb_cap, cb_used;
    uint32_t seg_ops;          /* ops and bound bytes in the current segment */
    VkDeviceSize seg_bytes;
    VkFence fence;
    bool began;        /* vkBeginCommandBuffer was called since the last reset */
    bool ended;        /* vkEndCommandBuffer too (a failed submit can be tried again, but nothing recorded) */
    bool submitted;    /* the fence will signal */
    bool broken;       /* a driver failure left an op half recorded: only a reset helps */
    VkDescriptorPool *set_pools;
    uint32_t set_pool_count;
    uint32_t sets_used; /* sets allocated since the last reset: pool sets_used / POOL_SETS is the current one */
    VkQueryPool *query_pools;
    uint32_t query_pool_count;
    void **scratch;    /* vkattn__vk_buffer pieces the list owns until it is reset (vkattn__vk_cmd_scratch) */
    uint32_t scratch_count;
    byte_range read[TRACKED_RANGES];
    byte_range written[TRACKED_RANGES];
    uint32_t n_read, n_written;
} vk_cmd;

/* The public call a backend failure belongs to: the op's own call for the context's immediate list. */
static const char *call_name(const vkattn_cmd *cmd, const char *list_call, char *buf, size_t len)
{
    if (cmd != cmd->ctx->immediate || cmd->op_count == 0)
        return list_call;
    snprintf(buf, len, "vkattn_%s", cmd->op_names[cmd->op_count - 1]);
    return buf;
}

void vkattn__vk_full_barrier(const vkattn_context *ctx, VkCommandBuffer cb)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT,
    };
    vk->fn.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                                    VK_PIPELINE_STAGE_HOST_BIT,
                                0, 1, &barrier, 0, NULL, 0, NULL);
}

/* ---- create / destroy ------------------------------------------------------------------------------------------ */

static void free_scratch(vkattn_context *ctx, vk_cmd *c)
{
    for (uint32_t i = 0; i < c->scratch_count; i++) {
        vkattn__memory_release(ctx, ((const vkattn__vk_buffer *)c->scratch[i])->size);
        vkattn__vk_buffer_destroy(ctx, c->scratch[i]);
    }
    c->scratch_count = 0;
}

static void free_vk_cmd(vkattn_context *ctx, vk_cmd *c)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    free_scratch(ctx, c);
    for (uint32_t i = 0; i < c->set_pool_count; i++)
        vk->fn.vkDestroyDescriptorPool(vk->device, c->set_pools[i], NULL);
    for (uint32_t i = 0; i < c->query_pool_count; i++)
        vk->fn.vkDestroyQueryPool(vk->device, c->query_pools[i], NULL);
    if (c->fence)
        vk->fn.vkDestroyFence(vk->device, c->fence, NULL);
    if (c->pool) /* frees the command buffer */
        vk->fn.vkDestroyCommandPool(vk->device, c->pool, NULL);
    free(c->set_pools);
    free(c->query_pools);
    free(c->cbs);
    free(c->scratch);
    free(c);
}

static VkResult create_objects(const vkattn__vk_context *vk, vk_cmd *c, const char **call)
{
    VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = vk->queue_family,
    };
    *call = "vkCreateCommandPool";
    VkResult res = vk->fn.vkCreateCommandPool(vk->device, &pool, NULL, &c->pool);
    if (res != VK_SUCCESS)
        return res;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = c->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    *call = "vkAllocateCommandBuffers";
    c->cbs = calloc(1, sizeof *c->cbs);
    if (!c->cbs)
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    res = vk->fn.vkAllocateCommandBuffers(vk->device, &alloc, &c->cbs[0]);
    if (res != VK_SUCCESS)
        return res;
    c->cb_cap = 1;
    c->cb = c->cbs[0];
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    *call = "vkCreateFence";
    return vk->fn.vkCreateFence(vk->device, &fence, NULL, &c->fence);
}

vkattn_result vkattn__vk_cmd_create(vkattn_context *ctx, vkattn_cmd *cmd)
{
    static const char func[] = "vkattn_cmd_create";
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK)
        return r;
    vk_cmd *c = calloc(1, sizeof *c);
    if (!c)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    const char *call = NULL;
    VkResult res = create_objects(vkattn__vk(ctx), c, &call);
    if (res != VK_SUCCESS) {
        free_vk_cmd(ctx, c);
        return vkattn__vk_fail(ctx, func, call, res);
    }
    cmd->impl = c;
    return VKATTN_OK;
}

void vkattn__vk_cmd_destroy(vkattn_context *ctx, vkattn_cmd *cmd)
{
    free_vk_cmd(ctx, cmd->impl);
    cmd->impl = NULL;
}

/* ---- pools that grow ------------------------------------------------------------------------------------------- */

/* Appends a handle to a malloc'ed array; false when out of memory. */
static bool append_handle(void **items, uint32_t *count, size_t size, const void *handle)
{
    unsigned char *grown = realloc(*items, (*count + 1) * size);
    if (!grown)
        return false;
    memcpy(grown + *count * size, handle, size);
    *items = grown;
    (*count)++;
    return true;
}

static vkattn_result add_set_pool(vkattn_context *ctx, const char *func, vk_cmd *c)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, POOL_SETS * VKATTN__VK_MAX_BINDINGS};
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = POOL_SETS,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    VkDescriptorPool pool;
    VkResult res = vk->fn.vkCreateDescriptorPool(vk->device, &info, NULL, &pool);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateDescriptorPool", res);
    if (append_handle((void **)&c->set_pools, &c->set_pool_count, sizeof pool, &pool))
        return VKATTN_OK;
    vk->fn.vkDestroyDescriptorPool(vk->device, pool, NULL);
    return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
}

vkattn_result vkattn__vk_cmd_scratch(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, uint64_t bytes,
                                    void **out)
{
    vk_cmd *c = cmd->impl;
    vkattn_result r = vkattn__vk_buffer_create(ctx, bytes, out);
    if (r != VKATTN_OK)
        return r;
    /* Scratch counts against desc.memory_limit like tensors, for as long as the list holds it. */
    VkDeviceSize size = ((const vkattn__vk_buffer *)*out)->size;
    r = vkattn__memory_reserve(ctx, size, func);
    if (r == VKATTN_OK && append_handle((void **)&c->scratch, &c->scratch_count, sizeof *out, out))
        return r;
    if (r == VKATTN_OK) {
        vkattn__memory_release(ctx, size);
        r = vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    }
    vkattn__vk_buffer_destroy(ctx, *out);
    *out = NULL;
    return r;
}

/* A descriptor set of the pipeline's layout; pools are never asked for more sets than they were made for. */
static vkattn_result alloc_set(vkattn_context *ctx, const char *func, vk_cmd *c, const vkattn__vk_pipeline *p,
                               VkDescriptorSet *out)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    uint32_t index = c->sets_used / POOL_SETS;
    if (index == c->set_pool_count) {
        vkattn_result r = add_set_pool(ctx, func, c);
        if (r != VKATTN_OK)
            return r;
    }
    VkDescriptorSetAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = c->set_pools[index],
        .descriptorSetCount = 1,
        .pSetLayouts = &p->set_layout,
    };
    VkResult res = vk->fn.vkAllocateDescriptorSets(vk->device, &info, out);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkAllocateDescriptorSets", res);
    c->sets_used++;
    return VKATTN_OK;
}

/* The query pool of op `op` exists (created on first need; reset in the command buffer at its first op). */
static vkattn_result reserve_queries(vkattn_context *ctx, const char *func, vk_cmd *c, uint32_t op)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    if (op / POOL_OPS < c->query_pool_count)
        return VKATTN_OK;
    VkQueryPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = 2 * POOL_OPS,
    };
    VkQueryPool pool;
    VkResult res = vk->fn.vkCreateQueryPool(vk->device, &info, NULL, &pool);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateQueryPool", res);
    if (append_handle((void **)&c->query_pools, &c->query_pool_count, sizeof pool, &pool))
        return VKATTN_OK;
    vk->fn.vkDestroyQueryPool(vk->device, pool, NULL);
    return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
}

/* Timestamps with stage COMPUTE_SHADER: the first is written when all earlier compute work is done, the second when
 * the op's is too, so an op's time is its own even when independent ops overlap. */
/* Timestamp `which` (0 before, 1 after) of op `op`, written once the commands before it have passed `stage`. */
static void write_timestamp(const vkattn__vk_context *vk, const vk_cmd *c, uint32_t op, uint32_t which,
                            VkPipelineStageFlagBits stage)
{
    VkQueryPool pool = c->query_pools[op / POOL_OPS];
    uint32_t first = 2 * (op % POOL_OPS);
    if (which == 0 && first == 0)
        vk->fn.vkCmdResetQueryPool(c->cb, pool, 0, 2 * POOL_OPS);
    vk->fn.vkCmdWriteTimestamp(c->cb, stage, pool, first + which);
}

/* ---- recording ------------------------------------------------------------------------------------------------- */

/* Begins segment cbs[cb_used] (allocated beforehand by reserve_segments) with its opening barrier. */
static vkattn_result begin_segment(vkattn_context *ctx, const char *func, vk_cmd *c)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    VkCommandBufferBeginInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult res = vk->fn.vkBeginCommandBuffer(c->cbs[c->cb_used], &info);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkBeginCommandBuffer", res);
    c->cb = c->cbs[c->cb_used++];
    vkattn__vk_full_barrier(ctx, c->cb);
    c->seg_ops = 0;
    c->seg_bytes = 0;
    c->n_read = 0;
    c->n_written = 0;
    return VKATTN_OK;
}

/* Closes the current segment with its closing barrier. */
static vkattn_result end_segment(vkattn_context *ctx, const char *func, vk_cmd *c)
{
    vkattn__vk_full_barrier(ctx, c->cb);
    VkResult res = vkattn__vk(ctx)->fn.vkEndCommandBuffer(c->cb);
    return res != VK_SUCCESS ? vkattn__vk_fail(ctx, func, "vkEndCommandBuffer", res) : VKATTN_OK;
}

/* Command buffers for `more` segments after the current one, allocated before anything of an op is recorded. */
static vkattn_result reserve_segments(vkattn_context *ctx, const char *func, vk_cmd *c, uint64_t more)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    uint64_t need = (uint64_t)c->cb_used + more;
    if (need <= c->cb_cap)
        return VKATTN_OK;
    if (need > UINT32_MAX / 2)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: %llu command buffers", func,
                             (unsigned long long)need);
    VkCommandBuffer *grown = realloc(c->cbs, need * sizeof *grown);
    if (!grown)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    c->cbs = grown;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = c->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = (uint32_t)(need - c->cb_cap),
    };
    VkResult res = vk->fn.vkAllocateCommandBuffers(vk->device, &alloc, &c->cbs[c->cb_cap]);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkAllocateCommandBuffers", res);
    c->cb_cap = (uint32_t)need;
    return VKATTN_OK;
}

static vkattn_result begin(vkattn_context *ctx, const char *func, vk_cmd *c)
{
    if (c->began)
        return VKATTN_OK;
    vkattn_result r = begin_segment(ctx, func, c);
    c->began = r == VKATTN_OK;
    return r;
}

/* Before an op or one of its dispatches: a new segment when the current one is full. */
static vkattn_result next_segment_if_full(vkattn_context *ctx, const char *func, vk_cmd *c)
{
    if (c->seg_ops < SEGMENT_OPS && c->seg_bytes < SEGMENT_BYTES)
        return VKATTN_OK;
    vkattn_result r = end_segment(ctx, func, c);
    return r != VKATTN_OK ? r : begin_segment(ctx, func, c);
}

static VkDeviceSize dispatch_bytes(const vkattn__vk_dispatch *d)
{
    VkDeviceSize bytes = 0;
    for (uint32_t i = 0; i < d->n_bindings; i++)
        bytes += d->bindings[i].range;
    return bytes;
}

static bool overlaps(const byte_range *set, uint32_t n, const vkattn__vk_binding *b)
{
    for (uint32_t i = 0; i < n; i++)
        if (set[i].block == b->block && set[i].lo < b->offset + b->range && b->offset < set[i].hi)
            return true;
    return false;
}

static bool needs_barrier(const vk_cmd *c, const vkattn__vk_dispatch *d)
{
    if (c->n_read + d->n_bindings > TRACKED_RANGES || c->n_written + d->n_bindings > TRACKED_RANGES)
        return true;
    for (uint32_t i = 0; i < d->n_bindings; i++) {
        const vkattn__vk_binding *b = &d->bindings[i];
        if (overlaps(c->written, c->n_written, b) || (b->written && overlaps(c->read, c->n_read, b)))
            return true;
    }
    return false;
}

static void barrier_if_needed(const vkattn__vk_context *vk, vk_cmd *c, const vkattn__vk_dispatch *d)
{
    if (needs_barrier(c, d)) {
        VkMemoryBarrier barrier = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
        };
        vk->fn.vkCmdPipelineBarrier(c->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                    0, 1, &barrier, 0, NULL, 0, NULL);
        c->n_read = 0;
        c->n_written = 0;
    }
    for (uint32_t i = 0; i < d->n_bindings; i++) {
        const vkattn__vk_binding *b = &d->bindings[i];
        byte_range range = {b->block, b->offset, b->offset + b->range};
        if (b->written)
            c->written[c->n_written++] = range;
        else
            c->read[c->n_read++] = range;
    }
}

static void write_set(const vkattn__vk_context *vk, VkDescriptorSet set, const vkattn__vk_dispatch *d)
{
    VkDescriptorBufferInfo infos[VKATTN__VK_MAX_BINDINGS];
    VkWriteDescriptorSet writes[VKATTN__VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < d->n_bindings; i++) {
        infos[i] = (VkDescriptorBufferInfo){d->bindings[i].block->buffer, d->bindings[i].offset, d->bindings[i].range};
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &infos[i],
        };
    }
    vk->fn.vkUpdateDescriptorSets(vk->device, d->n_bindings, writes, 0, NULL);
}

static void put_push_u32(unsigned char *push, uint32_t at, uint64_t value)
{
    uint32_t v = (uint32_t)value;
    memcpy(push + at, &v, sizeof v);
}

/* groups_x = min(groups, maxCount[0]) columns, ceil(n / groups_x) rows, at most maxCount[1] rows per dispatch. */
static void dispatch_grid(const vkattn__vk_context *vk, VkCommandBuffer cb, const vkattn__vk_pipeline *p,
                          const vkattn__vk_dispatch *d)
{
    uint64_t max_x = vk->limits.maxComputeWorkGroupCount[0], max_y = vk->limits.maxComputeWorkGroupCount[1];
    uint64_t groups_x = d->groups < max_x ? d->groups : max_x;
    uint64_t per_dispatch = groups_x * max_y;
    unsigned char push[MAX_PUSH_BYTES];
    memcpy(push, d->push, d->push_size);
    put_push_u32(push, d->groups_x_at, groups_x);
    for (uint64_t base = 0; base < d->groups; base += per_dispatch) {
        uint64_t n = d->groups - base < per_dispatch ? d->groups - base : per_dispatch;
        put_push_u32(push, d->base_at, (d->first_group + base) * d->base_per_group);
        vk->fn.vkCmdPushConstants(cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_size, push);
        vk->fn.vkCmdDispatch(cb, (uint32_t)groups_x, (uint32_t)((n + groups_x - 1) / groups_x), 1);
    }
}

static bool timestamps_on(const vkattn_context *ctx, const vkattn_cmd *cmd)
{
    return (cmd->flags & VKATTN_CMD_TIMESTAMPS) && ctx->info.timestamps;
}

static vkattn_result pipeline_of(vkattn_context *ctx, const char *func, const vkattn__vk_dispatch *d,
                                 const vkattn__vk_pipeline **out)
{
    uint32_t spec[VKATTN__VK_MAX_SPEC] = {d->workgroup_size};
    if (d->n_spec >= VKATTN__VK_MAX_SPEC)
        return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: %s has too many specialization constants", func,
                             d->shader);
    memcpy(spec + 1, d->spec, d->n_spec * sizeof *spec);
    return vkattn__vk_pipeline_get(ctx, func, d->shader, spec, d->n_spec + 1, d->n_bindings, d->push_size, out);
}

/* Whether ops may be recorded into c: a lost device first (it is why a list's submit failed, and all that can be
 * done is a new context), then a half-recorded or ended list. */
static vkattn_result check_recordable(vkattn_context *ctx, const char *func, const vk_cmd *c)
{
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK)
        return r;
    if (c->broken)
        return vkattn__error(ctx, VKATTN_ERROR_BAD_STATE,
                             "%s: a driver failure left the list half recorded; reset it before recording", func);
    if (c->ended)
        return vkattn__error(ctx, VKATTN_ERROR_BAD_STATE,
                             "%s: the list's last submit failed; submit it again or reset it before recording", func);
    return VKATTN_OK;
}

/* The pipeline and descriptor set of each dispatch: everything that can fail comes first, so a failed op leaves no
 * half-recorded commands. */
static vkattn_result prepare(vkattn_context *ctx, const char *func, vkattn_cmd *cmd, const vkattn__vk_dispatch *d,
                             uint32_t n, const vkattn__vk_pipeline **p, VkDescriptorSet *sets)
{
    vk_cmd *c = cmd->impl;
    if (n == 0 || n > VKATTN__VK_MAX_DISPATCHES)
        return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: an op of %u dispatches", func, n);
    for (uint32_t i = 0; i < n; i++)
        if (d[i].push_size > MAX_PUSH_BYTES || d[i].n_bindings > VKATTN__VK_MAX_BINDINGS || d[i].groups == 0)
            return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: malformed dispatch of %s", func, d[i].shader);
    vkattn_result r = check_recordable(ctx, func, c);
    for (uint32_t i = 0; r == VKATTN_OK && i < n; i++)
        r = pipeline_of(ctx, func, &d[i], &p[i]);
    if (r == VKATTN_OK)
        r = begin(ctx, func, c);
    if (r == VKATTN_OK) { /* every segment this op may open (one per SEGMENT_BYTES of it, and one before it) */
        VkDeviceSize bytes = 0;
        for (uint32_t i = 0; i < n; i++)
            bytes += dispatch_bytes(&d[i]);
        r = reserve_segments(ctx, func, c, 2 + bytes / SEGMENT_BYTES + n / SEGMENT_OPS);
    }
    if (r == VKATTN_OK && timestamps_on(ctx, cmd))
        r = reserve_queries(ctx, func, c, cmd->op_count);
    for (uint32_t i = 0; r == VKATTN_OK && i < n; i++)
        r = alloc_set(ctx, func, c, p[i], &sets[i]);
    if (r == VKATTN_OK)
        r = next_segment_if_full(ctx, func, c);
    return r;
}

/* The op's timestamps enclose all its dispatches. */
vkattn_result vkattn__vk_record_dispatches(vkattn_context *ctx, vkattn_cmd *cmd, const char *func,
                                           const vkattn__vk_dispatch *d, uint32_t n)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    vk_cmd *c = cmd->impl;
    uint32_t op = cmd->op_count;
    bool stamps = timestamps_on(ctx, cmd);
    const vkattn__vk_pipeline **p = calloc(n ? n : 1, sizeof *p);
    VkDescriptorSet *sets = calloc(n ? n : 1, sizeof *sets);
    vkattn_result r = p && sets ? prepare(ctx, func, cmd, d, n, p, sets)
                                : vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    if (r != VKATTN_OK) {
        free(p);
        free(sets);
        return r;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && c->seg_bytes >= SEGMENT_BYTES) {
            r = next_segment_if_full(ctx, func, c);
            if (r != VKATTN_OK) { /* only a failing driver gets here: the op is half recorded */
                free(p);
                free(sets);
                c->broken = true;
                return r;
            }
        }
        c->seg_bytes += dispatch_bytes(&d[i]);
        write_set(vk, sets[i], &d[i]);
        barrier_if_needed(vk, c, &d[i]);
        if (stamps && i == 0)
            write_timestamp(vk, c, op, 0, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
        vk->fn.vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p[i]->pipeline);
        vk->fn.vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p[i]->layout, 0, 1, &sets[i], 0, NULL);
        dispatch_grid(vk, c->cb, p[i], &d[i]);
    }
    if (stamps)
        write_timestamp(vk, c, op, 1, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    c->seg_ops++;
    free(p);
    free(sets);
    return VKATTN_OK;
}

/* vkCmdCopyBuffer of src's bytes into dst (both contiguous), between full barriers: the copy waits for the
 * dispatches before it and the ones after it wait for the copy, whatever they touch. */
vkattn_result vkattn__vk_record_copy_buffer(vkattn_context *ctx, vkattn_cmd *cmd, const char *func,
                                            const vkattn__tensor *src, const vkattn__tensor *dst)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    vk_cmd *c = cmd->impl;
    bool stamps = timestamps_on(ctx, cmd);
    vkattn_result r = check_recordable(ctx, func, c);
    if (r == VKATTN_OK)
        r = begin(ctx, func, c);
    if (r == VKATTN_OK)
        r = reserve_segments(ctx, func, c, 1);
    if (r == VKATTN_OK && stamps)
        r = reserve_queries(ctx, func, c, cmd->op_count);
    if (r == VKATTN_OK)
        r = next_segment_if_full(ctx, func, c);
    if (r != VKATTN_OK)
        return r;
    const vkattn__vk_buffer *from = src->storage->impl, *to = dst->storage->impl;
    VkDeviceSize size = vkattn_dtype_size(src->dtype);
    VkBufferCopy region = {
        .srcOffset = from->offset + (VkDeviceSize)src->offset * size,
        .dstOffset = to->offset + (VkDeviceSize)dst->offset * size,
        .size = (VkDeviceSize)vkattn__tensor_numel(src) * size,
    };
    vkattn__vk_full_barrier(ctx, c->cb);
    if (stamps)
        write_timestamp(vk, c, cmd->op_count, 0, VK_PIPELINE_STAGE_TRANSFER_BIT);
    vk->fn.vkCmdCopyBuffer(c->cb, from->block->buffer, to->block->buffer, 1, &region);
    if (stamps)
        write_timestamp(vk, c, cmd->op_count, 1, VK_PIPELINE_STAGE_TRANSFER_BIT);
    vkattn__vk_full_barrier(ctx, c->cb);
    c->n_read = 0;
    c->n_written = 0;
    c->seg_ops++;
    c->seg_bytes += 2 * region.size;
    return VKATTN_OK;
}

/* ---- submit, wait, reset ---------------------------------------------------------------------------------------- */

vkattn_result vkattn__vk_cmd_submit(vkattn_context *ctx, vkattn_cmd *cmd)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    vk_cmd *c = cmd->impl;
    char buf[64];
    const char *func = call_name(cmd, "vkattn_cmd_submit", buf, sizeof buf);
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r == VKATTN_OK && c->broken)
        r = vkattn__error(ctx, VKATTN_ERROR_BAD_STATE,
                          "%s: a driver failure left the list half recorded; reset it before submitting", func);
    if (r != VKATTN_OK || !c->began) /* an empty list has nothing to run: it completes at once */
        return r;
    if (!c->ended) {
        r = end_segment(ctx, func, c);
        if (r != VKATTN_OK)
            return r;
        c->ended = true;
    }
    /* One batch per segment: each reaches the driver as work of its own. */
    VkSubmitInfo *batches = calloc(c->cb_used, sizeof *batches);
    if (!batches)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    for (uint32_t i = 0; i < c->cb_used; i++)
        batches[i] = (VkSubmitInfo){.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                    .pCommandBuffers = &c->cbs[i]};
    /* VKATTN_TEST_DEVICE_LOST_AFTER: the driver's answer to a submit on a lost device, for testing. */
    bool lose = vk->test_lost_after && ctx->stats.submissions + 1 >= vk->test_lost_after;
    VkResult res = lose ? VK_ERROR_DEVICE_LOST : vk->fn.vkQueueSubmit(vk->queue, c->cb_used, batches, c->fence);
    free(batches);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkQueueSubmit", res);
    c->submitted = true;
    ctx->stats.submissions++;
    ctx->stats.command_buffers += c->cb_used;
    return VKATTN_OK;
}

/* VK_TIMEOUT comes back as VKATTN_ERROR_TIMEOUT without a message: the caller words it. */
static vkattn_result wait_fence(vkattn_context *ctx, const char *func, VkFence fence, uint64_t timeout_ns)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    VkResult res = vk->fn.vkWaitForFences(vk->device, 1, &fence, VK_TRUE, timeout_ns);
    if (res == VK_TIMEOUT)
        return VKATTN_ERROR_TIMEOUT;
    return res != VK_SUCCESS ? vkattn__vk_fail(ctx, func, "vkWaitForFences", res) : VKATTN_OK;
}

vkattn_result vkattn__vk_cmd_wait(vkattn_context *ctx, vkattn_cmd *cmd, uint64_t timeout_ns)
{
    const vk_cmd *c = cmd->impl;
    char buf[64];
    const char *func = call_name(cmd, "vkattn_cmd_wait", buf, sizeof buf);
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK || !c->submitted)
        return r;
    return wait_fence(ctx, func, c->fence, timeout_ns);
}

vkattn_result vkattn__vk_cmd_reset(vkattn_context *ctx, vkattn_cmd *cmd)
{
    static const char func[] = "vkattn_cmd_reset";
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    vk_cmd *c = cmd->impl;
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    if (r != VKATTN_OK)
        return r;
    const char *call = "vkResetFences";
    VkResult res = c->submitted ? vk->fn.vkResetFences(vk->device, 1, &c->fence) : VK_SUCCESS;
    if (res == VK_SUCCESS && c->began) {
        call = "vkResetCommandPool";
        res = vk->fn.vkResetCommandPool(vk->device, c->pool, 0);
    }
    for (uint32_t i = 0; res == VK_SUCCESS && i < c->set_pool_count; i++) {
        call = "vkResetDescriptorPool";
        res = vk->fn.vkResetDescriptorPool(vk->device, c->set_pools[i], 0);
    }
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, call, res);
    c->began = false;
    c->ended = false;
    c->cb_used = 0;
    c->submitted = false;
    c->broken = false;
    c->sets_used = 0;
    free_scratch(ctx, c);
    c->n_read = 0;
    c->n_written = 0;
    return VKATTN_OK;
}

/* ---- timings, wait_idle ------------------------------------------------------------------------------------------ */

vkattn_result vkattn__vk_cmd_timings(vkattn_context *ctx, const vkattn_cmd *cmd, double *ms)
{
    static const char func[] = "vkattn_cmd_timings";
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    const vk_cmd *c = cmd->impl;
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    /* Tick differences are taken modulo 2^timestampValidBits, so a counter wrap between two stamps is harmless. */
    uint64_t mask = vk->timestamp_valid_bits >= 64 ? UINT64_MAX : ((uint64_t)1 << vk->timestamp_valid_bits) - 1;
    uint64_t ticks[2 * POOL_OPS];
    for (uint32_t first = 0; r == VKATTN_OK && first < cmd->op_count; first += POOL_OPS) {
        uint32_t n = cmd->op_count - first < POOL_OPS ? cmd->op_count - first : POOL_OPS;
        VkResult res = vk->fn.vkGetQueryPoolResults(vk->device, c->query_pools[first / POOL_OPS], 0, 2 * n,
                                                    sizeof ticks, ticks, sizeof ticks[0],
                                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (res != VK_SUCCESS)
            return vkattn__vk_fail(ctx, func, "vkGetQueryPoolResults", res);
        for (uint32_t i = 0; i < n; i++)
            ms[first + i] = (double)((ticks[2 * i + 1] - ticks[2 * i]) & mask) * ctx->info.timestamp_period_ns / 1e6;
    }
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What is left of a wait that ends at `deadline` (UINT64_MAX: forever). */
static uint64_t remaining_ns(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return UINT64_MAX;
    uint64_t now = now_ns();
    return now < deadline ? deadline - now : 0;
}

vkattn_result vkattn__vk_wait_idle(vkattn_context *ctx, uint64_t timeout_ns)
{
    static const char func[] = "vkattn_context_wait_idle";
    vkattn_result r = vkattn__vk_check_lost(ctx, func);
    uint64_t start = now_ns();
    uint64_t deadline = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
    for (vkattn_cmd *cmd = ctx->cmds; r == VKATTN_OK && cmd; cmd = cmd->next) {
        const vk_cmd *c = cmd->impl;
        if (cmd->state == VKATTN__CMD_PENDING && c->submitted)
            r = wait_fence(ctx, func, c->fence, remaining_ns(deadline));
    }
    return r == VKATTN_OK ? vkattn__vk_transfer_wait(ctx, func, remaining_ns(deadline)) : r;
}
