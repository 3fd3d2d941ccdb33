/*
 * internal.h - what core, ops and the backends share. Nothing here is public.
 *
 * Flow: public call (src/ops/, src/core/) -> checks + defaults -> vkattn__op -> vkattn__submit_op ->
 * ctx->backend->cmd_record (+ submit/wait in immediate mode).
 *
 * Backends always see tensors normalised to 4 dims (vkattn__tensor with ndim == 4): leading dims of size 1 are
 * added on the left, with stride 0. Strides and offsets are in elements of the tensor's dtype.
 */
#ifndef VKATTN_INTERNAL_H
#define VKATTN_INTERNAL_H

#include "vkattn.h"

#include <stdarg.h>

#if defined(__GNUC__) || defined(__clang__)
#  define VKATTN__PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#  define VKATTN__PRINTF(fmt_idx, args_idx)
#endif

#define VKATTN__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VKATTN__DEFAULT_TIMEOUT_MS 60000u
#define VKATTN__ERROR_LEN 1024

/* ---- storage and tensors ---------------------------------------------------------------------------------- */

/* Memory behind one or more tensors (a base tensor and its views). Freed through the backend when refs drops to 0.
 * refs counts tensor handles plus command lists that recorded an op using it. */
typedef struct vkattn__storage {
    uint32_t refs;
    uint64_t bytes;
    void *impl; /* the backend's buffer object (CPU: vkattn__cpu_buffer*, Vulkan: vkattn__vk_buffer*) */
} vkattn__storage;

/* A resolved tensor. In the handle pool it has the user's ndim; in ops (vkattn__op) it is normalised to 4 dims. */
typedef struct vkattn__tensor {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
    int64_t strides[VKATTN_MAX_DIMS]; /* elements, always filled in */
    int64_t offset;                   /* elements from the start of the storage */
    vkattn__storage *storage;
} vkattn__tensor;

/* ---- ops ---------------------------------------------------------------------------------------------------- */

typedef enum vkattn__op_kind {
    VKATTN__OP_COPY = 0,    /* inputs[0] -> outputs[0], same shape, f32/f16 conversion allowed */
    /* inputs[0] = x [batch, heads, q_len, k_len], inputs[1] = mask, inputs[2] = slopes, outputs[0] = y;
     * desc.softmax. */
    VKATTN__OP_SOFTMAX = 1,
    /* inputs[0] = x [batch, seq, heads, head_dim], inputs[1] = phase table (n_pairs entries), inputs[2] = positions
     * when desc.rope.has_positions; outputs[0] = y like x. */
    VKATTN__OP_ROPE = 2,
    /* inputs[0] = x [1, batch, seq, dim], inputs[1] = phase table (one entry per frequency k), inputs[2] =
     * positions when desc.sinusoidal.has_positions; outputs[0] = y like x. */
    VKATTN__OP_SINUSOIDAL = 3,
    /* inputs[0] = x [batch, heads, q_len, k_len], inputs[1] = slopes (f32 [1,1,1,heads], train_len scaling already
     * applied); outputs[0] = y like x. */
    VKATTN__OP_ALIBI = 4,
    /* inputs[0] = a [batch, heads, M, K], inputs[1] = b [batch_b, heads_b, K, N] (a transposed b is a view with
     * swapped strides; batch_b == 1 broadcasts with stride 0), outputs[0] = c [batch, heads, M, N]; desc.matmul.
     * Head h of a uses head h / desc.matmul.group of b. */
    VKATTN__OP_MATMUL = 5,
    /* inputs[0] = q [batch, q_len, heads, head_dim], inputs[1] = k, inputs[2] = v [batch, kv_len, kv_heads,
     * head_dim], inputs[3] = mask, inputs[4] = slopes; outputs[0] = out like q; outputs[1] = the split-key scratch
     * when desc.attention.n_splits > 1 (f32, n_splits * (head_dim + 2) values per query row and head: the partial
     * output, running max and running sum of each split). desc.attention. No PE here: the front end applies RoPE
     * before. */
    VKATTN__OP_ATTENTION = 6,
    /* inputs[0] -> outputs[0] as bytes: both contiguous, same shape and dtype, disjoint (vkattn_copy_buffer). */
    VKATTN__OP_COPY_BUFFER = 7,
} vkattn__op_kind;

/* Masking shared by softmax and attention, on scores [batch, heads, q_len, k_len]: query row i at q_pos =
 * q_offset + i, key j at k_pos = j; v = scale * x + mask + bias, then -inf where causal (k_pos > q_pos) or window
 * (window > 0 && q_pos - k_pos >= window). Unused input slots (mask, slopes) hold a copy of inputs[0] so that every
 * slot names a live storage; has_mask / has_alibi say whether they are real. */
typedef struct vkattn__mask_params {
    bool causal;
    int32_t q_offset;
    uint32_t window;
    bool has_mask;        /* mask tensor 4-dim, aligned with the scores: stride 0 on broadcast dims */
    bool has_alibi;       /* slopes f32 [1, 1, 1, heads]: bias = -slope[h] * dist(q_pos, k_pos) */
    uint32_t grid_width;  /* ALiBi distance: 0 = |q_pos - k_pos|, else Euclidean on a grid of this width */
} vkattn__mask_params;

typedef struct vkattn__softmax_params {
    float scale;          /* never 0 */
    vkattn__mask_params mask;
} vkattn__softmax_params;

typedef struct vkattn__matmul_params {
    float scale;
    uint32_t group;       /* heads / heads_b */
} vkattn__matmul_params;

typedef struct vkattn__attention_params {
    float scale;
    vkattn__mask_params mask;
    uint32_t group;       /* heads / kv_heads */
    uint32_t n_splits;    /* 1 = no split; else keys [s * split_len, (s + 1) * split_len) per split s */
    uint32_t split_len;
} vkattn__attention_params;

/* One entry of a phase table, the form in which the host hands frequencies to the kernels: the frequency theta
 * (radians per position step) as turns per step modulo 1, in 64-bit fixed point, turn = frac(theta / 2 pi) * 2^64
 * (turn_lo = low word). A kernel gets the angle at integer position p as the top bits of the wrapping product
 * p * turn mod 2^64 (p sign-extended), an exact reduction modulo 2 pi. axis: which position axis the pair uses. */
typedef struct vkattn__phase_entry {
    uint32_t turn_lo;
    uint32_t turn_hi;
    uint32_t axis;
    uint32_t pad;
} vkattn__phase_entry;

/* Positions, as ops get them (inputs[2]): i32 [1, axes, batch, seq] where the batch dim (and any absent dim) of
 * the caller's tensor has stride 0. */
typedef struct vkattn__rope_params {
    vkattn_rope_mode mode;
    uint32_t n_pairs;     /* rot_dims / 2: table entries; dims from 2 * n_pairs on pass through */
    float attn_factor;    /* multiplies cos and sin */
    int32_t pos_offset;   /* p = pos_offset + s when !has_positions */
    bool has_positions;
} vkattn__rope_params;

typedef struct vkattn__sinusoidal_params {
    vkattn_sinusoidal_layout layout;
    uint32_t n_freqs;     /* table entries: (dim + 1) / 2 interleaved, dim / 2 concat */
    int32_t pos_offset;
    bool has_positions;
} vkattn__sinusoidal_params;

typedef struct vkattn__alibi_params {
    int32_t q_offset;
    bool causal;
    uint32_t grid_width;  /* 0 = 1D */
} vkattn__alibi_params;

#define VKATTN__OP_MAX_INPUTS 6
#define VKATTN__OP_MAX_OUTPUTS 2

typedef struct vkattn__op {
    vkattn__op_kind kind;
    const char *name; /* static: "copy", "softmax", ... (what vkattn_cmd_timings reports) */
    uint32_t n_inputs;
    uint32_t n_outputs;
    vkattn__tensor inputs[VKATTN__OP_MAX_INPUTS];   /* normalised to 4 dims */
    vkattn__tensor outputs[VKATTN__OP_MAX_OUTPUTS]; /* normalised to 4 dims */
    union {
        vkattn__softmax_params softmax;
        vkattn__matmul_params matmul;
        vkattn__attention_params attention;
        vkattn__rope_params rope;
        vkattn__sinusoidal_params sinusoidal;
        vkattn__alibi_params alibi;
    } desc;
} vkattn__op;

/* ---- command lists -------------------------------------------------------------------------------------------- */

typedef enum vkattn__cmd_state {
    VKATTN__CMD_RECORDING = 0,
    VKATTN__CMD_PENDING = 1,
    VKATTN__CMD_COMPLETE = 2,
} vkattn__cmd_state;

struct vkattn_cmd {
    vkattn_context *ctx;
    uint32_t flags;            /* vkattn_cmd_flags */
    vkattn__cmd_state state;
    uint32_t op_count;
    uint32_t op_cap;
    const char **op_names;     /* op_count entries, for timings */
    vkattn__storage **held;    /* storages referenced by recorded ops (one ref each) */
    uint32_t held_count;
    uint32_t held_cap;
    void *impl;                /* backend state */
    vkattn_cmd *prev, *next;   /* the context's list of command lists */
};

/* ---- backend table --------------------------------------------------------------------------------------------- */

typedef struct vkattn__backend {
    const char *name;
    /* Frees ctx->impl. Called after every command list and storage of the context has been destroyed. */
    void (*destroy)(vkattn_context *ctx);
    vkattn_result (*wait_idle)(vkattn_context *ctx, uint64_t timeout_ns);

    /* Memory: at least `bytes` bytes, aligned for any dtype. Contents undefined. */
    vkattn_result (*buffer_create)(vkattn_context *ctx, uint64_t bytes, void **out);
    void (*buffer_destroy)(vkattn_context *ctx, void *buf);
    /* Synchronous transfers of a byte range; the core has already waited for submitted work. */
    vkattn_result (*buffer_write)(vkattn_context *ctx, void *buf, uint64_t offset, const void *src, uint64_t bytes);
    vkattn_result (*buffer_read)(vkattn_context *ctx, void *buf, uint64_t offset, void *dst, uint64_t bytes);

    /* Command lists: cmd_create sets cmd->impl; cmd_destroy is called only when the list is not pending. */
    vkattn_result (*cmd_create)(vkattn_context *ctx, vkattn_cmd *cmd);
    void (*cmd_destroy)(vkattn_context *ctx, vkattn_cmd *cmd);
    /* Records one op (already checked by the front end; the backend checks only its own limits). */
    vkattn_result (*cmd_record)(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op);
    vkattn_result (*cmd_submit)(vkattn_context *ctx, vkattn_cmd *cmd);
    /* VKATTN_OK when done, VKATTN_ERROR_TIMEOUT when still running. */
    vkattn_result (*cmd_wait)(vkattn_context *ctx, vkattn_cmd *cmd, uint64_t timeout_ns);
    /* Back to an empty recording list (never called while pending). */
    vkattn_result (*cmd_reset)(vkattn_context *ctx, vkattn_cmd *cmd);
    /* Milliseconds per recorded op (cmd->op_count entries) of a complete list recorded with VKATTN_CMD_TIMESTAMPS. */
    vkattn_result (*cmd_timings)(vkattn_context *ctx, const vkattn_cmd *cmd, double *ms);
} vkattn__backend;

/* ---- the context ------------------------------------------------------------------------------------------------ */

typedef struct vkattn__slot {
    uint32_t serial;        /* 0 = free */
    uint32_t next_free;     /* index + 1 of the next free slot, 0 = end */
    vkattn__tensor tensor;  /* user's ndim, strides filled in */
} vkattn__slot;

/* Constant tables (phase tables, slopes) in backend memory, cached by content (src/core/tables.c). */
#define VKATTN__TABLE_CACHE_SIZE 32

typedef struct vkattn__table_entry {
    uint64_t hash;             /* FNV-1a of dtype and bytes */
    uint64_t last_use;         /* cache clock at the last hit, for LRU eviction */
    uint32_t bytes;
    vkattn_dtype dtype;
    void *data;                /* host copy, to compare on a hash match */
    vkattn__storage *storage;  /* NULL = free entry; the cache holds one reference */
} vkattn__table_entry;

struct vkattn_context {
    const vkattn__backend *backend;
    void *impl;                    /* backend state */
    vkattn_context_desc desc;      /* copy of the caller's desc with defaults applied; string fields set to NULL */
    char *cache_dir;               /* owned copy of desc->cache_dir, or NULL */
    vkattn_device_info info;
    vkattn_context_stats stats;    /* backends update their counters directly */
    char last_error[VKATTN__ERROR_LEN];

    vkattn__slot *slots;           /* tensor handle pool */
    uint32_t slot_count;
    uint32_t slot_cap;
    uint32_t free_head;            /* index + 1 of the first free slot, 0 = none */

    vkattn__table_entry tables[VKATTN__TABLE_CACHE_SIZE];
    uint64_t table_clock;

    vkattn_cmd *cmds;              /* every live command list */
    vkattn_cmd *immediate;         /* internal list used when an op is called with cmd == NULL */
};

/* ---- core services (src/core) ------------------------------------------------------------------------------------ */

/* Records the message as ctx's last error (ctx NULL: this thread's), logs it at ERROR and returns r. The message
 * should name the failing public call: "vkattn_softmax: x and y differ in shape ([2,3] vs [3,2])". */
vkattn_result vkattn__error(vkattn_context *ctx, vkattn_result r, const char *fmt, ...) VKATTN__PRINTF(3, 4);
void vkattn__log(vkattn_context *ctx, vkattn_log_level level, const char *fmt, ...) VKATTN__PRINTF(3, 4);
void vkattn__logv(vkattn_context *ctx, vkattn_log_level level, const char *fmt, va_list ap) VKATTN__PRINTF(3, 0);
void vkattn__clear_error(vkattn_context *ctx);

/* Environment variable as a string, or NULL when unset, empty or ctx has VKATTN_CONTEXT_IGNORE_ENV. */
const char *vkattn__env(const vkattn_context_desc *desc, const char *name);

/* Handles. resolve: VKATTN_ERROR_INVALID_HANDLE with a message naming `func` and `what` ("x") on a bad handle. */
vkattn_result vkattn__tensor_resolve(vkattn_context *ctx, vkattn_tensor t, const char *func, const char *what,
                                     vkattn__tensor *out);
/* 4-dim form of a tensor (leading size-1 dims with stride 0). */
vkattn__tensor vkattn__tensor_as4d(const vkattn__tensor *t);
uint64_t vkattn__tensor_numel(const vkattn__tensor *t);
/* The element range [*lo, *hi] (inclusive, in elements from storage start) the tensor touches. */
/* Counts bytes of storage against desc.memory_limit (stats.bytes_allocated): OUT_OF_DEVICE_MEMORY (Vulkan) or
 * OUT_OF_HOST_MEMORY (CPU) past it, naming func; release gives them back. */
vkattn_result vkattn__memory_reserve(vkattn_context *ctx, uint64_t bytes, const char *func);
void vkattn__memory_release(vkattn_context *ctx, uint64_t bytes);
void vkattn__tensor_span(const vkattn__tensor *t, int64_t *lo, int64_t *hi);
bool vkattn__tensor_is_contiguous(const vkattn__tensor *t);
bool vkattn__same_shape(const vkattn__tensor *a, const vkattn__tensor *b);
/* Whether two distinct elements of t share memory (strides that overlap). */
bool vkattn__tensor_self_overlaps(const vkattn__tensor *t);
/* Whether a and b touch any common element of the same storage. */
bool vkattn__tensors_overlap(const vkattn__tensor *a, const vkattn__tensor *b);
/* Whether a and b are exactly the same view (storage, dtype, offset, shape, strides). */
bool vkattn__same_view(const vkattn__tensor *a, const vkattn__tensor *b);
/* "[2,3,4]" into buf. */
const char *vkattn__shape_str(const vkattn__tensor *t, char *buf, size_t len);

/* An op of the kind with the given inputs and outputs (copied as they are) and a zero desc. */
vkattn__op vkattn__op_make(vkattn__op_kind kind, const char *name, const vkattn__tensor *inputs, uint32_t n_inputs,
                           const vkattn__tensor *outputs, uint32_t n_outputs);

/* Runs (cmd NULL) or records (cmd non-NULL) an op whose tensors and desc the front end has checked. Takes a
 * reference on every storage the op uses for as long as the list holds the op. `func` names the public call. */
vkattn_result vkattn__submit_op(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op, const char *func);

/* A read-only table of `bytes` bytes (a multiple of 4) as a 4-dim tensor [1, 1, 1, bytes / 4] of dtype (F32 or I32):
 * the cached copy when one with the same contents exists, else a new storage written with `data`. The cache keeps
 * its own reference; ops that use the table take theirs through vkattn__submit_op. */
vkattn_result vkattn__table(vkattn_context *ctx, const char *func, vkattn_dtype dtype, const void *data,
                            uint32_t bytes, vkattn__tensor *out);
/* Drops the cache's references (context teardown, before the backend goes). */
void vkattn__tables_destroy(vkattn_context *ctx);

/* IEEE binary16 <-> binary32, round to nearest even (src/core/half.c). */
float vkattn__half_to_float(uint16_t h);
uint16_t vkattn__float_to_half(float f);

/* FNV-1a, 64-bit: h = VKATTN__FNV_BASIS to start, then chained over buffers (prime 0x100000001b3). */
#define VKATTN__FNV_BASIS 0xcbf29ce484222325u
uint64_t vkattn__fnv1a64(uint64_t h, const void *data, size_t n);

/* Checked arithmetic: false on overflow. */
bool vkattn__mul_u64(uint64_t a, uint64_t b, uint64_t *out);
bool vkattn__add_u64(uint64_t a, uint64_t b, uint64_t *out);

/* ---- backend entry points ------------------------------------------------------------------------------------------ */

/* Fill ctx->backend, ctx->impl and ctx->info. ctx->desc is already set up (defaults applied, env read); `device`
 * is the selector string (desc->device or VKATTN_DEVICE), NULL for the default device. On failure they return an
 * error through vkattn__error(ctx, ...) and leave ctx->impl NULL. */
vkattn_result vkattn__cpu_init(vkattn_context *ctx);
vkattn_result vkattn__vulkan_init(vkattn_context *ctx, const char *device, bool validation);
/* vkattn_enumerate_devices for the Vulkan devices; errors through vkattn__error(NULL, ...). */
vkattn_result vkattn__vulkan_enumerate(vkattn_device_info *out, uint32_t capacity, uint32_t *count);

#endif /* VKATTN_INTERNAL_H */
