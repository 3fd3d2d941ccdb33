/*
 * vk_instance.c - the Vulkan loader (volk, loaded once per process), the instance, and the validation layer (with
 * synchronization validation where the layer offers it) whose messages go to the context's log.
 *
 * volkLoadInstanceOnly writes process-wide function pointers, so every load and every call of an instance-level
 * function happens under one mutex. The loader hands out the same trampolines for every instance, so pointers
 * loaded for one instance stay right for the others.
 */
#include "vulkan/vk_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static VkResult load_result = VK_ERROR_INITIALIZATION_FAILED;
static pthread_mutex_t instance_mutex = PTHREAD_MUTEX_INITIALIZER;

static void load(void)
{
    load_result = volkInitialize();
}

vkattn_result vkattn__vk_load(vkattn_context *ctx, const char *func)
{
    pthread_once(&load_once, load);
    if (load_result != VK_SUCCESS)
        return vkattn__error(ctx, VKATTN_ERROR_NO_VULKAN,
                             "%s: the Vulkan loader library (libvulkan.so.1, libvulkan.dylib or vulkan-1.dll) could "
                             "not be loaded; install a Vulkan driver, or use the CPU backend",
                             func);
    return VKATTN_OK;
}

void vkattn__vk_instance_lock(void)
{
    pthread_mutex_lock(&instance_mutex);
}

void vkattn__vk_instance_unlock(void)
{
    pthread_mutex_unlock(&instance_mutex);
}

/* Whether the loader (layer NULL) or the layer offers an instance extension. */
static vkattn_result has_extension(vkattn_context *ctx, const char *func, const char *layer, const char *name,
                                   bool *out)
{
    *out = false;
    uint32_t n = 0;
    VkResult res = vkEnumerateInstanceExtensionProperties(layer, &n, NULL);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkEnumerateInstanceExtensionProperties", res);
    VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
    if (!props)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    res = vkEnumerateInstanceExtensionProperties(layer, &n, props);
    for (uint32_t i = 0; res >= 0 && i < n && !*out; i++)
        *out = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return res < 0 ? vkattn__vk_fail(ctx, func, "vkEnumerateInstanceExtensionProperties", res) : VKATTN_OK;
}

static vkattn_result has_validation_layer(vkattn_context *ctx, const char *func, bool *out)
{
    *out = false;
    uint32_t n = 0;
    VkResult res = vkEnumerateInstanceLayerProperties(&n, NULL);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkEnumerateInstanceLayerProperties", res);
    VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
    if (!props)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    res = vkEnumerateInstanceLayerProperties(&n, props);
    for (uint32_t i = 0; res >= 0 && i < n && !*out; i++)
        *out = strcmp(props[i].layerName, VALIDATION_LAYER) == 0;
    free(props);
    return res < 0 ? vkattn__vk_fail(ctx, func, "vkEnumerateInstanceLayerProperties", res) : VKATTN_OK;
}

/* Validation-layer (and loader) messages: WARN and ERROR are counted and logged with the prefix "validation: ";
 * INFO and VERBOSE are routine (layer and driver loading) and only logged at DEBUG, under another prefix. */
static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    vkattn_context *ctx = user;
    vkattn_log_level level = VKATTN_LOG_DEBUG;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)
        level = VKATTN_LOG_ERROR;
    else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
        level = VKATTN_LOG_WARN;
    if (level != VKATTN_LOG_DEBUG)
        ctx->stats.validation_messages++;
    vkattn__log(ctx, level, "%s: %s", level == VKATTN_LOG_DEBUG ? "vulkan info" : "validation",
                data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(vkattn_context *ctx)
{
    VkDebugUtilsMessageSeverityFlagsEXT severity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    /* The chatty severities cost a callback per object creation: only ask for them when someone listens. */
    if (ctx->desc.log_level >= VKATTN_LOG_DEBUG)
        severity |= VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT;
    return (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = severity,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = ctx,
    };
}

/* The layer must be installed, and debug utils offered by the loader or the layer, so no message goes to stdout.
 * *sync tells whether the layer offers VK_EXT_validation_features, through which synchronization validation (missing
 * or too weak barriers between dispatches and copies, found by tracking every access) is turned on; the layer leaves
 * it off by default because it slows every command. A layer without the extension still validates the API usage. */
static vkattn_result check_validation(vkattn_context *ctx, const char *func, bool *sync)
{
    bool layer = false, utils = false;
    *sync = false;
    vkattn_result r = has_validation_layer(ctx, func, &layer);
    if (r != VKATTN_OK)
        return r;
    if (!layer)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: validation requested but the validation layer is not installed (" VALIDATION_LAYER
                             "; Debian/Ubuntu package vulkan-validationlayers)",
                             func);
    r = has_extension(ctx, func, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME, &utils);
    if (r == VKATTN_OK && !utils)
        r = has_extension(ctx, func, VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME, &utils);
    if (r == VKATTN_OK && !utils)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: validation requested but " VK_EXT_DEBUG_UTILS_EXTENSION_NAME
                             " is not available to route its messages",
                             func);
    if (r == VKATTN_OK)
        r = has_extension(ctx, func, VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME, sync);
    if (r == VKATTN_OK && !*sync)
        vkattn__log(ctx, VKATTN_LOG_INFO,
                    "%s: the validation layer lacks " VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME
                    "; synchronization validation is off",
                    func);
    return r;
}

uint32_t vkattn__vk_instance_extension_list(bool portability, bool validation, bool sync, const char **out,
                                            VkInstanceCreateFlags *flags)
{
    uint32_t n = 0;
    *flags = 0;
    if (portability) { /* MoltenVK devices are listed only to instances that ask for portability devices */
        out[n++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        *flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    if (validation)
        out[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (validation && sync)
        out[n++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    return n;
}

static vkattn_result create_instance(vkattn_context *ctx, const char *func, bool validation,
                                     vkattn__vk_instance *out)
{
    bool portability = false, sync = false;
    vkattn_result r = has_extension(ctx, func, NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME, &portability);
    if (r == VKATTN_OK && validation)
        r = check_validation(ctx, func, &sync);
    if (r != VKATTN_OK)
        return r;
    const char *extensions[3];
    VkInstanceCreateFlags flags = 0;
    uint32_t n_extensions = vkattn__vk_instance_extension_list(portability, validation, sync, extensions, &flags);
    const char *layers[] = {VALIDATION_LAYER};
    VkDebugUtilsMessengerCreateInfoEXT messenger = {0};
    if (validation)
        messenger = messenger_info(ctx);
    /* Chained in front of the messenger, whose own pNext stays NULL as vkCreateDebugUtilsMessengerEXT needs it. */
    const VkValidationFeatureEnableEXT sync_feature = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = &messenger,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync_feature,
    };
    const void *chain = NULL;
    if (validation)
        chain = sync ? (const void *)&features : (const void *)&messenger;
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkattn",
        .pEngineName = "vkattn",
        .engineVersion = VKATTN_VERSION,
        .apiVersion = out->api_version,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = chain, /* the messenger also reports on vkCreateInstance and vkDestroyInstance */
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1u : 0u,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_extensions,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult res = vkCreateInstance(&info, NULL, &out->handle);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreateInstance", res);
    volkLoadInstanceOnly(out->handle);
    if (!validation)
        return VKATTN_OK;
    res = vkCreateDebugUtilsMessengerEXT(out->handle, &messenger, NULL, &out->messenger);
    return res != VK_SUCCESS ? vkattn__vk_fail(ctx, func, "vkCreateDebugUtilsMessengerEXT", res) : VKATTN_OK;
}

vkattn_result vkattn__vk_instance_create(vkattn_context *ctx, const char *func, bool validation,
                                         vkattn__vk_instance *out)
{
    memset(out, 0, sizeof *out);
    uint32_t loader = volkGetInstanceVersion();
    if (loader < VK_API_VERSION_1_1)
        return vkattn__error(ctx, VKATTN_ERROR_NO_DEVICE,
                             "%s: the Vulkan loader supports Vulkan %u.%u only; vkattn needs Vulkan 1.1", func,
                             VK_API_VERSION_MAJOR(loader), VK_API_VERSION_MINOR(loader));
    /* Ask for the newest version we know, so 1.2 and 1.3 devices can be used as such (the effective version of a
     * device is the smaller of this and its own). */
    out->api_version = loader < VK_API_VERSION_1_3 ? loader : VK_API_VERSION_1_3;
    vkattn_result r = create_instance(ctx, func, validation, out);
    if (r != VKATTN_OK)
        vkattn__vk_instance_destroy(out);
    return r;
}

void vkattn__vk_instance_destroy(vkattn__vk_instance *inst)
{
    if (inst->messenger)
        vkDestroyDebugUtilsMessengerEXT(inst->handle, inst->messenger, NULL);
    if (inst->handle)
        vkDestroyInstance(inst->handle, NULL);
    memset(inst, 0, sizeof *inst);
}
