#version 450
// matvec.comp - the subgroup path of matmul.comp for few rows (decode: one query row against a KV cache): the same
// c = scale * a b, push constants and bindings, for M <= MAX_M and b contiguous along k (b_stride.z = 1, as K^T in
// Q K^T). A 64-row tile of matmul.comp would leave all but M of its rows idle; here each output column n of c is a
// dot product over k that one subgroup computes: lane l takes k = l, l + subgroup size, ..., so both a and b are
// read contiguously across the lanes, and subgroupAdd (GL_KHR_shader_subgroup_arithmetic) sums the lanes' partials
// without shared memory or barriers. A workgroup takes COLS columns of one (batch, head), its subgroups taking
// columns s, s + gl_NumSubgroups, ... (any subgroup size works: the host's guess only sets COLS).
// The host uses it only where the device offers subgroup arithmetic in compute shaders, and not under
// VKATTN_CONTEXT_BASELINE_KERNELS; matmul.comp is always available.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#if defined(A_F16) || defined(B_F16) || defined(C_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

#if defined(A_F16)
#define A_T float16_t
#else
#define A_T float
#endif
#if defined(B_F16)
#define B_T float16_t
#else
#define B_T float
#endif
#if defined(C_F16)
#define C_T float16_t
#else
#define C_T float
#endif

const uint MAX_M = 8;                  // rows of a (and c) a subgroup holds; vk_ops.c's MATVEC_MAX_M
layout(constant_id = 1) const uint COLS = 4; // columns of c per workgroup

layout(set = 0, binding = 0) readonly buffer ABuf { A_T a[]; };
layout(set = 0, binding = 1) readonly buffer BBuf { B_T b[]; };
layout(set = 0, binding = 2) writeonly buffer CBuf { C_T c[]; };

layout(push_constant) uniform Params {
    uvec4 a_stride;
    uvec4 b_stride;
    uvec4 c_stride;
    uint a_offset;
    uint b_offset;
    uint c_offset;
    uint batch;
    uint heads;
    uint M;
    uint N;
    uint K;
    uint group;     // heads / heads_b
    uint groups_x;
    uint tile_base; // first workgroup of this dispatch
    float scale;
    uint accumulate; // matmul.comp's; always 0 here
} pc;

void main()
{
    uint groups_per_bh = (pc.N + COLS - 1u) / COLS;
    uint g = pc.tile_base + flat_group(pc.groups_x);
    uint bh = g / groups_per_bh;
    if (bh >= pc.batch * pc.heads) {
        return; // uniform over the workgroup
    }
    uint bi = bh / pc.heads;
    uint h = bh % pc.heads;
    uint a_base = pc.a_offset + bi * pc.a_stride.x + h * pc.a_stride.y;
    uint b_base = pc.b_offset + bi * pc.b_stride.x + (h / pc.group) * pc.b_stride.y;
    uint c_base = pc.c_offset + bi * pc.c_stride.x + h * pc.c_stride.y;
    uint lanes = gl_SubgroupSize;
    uint lane = gl_SubgroupInvocationID;
    for (uint col = gl_SubgroupID; col < COLS; col += gl_NumSubgroups) {
        uint n = (g % groups_per_bh) * COLS + col;
        if (n >= pc.N) {
            break; // uniform over the subgroup
        }
        float acc[MAX_M];
        for (uint m = 0; m < MAX_M; m++) {
            acc[m] = 0.0;
        }
        uint b_col = b_base + n * pc.b_stride.w;
        for (uint k = lane; k < pc.K; k += lanes) {
            float bv = float(b[b_col + k]);
            for (uint m = 0; m < MAX_M; m++) {
                if (m < pc.M) {
                    acc[m] += float(a[a_base + m * pc.a_stride.z + k * pc.a_stride.w]) * bv;
                }
            }
        }
        for (uint m = 0; m < MAX_M; m++) {
            if (m < pc.M) {
                float sum = subgroupAdd(acc[m]);
                if (lane == 0u) {
                    c[c_base + m * pc.c_stride.z + n * pc.c_stride.w] = C_T(pc.scale * sum);
                }
            }
        }
    }
}
