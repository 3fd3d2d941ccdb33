#version 450
// softmax.comp - masked softmax along the last axis of x [batch, heads, q_len, k_len], one workgroup per row
// r = (b, h, i):
//   v_j = scale x_j + mask[b, h, i, j] - slope[h] dist(q, j), or -inf where mask.glsl's key_hidden;
//   y_j = exp(v_j - m) / sum_k exp(v_k - m),  m = max_k v_k.
// One read pass keeps a running (max, sum) pair per invocation (the "online softmax" of Milakov & Gimelshein,
// arXiv:1805.02867), pairs are merged in shared memory, and a second pass recomputes v_j and writes the result
// (reading x_j just before writing y_j, so y may be x).
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16) || defined(MASK_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "mask.glsl"

layout(set = 0, binding = 0) readonly buffer XBuf { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf { STORE_T y[]; };
// Without a mask (ALiBi) the host binds x here and the kernel never reads it.
layout(set = 0, binding = 2) readonly buffer MaskBuf { MASK_T mask[]; };
layout(set = 0, binding = 3) readonly buffer SlopeBuf { float slopes[]; }; // f32 [heads], contiguous

layout(push_constant) uniform Params {
    uvec4 shape;    // rows = shape.x * shape.y * shape.z, row length = shape.w
    uvec4 x_stride;
    uvec4 y_stride;
    uint x_offset;
    uint y_offset;
    uint groups_x;
    uint row_base;
    uvec4 mask_stride; // 0 on broadcast dims
    uint mask_offset;
    uint slope_offset;
    int q_offset;
    uint window;
    uint grid_width;
    uint flags;     // MASK_* of mask.glsl
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

// One row's view of the inputs.
struct Row {
    uint x;      // x offset of the row's first element
    uint mask;   // mask offset of (b, h, i, 0)
    int q;       // query position
    float slope; // slope[h], 0 without ALiBi
};

Row row_at(uint row)
{
    uint i = row % pc.shape.z;
    uint h = (row / pc.shape.z) % pc.shape.y;
    uint b = row / (pc.shape.z * pc.shape.y);
    Row r;
    r.x = pc.x_offset + row_offset(row, pc.shape, pc.x_stride);
    r.mask = pc.mask_offset + b * pc.mask_stride.x + h * pc.mask_stride.y + i * pc.mask_stride.z;
    r.q = pc.q_offset + int(i);
    r.slope = (pc.flags & MASK_ALIBI) != 0u ? slopes[pc.slope_offset + h] : 0.0;
    return r;
}

float score(Row r, uint j)
{
    int k = int(j);
    if (key_hidden(r.q, k, pc.flags, pc.window)) {
        return NEG_INF;
    }
    float v = pc.scale * float(x[r.x + j * pc.x_stride.w]);
    if ((pc.flags & MASK_ADDITIVE) != 0u) {
        v = add_mask(v, float(mask[r.mask + j * pc.mask_stride.w]));
    }
    if ((pc.flags & MASK_ALIBI) != 0u) {
        v -= r.slope * alibi_distance(r.q, k, pc.grid_width);
    }
    return v;
}

void main()
{
    uint row = pc.row_base + flat_group(pc.groups_x);
    if (row >= pc.shape.x * pc.shape.y * pc.shape.z) {
        return; // uniform over the workgroup: all its invocations share the row
    }
    Row r = row_at(row);
    uint yb = pc.y_offset + row_offset(row, pc.shape, pc.y_stride);
    uint n = pc.shape.w;
    uint lid = gl_LocalInvocationID.x;

    float m = NEG_INF;
    float s = 0.0;
    for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
        float v = score(r, j);
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
        float p = masked ? 0.0 : rel_exp(score(r, j), row_max) * inv_sum;
        y[yb + j * pc.y_stride.w] = STORE_T(p);
    }
}
