/*
 * vk_ops.c - ops as kernel launches: the shader variant, the bindings and the push constants (mirrors of the
 * shaders' `layout(push_constant)` blocks, members 32-bit and tightly packed).
 *
 * Each tensor is bound from its first touched element (aligned down to minStorageBufferOffsetAlignment) to its last,
 * so the shader sees small element offsets; the shaders index with 32-bit integers, so shapes, strides, offsets and
 * element counts must fit in 32 bits and the bound range in maxStorageBufferRange.
 */
#include "vulkan/vk_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A push-constant struct mirrors its shader's block member by member (32-bit members at their std430 offsets), and
 * fits the 128 bytes every device offers. */
#define CHECK_PUSH(type, bytes) \
    _Static_assert(sizeof(type) == (bytes) && (bytes) <= 128, #type " mirrors " #bytes " bytes of push constants")

/* Whether kernels take their CPU-device shapes (lavapipe: one subgroup per workgroup, long loops): a CPU Vulkan
 * device, unless VKATTN_TEST_GPU_BLOCKING=1 asks it to run the GPU shapes so that tests cover them. The loop budgets
 * of the workgroup softmax, matmul and attention, which llvmpipe enforces whatever the shapes, go by the device type
 * itself; the GPU shapes of the row kernels loop at most row length / 256 times per row. */
static bool cpu_shapes(const vkattn_context *ctx)
{
    return ctx->info.type == VKATTN_DEVICE_CPU && !vkattn__vk(ctx)->test_gpu_blocking;
}

/* Row kernels on a CPU device (softmax_sg_*, rope.comp, sinusoidal.comp, alibi.comp): the loop iterations an
 * invocation may spend in all, out of llvmpipe's 65535 (see attention_max_keys), and the rows one workgroup takes to
 * reach about `target` items (fewer, longer workgroups: llvmpipe pays per workgroup) when each row costs `passes`
 * iterations and has `items` items; 0 when not even one row fits the budget. */
#define ROWS_CPU_MAX_PASSES 40000u

static uint32_t cpu_rows_per_group(uint64_t passes, uint64_t items, uint64_t target)
{
    if (passes > ROWS_CPU_MAX_PASSES)
        return 0;
    uint64_t rows = items < target ? target / items : 1;
    if (rows * passes > ROWS_CPU_MAX_PASSES)
        rows = ROWS_CPU_MAX_PASSES / passes;
    return (uint32_t)rows;
}

/* The 2D dispatch grid every shader walks (vkattn__vk_dispatch): workgroups along x, and the first row or element
 * of the dispatch. Push-constant structs embed it as two consecutive members. */
typedef struct grid_push {
    uint32_t groups_x;
    uint32_t base;
} grid_push;

/* Every shader's push constants start with the shape and the placement of its input x and output y (copy.comp: src
 * and dst); shape is x's. */
typedef struct xy_push {
    uint32_t shape[4];
    uint32_t x_stride[4];
    uint32_t y_stride[4];
    uint32_t x_offset;
    uint32_t y_offset;
} xy_push;

/* The masking of scores (shaders/mask.glsl) as softmax.comp takes it: where the mask and slopes are, and the
 * vkattn__mask_params. */
typedef struct mask_push {
    uint32_t stride[4];       /* mask [batch, heads, q_len, k_len], 0 on broadcast dims (a uvec4: 16-byte aligned) */
    uint32_t offset;
    uint32_t slope_offset;
    int32_t q_offset;
    uint32_t window;
    uint32_t grid_width;
    uint32_t flags;           /* MASK_* bits of mask.glsl */
} mask_push;

/* softmax.comp: one workgroup per row; row = row_base + gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x; bindings x,
 * y, the mask, the slopes. Its SUBGROUP_ROWS variants (softmax_sg_*): rows_per_group rows per workgroup, from row
 * row_base + (gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x) * rows_per_group, one subgroup per row, read and
 * written as vec4 where vec4_ok. */
typedef struct softmax_push {
    xy_push io;
    grid_push grid;
    mask_push mask;
    float scale;
    uint32_t rows_per_group;
    uint32_t vec4_ok;
} softmax_push;
_Static_assert(offsetof(softmax_push, mask) % 16 == 0, "softmax.comp's mask_stride is a uvec4");
CHECK_PUSH(softmax_push, 116);

/* The other shaders run one invocation per item: item = base + (gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x) *
 * WG + gl_LocalInvocationID.x (common.glsl's flat_index). copy.comp: an item is an element. */
typedef struct copy_push {
    xy_push io;
    grid_push grid;
} copy_push;
CHECK_PUSH(copy_push, 64);

/* rope.comp and sinusoidal.comp (shaders/phase_op.glsl); bindings x, y, the phase table, the positions. rope.comp:
 * an item is (row, k) with k < row_len; sinusoidal.comp: an element. */
typedef struct phase_push {
    xy_push io;
    uint32_t table_offset;
    uint32_t pos_offset;
    uint32_t pos_stride[4];   /* positions [1, axes, batch, seq] (16-byte aligned: a uvec4 in std430) */
    grid_push grid;
    uint32_t n_entries;       /* phase-table entries: n_pairs (rope), n_freqs (sinusoidal) */
    uint32_t row_len;         /* rope: n_pairs + the pass-through dims it copies */
    uint32_t layout;          /* vkattn_rope_mode (rope), vkattn_sinusoidal_layout (sinusoidal) */
    uint32_t has_positions;
    int32_t pos_start;        /* p = pos_start + s without positions */
    float attn_factor;        /* rope */
} phase_push;
_Static_assert(offsetof(phase_push, pos_stride) % 16 == 0, "phase_op.glsl's pos_stride is a uvec4");
CHECK_PUSH(phase_push, 112);

/* alibi.comp: an item is an element; bindings x, y, the slopes. */
typedef struct alibi_push {
    xy_push io;
    uint32_t slope_offset;
    grid_push grid;
    int32_t q_offset;
    uint32_t causal;
    uint32_t grid_width;
} alibi_push;
CHECK_PUSH(alibi_push, 80);

/* matmul.comp: one workgroup per TM x TN tile of c, tile = tile_base + flat group index (n fastest, then m, then
 * batch * heads); bindings a, b, c. */
typedef struct matmul_push {
    uint32_t a_stride[4];
    uint32_t b_stride[4];
    uint32_t c_stride[4];
    uint32_t a_offset;
    uint32_t b_offset;
    uint32_t c_offset;
    uint32_t batch;
    uint32_t heads;
    uint32_t m, n, k;
    uint32_t group;
    grid_push grid;
    float scale;
    uint32_t accumulate;
} matmul_push;
CHECK_PUSH(matmul_push, 100);

/* attention.comp: one workgroup per (batch, kv head, block of rows, split), the split fastest; bindings q, k, v, the
 * mask, the slopes, out, the split scratch. Seven tensors' strides and offsets do not fit in 128 bytes as 32-bit
 * words, so the offsets go in a byte each: bind_tensor leaves an element offset below minStorageBufferOffsetAlignment
 * / element size, and the Vulkan spec bounds that alignment by 256 bytes (Required Limits). The mask flags, window and
 * grid width are specialization constants (attention_spec). */
typedef struct attention_push {
    uint32_t q_stride[4];
    uint32_t k_stride[4];
    uint32_t v_stride[4];
    uint32_t o_stride[4];
    uint32_t mask_stride[4];
    uint32_t offsets[2];      /* bytes: q, k, v, out | mask, slopes, scratch */
    uint32_t batch;
    uint32_t q_len;
    uint32_t kv_heads;
    uint32_t kv_len;
    grid_push grid;
    float scale;
    int32_t q_offset;
    uint32_t n_splits;
    uint32_t split_len;
} attention_push;
CHECK_PUSH(attention_push, 128);

/* attention_combine.comp: one invocation per element of out; bindings the split scratch, out. */
typedef struct combine_push {
    uint32_t shape[4];        /* out's */
    uint32_t o_stride[4];
    uint32_t o_offset;
    uint32_t part_offset;
    uint32_t n_splits;
    grid_push grid;
} combine_push;
CHECK_PUSH(combine_push, 52);

/* One tensor binding of a launch, and where its element offset and strides go in the push constants. */
typedef struct op_tensor {
    const vkattn__tensor *t;
    const char *what;    /* its name in messages */
    bool written;
    uint32_t *offset;
    uint32_t *strides;   /* 4 entries; NULL for the library's own tables, which kernels index as contiguous */
} op_tensor;

/* The f16 variants declare float16_t storage buffers (SPIR-V StorageBuffer16BitAccess). */
static vkattn_result check_dtype(vkattn_context *ctx, const char *func, vkattn_dtype dtype)
{
    if (dtype != VKATTN_F16 || ctx->info.fp16_storage)
        return VKATTN_OK;
    return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                         "%s: f16 tensors need 16-bit storage buffers (storageBuffer16BitAccess), which the Vulkan "
                         "device %s does not offer; use f32 tensors or the CPU backend",
                         func, ctx->info.name);
}

/* The kernels count elements in 32 bits, one workgroup past the last element included. */
static vkattn_result check_count(vkattn_context *ctx, const char *func, const vkattn__tensor *t, uint32_t wg)
{
    uint64_t numel = vkattn__tensor_numel(t);
    if (numel <= (uint64_t)UINT32_MAX - wg)
        return VKATTN_OK;
    return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                         "%s: %llu elements are more than the Vulkan kernels' 32-bit indices reach", func,
                         (unsigned long long)numel);
}

/* Bytes [*start, *end) of the block's buffer that binding t takes: from its first touched element, aligned down to
 * minStorageBufferOffsetAlignment, to its last. */
static void binding_range(const vkattn_context *ctx, const vkattn__tensor *t, VkDeviceSize *start, VkDeviceSize *end)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    const vkattn__vk_buffer *buf = t->storage->impl;
    VkDeviceSize size = vkattn_dtype_size(t->dtype);
    int64_t lo, hi;
    vkattn__tensor_span(t, &lo, &hi);
    /* Pieces start on a multiple of the alignment, and alignment and element size are powers of two, so `start`
     * is a whole number of elements from the piece's start. */
    VkDeviceSize align = vk->limits.minStorageBufferOffsetAlignment ? vk->limits.minStorageBufferOffsetAlignment : 1;
    *start = (buf->offset + (VkDeviceSize)lo * size) / align * align;
    *end = buf->offset + (VkDeviceSize)(hi + 1) * size;
}

static bool binding_fits(const vkattn_context *ctx, const vkattn__tensor *t)
{
    VkDeviceSize start, end;
    binding_range(ctx, t, &start, &end);
    return end - start <= vkattn__vk(ctx)->limits.maxStorageBufferRange;
}

/* t narrowed to n entries from `first` along dim (unless it broadcasts there). */
static vkattn__tensor narrowed(const vkattn__tensor *t, int dim, int64_t first, int64_t n)
{
    vkattn__tensor w = *t;
    if (w.shape[dim] > 1) {
        w.offset += first * w.strides[dim];
        w.shape[dim] = n;
    }
    return w;
}

/* How many entries of dim one binding of t may take: all when t fits the storage-buffer range, else as many as fit,
 * counting the alignment bind_tensor may start a window below its first element; 0 when not even one does. A window
 * of n entries spans one entry's span plus n - 1 strides of dim. */
static uint64_t window_len(const vkattn_context *ctx, const vkattn__tensor *t, int dim)
{
    if (binding_fits(ctx, t))
        return (uint64_t)t->shape[dim];
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    uint64_t range = vk->limits.maxStorageBufferRange, align = vk->limits.minStorageBufferOffsetAlignment;
    vkattn__tensor one = narrowed(t, dim, 0, 1);
    int64_t lo, hi;
    vkattn__tensor_span(&one, &lo, &hi);
    uint64_t size = vkattn_dtype_size(t->dtype);
    uint64_t rest = (uint64_t)(hi - lo + 1) * size + align, per = (uint64_t)t->strides[dim] * size;
    if (rest > range || t->shape[dim] == 1)
        return 0;
    uint64_t fit = (range - rest) / per + 1;
    return fit < (uint64_t)t->shape[dim] ? fit : (uint64_t)t->shape[dim];
}

/* The dispatches of the pieces of an op cut into windows (vkattn__vk_cmd_record), with copies of what they point
 * to, which lives on the recording functions' stacks. */
typedef struct collector {
    vkattn__vk_dispatch *d;
    struct collected {
        unsigned char push[128];
        char shader[64];
    } *data;
    uint32_t n, cap;
} collector;

/* Records n dispatches as one op, or gathers them while the pieces of a cut op are recorded. */
static vkattn_result emit(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__vk_dispatch *d,
                          uint32_t n)
{
    collector *col = vkattn__vk(ctx)->collect;
    if (!col)
        return vkattn__vk_record_dispatches(ctx, cmd, func, d, n);
    if (col->n + n > col->cap) {
        uint32_t cap = col->cap ? 2 * col->cap : 64;
        while (cap < col->n + n)
            cap *= 2;
        if (cap > VKATTN__VK_MAX_DISPATCHES)
            return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                                 "%s: the op's windows of the storage-buffer range take more than %u dispatches",
                                 func, VKATTN__VK_MAX_DISPATCHES);
        vkattn__vk_dispatch *grown_d = realloc(col->d, cap * sizeof *grown_d);
        if (grown_d)
            col->d = grown_d;
        struct collected *grown = grown_d ? realloc(col->data, cap * sizeof *grown) : NULL;
        if (!grown)
            return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
        col->data = grown;
        col->cap = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (d[i].push_size > sizeof col->data->push)
            return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: %u bytes of push constants", func, d[i].push_size);
        col->d[col->n] = d[i];
        memcpy(col->data[col->n].push, d[i].push, d[i].push_size);
        snprintf(col->data[col->n].shader, sizeof col->data->shader, "%s", d[i].shader);
        col->n++;
    }
    return VKATTN_OK;
}

/* Binds ot->t and fills its element offset (from the bound range's start) and strides for the push constants. */
static vkattn_result bind_tensor(vkattn_context *ctx, const char *func, const op_tensor *ot, vkattn__vk_binding *b)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    const vkattn__tensor *t = ot->t;
    const vkattn__vk_buffer *buf = t->storage->impl;
    VkDeviceSize size = vkattn_dtype_size(t->dtype);
    VkDeviceSize start, end;
    binding_range(ctx, t, &start, &end);
    if (end - start > vk->limits.maxStorageBufferRange)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: %s spans %llu bytes of memory, more than the device's storage-buffer range (%u "
                             "bytes), and this op cannot bind it in smaller windows",
                             func, ot->what, (unsigned long long)(end - start), vk->limits.maxStorageBufferRange);
    *b = (vkattn__vk_binding){buf->block, start, end - start, ot->written};
    *ot->offset = (uint32_t)((buf->offset + (VkDeviceSize)t->offset * size - start) / size);
    for (int k = 0; ot->strides && k < 4; k++) {
        /* A stride times its largest index stays inside the bound range; a size-1 dim's stride is never used. */
        ot->strides[k] = t->shape[k] > 1 ? (uint32_t)t->strides[k] : 0;
    }
    return VKATTN_OK;
}

/* Bindings 0 and 1 of every kernel, x = inputs[0] and y = outputs[0], named x_name and y_name in messages; and x's
 * shape. */
static void xy_tensors(const vkattn__op *op, const char *x_name, const char *y_name, xy_push *io, op_tensor ts[2])
{
    ts[0] = (op_tensor){&op->inputs[0], x_name, false, &io->x_offset, io->x_stride};
    ts[1] = (op_tensor){&op->outputs[0], y_name, true, &io->y_offset, io->y_stride};
    for (int k = 0; k < 4; k++)
        io->shape[k] = (uint32_t)op->inputs[0].shape[k]; /* each is at most numel, checked to fit */
}

/* A kernel launch over `items` rows or elements, per_group of them per workgroup; the push constants hold a
 * grid_push at byte grid_at. */
static vkattn__vk_dispatch grid_dispatch(const char *shader, uint32_t wg, const void *push, uint32_t push_size,
                                         uint32_t grid_at, uint32_t per_group, uint64_t items)
{
    return (vkattn__vk_dispatch){
        .shader = shader,
        .workgroup_size = wg,
        .push = push,
        .push_size = push_size,
        .groups_x_at = grid_at + (uint32_t)offsetof(grid_push, groups_x),
        .base_at = grid_at + (uint32_t)offsetof(grid_push, base),
        .base_per_group = per_group,
        .groups = (items + per_group - 1) / per_group,
    };
}

/* Checks the device's limits for the tensors and binds them in order into d, filling their push-constant fields. */
static vkattn_result bind_all(vkattn_context *ctx, const char *func, vkattn__vk_dispatch *d, const op_tensor *ts,
                              uint32_t n)
{
    vkattn_result r = VKATTN_OK;
    for (uint32_t i = 0; r == VKATTN_OK && i < n; i++) {
        r = check_count(ctx, func, ts[i].t, d->workgroup_size);
        if (r == VKATTN_OK)
            r = check_dtype(ctx, func, ts[i].t->dtype);
        if (r == VKATTN_OK)
            r = bind_tensor(ctx, func, &ts[i], &d->bindings[i]);
    }
    d->n_bindings = n;
    return r;
}

/* Binds the tensors (bind_all) and records d. */
static vkattn_result launch(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, vkattn__vk_dispatch *d,
                            const op_tensor *ts, uint32_t n)
{
    vkattn_result r = bind_all(ctx, func, d, ts, n);
    return r != VKATTN_OK ? r : emit(ctx, cmd, func, d, 1);
}

/* "<family>_<dtype>", the variant name of a single-dtype shader in shaders.cmake. */
static const char *variant(char shader[32], const char *family, vkattn_dtype dtype)
{
    snprintf(shader, 32, "%s_%s", family, vkattn_dtype_name(dtype));
    return shader;
}

static uint64_t rows_of(const vkattn__tensor *t)
{
    return (uint64_t)t->shape[0] * (uint64_t)t->shape[1] * (uint64_t)t->shape[2];
}

/* MASK_* of shaders/mask.glsl. */
enum { MASK_CAUSAL = 1, MASK_ADDITIVE = 2, MASK_ALIBI = 4 };

static uint32_t mask_flags(const vkattn__mask_params *m)
{
    return (m->causal ? MASK_CAUSAL : 0u) | (m->has_mask ? MASK_ADDITIVE : 0u) | (m->has_alibi ? MASK_ALIBI : 0u);
}

/* Loop iterations an invocation of softmax.comp may spend walking its row on a CPU device, out of llvmpipe's 65535
 * (the rest go to the shared-memory reduction and a margin). */
#define SOFTMAX_CPU_MAX_PASSES 60000u
/* The elements a workgroup of the subgroup kernel aims at on a CPU device. */
#define SOFTMAX_SG_CPU_ELEMENTS 4096u
/* Rows up to this long take the subgroup kernel on a GPU (one subgroup per row, several rows per workgroup); longer
 * rows take a whole workgroup each. */
#define SOFTMAX_SG_GPU_MAX_ROW 2048u

/* Whether x and y of a bound row kernel (softmax.comp, alibi.comp) can be read and written as vec4: contiguous along
 * rows of a multiple of 4 elements, every row starting 4-aligned in its binding. */
static bool rows_vec4(const vkattn__op *op, const xy_push *io)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    if (x->shape[3] % 4 != 0 || x->strides[3] != 1 || y->strides[3] != 1 || io->x_offset % 4 != 0 ||
        io->y_offset % 4 != 0)
        return false;
    for (int i = 0; i < 3; i++)
        if (x->shape[i] > 1 && (x->strides[i] % 4 != 0 || y->strides[i] % 4 != 0))
            return false;
    return true;
}

/* The subgroup kernel's workgroup size for x, 0 when it does not apply: a device with subgroup arithmetic (not the
 * phone profile, not VKATTN_CONTEXT_BASELINE_KERNELS); on a GPU rows up to SOFTMAX_SG_GPU_MAX_ROW and 128
 * invocations (or one subgroup, if larger, so that every subgroup is full whatever size the driver runs); on a CPU
 * device one subgroup, which avoids the barriers llvmpipe runs as coroutine switches. */
static uint32_t softmax_sg_workgroup(const vkattn_context *ctx, const vkattn__tensor *x)
{
    uint32_t sg = ctx->info.subgroup_size;
    bool cpu = cpu_shapes(ctx);
    if ((ctx->desc.flags & VKATTN_CONTEXT_BASELINE_KERNELS) || !ctx->info.subgroup_arithmetic || sg < 4 ||
        (sg & (sg - 1)) != 0 || (!cpu && (uint64_t)x->shape[3] > SOFTMAX_SG_GPU_MAX_ROW))
        return 0;
    uint32_t wg = vkattn__vk_workgroup_size(ctx, cpu ? sg : (sg > 128 ? sg : 128), 0);
    return wg % sg == 0 ? wg : 0;
}

/* Rows per workgroup of the subgroup kernel: one per subgroup on a GPU; on a CPU device about
 * SOFTMAX_SG_CPU_ELEMENTS elements within llvmpipe's loop budget, 0 when not even one row fits it. */
static uint32_t softmax_sg_rows(const vkattn_context *ctx, uint32_t wg, uint64_t n, bool vec4)
{
    uint32_t sg = ctx->info.subgroup_size;
    if (!cpu_shapes(ctx))
        return wg / sg;
    uint64_t step = vec4 ? 4u * (uint64_t)sg : sg;
    return cpu_rows_per_group(2 * ((n + step - 1) / step), n, SOFTMAX_SG_CPU_ELEMENTS); /* two passes per row */
}

/* softmax.comp's specialization constants: the mask flags and whether ALiBi is 2D (fixed per pipeline, so that no
 * kernel carries the code of masking it does not do). */
static void softmax_spec(vkattn__vk_dispatch *d, const softmax_push *pc)
{
    d->spec[0] = pc->mask.flags;
    d->spec[1] = pc->mask.grid_width != 0;
    d->n_spec = 2;
}

static void softmax_tensors(const vkattn__op *op, softmax_push *pc, op_tensor *ts)
{
    xy_tensors(op, "x", "y", &pc->io, ts);
    ts[2] = (op_tensor){&op->inputs[1], "the mask", false, &pc->mask.offset, pc->mask.stride};
    ts[3] = (op_tensor){&op->inputs[2], "the slopes", false, &pc->mask.slope_offset, NULL};
}

static vkattn_result record_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0];
    const vkattn__softmax_params *p = &op->desc.softmax;
    uint64_t n = (uint64_t)x->shape[3];
    softmax_push pc = {
        .mask = {.q_offset = p->mask.q_offset, .window = p->mask.window, .grid_width = p->mask.grid_width,
                 .flags = mask_flags(&p->mask)},
        .scale = p->scale,
    };
    const char *mask_dtype = vkattn_dtype_name(op->inputs[1].dtype);
    char shader[32];
    op_tensor ts[4];
    uint32_t sg_wg = softmax_sg_workgroup(ctx, x);
    if (sg_wg) {
        snprintf(shader, sizeof shader, "softmax_sg_%s_%s", vkattn_dtype_name(x->dtype), mask_dtype);
        vkattn__vk_dispatch d = grid_dispatch(shader, sg_wg, &pc, sizeof pc, offsetof(softmax_push, grid), 1, 1);
        softmax_tensors(op, &pc, ts);
        vkattn_result r = bind_all(ctx, func, &d, ts, 4);
        if (r != VKATTN_OK)
            return r;
        bool vec4 = rows_vec4(op, &pc.io);
        uint32_t rows = softmax_sg_rows(ctx, sg_wg, n, vec4);
        if (rows) {
            softmax_spec(&d, &pc);
            pc.rows_per_group = rows;
            pc.vec4_ok = vec4;
            d.base_per_group = rows;
            d.groups = (rows_of(x) + rows - 1) / rows;
            return emit(ctx, cmd, func, &d, 1);
        }
    }
    /* Two floats of shared memory per invocation: the running max and sum. A GPU takes 256 invocations per row; a CPU
     * device one subgroup (each barrier of the reduction costs a switch over every SIMD batch of the workgroup there:
     * on lavapipe rows of 1024 ran 2.6x faster with 8 invocations than with 256). An invocation walks its row twice,
     * n / wg elements each time: on a CPU device (llvmpipe's limit of 65535 loop iterations per invocation, see
     * attention_max_keys) a long row takes the largest workgroup, and a row longer than that allows is refused
     * rather than cut off (measured on lavapipe: rows of 30,000,000 came out wrong with 256 invocations). */
    bool cpu = ctx->info.type == VKATTN_DEVICE_CPU;
    uint32_t wg = vkattn__vk_workgroup_size(ctx, cpu && ctx->info.subgroup_size ? ctx->info.subgroup_size : 256,
                                            2 * sizeof(float));
    if (cpu && 2 * ((n + wg - 1) / wg) > SOFTMAX_CPU_MAX_PASSES) {
        wg = vkattn__vk_workgroup_size(ctx, 1024, 2 * sizeof(float));
        if (2 * ((n + wg - 1) / wg) > SOFTMAX_CPU_MAX_PASSES)
            return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                                 "%s: rows of %llu elements are longer than the Vulkan device %s can walk in one "
                                 "kernel (%llu; CPU Vulkan devices limit the loop iterations of a kernel); use the "
                                 "CPU backend",
                                 func, (unsigned long long)n, ctx->info.name,
                                 (unsigned long long)(SOFTMAX_CPU_MAX_PASSES / 2) * wg);
    }
    snprintf(shader, sizeof shader, "softmax_%s_%s", vkattn_dtype_name(x->dtype), mask_dtype);
    vkattn__vk_dispatch d = grid_dispatch(shader, wg, &pc, sizeof pc, offsetof(softmax_push, grid), 1, rows_of(x));
    softmax_spec(&d, &pc);
    softmax_tensors(op, &pc, ts);
    return launch(ctx, cmd, func, &d, ts, 4);
}

/* copy.comp's VEC4 variants: vec4 items, this many per invocation on a CPU device, which runs one subgroup per
 * workgroup looping over its share (measured on lavapipe, f32: 8 invocations with 8 vec4 each copied 7.9 GB/s,
 * with 64 each 9.3 GB/s, against 1.2 GB/s for the per-element kernel with 256); one on a GPU. */
#define COPY_V4_PER_INVOCATION 64u

/* Whether a bound copy can move groups of 4 elements: both tensors contiguous (row-major, no gaps), their element
 * offsets in their bindings multiples of 4, numel a multiple of 4. */
static bool copy_vec4(const vkattn__op *op, const copy_push *pc)
{
    return vkattn__tensor_is_contiguous(&op->inputs[0]) && vkattn__tensor_is_contiguous(&op->outputs[0]) &&
           vkattn__tensor_numel(&op->inputs[0]) % 4 == 0 && pc->io.x_offset % 4 == 0 && pc->io.y_offset % 4 == 0;
}

static vkattn_result record_copy(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    bool cpu = cpu_shapes(ctx);
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    copy_push pc = {0};
    char shader[32];
    snprintf(shader, sizeof shader, "copy_%s_%s", vkattn_dtype_name(src->dtype), vkattn_dtype_name(dst->dtype));
    vkattn__vk_dispatch d = grid_dispatch(shader, wg, &pc, sizeof pc, offsetof(copy_push, grid), wg,
                                          vkattn__tensor_numel(src));
    op_tensor ts[2];
    xy_tensors(op, "src", "dst", &pc.io, ts);
    vkattn_result r = bind_all(ctx, func, &d, ts, 2);
    if (r != VKATTN_OK)
        return r;
    if (!(ctx->desc.flags & VKATTN_CONTEXT_BASELINE_KERNELS) && copy_vec4(op, &pc)) {
        uint32_t v4_wg = cpu && ctx->info.subgroup_size ? vkattn__vk_workgroup_size(ctx, ctx->info.subgroup_size, 0)
                                                        : wg;
        uint32_t per_group = v4_wg * (cpu ? COPY_V4_PER_INVOCATION : 1u);
        snprintf(shader, sizeof shader, "copy_%s_%s_v4", vkattn_dtype_name(src->dtype), vkattn_dtype_name(dst->dtype));
        d.workgroup_size = v4_wg;
        d.spec[0] = per_group;
        d.n_spec = 1;
        d.base_per_group = per_group;
        d.groups = (vkattn__tensor_numel(src) / 4 + per_group - 1) / per_group;
    }
    return emit(ctx, cmd, func, &d, 1);
}

/* The workgroup of a row-walking kernel (rope.comp, sinusoidal.comp, alibi.comp) for rows of row_len items, and
 * the rows each takes: on a CPU device one subgroup (doubled while its invocations would loop more than
 * ROWS_CPU_MAX_PASSES times over one row) and about PHASE_CPU_ITEMS items per workgroup; on a GPU the row's length
 * rounded up to a multiple of 32, at most 256, and one row. 0 when even the largest workgroup would loop too often. */
#define PHASE_CPU_ITEMS 2048u

static uint32_t row_workgroup(const vkattn_context *ctx, uint64_t row_len, uint32_t *rows_per_group)
{
    *rows_per_group = 1;
    if (!cpu_shapes(ctx)) {
        uint64_t want = (row_len + 31) / 32 * 32;
        return vkattn__vk_workgroup_size(ctx, want < 256 ? (uint32_t)want : 256u, 0);
    }
    uint32_t max_wg = vkattn__vk_workgroup_size(ctx, 1024, 0);
    uint32_t wg = vkattn__vk_workgroup_size(ctx, ctx->info.subgroup_size ? ctx->info.subgroup_size : 8, 0);
    while ((row_len + wg - 1) / wg > ROWS_CPU_MAX_PASSES && wg < max_wg)
        wg = 2 * wg < max_wg ? 2 * wg : max_wg;
    *rows_per_group = cpu_rows_per_group((row_len + wg - 1) / wg, row_len, PHASE_CPU_ITEMS);
    return *rows_per_group ? wg : 0;
}

static vkattn_result long_rows(vkattn_context *ctx, const char *func, uint64_t n)
{
    return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                         "%s: rows of %llu elements are longer than the Vulkan device %s can walk in one kernel (CPU "
                         "Vulkan devices limit the loop iterations of a kernel); use the CPU backend",
                         func, (unsigned long long)n, ctx->info.name);
}

/* rope.comp and sinusoidal.comp over `rows` rows of row_len items each. */
static vkattn_result record_phase(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op,
                                  const char *family, phase_push *pc, uint64_t rows, uint64_t row_len)
{
    const vkattn__tensor *table = &op->inputs[1];
    uint32_t per_group = 1;
    uint32_t wg = row_workgroup(ctx, row_len ? row_len : 1, &per_group);
    if (!wg)
        return long_rows(ctx, func, row_len);
    char shader[32];
    vkattn__vk_dispatch d = grid_dispatch(variant(shader, family, op->inputs[0].dtype), wg, pc, sizeof *pc,
                                          offsetof(phase_push, grid), per_group, rows);
    bool multi_axis = pc->has_positions && op->inputs[2].ndim >= 2 && op->inputs[2].shape[1] > 1;
    const uint32_t spec[] = {pc->layout, pc->has_positions, multi_axis, per_group};
    memcpy(d.spec, spec, sizeof spec);
    d.n_spec = VKATTN__ARRAY_LEN(spec);
    op_tensor ts[4];
    xy_tensors(op, "x", "y", &pc->io, ts);
    ts[2] = (op_tensor){table, "the phase table", false, &pc->table_offset, NULL};
    /* Without positions the table stands in for them, so every variant has the same four bindings; the kernel
     * then never reads binding 3. */
    ts[3] = (op_tensor){pc->has_positions ? &op->inputs[2] : table, "positions", false, &pc->pos_offset,
                        pc->pos_stride};
    return launch(ctx, cmd, func, &d, ts, 4);
}

static vkattn_result record_rope(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__rope_params *p = &op->desc.rope;
    const vkattn__tensor *x = &op->inputs[0];
    /* In place, the pass-through dims already hold their result. */
    uint32_t pass = vkattn__same_view(x, &op->outputs[0]) ? 0 : (uint32_t)x->shape[3] - 2 * p->n_pairs;
    phase_push pc = {
        .n_entries = p->n_pairs,
        .row_len = p->n_pairs + pass,
        .layout = (uint32_t)p->mode,
        .has_positions = p->has_positions,
        .pos_start = p->pos_offset,
        .attn_factor = p->attn_factor,
    };
    return record_phase(ctx, cmd, func, op, "rope", &pc, rows_of(x), pc.row_len);
}

static vkattn_result record_sinusoidal(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__sinusoidal_params *p = &op->desc.sinusoidal;
    phase_push pc = {
        .n_entries = p->n_freqs,
        .layout = (uint32_t)p->layout,
        .has_positions = p->has_positions,
        .pos_start = p->pos_offset,
    };
    const vkattn__tensor *x = &op->inputs[0];
    return record_phase(ctx, cmd, func, op, "sinusoidal", &pc, rows_of(x), (uint64_t)x->shape[3]);
}

static vkattn_result record_alibi(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__alibi_params *p = &op->desc.alibi;
    const vkattn__tensor *x = &op->inputs[0];
    alibi_push pc = {.q_offset = p->q_offset, .causal = p->causal, .grid_width = p->grid_width};
    char shader[32];
    vkattn__vk_dispatch d = grid_dispatch(variant(shader, "alibi", x->dtype), 1, &pc, sizeof pc,
                                          offsetof(alibi_push, grid), 1, rows_of(x));
    op_tensor ts[3];
    xy_tensors(op, "x", "y", &pc.io, ts);
    ts[2] = (op_tensor){&op->inputs[1], "the slopes", false, &pc.slope_offset, NULL};
    vkattn_result r = bind_all(ctx, func, &d, ts, 3);
    if (r != VKATTN_OK)
        return r;
    bool vec4 = !(ctx->desc.flags & VKATTN_CONTEXT_BASELINE_KERNELS) && rows_vec4(op, &pc.io);
    uint64_t n = (uint64_t)x->shape[3];
    uint32_t per_group = 1;
    d.workgroup_size = row_workgroup(ctx, vec4 ? (n + 3) / 4 : (n ? n : 1), &per_group);
    if (!d.workgroup_size)
        return long_rows(ctx, func, n);
    d.base_per_group = per_group;
    d.groups = (rows_of(x) + per_group - 1) / per_group;
    const uint32_t spec[] = {p->causal, p->grid_width != 0, per_group, vec4};
    memcpy(d.spec, spec, sizeof spec);
    d.n_spec = VKATTN__ARRAY_LEN(spec);
    return emit(ctx, cmd, func, &d, 1);
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = 1;
    while (p < n && p < 0x80000000u)
        p <<= 1;
    return p;
}

/* A matmul tile (matmul.comp's specialization constants 1 to 5): rows and columns of c per workgroup, depth of the
 * staged slices, rows and columns per invocation. */
typedef struct matmul_tile {
    uint32_t tm, tn, tk, rm, rn;
} matmul_tile;

/* The first tile that fits the device and is not much larger than c: 8 x 4 outputs per invocation reuse each staged
 * value of a 4 times and of b 8 times from registers (twice as fast as 4 x 4 on lavapipe); smaller workgroups for
 * the limits, a 16-row tile for few rows (decode), down to 1 invocation. */
static matmul_tile matmul_tile_for(const vkattn_context *ctx, uint32_t m, uint32_t n)
{
    static const matmul_tile tiles[] = {
        {128, 64, 16, 8, 4}, {64, 64, 16, 8, 4}, {64, 32, 16, 4, 4}, {16, 128, 16, 2, 8},
        {32, 32, 16, 4, 4},  {16, 16, 16, 4, 4}, {4, 4, 4, 4, 4},
    };
    const VkPhysicalDeviceLimits *l = &vkattn__vk(ctx)->limits;
    uint32_t max_m = pow2_at_least(m < 16 ? 16 : m), max_n = pow2_at_least(n < 16 ? 16 : n);
    size_t i = 0;
    for (; i + 1 < VKATTN__ARRAY_LEN(tiles); i++) {
        const matmul_tile *t = &tiles[i];
        uint32_t invocations = (t->tm / t->rm) * (t->tn / t->rn);
        uint32_t shared = (t->tm + t->tn) * t->tk * (uint32_t)sizeof(float);
        if (invocations <= l->maxComputeWorkGroupInvocations && invocations <= l->maxComputeWorkGroupSize[0] &&
            shared <= l->maxComputeSharedMemorySize && t->tm <= max_m && t->tn <= max_n)
            break;
    }
    return tiles[i];
}

/* matvec.comp, matmul's subgroup path: for at most MATVEC_MAX_M rows of a (its MAX_M), b contiguous along k, a device
 * whose compute shaders have subgroup arithmetic, and no VKATTN_CONTEXT_BASELINE_KERNELS. The k loop runs
 * K / subgroup size times per invocation; MATVEC_MAX_K keeps it far below llvmpipe's limit on loop iterations
 * (see attention_max_keys). */
enum { MATVEC_MAX_M = 8, MATVEC_MAX_K = 16384 };

/* The workgroup size of matvec.comp for this matmul, 0 when it does not apply: 128 invocations (or one subgroup, if
 * larger), so that every subgroup is full whatever size the driver runs, subgroup sizes being powers of two. */
static uint32_t matvec_workgroup(const vkattn_context *ctx, const vkattn__tensor *b, const vkattn__tensor *c)
{
    uint32_t sg = ctx->info.subgroup_size;
    if ((ctx->desc.flags & VKATTN_CONTEXT_BASELINE_KERNELS) || !ctx->info.subgroup_arithmetic || sg < 4 ||
        (sg & (sg - 1)) != 0 || c->shape[2] > MATVEC_MAX_M || b->strides[2] != 1 || b->shape[2] > MATVEC_MAX_K)
        return 0;
    uint32_t wg = vkattn__vk_workgroup_size(ctx, sg > 128 ? sg : 128, 0);
    return wg % sg == 0 ? wg : 0;
}

/* The longest slice of K one matmul.comp dispatch may take. A CPU device runs on llvmpipe's limit of 65535 loop
 * iterations per invocation in all (see attention_max_keys); per TK of K an invocation of matmul.comp loops once
 * over the tiles, over the staging of a and of b, and TK times over the staged depth (measured on lavapipe: 35 per
 * tile of 16 with the 16 x 128 tile, results cut off past K = 29968). A budget of 40000 keeps a margin of 1.6.
 * Other devices take all of K at once. */
static uint32_t matmul_max_k(const vkattn_context *ctx, matmul_tile t)
{
    if (ctx->info.type != VKATTN_DEVICE_CPU)
        return UINT32_MAX;
    uint32_t wg = (t.tm / t.rm) * (t.tn / t.rn);
    uint32_t per_tile = 1 + (t.tm * t.tk + wg - 1) / wg + (t.tk * t.tn + wg - 1) / wg + t.tk + 4;
    return 40000 / per_tile * t.tk;
}

/* Slices of K one matmul may take on a CPU device (llvmpipe's loop limit, matmul_max_k): about 770k in all. */
#define MATMUL_CPU_MAX_SLICES 64u

static vkattn_result record_matmul(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *a = &op->inputs[0], *b = &op->inputs[1], *c = &op->outputs[0];
    matmul_push pc = {
        .batch = (uint32_t)c->shape[0],
        .heads = (uint32_t)c->shape[1],
        .m = (uint32_t)c->shape[2],
        .n = (uint32_t)c->shape[3],
        .k = (uint32_t)a->shape[3],
        .group = op->desc.matmul.group,
        .scale = op->desc.matmul.scale,
    };
    /* a or b larger than the storage-buffer range: K in slices whose windows fit (vkattn__vk_cmd_record made sure
     * one slice of K does). */
    uint64_t fit_a = window_len(ctx, a, 3), fit_b = window_len(ctx, b, 2);
    uint32_t k_fit = (uint32_t)(fit_a < fit_b ? fit_a : fit_b);
    if (k_fit == 0) /* the op as a whole, for bind_all to name what does not fit */
        k_fit = pc.k;
    char shader[32];
    vkattn__vk_dispatch d;
    uint32_t slice = UINT32_MAX;
    uint32_t wg = k_fit >= pc.k ? matvec_workgroup(ctx, b, c) : 0;
    if (wg) {
        uint32_t cols = wg / ctx->info.subgroup_size * 4; /* 4 columns per subgroup of the reported size */
        uint64_t groups = (uint64_t)pc.batch * pc.heads * ((pc.n + cols - 1) / cols);
        snprintf(shader, sizeof shader, "matvec_%s_%s_%s", vkattn_dtype_name(a->dtype), vkattn_dtype_name(b->dtype),
                 vkattn_dtype_name(c->dtype));
        d = grid_dispatch(shader, wg, &pc, sizeof pc, offsetof(matmul_push, grid), 1, groups);
        d.spec[0] = cols;
        d.n_spec = 1;
    } else {
        matmul_tile t = matmul_tile_for(ctx, pc.m, pc.n);
        uint64_t tiles = (uint64_t)pc.batch * pc.heads * ((pc.m + t.tm - 1) / t.tm) * ((pc.n + t.tn - 1) / t.tn);
        snprintf(shader, sizeof shader, "matmul_%s_%s_%s", vkattn_dtype_name(a->dtype), vkattn_dtype_name(b->dtype),
                 vkattn_dtype_name(c->dtype));
        d = grid_dispatch(shader, (t.tm / t.rm) * (t.tn / t.rn), &pc, sizeof pc, offsetof(matmul_push, grid), 1,
                          tiles);
        const uint32_t spec[] = {t.tm, t.tn, t.tk, t.rm, t.rn};
        memcpy(d.spec, spec, sizeof spec);
        d.n_spec = VKATTN__ARRAY_LEN(spec);
        slice = matmul_max_k(ctx, t);
    }
    if (((uint64_t)pc.k + slice - 1) / slice > MATMUL_CPU_MAX_SLICES)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: K = %u is more than the Vulkan device %s can sum in one op (%u; CPU Vulkan "
                             "devices limit the loop iterations of a kernel); use the CPU backend",
                             func, pc.k, ctx->info.name, slice * MATMUL_CPU_MAX_SLICES);
    slice = k_fit < slice ? k_fit : slice;
    uint64_t n_slices = ((uint64_t)pc.k + slice - 1) / slice;
    if (n_slices > VKATTN__VK_MAX_DISPATCHES)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: K = %u in windows of the storage-buffer range takes more than %u dispatches", func,
                             pc.k, VKATTN__VK_MAX_DISPATCHES);
    /* Slices of K in order, each binding its own window of a and b: the first writes c, each later one adds to it
     * (f32 sums, c's dtype in between). */
    matmul_push *slices = calloc(n_slices, sizeof *slices);
    vkattn__vk_dispatch *ds = calloc(n_slices, sizeof *ds);
    vkattn_result r = VKATTN_OK;
    if (!slices || !ds)
        r = vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    for (uint32_t i = 0; r == VKATTN_OK && i < n_slices; i++) {
        uint32_t k0 = i * slice, kn = pc.k - k0 < slice ? pc.k - k0 : slice;
        vkattn__tensor aw = narrowed(a, 3, k0, kn), bw = narrowed(b, 2, k0, kn);
        slices[i] = pc;
        slices[i].k = kn;
        slices[i].accumulate = i > 0;
        ds[i] = d;
        ds[i].push = &slices[i];
        op_tensor ts[3] = {
            {&aw, "a", false, &slices[i].a_offset, slices[i].a_stride},
            {&bw, "b", false, &slices[i].b_offset, slices[i].b_stride},
            {c, "c", true, &slices[i].c_offset, slices[i].c_stride},
        };
        r = bind_all(ctx, func, &ds[i], ts, 3);
    }
    if (r == VKATTN_OK)
        r = emit(ctx, cmd, func, ds, (uint32_t)n_slices);
    free(slices);
    free(ds);
    return r;
}

/* attention.comp's blocking (specialization constants 2 to 4): rows per workgroup, keys per tile (a multiple of 4),
 * invocations per row. */
typedef struct attention_shape {
    uint32_t bq, bk, t_d;
} attention_shape;

/* attention.comp's ROW4: vec4s of a staged key row, t_d * ceil(head_dim / (4 t_d)). */
static uint64_t attention_row4(uint32_t head_dim, uint32_t t_d)
{
    return ((uint64_t)head_dim + 4u * t_d - 1) / (4u * t_d) * t_d;
}

/* Bytes of shared memory attention.comp declares: the K and V tiles (bk * ROW4 vec4s each) and, with t_d > 1, the
 * partial dot products (bq * bk * (t_d + 1) floats), the scores and the weights (bq * bk each); else one float each. */
static uint64_t attention_shared(uint32_t head_dim, attention_shape s)
{
    uint64_t rows = s.t_d > 1 ? (uint64_t)s.bq * s.bk * (s.t_d + 3) : 3u;
    return 2 * 4 * sizeof(float) * s.bk * attention_row4(head_dim, s.t_d) + sizeof(float) * rows;
}

/* attention.comp's STAGE_PASSES: vec4s of the two tiles per invocation. */
static uint64_t attention_passes(uint32_t head_dim, attention_shape s)
{
    uint64_t wg = (uint64_t)s.bq * s.t_d;
    return (s.bk * attention_row4(head_dim, s.t_d) + wg - 1) / wg;
}

/* Up to 128 invocations (what every device allows), t_d of them per row. A GPU gives each about 8 dims of q and of
 * the accumulator. A CPU device keeps a row per invocation while that takes at most 32 vec4s, its registers
 * spilling to cache cheaply, so the rows of a SIMD group read each staged key together; it gets at least a subgroup
 * of rows, as narrower workgroups leave SIMD lanes idle anyway, and tiles that take at most 8 staging passes (few
 * loop iterations against llvmpipe's limit, see attention_max_keys). Rows go up to what the (batch, kv head) has
 * (decode has few: on a GPU the spare invocations then take dims), and the key tile is the longest, from 64 (CPU:
 * 16) down to 4, that fits the shared memory. */
static attention_shape attention_shape_pick(const vkattn_context *ctx, uint32_t head_dim, uint64_t rows)
{
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 128, 0);
    bool cpu = cpu_shapes(ctx);
    attention_shape s = {.t_d = pow2_at_least((head_dim + (cpu ? 127 : 7)) / (cpu ? 128 : 8)), .bk = cpu ? 16 : 64};
    if (s.t_d > wg)
        s.t_d = pow2_at_least(wg + 1) / 2;
    s.bq = wg / s.t_d;
    uint64_t want = cpu && rows < ctx->info.subgroup_size ? ctx->info.subgroup_size : rows;
    if (s.bq > pow2_at_least(want))
        s.bq = pow2_at_least(want);
    while (!cpu && s.bq * s.t_d * 2 <= wg && s.t_d < head_dim)
        s.t_d *= 2;
    uint32_t limit = vkattn__vk(ctx)->limits.maxComputeSharedMemorySize;
    while (s.bk > 4 && (attention_shared(head_dim, s) > limit || (cpu && attention_passes(head_dim, s) > 8)))
        s.bk /= 2;
    return s;
}

/* attention_shape_pick, or UNSUPPORTED when even its smallest tile does not fit the shared memory. */
static vkattn_result attention_shape_for(vkattn_context *ctx, const char *func, uint32_t head_dim, uint64_t rows,
                                         attention_shape *out)
{
    attention_shape s = attention_shape_pick(ctx, head_dim, rows);
    uint32_t limit = vkattn__vk(ctx)->limits.maxComputeSharedMemorySize;
    if (attention_shared(head_dim, s) > limit)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: head_dim %u needs more shared memory than the device's %u bytes; set "
                             "desc->unfused", func, head_dim, limit);
    *out = s;
    return VKATTN_OK;
}

/* The byte-wide element offsets of attention_push; bind_tensor keeps them below 256 on every conformant device. */
static vkattn_result pack_offsets(vkattn_context *ctx, const char *func, const uint32_t *offsets, uint32_t n,
                                  uint32_t *out)
{
    for (uint32_t i = 0; i < n; i++) {
        if (offsets[i] > 0xff)
            return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                                 "%s: minStorageBufferOffsetAlignment (%llu bytes) is above the 256 bytes the "
                                 "attention kernel relies on", func,
                                 (unsigned long long)vkattn__vk(ctx)->limits.minStorageBufferOffsetAlignment);
        out[i / 4] |= offsets[i] << (8 * (i % 4));
    }
    return VKATTN_OK;
}

/* The most keys one workgroup may take on a CPU device: llvmpipe (Mesa 22) ends an invocation's loops after 65535
 * iterations in all (gallivm's loop limiter), silently. attention.comp's loops per tile of BK keys that may not
 * unroll: the tile loop, STAGE_PASSES, and BK / 4 with t_d = 1, else 2 BK + 2 ceil(BK / t_d) + BK / 4 (tile_shared);
 * the two barriers count as about 4 more (measured on lavapipe: head_dim 128 with 8 rows fails past 11000 keys, 22
 * per tile of 4 by this count). A budget of 40000 keeps a margin of 1.5. */
static uint32_t attention_max_keys(const vkattn_context *ctx, uint32_t head_dim, attention_shape s)
{
    if (ctx->info.type != VKATTN_DEVICE_CPU)
        return UINT32_MAX;
    uint64_t rows = s.t_d == 1 ? s.bk / 4 : 2u * s.bk + 2u * ((s.bk + s.t_d - 1) / s.t_d) + s.bk / 4;
    uint64_t keys = 40000 / (1 + attention_passes(head_dim, s) + rows + 4) * s.bk;
    return keys < UINT32_MAX ? (uint32_t)keys : UINT32_MAX;
}

/* How the keys are shared out among workgroups, and where the partials of the splits go. */
typedef struct attention_split {
    uint32_t n, len;
    vkattn__tensor scratch;   /* outputs[1], or the list's own; outputs[0] (never accessed) without a split */
    vkattn__storage own;      /* the list's own scratch, when the backend splits further than the front end */
} attention_split;

/* The front end's split, or more splits (with scratch of the list's own) where a split has more keys than a
 * workgroup may take. */
static vkattn_result attention_split_for(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op,
                                         uint32_t max_keys, attention_split *out)
{
    const vkattn__attention_params *p = &op->desc.attention;
    const vkattn__tensor *q = &op->inputs[0];
    uint32_t kv = (uint32_t)op->inputs[1].shape[1];
    out->n = p->n_splits;
    out->len = p->split_len;
    out->scratch = op->outputs[p->n_splits > 1 ? 1 : 0];
    if (p->split_len <= max_keys)
        return VKATTN_OK;
    out->n = (kv + max_keys - 1) / max_keys;
    out->len = (kv + out->n - 1) / out->n;
    int64_t values = q->shape[0] * q->shape[1] * q->shape[2] * (int64_t)out->n * (q->shape[3] + 2);
    void *buf = NULL;
    vkattn_result r = vkattn__vk_cmd_scratch(ctx, cmd, func, (uint64_t)values * sizeof(float), &buf);
    out->own = (vkattn__storage){.refs = 1, .bytes = (uint64_t)values * sizeof(float), .impl = buf};
    out->scratch = (vkattn__tensor){.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 1, 1, values},
                                    .strides = {values, values, values, 1}, .storage = &out->own};
    return r;
}

/* attention_combine.comp over out, merging the splits' partials. */
static vkattn__vk_dispatch combine_dispatch(vkattn_context *ctx, const vkattn__op *op, const attention_split *split,
                                            char shader[32], combine_push *pc, op_tensor ts[2])
{
    const vkattn__tensor *out = &op->outputs[0];
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    *pc = (combine_push){.n_splits = split->n};
    for (int k = 0; k < 4; k++)
        pc->shape[k] = (uint32_t)out->shape[k];
    ts[0] = (op_tensor){&split->scratch, "the split scratch", false, &pc->part_offset, NULL};
    ts[1] = (op_tensor){out, "out", true, &pc->o_offset, pc->o_stride};
    return grid_dispatch(variant(shader, "attention_combine", out->dtype), wg, pc, sizeof *pc,
                         offsetof(combine_push, grid), wg, vkattn__tensor_numel(out));
}

/* attention.comp over every (batch, kv head, block of rows, split); pc's sizes and split already set. */
static vkattn__vk_dispatch attention_dispatch(const vkattn__op *op, attention_shape s, const attention_split *split,
                                              char shader[32], attention_push *pc)
{
    const vkattn__attention_params *p = &op->desc.attention;
    uint64_t blocks = ((uint64_t)pc->q_len * p->group + s.bq - 1) / s.bq;
    snprintf(shader, 32, "attention_%s_%s", vkattn_dtype_name(op->inputs[0].dtype),
             vkattn_dtype_name(op->inputs[3].dtype));
    vkattn__vk_dispatch d = grid_dispatch(shader, s.bq * s.t_d, pc, sizeof *pc, offsetof(attention_push, grid), 1,
                                          (uint64_t)pc->batch * pc->kv_heads * blocks * split->n);
    const uint32_t spec[] = {(uint32_t)op->inputs[0].shape[3], s.bq, s.bk, s.t_d, p->group, mask_flags(&p->mask),
                             p->mask.window, p->mask.grid_width, split->n > 1};
    memcpy(d.spec, spec, sizeof spec);
    d.n_spec = VKATTN__ARRAY_LEN(spec);
    return d;
}

/* The most keys of k and v (and the mask) one binding may take (window_len); 0 when not even one fits. */
static uint32_t attention_window_keys(const vkattn_context *ctx, const vkattn__op *op)
{
    uint64_t keys = window_len(ctx, &op->inputs[1], 1), v = window_len(ctx, &op->inputs[2], 1);
    keys = v < keys ? v : keys;
    if (op->desc.attention.mask.has_mask && !binding_fits(ctx, &op->inputs[3])) {
        uint64_t m = window_len(ctx, &op->inputs[3], 3); /* mask [.., q_len, kv_len] */
        keys = m < keys ? m : keys;
    }
    return (uint32_t)keys;
}

/* Whether the split scratch record_attention would make of its own (attention_split_for) fits the storage-buffer
 * range; true also when the op fails for another reason, which recording it reports. */
static bool attention_scratch_fits(const vkattn_context *ctx, const vkattn__op *op)
{
    const vkattn__attention_params *p = &op->desc.attention;
    const vkattn__tensor *q = &op->inputs[0];
    uint32_t head_dim = (uint32_t)q->shape[3], kv = (uint32_t)op->inputs[1].shape[1];
    attention_shape s = attention_shape_pick(ctx, head_dim, (uint64_t)q->shape[1] * p->group);
    uint32_t max_keys = attention_max_keys(ctx, head_dim, s), window = attention_window_keys(ctx, op);
    max_keys = window < max_keys ? window : max_keys;
    if (max_keys == 0 || p->split_len <= max_keys)
        return true;
    uint64_t n = (kv + max_keys - 1) / max_keys;
    uint64_t bytes = (uint64_t)(q->shape[0] * q->shape[1] * q->shape[2]) * n * (head_dim + 2) * sizeof(float);
    return bytes <= vkattn__vk(ctx)->limits.maxStorageBufferRange;
}

/* The fused kernel, and with a split of the keys the combine after it (vk_cmd.c puts the barrier between them: the
 * combine reads the scratch the first writes). When k, v or the mask is larger than the storage-buffer range, the
 * keys are split so that whole splits form windows that fit, and the kernel runs once per window with k, v and the
 * mask bound from the window's first key (attention.comp block_at). */
static vkattn_result record_attention(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__attention_params *p = &op->desc.attention;
    const vkattn__tensor *q = &op->inputs[0], *k = &op->inputs[1];
    uint32_t head_dim = (uint32_t)q->shape[3], kv = (uint32_t)k->shape[1];
    uint32_t window = attention_window_keys(ctx, op);
    if (window == 0)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: the keys of k, v or the mask are laid out so that even one key spans more than the "
                             "device's storage-buffer range (%u bytes)",
                             func, vkattn__vk(ctx)->limits.maxStorageBufferRange);
    attention_shape s = {0};
    attention_split split;
    vkattn_result r = attention_shape_for(ctx, func, head_dim, (uint64_t)q->shape[1] * p->group, &s);
    uint32_t max_keys = attention_max_keys(ctx, head_dim, s);
    if (r == VKATTN_OK)
        r = attention_split_for(ctx, cmd, func, op, max_keys < window ? max_keys : window, &split);
    if (r != VKATTN_OK)
        return r;
    uint32_t per_window = window / split.len < split.n ? window / split.len : split.n;
    uint32_t n_windows = (split.n + per_window - 1) / per_window;
    if (split.n > 0xffff || n_windows >= VKATTN__VK_MAX_DISPATCHES)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: %u keys in %u windows of the storage-buffer range are more than one op takes",
                             func, kv, n_windows);
    attention_push pc = {
        .batch = (uint32_t)q->shape[0],
        .q_len = (uint32_t)q->shape[1],
        .kv_heads = (uint32_t)k->shape[2],
        .kv_len = kv,
        .scale = p->scale,
        .q_offset = p->mask.q_offset,
        .n_splits = split.n | per_window << 16,
        .split_len = split.len,
    };
    char shader[2][32];
    vkattn__vk_dispatch whole = attention_dispatch(op, s, &split, shader[0], &pc);
    uint64_t per_split = whole.groups / split.n;
    vkattn__vk_dispatch *d = calloc(n_windows + 1, sizeof *d);
    attention_push *pcs = calloc(n_windows, sizeof *pcs);
    if (!d || !pcs)
        r = vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    for (uint32_t w = 0; r == VKATTN_OK && w < n_windows; w++) {
        uint32_t first = w * per_window, n = split.n - first < per_window ? split.n - first : per_window;
        uint32_t key0 = first * split.len, keys = kv - key0 < n * split.len ? kv - key0 : n * split.len;
        vkattn__tensor kw = narrowed(k, 1, key0, keys), vw = narrowed(&op->inputs[2], 1, key0, keys);
        /* Without a mask its slot holds q, which has no key dim. */
        vkattn__tensor mw = p->mask.has_mask ? narrowed(&op->inputs[3], 3, key0, keys) : op->inputs[3];
        pcs[w] = pc;
        d[w] = whole;
        d[w].push = &pcs[w];
        d[w].first_group = first * per_split;
        d[w].groups = n * per_split;
        uint32_t offsets[7] = {0};
        op_tensor ts[7] = {
            {q, "q", false, &offsets[0], pcs[w].q_stride},
            {&kw, "k", false, &offsets[1], pcs[w].k_stride},
            {&vw, "v", false, &offsets[2], pcs[w].v_stride},
            {&mw, "the mask", false, &offsets[4], pcs[w].mask_stride},
            {&op->inputs[4], "the slopes", false, &offsets[5], NULL},
            {&op->outputs[0], "out", true, &offsets[3], pcs[w].o_stride},
            {&split.scratch, "the split scratch", split.n > 1, &offsets[6], NULL},
        };
        r = bind_all(ctx, func, &d[w], ts, 7);
        if (r == VKATTN_OK)
            r = pack_offsets(ctx, func, offsets, 7, pcs[w].offsets);
    }
    combine_push cpc;
    if (r == VKATTN_OK && split.n > 1) {
        op_tensor cts[2];
        d[n_windows] = combine_dispatch(ctx, op, &split, shader[1], &cpc, cts);
        r = bind_all(ctx, func, &d[n_windows], cts, 2);
    }
    if (r == VKATTN_OK)
        r = emit(ctx, cmd, func, d, n_windows + (split.n > 1));
    free(d);
    free(pcs);
    return r;
}

static vkattn_result record_op(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    switch (op->kind) {
    case VKATTN__OP_COPY: return record_copy(ctx, cmd, func, op);
    case VKATTN__OP_SOFTMAX: return record_softmax(ctx, cmd, func, op);
    case VKATTN__OP_ROPE: return record_rope(ctx, cmd, func, op);
    case VKATTN__OP_SINUSOIDAL: return record_sinusoidal(ctx, cmd, func, op);
    case VKATTN__OP_ALIBI: return record_alibi(ctx, cmd, func, op);
    case VKATTN__OP_MATMUL: return record_matmul(ctx, cmd, func, op);
    case VKATTN__OP_ATTENTION: return record_attention(ctx, cmd, func, op);
    case VKATTN__OP_COPY_BUFFER: return vkattn__vk_record_copy_buffer(ctx, cmd, func, &op->inputs[0], &op->outputs[0]);
    }
    return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: the Vulkan backend has no kernel for op kind %d", func,
                         (int)op->kind);
}

/* ---- windows: ops on tensors larger than the storage-buffer range ---------------------------------------------
 *
 * An op whose tensors do not fit maxStorageBufferRange is cut along a dim of its output into ops on narrowed views,
 * halving until every piece fits; each piece binds only the memory it touches. The dims an op may be cut along,
 * and what the cut does to its other inputs, follow from what its kernel computes per output element:
 *   copy: any dim; softmax, alibi: batch, heads (the slopes follow), rows (q_offset follows), never a row itself;
 *   rope: batch, seq (positions or pos_offset follow), heads; sinusoidal: batch, seq;
 *   matmul: batch, heads in whole groups (b's heads follow), rows of a, columns of b.
 * Attention windows its keys itself (record_attention); vkattn_copy_buffer has no range limit. */

/* Pieces one op may be cut into: a 4 GiB tensor in windows of 1 MiB. */
#define MAX_WINDOW_OPS 4096u

typedef struct op_list {
    vkattn__op *ops;
    uint32_t count, cap;
    bool full;   /* no room for another piece: MAX_WINDOW_OPS reached, or no host memory */
} op_list;

static bool op_fits(const vkattn_context *ctx, const vkattn__op *op)
{
    /* matmul slices K itself: it fits when c does and a slice of K of a and of b does. Attention windows its keys:
     * it fits when q, out, the slopes and the front end's scratch do and a window of keys does. */
    if (op->kind == VKATTN__OP_MATMUL)
        return binding_fits(ctx, &op->outputs[0]) && window_len(ctx, &op->inputs[0], 3) > 0 &&
               window_len(ctx, &op->inputs[1], 2) > 0;
    if (op->kind == VKATTN__OP_ATTENTION)
        return binding_fits(ctx, &op->inputs[0]) && binding_fits(ctx, &op->inputs[4]) &&
               binding_fits(ctx, &op->outputs[0]) && (op->n_outputs < 2 || binding_fits(ctx, &op->outputs[1])) &&
               attention_window_keys(ctx, op) > 0 && attention_scratch_fits(ctx, op);
    for (uint32_t i = 0; i < op->n_inputs; i++)
        if (!binding_fits(ctx, &op->inputs[i]))
            return false;
    for (uint32_t i = 0; i < op->n_outputs; i++)
        if (!binding_fits(ctx, &op->outputs[i]))
            return false;
    return true;
}

/* The dims of the output the op may be cut along, outermost first. */
static bool op_cuttable(const vkattn__op *op, int dim)
{
    const vkattn__tensor *y = &op->outputs[0];
    if (y->shape[dim] < 2)
        return false;
    switch (op->kind) {
    case VKATTN__OP_COPY: return true;
    case VKATTN__OP_SOFTMAX:
    case VKATTN__OP_ALIBI:
    case VKATTN__OP_ROPE: return dim < 3;
    case VKATTN__OP_SINUSOIDAL: return dim == 1 || dim == 2;
    case VKATTN__OP_MATMUL: return true;
    case VKATTN__OP_ATTENTION: return dim < 3;
    case VKATTN__OP_COPY_BUFFER: return false;
    }
    return false;
}

/* The heads of a grouped operand (matmul's b, attention's k and v) that heads [first, first + n) of the op use:
 * head h uses h / group. */
static vkattn__tensor narrowed_group(const vkattn__tensor *t, int dim, int64_t first, int64_t n, uint32_t group)
{
    int64_t lo = first / group, hi = (first + n - 1) / group;
    return narrowed(t, dim, lo, hi - lo + 1);
}

/* op cut to entries [first, first + n) of its output's dim `dim`. */
static vkattn__op op_cut(const vkattn__op *op, int dim, int64_t first, int64_t n)
{
    vkattn__op sub = *op;
    sub.outputs[0] = narrowed(&op->outputs[0], dim, first, n);
    switch (op->kind) {
    case VKATTN__OP_COPY: sub.inputs[0] = narrowed(&op->inputs[0], dim, first, n); break;
    case VKATTN__OP_SOFTMAX:
    case VKATTN__OP_ALIBI: {
        bool softmax = op->kind == VKATTN__OP_SOFTMAX;
        sub.inputs[0] = narrowed(&op->inputs[0], dim, first, n);
        if (softmax && op->desc.softmax.mask.has_mask)
            sub.inputs[1] = narrowed(&op->inputs[1], dim, first, n);
        bool slopes = !softmax || op->desc.softmax.mask.has_alibi;
        if (dim == 1 && slopes) /* slopes f32 [1, 1, 1, heads] */
            sub.inputs[softmax ? 2 : 1] = narrowed(&op->inputs[softmax ? 2 : 1], 3, first, n);
        if (dim == 2 && softmax)
            sub.desc.softmax.mask.q_offset += (int32_t)first; /* fits: the front end checked the last row's */
        if (dim == 2 && !softmax)
            sub.desc.alibi.q_offset += (int32_t)first;
        break;
    }
    case VKATTN__OP_ROPE:
    case VKATTN__OP_SINUSOIDAL: {
        /* x: rope [batch, seq, heads, dim], sinusoidal [1, batch, seq, dim]; positions [1, axes, batch, seq]. */
        bool rope = op->kind == VKATTN__OP_ROPE;
        int batch_dim = rope ? 0 : 1, seq_dim = rope ? 1 : 2;
        bool has_positions = rope ? op->desc.rope.has_positions : op->desc.sinusoidal.has_positions;
        sub.inputs[0] = narrowed(&op->inputs[0], dim, first, n);
        if (has_positions && (dim == batch_dim || dim == seq_dim))
            sub.inputs[2] = narrowed(&op->inputs[2], dim == batch_dim ? 2 : 3, first, n);
        if (!has_positions && dim == seq_dim) {
            if (rope)
                sub.desc.rope.pos_offset += (int32_t)first; /* fits: the front end checked the last position */
            else
                sub.desc.sinusoidal.pos_offset += (int32_t)first;
        }
        break;
    }
    case VKATTN__OP_MATMUL: {
        /* a [batch, heads, M, K], b [batch_b, heads_b, K, N], c [batch, heads, M, N]; head h of a uses b's head
         * h / group. */
        if (dim != 3)
            sub.inputs[0] = narrowed(&op->inputs[0], dim, first, n);
        if (dim == 0 || dim == 3)
            sub.inputs[1] = narrowed(&op->inputs[1], dim, first, n);
        if (dim == 1)
            sub.inputs[1] = narrowed_group(&op->inputs[1], 1, first, n, op->desc.matmul.group);
        break;
    }
    case VKATTN__OP_ATTENTION: {
        /* q, out [batch, q_len, heads, head_dim], k, v [batch, kv_len, kv_heads, head_dim], mask [batch, heads,
         * q_len, kv_len], slopes [1, 1, 1, heads]. A piece keys its own split (record_attention), so the front end's
         * scratch, laid out for the whole op, is not passed on. */
        vkattn__attention_params *p = &sub.desc.attention;
        const int mask_dim[3] = {0, 2, 1};
        sub.inputs[0] = narrowed(&op->inputs[0], dim, first, n);
        if (p->mask.has_mask)
            sub.inputs[3] = narrowed(&op->inputs[3], mask_dim[dim], first, n);
        if (dim == 0 || dim == 2) {
            for (int i = 1; i <= 2; i++)
                sub.inputs[i] = dim == 0 ? narrowed(&op->inputs[i], 0, first, n)
                                         : narrowed_group(&op->inputs[i], 2, first, n, p->group);
        }
        if (dim == 2 && p->mask.has_alibi)
            sub.inputs[4] = narrowed(&op->inputs[4], 3, first, n);
        if (dim == 1)
            p->mask.q_offset += (int32_t)first; /* fits: the front end checked the last row's position */
        p->n_splits = 1;
        p->split_len = (uint32_t)op->inputs[1].shape[1];
        sub.n_outputs = 1;
        break;
    }
    case VKATTN__OP_COPY_BUFFER: break;
    }
    /* Unused slots hold a copy of inputs[0] (vkattn__mask_params) and are bound all the same. */
    bool unused[VKATTN__OP_MAX_INPUTS] = {false};
    if (op->kind == VKATTN__OP_SOFTMAX) {
        unused[1] = !op->desc.softmax.mask.has_mask;
        unused[2] = !op->desc.softmax.mask.has_alibi;
    }
    if (op->kind == VKATTN__OP_ROPE)
        unused[2] = !op->desc.rope.has_positions;
    if (op->kind == VKATTN__OP_SINUSOIDAL)
        unused[2] = !op->desc.sinusoidal.has_positions;
    if (op->kind == VKATTN__OP_ATTENTION) {
        unused[3] = !op->desc.attention.mask.has_mask;
        unused[4] = !op->desc.attention.mask.has_alibi;
    }
    for (uint32_t i = 1; i < op->n_inputs; i++)
        if (unused[i])
            sub.inputs[i] = sub.inputs[0];
    return sub;
}

/* Appends to out the pieces of op that fit, cutting its outermost cuttable dim in halves (whole groups of heads for
 * matmul); false when a piece that does not fit cannot be cut, or for want of memory or too many pieces. */
static bool op_windows(const vkattn_context *ctx, const vkattn__op *op, op_list *out)
{
    if (op_fits(ctx, op)) {
        if (out->count == out->cap) {
            uint32_t cap = out->cap ? 2 * out->cap : 16;
            vkattn__op *grown = cap <= MAX_WINDOW_OPS ? realloc(out->ops, cap * sizeof *grown) : NULL;
            if (!grown) {
                out->full = true;
                return false;
            }
            out->ops = grown;
            out->cap = cap;
        }
        out->ops[out->count++] = *op;
        return true;
    }
    /* The cuttable dim along which x or y (a or c) that does not fit spreads furthest, else the outermost: a
     * transposed copy gets cut along the dim its strided side spreads along. */
    int dim = -1;
    int64_t best = -1;
    for (int d = 0; d < 4; d++) {
        if (!op_cuttable(op, d))
            continue;
        if (dim < 0)
            dim = d;
        const vkattn__tensor *ts[2] = {&op->inputs[0], &op->outputs[0]};
        for (int i = op->kind == VKATTN__OP_MATMUL && d == 3 ? 1 : 0; i < 2; i++) {
            int64_t spread = (ts[i]->shape[d] - 1) * ts[i]->strides[d];
            if (!binding_fits(ctx, ts[i]) && spread > best) {
                best = spread;
                dim = d;
            }
        }
    }
    if (dim < 0)
        return false;
    /* Heads in whole groups while there are several, so that each piece keeps whole heads of b (k, v). */
    uint32_t group = op->kind == VKATTN__OP_MATMUL ? op->desc.matmul.group
                     : op->kind == VKATTN__OP_ATTENTION ? op->desc.attention.group : 1;
    int64_t size = op->outputs[0].shape[dim];
    int64_t unit = dim == (op->kind == VKATTN__OP_MATMUL ? 1 : 2) && size % group == 0 && size / group >= 2 ? group : 1;
    int64_t half = (size / unit + 1) / 2 * unit;
    vkattn__op lo = op_cut(op, dim, 0, half), hi = op_cut(op, dim, half, size - half);
    return op_windows(ctx, &lo, out) && op_windows(ctx, &hi, out);
}

vkattn_result vkattn__vk_cmd_record(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op)
{
    char func[48];
    snprintf(func, sizeof func, "vkattn_%s", op->name);
    if (op->kind == VKATTN__OP_COPY_BUFFER || op_fits(ctx, op))
        return record_op(ctx, cmd, func, op);
    op_list pieces = {0};
    vkattn_result r = VKATTN_OK;
    if (!op_windows(ctx, op, &pieces)) {
        pieces.count = 0;
        if (pieces.full)
            r = vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                              "%s: the op's tensors need more than %u windows of the device's storage-buffer range "
                              "(%u bytes), or the host memory to plan them", func, MAX_WINDOW_OPS,
                              vkattn__vk(ctx)->limits.maxStorageBufferRange);
        else /* a piece cannot be cut further: the op as a whole names the tensor (bind_tensor's message) */
            r = record_op(ctx, cmd, func, op);
        if (r == VKATTN_OK) /* cannot happen: the op did not fit */
            r = vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: an op too large to bind was recorded", func);
    }
    vkattn__log(ctx, VKATTN_LOG_DEBUG, "%s: tensors larger than the storage-buffer range (%u bytes): %u windows", func,
                vkattn__vk(ctx)->limits.maxStorageBufferRange, pieces.count);
    /* The pieces' dispatches are gathered and recorded as one op: one pair of timestamps, and nothing in cmd when
     * any piece fails. */
    collector col = {0};
    vkattn__vk(ctx)->collect = &col;
    for (uint32_t i = 0; r == VKATTN_OK && i < pieces.count; i++)
        r = record_op(ctx, cmd, func, &pieces.ops[i]);
    vkattn__vk(ctx)->collect = NULL;
    for (uint32_t i = 0; i < col.n; i++) {
        col.d[i].push = col.data[i].push;
        col.d[i].shader = col.data[i].shader;
    }
    if (r == VKATTN_OK)
        r = vkattn__vk_record_dispatches(ctx, cmd, func, col.d, col.n);
    free(col.d);
    free(col.data);
    free(pieces.ops);
    return r;
}
