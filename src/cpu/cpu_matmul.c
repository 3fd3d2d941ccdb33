/*
 * cpu_matmul.c - reference batched matmul, float64 accumulation: c[b,h,m,n] = scale * sum_k a[b,h,m,k] b[b,h/g,k,n]
 * (b's transposition and batch broadcast are already in its strides).
 *
 * Each thread takes a run of c's rows. For the rows that share one matrix of b it converts a panel of b's columns
 * to doubles [K][width] once, then accumulates a row of c over k with a loop along n that the compiler vectorises;
 * every c element still sums its K products in order k = 0, 1, ..., as the one-element-at-a-time fallback (used
 * when the panel cannot be had) does.
 */
#include "cpu/cpu_internal.h"

#include <stdlib.h>

/* Panel size in doubles: about what a core's L2 cache holds. */
#define PANEL_DOUBLES 32768
#define MIN_PANEL_WIDTH 16

static int64_t at(const vkattn__tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    return t->offset + i0 * t->strides[0] + i1 * t->strides[1] + i2 * t->strides[2] + i3 * t->strides[3];
}

static void element_rows(const vkattn__op *op, int64_t begin, int64_t end)
{
    const vkattn__tensor *a = &op->inputs[0], *b = &op->inputs[1], *c = &op->outputs[0];
    const vkattn__matmul_params *p = &op->desc.matmul;
    int64_t H = c->shape[1], M = c->shape[2];
    for (int64_t r = begin; r < end; r++) {
        int64_t i0 = r / (H * M), h = (r / M) % H, m = r % M;
        for (int64_t n = 0; n < c->shape[3]; n++) {
            double sum = 0.0;
            for (int64_t k = 0; k < a->shape[3]; k++)
                sum += vkattn__cpu_load(a, at(a, i0, h, m, k)) * vkattn__cpu_load(b, at(b, i0, h / p->group, k, n));
            vkattn__cpu_store(c, at(c, i0, h, m, n), p->scale * sum);
        }
    }
}

/* acc[0, width) = scale * sum_k arow[k] panel[k][.], summed in k order. */
VKATTN__CPU_VECTOR
static void panel_row(const double *arow, const double *panel, int64_t K, int64_t width, float scale, double *acc)
{
    for (int64_t n = 0; n < width; n++)
        acc[n] = 0.0;
    for (int64_t k = 0; k < K; k++) {
        double ak = arow[k];
        const double *bk = panel + k * width;
        for (int64_t n = 0; n < width; n++)
            acc[n] += ak * bk[n];
    }
    for (int64_t n = 0; n < width; n++)
        acc[n] = scale * acc[n];
}

typedef struct scratch {
    double *panel; /* [K][width] */
    double *arow;  /* [K] */
    double *acc;   /* [width] */
    int64_t width;
} scratch;

/* Rows [begin, end) of c, all of batch i0 and using matrix hb of b. */
static void panel_rows(const vkattn__op *op, const scratch *s, int64_t begin, int64_t end, int64_t i0, int64_t hb)
{
    const vkattn__tensor *a = &op->inputs[0], *b = &op->inputs[1], *c = &op->outputs[0];
    int64_t K = a->shape[3], N = c->shape[3], M = c->shape[2];
    for (int64_t n0 = 0; n0 < N; n0 += s->width) {
        int64_t width = N - n0 < s->width ? N - n0 : s->width;
        for (int64_t k = 0; k < K; k++)
            vkattn__cpu_load_row(b, at(b, i0, hb, k, n0), b->strides[3], width, s->panel + k * width);
        for (int64_t r = begin; r < end; r++) {
            int64_t h = (r / M) % c->shape[1], m = r % M;
            vkattn__cpu_load_row(a, at(a, i0, h, m, 0), a->strides[3], K, s->arow);
            panel_row(s->arow, s->panel, K, width, op->desc.matmul.scale, s->acc);
            vkattn__cpu_store_row(c, at(c, i0, h, m, n0), c->strides[3], width, s->acc);
        }
    }
}

static void matmul_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *c = &op->outputs[0];
    int64_t K = op->inputs[0].shape[3], N = c->shape[3], H = c->shape[1], M = c->shape[2];
    int64_t width = PANEL_DOUBLES / (K > 0 ? K : 1);
    width = width < MIN_PANEL_WIDTH ? MIN_PANEL_WIDTH : width > N ? N : width;
    double *buf = malloc((size_t)((K + 1) * width + K) * sizeof *buf + 1);
    if (!buf) {
        element_rows(op, begin, end);
        return;
    }
    scratch s = {buf, buf + K * width, buf + K * width + K, width};
    /* Runs of rows that share b's matrix (batch i0, head h / group). */
    for (int64_t r = begin; r < end;) {
        int64_t i0 = r / (H * M), hb = (r / M) % H / op->desc.matmul.group;
        int64_t run_end = (i0 * H + (hb + 1) * op->desc.matmul.group) * M;
        run_end = run_end < end ? run_end : end;
        panel_rows(op, &s, r, run_end, i0, hb);
        r = run_end;
    }
    free(buf);
}

void vkattn__cpu_matmul(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    const vkattn__tensor *c = &op->outputs[0];
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(c), c->shape[3] * op->inputs[0].shape[3], matmul_rows,
                             (void *)op);
}
