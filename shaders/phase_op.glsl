// phase_op.glsl - the interface shared by the kernels that read a phase table (rope.comp, sinusoidal.comp): four
// bindings, the push constants (mirrored by phase_push in src/vulkan/vk_ops.c) and the table and position lookups.
// Include after common.glsl (STORE_T).

layout(set = 0, binding = 0) readonly buffer XBuf { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf { STORE_T y[]; };
// n_entries vkattn__phase_entry {turn_lo, turn_hi, axis, pad}, contiguous.
layout(set = 0, binding = 2) readonly buffer TableBuf { uint table[]; };
// i32 [1, axes, batch, seq]; without positions the host binds the table here and the kernel never reads it.
layout(set = 0, binding = 3) readonly buffer PosBuf { int pos[]; };

layout(push_constant) uniform Params {
    uvec4 shape;
    uvec4 x_stride;
    uvec4 y_stride;
    uint x_offset;
    uint y_offset;
    uint table_offset;
    uint pos_offset;
    uvec4 pos_stride;
    uint groups_x;
    uint row_base;      // the dispatch's first row
    uint n_entries;     // table entries: n_pairs (rope), n_freqs (sinusoidal)
    uint row_len;       // rope: invocations per row
    uint layout_id;     // vkattn_rope_mode (rope), vkattn_sinusoidal_layout (sinusoidal)
    uint has_positions;
    int pos_start;      // p = pos_start + s without positions
    float attn_factor;  // rope: multiplies cos and sin
} pc;

// Fixed per pipeline (the host also sets the push constants' copies): llvmpipe runs the code of untaken branches too,
// masked off, so a kernel must not carry what this call does not do.
layout(constant_id = 1) const uint LAYOUT = 0;            // pc.layout_id
layout(constant_id = 2) const bool HAS_POSITIONS = false; // pc.has_positions != 0
layout(constant_id = 3) const bool MULTI_AXIS = false;    // table entries name axes other than 0 (2D, M-RoPE)
// Each workgroup takes ROWS_PER_GROUP consecutive rows (group_row_range), its invocations walking each row together:
// the index arithmetic (divisions, costly on CPU devices) is per row, not per element.
layout(constant_id = 4) const uint ROWS_PER_GROUP = 1;

uvec2 entry_turn(uint k)
{
    uint at = pc.table_offset + 4u * k;
    return uvec2(table[at], table[at + 1u]);
}

uint entry_axis(uint k)
{
    return MULTI_AXIS ? table[pc.table_offset + 4u * k + 2u] : 0u;
}

// Position of token (b, s) on the given axis.
int token_position(uint axis, uint b, uint s)
{
    if (!HAS_POSITIONS) {
        return pc.pos_start + int(s);
    }
    return pos[pc.pos_offset + axis * pc.pos_stride.y + b * pc.pos_stride.z + s * pc.pos_stride.w];
}
