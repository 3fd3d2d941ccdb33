/*
 * vk_device.c - what each physical device offers (one vkattn_device_info per device, the same code for contexts and
 * vkattn_enumerate_devices), which device a selector names, and vkattn__vulkan_enumerate.
 */
#include "vulkan/vk_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCI vendor ids (and Khronos-assigned ids above 0xffff for vendors without one, such as Mesa). */
static const struct {
    uint32_t id;
    const char *name;
} vendors[] = {
    {0x10DE, "NVIDIA"}, {0x1002, "AMD"},    {0x8086, "Intel"},  {0x13B5, "ARM"},  {0x5143, "Qualcomm"},
    {0x106B, "Apple"},  {0x1010, "ImgTec"}, {0x10005, "Mesa"}, {0x1AE0, "Google"},
};

static void vendor_name(uint32_t id, char *out, size_t len)
{
    for (size_t i = 0; i < VKATTN__ARRAY_LEN(vendors); i++)
        if (vendors[i].id == id) {
            snprintf(out, len, "%s", vendors[i].name);
            return;
        }
    snprintf(out, len, "vendor 0x%04x", id);
}

static vkattn_device_type device_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKATTN_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKATTN_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKATTN_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKATTN_DEVICE_CPU;
    default: return VKATTN_DEVICE_OTHER;
    }
}

typedef vkattn__vk_device_extensions device_extensions;

void vkattn__vk_scan_device_extensions(const VkExtensionProperties *props, uint32_t n, device_extensions *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < n; i++) {
        const char *e = props[i].extensionName;
        out->driver_properties |= strcmp(e, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME) == 0;
        out->float16_int8 |= strcmp(e, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME) == 0;
        out->cooperative_matrix_nv |= strcmp(e, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) == 0;
        out->portability_subset |= strcmp(e, VKATTN__VK_PORTABILITY_SUBSET) == 0;
    }
}

static vkattn_result read_extensions(vkattn_context *ctx, const char *func, VkPhysicalDevice pd,
                                     device_extensions *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = 0;
    VkResult res = vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkEnumerateDeviceExtensionProperties", res);
    VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
    if (!props)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    res = vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props);
    if (res >= 0)
        vkattn__vk_scan_device_extensions(props, n, out);
    free(props);
    return res < 0 ? vkattn__vk_fail(ctx, func, "vkEnumerateDeviceExtensionProperties", res) : VKATTN_OK;
}

/* A COMPUTE family, preferring one with timestamps. */
static vkattn_result read_queue(vkattn_context *ctx, const char *func, vkattn__vk_facts *f)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(f->physical, &n, NULL);
    VkQueueFamilyProperties *props = calloc(n ? n : 1, sizeof *props);
    if (!props)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    vkGetPhysicalDeviceQueueFamilyProperties(f->physical, &n, props);
    for (uint32_t i = 0; i < n; i++) {
        if (!(props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || props[i].queueCount == 0)
            continue;
        if (!f->has_queue || (f->timestamp_valid_bits == 0 && props[i].timestampValidBits > 0)) {
            f->has_queue = true;
            f->queue_family = i;
            f->timestamp_valid_bits = props[i].timestampValidBits;
        }
    }
    free(props);
    return VKATTN_OK;
}

/* Properties beyond Vulkan 1.0: subgroups and allocation size (1.1), driver name (1.2 or VK_KHR_driver_properties). */
static void read_properties_11(vkattn__vk_facts *f, const device_extensions *ext)
{
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                                   .pNext = &m3};
    bool has_driver = f->api_version >= VK_API_VERSION_1_2 || ext->driver_properties;
    if (has_driver)
        m3.pNext = &driver;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &subgroup};
    vkGetPhysicalDeviceProperties2(f->physical, &p2);
    vkattn_device_info *info = &f->info;
    info->subgroup_size = subgroup.subgroupSize;
    info->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    info->max_allocation_size = m3.maxMemoryAllocationSize;
    if (has_driver) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
    }
}

static void read_features_11(vkattn__vk_facts *f, const device_extensions *ext)
{
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures storage16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    f->ext_float16_int8 = f->api_version < VK_API_VERSION_1_2 && ext->float16_int8;
    if (f->api_version >= VK_API_VERSION_1_2 || ext->float16_int8)
        storage16.pNext = &f16;
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &storage16};
    vkGetPhysicalDeviceFeatures2(f->physical, &f2);
    f->info.fp16_storage = storage16.storageBuffer16BitAccess;
    f->info.fp16_arithmetic = f16.shaderFloat16;
}

/* unified_memory: every DEVICE_LOCAL type is also HOST_VISIBLE (and there is one); device_local_bytes: the largest
 * DEVICE_LOCAL heap. */
static void read_memory(vkattn__vk_facts *f)
{
    vkGetPhysicalDeviceMemoryProperties(f->physical, &f->memory);
    const VkPhysicalDeviceMemoryProperties *m = &f->memory;
    bool any_local = false, all_visible = true;
    for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
        VkMemoryPropertyFlags flags = m->memoryTypes[i].propertyFlags;
        if (!(flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            continue;
        any_local = true;
        all_visible &= (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
    }
    f->info.unified_memory = any_local && all_visible;
    for (uint32_t i = 0; i < m->memoryHeapCount; i++) {
        const VkMemoryHeap *heap = &m->memoryHeaps[i];
        if ((heap->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && heap->size > f->info.device_local_bytes)
            f->info.device_local_bytes = heap->size;
    }
}

void vkattn__vk_info_from_limits(vkattn__vk_facts *f)
{
    const VkPhysicalDeviceLimits *l = &f->limits;
    vkattn_device_info *info = &f->info;
    info->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        info->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
        info->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
    }
    info->max_shared_memory = l->maxComputeSharedMemorySize;
    info->max_storage_buffer_range = l->maxStorageBufferRange;
    info->min_storage_buffer_offset_alignment = l->minStorageBufferOffsetAlignment;
    info->max_allocation_count = l->maxMemoryAllocationCount;
    info->timestamps = f->has_queue && f->timestamp_valid_bits > 0 && l->timestampPeriod > 0.0f;
    info->timestamp_period_ns = l->timestampPeriod;
}

static vkattn_result read_facts(vkattn_context *ctx, const char *func, const vkattn__vk_instance *inst,
                                VkPhysicalDevice pd, uint32_t index, vkattn__vk_facts *f)
{
    memset(f, 0, sizeof *f);
    f->physical = pd;
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    f->limits = props.limits;
    f->api_version = props.apiVersion < inst->api_version ? props.apiVersion : inst->api_version;
    vkattn_device_info *info = &f->info;
    info->backend = VKATTN_BACKEND_VULKAN;
    info->profile = VKATTN_PROFILE_DEVICE;
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    info->type = device_type(props.deviceType);
    info->vendor_id = props.vendorID;
    info->device_id = props.deviceID;
    vendor_name(props.vendorID, info->vendor, sizeof info->vendor);
    info->driver_version = props.driverVersion;
    info->api_version = props.apiVersion;
    memcpy(info->pipeline_cache_uuid, props.pipelineCacheUUID, sizeof info->pipeline_cache_uuid);
    device_extensions ext;
    vkattn_result r = read_extensions(ctx, func, pd, &ext);
    if (r == VKATTN_OK)
        r = read_queue(ctx, func, f);
    if (r != VKATTN_OK)
        return r;
    info->cooperative_matrix_nv = ext.cooperative_matrix_nv;
    f->ext_portability_subset = ext.portability_subset;
    /* A 1.0 device is listed, but its 1.1 structures must not be queried (and it is never chosen). */
    if (f->api_version >= VK_API_VERSION_1_1) {
        read_properties_11(f, &ext);
        read_features_11(f, &ext);
    }
    read_memory(f);
    vkattn__vk_info_from_limits(f);
    return VKATTN_OK;
}

vkattn_result vkattn__vk_facts_all(vkattn_context *ctx, const char *func, const vkattn__vk_instance *inst,
                                   vkattn__vk_facts **out, uint32_t *count)
{
    *out = NULL;
    *count = 0;
    uint32_t n = 0;
    VkResult res = vkEnumeratePhysicalDevices(inst->handle, &n, NULL);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkEnumeratePhysicalDevices", res);
    if (n == 0)
        return VKATTN_OK;
    VkPhysicalDevice *pds = calloc(n, sizeof *pds);
    vkattn__vk_facts *facts = calloc(n, sizeof *facts);
    vkattn_result r = VKATTN_OK;
    if (!pds || !facts)
        r = vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    if (r == VKATTN_OK) {
        res = vkEnumeratePhysicalDevices(inst->handle, &n, pds);
        if (res < 0)
            r = vkattn__vk_fail(ctx, func, "vkEnumeratePhysicalDevices", res);
    }
    for (uint32_t i = 0; r == VKATTN_OK && i < n; i++)
        r = read_facts(ctx, func, inst, pds[i], i, &facts[i]);
    free(pds);
    if (r != VKATTN_OK) {
        free(facts);
        return r;
    }
    *out = facts;
    *count = n;
    return VKATTN_OK;
}

/* ---- choice --------------------------------------------------------------------------------------------------- */

static int type_rank(vkattn_device_type t)
{
    switch (t) {
    case VKATTN_DEVICE_DISCRETE: return 0;
    case VKATTN_DEVICE_INTEGRATED: return 1;
    case VKATTN_DEVICE_VIRTUAL: return 2;
    case VKATTN_DEVICE_CPU: return 3;
    case VKATTN_DEVICE_OTHER: break;
    }
    return 4;
}

static bool usable(const vkattn__vk_facts *f)
{
    return f->api_version >= VK_API_VERSION_1_1 && f->has_queue;
}

/* Case-insensitive substring search (strcasestr is a GNU extension). */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool parse_index(const char *s, uint32_t *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return false;
    *out = (uint32_t)strtoul(s, NULL, 10);
    return true;
}

/* "0: name, 1: name" (truncated to the buffer). */
static const char *device_list(const vkattn__vk_facts *all, uint32_t count, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < count && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%u: %s", i ? ", " : "", i, all[i].info.name);
        used += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

static vkattn_result no_device(vkattn_context *ctx, const char *func, const vkattn__vk_facts *all, uint32_t count,
                               const char *why)
{
    char list[768];
    return vkattn__error(ctx, VKATTN_ERROR_NO_DEVICE, "%s: %s (devices: %s)", func, why,
                         device_list(all, count, list, sizeof list));
}

static const vkattn__vk_facts *default_device(const vkattn__vk_facts *all, uint32_t count)
{
    const vkattn__vk_facts *best = NULL;
    for (uint32_t i = 0; i < count; i++)
        if (usable(&all[i]) && (!best || type_rank(all[i].info.type) < type_rank(best->info.type)))
            best = &all[i];
    return best;
}

static const vkattn__vk_facts *select_device(const vkattn__vk_facts *all, uint32_t count, const char *selector)
{
    uint32_t index;
    if (parse_index(selector, &index))
        return index < count ? &all[index] : NULL;
    for (uint32_t i = 0; i < count; i++)
        if (contains_nocase(all[i].info.name, selector))
            return &all[i];
    return NULL;
}

vkattn_result vkattn__vk_choose(vkattn_context *ctx, const char *func, const vkattn__vk_facts *all, uint32_t count,
                                const char *selector, const vkattn__vk_facts **out)
{
    *out = NULL;
    if (count == 0)
        return vkattn__error(ctx, VKATTN_ERROR_NO_DEVICE, "%s: the Vulkan loader lists no device", func);
    char why[384];
    const vkattn__vk_facts *f = selector ? select_device(all, count, selector) : default_device(all, count);
    if (!f && selector) {
        snprintf(why, sizeof why, "no Vulkan device matches \"%s\" (an index or part of a name)", selector);
        return no_device(ctx, func, all, count, why);
    }
    if (!f)
        return no_device(ctx, func, all, count, "no Vulkan device supports Vulkan 1.1 with a compute queue");
    if (f->api_version < VK_API_VERSION_1_1) {
        snprintf(why, sizeof why, "device %u (%s) supports Vulkan %u.%u only; vkattn needs 1.1", f->info.index,
                 f->info.name, VK_API_VERSION_MAJOR(f->info.api_version), VK_API_VERSION_MINOR(f->info.api_version));
        return no_device(ctx, func, all, count, why);
    }
    if (!f->has_queue) {
        snprintf(why, sizeof why, "device %u (%s) has no compute queue", f->info.index, f->info.name);
        return no_device(ctx, func, all, count, why);
    }
    *out = f;
    return VKATTN_OK;
}

/* ---- vkattn_enumerate_devices --------------------------------------------------------------------------------- */

vkattn_result vkattn__vulkan_enumerate(vkattn_device_info *out, uint32_t capacity, uint32_t *count)
{
    static const char func[] = "vkattn_enumerate_devices";
    *count = 0;
    vkattn_result r = vkattn__vk_load(NULL, func);
    if (r != VKATTN_OK)
        return r;
    vkattn__vk_facts *all = NULL;
    uint32_t n = 0;
    vkattn__vk_instance inst;
    vkattn__vk_instance_lock();
    r = vkattn__vk_instance_create(NULL, func, false, &inst);
    if (r == VKATTN_OK) {
        r = vkattn__vk_facts_all(NULL, func, &inst, &all, &n);
        vkattn__vk_instance_destroy(&inst);
    } else if (r == VKATTN_ERROR_NO_DEVICE) { /* a loader without any driver (or only a 1.0 one): no device */
        vkattn__clear_error(NULL);
        r = VKATTN_OK;
    }
    vkattn__vk_instance_unlock();
    for (uint32_t i = 0; r == VKATTN_OK && i < n && i < capacity; i++)
        out[i] = all[i].info;
    free(all);
    if (r == VKATTN_OK)
        *count = n;
    return r;
}
