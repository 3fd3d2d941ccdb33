/*
 * cpu_alibi.c - reference ALiBi in float64 on scores [batch, heads, q_len, k_len]:
 *   y = x - m_h * dist(q_offset + i, j), or -inf for keys after the query when causal.
 */
#include "cpu/cpu_internal.h"

#include <math.h>

void vkattn__cpu_alibi(const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__alibi_params *ap = &op->desc.alibi;
    const float *slopes = (const float *)vkattn__cpu_data(&op->inputs[1]);
    for (int64_t r = 0; r < vkattn__cpu_rows(x); r++) {
        int64_t i = r % x->shape[2];
        int64_t h = (r / x->shape[2]) % x->shape[1];
        int64_t q = ap->q_offset + i;
        int64_t xs = vkattn__cpu_row_start(x, r), ys = vkattn__cpu_row_start(y, r);
        for (int64_t j = 0; j < x->shape[3]; j++) {
            double v = ap->causal && j > q ? -INFINITY
                                           : vkattn__cpu_load(x, xs + j * x->strides[3]) - slopes[h] * vkattn__cpu_alibi_distance(ap->grid_width, q, j);
            vkattn__cpu_store(y, ys + j * y->strides[3], v);
        }
    }
}
