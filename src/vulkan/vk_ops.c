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

/* softmax.comp: one workgroup per row; row = row_base + gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x. */
typedef struct softmax_push {
    xy_push io;
    grid_push grid;
    float scale;
} softmax_push;
CHECK_PUSH(softmax_push, 68);

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

/* Checks the device's limits for the tensors (ts[0] is the one whose elements the kernel counts), binds them in
 * order, filling their push-constant fields, and records d. */
static vkattn_result launch(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, vkattn__vk_dispatch *d,
                            const op_tensor *ts, uint32_t n)
{
    vkattn_result r = check_count(ctx, func, ts[0].t, d->workgroup_size);
    for (uint32_t i = 0; r == VKATTN_OK && i < n; i++) {
        r = check_dtype(ctx, func, ts[i].t->dtype);
        if (r == VKATTN_OK)
            r = bind_tensor(ctx, func, &ts[i], &d->bindings[i]);
    }
    if (r != VKATTN_OK)
        return r;
    d->n_bindings = n;
    return vkattn__vk_record_dispatch(ctx, cmd, func, d);
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

static vkattn_result record_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0];
    /* Two floats of shared memory per invocation: the running max and sum. */
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 2 * sizeof(float));
    softmax_push pc = {.scale = op->desc.softmax.scale};
    char shader[32];
    vkattn__vk_dispatch d = grid_dispatch(variant(shader, "softmax", x->dtype), wg, &pc, sizeof pc,
                                          offsetof(softmax_push, grid), 1, rows_of(x));
    op_tensor ts[2];
    xy_tensors(op, "x", "y", &pc.io, ts);
    return launch(ctx, cmd, func, &d, ts, 2);
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
    }
    return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: the Vulkan backend has no kernel for op kind %d", func,
                         (int)op->kind);
}
