#version 450
// attention.comp - fused attention, flash-attention style (Dao et al. 2022, arXiv:2205.14135): for q [batch, q_len,
// heads, head_dim] and k, v [batch, kv_len, kv_heads, head_dim],
//   out[b, i, h] = sum_j softmax_j(v_j) v[b, j, h / GROUP],  v_j = scale q[b, i, h] . k[b, j, h / GROUP] masked as
//   mask.glsl says,
// without ever holding a q_len x kv_len matrix. A workgroup takes BQ rows of one (batch, kv head): row
// rho = i GROUP + g is query i of head kv_head GROUP + g, so the heads that share a kv head share its K and V tiles
// (GQA, MQA). It streams the keys in tiles of BK through shared memory; each row keeps a running maximum m, sum l
// and accumulator acc (online softmax): a score s raises m to m' = max(m, s), which rescales l and acc by
// exp(m - m'), and adds weight exp(s - m') to l and that times the key's value to acc. At the end it writes acc / l
// (zeros for a fully masked row, l = 0).
//
// T_D invocations share a row, each holding DPT4 vec4s of its dims of q and of acc in registers (vec4 t T_D + lane
// of the row). Two ways to a row's scores, chosen by T_D:
//   T_D = 1 (CPU devices): the invocation scores the staged keys alone, four at a time (one rescale per four keys);
//     every row of a SIMD group reads the same staged key.
//   T_D > 1 (GPUs): the partial dot products meet in shared memory, where invocation `lane` of the row sums those of
//     keys lane, lane + T_D, ... and weighs them against the tile's maximum; then every invocation adds the tile.
// The host picks BQ, BK and T_D from the device limits. No loop is marked [[unroll]]: on lavapipe, unrolling the
// loops over a row's vec4s and a tile's keys made each pipeline take many seconds to compile (a cold test_attention
// went from 2 to 9 minutes) for no measured gain. llvmpipe (Mesa 22) ends an invocation's loops after 65535
// iterations in all, silently, so the host keeps the staging passes few and bounds the keys per workgroup on CPU
// devices (splitting the keys as for decode; vk_ops.c attention_max_keys).
//
// Decode split (SPLIT): workgroup `split` takes only keys [split * split_len, (split + 1) * split_len) and writes its
// unnormalised partial (acc[HEAD_DIM], m, l) to the scratch; attention_combine.comp merges the splits.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#if defined(DTYPE_F16) || defined(MASK_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "mask.glsl"

layout(constant_id = 1) const uint HEAD_DIM = 64;
layout(constant_id = 2) const uint BQ = 16;        // rows per workgroup
layout(constant_id = 3) const uint BK = 32;        // keys per tile, a multiple of 4
layout(constant_id = 4) const uint T_D = 8;        // invocations per row: the workgroup size is BQ * T_D
layout(constant_id = 5) const uint GROUP = 1;      // heads / kv_heads
layout(constant_id = 6) const uint FLAGS = 0;      // MASK_* of mask.glsl
layout(constant_id = 7) const uint WINDOW = 0;     // sliding window, 0 = none
layout(constant_id = 8) const uint GRID_WIDTH = 0; // ALiBi distance
layout(constant_id = 9) const bool SPLIT = false;
const bool SHARED_ROWS = T_D > 1u;
const uint DPT4 = (HEAD_DIM + 4u * T_D - 1u) / (4u * T_D); // at most 32 (the host's choice of T_D)
const uint ROW4 = DPT4 * T_D;      // vec4s of a staged key row, zero past HEAD_DIM
const uint PART_STRIDE = T_D + 1u; // padded so that the summing invocations of a row hit different banks
const uint STAGE_PASSES = (BK * ROW4 + BQ * T_D - 1u) / (BQ * T_D);

layout(set = 0, binding = 0) readonly buffer QBuf { STORE_T q[]; };
layout(set = 0, binding = 1) readonly buffer KBuf { STORE_T k[]; };
layout(set = 0, binding = 2) readonly buffer VBuf { STORE_T v[]; };
// Without a mask the host binds q here, and without ALiBi q again for the slopes; the kernel never reads them.
layout(set = 0, binding = 3) readonly buffer MaskBuf { MASK_T mask[]; };
layout(set = 0, binding = 4) readonly buffer SlopeBuf { float slopes[]; }; // f32 [heads], contiguous
layout(set = 0, binding = 5) writeonly buffer OutBuf { STORE_T o[]; };
// SPLIT: f32 [batch, heads, q_len, n_splits, HEAD_DIM + 2] partials; else out is bound here, never accessed.
layout(set = 0, binding = 6) writeonly buffer PartBuf { float part[]; };

layout(push_constant) uniform Params {
    uvec4 q_stride;    // [batch, q_len, heads, head_dim]
    uvec4 k_stride;    // [batch, kv_len, kv_heads, head_dim]
    uvec4 v_stride;
    uvec4 o_stride;
    uvec4 mask_stride; // [batch, heads, q_len, kv_len], 0 on broadcast dims
    uint offsets_qkvo; // element offsets (below 256: see vk_ops.c), a byte each: q, k, v, out
    uint offsets_msp;  // mask, slopes, part
    uint batch;
    uint q_len;
    uint kv_heads;
    uint kv_len;
    uint groups_x;
    uint block_base;
    float scale;
    int q_offset;
    uint n_splits;     // low 16 bits: splits; high 16 bits: splits per window of k and v (see block_at)
    uint split_len;
} pc;

shared vec4 s_k[BK * ROW4]; // the tile's keys and values: [key][vec4]
shared vec4 s_v[BK * ROW4];
// SHARED_ROWS only: partial dot products [row][key][lane]; scores, weights [row][key].
shared float s_part[SHARED_ROWS ? BQ * BK * PART_STRIDE : 1u];
shared float s_score[SHARED_ROWS ? BQ * BK : 1u];
shared float s_weight[SHARED_ROWS ? BQ * BK : 1u];

uint byte_of(uint word, uint index)
{
    return (word >> (8u * index)) & 0xffu;
}

// This workgroup's rows and keys.
struct Block {
    uint b;
    uint kv_head;
    uint first_row;    // rho of the block's first row
    uint key_begin;
    uint key_end;
    uint split;
    uint window_key;   // the first key of the window k, v and the mask are bound at
};

// Keys [key_begin, key_end) of the split, less those no row of the block sees: after the last query (causal) or at
// and before the first query's q - WINDOW.
// The split is the slowest coordinate of the group index, so that each window of splits is one contiguous range
// of groups: a tensor larger than the storage-buffer range (a long KV cache) is bound in windows of whole splits,
// one dispatch per window (vk_ops.c record_attention), and the bindings start at the window's first key.
Block block_at(uint id)
{
    uint rows = pc.q_len * GROUP;
    uint n_blocks = (rows + BQ - 1u) / BQ;
    uint per_window = pc.n_splits >> 16u;
    Block blk;
    blk.split = id / (pc.batch * pc.kv_heads * n_blocks);
    id %= pc.batch * pc.kv_heads * n_blocks;
    blk.window_key = blk.split / per_window * per_window * pc.split_len;
    blk.first_row = (id % n_blocks) * BQ;
    id /= n_blocks;
    blk.kv_head = id % pc.kv_heads;
    blk.b = id / pc.kv_heads;
    blk.key_begin = blk.split * pc.split_len;
    blk.key_end = min(pc.kv_len, blk.key_begin + pc.split_len);
    int q_last = pc.q_offset + int((min(rows, blk.first_row + BQ) - 1u) / GROUP);
    if ((FLAGS & MASK_CAUSAL) != 0u) {
        blk.key_end = min(blk.key_end, q_last < 0 ? 0u : uint(q_last) + 1u);
    }
    int q_first = pc.q_offset + int(blk.first_row / GROUP);
    if (WINDOW != 0u && q_first >= 0 && uint(q_first) >= WINDOW) {
        blk.key_begin = max(blk.key_begin, uint(q_first) - WINDOW + 1u);
    }
    return blk;
}

// The query row of this invocation.
struct Row {
    bool live;   // rho < q_len * GROUP
    uint i;
    uint h;
    int q_pos;
    uint mask;   // mask offset of (b, h, i, 0)
    float slope;
};

Row row_at(Block blk, uint rho)
{
    Row row;
    row.live = rho < pc.q_len * GROUP;
    row.i = rho / GROUP;
    row.h = blk.kv_head * GROUP + rho % GROUP;
    row.q_pos = pc.q_offset + int(row.i);
    // Unsigned arithmetic wraps, so subtracting the window's first key here and adding key j later lands on
    // key j's element of the window.
    row.mask = byte_of(pc.offsets_msp, 0u) + blk.b * pc.mask_stride.x + row.h * pc.mask_stride.y +
               row.i * pc.mask_stride.z - blk.window_key * pc.mask_stride.w;
    row.slope = ((FLAGS & MASK_ALIBI) != 0u && row.live) ? slopes[byte_of(pc.offsets_msp, 1u) + row.h] : 0.0;
    return row;
}

float masked_score(Row row, uint j, float dot)
{
    int key = int(j);
    if (!row.live || key_hidden(row.q_pos, key, FLAGS, WINDOW)) {
        return NEG_INF;
    }
    float s = pc.scale * dot;
    if ((FLAGS & MASK_ADDITIVE) != 0u) {
        s = add_mask(s, float(mask[row.mask + j * pc.mask_stride.w]));
    }
    if ((FLAGS & MASK_ALIBI) != 0u) {
        s -= row.slope * alibi_distance(row.q_pos, key, GRID_WIDTH);
    }
    return s;
}

#define LOAD1(t, at, d, ds) ((d) < HEAD_DIM ? float(t[(at) + (d) * (ds)]) : 0.0)
// Dims d0 .. d0 + 3 of a row of tensor t at element offset `at`, dim stride ds; 0 past HEAD_DIM.
#define LOAD4(t, at, d0, ds) \
    vec4(LOAD1(t, at, d0, ds), LOAD1(t, at, (d0) + 1u, ds), LOAD1(t, at, (d0) + 2u, ds), LOAD1(t, at, (d0) + 3u, ds))

// Keys j0 .. j0 + n_keys - 1 of k and v into s_k and s_v, zero past them; consecutive invocations take consecutive
// vec4s (contiguous reads). A fixed number of passes, so that the loop can unroll.
void stage(uint k_base, uint v_base, uint j0, uint n_keys)
{
    for (uint pass = 0; pass < STAGE_PASSES; pass++) {
        uint e = pass * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        uint c = e / ROW4;
        if (e < BK * ROW4) {
            uint d0 = 4u * (e % ROW4);
            bool key = c < n_keys;
            s_k[e] = key ? LOAD4(k, k_base + (j0 + c) * pc.k_stride.y, d0, pc.k_stride.w) : vec4(0.0);
            s_v[e] = key ? LOAD4(v, v_base + (j0 + c) * pc.v_stride.y, d0, pc.v_stride.w) : vec4(0.0);
        }
    }
}

// This row's slice of q . k_c for staged key c.
float key_dot(vec4 qv[DPT4], uint c, uint lane)
{
    float d = 0.0;
    for (uint t = 0; t < DPT4; t++) {
        d += dot(qv[t], s_k[c * ROW4 + t * T_D + lane]);
    }
    return d;
}

// The running state of a row: acc = sum_j exp(v_j - m) value_j, l = sum_j exp(v_j - m), m = max_j v_j.
struct State {
    vec4 acc[DPT4];
    float m;
    float l;
};

// Rescales the state to the maximum m_new >= m (exp(-inf - -inf) counts as 1: nothing seen yet).
void rescale(inout State st, float m_new)
{
    float alpha = st.m == m_new ? 1.0 : exp(st.m - m_new);
    st.m = m_new;
    st.l *= alpha;
    for (uint t = 0; t < DPT4; t++) {
        st.acc[t] *= alpha;
    }
}

// Adds staged values c .. c + 3 with weights w.
void add_values(inout State st, vec4 w, uint c, uint lane)
{
    st.l += w.x + w.y + w.z + w.w;
    for (uint t = 0; t < DPT4; t++) {
        uint at = c * ROW4 + t * T_D + lane;
        st.acc[t] += w.x * s_v[at] + w.y * s_v[at + ROW4] + w.z * s_v[at + 2u * ROW4] + w.w * s_v[at + 3u * ROW4];
    }
}

// T_D = 1: the staged tile into the state, four keys at a time.
void tile_rowwise(inout State st, Row row, vec4 qv[DPT4], uint j0, uint n_keys)
{
    for (uint c = 0; c < BK; c += 4u) {
        vec4 s;
        for (uint u = 0; u < 4u; u++) {
            s[u] = c + u < n_keys ? masked_score(row, j0 + c + u, key_dot(qv, c + u, 0u)) : NEG_INF;
        }
        rescale(st, max(st.m, max(max(s.x, s.y), max(s.z, s.w))));
        vec4 w = vec4(key_weight(s.x, st.m), key_weight(s.y, st.m), key_weight(s.z, st.m), key_weight(s.w, st.m));
        add_values(st, w, c, 0u);
    }
}

// T_D > 1: the staged tile into the state through shared memory; own = the row's first entry of s_score.
void tile_shared(inout State st, Row row, vec4 qv[DPT4], uint own, uint lane, uint j0, uint n_keys)
{
    for (uint c = 0; c < BK; c++) {
        s_part[(own + c) * PART_STRIDE + lane] = key_dot(qv, c, lane);
    }
    barrier();
    for (uint c = lane; c < BK; c += T_D) {
        float d = 0.0;
        for (uint u = 0; u < T_D; u++) {
            d += s_part[(own + c) * PART_STRIDE + u];
        }
        s_score[own + c] = c < n_keys ? masked_score(row, j0 + c, d) : NEG_INF;
    }
    barrier();
    float m_new = st.m;
    for (uint c = 0; c < BK; c++) {
        m_new = max(m_new, s_score[own + c]);
    }
    for (uint c = lane; c < BK; c += T_D) {
        s_weight[own + c] = key_weight(s_score[own + c], m_new);
    }
    barrier();
    rescale(st, m_new);
    for (uint c = 0; c < BK; c += 4u) {
        add_values(st, vec4(s_weight[own + c], s_weight[own + c + 1u], s_weight[own + c + 2u],
                            s_weight[own + c + 3u]), c, lane);
    }
}

// The row's result: out = acc / l, or with SPLIT the partial (acc, m, l).
void finish(State st, Block blk, Row row, uint lane)
{
    uint heads = pc.kv_heads * GROUP;
    uint n_splits = pc.n_splits & 0xffffu;
    uint part_at = byte_of(pc.offsets_msp, 2u) +
                   (((blk.b * heads + row.h) * pc.q_len + row.i) * n_splits + blk.split) * (HEAD_DIM + 2u);
    uint o_base = byte_of(pc.offsets_qkvo, 3u) + blk.b * pc.o_stride.x + row.i * pc.o_stride.y +
                  row.h * pc.o_stride.z;
    for (uint t = 0; t < DPT4; t++) {
        for (uint u = 0; u < 4u; u++) {
            uint d = 4u * (t * T_D + lane) + u;
            if (d >= HEAD_DIM) {
                continue;
            }
            if (SPLIT) {
                part[part_at + d] = st.acc[t][u];
            } else {
                o[o_base + d * pc.o_stride.w] = STORE_T(st.l > 0.0 ? st.acc[t][u] / st.l : 0.0);
            }
        }
    }
    if (SPLIT && lane == 0u) {
        part[part_at + HEAD_DIM] = st.m;
        part[part_at + HEAD_DIM + 1u] = st.l;
    }
}

void main()
{
    Block blk = block_at(pc.block_base + flat_group(pc.groups_x));
    if (blk.split >= (pc.n_splits & 0xffffu)) {
        return; // uniform over the workgroup
    }
    uint r = gl_LocalInvocationID.x / T_D;
    uint lane = gl_LocalInvocationID.x % T_D;
    Row row = row_at(blk, blk.first_row + r);
    uint k_base = byte_of(pc.offsets_qkvo, 1u) + blk.b * pc.k_stride.x + blk.kv_head * pc.k_stride.z -
                  blk.window_key * pc.k_stride.y;
    uint v_base = byte_of(pc.offsets_qkvo, 2u) + blk.b * pc.v_stride.x + blk.kv_head * pc.v_stride.z -
                  blk.window_key * pc.v_stride.y;
    uint q_base = byte_of(pc.offsets_qkvo, 0u) + blk.b * pc.q_stride.x + row.i * pc.q_stride.y +
                  row.h * pc.q_stride.z;
    vec4 qv[DPT4];
    State st;
    for (uint t = 0; t < DPT4; t++) {
        qv[t] = row.live ? LOAD4(q, q_base, 4u * (t * T_D + lane), pc.q_stride.w) : vec4(0.0);
        st.acc[t] = vec4(0.0);
    }
    st.m = NEG_INF;
    st.l = 0.0;
    for (uint j0 = blk.key_begin; j0 < blk.key_end; j0 += BK) {
        uint n_keys = min(BK, blk.key_end - j0);
        stage(k_base, v_base, j0, n_keys);
        barrier();
        if (SHARED_ROWS) {
            tile_shared(st, row, qv, r * BK, lane, j0, n_keys);
        } else {
            tile_rowwise(st, row, qv, j0, n_keys);
        }
        barrier(); // before the next tile replaces s_k and s_v
    }
    if (row.live) {
        finish(st, blk, row, lane);
    }
}
