/*
 * vk_pipeline_cache.c - the VkPipelineCache on disk, so a second run skips shader compilation.
 *
 * File: <cache_dir>/pipelines-<vendor_id %04x>-<device_id %04x>.bin, all integers little-endian:
 *   char magic[8] = "VKATTNPC"; uint32 format version (1); uint32 vendor_id; uint32 device_id;
 *   uint8 pipeline_cache_uuid[16]; uint64 data size; uint64 FNV-1a 64 hash of the data; the vkGetPipelineCacheData
 *   bytes.
 * The data starts with VkPipelineCacheHeaderVersionOne (Vulkan spec: 32 bytes, little-endian whatever the host),
 * checked too, since a driver handed foreign or damaged data may crash rather than refuse it.
 *
 * A missing file means an empty cache; a bad one is logged at INFO and ignored (stats.pipeline_cache_rejected).
 * Saving writes a temporary file in the same directory and renames it, so readers never see half a file.
 */
#include "vulkan/vk_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "VKATTNPC"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 52u      /* 8 + 4 + 4 + 4 + 16 + 8 + 8 */
#define VK_HEADER_BYTES 32u   /* VkPipelineCacheHeaderVersionOne */
#define MAX_FILE_BYTES ((long)1 << 30)

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* ---- where ---------------------------------------------------------------------------------------------------- */

/* ctx->cache_dir, else $XDG_CACHE_HOME/vkattn, else $HOME/.cache/vkattn; NULL when none resolves (or no memory). */
static char *cache_file_path(const vkattn_context *ctx)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *base = ctx->cache_dir, *sub = "";
    if (!base && xdg && xdg[0]) {
        base = xdg;
        sub = "/vkattn";
    } else if (!base && home && home[0]) {
        base = home;
        sub = "/.cache/vkattn";
    }
    if (!base)
        return NULL;
    size_t len = strlen(base) + strlen(sub) + 64;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s%s/pipelines-%04x-%04x.bin", base, sub, ctx->info.vendor_id, ctx->info.device_id);
    return path;
}

/* mkdir -p of the directory part of `path`. */
static bool make_parent_dirs(const char *path)
{
    char *dir = malloc(strlen(path) + 1);
    if (!dir)
        return false;
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    bool ok = true;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; ok && *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            ok = mkdir(dir, 0700) == 0 || errno == EEXIST;
            *p = '/';
        }
        ok = ok && (mkdir(dir, 0700) == 0 || errno == EEXIST);
    }
    free(dir);
    return ok;
}

/* ---- load ----------------------------------------------------------------------------------------------------- */

/* The whole file, or NULL with errno set (ENOENT or ENOTDIR: there is none; EFBIG: implausibly large). */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len > MAX_FILE_BYTES)
        errno = EFBIG;
    else if (len >= 0 && fseek(f, 0, SEEK_SET) == 0)
        data = malloc(len ? (size_t)len : 1);
    if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
        free(data);
        data = NULL;
        errno = EIO;
    }
    fclose(f);
    *size = data ? (size_t)len : 0;
    return data;
}

/* Why the Vulkan header at the start of the data does not belong to this device, or NULL. */
static const char *check_vk_header(const vkattn_device_info *info, const unsigned char *data, uint64_t size)
{
    if (size < VK_HEADER_BYTES)
        return "the Vulkan data is shorter than its header";
    uint32_t header_size = get_u32(data);
    if (header_size < VK_HEADER_BYTES || header_size > size)
        return "the Vulkan header has a bad length";
    if (get_u32(data + 4) != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
        return "the Vulkan header version is not 1";
    if (get_u32(data + 8) != info->vendor_id || get_u32(data + 12) != info->device_id)
        return "the Vulkan header names another device";
    if (memcmp(data + 16, info->pipeline_cache_uuid, 16) != 0)
        return "the Vulkan header has another pipeline-cache UUID (other driver version)";
    return NULL;
}

/* Why the file cannot be used on this device, or NULL. */
static const char *check_file(const vkattn_device_info *info, const unsigned char *file, size_t size)
{
    if (size < HEADER_BYTES)
        return "shorter than its header";
    if (memcmp(file, MAGIC, 8) != 0)
        return "not a vkattn pipeline cache (bad magic)";
    if (get_u32(file + 8) != FORMAT_VERSION)
        return "another format version";
    if (get_u32(file + 12) != info->vendor_id || get_u32(file + 16) != info->device_id)
        return "made for another device";
    if (memcmp(file + 20, info->pipeline_cache_uuid, 16) != 0)
        return "made with another pipeline-cache UUID (other driver version)";
    uint64_t data_size = get_u64(file + 36);
    if (data_size != size - HEADER_BYTES)
        return "its size field does not match the file size (truncated?)";
    if (get_u64(file + 44) != vkattn__fnv1a64(VKATTN__FNV_BASIS, file + HEADER_BYTES, (size_t)data_size))
        return "its hash does not match its data (corrupt)";
    return check_vk_header(info, file + HEADER_BYTES, data_size);
}

/* The file's Vulkan data if it is usable (*file to be freed), else NULL with the reason logged. */
static const unsigned char *load(vkattn_context *ctx, const char *func, const char *path, unsigned char **file,
                                 size_t *size)
{
    size_t file_size = 0;
    *file = read_file(path, &file_size);
    *size = 0;
    if (!*file && (errno == ENOENT || errno == ENOTDIR)) {
        vkattn__log(ctx, VKATTN_LOG_DEBUG, "%s: pipeline cache %s is not there yet", func, path);
        return NULL;
    }
    const char *why = *file ? check_file(&ctx->info, *file, file_size) : strerror(errno);
    if (why) {
        vkattn__log(ctx, VKATTN_LOG_INFO, "%s: pipeline cache %s ignored (%s); starting with an empty cache", func,
                    path, why);
        ctx->stats.pipeline_cache_rejected = true;
        return NULL;
    }
    *size = file_size - HEADER_BYTES;
    return *file + HEADER_BYTES;
}

static VkResult create_cache(vkattn__vk_context *vk, const void *data, size_t size)
{
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    return vk->fn.vkCreatePipelineCache(vk->device, &info, NULL, &vk->pipeline_cache);
}

vkattn_result vkattn__vk_pipeline_cache_init(vkattn_context *ctx, const char *func)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    unsigned char *file = NULL;
    const unsigned char *data = NULL;
    size_t size = 0;
    if (!(ctx->desc.flags & VKATTN_CONTEXT_NO_PIPELINE_CACHE)) {
        vk->pipeline_cache_path = cache_file_path(ctx);
        if (vk->pipeline_cache_path)
            data = load(ctx, func, vk->pipeline_cache_path, &file, &size);
        else
            vkattn__log(ctx, VKATTN_LOG_INFO, "%s: no pipeline cache on disk (no cache_dir, XDG_CACHE_HOME or HOME)",
                        func);
    }
    VkResult res = create_cache(vk, data, size);
    if (res != VK_SUCCESS && data) {
        vkattn__log(ctx, VKATTN_LOG_INFO, "%s: pipeline cache %s ignored (the driver refused it: %s)", func,
                    vk->pipeline_cache_path, vkattn__vk_result_name(res));
        ctx->stats.pipeline_cache_rejected = true;
        data = NULL;
        res = create_cache(vk, NULL, 0);
    }
    free(file);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, "vkCreatePipelineCache", res);
    ctx->stats.pipeline_cache_loaded = data != NULL;
    return VKATTN_OK;
}

/* ---- save ----------------------------------------------------------------------------------------------------- */

/* Header + data of the current cache (malloc'ed), or NULL. */
static unsigned char *serialise(const vkattn_context *ctx, size_t *size)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    size_t n = 0;
    if (vk->fn.vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &n, NULL) != VK_SUCCESS)
        return NULL;
    unsigned char *file = malloc(HEADER_BYTES + n);
    VkResult res = file ? vk->fn.vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &n, file + HEADER_BYTES)
                        : VK_ERROR_OUT_OF_HOST_MEMORY;
    if (res != VK_SUCCESS) {
        free(file);
        return NULL;
    }
    memcpy(file, MAGIC, 8);
    put_u32(file + 8, FORMAT_VERSION);
    put_u32(file + 12, ctx->info.vendor_id);
    put_u32(file + 16, ctx->info.device_id);
    memcpy(file + 20, ctx->info.pipeline_cache_uuid, 16);
    put_u64(file + 36, n);
    put_u64(file + 44, vkattn__fnv1a64(VKATTN__FNV_BASIS, file + HEADER_BYTES, n));
    *size = HEADER_BYTES + n;
    return file;
}

/* Writes `file` to `path` through a temporary file and rename(); the reason of a failure, or NULL. */
static const char *write_atomically(const char *path, const unsigned char *file, size_t size)
{
    if (!make_parent_dirs(path))
        return strerror(errno);
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp)
        return "out of host memory";
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    errno = 0;
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(file, 1, size, f) == size;
    if (f)
        ok = fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    const char *why = ok ? NULL : strerror(errno ? errno : EIO);
    if (!ok)
        remove(tmp);
    free(tmp);
    return why;
}

static void save(vkattn_context *ctx)
{
    const char *path = vkattn__vk(ctx)->pipeline_cache_path;
    size_t size = 0;
    unsigned char *file = serialise(ctx, &size);
    const char *why = file ? write_atomically(path, file, size) : "vkGetPipelineCacheData failed";
    if (why)
        vkattn__log(ctx, VKATTN_LOG_WARN, "vkattn_context_destroy: pipeline cache %s not saved: %s", path, why);
    free(file);
}

void vkattn__vk_pipeline_cache_destroy(vkattn_context *ctx)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    if (vk->pipeline_cache && vk->pipeline_cache_path && ctx->stats.pipelines_created > 0)
        save(ctx);
    if (vk->pipeline_cache)
        vk->fn.vkDestroyPipelineCache(vk->device, vk->pipeline_cache, NULL);
    vk->pipeline_cache = VK_NULL_HANDLE;
    free(vk->pipeline_cache_path);
    vk->pipeline_cache_path = NULL;
}
