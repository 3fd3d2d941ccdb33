#version 450
// matmul.comp - batched c = scale * a b with f32 accumulation: a [batch, heads, M, K], b [batch_b, heads_b, K, N]
// (head h of a uses head h / group of b; batch_b = 1 broadcasts with stride 0; b^T is a view with swapped strides),
// c [batch, heads, M, N]; a, b, c each f32 or f16 (A_F16, B_F16, C_F16).
//
// Tiled in shared memory: a workgroup computes a TM x TN tile of c, walking K in steps of TK: it stages the TM x TK
// slice of a and the TK x TN slice of b in shared memory (zero outside the matrices, so boundary tiles need no other
// care), then each invocation accumulates RM x RN outputs in registers, rows ty + u TM / RM and columns
// tx + v TN / RN, so that neighbouring invocations read neighbouring shared words. The tile shape comes from
// specialization constants chosen from the device limits; the workgroup size is (TM / RM) (TN / RN).
#extension GL_GOOGLE_include_directive : require
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

layout(constant_id = 1) const uint TM = 64;
layout(constant_id = 2) const uint TN = 64;
layout(constant_id = 3) const uint TK = 16;
layout(constant_id = 4) const uint RM = 4;
layout(constant_id = 5) const uint RN = 4;
const uint WX = TN / RN; // invocations along a tile row
const uint WY = TM / RM;

layout(set = 0, binding = 0) readonly buffer ABuf { A_T a[]; };
layout(set = 0, binding = 1) readonly buffer BBuf { B_T b[]; };
layout(set = 0, binding = 2) buffer CBuf { C_T c[]; }; // read too when accumulating

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
    uint tile_base;
    float scale;
    uint accumulate; // 1: c += scale a b (a later slice of K on CPU devices, see vk_ops.c); 0: c = scale a b
} pc;

shared float s_a[TK * TM]; // [k][m]
shared float s_b[TK * TN]; // [k][n]

// The TM x TK slice of a at (m0, k0) into s_a, in the order that keeps global reads contiguous: along k when a's
// rows are contiguous (Q in Q K^T), else along m.
void stage_a(uint base, uint m0, uint k0)
{
    bool k_fast = pc.a_stride.w == 1u;
    for (uint e = gl_LocalInvocationID.x; e < TM * TK; e += gl_WorkGroupSize.x) {
        uint m = k_fast ? e / TK : e % TM;
        uint k = k_fast ? e % TK : e / TM;
        float v = 0.0;
        if (m0 + m < pc.M && k0 + k < pc.K) {
            v = float(a[base + (m0 + m) * pc.a_stride.z + (k0 + k) * pc.a_stride.w]);
        }
        s_a[k * TM + m] = v;
    }
}

// The TK x TN slice of b at (k0, n0) into s_b: along k when b's columns are contiguous (K^T in Q K^T), else along n
// (V in P V).
void stage_b(uint base, uint k0, uint n0)
{
    bool k_fast = pc.b_stride.z == 1u && pc.b_stride.w != 1u;
    for (uint e = gl_LocalInvocationID.x; e < TK * TN; e += gl_WorkGroupSize.x) {
        uint k = k_fast ? e % TK : e / TN;
        uint n = k_fast ? e / TK : e % TN;
        float v = 0.0;
        if (k0 + k < pc.K && n0 + n < pc.N) {
            v = float(b[base + (k0 + k) * pc.b_stride.z + (n0 + n) * pc.b_stride.w]);
        }
        s_b[k * TN + n] = v;
    }
}

void main()
{
    uint tiles_n = (pc.N + TN - 1) / TN;
    uint tiles_m = (pc.M + TM - 1) / TM;
    uint t = pc.tile_base + flat_group(pc.groups_x);
    uint bh = t / (tiles_n * tiles_m);
    if (bh >= pc.batch * pc.heads) {
        return; // uniform over the workgroup
    }
    uint n0 = (t % tiles_n) * TN;
    uint m0 = ((t / tiles_n) % tiles_m) * TM;
    uint bi = bh / pc.heads;
    uint h = bh % pc.heads;
    uint a_base = pc.a_offset + bi * pc.a_stride.x + h * pc.a_stride.y;
    uint b_base = pc.b_offset + bi * pc.b_stride.x + (h / pc.group) * pc.b_stride.y;
    uint tx = gl_LocalInvocationID.x % WX;
    uint ty = gl_LocalInvocationID.x / WX;

    float acc[RM * RN];
    for (uint i = 0; i < RM * RN; i++) {
        acc[i] = 0.0;
    }
    for (uint k0 = 0; k0 < pc.K; k0 += TK) {
        stage_a(a_base, m0, k0);
        stage_b(b_base, k0, n0);
        barrier();
        for (uint k = 0; k < TK; k++) {
            float av[RM];
            float bv[RN];
            for (uint u = 0; u < RM; u++) {
                av[u] = s_a[k * TM + ty + u * WY];
            }
            for (uint v = 0; v < RN; v++) {
                bv[v] = s_b[k * TN + tx + v * WX];
            }
            for (uint u = 0; u < RM; u++) {
                for (uint v = 0; v < RN; v++) {
                    acc[u * RN + v] += av[u] * bv[v];
                }
            }
        }
        barrier();
    }
    uint c_base = pc.c_offset + bi * pc.c_stride.x + h * pc.c_stride.y;
    for (uint u = 0; u < RM; u++) {
        uint m = m0 + ty + u * WY;
        for (uint v = 0; v < RN; v++) {
            uint n = n0 + tx + v * WX;
            if (m < pc.M && n < pc.N) {
                uint at = c_base + m * pc.c_stride.z + n * pc.c_stride.w;
                float value = pc.scale * acc[u * RN + v];
                c[at] = C_T(pc.accumulate != 0u ? float(c[at]) + value : value);
            }
        }
    }
}
