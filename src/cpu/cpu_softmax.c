/*
 * cpu_softmax.c - reference softmax along the last axis, in float64, with vkattn.h's masking:
 *   v_j = scale * x_j + mask_j - m_h dist(q_pos, j)  (-inf where causal or window mask key j),
 *   y_j = exp(v_j - m) / sum_k exp(v_k - m),  m = max_k v_k.
 * Special rows, as vkattn.h defines them: a NaN anywhere gives NaN everywhere; m = -inf (fully masked) gives zeros;
 * m = +inf splits the mass equally among the +inf entries (the limit of the formula as they grow together).
 * Finite v never overflows in float64, so huge finite inputs give no NaN.
 *
 * A row is read into a double array, masked and normalised there, then written: y may be x's own view. Without
 * memory for the arrays, each pass recomputes v from x and the last reads x_j just before writing y_j.
 */
#include "cpu/cpu_internal.h"

#include <stdlib.h>

vkattn__cpu_row_stats vkattn__cpu_row_stats_of(vkattn__cpu_score_fn score, const void *c, int64_t n)
{
    vkattn__cpu_row_stats st = {.max = -INFINITY};
    for (int64_t j = 0; j < n; j++) {
        double v = score(c, j);
        st.nan = st.nan || isnan(v);
        st.max = v > st.max ? v : st.max;
        st.n_inf += v == INFINITY;
    }
    if (!st.nan && isfinite(st.max))
        for (int64_t j = 0; j < n; j++)
            st.sum += exp(score(c, j) - st.max);
    return st;
}

double vkattn__cpu_row_weight(const vkattn__cpu_row_stats *st, double v)
{
    if (st->nan)
        return NAN;
    if (st->max == -INFINITY)
        return 0.0;
    if (st->max == INFINITY)
        return v == INFINITY ? 1.0 / (double)st->n_inf : 0.0;
    return exp(v - st->max) / st->sum;
}

/* The masking of vkattn__cpu_masked, with the row's mask entry and slope already read (used only when the params
 * say so). */
static inline double apply_mask(const vkattn__mask_params *m, int64_t i, int64_t j, double v, double mask_v,
                                double slope)
{
    int64_t q = m->q_offset + i;
    if ((m->causal && j > q) || (m->window && q - j >= (int64_t)m->window))
        return -INFINITY;
    if (m->has_mask)
        v += mask_v;
    if (m->has_alibi)
        v -= slope * vkattn__cpu_alibi_distance(m->grid_width, q, j);
    return v;
}

static double slope_of(const vkattn__mask_params *m, const vkattn__tensor *slopes, int64_t h)
{
    return m->has_alibi ? vkattn__cpu_load(slopes, slopes->offset + h) : 0.0;
}

double vkattn__cpu_masked(const vkattn__mask_params *m, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                          int64_t b, int64_t h, int64_t i, int64_t j, double v)
{
    double mask_v = m->has_mask ? vkattn__cpu_load(mask, mask->offset + b * mask->strides[0] + h * mask->strides[1] +
                                                             i * mask->strides[2] + j * mask->strides[3])
                                : 0.0;
    return apply_mask(m, i, j, v, mask_v, slope_of(m, slopes, h));
}

void vkattn__cpu_mask_row(const vkattn__mask_params *m, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                          int64_t b, int64_t h, int64_t i, int64_t n, double *v, double *scratch)
{
    if (m->has_mask)
        vkattn__cpu_load_row(mask, mask->offset + b * mask->strides[0] + h * mask->strides[1] + i * mask->strides[2],
                             mask->strides[3], n, scratch);
    double slope = slope_of(m, slopes, h);
    for (int64_t j = 0; j < n; j++)
        v[j] = apply_mask(m, i, j, v[j], m->has_mask ? scratch[j] : 0.0, slope);
}

VKATTN__CPU_VECTOR
static void divide(double *v, int64_t n, double sum)
{
    for (int64_t j = 0; j < n; j++)
        v[j] /= sum;
}

void vkattn__cpu_softmax_row(double *v, int64_t n)
{
    vkattn__cpu_row_stats st = {.max = -INFINITY};
    for (int64_t j = 0; j < n; j++) {
        st.nan = st.nan || isnan(v[j]);
        st.max = v[j] > st.max ? v[j] : st.max;
        st.n_inf += v[j] == INFINITY;
    }
    if (st.nan || !isfinite(st.max)) {
        for (int64_t j = 0; j < n; j++)
            v[j] = vkattn__cpu_row_weight(&st, v[j]);
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        v[j] = exp(v[j] - st.max);
        st.sum += v[j];
    }
    divide(v, n, st.sum);
}

typedef struct row {
    const vkattn__op *op;
    int64_t b, h, i;
    int64_t start; /* x's storage index of the row's first element */
} row;

static double row_score(const void *c, int64_t j)
{
    const row *r = c;
    const vkattn__tensor *x = &r->op->inputs[0];
    const vkattn__softmax_params *p = &r->op->desc.softmax;
    double v = p->scale * vkattn__cpu_load(x, r->start + j * x->strides[3]);
    return vkattn__cpu_masked(&p->mask, &r->op->inputs[1], &r->op->inputs[2], r->b, r->h, r->i, j, v);
}

VKATTN__CPU_VECTOR
static void scale_row(double *v, int64_t n, float scale)
{
    for (int64_t j = 0; j < n; j++)
        v[j] *= scale;
}

static void softmax_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__softmax_params *p = &op->desc.softmax;
    int64_t n = x->shape[3];
    double *buf = malloc((size_t)(2 * n) * sizeof *buf + 1);
    for (int64_t r = begin; r < end; r++) {
        row xr = {op, r / (x->shape[1] * x->shape[2]), (r / x->shape[2]) % x->shape[1], r % x->shape[2],
                  vkattn__cpu_row_start(x, r)};
        int64_t ys = vkattn__cpu_row_start(y, r);
        if (!buf) {
            vkattn__cpu_row_stats st = vkattn__cpu_row_stats_of(row_score, &xr, n);
            for (int64_t j = 0; j < n; j++)
                vkattn__cpu_store(y, ys + j * y->strides[3], vkattn__cpu_row_weight(&st, row_score(&xr, j)));
            continue;
        }
        vkattn__cpu_load_row(x, xr.start, x->strides[3], n, buf);
        scale_row(buf, n, p->scale);
        vkattn__cpu_mask_row(&p->mask, &op->inputs[1], &op->inputs[2], xr.b, xr.h, xr.i, n, buf, buf + n);
        vkattn__cpu_softmax_row(buf, n);
        vkattn__cpu_store_row(y, ys, y->strides[3], n, buf);
    }
    free(buf);
}

void vkattn__cpu_softmax(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(&op->inputs[0]), op->inputs[0].shape[3], softmax_rows,
                             (void *)op);
}
