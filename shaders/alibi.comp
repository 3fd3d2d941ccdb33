#version 450
// alibi.comp - ALiBi (Press et al. 2022, arXiv:2108.12409) on scores x [batch, heads, q_len, k_len], one invocation
// per element (b, h, i, j): with q = q_offset + i and key position j,
//   y = -inf where causal and j > q, else y = x - slope[h] * dist(q, j),
//   dist = |q - j|, or with a patch grid of width w (2D ALiBi) the Euclidean distance of (p / w, p mod w).
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

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

// |a - b| exactly for any int32 pair (the difference as uint never wraps past 2^32), then rounded to float.
float gap(int a, int b)
{
    return float(uint(max(a, b)) - uint(min(a, b)));
}

float alibi_distance(int q, int k)
{
    if (pc.grid_width == 0u) {
        return gap(q, k);
    }
    // 2D positions are >= 0 (checked by the front end), so int division is the floor.
    int w = int(pc.grid_width);
    float dr = gap(q / w, k / w);
    float dc = gap(q % w, k % w);
    return sqrt(dr * dr + dc * dc);
}

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
            slopes[pc.slope_offset + h] * alibi_distance(q, k);
    }
    y[pc.y_offset + strided_offset(e, pc.shape, pc.y_stride)] = STORE_T(v);
}
