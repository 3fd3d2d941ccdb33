/*
 * attn_ref.h - float64 references shared by the attention suites (test_softmax.c, test_attention.c), written from
 * the formulas of vkattn.h's "Attention" section: the masking of scores [batch, heads, q_len, k_len] (scale,
 * additive mask broadcast over the leading dims, causal and sliding window at q_pos = q_offset + i, k_pos = j, the
 * ALiBi bias), the softmax of a row by the header's rules, and the ALiBi slopes.
 */
#ifndef VKATTN_TESTS_ATTN_REF_H
#define VKATTN_TESTS_ATTN_REF_H

#include "pe_ref.h"

/* Heads of every test that needs slopes. */
#define ATTN_MAX_HEADS 64

/* How the scores are masked and biased before the softmax. */
typedef struct attn_masking {
    double scale;
    bool causal;
    int64_t q_offset;
    uint32_t window;          /* 0 = none */
    const float *mask;        /* NULL = none; else dense values of shape mask_shape */
    int64_t mask_shape[4];    /* right-aligned to the scores: each dim the scores' or 1 */
    const double *slopes;     /* NULL = no ALiBi; else one per head */
    uint32_t grid_width;      /* ALiBi distance on a grid (0 = 1D) */
} attn_masking;

/* Whether causal masking (k_pos > q_pos) or the sliding window (q_pos - k_pos >= W) hides the key. */
bool attn_ref_key_masked(const attn_masking *m, int64_t q_pos, int64_t k_pos);

/* Row (b, h, i) of the scores of shape [batch, heads, q_len, k_len], given the raw row x in `row` (k_len values):
 * row[j] = scale x_j + mask + bias, or -inf where causal (k_pos > q_pos) or the window (q_pos - k_pos >= W) masks
 * key j. A masked key stays -inf whatever the mask or x hold. */
void attn_ref_scores_row(const attn_masking *m, const int64_t shape[4], int64_t b, int64_t h, int64_t i,
                         double *row);

/* Softmax of a row in place by vkattn.h's rules: a NaN makes the row NaN, +inf entries share the mass equally, a
 * row that is all -inf gives zeros; else exp(v_j - max) / sum. */
void attn_ref_softmax_row(double *v, size_t n);

/* The masked softmax of x [batch, heads, q_len, k_len] (dense, row-major) into y. */
void attn_ref_softmax(const attn_masking *m, const int64_t shape[4], const float *x, double *y);

/* The slopes vkattn.h gives an ALiBi desc (NULL = defaults) for `heads` heads (<= ATTN_MAX_HEADS) and key length
 * k_len, in float64 by the header's closed forms: caller slopes; else with b = max_bias (0 = the paper's 8) and
 * n' = 2^floor(log2 heads), m_h = 2^(-b (h+1) / n') for h < n', else 2^(-b (2(h-n')+1) / (2n')); times
 * train_len / k_len when k_len > train_len > 0. */
void attn_ref_slopes(const vkattn_alibi_desc *d, uint32_t heads, int64_t k_len, double *out);

/* |q - k| in 1D; on a grid of width w, the Euclidean distance between (p / w, p mod w) cells. */
double attn_ref_distance(int64_t q, int64_t k, uint32_t grid_width);

/* Host values for an additive mask: uniform in [lo, 0) with about one entry in `inf_every` set to -inf (0 = none),
 * rounded to dtype. */
void attn_mask_values(float *m, size_t n, uint32_t seed, float lo, uint32_t inf_every, vkattn_dtype dtype);

#endif /* VKATTN_TESTS_ATTN_REF_H */
