/*
 * vk_internal.h - what the files of the Vulkan backend share.
 *
 *   vk_result.c          VkResult -> vkattn_result, error messages, the lost-device state
 *   vk_instance.c        loader (volk), instance, validation layer and its messages
 *   vk_device.c          device facts (vkattn_device_info), device choice, vkattn__vulkan_enumerate
 *   vk_context.c         vkattn__vulkan_init: device creation, the backend table, teardown
 *   vk_memory.c          memory blocks and sub-allocation (tensor buffers)
 *   vk_transfer.c        host <-> tensor copies: mapped (zero-copy) or through a staging buffer
 *   vk_pipeline.c        compute pipelines, created on first use
 *   vk_pipeline_cache.c  the on-disk VkPipelineCache file
 *   vk_cmd.c             command lists: recording, automatic barriers, dispatch splitting, fences, timestamps
 *   vk_ops.c             ops -> push constants and dispatches
 *
 * Instance-level functions are volk's globals, loaded and called only under vkattn__vk_instance_lock(); device-level
 * functions come from each context's own VolkDeviceTable, so contexts on different devices coexist.
 */
#ifndef VKATTN_VK_INTERNAL_H
#define VKATTN_VK_INTERNAL_H

#include "core/internal.h"

#include <volk.h>

#define VKATTN__VK_MAX_BINDINGS (VKATTN__OP_MAX_INPUTS + VKATTN__OP_MAX_OUTPUTS)
/* Specialization constants of one pipeline: id 0 is the workgroup size x, ids 1.. are the shader's own (tile
 * shapes, head_dim, code-path switches). */
#define VKATTN__VK_MAX_SPEC 12

/* ---- results (vk_result.c) ------------------------------------------------------------------------------------ */

const char *vkattn__vk_result_name(VkResult res);
vkattn_result vkattn__vk_result_code(VkResult res);
/* vkattn__error(ctx, <mapped code>, "<func>: <call> failed: VK_ERROR_... (<n>)"); VK_ERROR_DEVICE_LOST also marks
 * the context lost. */
vkattn_result vkattn__vk_fail(vkattn_context *ctx, const char *func, const char *call, VkResult res);
/* VKATTN_ERROR_DEVICE_LOST with a message once the context's device is lost, else VKATTN_OK. */
vkattn_result vkattn__vk_check_lost(vkattn_context *ctx, const char *func);

/* ---- instance (vk_instance.c) ----------------------------------------------------------------------------------- */

typedef struct vkattn__vk_instance {
    VkInstance handle;
    VkDebugUtilsMessengerEXT messenger; /* only with validation */
    uint32_t api_version;               /* the apiVersion the instance was created with */
} vkattn__vk_instance;

/* Loads the Vulkan loader once per process; VKATTN_ERROR_NO_VULKAN when there is none. */
vkattn_result vkattn__vk_load(vkattn_context *ctx, const char *func);
/* Held around every call of an instance-level function (volk's globals are reloaded per instance). */
void vkattn__vk_instance_lock(void);
void vkattn__vk_instance_unlock(void);
/* Creates the instance (lock held). With `validation`, the Khronos layer's messages go to ctx's log. */
vkattn_result vkattn__vk_instance_create(vkattn_context *ctx, const char *func, bool validation,
                                         vkattn__vk_instance *out);
void vkattn__vk_instance_destroy(vkattn__vk_instance *inst); /* lock held; safe on a zeroed struct */

/* ---- devices (vk_device.c) -------------------------------------------------------------------------------------- */

/* Everything known about one physical device before a VkDevice exists. */
typedef struct vkattn__vk_facts {
    vkattn_device_info info;
    VkPhysicalDevice physical;
    VkPhysicalDeviceLimits limits;
    VkPhysicalDeviceMemoryProperties memory;
    uint32_t api_version;          /* min(instance, device): the version the device may be used at */
    bool has_queue;                /* a queue family with COMPUTE exists */
    uint32_t queue_family;
    uint32_t timestamp_valid_bits; /* of queue_family */
    bool ext_float16_int8;         /* VK_KHR_shader_float16_int8 is needed for shaderFloat16 below API 1.2 */
    bool ext_portability_subset;   /* must be enabled when offered (MoltenVK) */
} vkattn__vk_facts;

/* VK_KHR_portability_subset is a beta extension: its name is not in the non-beta headers. MoltenVK offers it, and a
 * device that offers it must have it enabled. */
#define VKATTN__VK_PORTABILITY_SUBSET "VK_KHR_portability_subset"

/* The device extensions that change what is queried or enabled. */
typedef struct vkattn__vk_device_extensions {
    bool driver_properties;
    bool float16_int8;
    bool cooperative_matrix_nv;
    bool portability_subset;
} vkattn__vk_device_extensions;

/* Which of those a device's extension list offers (pure: unit-tested with made-up lists). */
void vkattn__vk_scan_device_extensions(const VkExtensionProperties *props, uint32_t n,
                                       vkattn__vk_device_extensions *out);
/* The extensions vkCreateDevice enables for a device (at most 2, written to out): VK_KHR_shader_float16_int8 when
 * fp16 arithmetic is used below API 1.2, VK_KHR_portability_subset when offered. */
uint32_t vkattn__vk_device_extension_list(const vkattn__vk_facts *f, const char **out);
/* The instance's extensions (at most 3, written to out) and create flags: VK_KHR_portability_enumeration with
 * VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR when the loader offers it (MoltenVK's devices are listed only then),
 * VK_EXT_debug_utils with validation, VK_EXT_validation_features when the layer offers it. */
uint32_t vkattn__vk_instance_extension_list(bool portability, bool validation, bool sync, const char **out,
                                            VkInstanceCreateFlags *flags);

/* f->info's limit fields and timestamp support from f->limits (again after a profile clamps the limits). */
void vkattn__vk_info_from_limits(vkattn__vk_facts *f);

/* Facts of every physical device of the instance (lock held); *out is malloc'ed (NULL when there are none). */
vkattn_result vkattn__vk_facts_all(vkattn_context *ctx, const char *func, const vkattn__vk_instance *inst,
                                   vkattn__vk_facts **out, uint32_t *count);
/* The device the selector names (NULL = the default order: discrete, integrated, virtual, CPU, other). */
vkattn_result vkattn__vk_choose(vkattn_context *ctx, const char *func, const vkattn__vk_facts *all, uint32_t count,
                                const char *selector, const vkattn__vk_facts **out);

/* ---- memory (vk_memory.c, vk_transfer.c) ------------------------------------------------------------------------ */

typedef struct vkattn__vk_span {
    VkDeviceSize offset;
    VkDeviceSize size;
} vkattn__vk_span;

/* One VkDeviceMemory with one VkBuffer over all of it, handed out in aligned pieces. */
typedef struct vkattn__vk_block {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    unsigned char *mapped;   /* persistent mapping on zero-copy devices, else NULL */
    bool dedicated;          /* made for one request larger than the block size */
    uint32_t allocs;         /* live pieces */
    vkattn__vk_span *free;   /* free ranges sorted by offset, never touching each other */
    uint32_t free_count;
    uint32_t free_cap;       /* kept >= allocs + 1, so freeing a piece never needs memory */
    struct vkattn__vk_block *prev, *next;
} vkattn__vk_block;

/* A tensor storage: bytes [offset, offset + size) of a block. */
typedef struct vkattn__vk_buffer {
    vkattn__vk_block *block;
    VkDeviceSize offset;
    VkDeviceSize size;
} vkattn__vk_buffer;

/* The host-visible buffer of staged transfers and the one-time command buffer that copies through it. */
typedef struct vkattn__vk_staging {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    unsigned char *mapped;
    bool coherent;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    bool pending; /* a transfer timed out: its fence must signal before the staging buffer is touched again */
} vkattn__vk_staging;

typedef struct vkattn__vk_memory {
    uint32_t type_bits;      /* memoryTypeBits of our buffers (the same for every buffer of one usage) */
    uint32_t type_index;     /* memory type of the blocks */
    bool zero_copy;          /* blocks are mapped: transfers are memcpy */
    bool coherent;           /* the block type is HOST_COHERENT */
    VkDeviceSize block_size;
    VkDeviceSize alignment;  /* of every piece: max(minStorageBufferOffsetAlignment, 16) */
    vkattn__vk_block *blocks;
    uint32_t empty_blocks;   /* standard blocks with no piece; at most one is kept as a spare */
    vkattn__vk_staging staging;
} vkattn__vk_memory;

/* Picks memory types and sizes (after device creation); no allocation yet. */
vkattn_result vkattn__vk_memory_init(vkattn_context *ctx, const char *func);
/* Frees every block and the staging resources. */
void vkattn__vk_memory_destroy(vkattn_context *ctx);
vkattn_result vkattn__vk_buffer_create(vkattn_context *ctx, uint64_t bytes, void **out);
void vkattn__vk_buffer_destroy(vkattn_context *ctx, void *buf);
vkattn_result vkattn__vk_buffer_write(vkattn_context *ctx, void *buf, uint64_t offset, const void *src,
                                      uint64_t bytes);
vkattn_result vkattn__vk_buffer_read(vkattn_context *ctx, void *buf, uint64_t offset, void *dst, uint64_t bytes);
/* Waits for a transfer left pending by a timeout. */
vkattn_result vkattn__vk_transfer_wait(vkattn_context *ctx, const char *func, uint64_t timeout_ns);
void vkattn__vk_staging_destroy(vkattn_context *ctx);
/* A memory type of memory.type_bits with all `required` flags and as many `preferred` ones as possible (the first
 * such, as drivers list better types first); false if none. */
bool vkattn__vk_memory_type(const vkattn_context *ctx, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred, uint32_t *out);
/* A buffer (storage and transfer usage) of `size` bytes bound to its own allocation of memory type `type`, mapped
 * into *mapped when `map`. Everything is NULL on failure. */
vkattn_result vkattn__vk_raw_create(vkattn_context *ctx, const char *func, VkDeviceSize size, uint32_t type, bool map,
                                    VkBuffer *buffer, VkDeviceMemory *memory, unsigned char **mapped);
void vkattn__vk_raw_destroy(vkattn_context *ctx, VkBuffer buffer, VkDeviceMemory memory);
/* Flushes (to the device) or invalidates (to the host) bytes [offset, offset + size) of a non-coherent mapping. */
vkattn_result vkattn__vk_sync_mapped(vkattn_context *ctx, const char *func, VkDeviceMemory memory,
                                     VkDeviceSize memory_size, VkDeviceSize offset, VkDeviceSize size, bool flush);

/* ---- pipelines (vk_pipeline.c, vk_pipeline_cache.c) -------------------------------------------------------------- */

typedef struct vkattn__vk_pipeline {
    char shader[64];        /* variant name from shaders.cmake */
    uint32_t spec[VKATTN__VK_MAX_SPEC]; /* constant id i = spec[i]; spec[0] = workgroup size */
    uint32_t n_spec;
    uint32_t n_bindings;
    uint32_t push_size;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    struct vkattn__vk_pipeline *next;
} vkattn__vk_pipeline;

/* The workgroup size x of a 1D kernel: min(preferred, maxComputeWorkGroupInvocations, maxComputeWorkGroupSize[0],
 * maxComputeSharedMemorySize / shared_bytes_per_invocation). */
uint32_t vkattn__vk_workgroup_size(const vkattn_context *ctx, uint32_t preferred,
                                   uint32_t shared_bytes_per_invocation);
/* The pipeline of (shader, spec[0 .. n_spec)), built on first use: specialization constant i = spec[i] (spec[0] is
 * the workgroup size); n_bindings storage buffers, push_size bytes of push constants. */
vkattn_result vkattn__vk_pipeline_get(vkattn_context *ctx, const char *func, const char *shader,
                                      const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings, uint32_t push_size,
                                      const vkattn__vk_pipeline **out);
void vkattn__vk_pipelines_destroy(vkattn_context *ctx);
/* Creates vk->pipeline_cache, from the disk file when it is valid. */
vkattn_result vkattn__vk_pipeline_cache_init(vkattn_context *ctx, const char *func);
/* Saves the cache to disk when this context built a pipeline, then destroys it. Never fails (logs WARN). */
void vkattn__vk_pipeline_cache_destroy(vkattn_context *ctx);

/* ---- command lists (vk_cmd.c) ------------------------------------------------------------------------------------ */

/* One storage-buffer binding of a dispatch: bytes [offset, offset + range) of a block's buffer. */
typedef struct vkattn__vk_binding {
    const vkattn__vk_block *block;
    VkDeviceSize offset;
    VkDeviceSize range;
    bool written;
} vkattn__vk_binding;

/* One op as a kernel launch over `groups` workgroups. The push constants hold two uint32 members the recorder sets
 * per dispatch when the grid is split: groups_x (workgroups along x) and a base (first row, first element ...) of
 * base_per_group units per workgroup. */
typedef struct vkattn__vk_dispatch {
    const char *shader;
    uint32_t workgroup_size;
    uint32_t spec[VKATTN__VK_MAX_SPEC - 1]; /* specialization constants 1 .. n_spec (0 is workgroup_size) */
    uint32_t n_spec;
    uint32_t n_bindings;
    vkattn__vk_binding bindings[VKATTN__VK_MAX_BINDINGS];
    const void *push;
    uint32_t push_size;
    uint32_t groups_x_at;    /* byte offsets into push */
    uint32_t base_at;
    uint32_t base_per_group;
    uint64_t first_group;    /* the group index the dispatch starts at (0, or a window's first group) */
    uint64_t groups;
} vkattn__vk_dispatch;

/* Most dispatches one op records (attention: a kernel per window of keys and the combine; matmul: one per slice of
 * K, on CPU devices or for operands larger than the storage-buffer range; an op cut into windows: its pieces'). */
#define VKATTN__VK_MAX_DISPATCHES 4096u
/* Records vkattn_copy_buffer: a vkCmdCopyBuffer of src into dst (contiguous, same bytes), timed like an op. */
vkattn_result vkattn__vk_record_copy_buffer(vkattn_context *ctx, vkattn_cmd *cmd, const char *func,
                                            const vkattn__tensor *src, const vkattn__tensor *dst);
/* Records an op as n dispatches run in order (barriers between them as their ranges need), all or nothing. */
vkattn_result vkattn__vk_record_dispatches(vkattn_context *ctx, vkattn_cmd *cmd, const char *func,
                                           const vkattn__vk_dispatch *d, uint32_t n);
/* A buffer piece (vkattn__vk_buffer) of at least `bytes` bytes that the list owns until it is reset or destroyed:
 * scratch that an op passes between its dispatches when the front end gave it none. */
vkattn_result vkattn__vk_cmd_scratch(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, uint64_t bytes,
                                    void **out);
/* A memory barrier from every compute and transfer write to every later compute, transfer and host access, used
 * at the start and end of every command buffer so that work of different submissions is ordered. */
void vkattn__vk_full_barrier(const vkattn_context *ctx, VkCommandBuffer cb);

vkattn_result vkattn__vk_cmd_create(vkattn_context *ctx, vkattn_cmd *cmd);
void vkattn__vk_cmd_destroy(vkattn_context *ctx, vkattn_cmd *cmd);
vkattn_result vkattn__vk_cmd_submit(vkattn_context *ctx, vkattn_cmd *cmd);
vkattn_result vkattn__vk_cmd_wait(vkattn_context *ctx, vkattn_cmd *cmd, uint64_t timeout_ns);
vkattn_result vkattn__vk_cmd_reset(vkattn_context *ctx, vkattn_cmd *cmd);
vkattn_result vkattn__vk_cmd_timings(vkattn_context *ctx, const vkattn_cmd *cmd, double *ms);
vkattn_result vkattn__vk_wait_idle(vkattn_context *ctx, uint64_t timeout_ns);
/* The op recorder of the backend table (vk_ops.c). */
vkattn_result vkattn__vk_cmd_record(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op);

/* ---- the context (vk_context.c) ---------------------------------------------------------------------------------- */

typedef struct vkattn__vk_context {
    vkattn__vk_instance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    struct VolkDeviceTable fn;     /* device-level functions of `device` */
    VkQueue queue;
    uint32_t queue_family;
    uint32_t timestamp_valid_bits;
    /* Limits every decision reads (tests may clamp them to exercise split dispatches). */
    VkPhysicalDeviceLimits limits;
    VkPhysicalDeviceMemoryProperties memory_props;
    VkDeviceSize max_allocation_size;
    uint32_t allocations;          /* live VkDeviceMemory objects, against limits.maxMemoryAllocationCount */
    /* While vk_ops.c records the pieces of an op cut into windows: where their dispatches are gathered, so that the
     * op is recorded whole (one pair of timestamps, nothing recorded when a piece fails). NULL otherwise. */
    void *collect;
    /* VKATTN_TEST_GPU_BLOCKING=1 at creation: a CPU device runs fused attention with its GPU work split. */
    bool test_gpu_blocking;
    bool lost;                     /* VK_ERROR_DEVICE_LOST was seen: every later call fails */
    /* VKATTN_TEST_DEVICE_LOST_AFTER=n at creation: the n-th submission (counting stats.submissions) reports
     * VK_ERROR_DEVICE_LOST instead of running; 0 = never. */
    uint64_t test_lost_after;
    vkattn__vk_memory memory;
    vkattn__vk_pipeline *pipelines;
    VkPipelineCache pipeline_cache;
    char *pipeline_cache_path;     /* the disk file, NULL when there is none (no directory, or switched off) */
} vkattn__vk_context;

static inline vkattn__vk_context *vkattn__vk(const vkattn_context *ctx)
{
    return (vkattn__vk_context *)ctx->impl;
}

#endif /* VKATTN_VK_INTERNAL_H */
