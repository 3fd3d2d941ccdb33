/*
 * vk_result.c - VkResult names and their vkattn_result codes, from one table; Vulkan failure messages; the lost
 * state of a context (after VK_ERROR_DEVICE_LOST nothing but destruction is meaningful, so every call fails).
 */
#include "vulkan/vk_internal.h"

/* X(VkResult, vkattn_result without the VKATTN_ prefix) */
#define VK_RESULT_TABLE(X)                                        \
    X(VK_SUCCESS, OK)                                             \
    X(VK_NOT_READY, ERROR_NOT_READY)                              \
    X(VK_TIMEOUT, ERROR_TIMEOUT)                                  \
    X(VK_EVENT_SET, ERROR_VULKAN)                                 \
    X(VK_EVENT_RESET, ERROR_VULKAN)                               \
    X(VK_INCOMPLETE, ERROR_VULKAN)                                \
    X(VK_ERROR_OUT_OF_HOST_MEMORY, ERROR_OUT_OF_HOST_MEMORY)      \
    X(VK_ERROR_OUT_OF_DEVICE_MEMORY, ERROR_OUT_OF_DEVICE_MEMORY)  \
    X(VK_ERROR_INITIALIZATION_FAILED, ERROR_VULKAN)               \
    X(VK_ERROR_DEVICE_LOST, ERROR_DEVICE_LOST)                    \
    X(VK_ERROR_MEMORY_MAP_FAILED, ERROR_VULKAN)                   \
    X(VK_ERROR_LAYER_NOT_PRESENT, ERROR_UNSUPPORTED)              \
    X(VK_ERROR_EXTENSION_NOT_PRESENT, ERROR_UNSUPPORTED)          \
    X(VK_ERROR_FEATURE_NOT_PRESENT, ERROR_UNSUPPORTED)            \
    X(VK_ERROR_INCOMPATIBLE_DRIVER, ERROR_NO_DEVICE)              \
    X(VK_ERROR_TOO_MANY_OBJECTS, ERROR_OUT_OF_DEVICE_MEMORY)      \
    X(VK_ERROR_FORMAT_NOT_SUPPORTED, ERROR_UNSUPPORTED)           \
    X(VK_ERROR_FRAGMENTED_POOL, ERROR_OUT_OF_DEVICE_MEMORY)       \
    X(VK_ERROR_UNKNOWN, ERROR_VULKAN)                             \
    X(VK_ERROR_OUT_OF_POOL_MEMORY, ERROR_OUT_OF_DEVICE_MEMORY)    \
    X(VK_ERROR_INVALID_EXTERNAL_HANDLE, ERROR_VULKAN)             \
    X(VK_ERROR_FRAGMENTATION, ERROR_OUT_OF_DEVICE_MEMORY)         \
    X(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS, ERROR_VULKAN)      \
    X(VK_PIPELINE_COMPILE_REQUIRED, ERROR_VULKAN)

const char *vkattn__vk_result_name(VkResult res)
{
    switch (res) {
#define NAME_CASE(vk, code) \
    case vk: return #vk;
        VK_RESULT_TABLE(NAME_CASE)
#undef NAME_CASE
    default: return "unknown VkResult";
    }
}

vkattn_result vkattn__vk_result_code(VkResult res)
{
    switch (res) {
#define CODE_CASE(vk, code) \
    case vk: return VKATTN_##code;
        VK_RESULT_TABLE(CODE_CASE)
#undef CODE_CASE
    default: return VKATTN_ERROR_VULKAN;
    }
}

vkattn_result vkattn__vk_fail(vkattn_context *ctx, const char *func, const char *call, VkResult res)
{
    vkattn__vk_context *vk = ctx ? vkattn__vk(ctx) : NULL;
    if (vk && res == VK_ERROR_DEVICE_LOST)
        vk->lost = true;
    return vkattn__error(ctx, vkattn__vk_result_code(res), "%s: %s failed: %s (%d)", func, call,
                         vkattn__vk_result_name(res), (int)res);
}

vkattn_result vkattn__vk_check_lost(vkattn_context *ctx, const char *func)
{
    if (!vkattn__vk(ctx)->lost)
        return VKATTN_OK;
    return vkattn__error(ctx, VKATTN_ERROR_DEVICE_LOST,
                         "%s: the Vulkan device (%s) was lost earlier; destroy the context and create a new one", func,
                         ctx->info.name);
}
