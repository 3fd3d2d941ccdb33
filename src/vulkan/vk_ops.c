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
#include <string.h>

/* A push-constant struct mirrors its shader's block member by member (32-bit members at their std430 offsets), and
 * fits the 128 bytes every device offers. */
#define CHECK_PUSH(type, bytes) \
    _Static_assert(sizeof(type) == (bytes) && (bytes) <= 128, #type " mirrors " #bytes " bytes of push constants")

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
 * y, the mask, the slopes. */
typedef struct softmax_push {
    xy_push io;
    grid_push grid;
    mask_push mask;
    float scale;
} softmax_push;
_Static_assert(offsetof(softmax_push, mask) % 16 == 0, "softmax.comp's mask_stride is a uvec4");
CHECK_PUSH(softmax_push, 108);

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

/* Binds ot->t and fills its element offset (from the bound range's start) and strides for the push constants. */
static vkattn_result bind_tensor(vkattn_context *ctx, const char *func, const op_tensor *ot, vkattn__vk_binding *b)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    const vkattn__tensor *t = ot->t;
    const vkattn__vk_buffer *buf = t->storage->impl;
    VkDeviceSize size = vkattn_dtype_size(t->dtype);
    int64_t lo, hi;
    vkattn__tensor_span(t, &lo, &hi);
    /* Pieces start on a multiple of the alignment, and alignment and element size are powers of two, so `start`
     * is a whole number of elements from the piece's start. */
    VkDeviceSize align = vk->limits.minStorageBufferOffsetAlignment ? vk->limits.minStorageBufferOffsetAlignment : 1;
    VkDeviceSize start = (buf->offset + (VkDeviceSize)lo * size) / align * align;
    VkDeviceSize end = buf->offset + (VkDeviceSize)(hi + 1) * size;
    if (end - start > vk->limits.maxStorageBufferRange)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: %s spans %llu bytes, larger than the device's storage-buffer range (%u bytes); "
                             "windowed binding comes later",
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
    return r != VKATTN_OK ? r : vkattn__vk_record_dispatches(ctx, cmd, func, d, 1);
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

static vkattn_result record_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0];
    const vkattn__softmax_params *p = &op->desc.softmax;
    /* Two floats of shared memory per invocation: the running max and sum. A GPU takes 256 invocations per row; a CPU
     * device one subgroup (each barrier of the reduction costs a switch over every SIMD batch of the workgroup there:
     * on lavapipe rows of 1024 ran 2.6x faster with 8 invocations than with 256). An invocation walks its row twice,
     * n / wg elements each time: on a CPU device (llvmpipe's limit of 65535 loop iterations per invocation, see
     * attention_max_keys) a long row takes the largest workgroup, and a row longer than that allows is refused
     * rather than cut off (measured on lavapipe: rows of 30,000,000 came out wrong with 256 invocations). */
    bool cpu = ctx->info.type == VKATTN_DEVICE_CPU;
    uint32_t wg = vkattn__vk_workgroup_size(ctx, cpu && ctx->info.subgroup_size ? ctx->info.subgroup_size : 256,
                                            2 * sizeof(float));
    uint64_t n = (uint64_t)x->shape[3];
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
    softmax_push pc = {
        .mask = {.q_offset = p->mask.q_offset, .window = p->mask.window, .grid_width = p->mask.grid_width,
                 .flags = mask_flags(&p->mask)},
        .scale = p->scale,
    };
    char shader[32];
    snprintf(shader, sizeof shader, "softmax_%s_%s", vkattn_dtype_name(x->dtype),
             vkattn_dtype_name(op->inputs[1].dtype));
    vkattn__vk_dispatch d = grid_dispatch(shader, wg, &pc, sizeof pc, offsetof(softmax_push, grid), 1, rows_of(x));
    op_tensor ts[4];
    xy_tensors(op, "x", "y", &pc.io, ts);
    ts[2] = (op_tensor){&op->inputs[1], "the mask", false, &pc.mask.offset, pc.mask.stride};
    ts[3] = (op_tensor){&op->inputs[2], "the slopes", false, &pc.mask.slope_offset, NULL};
    return launch(ctx, cmd, func, &d, ts, 4);
}

static vkattn_result record_copy(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    copy_push pc = {0};
    char shader[32];
    snprintf(shader, sizeof shader, "copy_%s_%s", vkattn_dtype_name(src->dtype), vkattn_dtype_name(dst->dtype));
    vkattn__vk_dispatch d = grid_dispatch(shader, wg, &pc, sizeof pc, offsetof(copy_push, grid), wg,
                                          vkattn__tensor_numel(src));
    op_tensor ts[2];
    xy_tensors(op, "src", "dst", &pc.io, ts);
    return launch(ctx, cmd, func, &d, ts, 2);
}

/* rope.comp or sinusoidal.comp over `items` items, pc's op fields already set. */
static vkattn_result record_phase(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op,
                                  const char *family, phase_push *pc, uint64_t items)
{
    const vkattn__tensor *table = &op->inputs[1];
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    char shader[32];
    vkattn__vk_dispatch d = grid_dispatch(variant(shader, family, op->inputs[0].dtype), wg, pc, sizeof *pc,
                                          offsetof(phase_push, grid), wg, items);
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
    return record_phase(ctx, cmd, func, op, "rope", &pc, rows_of(x) * pc.row_len);
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
    return record_phase(ctx, cmd, func, op, "sinusoidal", &pc, vkattn__tensor_numel(&op->inputs[0]));
}

static vkattn_result record_alibi(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__alibi_params *p = &op->desc.alibi;
    const vkattn__tensor *x = &op->inputs[0];
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    alibi_push pc = {.q_offset = p->q_offset, .causal = p->causal, .grid_width = p->grid_width};
    char shader[32];
    vkattn__vk_dispatch d = grid_dispatch(variant(shader, "alibi", x->dtype), wg, &pc, sizeof pc,
                                          offsetof(alibi_push, grid), wg, vkattn__tensor_numel(x));
    op_tensor ts[3];
    xy_tensors(op, "x", "y", &pc.io, ts);
    ts[2] = (op_tensor){&op->inputs[1], "the slopes", false, &pc.slope_offset, NULL};
    return launch(ctx, cmd, func, &d, ts, 3);
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
    char shader[32];
    vkattn__vk_dispatch d;
    uint32_t slice = UINT32_MAX;
    uint32_t wg = matvec_workgroup(ctx, b, c);
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
    uint64_t n_slices = ((uint64_t)pc.k + slice - 1) / slice;
    if (n_slices > VKATTN__VK_MAX_DISPATCHES)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: K = %u is more than the Vulkan device %s can sum in one op (%u; CPU Vulkan "
                             "devices limit the loop iterations of a kernel); use the CPU backend",
                             func, pc.k, ctx->info.name, slice * (uint32_t)VKATTN__VK_MAX_DISPATCHES);
    op_tensor ts[3] = {
        {a, "a", false, &pc.a_offset, pc.a_stride},
        {b, "b", false, &pc.b_offset, pc.b_stride},
        {c, "c", true, &pc.c_offset, pc.c_stride},
    };
    vkattn_result r = bind_all(ctx, func, &d, ts, 3);
    if (r != VKATTN_OK || pc.k <= slice)
        return r != VKATTN_OK ? r : vkattn__vk_record_dispatches(ctx, cmd, func, &d, 1);
    /* Slices of K in order: the first writes c, each later one adds to it (f32 sums, c's dtype in between). */
    matmul_push slices[VKATTN__VK_MAX_DISPATCHES];
    vkattn__vk_dispatch ds[VKATTN__VK_MAX_DISPATCHES];
    for (uint32_t i = 0; i < n_slices; i++) {
        uint32_t k0 = i * slice;
        slices[i] = pc;
        slices[i].a_offset += k0 * pc.a_stride[3];
        slices[i].b_offset += k0 * pc.b_stride[2];
        slices[i].k = pc.k - k0 < slice ? pc.k - k0 : slice;
        slices[i].accumulate = i > 0;
        ds[i] = d;
        ds[i].push = &slices[i];
    }
    return vkattn__vk_record_dispatches(ctx, cmd, func, ds, (uint32_t)n_slices);
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
 * the accumulator. A CPU device keeps a row per invocation while that takes at most 32 vec4s, its registers spilling to cache cheaply, so the rows of a SIMD group read each staged key
 * together; it gets at least a subgroup of rows, as narrower workgroups leave SIMD lanes idle anyway, and tiles that
 * take at most 8 staging passes (few loop iterations against llvmpipe's limit, see attention_max_keys). Rows go up to what
 * the (batch, kv head) has (decode has few: on a GPU the spare invocations then take dims), and the key tile is the
 * longest, from 64 (CPU: 16) down to 4, that fits the shared memory. */
static vkattn_result attention_shape_for(vkattn_context *ctx, const char *func, uint32_t head_dim, uint64_t rows,
                                         attention_shape *out)
{
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 128, 0);
    bool cpu = ctx->info.type == VKATTN_DEVICE_CPU && !vkattn__vk(ctx)->test_gpu_blocking;
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

/* The fused kernel, and with a split of the keys the combine after it (vk_cmd.c puts the barrier between them: the
 * combine reads the scratch the first writes). */
static vkattn_result record_attention(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__attention_params *p = &op->desc.attention;
    const vkattn__tensor *q = &op->inputs[0], *k = &op->inputs[1];
    uint32_t head_dim = (uint32_t)q->shape[3];
    attention_shape s = {0};
    attention_split split;
    vkattn_result r = attention_shape_for(ctx, func, head_dim, (uint64_t)q->shape[1] * p->group, &s);
    if (r == VKATTN_OK)
        r = attention_split_for(ctx, cmd, func, op, attention_max_keys(ctx, head_dim, s), &split);
    if (r != VKATTN_OK)
        return r;
    attention_push pc = {
        .batch = (uint32_t)q->shape[0],
        .q_len = (uint32_t)q->shape[1],
        .kv_heads = (uint32_t)k->shape[2],
        .kv_len = (uint32_t)k->shape[1],
        .scale = p->scale,
        .q_offset = p->mask.q_offset,
        .n_splits = split.n,
        .split_len = split.len,
    };
    char shader[2][32];
    vkattn__vk_dispatch d[2] = {attention_dispatch(op, s, &split, shader[0], &pc)};
    uint32_t offsets[7] = {0};
    op_tensor ts[7] = {
        {q, "q", false, &offsets[0], pc.q_stride},
        {k, "k", false, &offsets[1], pc.k_stride},
        {&op->inputs[2], "v", false, &offsets[2], pc.v_stride},
        {&op->inputs[3], "the mask", false, &offsets[4], pc.mask_stride},
        {&op->inputs[4], "the slopes", false, &offsets[5], NULL},
        {&op->outputs[0], "out", true, &offsets[3], pc.o_stride},
        {&split.scratch, "the split scratch", split.n > 1, &offsets[6], NULL},
    };
    r = bind_all(ctx, func, &d[0], ts, 7);
    if (r == VKATTN_OK)
        r = pack_offsets(ctx, func, offsets, 7, pc.offsets);
    if (r != VKATTN_OK || split.n == 1)
        return r != VKATTN_OK ? r : vkattn__vk_record_dispatches(ctx, cmd, func, d, 1);
    combine_push cpc;
    op_tensor cts[2];
    d[1] = combine_dispatch(ctx, op, &split, shader[1], &cpc, cts);
    r = bind_all(ctx, func, &d[1], cts, 2);
    return r != VKATTN_OK ? r : vkattn__vk_record_dispatches(ctx, cmd, func, d, 2);
}

vkattn_result vkattn__vk_cmd_record(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op)
{
    char func[48];
    snprintf(func, sizeof func, "vkattn_%s", op->name);
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
