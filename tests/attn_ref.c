/*
 * attn_ref.c - float64 references shared by the attention suites: masked and biased scores, the softmax of a row
 * and the ALiBi slopes, from the formulas of vkattn.h.
 */
#include "attn_ref.h"

#include <math.h>
#include <stdlib.h>

/* Index into the mask of the score (b, h, i, j): broadcast dims (size 1) always read their element 0. */
static size_t mask_index(const int64_t ms[4], const int64_t at[4])
{
    size_t index = 0;
    for (int d = 0; d < 4; d++)
        index = index * (size_t)ms[d] + (size_t)(ms[d] == 1 ? 0 : at[d]);
    return index;
}

bool attn_ref_key_masked(const attn_masking *m, int64_t q_pos, int64_t k_pos)
{
    if (m->causal && k_pos > q_pos)
        return true;
    return m->window > 0 && q_pos - k_pos >= (int64_t)m->window;
}

void attn_ref_scores_row(const attn_masking *m, const int64_t shape[4], int64_t b, int64_t h, int64_t i,
                         double *row)
{
    int64_t q_pos = m->q_offset + i;
    for (int64_t j = 0; j < shape[3]; j++) {
        if (attn_ref_key_masked(m, q_pos, j)) {
            row[j] = -INFINITY;
            continue;
        }
        double v = m->scale * row[j];
        if (m->mask)
            v += m->mask[mask_index(m->mask_shape, (const int64_t[4]){b, h, i, j})];
        if (m->slopes)
            v -= m->slopes[h] * attn_ref_distance(q_pos, j, m->grid_width);
        row[j] = v;
    }
}

static void fill_row(double *v, size_t n, double value)
{
    for (size_t j = 0; j < n; j++)
        v[j] = value;
}

/* The row's maximum; NaN if the row holds one. */
static double row_max(const double *v, size_t n)
{
    double m = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        if (isnan(v[j]))
            return NAN;
        m = fmax(m, v[j]);
    }
    return m;
}

void attn_ref_softmax_row(double *v, size_t n)
{
    double m = row_max(v, n);
    if (isnan(m) || m == -INFINITY) {
        fill_row(v, n, isnan(m) ? NAN : 0.0);
        return;
    }
    if (m == INFINITY) {
        size_t shared = 0;
        for (size_t j = 0; j < n; j++)
            shared += v[j] == INFINITY;
        for (size_t j = 0; j < n; j++)
            v[j] = v[j] == INFINITY ? 1.0 / (double)shared : 0.0;
        return;
    }
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += v[j] = exp(v[j] - m);
    for (size_t j = 0; j < n; j++)
        v[j] /= sum;
}

void attn_ref_softmax(const attn_masking *m, const int64_t shape[4], const float *x, double *y)
{
    size_t n = (size_t)shape[3];
    size_t at = 0;
    for (int64_t b = 0; b < shape[0]; b++) {
        for (int64_t h = 0; h < shape[1]; h++) {
            for (int64_t i = 0; i < shape[2]; i++, at += n) {
                for (size_t j = 0; j < n; j++)
                    y[at + j] = x[at + j];
                attn_ref_scores_row(m, shape, b, h, i, y + at);
                attn_ref_softmax_row(y + at, n);
            }
        }
    }
}

/* 2^floor(log2 n), n >= 1. */
static uint32_t floor_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p <= n / 2)
        p *= 2;
    return p;
}

/* vkattn.h's closed form with maximum bias b for head h of n. */
static double closed_form_slope(double b, uint32_t h, uint32_t n)
{
    uint32_t p = floor_pow2(n);
    double e = h < p ? (h + 1.0) / p : (2.0 * (h - p) + 1.0) / (2.0 * p);
    return exp2(-b * e);
}

void attn_ref_slopes(const vkattn_alibi_desc *d, uint32_t heads, int64_t k_len, double *out)
{
    static const vkattn_alibi_desc defaults = {0};
    if (!d)
        d = &defaults;
    ck_assert_uint_le(heads, ATTN_MAX_HEADS);
    double b = d->max_bias > 0.0f ? (double)d->max_bias : 8.0;
    for (uint32_t h = 0; h < heads; h++)
        out[h] = d->slopes ? (double)d->slopes[h] : closed_form_slope(b, h, heads);
    if (d->train_len && k_len > (int64_t)d->train_len) {
        for (uint32_t h = 0; h < heads; h++)
            out[h] *= (double)d->train_len / (double)k_len;
    }
}

double attn_ref_distance(int64_t q, int64_t k, uint32_t grid_width)
{
    if (!grid_width)
        return fabs((double)(q - k));
    int64_t w = grid_width;
    double dr = (double)(q / w - k / w), dc = (double)(q % w - k % w);
    return hypot(dr, dc);
}

void attn_mask_values(float *m, size_t n, uint32_t seed, float lo, uint32_t inf_every, vkattn_dtype dtype)
{
    vkt_fill_uniform(m, n, seed, lo, 0.0f);
    if (inf_every) {
        float *u = pe_xmalloc(n * sizeof *u);
        vkt_fill_uniform(u, n, seed ^ 0x5bd1e995u, 0.0f, 1.0f);
        for (size_t k = 0; k < n; k++) {
            if (u[k] * (float)inf_every < 1.0f)
                m[k] = -INFINITY;
        }
        free(u);
    }
    pe_round_to_dtype(dtype, m, n);
}
