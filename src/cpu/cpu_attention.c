/*
 * cpu_attention.c - reference attention, float64, one query row at a time:
 *   v_j = scale * q . k_j, masked as vkattn__cpu_masked;  out = sum_j softmax(v)_j v_j.
 * The row's kv_len scores are computed once into a buffer that every row reuses, so memory stays linear in the
 * sequence (no [q_len, kv_len] buffer). Should that buffer not be had, the scores are recomputed in each of the
 * three passes (maximum, sum, weights) instead.
 *
 * Query rows are split across threads in (batch, head, row) order, so a thread's rows mostly share one KV head. For
 * each KV head it meets, a thread converts K (transposed, [head_dim][kv_len]) and V ([kv_len][head_dim]) to doubles
 * once; a row's scores then accumulate over d, and its output over keys, in loops the compiler vectorises, with
 * each sum taken in the same order as the one-element-at-a-time path (used when that memory cannot be had or would
 * be too large).
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

/* Keys per block of the score loop: a block of scores stays in L1 while head_dim rows of K^T stream past. */
#define KEY_BLOCK 256

/* Largest converted K and V a thread holds (256 MiB); past it, rows take the one-element-at-a-time path rather
 * than risk the memory. */
#define KV_CACHE_MAX_DOUBLES (INT64_C(32) << 20)

/* Row pitch of K^T in doubles: kv_len rounded up to an odd number of 64-byte lines, so that the head_dim rows one
 * key is written to while K is transposed fall in different L1 sets (with a power-of-two kv_len they would all
 * share one). */
static int64_t kt_pitch(int64_t kv_len)
{
    int64_t lines = (kv_len + 7) / 8;
    return 8 * (lines % 2 ? lines : lines + 1);
}

typedef struct kv_cache {
    double *kt;     /* [head_dim][kt_pitch(kv_len)] */
    double *v;      /* [kv_len][head_dim] */
    double *scores; /* [kv_len] */
    double *mask;   /* [kv_len], mask_row's scratch */
    double *qrow;   /* [head_dim] */
    int64_t b, kvh; /* what kt and v hold; b = -1: nothing yet */
} kv_cache;

static void load_kv(const vkattn__op *op, kv_cache *kv, int64_t b, int64_t kvh)
{
    const vkattn__tensor *k = &op->inputs[1], *v = &op->inputs[2];
    int64_t n = k->shape[1], dims = k->shape[3], pitch = kt_pitch(n);
    for (int64_t j = 0; j < n; j++) {
        vkattn__cpu_load_row(k, at(k, b, j, kvh, 0), k->strides[3], dims, kv->qrow);
        for (int64_t d = 0; d < dims; d++)
            kv->kt[d * pitch + j] = kv->qrow[d];
        vkattn__cpu_load_row(v, at(v, b, j, kvh, 0), v->strides[3], dims, kv->v + j * dims);
    }
    kv->b = b;
    kv->kvh = kvh;
}

/* scores[j] = sum_d q[d] kt[d][j] over keys [j0, j0 + n), in d order. */
VKATTN__CPU_VECTOR
static void dot_block(const double *q, const double *kt, int64_t dims, int64_t pitch, int64_t j0, int64_t n,
                      double *scores)
{
    for (int64_t j = 0; j < n; j++)
        scores[j0 + j] = 0.0;
    for (int64_t d = 0; d < dims; d++) {
        double qd = q[d];
        const double *kd = kt + d * pitch + j0;
        for (int64_t j = 0; j < n; j++)
            scores[j0 + j] += qd * kd[j];
    }
}

/* acc[d] = sum_j w[j] v[j][d] over keys with w[j] != 0, in j order. */
VKATTN__CPU_VECTOR
static void weighted_sum(const double *w, const double *v, int64_t n, int64_t dims, double *acc)
{
    for (int64_t d = 0; d < dims; d++)
        acc[d] = 0.0;
    for (int64_t j = 0; j < n; j++) {
        if (w[j] == 0.0)
            continue; /* masked keys: skip their values (0 * inf would be NaN) */
        for (int64_t d = 0; d < dims; d++)
            acc[d] += w[j] * v[j * dims + d];
    }
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void attend_cached(const vkattn__op *op, kv_cache *kv, int64_t b, int64_t i, int64_t h)
{
    const vkattn__tensor *q = &op->inputs[0], *out = &op->outputs[0];
    const vkattn__attention_params *p = &op->desc.attention;
    int64_t n = op->inputs[1].shape[1], dims = q->shape[3];
    double acc[MAX_HEAD_DIM];
    if (kv->b != b || kv->kvh != h / p->group)
        load_kv(op, kv, b, h / p->group);
    vkattn__cpu_load_row(q, at(q, b, i, h, 0), q->strides[3], dims, kv->qrow);
    /* Keys outside [lo, hi) are masked by causality or the window whatever their dot product: mask_row sets them
     * to -inf, so their products are skipped. */
    int64_t pos = p->mask.q_offset + i;
    int64_t hi = p->mask.causal ? clamp(pos + 1, 0, n) : n;
    int64_t lo = p->mask.window ? clamp(pos - (int64_t)p->mask.window + 1, 0, hi) : 0;
    for (int64_t j = 0; j < n; j++)
        kv->scores[j] = 0.0;
    for (int64_t j0 = lo; j0 < hi; j0 += KEY_BLOCK)
        dot_block(kv->qrow, kv->kt, dims, kt_pitch(n), j0, hi - j0 < KEY_BLOCK ? hi - j0 : KEY_BLOCK, kv->scores);
    for (int64_t j = 0; j < n; j++)
        kv->scores[j] = p->scale * kv->scores[j];
    vkattn__cpu_mask_row(&p->mask, &op->inputs[3], &op->inputs[4], b, h, i, n, kv->scores, kv->mask);
    vkattn__cpu_softmax_row(kv->scores, n);
    weighted_sum(kv->scores, kv->v, n, dims, acc);
    vkattn__cpu_store_row(out, at(out, b, i, h, 0), out->strides[3], dims, acc);
}

/* Items in (b, h, i) order. */
static void attention_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *q = &op->inputs[0];
    int64_t n = op->inputs[1].shape[1], dims = q->shape[3], Q = q->shape[1], H = q->shape[2];
    int64_t doubles = kt_pitch(n) * dims + n * dims + 2 * n + dims;
    double *buf = doubles <= KV_CACHE_MAX_DOUBLES ? malloc((size_t)doubles * sizeof *buf + 1) : NULL;
    double *scores = buf ? NULL : malloc((size_t)n * sizeof *scores + 1);
    kv_cache kv = {.b = -1, .kvh = -1};
    if (buf) {
        kv.kt = buf;
        kv.v = kv.kt + kt_pitch(n) * dims;
        kv.scores = kv.v + n * dims;
        kv.mask = kv.scores + n;
        kv.qrow = kv.mask + n;
    }
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / (H * Q), h = (r / Q) % H, i = r % Q;
        if (buf) {
            attend_cached(op, &kv, b, i, h);
        } else {
            query qr = {op, b, i, h, h / op->desc.attention.group, scores};
            attend(&qr);
        }
    }
    free(scores);
    free(buf);
}

void vkattn__cpu_attention(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    const vkattn__tensor *q = &op->inputs[0];
    int64_t rows = q->shape[0] * q->shape[1] * q->shape[2];
    vkattn__cpu_parallel_for(pool, rows, 2 * op->inputs[1].shape[1] * q->shape[3], attention_rows, (void *)op);
}
