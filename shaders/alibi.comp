#version 450
// alibi.comp - ALiBi (Press et al. 2022, arXiv:2108.12409) on scores x [batch, heads, q_len, k_len]: for each
// element (b, h, i, j), with q = q_offset + i and key position j,
//   y = -inf where causal and j > q, else y = x - slope[h] * dist(q, j)  (dist: mask.glsl's alibi_distance).
// Workgroups take ROWS_PER_GROUP rows (b, h, i), their invocations walking each row together (the index arithmetic
// is per row), 4 elements at a time where VEC4 (the host's promise: x and y contiguous along rows of 4k elements,
// each row 4-aligned).
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#define XY_VEC4_VIEWS
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
    uint row_base;
    int q_offset;
    uint causal;
    uint grid_width; // 0 = 1D
} pc;

// Fixed per pipeline: llvmpipe runs the code of untaken branches too, masked off.
layout(constant_id = 1) const bool CAUSAL = false;     // pc.causal != 0
layout(constant_id = 2) const bool GRID_2D = false;    // pc.grid_width != 0
layout(constant_id = 3) const uint ROWS_PER_GROUP = 1;
layout(constant_id = 4) const bool VEC4 = false;

// The biased score of key k for query q whose input score is v.
float biased(float v, int q, int k, float slope)
{
    if (CAUSAL && k > q) {
        return NEG_INF;
    }
    return v - slope * alibi_distance(q, k, GRID_2D ? pc.grid_width : 0u);
}

void main()
{
    uvec2 rows = group_row_range(pc.groups_x, pc.row_base, ROWS_PER_GROUP, pc.shape.x * pc.shape.y * pc.shape.z);
    uint n = pc.shape.w;
    uvec3 c = row_coords(rows.x, pc.shape); // (b, h, i)
    for (uint row = rows.x; row < rows.y; row++, c = next_row(c, pc.shape)) {
        uint xr = pc.x_offset + coords_offset(c, pc.x_stride);
        uint yr = pc.y_offset + coords_offset(c, pc.y_stride);
        int q = pc.q_offset + int(c.z);
        float slope = slopes[pc.slope_offset + c.y];
        if (VEC4) {
            for (uint j = 4u * gl_LocalInvocationID.x; j < n; j += 4u * gl_WorkGroupSize.x) {
                vec4 v = vec4(x4[(xr + j) >> 2]);
                int k = int(j);
                y4[(yr + j) >> 2] = STORE4_T(vec4(biased(v.x, q, k, slope), biased(v.y, q, k + 1, slope),
                                                  biased(v.z, q, k + 2, slope), biased(v.w, q, k + 3, slope)));
            }
        } else {
            for (uint j = gl_LocalInvocationID.x; j < n; j += gl_WorkGroupSize.x) {
                y[yr + j * pc.y_stride.w] = STORE_T(biased(float(x[xr + j * pc.x_stride.w]), q, int(j), slope));
            }
        }
    }
}
