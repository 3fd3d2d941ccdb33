/*
 * cpu_attention.c - reference attention, float64, one query row at a time:
 *   v_j = scale * q . k_j, masked as vkattn__cpu_masked;  out = sum_j softmax(v)_j v_j.
 * The row's kv_len scores are computed once into a buffer that every row reuses, so memory stays linear in the
 * sequence (no [q_len, kv_len] buffer). Should that buffer not be had, the scores are recomputed in each of the
 * three passes (maximum, sum, weights) instead.
 */
#include "cpu/cpu_internal.h"

#include <stdlib.h>

/* The front end keeps head_dim of the fused op within this. */
#define MAX_HEAD_DIM 256

typedef struct query {
    const vkattn__op *op;
    int64_t b, i, h, kvh;
    double *scores; /* [kv_len] of this row, or NULL: compute each on demand */
} query;

static int64_t at(const vkattn__tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    return t->offset + i0 * t->strides[0] + i1 * t->strides[1] + i2 * t->strides[2] + i3 * t->strides[3];
}

static double compute_score(const query *qr, int64_t j)
{
    const vkattn__op *op = qr->op;
    const vkattn__tensor *q = &op->inputs[0], *k = &op->inputs[1];
    const vkattn__attention_params *p = &op->desc.attention;
    double dot = 0.0;
    for (int64_t d = 0; d < q->shape[3]; d++)
        dot += vkattn__cpu_load(q, at(q, qr->b, qr->i, qr->h, d)) * vkattn__cpu_load(k, at(k, qr->b, j, qr->kvh, d));
    return vkattn__cpu_masked(&p->mask, &op->inputs[3], &op->inputs[4], qr->b, qr->h, qr->i, j, p->scale * dot);
}

static double score(const void *c, int64_t j)
{
    const query *qr = c;
    return qr->scores ? qr->scores[j] : compute_score(qr, j);
}

static void attend(const query *qr)
{
    const vkattn__tensor *v = &qr->op->inputs[2], *out = &qr->op->outputs[0];
    int64_t n = v->shape[1], dims = v->shape[3];
    double acc[MAX_HEAD_DIM] = {0};
    if (qr->scores)
        for (int64_t j = 0; j < n; j++)
            qr->scores[j] = compute_score(qr, j);
    vkattn__cpu_row_stats st = vkattn__cpu_row_stats_of(score, qr, n);
    for (int64_t j = 0; j < n; j++) {
        double w = vkattn__cpu_row_weight(&st, score(qr, j));
        if (w == 0.0)
            continue; /* masked keys: skip their values (0 * inf would be NaN) */
        for (int64_t d = 0; d < dims; d++)
            acc[d] += w * vkattn__cpu_load(v, at(v, qr->b, j, qr->kvh, d));
    }
    for (int64_t d = 0; d < dims; d++)
        vkattn__cpu_store(out, at(out, qr->b, qr->i, qr->h, d), acc[d]);
}

void vkattn__cpu_attention(const vkattn__op *op)
{
    const vkattn__tensor *q = &op->inputs[0];
    double *scores = malloc((size_t)op->inputs[1].shape[1] * sizeof *scores + 1);
    for (int64_t b = 0; b < q->shape[0]; b++)
        for (int64_t i = 0; i < q->shape[1]; i++)
            for (int64_t h = 0; h < q->shape[2]; h++) {
                query qr = {op, b, i, h, h / op->desc.attention.group, scores};
                attend(&qr);
            }
    free(scores);
}
