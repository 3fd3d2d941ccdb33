/*
 * cpu_rope.c - reference RoPE in float64: for each token (b, s), head h and pair k = (a, b') with angle
 * t = p * theta_k (reduced exactly through the phase table) and attention factor m:
 *   y[a] = m (x[a] cos t - x[b'] sin t),  y[b'] = m (x[b'] cos t + x[a] sin t);  dims past the pairs are copied.
 * Both elements of a pair are read before either is written, so y may be x's own view.
 */
#include "cpu/cpu_internal.h"

#include <math.h>

/* Storage index of element d of row (i0, i1, i2). */
static int64_t elem(const vkattn__tensor *t, int64_t row_start, int64_t d)
{
    return row_start + d * t->strides[3];
}

static void rotate_row(const vkattn__op *op, int64_t b, int64_t s, int64_t xs, int64_t ys)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__rope_params *rp = &op->desc.rope;
    int64_t n = rp->n_pairs;
    for (int64_t k = 0; k < n; k++) {
        vkattn__phase_entry e = vkattn__cpu_phase_entry(op, (uint32_t)k);
        double t = vkattn__cpu_phase_angle(vkattn__cpu_position(op, rp->has_positions, rp->pos_offset, e.axis, b, s), e);
        double c = rp->attn_factor * cos(t), sn = rp->attn_factor * sin(t);
        int64_t ia = rp->mode == VKATTN_ROPE_NEOX ? k : 2 * k;
        int64_t ib = rp->mode == VKATTN_ROPE_NEOX ? k + n : 2 * k + 1;
        double xa = vkattn__cpu_load(x, elem(x, xs, ia)), xb = vkattn__cpu_load(x, elem(x, xs, ib));
        vkattn__cpu_store(y, elem(y, ys, ia), xa * c - xb * sn);
        vkattn__cpu_store(y, elem(y, ys, ib), xb * c + xa * sn);
    }
    for (int64_t d = 2 * n; d < x->shape[3]; d++)
        vkattn__cpu_store(y, elem(y, ys, d), vkattn__cpu_load(x, elem(x, xs, d)));
}

void vkattn__cpu_rope(const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    for (int64_t r = 0; r < vkattn__cpu_rows(x); r++) {
        int64_t s = (r / x->shape[2]) % x->shape[1];
        int64_t b = r / (x->shape[2] * x->shape[1]);
        rotate_row(op, b, s, vkattn__cpu_row_start(x, r), vkattn__cpu_row_start(y, r));
    }
}
