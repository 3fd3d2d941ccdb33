/*
 * pe.h - what the positional-encoding front ends share (rope.c, rope_freq.c, sinusoidal.c, alibi.c, positions.c):
 * RoPE desc checking and frequencies, positions tensors, and phase tables.
 */
#ifndef VKATTN_OPS_PE_H
#define VKATTN_OPS_PE_H

#include "core/internal.h"

/* The largest head_dim (RoPE) and dim (sinusoidal) accepted: tables stay small and indices stay in 32 bits. */
#define VKATTN__PE_MAX_DIM 65536

/* A RoPE desc with its defaults applied and checked against a head_dim. */
typedef struct vkattn__rope_plan {
    vkattn_rope_desc d;  /* defaults applied (rot_dims, base, beta_*, low/high_freq_factor) */
    uint32_t head_dim;
    uint32_t n_pairs;    /* rot_dims / 2 */
    uint32_t ladder;     /* distinct frequencies: n_pairs, or n_pairs / 2 for 2D axial */
    uint32_t axes;       /* position axes: 1 (1D), 2 (2D axial), 3 (M-RoPE) */
} vkattn__rope_plan;

/* Applies defaults and checks every field, reporting the first violation with `func` (ctx may be NULL: the
 * thread's last error then holds the message). */
vkattn_result vkattn__rope_plan_make(vkattn_context *ctx, const char *func, const vkattn_rope_desc *desc,
                                     int64_t head_dim, vkattn__rope_plan *out);
/* Whether the frequencies depend on the context length (DYNAMIC, LONGROPE). */
bool vkattn__rope_needs_ctx_len(const vkattn__rope_plan *p);
/* theta[i] (radians per position step) and axis[i] of each of the n_pairs pairs, and the attention factor, for
 * context length ctx_len (used by DYNAMIC and LONGROPE only). axis may be NULL. */
void vkattn__rope_pairs(const vkattn__rope_plan *p, int64_t ctx_len, double *theta, uint32_t *axis,
                        double *attn_factor);

/* The phase-table entry of frequency theta (radians per step) for position axis `axis`. */
vkattn__phase_entry vkattn__phase_entry_of(double theta, uint32_t axis);

/* Positions of an op over x's batch and seq dims. The zero handle gives *has = false. Otherwise the tensor must be
 * i32 of shape [seq] or [batch, seq] (axes == 1), or [axes, seq] / [axes, batch, seq]; *out is it in the ops' form
 * [1, axes, batch, seq] with stride 0 where the caller's tensor has no batch dim. */
vkattn_result vkattn__positions_resolve(vkattn_context *ctx, const char *func, vkattn_tensor pos, uint32_t axes,
                                        int64_t batch, int64_t seq, bool *has, vkattn__tensor *out);
/* With a positions tensor pos_offset must be 0; without one, pos_offset + seq - 1 must fit in int32. */
vkattn_result vkattn__positions_check_offset(vkattn_context *ctx, const char *func, bool has, int32_t pos_offset,
                                             int64_t seq);
/* max(position) + 1 over the positions used: pos_offset + seq without a tensor, else read back from it (after the
 * work already submitted on the context). */
vkattn_result vkattn__positions_extent(vkattn_context *ctx, const char *func, vkattn_tensor pos, bool has,
                                       int32_t pos_offset, int64_t seq, int64_t *extent);

/* An op with inputs x, table and (when has_pos) positions, and output y; desc zeroed. */
vkattn__op vkattn__pe_op(vkattn__op_kind kind, const char *name, const vkattn__tensor *x, const vkattn__tensor *table,
                         const vkattn__tensor *pos, bool has_pos, const vkattn__tensor *y);

#endif /* VKATTN_OPS_PE_H */
