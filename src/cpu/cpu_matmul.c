/*
 * cpu_matmul.c - reference batched matmul, float64 accumulation: c[b,h,m,n] = scale * sum_k a[b,h,m,k] b[b,h/g,k,n]
 * (b's transposition and batch broadcast are already in its strides).
 */
#include "cpu/cpu_internal.h"

static int64_t at(const vkattn__tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    return t->offset + i0 * t->strides[0] + i1 * t->strides[1] + i2 * t->strides[2] + i3 * t->strides[3];
}

void vkattn__cpu_matmul(const vkattn__op *op)
{
    const vkattn__tensor *a = &op->inputs[0], *b = &op->inputs[1], *c = &op->outputs[0];
    const vkattn__matmul_params *p = &op->desc.matmul;
    int64_t K = a->shape[3];
    for (int64_t i0 = 0; i0 < c->shape[0]; i0++)
        for (int64_t h = 0; h < c->shape[1]; h++)
            for (int64_t m = 0; m < c->shape[2]; m++)
                for (int64_t n = 0; n < c->shape[3]; n++) {
                    double sum = 0.0;
                    for (int64_t k = 0; k < K; k++)
                        sum += vkattn__cpu_load(a, at(a, i0, h, m, k)) *
                               vkattn__cpu_load(b, at(b, i0, h / p->group, k, n));
                    vkattn__cpu_store(c, at(c, i0, h, m, n), p->scale * sum);
                }
}
