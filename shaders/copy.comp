#version 450
// copy.comp - dst = src element by element over a 4D shape with arbitrary strides, converting between f32 and f16
// (and i32 -> i32). One invocation per element.
// VEC4 (the copy_*_v4 variants): both tensors contiguous, 4-aligned, numel a multiple of 4: items are groups of 4
// elements, PER_GROUP of them per workgroup, each invocation looping over its share (no index arithmetic per element;
// on lavapipe a vec4 access costs about what a float one does).
#extension GL_GOOGLE_include_directive : require
#if defined(SRC_F16) || defined(DST_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

#if defined(SRC_F16)
#define SRC_T float16_t
#elif defined(SRC_I32)
#define SRC_T int
#else
#define SRC_T float
#endif
#if defined(DST_F16)
#define DST_T float16_t
#elif defined(DST_I32)
#define DST_T int
#else
#define DST_T float
#endif

// A same-type copy must not emit a conversion (glslang would produce an invalid 16-to-16-bit OpFConvert).
#if (defined(SRC_F16) && defined(DST_F16)) || (defined(SRC_F32) && defined(DST_F32)) || \
    (defined(SRC_I32) && defined(DST_I32))
#define CONVERT(v) (v)
#else
#define CONVERT(v) DST_T(v)
#endif

layout(set = 0, binding = 0) readonly buffer SrcBuf { SRC_T src[]; };
layout(set = 0, binding = 1) writeonly buffer DstBuf { DST_T dst[]; };

#if defined(VEC4)
#if defined(SRC_F16)
#define SRC4_T f16vec4
#elif defined(SRC_I32)
#define SRC4_T ivec4
#else
#define SRC4_T vec4
#endif
#if defined(DST_F16)
#define DST4_T f16vec4
#elif defined(DST_I32)
#define DST4_T ivec4
#else
#define DST4_T vec4
#endif
#if (defined(SRC_F16) && defined(DST_F16)) || (defined(SRC_F32) && defined(DST_F32)) || \
    (defined(SRC_I32) && defined(DST_I32))
#define CONVERT4(v) (v)
#else
#define CONVERT4(v) DST4_T(v)
#endif
layout(set = 0, binding = 0) readonly buffer SrcBuf4 { SRC4_T src4[]; };
layout(set = 0, binding = 1) writeonly buffer DstBuf4 { DST4_T dst4[]; };
layout(constant_id = 1) const uint PER_GROUP = 256; // items (groups of 4 elements) per workgroup
#endif

layout(push_constant) uniform Params {
    uvec4 shape;
    uvec4 src_stride;
    uvec4 dst_stride;
    uint src_offset;
    uint dst_offset;
    uint groups_x;
    uint elem_base;
} pc;

#if defined(VEC4)
void main()
{
    uint first = pc.elem_base + flat_group(pc.groups_x) * PER_GROUP;
    uint items = pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w / 4u;
    uint end = min(first + PER_GROUP, items);
    for (uint i = first + gl_LocalInvocationID.x; i < end; i += gl_WorkGroupSize.x) {
        dst4[pc.dst_offset / 4u + i] = CONVERT4(src4[pc.src_offset / 4u + i]);
    }
}
#else
void main()
{
    uint e = flat_index(pc.groups_x, pc.elem_base);
    if (e >= pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w) {
        return;
    }
    dst[pc.dst_offset + strided_offset(e, pc.shape, pc.dst_stride)] =
        CONVERT(src[pc.src_offset + strided_offset(e, pc.shape, pc.src_stride)]);
}
#endif
