/*
 * cpu_rope.c - reference RoPE in float64: for each token (b, s), head h and pair k = (a, b') with angle
 * t = p * theta_k (reduced exactly through the phase table) and attention factor m:
 *   y[a] = m (x[a] cos t - x[b'] sin t),  y[b'] = m (x[b'] cos t + x[a] sin t);  dims past the pairs are copied.
 * Both elements of a pair are read before either is written, so y may be x's own view.
 *
 * Rows run (b, s, h) with h fastest, so a thread computes the cos/sin of a token once for all its heads, and
 * rotates each row as a double array. Without memory for that it falls back to one element at a time.
 */
#include "cpu/cpu_internal.h"

#include <math.h>
#include <stdlib.h>

/* Storage index of element d of row (i0, i1, i2). */
static int64_t elem(const vkattn__tensor *t, int64_t row_start, int64_t d)
{
    return row_start + d * t->strides[3];
}

/* Angle of pair k at token (b, s). */
static double angle(const vkattn__op *op, int64_t b, int64_t s, uint32_t k)
{
    const vkattn__rope_params *rp = &op->desc.rope;
    vkattn__phase_entry e = vkattn__cpu_phase_entry(op, k);
    return vkattn__cpu_phase_angle(vkattn__cpu_position(op, rp->has_positions, rp->pos_offset, e.axis, b, s), e);
}

static void rotate_row(const vkattn__op *op, int64_t b, int64_t s, int64_t xs, int64_t ys)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__rope_params *rp = &op->desc.rope;
    int64_t n = rp->n_pairs;
    for (int64_t k = 0; k < n; k++) {
        double t = angle(op, b, s, (uint32_t)k);
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

/* cs[k] = m cos t_k, sn[k] = m sin t_k for token (b, s). */
static void token_angles(const vkattn__op *op, int64_t b, int64_t s, double *cs, double *sn)
{
    const vkattn__rope_params *rp = &op->desc.rope;
    for (uint32_t k = 0; k < rp->n_pairs; k++) {
        double t = angle(op, b, s, k);
        cs[k] = rp->attn_factor * cos(t);
        sn[k] = rp->attn_factor * sin(t);
    }
}

/* Pairs (k, k + n) for NEOX, (2k, 2k + 1) for GPT-J; one loop each so that both index patterns are plain to the
 * vectoriser. */
VKATTN__CPU_VECTOR
static void rotate(double *row, const double *cs, const double *sn, int64_t n, bool neox)
{
    if (neox) {
        for (int64_t k = 0; k < n; k++) {
            double xa = row[k], xb = row[k + n];
            row[k] = xa * cs[k] - xb * sn[k];
            row[k + n] = xb * cs[k] + xa * sn[k];
        }
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        double xa = row[2 * k], xb = row[2 * k + 1];
        row[2 * k] = xa * cs[k] - xb * sn[k];
        row[2 * k + 1] = xb * cs[k] + xa * sn[k];
    }
}

static void rope_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    int64_t n = op->desc.rope.n_pairs, dims = x->shape[3];
    double *buf = malloc((size_t)(2 * n + dims) * sizeof *buf + 1);
    int64_t cached = -1;
    for (int64_t r = begin; r < end; r++) {
        int64_t token = r / x->shape[2], s = token % x->shape[1], b = token / x->shape[1];
        int64_t xs = vkattn__cpu_row_start(x, r), ys = vkattn__cpu_row_start(y, r);
        if (!buf) {
            rotate_row(op, b, s, xs, ys);
            continue;
        }
        if (token != cached)
            token_angles(op, b, s, buf, buf + n);
        cached = token;
        vkattn__cpu_load_row(x, xs, x->strides[3], dims, buf + 2 * n);
        rotate(buf + 2 * n, buf, buf + n, n, op->desc.rope.mode == VKATTN_ROPE_NEOX);
        vkattn__cpu_store_row(y, ys, y->strides[3], dims, buf + 2 * n);
    }
    free(buf);
}

void vkattn__cpu_rope(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(&op->inputs[0]), op->inputs[0].shape[3], rope_rows, (void *)op);
}
