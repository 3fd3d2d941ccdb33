/*
 * context.c - context lifecycle (desc defaults, backend choice, teardown), device queries and counters.
 */
#include "core/core_private.h"

#include <stdlib.h>
#include <string.h>

#define KNOWN_CONTEXT_FLAGS                                                                               \
    ((uint32_t)(VKATTN_CONTEXT_VALIDATION | VKATTN_CONTEXT_NO_PIPELINE_CACHE | VKATTN_CONTEXT_FORCE_STAGING | \
                VKATTN_CONTEXT_IGNORE_ENV | VKATTN_CONTEXT_BASELINE_KERNELS))

static vkattn_result check_desc(vkattn_context *ctx, const vkattn_context_desc *d)
{
    static const char func[] = "vkattn_context_create";
    if (d->backend != VKATTN_BACKEND_AUTO && d->backend != VKATTN_BACKEND_VULKAN && d->backend != VKATTN_BACKEND_CPU)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->backend is %d, not a vkattn_backend",
                             func, (int)d->backend);
    if (d->flags & ~KNOWN_CONTEXT_FLAGS)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->flags has unknown bits 0x%x", func,
                             d->flags & ~KNOWN_CONTEXT_FLAGS);
    if ((unsigned)d->profile > (unsigned)VKATTN_PROFILE_PHONE)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->profile is %d, not a vkattn_profile",
                             func, (int)d->profile);
    if ((unsigned)d->log_level > (unsigned)VKATTN_LOG_DEBUG)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->log_level is %d (must be 0 to %d)", func,
                             (int)d->log_level, (int)VKATTN_LOG_DEBUG);
    return VKATTN_OK;
}

/* VKATTN_PROFILE_DEFAULT -> the environment's VKATTN_PROFILE, else VKATTN_PROFILE_DEVICE. */
static vkattn_result resolve_profile(vkattn_context *ctx)
{
    if (ctx->desc.profile != VKATTN_PROFILE_DEFAULT)
        return VKATTN_OK;
    const char *env = vkattn__env(&ctx->desc, "VKATTN_PROFILE");
    if (!env || strcmp(env, "device") == 0) {
        ctx->desc.profile = VKATTN_PROFILE_DEVICE;
    } else if (strcmp(env, "phone") == 0) {
        ctx->desc.profile = VKATTN_PROFILE_PHONE;
    } else {
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "vkattn_context_create: the environment variable VKATTN_PROFILE is \"%s\"; it must be "
                             "\"device\" or \"phone\"",
                             env);
    }
    return VKATTN_OK;
}

/* ctx->desc = the caller's desc with defaults applied and string fields NULL (cache_dir is copied to ctx). */
static vkattn_result setup_desc(vkattn_context *ctx, const vkattn_context_desc *desc)
{
    if (desc)
        ctx->desc = *desc;
    if (ctx->desc.log_level == VKATTN_LOG_DEFAULT)
        ctx->desc.log_level = VKATTN_LOG_WARN;
    if (ctx->desc.timeout_ms == 0)
        ctx->desc.timeout_ms = VKATTN__DEFAULT_TIMEOUT_MS;
    ctx->desc.device = NULL;
    ctx->desc.cache_dir = NULL;
    vkattn_result r = check_desc(ctx, &ctx->desc);
    if (r == VKATTN_OK)
        r = resolve_profile(ctx);
    if (r != VKATTN_OK || !desc || !desc->cache_dir)
        return r;
    ctx->cache_dir = strdup(desc->cache_dir);
    if (!ctx->cache_dir)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_context_create: out of host memory");
    return VKATTN_OK;
}

/* While AUTO tries Vulkan, the error that may turn into a fallback must not reach the caller's logger as an ERROR
 * (init_auto logs it once afterwards: INFO on fallback, ERROR otherwise). This filter drops exactly the text
 * vkattn__error logs, which is the new last error, and passes everything else on. It is installed only for the
 * duration of vkattn__vulkan_init, so backends must log through vkattn__log(ctx, ...), never a saved desc.log. */
typedef struct quiet_log {
    vkattn_context *ctx;
    vkattn_log_fn log;
    void *user;
} quiet_log;

static void quiet_log_fn(void *user, vkattn_log_level level, const char *msg)
{
    const quiet_log *q = user;
    if (level != VKATTN_LOG_ERROR || strcmp(msg, q->ctx->last_error) != 0)
        q->log(q->user, level, msg);
}

static vkattn_result try_vulkan_quietly(vkattn_context *ctx, const char *device, bool validation)
{
    quiet_log q = {ctx, ctx->desc.log, ctx->desc.log_user};
    if (q.log) {
        ctx->desc.log = quiet_log_fn;
        ctx->desc.log_user = &q;
    }
    vkattn_result r = vkattn__vulkan_init(ctx, device, validation);
    ctx->desc.log = q.log;
    ctx->desc.log_user = q.user;
    return r;
}

/* AUTO: Vulkan, else the CPU backend when there is no loader or no device. A device selector that matches nothing
 * is the caller's mistake, so it stays an error. */
static vkattn_result init_auto(vkattn_context *ctx, const char *device, bool validation)
{
    vkattn_result r = try_vulkan_quietly(ctx, device, validation);
    if (r == VKATTN_OK)
        return r;
    bool fallback = r == VKATTN_ERROR_NO_VULKAN || (r == VKATTN_ERROR_NO_DEVICE && !device);
    if (!fallback) {
        vkattn__log(ctx, VKATTN_LOG_ERROR, "%s", ctx->last_error);
        return r;
    }
    vkattn__log(ctx, VKATTN_LOG_INFO, "vkattn_context_create: using the CPU backend (%s)", ctx->last_error);
    vkattn__clear_error(ctx);
    ctx->backend = NULL;
    ctx->impl = NULL;
    memset(&ctx->info, 0, sizeof ctx->info);
    memset(&ctx->stats, 0, sizeof ctx->stats);
    return vkattn__cpu_init(ctx);
}

static vkattn_result init_backend(vkattn_context *ctx, const vkattn_context_desc *desc)
{
    const char *device = (desc && desc->device) ? desc->device : vkattn__env(&ctx->desc, "VKATTN_DEVICE");
    const char *env_validation = vkattn__env(&ctx->desc, "VKATTN_VALIDATION");
    bool validation = (ctx->desc.flags & VKATTN_CONTEXT_VALIDATION) ||
                      (env_validation && strcmp(env_validation, "1") == 0);
    switch (ctx->desc.backend) {
    case VKATTN_BACKEND_VULKAN: return vkattn__vulkan_init(ctx, device, validation);
    case VKATTN_BACKEND_CPU: return vkattn__cpu_init(ctx);
    case VKATTN_BACKEND_AUTO: break;
    }
    return init_auto(ctx, device, validation);
}

vkattn_result vkattn_context_create(const vkattn_context_desc *desc, vkattn_context **out)
{
    if (!out)
        return vkattn__error(NULL, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_context_create: out is NULL");
    *out = NULL;
    vkattn_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return vkattn__error(NULL, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_context_create: out of host memory");
    vkattn_result r = setup_desc(ctx, desc);
    if (r == VKATTN_OK)
        r = init_backend(ctx, desc);
    if (r != VKATTN_OK) {
        vkattn__error(NULL, r, "%s", ctx->last_error); /* the message outlives ctx on this thread */
        free(ctx->cache_dir);
        free(ctx);
        return r;
    }
    *out = ctx;
    return VKATTN_OK;
}

void vkattn_context_destroy(vkattn_context *ctx)
{
    if (!ctx)
        return;
    ctx->backend->wait_idle(ctx, UINT64_MAX);
    while (ctx->cmds)
        vkattn_cmd_destroy(ctx->cmds);
    vkattn__tables_destroy(ctx);
    vkattn__pool_destroy(ctx);
    ctx->backend->destroy(ctx);
    free(ctx->cache_dir);
    free(ctx);
}

/* The last-error buffer is scratch, not part of what `const` promises about a context. */
static vkattn_result null_out(const vkattn_context *ctx, const char *func)
{
    return vkattn__error((vkattn_context *)(uintptr_t)ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", func);
}

vkattn_result vkattn_context_device_info(const vkattn_context *ctx, vkattn_device_info *out)
{
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!out)
        return null_out(ctx, "vkattn_context_device_info");
    *out = ctx->info;
    return VKATTN_OK;
}

vkattn_backend vkattn_context_backend(const vkattn_context *ctx)
{
    return ctx ? ctx->info.backend : VKATTN_BACKEND_AUTO;
}

vkattn_result vkattn_context_stats_get(const vkattn_context *ctx, vkattn_context_stats *out)
{
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!out)
        return null_out(ctx, "vkattn_context_stats_get");
    *out = ctx->stats;
    return VKATTN_OK;
}

vkattn_result vkattn_context_wait_idle(vkattn_context *ctx, uint64_t timeout_ns)
{
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn_result r = ctx->backend->wait_idle(ctx, timeout_ns);
    if (r == VKATTN_ERROR_TIMEOUT)
        return vkattn__error(ctx, r, "vkattn_context_wait_idle: submitted work did not finish within %llu ns",
                             (unsigned long long)timeout_ns);
    return r;
}

vkattn_result vkattn_enumerate_devices(vkattn_device_info *out, uint32_t capacity, uint32_t *count)
{
    static const char func[] = "vkattn_enumerate_devices";
    if (!count)
        return vkattn__error(NULL, VKATTN_ERROR_INVALID_ARGUMENT, "%s: count is NULL", func);
    *count = 0;
    if (!out && capacity > 0)
        return vkattn__error(NULL, VKATTN_ERROR_INVALID_ARGUMENT, "%s: out is NULL with capacity %u", func, capacity);
    return vkattn__vulkan_enumerate(out, capacity, count);
}
