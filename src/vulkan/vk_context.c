/*
 * vk_context.c - vkattn__vulkan_init: instance, device choice, VkDevice with the optional features it offers
 * (16-bit storage, float16 arithmetic; nothing else), memory and pipeline cache; the backend table; teardown.
 */
#include "vulkan/vk_internal.h"

#include <stdlib.h>
#include <string.h>

static void vulkan_destroy(vkattn_context *ctx);

static const vkattn__backend vulkan_backend = {
    .name = "vulkan",
    .destroy = vulkan_destroy,
    .wait_idle = vkattn__vk_wait_idle,
    .buffer_create = vkattn__vk_buffer_create,
    .buffer_destroy = vkattn__vk_buffer_destroy,
    .buffer_write = vkattn__vk_buffer_write,
    .buffer_read = vkattn__vk_buffer_read,
    .cmd_create = vkattn__vk_cmd_create,
    .cmd_destroy = vkattn__vk_cmd_destroy,
    .cmd_record = vkattn__vk_cmd_record,
    .cmd_submit = vkattn__vk_cmd_submit,
    .cmd_wait = vkattn__vk_cmd_wait,
    .cmd_reset = vkattn__vk_cmd_reset,
    .cmd_timings = vkattn__vk_cmd_timings,
};

uint32_t vkattn__vk_device_extension_list(const vkattn__vk_facts *f, const char **out)
{
    uint32_t n = 0;
    if (f->info.fp16_arithmetic && f->ext_float16_int8)
        out[n++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
    if (f->ext_portability_subset)
        out[n++] = VKATTN__VK_PORTABILITY_SUBSET;
    return n;
}

static vkattn_result create_device(vkattn_context *ctx, const char *func, const vkattn__vk_facts *f)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = f->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    /* fp16_arithmetic is true only where this structure may be chained (API 1.2 or the extension). */
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = f->info.fp16_arithmetic,
    };
    VkPhysicalDevice16BitStorageFeatures storage16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = f->info.fp16_arithmetic ? &f16 : NULL,
        .storageBuffer16BitAccess = f->info.fp16_storage,
    };
    const char *extensions[2];
    uint32_t n_extensions = vkattn__vk_device_extension_list(f, extensions);
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &storage16,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
        .enabledExtensionCount = n_extensions,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult res = vkCreateDevice(f->physical, &info, NULL, &vk->device);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateDevice", res);
    volkLoadDeviceTable(&vk->fn, vk->device);
    vk->fn.vkGetDeviceQueue(vk->device, f->queue_family, 0, &vk->queue);
    return VKATTN_OK;
}

static void adopt_facts(vkattn_context *ctx, const vkattn__vk_facts *f)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    ctx->info = f->info;
    vk->physical = f->physical;
    vk->queue_family = f->queue_family;
    vk->timestamp_valid_bits = f->timestamp_valid_bits;
    vk->limits = f->limits;
    vk->memory_props = f->memory;
    vk->max_allocation_size = f->info.max_allocation_size ? f->info.max_allocation_size : VK_WHOLE_SIZE;
    const char *gpu_blocking = vkattn__env(&ctx->desc, "VKATTN_TEST_GPU_BLOCKING");
    vk->test_gpu_blocking = gpu_blocking && strcmp(gpu_blocking, "1") == 0;
    const char *lost = vkattn__env(&ctx->desc, "VKATTN_TEST_DEVICE_LOST_AFTER");
    vk->test_lost_after = lost ? strtoull(lost, NULL, 10) : 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* VKATTN_PROFILE_PHONE: the chosen device's facts clamped to a conservative phone GPU (the values of the header's
 * comment: Vulkan 1.1's required minimums for workgroups, shared memory and allocation count, the 128 MiB storage
 * range that Adreno and Mali drivers report, no optional arithmetic). Every decision of the backend reads
 * vk->limits and ctx->info, so clamping them here is all a profile takes. */
static void apply_phone_profile(vkattn__vk_facts *f)
{
    VkPhysicalDeviceLimits *l = &f->limits;
    static const uint32_t wg_size[3] = {128, 128, 64};
    l->maxComputeWorkGroupInvocations = min_u32(l->maxComputeWorkGroupInvocations, 128);
    l->maxComputeSharedMemorySize = min_u32(l->maxComputeSharedMemorySize, 16384);
    l->maxStorageBufferRange = min_u32(l->maxStorageBufferRange, 128u << 20);
    l->maxMemoryAllocationCount = min_u32(l->maxMemoryAllocationCount, 4096);
    for (int i = 0; i < 3; i++) {
        l->maxComputeWorkGroupSize[i] = min_u32(l->maxComputeWorkGroupSize[i], wg_size[i]);
        l->maxComputeWorkGroupCount[i] = min_u32(l->maxComputeWorkGroupCount[i], 65535);
    }
    vkattn_device_info *info = &f->info;
    info->profile = VKATTN_PROFILE_PHONE;
    info->fp16_arithmetic = false;
    info->subgroup_arithmetic = false;
    info->cooperative_matrix_nv = false;
}

/* Instance, device choice and VkDevice: everything that calls instance-level functions (lock held). */
static vkattn_result open_device(vkattn_context *ctx, const char *func, const char *selector, bool validation)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    vkattn_result r = vkattn__vk_instance_create(ctx, func, validation, &vk->instance);
    if (r != VKATTN_OK)
        return r;
    vkattn__vk_facts *all = NULL;
    uint32_t count = 0;
    const vkattn__vk_facts *chosen = NULL;
    r = vkattn__vk_facts_all(ctx, func, &vk->instance, &all, &count);
    if (r == VKATTN_OK)
        r = vkattn__vk_choose(ctx, func, all, count, selector, &chosen);
    if (r == VKATTN_OK) {
        vkattn__vk_facts facts = *chosen;
        if (ctx->desc.profile == VKATTN_PROFILE_PHONE)
            apply_phone_profile(&facts);
        /* For testing the windows of ops on tensors larger than the storage-buffer range with small tensors. */
        const char *range = vkattn__env(&ctx->desc, "VKATTN_TEST_STORAGE_RANGE");
        unsigned long long bytes = range ? strtoull(range, NULL, 10) : 0;
        if (bytes >= 256 && bytes < facts.limits.maxStorageBufferRange)
            facts.limits.maxStorageBufferRange = (uint32_t)bytes;
        vkattn__vk_info_from_limits(&facts); /* the device info reports the limits the backend goes by */
        adopt_facts(ctx, &facts);
        r = create_device(ctx, func, &facts);
    }
    free(all);
    return r;
}

/* Frees whatever init got to; the same path serves a failed init and vkattn_context_destroy. */
static void teardown(vkattn_context *ctx)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    if (vk->device) {
        /* After a device loss this fails, and destruction is still what must happen next. */
        vk->fn.vkDeviceWaitIdle(vk->device);
        vkattn__vk_pipeline_cache_destroy(ctx);
        vkattn__vk_pipelines_destroy(ctx);
        vkattn__vk_memory_destroy(ctx);
        vk->fn.vkDestroyDevice(vk->device, NULL);
    }
    vkattn__vk_instance_lock();
    vkattn__vk_instance_destroy(&vk->instance);
    vkattn__vk_instance_unlock();
    free(vk);
    ctx->impl = NULL;
}

vkattn_result vkattn__vulkan_init(vkattn_context *ctx, const char *device, bool validation)
{
    static const char func[] = "vkattn_context_create";
    vkattn_result r = vkattn__vk_load(ctx, func);
    if (r != VKATTN_OK)
        return r;
    vkattn__vk_context *vk = calloc(1, sizeof *vk);
    if (!vk)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    ctx->impl = vk;
    vkattn__vk_instance_lock();
    r = open_device(ctx, func, device, validation);
    vkattn__vk_instance_unlock();
    if (r == VKATTN_OK)
        r = vkattn__vk_memory_init(ctx, func);
    if (r == VKATTN_OK)
        r = vkattn__vk_pipeline_cache_init(ctx, func);
    if (r != VKATTN_OK) {
        teardown(ctx);
        return r;
    }
    ctx->backend = &vulkan_backend;
    vkattn__log(ctx, VKATTN_LOG_INFO, "%s: Vulkan device %u: %s (%s, %s %s)%s%s", func, ctx->info.index,
                ctx->info.name, ctx->info.vendor, ctx->info.driver_name, ctx->info.driver_info,
                validation ? ", validation on" : "",
                ctx->desc.profile == VKATTN_PROFILE_PHONE ? ", phone profile" : "");
    return VKATTN_OK;
}

static void vulkan_destroy(vkattn_context *ctx)
{
    if (ctx->impl)
        teardown(ctx);
}
