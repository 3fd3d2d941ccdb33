#version 450
// attention_combine.comp - merges the key splits of a decode attention (attention.comp with SPLIT). Split s of a
// query row left (acc_s[head_dim], m_s, l_s): its unnormalised output, running maximum and sum. With M = max_s m_s
// and w_s = exp(m_s - M) (mask.glsl's key_weight: 0 for a split that saw no key),
//   out[d] = sum_s w_s acc_s[d] / sum_s w_s l_s,  0 for a fully masked row (every l_s = 0).
// One invocation per output element.
#extension GL_GOOGLE_include_directive : require
#if defined(DTYPE_F16)
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"
#include "mask.glsl"

// f32 [batch, heads, q_len, n_splits, head_dim + 2], contiguous.
layout(set = 0, binding = 0) readonly buffer PartBuf { float part[]; };
layout(set = 0, binding = 1) writeonly buffer OutBuf { STORE_T o[]; };

layout(push_constant) uniform Params {
    uvec4 shape;    // out: [batch, q_len, heads, head_dim]
    uvec4 o_stride;
    uint o_offset;
    uint part_offset;
    uint n_splits;
    uint groups_x;
    uint elem_base;
} pc;

void main()
{
    uint e = flat_index(pc.groups_x, pc.elem_base);
    if (e >= pc.shape.x * pc.shape.y * pc.shape.z * pc.shape.w) {
        return;
    }
    uint dims = pc.shape.w;
    uint d = e % dims;
    uint row = e / dims;
    uint h = row % pc.shape.z;
    uint i = (row / pc.shape.z) % pc.shape.y;
    uint b = row / (pc.shape.z * pc.shape.y);
    uint stride = dims + 2u;
    uint base = pc.part_offset + ((b * pc.shape.z + h) * pc.shape.y + i) * pc.n_splits * stride;
    float m = NEG_INF;
    for (uint s = 0; s < pc.n_splits; s++) {
        m = max(m, part[base + s * stride + dims]);
    }
    float acc = 0.0;
    float l = 0.0;
    for (uint s = 0; s < pc.n_splits; s++) {
        uint at = base + s * stride;
        float w = key_weight(part[at + dims], m);
        acc += w * part[at + d];
        l += w * part[at + dims + 1u];
    }
    o[pc.o_offset + strided_offset(e, pc.shape, pc.o_stride)] = STORE_T(l > 0.0 ? acc / l : 0.0);
}
