#version 450
// softmax.comp - softmax along the last axis, one workgroup per row:
//   y_j = exp(s x_j - m) / sum_k exp(s x_k - m),  m = max_k s x_k.
// One read pass keeps a running (max, sum) pair per invocation (the "online softmax" of Milakov & Gimelshein,
// arXiv:1805.02867), pairs are merged in shared memory, and a second pass writes the result.
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf { STORE_T y[]; };

layout(push_constant) uniform Params {
    uvec4 shape;    // rows = shape.x * shape.y * shape.z, row length = shape.w
    uvec4 x_stride;
    uvec4 y_stride;
    uint x_offset;
    uint y_offset;
    uint groups_x;
    uint row_base;
    float scale;
} pc;

shared float s_max[gl_WorkGroupSize.x];
shared float s_sum[gl_WorkGroupSize.x];

// exp(v - m) where v == m counts as exp(0) = 1 even for infinities: a row of -inf then sums to its length (and is
// written as zeros), and +inf entries each get an equal share.
float rel_exp(float v, float m)
{
    return v == m ? 1.0 : exp(v - m);
}

void merge(uint a, uint b)
{
    float m = max(s_max[a], s_max[b]);
    s_sum[a] = s_sum[a] * rel_exp(s_max[a], m) + s_sum[b] * rel_exp(s_max[b], m);
    s_max[a] = m;
}

void main()
{
    uint row = pc.row_base + flat_group(pc.groups_x);
    if (row >= pc.shape.x * pc.shape.y * pc.shape.z) {
        return; // uniform over the workgroup: all its invocations share the row
    }
    uint xb = pc.x_offset + row_offset(row, pc.shape, pc.x_stride);
    uint yb = pc.y_offset + row_offset(row, pc.shape, pc.y_stride);
    uint n = pc.shape.w;
    uint lid = gl_LocalInvocationID.x;

    float m = NEG_INF;
    float s = 0.0;
    for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
        float v = pc.scale * float(x[xb + j * pc.x_stride.w]);
        if (v > m) {
            s = s * exp(m - v) + 1.0;
            m = v;
        } else {
            s += rel_exp(v, m); // a NaN lands here and makes the sum NaN
        }
    }
    s_max[lid] = m;
    s_sum[lid] = s;
    barrier();
    // Tree merge that also works for workgroup sizes that are not powers of two.
    for (uint live = gl_WorkGroupSize.x; live > 1;) {
        uint h = (live + 1) / 2;
        if (lid < live - h) {
            merge(lid, lid + h);
        }
        barrier();
        live = h;
    }
    float row_max = s_max[0];
    float inv_sum = 1.0 / s_sum[0];
    bool masked = row_max == NEG_INF && !isnan(s_sum[0]);
    for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
        float v = pc.scale * float(x[xb + j * pc.x_stride.w]);
        float p = masked ? 0.0 : rel_exp(v, row_max) * inv_sum;
        y[yb + j * pc.y_stride.w] = STORE_T(p);
    }
}
