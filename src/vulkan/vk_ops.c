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

/* softmax.comp: one workgroup per row; row = row_base + gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x. */
typedef struct softmax_push {
    uint32_t shape[4];
    uint32_t x_stride[4];
    uint32_t y_stride[4];
    uint32_t x_offset;
    uint32_t y_offset;
    uint32_t groups_x;
    uint32_t row_base;
    float scale;
} softmax_push;
_Static_assert(sizeof(softmax_push) == 68, "softmax.comp's push constants are 68 bytes");
_Static_assert(sizeof(softmax_push) <= 128, "push constants must fit the 128 bytes every device offers");

/* copy.comp: one invocation per element; e = elem_base + (gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x) * WG +
 * gl_LocalInvocationID.x. */
typedef struct copy_push {
    uint32_t shape[4];
    uint32_t src_stride[4];
    uint32_t dst_stride[4];
    uint32_t src_offset;
    uint32_t dst_offset;
    uint32_t groups_x;
    uint32_t elem_base;
} copy_push;
_Static_assert(sizeof(copy_push) == 64, "copy.comp's push constants are 64 bytes");
_Static_assert(sizeof(copy_push) <= 128, "push constants must fit the 128 bytes every device offers");

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

/* Binds t and fills its element offset (from the bound range's start) and strides for the push constants. */
static vkattn_result bind_tensor(vkattn_context *ctx, const char *func, const char *what, const vkattn__tensor *t,
                                 bool written, vkattn__vk_binding *b, uint32_t *offset, uint32_t strides[4])
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
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
                             func, what, (unsigned long long)(end - start), vk->limits.maxStorageBufferRange);
    *b = (vkattn__vk_binding){buf->block, start, end - start, written};
    *offset = (uint32_t)((buf->offset + (VkDeviceSize)t->offset * size - start) / size);
    for (int k = 0; k < 4; k++) {
        /* A stride times its largest index stays inside the bound range; a size-1 dim's stride is never used. */
        strides[k] = t->shape[k] > 1 ? (uint32_t)t->strides[k] : 0;
    }
    return VKATTN_OK;
}

static void shape_u32(const vkattn__tensor *t, uint32_t shape[4])
{
    for (int k = 0; k < 4; k++)
        shape[k] = (uint32_t)t->shape[k]; /* each is at most numel, checked to fit */
}

static vkattn_result record_softmax(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    /* Two floats of shared memory per invocation: the running max and sum. */
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 2 * sizeof(float));
    softmax_push pc = {.scale = op->desc.softmax.scale};
    char shader[32];
    snprintf(shader, sizeof shader, "softmax_%s", vkattn_dtype_name(x->dtype));
    vkattn__vk_dispatch d = {
        .shader = shader,
        .workgroup_size = wg,
        .n_bindings = 2,
        .push = &pc,
        .push_size = sizeof pc,
        .groups_x_at = offsetof(softmax_push, groups_x),
        .base_at = offsetof(softmax_push, row_base),
        .base_per_group = 1,
        .groups = (uint64_t)x->shape[0] * (uint64_t)x->shape[1] * (uint64_t)x->shape[2],
    };
    vkattn_result r = check_dtype(ctx, func, x->dtype);
    if (r == VKATTN_OK)
        r = check_count(ctx, func, x, wg);
    if (r == VKATTN_OK)
        r = bind_tensor(ctx, func, "x", x, false, &d.bindings[0], &pc.x_offset, pc.x_stride);
    if (r == VKATTN_OK)
        r = bind_tensor(ctx, func, "y", y, true, &d.bindings[1], &pc.y_offset, pc.y_stride);
    if (r != VKATTN_OK)
        return r;
    shape_u32(x, pc.shape);
    return vkattn__vk_record_dispatch(ctx, cmd, func, &d);
}

static vkattn_result record_copy(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    uint32_t wg = vkattn__vk_workgroup_size(ctx, 256, 0);
    copy_push pc = {0};
    char shader[32];
    snprintf(shader, sizeof shader, "copy_%s_%s", vkattn_dtype_name(src->dtype), vkattn_dtype_name(dst->dtype));
    vkattn__vk_dispatch d = {
        .shader = shader,
        .workgroup_size = wg,
        .n_bindings = 2,
        .push = &pc,
        .push_size = sizeof pc,
        .groups_x_at = offsetof(copy_push, groups_x),
        .base_at = offsetof(copy_push, elem_base),
        .base_per_group = wg,
        .groups = (vkattn__tensor_numel(src) + wg - 1) / wg,
    };
    vkattn_result r = check_dtype(ctx, func, src->dtype);
    if (r == VKATTN_OK)
        r = check_dtype(ctx, func, dst->dtype);
    if (r == VKATTN_OK)
        r = check_count(ctx, func, src, wg);
    if (r == VKATTN_OK)
        r = bind_tensor(ctx, func, "src", src, false, &d.bindings[0], &pc.src_offset, pc.src_stride);
    if (r == VKATTN_OK)
        r = bind_tensor(ctx, func, "dst", dst, true, &d.bindings[1], &pc.dst_offset, pc.dst_stride);
    if (r != VKATTN_OK)
        return r;
    shape_u32(src, pc.shape);
    return vkattn__vk_record_dispatch(ctx, cmd, func, &d);
}

vkattn_result vkattn__vk_cmd_record(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op)
{
    char func[48];
    snprintf(func, sizeof func, "vkattn_%s", op->name);
    switch (op->kind) {
    case VKATTN__OP_COPY: return record_copy(ctx, cmd, func, op);
    case VKATTN__OP_SOFTMAX: return record_softmax(ctx, cmd, func, op);
    }
    return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: the Vulkan backend has no kernel for op kind %d", func,
                         (int)op->kind);
}
