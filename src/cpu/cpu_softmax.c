/*
 * cpu_softmax.c - reference softmax along the last axis, in float64:
 *   v_j = scale * x_j,  m = max_j v_j,  y_j = exp(v_j - m) / sum_k exp(v_k - m).
 * Special rows, as vkattn.h defines them: a NaN anywhere gives NaN everywhere; m = -inf (all -inf) gives zeros;
 * m = +inf splits the mass equally among the +inf entries (the limit of the formula as they grow together).
 * Finite v never overflows in float64, so huge finite inputs give no NaN.
 *
 * Each pass re-reads x; the last pass reads x_j just before writing y_j, so y may be x's own view (in place).
 */
#include "cpu/cpu_internal.h"

#include <math.h>

typedef struct row {
    const vkattn__tensor *t;
    int64_t start;
    int64_t stride;
} row;

static double row_value(const row *x, double scale, int64_t j)
{
    return scale * vkattn__cpu_load(x->t, x->start + j * x->stride);
}

static void softmax_row(const row *x, const row *y, int64_t n, double scale)
{
    double m = -INFINITY, sum = 0.0;
    int64_t n_inf = 0;
    bool nan = false;
    for (int64_t j = 0; j < n; j++) {
        double v = row_value(x, scale, j);
        nan = nan || isnan(v);
        m = v > m ? v : m;
        n_inf += v == INFINITY;
    }
    if (!nan && isfinite(m))
        for (int64_t j = 0; j < n; j++)
            sum += exp(row_value(x, scale, j) - m);
    for (int64_t j = 0; j < n; j++) {
        double v = row_value(x, scale, j), out;
        if (nan)
            out = NAN;
        else if (m == -INFINITY)
            out = 0.0;
        else if (m == INFINITY)
            out = v == INFINITY ? 1.0 / (double)n_inf : 0.0;
        else
            out = exp(v - m) / sum;
        vkattn__cpu_store(y->t, y->start + j * y->stride, out);
    }
}

void vkattn__cpu_softmax(const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    double scale = op->desc.softmax.scale;
    for (int64_t r = 0; r < vkattn__cpu_rows(x); r++) {
        row xr = {x, vkattn__cpu_row_start(x, r), x->strides[3]};
        row yr = {y, vkattn__cpu_row_start(y, r), y->strides[3]};
        softmax_row(&xr, &yr, x->shape[3], scale);
    }
}
