#version 450
// rope.comp - rotary position embedding (Su et al. 2021, RoFormer, arXiv:2104.09864) on x [batch, seq, heads,
// head_dim]. Workgroups take rows (row = (b, s, h)), their invocations the items k < row_len of each: k < n_pairs
// rotates pair k, whose dims are
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

// Row c = (b, s, h).
void rope_row(uvec3 c)
{
    uint xr = pc.x_offset + coords_offset(c, pc.x_stride);
    uint yr = pc.y_offset + coords_offset(c, pc.y_stride);
    uint s = c.y;
    uint b = c.x;
    for (uint k = gl_LocalInvocationID.x; k < pc.row_len; k += gl_WorkGroupSize.x) {
        if (k >= pc.n_entries) {
            uint d = k + pc.n_entries;
            y[yr + d * pc.y_stride.w] = x[xr + d * pc.x_stride.w];
            continue;
        }
        uint da = LAYOUT == ROPE_GPTJ ? 2u * k : k;
        uint db = LAYOUT == ROPE_GPTJ ? da + 1u : k + pc.n_entries;
        vec2 sc = pc.attn_factor * turn_sincos(token_position(entry_axis(k), b, s), entry_turn(k));
        float xa = float(x[xr + da * pc.x_stride.w]);
        float xb = float(x[xr + db * pc.x_stride.w]);
        y[yr + da * pc.y_stride.w] = STORE_T(xa * sc.y - xb * sc.x);
        y[yr + db * pc.y_stride.w] = STORE_T(xb * sc.y + xa * sc.x);
    }
}

void main()
{
    uvec2 rows = group_row_range(pc.groups_x, pc.row_base, ROWS_PER_GROUP, pc.shape.x * pc.shape.y * pc.shape.z);
    uvec3 c = row_coords(rows.x, pc.shape);
    for (uint row = rows.x; row < rows.y; row++) {
        rope_row(c);
        c = next_row(c, pc.shape);
    }
}
