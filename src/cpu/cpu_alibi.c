/*
 * cpu_alibi.c - reference ALiBi in float64 on scores [batch, heads, q_len, k_len]:
 *   y = x - m_h * dist(q_offset + i, j), or -inf for keys after the query when causal.
 * Rows go through a double array in blocks, so the per-element loop is plain arithmetic.
 */
#include "cpu/cpu_internal.h"

#include <math.h>

#define BLOCK 1024

VKATTN__CPU_VECTOR
static void bias(double *v, int64_t j0, int64_t n, const vkattn__alibi_params *ap, int64_t q, double slope)
{
    for (int64_t t = 0; t < n; t++) {
        int64_t j = j0 + t;
        v[t] = ap->causal && j > q ? -INFINITY : v[t] - slope * vkattn__cpu_alibi_distance(ap->grid_width, q, j);
    }
}

static void alibi_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__alibi_params *ap = &op->desc.alibi;
    const float *slopes = (const float *)vkattn__cpu_data(&op->inputs[1]);
    double buf[BLOCK];
    for (int64_t r = begin; r < end; r++) {
        int64_t i = r % x->shape[2];
        int64_t h = (r / x->shape[2]) % x->shape[1];
        int64_t xs = vkattn__cpu_row_start(x, r), ys = vkattn__cpu_row_start(y, r);
        for (int64_t j = 0; j < x->shape[3]; j += BLOCK) {
            int64_t n = x->shape[3] - j < BLOCK ? x->shape[3] - j : BLOCK;
            vkattn__cpu_load_row(x, xs + j * x->strides[3], x->strides[3], n, buf);
            bias(buf, j, n, ap, ap->q_offset + i, slopes[h]);
            vkattn__cpu_store_row(y, ys + j * y->strides[3], y->strides[3], n, buf);
        }
    }
}

void vkattn__cpu_alibi(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(&op->inputs[0]), op->inputs[0].shape[3], alibi_rows, (void *)op);
}
