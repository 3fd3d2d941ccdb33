#version 450
// sinusoidal.comp - y = x + PE(p) on x [1, batch, seq, dim], one invocation per element d of a row (b, s):
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
    uint e = flat_index(pc.groups_x, pc.elem_base);
    if (e >= pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w) {
        return;
    }
    uint d = e % pc.shape.w;
    uint row = e / pc.shape.w; // (b, s) over shape.y, shape.z
    bool concat = pc.layout_id == SINUSOIDAL_CONCAT;
    bool use_cos = concat ? d >= pc.n_entries : (d & 1u) != 0u;
    uint k = concat ? (use_cos ? d - pc.n_entries : d) : d / 2u;
    float v = float(x[pc.x_offset + strided_offset(e, pc.shape, pc.x_stride)]);
    if (k < pc.n_entries) {
        vec2 sc = turn_sincos(token_position(0u, row / pc.shape.z, row % pc.shape.z), entry_turn(k));
        v += use_cos ? sc.y : sc.x;
    }
    y[pc.y_offset + strided_offset(e, pc.shape, pc.y_stride)] = STORE_T(v);
}
