#version 450
// copy.comp - dst = src element by element over a 4D shape with arbitrary strides, converting between f32 and f16
// (and i32 -> i32). One invocation per element.
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

layout(push_constant) uniform Params {
    uvec4 shape;
    uvec4 src_stride;
    uvec4 dst_stride;
    uint src_offset;
    uint dst_offset;
    uint groups_x;
    uint elem_base;
} pc;

void main()
{
    uint e = flat_index(pc.groups_x, pc.elem_base);
    if (e >= pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w) {
        return;
    }
    dst[pc.dst_offset + strided_offset(e, pc.shape, pc.dst_stride)] =
        CONVERT(src[pc.src_offset + strided_offset(e, pc.shape, pc.src_stride)]);
}
