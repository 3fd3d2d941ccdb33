/*
 * vkattn.h - the whole public API of vkattn: the position-aware parts of transformer attention on any GPU through
 * Vulkan compute, with a CPU backend behind the same API.
 *
 * Conventions
 * - Every fallible call returns vkattn_result: 0 (VKATTN_OK) on success, a negative code on failure. The codes come
 *   from one table (VKATTN_RESULT_TABLE); vkattn_result_str() names them and vkattn_context_last_error() gives the
 *   detailed message of the last failure on a context (naming the failing call and, for Vulkan, the VkResult).
 * - Create calls take a `const *_desc*` whose zero value (or NULL) means "all defaults"; every default is written
 *   beside its field below. The new object is written through an out-pointer, which is set to NULL on failure.
 *   Destroy calls accept NULL.
 * - A context owns everything created from it; destroying it frees what is still alive.
 * - The library never aborts, exits or prints. Messages go to the logger given in the context desc, if any.
 *
 * Threads: different contexts are independent and may be used from different threads at once (contexts on one
 * device too). A context, and every object created from it (tensors, command lists), may be used by one thread at a
 * time: threads that share a context hold one lock of their own around every call that takes the context or one of
 * its objects, vkattn_context_last_error included (read the message before releasing the lock). Calls without a
 * context (vkattn_enumerate_devices, vkattn_rope_frequencies, vkattn_alibi_slopes, vkattn_result_str ...) may run
 * from any thread at any time; vkattn_context_last_error(NULL) is per thread. Tested under ThreadSanitizer
 * (tests/test_threads.c, scripts/tsan.sh).
 */
#ifndef VKATTN_H
#define VKATTN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(VKATTN_SHARED)
#  ifdef VKATTN_BUILDING
#    define VKATTN_API __declspec(dllexport)
#  else
#    define VKATTN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define VKATTN_API __attribute__((visibility("default")))
#else
#  define VKATTN_API
#endif

#define VKATTN_VERSION_MAJOR 0
#define VKATTN_VERSION_MINOR 1
#define VKATTN_VERSION_PATCH 0
/* Version as one number: major * 10000 + minor * 100 + patch. */
#define VKATTN_VERSION (VKATTN_VERSION_MAJOR * 10000 + VKATTN_VERSION_MINOR * 100 + VKATTN_VERSION_PATCH)

/* The version of the library actually linked, as VKATTN_VERSION. */
VKATTN_API uint32_t vkattn_version(void);

/* ---------------------------------------------------------------------------------------------------------------
 * Result codes. X(NAME, value, description): VKATTN_OK = 0, errors negative.
 * ------------------------------------------------------------------------------------------------------------- */
#define VKATTN_RESULT_TABLE(X)                                                                                    \
    X(OK, 0, "success")                                                                                           \
    X(ERROR_INVALID_ARGUMENT, -1, "invalid argument (NULL pointer, out-of-range value or bad desc field)")       \
    X(ERROR_INVALID_HANDLE, -2, "tensor handle is destroyed, never created or belongs to another context")       \
    X(ERROR_SHAPE_MISMATCH, -3, "tensor shapes or strides do not fit the operation")                             \
    X(ERROR_DTYPE_MISMATCH, -4, "tensor dtype is not supported by the operation or differs where it must match") \
    X(ERROR_OVERFLOW, -5, "a size, stride or offset computation overflows")                                      \
    X(ERROR_OUT_OF_HOST_MEMORY, -6, "out of host memory")                                                        \
    X(ERROR_OUT_OF_DEVICE_MEMORY, -7, "out of device memory")                                                    \
    X(ERROR_NO_VULKAN, -8, "the Vulkan loader library could not be loaded")                                      \
    X(ERROR_NO_DEVICE, -9, "no Vulkan device matches the request")                                               \
    X(ERROR_UNSUPPORTED, -10, "the device or backend does not support what was asked")                           \
    X(ERROR_DEVICE_LOST, -11, "the device was lost; the context must be destroyed and created again")            \
    X(ERROR_TIMEOUT, -12, "the wait timed out before the work finished")                                         \
    X(ERROR_NOT_READY, -13, "results are not available yet (command list not submitted or not finished)")       \
    X(ERROR_BAD_STATE, -14, "the object is in the wrong state for this call")                                    \
    X(ERROR_VULKAN, -15, "a Vulkan call failed")                                                                 \
    X(ERROR_IO, -16, "a file could not be read or written")                                                      \
    X(ERROR_INTERNAL, -17, "internal error (a bug in vkattn)")

typedef enum vkattn_result {
#define VKATTN__RESULT_ENUM(name, value, text) VKATTN_##name = value,
    VKATTN_RESULT_TABLE(VKATTN__RESULT_ENUM)
#undef VKATTN__RESULT_ENUM
} vkattn_result;

/* A static description of the code ("invalid argument ..."); never NULL ("unknown result" for unknown codes). */
VKATTN_API const char *vkattn_result_str(vkattn_result r);
/* The code's name without prefix ("ERROR_INVALID_ARGUMENT"); never NULL ("UNKNOWN" for unknown codes). */
VKATTN_API const char *vkattn_result_name(vkattn_result r);

/* ---------------------------------------------------------------------------------------------------------------
 * Context and devices
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct vkattn_context vkattn_context;

typedef enum vkattn_backend {
    VKATTN_BACKEND_AUTO = 0, /* Vulkan if a loader and a device are there, else the CPU backend */
    VKATTN_BACKEND_VULKAN = 1,
    VKATTN_BACKEND_CPU = 2,
} vkattn_backend;

typedef enum vkattn_log_level {
    VKATTN_LOG_DEFAULT = 0, /* as a desc value: VKATTN_LOG_WARN */
    VKATTN_LOG_ERROR = 1,
    VKATTN_LOG_WARN = 2,
    VKATTN_LOG_INFO = 3,
    VKATTN_LOG_DEBUG = 4,
} vkattn_log_level;

/* Receives every message at or above the context's log level. `msg` has no trailing newline and is valid only
 * during the call. Validation-layer messages arrive as WARN or ERROR with the prefix "validation: ". */
typedef void (*vkattn_log_fn)(void *user, vkattn_log_level level, const char *msg);

enum vkattn_context_flags {
    /* Enable the Khronos validation layer (also enabled by the environment variable VKATTN_VALIDATION=1).
     * Context creation fails with VKATTN_ERROR_UNSUPPORTED when the layer is not installed. Where the layer offers
     * VK_EXT_validation_features (Debian 12's 1.3.239 does), synchronization validation is enabled too: a missing or
     * too weak barrier between dispatches, copies and host access is reported like any other validation error; it
     * makes every command slower. */
    VKATTN_CONTEXT_VALIDATION = 1u << 0,
    /* Do not read or write the on-disk pipeline cache. */
    VKATTN_CONTEXT_NO_PIPELINE_CACHE = 1u << 1,
    /* Use device-local memory with staging copies even on unified-memory devices (for testing the discrete-GPU
     * path on integrated and CPU devices). */
    VKATTN_CONTEXT_FORCE_STAGING = 1u << 2,
    /* Ignore the environment variables VKATTN_DEVICE, VKATTN_VALIDATION, VKATTN_PROFILE and, for testing,
     * VKATTN_TEST_GPU_BLOCKING (=1: a CPU Vulkan device such as lavapipe runs the kernels with the work shapes it
     * uses on GPUs) and VKATTN_TEST_STORAGE_RANGE (a byte count from 256 up: lowers the storage-buffer
     * range the Vulkan backend believes in, so that small tensors take the windows of huge ones) and
     * VKATTN_TEST_DEVICE_LOST_AFTER (n: the n-th queue submission fails as if the device were lost). */
    VKATTN_CONTEXT_IGNORE_ENV = 1u << 3,
    /* Use only the portable kernels, never a faster path that depends on an optional device feature or on aliased
     * vector views of a buffer (today: the subgroup-arithmetic kernels of vkattn_matmul for up to 8 rows of a and of
     * vkattn_softmax, and the vec4 paths of vkattn_copy and vkattn_alibi). For comparing the paths, and as a way
     * around a driver whose optional features misbehave. No effect on the CPU backend. */
    VKATTN_CONTEXT_BASELINE_KERNELS = 1u << 4,
};

/* What the runtime believes about the device. */
typedef enum vkattn_profile {
    VKATTN_PROFILE_DEFAULT = 0, /* as a desc value: the environment variable VKATTN_PROFILE ("device" or "phone") if
                                 * set, else VKATTN_PROFILE_DEVICE */
    VKATTN_PROFILE_DEVICE = 1,  /* the device's own limits and features */
    /* A conservative phone GPU: every limit is the smaller of the device's and these (Vulkan's required minimums
     * or a common Adreno/Mali value): 128 invocations per workgroup (128 x 128 x 64 in size), 16 KiB of shared
     * memory, 128 MiB storage-buffer range, 4096 memory allocations, 65535 workgroups per dispatch dimension, no
     * fp16 arithmetic (f16 storage stays where the device has it), no subgroup operations, no cooperative
     * matrices. vkattn_context_device_info reports the clamped values. Ops that need more (huge tensors, long
     * grids) are split into windows and dispatches that fit. A Vulkan-only notion: the CPU backend ignores it. */
    VKATTN_PROFILE_PHONE = 2,
} vkattn_profile;

typedef struct vkattn_context_desc {
    vkattn_backend backend;   /* 0 = VKATTN_BACKEND_AUTO */
    /* Which Vulkan device: NULL = the environment variable VKATTN_DEVICE if set, else the default device (the first
     * discrete GPU, else the first integrated GPU, else the first virtual GPU, else the first CPU device such as
     * lavapipe). A string of decimal digits is an index into the Vulkan device list (as `vkattn devices` prints it);
     * anything else is a case-insensitive substring of the device name. */
    const char *device;
    uint32_t flags;           /* vkattn_context_flags; 0 = none */
    /* Directory of the pipeline cache: NULL = $XDG_CACHE_HOME/vkattn, else $HOME/.cache/vkattn. One file per device,
     * named pipelines-<vendor id>-<device id>.bin (hex) and checked against the driver's pipeline-cache UUID, so a
     * driver update replaces it. A missing, corrupt or foreign file is ignored; the cache is saved (atomically) when
     * the context is destroyed. */
    const char *cache_dir;
    vkattn_log_fn log;        /* NULL = messages are dropped */
    void *log_user;           /* passed to `log` */
    vkattn_log_level log_level; /* 0 = VKATTN_LOG_WARN: deliver ERROR and WARN */
    /* Timeout of the implicit wait in immediate-mode operations and transfers: 0 = 60000 ms. */
    uint32_t timeout_ms;
    vkattn_profile profile;   /* 0 = VKATTN_PROFILE_DEFAULT */
    /* Most bytes of storage the context may hold at once (tensors, the scratch of recorded ops, the context's cached
     * phase and slope tables): 0 = no limit but the device's. Creating a tensor or recording an op past it fails
     * with VKATTN_ERROR_OUT_OF_DEVICE_MEMORY (Vulkan) or VKATTN_ERROR_OUT_OF_HOST_MEMORY (CPU backend) and leaves
     * the context usable, exactly as a real allocation failure does; for budgeting memory beside other users of the
     * GPU, and for testing out-of-memory paths. */
    uint64_t memory_limit;
} vkattn_context_desc;

typedef enum vkattn_device_type {
    VKATTN_DEVICE_OTHER = 0,
    VKATTN_DEVICE_DISCRETE = 1,
    VKATTN_DEVICE_INTEGRATED = 2,
    VKATTN_DEVICE_VIRTUAL = 3,
    VKATTN_DEVICE_CPU = 4, /* a Vulkan device that runs on the CPU (lavapipe, SwiftShader) and the CPU backend */
} vkattn_device_type;

/* What a device offers. For the CPU backend: backend = VKATTN_BACKEND_CPU, type = VKATTN_DEVICE_CPU, the host's
 * CPU model as name, unified_memory = true, workgroup limits 0 (not applicable) and UINT64_MAX for the 64-bit
 * limits that the host does not bound (storage-buffer range, allocation count and size). */
typedef struct vkattn_device_info {
    vkattn_backend backend;
    uint32_t index;                 /* position in the Vulkan device list; 0 for the CPU backend */
    char name[256];
    vkattn_device_type type;
    uint32_t vendor_id;             /* PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x5143 Qualcomm ...) */
    uint32_t device_id;
    char vendor[32];                /* vendor name derived from vendor_id ("NVIDIA", "AMD", "Mesa", ...) */
    char driver_name[256];          /* VkPhysicalDeviceDriverProperties, where available */
    char driver_info[256];
    uint32_t driver_version;        /* raw, vendor-encoded */
    uint32_t api_version;           /* VK_MAKE_API_VERSION encoded */
    uint8_t pipeline_cache_uuid[16];
    uint32_t subgroup_size;         /* 0 when unknown */
    bool subgroup_arithmetic;       /* subgroup arithmetic operations in compute shaders */
    bool fp16_storage;              /* 16-bit storage buffers */
    bool fp16_arithmetic;           /* shaderFloat16 */
    bool cooperative_matrix_nv;     /* VK_NV_cooperative_matrix present */
    bool unified_memory;            /* all device-local memory is host visible (integrated, CPU devices) */
    bool timestamps;                /* compute-queue timestamps are available */
    double timestamp_period_ns;     /* nanoseconds per timestamp tick */
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_count[3];
    uint32_t max_shared_memory;     /* bytes */
    uint64_t max_storage_buffer_range; /* bytes */
    uint64_t min_storage_buffer_offset_alignment;
    uint64_t max_allocation_count;
    uint64_t max_allocation_size;   /* bytes, 0 when unknown */
    uint64_t device_local_bytes;    /* size of the largest device-local heap */
    /* The profile the limits and features above are clamped to: a context's own, VKATTN_PROFILE_DEVICE from
     * vkattn_enumerate_devices and the CPU backend. */
    vkattn_profile profile;
} vkattn_device_info;

/* Lists the Vulkan devices: writes up to `capacity` entries to `out` (may be NULL when capacity is 0) and the number
 * of devices to `*count`. Returns VKATTN_ERROR_NO_VULKAN when no loader is installed (with *count = 0). */
VKATTN_API vkattn_result vkattn_enumerate_devices(vkattn_device_info *out, uint32_t capacity, uint32_t *count);

/* Creates a context. desc may be NULL (all defaults). On failure *out is NULL and the message is available from
 * vkattn_context_last_error(NULL) on the same thread. AUTO falls back to the CPU backend when Vulkan has no loader
 * or no device (logging why at INFO); VULKAN fails with VKATTN_ERROR_NO_VULKAN or VKATTN_ERROR_NO_DEVICE. */
VKATTN_API vkattn_result vkattn_context_create(const vkattn_context_desc *desc, vkattn_context **out);
/* Waits for all submitted work, saves the pipeline cache and frees everything the context owns. NULL is a no-op. */
VKATTN_API void vkattn_context_destroy(vkattn_context *ctx);
VKATTN_API vkattn_result vkattn_context_device_info(const vkattn_context *ctx, vkattn_device_info *out);
VKATTN_API vkattn_backend vkattn_context_backend(const vkattn_context *ctx);
/* The detailed message of the last failed call on ctx ("" if none). With ctx = NULL: the last failure of
 * vkattn_context_create or vkattn_enumerate_devices on this thread. Valid until the next call on ctx. */
VKATTN_API const char *vkattn_context_last_error(const vkattn_context *ctx);

/* Counters for tests and tuning. */
typedef struct vkattn_context_stats {
    uint64_t tensors_alive;
    uint64_t bytes_allocated;        /* bytes handed to tensors */
    uint64_t memory_blocks;          /* device memory allocations (Vulkan) or host blocks (CPU) */
    uint64_t pipelines_created;      /* pipelines built so far (lazily, on first use) */
    bool pipeline_cache_loaded;      /* a valid on-disk pipeline cache was found and used */
    bool pipeline_cache_rejected;    /* an on-disk pipeline cache was found but ignored (corrupt or other device) */
    uint64_t submissions;            /* queue submissions so far */
    /* Command buffers submitted so far (Vulkan): a list is cut into several once it holds 64 ops or 256 MiB of
     * bound memory, so that no single piece of GPU work runs long enough for a driver watchdog to reset the GPU. */
    uint64_t command_buffers;
    uint64_t validation_messages;    /* validation-layer messages of WARN or ERROR severity received */
} vkattn_context_stats;

VKATTN_API vkattn_result vkattn_context_stats_get(const vkattn_context *ctx, vkattn_context_stats *out);

/* Waits until all work submitted on the context has finished (timeout in nanoseconds; UINT64_MAX = forever). */
VKATTN_API vkattn_result vkattn_context_wait_idle(vkattn_context *ctx, uint64_t timeout_ns);

/* ---------------------------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------------------------- */
#define VKATTN_MAX_DIMS 4

typedef enum vkattn_dtype {
    VKATTN_F32 = 0,
    VKATTN_F16 = 1, /* IEEE binary16 storage; arithmetic is done in f32 */
    VKATTN_I32 = 2, /* for position tensors */
} vkattn_dtype;

/* A tensor handle: a value, not a pointer. The zero handle is never valid. Using a handle after its tensor was
 * destroyed, or with another context, returns VKATTN_ERROR_INVALID_HANDLE. */
typedef struct vkattn_tensor {
    uint64_t id;
} vkattn_tensor;

typedef struct vkattn_tensor_desc {
    vkattn_dtype dtype;                    /* 0 = VKATTN_F32 */
    uint32_t ndim;                         /* 1 to 4 */
    int64_t shape[VKATTN_MAX_DIMS];        /* each >= 1; entries past ndim are ignored */
    /* In elements. All zero = contiguous row-major (the last dim has stride 1). For vkattn_tensor_create the
     * strides must be all zero: a new tensor is always contiguous; strided views come from vkattn_tensor_view. */
    int64_t strides[VKATTN_MAX_DIMS];
} vkattn_tensor_desc;

/* Creates a contiguous tensor of uninitialised contents. */
VKATTN_API vkattn_result vkattn_tensor_create(vkattn_context *ctx, const vkattn_tensor_desc *desc,
                                              vkattn_tensor *out);
/* Creates a view of `base`'s storage: element (i0..i3) of the view is element offset + sum(ik * strides[k]) of the
 * base's storage, counted in elements of base's dtype from base's own first element. desc->dtype must equal the
 * base's; strides all zero = contiguous. Every element must lie inside the base's storage; each stride must be
 * >= 1 (a stride of a dim of size 1 is ignored). The view keeps the storage alive after the base is destroyed. */
VKATTN_API vkattn_result vkattn_tensor_view(vkattn_context *ctx, vkattn_tensor base, const vkattn_tensor_desc *desc,
                                            int64_t offset, vkattn_tensor *out);
/* Destroys the handle; storage is freed when no view and no pending command list uses it. A zero handle is a no-op;
 * a stale handle is ignored. */
VKATTN_API void vkattn_tensor_destroy(vkattn_context *ctx, vkattn_tensor t);
/* The tensor's desc, with its strides filled in. */
VKATTN_API vkattn_result vkattn_tensor_get_desc(vkattn_context *ctx, vkattn_tensor t, vkattn_tensor_desc *out);
/* Number of elements of the tensor's logical shape (dense host data is numel * vkattn_dtype_size bytes). */
VKATTN_API vkattn_result vkattn_tensor_numel(vkattn_context *ctx, vkattn_tensor t, uint64_t *numel);
VKATTN_API size_t vkattn_dtype_size(vkattn_dtype dtype); /* 4, 2, 4; 0 for unknown */
VKATTN_API const char *vkattn_dtype_name(vkattn_dtype dtype); /* "f32", "f16", "i32"; "?" for unknown */

/* Copy between host memory and a tensor. The host side is dense, in the tensor's logical row-major order, of the
 * tensor's dtype; `bytes` must equal numel * dtype size. Both wait for all work previously submitted on the context,
 * then transfer (staging copies on discrete GPUs, direct mapping on unified-memory devices), and return when done.
 * Writing a strided view changes only the view's elements. */
VKATTN_API vkattn_result vkattn_tensor_write(vkattn_context *ctx, vkattn_tensor t, const void *src, size_t bytes);
VKATTN_API vkattn_result vkattn_tensor_read(vkattn_context *ctx, vkattn_tensor t, void *dst, size_t bytes);

/* ---------------------------------------------------------------------------------------------------------------
 * Command lists
 *
 * Every op takes a `vkattn_cmd *cmd`: NULL runs the op immediately (record, submit, wait with the context timeout);
 * a command list records it instead. A list is submitted once with one fence; barriers between dependent ops (one
 * writes what a later one reads or writes, or reads what a later one writes) are inserted automatically. The CPU
 * backend runs the same list in order at submit. Tensors used by a recorded op stay alive until the list is reset
 * or destroyed, even if their handles are destroyed.
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct vkattn_cmd vkattn_cmd;

enum vkattn_cmd_flags {
    /* Record a GPU timestamp before and after each op (wall clock on the CPU backend); see vkattn_cmd_timings. */
    VKATTN_CMD_TIMESTAMPS = 1u << 0,
};

typedef struct vkattn_cmd_desc {
    uint32_t flags; /* vkattn_cmd_flags; 0 = none */
} vkattn_cmd_desc;

/* States: recording -> (submit) -> pending -> (wait) -> complete -> (reset) -> recording. */
VKATTN_API vkattn_result vkattn_cmd_create(vkattn_context *ctx, const vkattn_cmd_desc *desc, vkattn_cmd **out);
/* Waits for pending work (without timeout) and frees the list. NULL is a no-op. */
VKATTN_API void vkattn_cmd_destroy(vkattn_cmd *cmd);
/* Submits the recorded ops. An empty list is allowed. Fails with VKATTN_ERROR_BAD_STATE unless recording. */
VKATTN_API vkattn_result vkattn_cmd_submit(vkattn_cmd *cmd);
/* Waits up to timeout_ns nanoseconds (UINT64_MAX = forever) for a submitted list. VKATTN_ERROR_TIMEOUT leaves the
 * list pending: wait again later. */
VKATTN_API vkattn_result vkattn_cmd_wait(vkattn_cmd *cmd, uint64_t timeout_ns);
/* Returns a complete (or never submitted) list to recording with no ops, releasing its tensors. */
VKATTN_API vkattn_result vkattn_cmd_reset(vkattn_cmd *cmd);
/* Number of ops recorded in the list. */
VKATTN_API uint32_t vkattn_cmd_op_count(const vkattn_cmd *cmd);

typedef struct vkattn_op_timing {
    const char *op;  /* static name of the op ("softmax", "copy", ...) */
    double ms;       /* GPU time between the op's timestamps (wall-clock time on the CPU backend) */
} vkattn_op_timing;

/* Per-op timings of a completed list made with VKATTN_CMD_TIMESTAMPS: writes min(capacity, ops) entries in
 * recording order and the number of ops to *count. VKATTN_ERROR_NOT_READY before the list completes,
 * VKATTN_ERROR_UNSUPPORTED without the flag or when the device has no timestamps. */
VKATTN_API vkattn_result vkattn_cmd_timings(const vkattn_cmd *cmd, vkattn_op_timing *out, uint32_t capacity,
                                            uint32_t *count);

/* ---------------------------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------------------------- */

/* dst = src, element by element, for tensors of the same shape (strides may differ); converts between f32 and f16
 * (round to nearest even on the CPU backend; on Vulkan the device's f32->f16 conversion, which is round to nearest
 * even on lavapipe and the desktop drivers vkattn knows). i32 copies only to i32. */
VKATTN_API vkattn_result vkattn_copy(vkattn_context *ctx, vkattn_cmd *cmd, vkattn_tensor src, vkattn_tensor dst);

/* dst = src as raw bytes, with the device's transfer command (vkCmdCopyBuffer; memcpy on the CPU backend): src and
 * dst contiguous, of the same shape and dtype, sharing no memory. For measuring the device's practical bandwidth
 * (`vkattn bench`) and for plain copies; vkattn_copy takes any strides and converts dtypes. */
VKATTN_API vkattn_result vkattn_copy_buffer(vkattn_context *ctx, vkattn_cmd *cmd, vkattn_tensor src,
                                            vkattn_tensor dst);

/* ---------------------------------------------------------------------------------------------------------------
 * Positional encodings
 *
 * Angles are exact to float precision at any int32 position: the host computes each frequency in float64 and
 * hands the kernels its phase per position as a 64-bit fixed-point fraction of a turn, so the angle pos * freq is
 * reduced modulo 2 pi in integer arithmetic and the kernels evaluate sin and cos only on [-pi/4, pi/4] (their own
 * polynomials, independent of the driver's sin/cos). At position 10^6 the angle error stays below 1e-6 rad.
 * Hugging Face computes inv_freq in float32, so its own angles at large positions differ from the exact ones by
 * up to pos * 6e-8 rad; vkattn follows the exact formula.
 * ------------------------------------------------------------------------------------------------------------- */

/* Which elements form the rotated pairs (d = rot_dims, pair i = 0 .. d/2-1):
 *
 *   NEOX (HF rotate_half; Llama, Mistral, Qwen, Gemma ...):   (x[i], x[i + d/2])
 *        dims  0 1 2 3 | 4 5 6 7        pair 0 = (0,4), pair 1 = (1,5) ...
 *   GPTJ (HF rotate_every_two; GPT-J, ggml's "normal" mode):  (x[2i], x[2i+1])
 *        dims  0 1 | 2 3 | 4 5 | 6 7    pair 0 = (0,1), pair 1 = (2,3) ...
 */
typedef enum vkattn_rope_mode {
    VKATTN_ROPE_NEOX = 0,
    VKATTN_ROPE_GPTJ = 1,
} vkattn_rope_mode;

/* Frequency scaling for contexts longer than the training context. d = rot_dims (rot_dims/2 for 2D axial),
 * theta_i = base^(-2i/d) the unscaled frequency of pair i, L = orig_ctx, s = factor, c = the context length. */
typedef enum vkattn_rope_scaling {
    VKATTN_ROPE_SCALING_NONE = 0,
    /* Position interpolation (Chen et al. 2023, arXiv:2306.15595; HF "linear"): theta_i / s. */
    VKATTN_ROPE_SCALING_LINEAR = 1,
    /* NTK-aware (bloc97, 2023; CodeLlama-style base change): base' = base * s^(d/(d-2)). */
    VKATTN_ROPE_SCALING_NTK = 2,
    /* Dynamic NTK (HF _compute_dynamic_ntk_parameters): with c' = max(c, L),
     * base' = base * (s * c' / L - (s - 1))^(d/(d-2)); no change while c <= L. Needs orig_ctx. */
    VKATTN_ROPE_SCALING_DYNAMIC = 3,
    /* YaRN (Peng et al. 2023, arXiv:2309.00071; HF _compute_yarn_parameters): pairs whose wavelength is short
     * against L keep theta_i, long ones get theta_i / s, with a linear ramp between the correction dims of
     * beta_fast and beta_slow rotations; cos and sin are multiplied by the attention factor. Needs orig_ctx. */
    VKATTN_ROPE_SCALING_YARN = 4,
    /* LongRoPE (Ding et al. 2024, arXiv:2402.13753; HF _compute_longrope_parameters; Phi-3): theta_i / f_i with
     * f = long_factor when c > L, else short_factor; attention factor sqrt(1 + ln(s) / ln(L)) (1 when s <= 1),
     * where s = factor should be set as HF does: the config's max_position_embeddings / L. Needs orig_ctx >= 2,
     * short_factor and long_factor. */
    VKATTN_ROPE_SCALING_LONGROPE = 5,
    /* Llama 3.1 (HF _compute_llama3_parameters): wavelength 2 pi / theta_i above L / low_freq_factor -> theta_i / s,
     * below L / high_freq_factor -> theta_i, smoothly interpolated between. Needs orig_ctx. */
    VKATTN_ROPE_SCALING_LLAMA3 = 6,
} vkattn_rope_scaling;

/* Where each pair's position comes from. */
typedef enum vkattn_rope_axes {
    VKATTN_ROPE_AXES_1D = 0, /* one position per token */
    /* 2D axial (Heo et al. 2024, "Rotary Position Embedding for Vision Transformer", arXiv:2403.13298): positions
     * (row, col); pairs 0 .. P/2-1 rotate by the row, pairs P/2 .. P-1 by the column (P = rot_dims/2, so rot_dims
     * must be a multiple of 4), each half with the ladder theta_k = base^(-2k/(rot_dims/2)). */
    VKATTN_ROPE_AXES_2D = 1,
    /* Qwen2-VL M-RoPE (arXiv:2409.12191; HF apply_multimodal_rotary_pos_emb): positions (temporal, height, width);
     * with the 1D ladder over rot_dims, pairs [0, s0) use axis 0, [s0, s0+s1) axis 1, the rest axis 2, where
     * s = mrope_section (Qwen2-VL 7B: {16, 24, 24} for head_dim 128). */
    VKATTN_ROPE_AXES_MROPE = 2,
} vkattn_rope_axes;

enum vkattn_rope_flags {
    /* YaRN: do not round the correction range to whole dims (HF rope_scaling "truncate": false, as in gpt-oss). */
    VKATTN_ROPE_YARN_NO_TRUNCATE = 1u << 0,
};

typedef struct vkattn_rope_desc {
    vkattn_rope_mode mode;          /* 0 = VKATTN_ROPE_NEOX */
    uint32_t rot_dims;              /* dims that rotate (partial rotary): 0 = head_dim; even, <= head_dim; the rest
                                     * pass through unchanged */
    double base;                    /* theta, HF rope_theta: 0 = 10000; finite and > 1 */
    /* Position of token s when no positions tensor is given: pos_offset + s (a KV-cache offset). Must be 0 when a
     * positions tensor is given. */
    int32_t pos_offset;
    vkattn_rope_scaling scaling;    /* 0 = VKATTN_ROPE_SCALING_NONE */
    double factor;                  /* s: required (finite, > 0) for every scaling but NONE */
    uint32_t orig_ctx;              /* L, HF original_max_position_embeddings: required by DYNAMIC, YARN, LONGROPE,
                                     * LLAMA3 */
    /* c for DYNAMIC and LONGROPE: 0 = max(position) + 1 over the positions used (every axis of a multi-axis
     * positions tensor counts; with a positions tensor,
     * vkattn_rope reads it back at the call, after the work already submitted; in a command list the values at
     * recording time count, so give ctx_len when recording positions that change later). */
    uint32_t ctx_len;
    double beta_fast;               /* YaRN: 0 = 32 */
    double beta_slow;               /* YaRN: 0 = 1 */
    /* Multiplies cos and sin: 0 = the scaling's default: YaRN get_mscale(s) = 0.1 ln(s) + 1 (1 when s <= 1, as
     * HF), or, with yarn_mscale and yarn_mscale_all_dim both set, get_mscale(s, mscale) / get_mscale(s,
     * mscale_all_dim) with get_mscale(s, m) = 0.1 m ln(s) + 1 (DeepSeek-V2); LongRoPE as above; 1 for the others.
     * Finite and >= 0. */
    double attn_factor;
    double yarn_mscale;             /* YaRN (DeepSeek): 0 = unset */
    double yarn_mscale_all_dim;     /* YaRN (DeepSeek): 0 = unset */
    double low_freq_factor;         /* LLAMA3: 0 = 1 */
    double high_freq_factor;        /* LLAMA3: 0 = 4; must exceed low_freq_factor */
    /* Per-frequency arrays of factor_count entries (= the ladder length: rot_dims/2, or rot_dims/4 for 2D axial),
     * each entry finite and > 0. */
    const float *short_factor;      /* LONGROPE */
    const float *long_factor;       /* LONGROPE */
    /* Any scaling: theta_i is divided by freq_factors[i] last (ggml's freq_factors). NULL = none. */
    const float *freq_factors;
    uint32_t factor_count;
    vkattn_rope_axes axes;          /* 0 = VKATTN_ROPE_AXES_1D */
    uint32_t mrope_section[3];      /* MROPE: pairs per axis, summing to rot_dims/2 */
    uint32_t flags;                 /* vkattn_rope_flags; 0 = none */
} vkattn_rope_desc;

/* Rotary position embedding (Su et al. 2021, "RoFormer", arXiv:2104.09864). For each token at position p and pair
 * i = (a, b) with frequency theta_i and attention factor m:
 *     y[a] = m * (x[a] cos(p theta_i) - x[b] sin(p theta_i))
 *     y[b] = m * (x[b] cos(p theta_i) + x[a] sin(p theta_i))
 * and y = x on the dims past rot_dims.
 * x, y: [batch, seq, heads, head_dim] or [seq, heads, head_dim] (head_dim up to 65536), same shape, same dtype
 *   (f32 or f16, arithmetic in f32 on Vulkan and float64 on the CPU backend), any strides (a [batch, heads, seq, head_dim] buffer is a view
 *   with permuted strides); y may be x (in place).
 * positions: the zero handle (then p = pos_offset + s), or an i32 tensor: 1D [seq] (shared by the batch) or
 *   [batch, seq]; 2D axial [2, seq] or [2, batch, seq] (row, col); MROPE [3, seq] or [3, batch, seq].
 * desc may be NULL (NEOX, full rotary, base 10000, no scaling).
 * Errors: INVALID_ARGUMENT for a bad desc field (the message names it), SHAPE_MISMATCH / DTYPE_MISMATCH for tensors
 * that do not fit, OVERFLOW when pos_offset + seq - 1 exceeds INT32_MAX. */
VKATTN_API vkattn_result vkattn_rope(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_rope_desc *desc,
                                     vkattn_tensor x, vkattn_tensor positions, vkattn_tensor y);

/* The frequencies vkattn_rope uses, in float64, without a context (desc may be NULL): writes rot_dims/2 values theta_i (radians per
 * position step, in pair order; for 2D axial the two halves repeat the ladder) to inv_freq[0 .. capacity) and the
 * attention factor to *attn_factor (may be NULL). For DYNAMIC and LONGROPE the context length is desc->ctx_len
 * (0 counts as not longer than orig_ctx). Fails with VKATTN_ERROR_INVALID_ARGUMENT for a bad desc or when capacity
 * is less than rot_dims/2. */
VKATTN_API vkattn_result vkattn_rope_frequencies(const vkattn_rope_desc *desc, uint32_t head_dim, double *inv_freq,
                                                 uint32_t capacity, double *attn_factor);

typedef enum vkattn_sinusoidal_layout {
    /* Vaswani et al. 2017 (arXiv:1706.03762): PE[2k] = sin(p w_k), PE[2k+1] = cos(p w_k), w_k = base^(-2k/dim).
     * An odd dim's last element gets sin. */
    VKATTN_SINUSOIDAL_INTERLEAVED = 0,
    /* fairseq SinusoidalPositionalEmbedding / Whisper: h = dim/2 (rounded down), w_k = exp(-k ln(base) / (h - 1)),
     * PE[k] = sin(p w_k), PE[h + k] = cos(p w_k); an odd dim's last element gets 0. Needs dim >= 4. */
    VKATTN_SINUSOIDAL_CONCAT = 1,
} vkattn_sinusoidal_layout;

typedef struct vkattn_sinusoidal_desc {
    vkattn_sinusoidal_layout layout; /* 0 = VKATTN_SINUSOIDAL_INTERLEAVED */
    double base;                     /* 0 = 10000; finite and > 1 */
    int32_t pos_offset;              /* p = pos_offset + s when no positions tensor is given; else must be 0 */
} vkattn_sinusoidal_desc;

/* Adds the sinusoidal absolute position encoding: y[b, s, :] = x[b, s, :] + PE(p(b, s)).
 * x, y: [batch, seq, dim] or [seq, dim] (dim up to 65536), same shape and dtype (f32 or f16), any strides; y may
 *   be x.
 * positions: the zero handle, or i32 [seq] or [batch, seq]. desc may be NULL. OVERFLOW when pos_offset + seq - 1
 * exceeds INT32_MAX. */
VKATTN_API vkattn_result vkattn_sinusoidal_add(vkattn_context *ctx, vkattn_cmd *cmd,
                                               const vkattn_sinusoidal_desc *desc, vkattn_tensor x,
                                               vkattn_tensor positions, vkattn_tensor y);

typedef struct vkattn_alibi_desc {
    /* Caller-given slopes, slope_count = heads entries (finite). NULL = computed: */
    const float *slopes;
    uint32_t slope_count;
    /* 0 = the ALiBi paper's get_slopes (Press et al. 2022, arXiv:2108.12409): for n heads a power of two,
     * m_h = 2^(-8(h+1)/n); otherwise the slopes of the nearest lower power of two n' followed by every other slope
     * of 2n', as many as needed. > 0: ggml's formula with this maximum bias: n' = 2^floor(log2 n),
     * m_h = 2^(-max_bias (h+1) / n') for h < n', else 2^(-max_bias (2(h-n')+1) / (2n')) (max_bias 8 gives the paper's). */
    float max_bias;
    int32_t q_offset;   /* query i sits at position q_offset + i (q_len rows appended after a KV cache) */
    bool causal;        /* keys after the query (k_pos > q_pos) get -inf */
    /* Dynamic slope scaling: 0 = off; when k_len > train_len every slope is multiplied by train_len / k_len. */
    uint32_t train_len;
    /* 0 = 1D distance |q_pos - k_pos|. > 0: positions index a patch grid of this width, p -> (p / w, p mod w), and
     * the distance is Euclidean: sqrt(dr^2 + dc^2) (2D ALiBi for images). */
    uint32_t grid_width;
} vkattn_alibi_desc;

/* ALiBi bias on attention scores: y[b, h, i, j] = x[b, h, i, j] - m_h * dist(q_offset + i, j), and -inf where causal
 * masks it. x, y: [batch, heads, q_len, k_len], [heads, q_len, k_len] or [q_len, k_len] (one head), same shape and
 * dtype (f32 or f16), any strides; y may be x. desc may be NULL (paper slopes, no offset, not causal).
 * Errors: INVALID_ARGUMENT when slopes and max_bias are both set, slope_count differs from heads (or is set
 * without slopes), a slope is not finite, max_bias is negative or not finite, or grid_width is set with a negative
 * q_offset; OVERFLOW when q_offset + q_len - 1 exceeds INT32_MAX. */
VKATTN_API vkattn_result vkattn_alibi(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_alibi_desc *desc,
                                      vkattn_tensor x, vkattn_tensor y);

/* The slopes vkattn_alibi uses for `heads` heads (>= 1) and a key length k_len (for train_len scaling), without a
 * context: writes `heads` floats to out. desc may be NULL. */
VKATTN_API vkattn_result vkattn_alibi_slopes(const vkattn_alibi_desc *desc, uint32_t heads, uint32_t k_len,
                                             float *out);

/* ---------------------------------------------------------------------------------------------------------------
 * Attention: softmax with masks, matmul, fused attention
 *
 * Positions in masks: for scores laid out [..., q_len, k_len], query row i sits at q_pos = q_offset + i and key
 * column j at k_pos = j (queries appended after a KV cache of q_offset entries).
 * ------------------------------------------------------------------------------------------------------------- */

typedef struct vkattn_softmax_desc {
    float scale;              /* multiplies x before anything is added; 0 = 1.0. Must be finite. */
    /* Additive mask: the zero handle = none; else f32 or f16 of shape [q_len, k_len] or with up to two leading
     * dims, each equal to x's or 1 (broadcast): [1|batch, 1|heads, q_len, k_len]. q_len and k_len may also be 1 to
     * broadcast ([1, k_len] is a padding mask). -inf entries mask their key. */
    vkattn_tensor mask;
    bool causal;              /* keys with k_pos > q_pos get -inf */
    int32_t q_offset;         /* q_pos = q_offset + i; 0 = queries start at position 0 */
    /* Sliding window: 0 = none; W > 0 masks keys with q_pos - k_pos >= W (the query and the W - 1 keys before it
     * stay; Mistral's sliding_window). */
    uint32_t window;
    /* Fused ALiBi bias (NULL = none): adds -m_h * dist(q_pos, k_pos) with the slopes of vkattn_alibi; heads = the
     * dim before q_len (1 for 2-dim x). The desc's q_offset and causal must be 0: the softmax desc's apply. */
    const vkattn_alibi_desc *alibi;
} vkattn_softmax_desc;

/* Softmax along the last axis of v = scale * x + mask + alibi bias, with -inf where causal or window mask a key:
 *   y[..., j] = exp(v_j - m) / sum_k exp(v_k - m),  m = max_k v_k.
 * x and y: same shape (1 to 4 dims; [batch, heads, q_len, k_len] when masks are used), same dtype (f32 or f16;
 * arithmetic in f32), any strides; y may be x (in place). -inf entries get 0; a fully masked row (every v_j -inf)
 * gives all zeros; +inf entries share the mass equally; rows of huge finite values give no NaN. A NaN in the row
 * gives NaN for the row. desc may be NULL (plain softmax). */
VKATTN_API vkattn_result vkattn_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_softmax_desc *desc,
                                        vkattn_tensor x, vkattn_tensor y);

typedef struct vkattn_matmul_desc {
    float scale;              /* 0 = 1.0; finite */
    bool transpose_b;         /* b is given as [.., N, K] and used transposed (Q K^T) */
} vkattn_matmul_desc;

/* Batched matrix product c = scale * a b (or a b^T), accumulated in f32.
 * a: [batch, heads, M, K] (or [heads, M, K], [M, K]); b: [batch_b, heads_b, K, N] ([.., N, K] with transpose_b) with
 * batch_b 1 or batch, and heads_b dividing heads: head h of a uses head h / (heads / heads_b) of b (grouped-query
 * broadcast); c: [batch, heads, M, N] with as many dims as a. Each of a, b, c f32 or f16, any strides (so Q
 * [batch, seq, heads, head_dim] is used as a view with permuted strides); c must not overlap a or b. desc may be
 * NULL. */
VKATTN_API vkattn_result vkattn_matmul(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_matmul_desc *desc,
                                       vkattn_tensor a, vkattn_tensor b, vkattn_tensor c);

typedef enum vkattn_attention_pe {
    VKATTN_PE_NONE = 0,       /* NoPE */
    VKATTN_PE_ROPE = 1,       /* RoPE on Q at q_offset + i and on K at j (desc->rope) */
    VKATTN_PE_ALIBI = 2,      /* ALiBi bias on the scores (desc->alibi) */
} vkattn_attention_pe;

typedef struct vkattn_attention_desc {
    float scale;              /* 0 = 1 / sqrt(head_dim); finite */
    bool causal;              /* as vkattn_softmax_desc */
    int32_t q_offset;         /* as vkattn_softmax_desc: query i at q_offset + i, key j at j */
    uint32_t window;          /* as vkattn_softmax_desc */
    vkattn_tensor mask;       /* as vkattn_softmax_desc, against scores [batch, heads, q_len, kv_len] */
    vkattn_attention_pe pe;   /* 0 = VKATTN_PE_NONE */
    /* PE_ROPE: NULL = defaults. Its pos_offset must be 0 (positions come from q_offset); for DYNAMIC / LONGROPE
     * without ctx_len the context length is max(kv_len, q_offset + q_len). A 2D or M-RoPE desc gets the same
     * position on every axis (as Qwen2-VL text tokens); for image positions run vkattn_rope with a positions
     * tensor on q and k first and use PE_NONE. */
    const vkattn_rope_desc *rope;
    const vkattn_alibi_desc *alibi; /* PE_ALIBI: NULL = the paper's slopes; its q_offset and causal must be 0 */
    /* Run matmul -> softmax (mask, ALiBi fused) -> matmul with a [batch, heads, q_len, kv_len] scores tensor instead
     * of the fused kernel, for comparison. */
    bool unfused;
} vkattn_attention_desc;

/* out = softmax(scale * Q K^T + alibi bias + mask, with causal / window masking) V, per batch and head.
 * q: [batch, q_len, heads, head_dim]; k, v: [batch, kv_len, kv_heads, head_dim] with kv_heads dividing heads (MHA,
 * GQA, MQA: head h reads KV head h / (heads / kv_heads)); out: like q. q, k, v, out: one dtype, f32 or f16
 * (arithmetic in f32), any strides; out must not overlap q, k or v. The fused kernel (head_dim up to 256) streams
 * K and V in tiles with an online softmax, so memory stays linear in the sequence length; decode (few queries,
 * long KV) splits the keys across workgroups and combines them. A fully masked query row gives zeros. desc may be
 * NULL. q, k, v, out may also have 3 dims ([seq, heads, head_dim], batch 1).
 * Errors: SHAPE_MISMATCH for shapes that do not fit or out overlapping q, k or v; DTYPE_MISMATCH; INVALID_ARGUMENT
 * for a bad desc (also desc->rope / desc->alibi set while desc->pe selects something else); UNSUPPORTED for
 * head_dim above 256 on the fused path (set desc->unfused). */
VKATTN_API vkattn_result vkattn_attention(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_attention_desc *desc,
                                          vkattn_tensor q, vkattn_tensor k, vkattn_tensor v, vkattn_tensor out);

#ifdef __cplusplus
}
#endif

#endif /* VKATTN_H */
