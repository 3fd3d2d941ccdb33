#version 450
// rope.comp - rotary position embedding (Su et al. 2021, RoFormer, arXiv:2104.09864) on x [batch, seq, heads,
// head_dim]. One invocation per (row, k), row = (b, s, h): k < n_pairs rotates pair k, whose dims are
//   NEOX (k, k + n_pairs), GPTJ (2k, 2k + 1):
//   y[a] = x[a] c - x[b] sn,  y[b] = x[b] c + x[a] sn,  (sn, c) = attn_factor (sin, cos)(angle of entry k at p);
// k >= n_pairs copies dim k + n_pairs (the pass-through dims from 2 n_pairs on; the host leaves them out in place).
// Arithmetic in f32; angles from phase.glsl.
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "phase.glsl"
#include "phase_op.glsl"

const uint ROPE_GPTJ = 1u; // VKATTN_ROPE_GPTJ

void main()
{
    uint e = flat_index(pc.groups_x, pc.elem_base);
    uint row = e / pc.row_len;
    if (row >= pc.shape.x * pc.shape.y * pc.shape.z) {
        return;
    }
    uint k = e - row * pc.row_len;
    uint xr = pc.x_offset + row_offset(row, pc.shape, pc.x_stride);
    uint yr = pc.y_offset + row_offset(row, pc.shape, pc.y_stride);
    if (k >= pc.n_entries) {
        uint d = k + pc.n_entries;
        y[yr + d * pc.y_stride.w] = x[xr + d * pc.x_stride.w];
        return;
    }
    uint da = pc.layout_id == ROPE_GPTJ ? 2u * k : k;
    uint db = pc.layout_id == ROPE_GPTJ ? da + 1u : k + pc.n_entries;
    uint s = (row / pc.shape.z) % pc.shape.y;
    uint b = row / (pc.shape.z * pc.shape.y);
    vec2 sc = pc.attn_factor * turn_sincos(token_position(entry_axis(k), b, s), entry_turn(k));
    float xa = float(x[xr + da * pc.x_stride.w]);
    float xb = float(x[xr + db * pc.x_stride.w]);
    y[yr + da * pc.y_stride.w] = STORE_T(xa * sc.y - xb * sc.x);
    y[yr + db * pc.y_stride.w] = STORE_T(xb * sc.y + xa * sc.x);
}
