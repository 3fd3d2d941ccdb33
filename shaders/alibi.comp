#version 450
// alibi.comp - ALiBi (Press et al. 2022, arXiv:2108.12409) on scores x [batch, heads, q_len, k_len], one invocation
// per element (b, h, i, j): with q = q_offset + i and key position j,
//   y = -inf where causal and j > q, else y = x - slope[h] * dist(q, j)  (dist: mask.glsl's alibi_distance).
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "mask.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf { STORE_T y[]; };
layout(set = 0, binding = 2) readonly buffer SlopeBuf { float slopes[]; }; // f32 [heads], contiguous

layout(push_constant) uniform Params {
    uvec4 shape;
    uvec4 x_stride;
    uvec4 y_stride;
    uint x_offset;
    uint y_offset;
    uint slope_offset;
    uint groups_x;
    uint elem_base;
    int q_offset;
    uint causal;
    uint grid_width; // 0 = 1D
} pc;

void main()
{
    uint e = flat_index(pc.groups_x, pc.elem_base);
    if (e >= pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w) {
        return;
    }
    uint rest = e / pc.shape.w;
    int k = int(e % pc.shape.w);
    int q = pc.q_offset + int(rest % pc.shape.z);
    uint h = (rest / pc.shape.z) % pc.shape.y;
    float v = NEG_INF;
    if (pc.causal == 0u || k <= q) {
        v = float(x[pc.x_offset + strided_offset(e, pc.shape, pc.x_stride)]) -
            slopes[pc.slope_offset + h] * alibi_distance(q, k, pc.grid_width);
    }
    y[pc.y_offset + strided_offset(e, pc.shape, pc.y_stride)] = STORE_T(v);
}
