#version 450
// softmax.comp - masked softmax along the last axis of x [batch, heads, q_len, k_len], one workgroup per row
// r = (b, h, i):
//   v_j = scale x_j + mask[b, h, i, j] - slope[h] dist(q, j), or -inf where mask.glsl's key_hidden;
//   y_j = exp(v_j - m) / sum_k exp(v_k - m),  m = max_k v_k.
// One read pass keeps a running (max, sum) pair per invocation (the "online softmax" of Milakov & Gimelshein,
// arXiv:1805.02867), pairs are merged in shared memory, and a second pass recomputes v_j and writes the result
// (reading x_j just before writing y_j, so y may be x).
//
// SUBGROUP_ROWS (the softmax_sg_* variants, for devices with subgroup arithmetic): each subgroup takes whole rows,
// rows_per_group of them per workgroup, and merges its lanes' (max, sum) pairs with subgroupMax and subgroupAdd: no
// shared memory and no barrier. Rows that are contiguous, 4-aligned and of a length divisible by 4 are read and
// written as vec4 (on lavapipe a vec4 access costs about what a float one does).
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16) || defined(MASK_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#if defined(SUBGROUP_ROWS)
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#if defined(SUBGROUP_ROWS)
#define XY_VEC4_VIEWS
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
    uint rows_per_group; // SUBGROUP_ROWS; the host sets vec4_ok only for x and y contiguous along rows of 4k
    uint vec4_ok;
} pc;

// The masking is fixed per pipeline: llvmpipe runs the code of untaken branches too (masked off), so a plain softmax
// must not carry the mask's, the window's or 2D ALiBi's arithmetic (with the flags in push constants, rows of 1024
// ran at a third of the speed on lavapipe).
layout(constant_id = 1) const uint FLAGS = 0;        // MASK_* of mask.glsl (the host also sets pc.flags)
layout(constant_id = 2) const bool GRID_2D = false;  // pc.grid_width != 0
#define MASK_FLAGS FLAGS
#define MASK_GRID_WIDTH (GRID_2D ? pc.grid_width : 0u)

#if !defined(SUBGROUP_ROWS)
shared float s_max[gl_WorkGroupSize.x];
shared float s_sum[gl_WorkGroupSize.x];
#endif

// exp(v - m) where v == m counts as exp(0) = 1 even for infinities: a row of -inf then sums to its length (and is
// written as zeros), and +inf entries each get an equal share.
float rel_exp(float v, float m)
{
    return v == m ? 1.0 : exp(v - m);
}

#if !defined(SUBGROUP_ROWS)
void merge(uint a, uint b)
{
    float m = max(s_max[a], s_max[b]);
    s_sum[a] = s_sum[a] * rel_exp(s_max[a], m) + s_sum[b] * rel_exp(s_max[b], m);
    s_max[a] = m;
}
#endif

// One row's view of the inputs.
struct Row {
    uint x;      // x offset of the row's first element
    uint y;      // y offset of the row's first element
    uint mask;   // mask offset of (b, h, i, 0)
    int q;       // query position
    float slope; // slope[h], 0 without ALiBi
};

// Row c = (b, h, i).
Row row_at(uvec3 c)
{
    Row r;
    r.x = pc.x_offset + coords_offset(c, pc.x_stride);
    r.y = pc.y_offset + coords_offset(c, pc.y_stride);
    r.mask = pc.mask_offset + coords_offset(c, pc.mask_stride);
    r.q = pc.q_offset + int(c.z);
    r.slope = (MASK_FLAGS & MASK_ALIBI) != 0u ? slopes[pc.slope_offset + c.y] : 0.0;
    return r;
}

// v_j of element j whose x is xv.
float score_of(Row r, uint j, float xv)
{
    int k = int(j);
    if (key_hidden(r.q, k, MASK_FLAGS, pc.window)) {
        return NEG_INF;
    }
    float v = pc.scale * xv;
    if ((MASK_FLAGS & MASK_ADDITIVE) != 0u) {
        v = add_mask(v, float(mask[r.mask + j * pc.mask_stride.w]));
    }
    if ((MASK_FLAGS & MASK_ALIBI) != 0u) {
        v -= r.slope * alibi_distance(r.q, k, MASK_GRID_WIDTH);
    }
    return v;
}

float score(Row r, uint j)
{
    return score_of(r, j, float(x[r.x + j * pc.x_stride.w]));
}

// Adds score v to the running (max m, sum s) of an online softmax.
void online_add(inout float m, inout float s, float v)
{
    if (v > m) {
        s = s * exp(m - v) + 1.0;
        m = v;
    } else {
        s += rel_exp(v, m); // a NaN lands here and makes the sum NaN
    }
}

#if defined(SUBGROUP_ROWS)
vec4 scores4(Row r, uint j, vec4 xv)
{
    if (FLAGS == 0u) {
        return pc.scale * xv;
    }
    return vec4(score_of(r, j, xv.x), score_of(r, j + 1u, xv.y), score_of(r, j + 2u, xv.z),
                score_of(r, j + 3u, xv.w));
}

vec4 rel_exp4(vec4 v, float m)
{
    return vec4(rel_exp(v.x, m), rel_exp(v.y, m), rel_exp(v.z, m), rel_exp(v.w, m));
}

void softmax_row(uvec3 c)
{
    Row r = row_at(c);
    uint yb = r.y;
    uint n = pc.shape.w;
    uint lane = gl_SubgroupInvocationID;
    bool wide = pc.vec4_ok != 0u; // the host checked that every row starts 4-aligned
    float m = NEG_INF;
    float s = 0.0;
    if (wide) {
        for (uint j = 4u * lane; j < n; j += 4u * gl_SubgroupSize) {
            vec4 v = scores4(r, j, vec4(x4[(r.x + j) >> 2]));
            float vm = max(max(v.x, v.y), max(v.z, v.w));
            if (vm > m) {
                s *= exp(m - vm); // 0 for the entries so far when m is -inf or vm +inf
                m = vm;
            }
            vec4 e = rel_exp4(v, m); // a NaN in v makes the sum NaN
            s += (e.x + e.y) + (e.z + e.w);
        }
    } else {
        for (uint j = lane; j < n; j += gl_SubgroupSize) {
            online_add(m, s, score(r, j));
        }
    }
    float row_max = subgroupMax(m);
    float row_sum = subgroupAdd(s * rel_exp(m, row_max));
    float inv_sum = 1.0 / row_sum;
    bool masked = row_max == NEG_INF && !isnan(row_sum);
    if (wide) {
        for (uint j = 4u * lane; j < n; j += 4u * gl_SubgroupSize) {
            vec4 p = masked ? vec4(0.0) : rel_exp4(scores4(r, j, vec4(x4[(r.x + j) >> 2])), row_max) * inv_sum;
            y4[(yb + j) >> 2] = STORE4_T(p);
        }
    } else {
        for (uint j = lane; j < n; j += gl_SubgroupSize) {
            float p = masked ? 0.0 : rel_exp(score(r, j), row_max) * inv_sum;
            y[yb + j * pc.y_stride.w] = STORE_T(p);
        }
    }
}

void main()
{
    uvec2 rows = group_row_range(pc.groups_x, pc.row_base, pc.rows_per_group, pc.shape.x * pc.shape.y * pc.shape.z);
    uvec3 c = row_coords(rows.x + gl_SubgroupID, pc.shape); // divisions once, then stepping
    for (uint row = rows.x + gl_SubgroupID; row < rows.y; row += gl_NumSubgroups) {
        softmax_row(c);
        for (uint k = 0u; k < gl_NumSubgroups; k++) {
            c = next_row(c, pc.shape);
        }
    }
}
#else
void main()
{
    uint row = pc.row_base + flat_group(pc.groups_x);
    if (row >= pc.shape.x * pc.shape.y * pc.shape.z) {
        return; // uniform over the workgroup: all its invocations share the row
    }
    Row r = row_at(row_coords(row, pc.shape));
    uint yb = r.y;
    uint n = pc.shape.w;
    uint lid = gl_LocalInvocationID.x;

    float m = NEG_INF;
    float s = 0.0;
    for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
        online_add(m, s, score(r, j));
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
#endif
