#version 450
// sinusoidal.comp - y = x + PE(p) on x [1, batch, seq, dim]; workgroups take rows (b, s), their invocations the
// elements d of each:
//   INTERLEAVED (Vaswani et al. 2017, arXiv:1706.03762): k = d / 2, PE = sin (d even) or cos (d odd) of angle_k;
//   CONCAT (fairseq, Whisper), h = n_freqs: d < h sin(angle_d), d < 2h cos(angle_{d-h}), an odd dim's last
//   element PE = 0.
// angle_k(p) from phase-table entry k (phase.glsl); arithmetic in f32.
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "phase.glsl"
#include "phase_op.glsl"

const uint SINUSOIDAL_CONCAT = 1u; // VKATTN_SINUSOIDAL_CONCAT

void main()
{
    uvec2 rows = group_row_range(pc.groups_x, pc.row_base, ROWS_PER_GROUP, pc.shape.y * pc.shape.z);
    uvec3 c = row_coords(rows.x, pc.shape); // (0, b, s)
    for (uint row = rows.x; row < rows.y; row++, c = next_row(c, pc.shape)) {
        uint xr = pc.x_offset + coords_offset(c, pc.x_stride);
        uint yr = pc.y_offset + coords_offset(c, pc.y_stride);
        int p = token_position(0u, c.y, c.z);
        for (uint d = gl_LocalInvocationID.x; d < pc.shape.w; d += gl_WorkGroupSize.x) {
            bool concat = LAYOUT == SINUSOIDAL_CONCAT;
            bool use_cos = concat ? d >= pc.n_entries : (d & 1u) != 0u;
            uint k = concat ? (use_cos ? d - pc.n_entries : d) : d / 2u;
            float v = float(x[xr + d * pc.x_stride.w]);
            if (k < pc.n_entries) {
                vec2 sc = turn_sincos(p, entry_turn(k));
                v += use_cos ? sc.y : sc.x;
            }
            y[yr + d * pc.y_stride.w] = STORE_T(v);
        }
    }
}
