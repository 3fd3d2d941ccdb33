/*
 * attn.h - what the attention front ends share (softmax.c, matmul.c, attention.c, mask.c): masks on scores
 * [batch, heads, q_len, k_len], and building matmul / softmax ops on internal tensors (the unfused attention path
 * composes them).
 */
#ifndef VKATTN_OPS_ATTN_H
#define VKATTN_OPS_ATTN_H

#include "core/internal.h"

/* The masking of scores of shape `scores` (4 dims): checks q_offset / window / the ALiBi desc (NULL = none; its
 * q_offset and causal must be 0), resolves the mask handle (zero = none) to a tensor aligned with the scores, and
 * makes the slopes table. Unused outputs are set to *placeholder (see vkattn__mask_params). `y` (may be NULL) is
 * the op's output, which the mask must not overlap. */
typedef struct vkattn__mask_request {
    bool causal;
    int32_t q_offset;
    uint32_t window;
    vkattn_tensor mask;
    const vkattn_alibi_desc *alibi;
} vkattn__mask_request;

vkattn_result vkattn__mask_setup(vkattn_context *ctx, const char *func, const vkattn__mask_request *req,
                                 const int64_t scores[4], const vkattn__tensor *placeholder, const vkattn__tensor *y,
                                 vkattn__mask_params *params, vkattn__tensor *mask, vkattn__tensor *slopes);

/* The ALiBi slopes of desc for `heads` heads and key length k_len as a cached f32 table (alibi.c). */
vkattn_result vkattn__alibi_table(vkattn_context *ctx, const char *func, const vkattn_alibi_desc *desc,
                                  uint32_t heads, uint32_t k_len, vkattn__tensor *out);

/* c = scale * a b on resolved 4-dim tensors (b already transposed by strides, batch broadcast by stride 0). Checks
 * shapes, dtypes and overlap; names the tensors a, b, c in messages. */
vkattn_result vkattn__matmul_op(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, float scale,
                                const vkattn__tensor *a, const vkattn__tensor *b, const vkattn__tensor *c);

/* Softmax over the last axis of the 4-dim x into y with masking (x, y checked by the caller). */
vkattn__op vkattn__softmax_op(const vkattn__tensor *x, const vkattn__tensor *y, float scale,
                              const vkattn__mask_params *params, const vkattn__tensor *mask,
                              const vkattn__tensor *slopes);

/* t with dims d0 and d1 exchanged, as a view: (1, 2) turns [b, s, h, d] into [b, h, s, d], (2, 3) transposes. */
vkattn__tensor vkattn__swap_dims(const vkattn__tensor *t, int d0, int d1);

#endif /* VKATTN_OPS_ATTN_H */
