/*
 * test_alibi.c - vkattn_alibi and vkattn_alibi_slopes against a float64 reference written here: the slopes of the
 * ALiBi paper's get_slopes (Press et al. 2022, arXiv:2108.12409, the authors' repository: a geometric sequence
 * from 2^(-8/n) for n a power of two, else the closest lower power of two's slopes then every other slope of
 * twice that) and separately ggml's max_bias formula (m0 = 2^(-max_bias / n'), m1 = 2^(-max_bias / 2 / n')), which
 * must agree at max_bias 8; the bias y = x - m_h dist(q_offset + i, j), -inf past the query when causal, slopes
 * scaled by train_len / k_len past the training length, Euclidean distance on a patch grid. Covers heads 1 to 40,
 * caller slopes, decode and prefill offsets, 2 to 4 dims, f16, in place, strided views, command lists and the
 * result codes of bad descs and tensors, on every enabled backend.
 */
#include "pe_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* |got - want| is measured against |x| + |m dist|, the size of the terms; below this they count as this much. */
#define TERM_FLOOR 1e-2
/* Two float64 evaluations of the same slopes by different formulas. */
#define SLOPE_FORMULA_TOL 1e-13
/* vkattn_alibi_slopes returns floats: one rounding of the float64 value, 2^-24 relative. */
#define SLOPE_FLOAT_TOL 0x1p-24
#define MAX_HEADS 128

/* ---- float64 reference: slopes ----------------------------------------------------------------------------------- */

/* 2^floor(log2 n), n >= 1. */
static uint32_t floor_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p <= n / 2)
        p *= 2;
    return p;
}

/* get_slopes_power_of_2: start = 2^(-2^-(log2(n) - 3)), ratio = start, slopes start * ratio^i. */
static void paper_slopes_pow2(uint32_t n, double *out)
{
    double start = pow(2.0, -pow(2.0, -(log2((double)n) - 3.0)));
    double ratio = start;
    for (uint32_t i = 0; i < n; i++)
        out[i] = start * pow(ratio, (double)i);
}

/* get_slopes: power-of-two slopes of the closest lower power of two, then get_slopes(2 p)[0::2][:n - p]. */
static void paper_slopes(uint32_t n, double *out)
{
    uint32_t p = floor_pow2(n);
    paper_slopes_pow2(p, out);
    if (p == n)
        return;
    double *twice = pe_xmalloc(2 * (size_t)p * sizeof *twice);
    paper_slopes(2 * p, twice);
    for (uint32_t i = 0; i < n - p; i++)
        out[p + i] = twice[2 * i];
    free(twice);
}

/* ggml's ALiBi slopes (ggml_soft_max_ext / ggml_alibi): n' = 2^floor(log2 n), m0 = 2^(-max_bias / n'),
 * m1 = 2^(-(max_bias / 2) / n'); head h < n' gets m0^(h+1), the others m1^(2 (h - n') + 1). */
static double ggml_slope(double max_bias, uint32_t h, uint32_t n)
{
    uint32_t n_log2 = floor_pow2(n);
    double m0 = pow(2.0, -max_bias / n_log2);
    double m1 = pow(2.0, -(max_bias / 2.0) / n_log2);
    return h < n_log2 ? pow(m0, h + 1.0) : pow(m1, 2.0 * (h - n_log2) + 1.0);
}

/* The slopes vkattn.h describes for the desc, heads and k_len: caller's, ggml's for max_bias > 0, else the paper's;
 * times train_len / k_len when k_len > train_len > 0. */
static void ref_slopes(const vkattn_alibi_desc *d, uint32_t heads, int64_t k_len, double *out)
{
    if (d->slopes) {
        for (uint32_t h = 0; h < heads; h++)
            out[h] = d->slopes[h];
    } else if (d->max_bias > 0.0f) {
        for (uint32_t h = 0; h < heads; h++)
            out[h] = ggml_slope(d->max_bias, h, heads);
    } else {
        paper_slopes(heads, out);
    }
    if (d->train_len && k_len > d->train_len) {
        for (uint32_t h = 0; h < heads; h++)
            out[h] *= (double)d->train_len / (double)k_len;
    }
}

/* ---- float64 reference: the bias --------------------------------------------------------------------------------- */

/* |q - k| in 1D; on a grid of width w, the Euclidean distance between (p / w, p mod w) cells. */
static double distance(int64_t q, int64_t k, uint32_t grid_width)
{
    if (!grid_width)
        return fabs((double)(q - k));
    int64_t w = grid_width;
    double dr = (double)(q / w - k / w), dc = (double)(q % w - k % w);
    return sqrt(dr * dr + dc * dc);
}

typedef struct alibi_case {
    const char *name;
    vkattn_alibi_desc desc;
    uint32_t ndim; /* 4: [batch, heads, q_len, k_len]; 3: [heads, q_len, k_len]; 2: [q_len, k_len] */
    int64_t batch, heads, q_len, k_len;
    vkattn_dtype dtype;
    const pe_layout *x_layout; /* NULL = contiguous */
    const pe_layout *y_layout;
    bool in_place;
    bool null_desc;
} alibi_case;

static size_t case_numel(const alibi_case *c)
{
    return (size_t)(c->batch * c->heads * c->q_len * c->k_len);
}

/* want = x - m_h dist, -inf where causal masks; scale = |x| + |m_h dist|, the size the error is measured against. */
static void case_reference(const alibi_case *c, const float *x, double *want, double *scale)
{
    double slopes[MAX_HEADS];
    ck_assert_int_le(c->heads, MAX_HEADS);
    ref_slopes(&c->desc, (uint32_t)c->heads, c->k_len, slopes);
    size_t at = 0;
    for (int64_t b = 0; b < c->batch; b++) {
        for (int64_t h = 0; h < c->heads; h++) {
            for (int64_t i = 0; i < c->q_len; i++) {
                int64_t q = (int64_t)c->desc.q_offset + i;
                for (int64_t j = 0; j < c->k_len; j++, at++) {
                    double bias = slopes[h] * distance(q, j, c->desc.grid_width);
                    bool masked = c->desc.causal && j > q;
                    want[at] = masked ? -INFINITY : (double)x[at] - bias;
                    scale[at] = fabs((double)x[at]) + fabs(bias);
                }
            }
        }
    }
}

/* max |got - want| / max(scale, TERM_FLOOR); a masked entry must be exactly -inf, and only those. */
static double bias_error(const float *got, const double *want, const double *scale, size_t n)
{
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double err;
        if (isinf(want[k]) || isinf(got[k]) || isnan(got[k]))
            err = (double)got[k] == want[k] ? 0.0 : INFINITY;
        else
            err = fabs((double)got[k] - want[k]) / fmax(scale[k], TERM_FLOOR);
        worst = fmax(worst, err);
    }
    return worst;
}

/* ---- running the op ---------------------------------------------------------------------------------------------- */

static vkattn_result alibi_op(vkattn_context *ctx, vkattn_cmd *cmd, const void *desc, vkattn_tensor x,
                              vkattn_tensor pos, vkattn_tensor y)
{
    ck_assert_msg(pos.id == 0, "vkattn_alibi takes no positions tensor");
    return vkattn_alibi(ctx, cmd, desc, x, y);
}

/* The trailing ndim dims of [batch, heads, q_len, k_len] (the cases keep the dropped ones at 1). */
static pe_call call_of(const alibi_case *c)
{
    const int64_t full[4] = {c->batch, c->heads, c->q_len, c->k_len};
    pe_call call = {.dtype = c->dtype, .ndim = c->ndim, .x_layout = c->x_layout, .y_layout = c->y_layout,
                    .in_place = c->in_place};
    for (uint32_t d = 0; d < c->ndim; d++)
        call.shape[d] = full[4 - c->ndim + d];
    return call;
}

/* Uniform x in [-4, 4) as the tensor stores it. */
static float *case_input(const alibi_case *c, uint32_t seed)
{
    size_t n = case_numel(c);
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, -4.0f, 4.0f);
    pe_round_to_dtype(c->dtype, x, n);
    return x;
}

static void check_case(vkattn_context *ctx, const alibi_case *c, uint32_t seed)
{
    size_t n = case_numel(c);
    float *x = case_input(c, seed);
    float *y = pe_xmalloc(n * sizeof *y);
    double *want = pe_xmalloc(n * sizeof *want);
    double *scale = pe_xmalloc(n * sizeof *scale);
    pe_call call = call_of(c);
    pe_call_run(ctx, &call, alibi_op, c->null_desc ? NULL : &c->desc, x, y, c->name);
    case_reference(c, x, want, scale);
    pe_report(ctx, "alibi", c->name, bias_error(y, want, scale, n), pe_dtype_tol(c->dtype));
    free(x);
    free(y);
    free(want);
    free(scale);
}

static void check_cases(int backend_index, const alibi_case *cases, size_t count)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx)
        return;
    for (size_t k = 0; k < count; k++)
        check_case(ctx, &cases[k], 3000u + (uint32_t)k);
    vkt_context_destroy(ctx);
}

/* ---- slopes ------------------------------------------------------------------------------------------------------ */

static const float caller6[6] = {0.5f, 0.25f, 1.0f / 3.0f, 0.0f, -0.125f, 2.0f};

static const alibi_case slope_cases[] = {
    {"heads 8 (paper)", {0}, 4, 2, 8, 5, 7, VKATTN_F32, NULL, NULL, false, false},
    {"heads 12 (paper, not a power of two)", {0}, 4, 1, 12, 4, 33, VKATTN_F32, NULL, NULL, false, false},
    {"heads 1 (paper)", {0}, 4, 2, 1, 4, 33, VKATTN_F32, NULL, NULL, false, false},
    {"heads 32 (paper)", {0}, 4, 1, 32, 4, 33, VKATTN_F32, NULL, NULL, false, false},
    {"heads 40 (paper)", {0}, 4, 1, 40, 3, 29, VKATTN_F32, NULL, NULL, false, false},
    {"heads 12, max_bias 8", {.max_bias = 8.0f}, 4, 1, 12, 4, 33, VKATTN_F32, NULL, NULL, false, false},
    {"heads 12, max_bias 4 (ggml)", {.max_bias = 4.0f}, 4, 1, 12, 4, 33, VKATTN_F32, NULL, NULL, false, false},
    {"heads 40, max_bias 16 (ggml)", {.max_bias = 16.0f}, 4, 1, 40, 3, 29, VKATTN_F32, NULL, NULL, false, false},
    {"caller slopes, heads 6", {.slopes = caller6, .slope_count = 6}, 4, 2, 6, 5, 9, VKATTN_F32, NULL, NULL, false,
     false},
    {"null desc", {0}, 4, 1, 4, 6, 6, VKATTN_F32, NULL, NULL, false, true},
    {"heads 4, k_len 1000", {0}, 4, 1, 4, 3, 1000, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_alibi_slope_sets)
{
    check_cases(_i, slope_cases, PE_COUNT_OF(slope_cases));
}
END_TEST

/* ---- offsets, causal, train_len, grid ---------------------------------------------------------------------------- */

static const alibi_case position_cases[] = {
    {"causal, q = k = 9", {.causal = true}, 4, 2, 4, 9, 9, VKATTN_F32, NULL, NULL, false, false},
    {"causal decode: q_len 1, q_offset k_len - 1", {.causal = true, .q_offset = 49}, 4, 2, 8, 1, 50, VKATTN_F32,
     NULL, NULL, false, false},
    {"causal prefill chunk: q_offset 7", {.causal = true, .q_offset = 7}, 4, 1, 12, 5, 12, VKATTN_F32, NULL, NULL,
     false, false},
    {"not causal, q_offset 3", {.q_offset = 3}, 4, 1, 8, 5, 12, VKATTN_F32, NULL, NULL, false, false},
    {"train_len 16, k_len 40 (scaled)", {.train_len = 16}, 4, 1, 8, 4, 40, VKATTN_F32, NULL, NULL, false, false},
    {"train_len 40, k_len 40 (not scaled)", {.train_len = 40}, 4, 1, 8, 4, 40, VKATTN_F32, NULL, NULL, false, false},
    {"train_len 64, k_len 40 (not scaled)", {.train_len = 64, .causal = true, .q_offset = 36}, 4, 1, 8, 4, 40,
     VKATTN_F32, NULL, NULL, false, false},
    {"train_len 10 with caller slopes", {.slopes = caller6, .slope_count = 6, .train_len = 10}, 4, 1, 6, 3, 25,
     VKATTN_F32, NULL, NULL, false, false},
    {"grid width 4, 12 patches", {.grid_width = 4}, 4, 1, 8, 12, 12, VKATTN_F32, NULL, NULL, false, false},
    {"grid width 5, q_offset 6, max_bias 4", {.grid_width = 5, .q_offset = 6, .max_bias = 4.0f}, 4, 2, 3, 7, 25,
     VKATTN_F32, NULL, NULL, false, false},
    {"grid width 3, causal", {.grid_width = 3, .causal = true}, 4, 1, 2, 9, 9, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_alibi_positions)
{
    check_cases(_i, position_cases, PE_COUNT_OF(position_cases));
}
END_TEST

/* ---- shapes and storage ------------------------------------------------------------------------------------------ */

/* [B, H, Q, K] stored as [B, Q, H, K] with padded rows; [H, Q, K] stored as [Q, H, K]; [Q, K] transposed; padded y. */
static const pe_layout bqhk = {{0, 2, 1, 3}, 3, 5};
static const pe_layout qhk = {{1, 0, 2}, 2, 1};
static const pe_layout transposed = {{1, 0}, 1, 4};
static const pe_layout padded4 = {{0, 1, 2, 3}, 4, 2};

static const alibi_case storage_cases[] = {
    {"3d [heads, q, k]", {.causal = true}, 3, 1, 12, 6, 10, VKATTN_F32, NULL, NULL, false, false},
    {"2d [q, k] (one head)", {.q_offset = 2}, 2, 1, 1, 6, 10, VKATTN_F32, NULL, NULL, false, false},
    {"in place", {.causal = true, .q_offset = 3}, 4, 2, 8, 5, 8, VKATTN_F32, NULL, NULL, true, false},
    {"x strided [B,Q,H,K] storage", {0}, 4, 2, 8, 5, 8, VKATTN_F32, &bqhk, NULL, false, false},
    {"x strided, y padded", {.causal = true}, 4, 2, 8, 5, 8, VKATTN_F32, &bqhk, &padded4, false, false},
    {"strided in place", {.max_bias = 4.0f}, 4, 2, 8, 5, 8, VKATTN_F32, &bqhk, NULL, true, false},
    {"3d strided [Q,H,K] storage", {0}, 3, 1, 12, 6, 10, VKATTN_F32, &qhk, NULL, false, false},
    {"2d transposed", {.causal = true}, 2, 1, 1, 7, 7, VKATTN_F32, &transposed, NULL, false, false},
    {"f16", {0}, 4, 2, 8, 5, 33, VKATTN_F16, NULL, NULL, false, false},
    {"f16 causal in place", {.causal = true, .q_offset = 28}, 4, 2, 8, 5, 33, VKATTN_F16, NULL, NULL, true, false},
    {"f16 strided, grid", {.grid_width = 6}, 4, 1, 12, 6, 36, VKATTN_F16, &bqhk, &padded4, false, false},
    /* contiguous rows of 4k keys: the Vulkan backend's vec4 path */
    {"rows of 36, causal, grid", {.causal = true, .grid_width = 5, .q_offset = 3}, 4, 2, 3, 7, 36, VKATTN_F32, NULL,
     NULL, false, false},
    {"f16 rows of 36, causal, in place", {.causal = true, .q_offset = 30}, 4, 1, 4, 6, 36, VKATTN_F16, NULL, NULL,
     true, false},
};

START_TEST(test_alibi_storage)
{
    check_cases(_i, storage_cases, PE_COUNT_OF(storage_cases));
}
END_TEST

/* ---- command lists ----------------------------------------------------------------------------------------------- */

/* softmax(alibi(x)) over the keys from one list: the attention weights of a causal decode step. */
START_TEST(test_alibi_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const alibi_case c = {"cmd: alibi then softmax", {.causal = true, .q_offset = 30}, 4, 1, 12, 3, 33,
                                 VKATTN_F32, NULL, NULL, false, false};
    size_t n = case_numel(&c);
    float *x = case_input(&c, 55u);
    double *want = pe_xmalloc(n * sizeof *want);
    double *scale = pe_xmalloc(n * sizeof *scale);
    case_reference(&c, x, want, scale);
    pe_call call = call_of(&c);
    pe_check_op_then_softmax(ctx, &call, alibi_op, &c.desc, x, want, "alibi", c.name);
    free(x);
    free(want);
    free(scale);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- vkattn_alibi_slopes (no context) ---------------------------------------------------------------------------- */

static double max_rel_diff(const double *a, const double *b, uint32_t n)
{
    double worst = 0.0;
    for (uint32_t h = 0; h < n; h++)
        worst = fmax(worst, a[h] == b[h] ? 0.0 : fabs(a[h] - b[h]) / fabs(b[h]));
    return worst;
}

/* The two references agree: ggml's formula at max_bias 8 is the paper's recursion, for every head count. */
START_TEST(test_alibi_references_agree)
{
    for (uint32_t n = 1; n <= MAX_HEADS; n++) {
        double paper[MAX_HEADS], ggml[MAX_HEADS];
        paper_slopes(n, paper);
        for (uint32_t h = 0; h < n; h++)
            ggml[h] = ggml_slope(8.0, h, n);
        double diff = max_rel_diff(ggml, paper, n);
        ck_assert_msg(diff <= SLOPE_FORMULA_TOL, "heads %u: ggml (max_bias 8) vs paper slopes differ by %.3g", n, diff);
    }
}
END_TEST

/* The library's slopes for the desc against ref_slopes. */
static void check_slopes(const vkattn_alibi_desc *d, uint32_t heads, uint32_t k_len, const char *what)
{
    float got[MAX_HEADS];
    double want[MAX_HEADS], got64[MAX_HEADS];
    vkattn_result r = vkattn_alibi_slopes(d, heads, k_len, got);
    ck_assert_msg(r == VKATTN_OK, "%s, heads %u: vkattn_alibi_slopes: %s (%s)", what, heads, vkattn_result_name(r),
                  vkattn_context_last_error(NULL));
    ref_slopes(d ? d : &(vkattn_alibi_desc){0}, heads, k_len, want);
    for (uint32_t h = 0; h < heads; h++)
        got64[h] = got[h];
    double diff = max_rel_diff(got64, want, heads);
    ck_assert_msg(diff <= SLOPE_FLOAT_TOL, "%s, heads %u, k_len %u: slopes off by %.3g relative", what, heads, k_len,
                  diff);
}

START_TEST(test_alibi_slopes_fn)
{
    static const uint32_t head_counts[] = {1, 2, 3, 5, 8, 12, 16, 20, 32, 40, 64, 96, 128};
    const vkattn_alibi_desc paper = {0}, bias4 = {.max_bias = 4.0f}, bias8 = {.max_bias = 8.0f},
                            bias12 = {.max_bias = 12.5f}, trained = {.train_len = 512};
    for (size_t k = 0; k < PE_COUNT_OF(head_counts); k++) {
        uint32_t n = head_counts[k];
        check_slopes(NULL, n, 100, "NULL desc (paper)");
        check_slopes(&paper, n, 100, "paper");
        check_slopes(&bias4, n, 100, "max_bias 4");
        check_slopes(&bias8, n, 100, "max_bias 8");
        check_slopes(&bias12, n, 100, "max_bias 12.5");
        check_slopes(&trained, n, 1024, "train_len 512, k_len 1024");
        check_slopes(&trained, n, 512, "train_len 512, k_len 512");
        check_slopes(&trained, n, 7, "train_len 512, k_len 7");
    }
    const vkattn_alibi_desc caller = {.slopes = caller6, .slope_count = 6, .train_len = 3};
    check_slopes(&caller, 6, 2, "caller slopes");
    check_slopes(&caller, 6, 12, "caller slopes, train_len 3, k_len 12");
}
END_TEST

/* ---- bad descs, tensors and calls -------------------------------------------------------------------------------- */

/* The valid call the bad ones vary: x, y [2, 8, 3, 5] f32 (8 heads). */
typedef struct fixture {
    vkattn_context *ctx;
    vkattn_tensor x, y;
} fixture;

/* Descs that are invalid for 8 heads: vkattn_alibi and vkattn_alibi_slopes must both refuse them. */
static void check_bad_descs(const fixture *fx)
{
    static const float seven[7] = {1, 1, 1, 1, 1, 1, 1};
    static const float with_nan[8] = {1, 1, 1, NAN, 1, 1, 1, 1};
    static const float with_inf[8] = {1, 1, 1, 1, 1, 1, 1, -INFINITY};
    static const struct {
        const char *what;
        vkattn_alibi_desc desc;
    } cases[] = {
        {"slope_count 7 for 8 heads", {.slopes = seven, .slope_count = 7}},
        {"slope_count 0 with slopes", {.slopes = seven}},
        {"NaN slope", {.slopes = with_nan, .slope_count = 8}},
        {"-inf slope", {.slopes = with_inf, .slope_count = 8}},
        {"max_bias NaN", {.max_bias = NAN}},
        {"max_bias -1", {.max_bias = -1.0f}},
        {"max_bias inf", {.max_bias = INFINITY}},
    };
    for (size_t k = 0; k < PE_COUNT_OF(cases); k++) {
        float out[8];
        pe_expected_call call = {cases[k].what, &cases[k].desc, fx->x, {0}, fx->y, VKATTN_ERROR_INVALID_ARGUMENT};
        pe_expect_calls(fx->ctx, alibi_op, &call, 1);
        pe_expect(NULL, vkattn_alibi_slopes(&cases[k].desc, 8, 5, out), VKATTN_ERROR_INVALID_ARGUMENT,
                  cases[k].what);
    }
    pe_expect(NULL, vkattn_alibi_slopes(NULL, 8, 5, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "slopes: out NULL");
}

/* x of 1 dim (the op-specific shape rule; pe_check_common_errors covers the rest). */
static void check_bad_ranks(const fixture *fx)
{
    vkattn_tensor x1 = pe_tensor_of(fx->ctx, VKATTN_F32, 1, 5, 0, 0, 0);
    pe_expect(fx->ctx, vkattn_alibi(fx->ctx, NULL, NULL, x1, x1), VKATTN_ERROR_SHAPE_MISMATCH, "x of 1 dim");
    vkattn_tensor_destroy(fx->ctx, x1);
}

START_TEST(test_alibi_bad_inputs)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const int64_t shape[4] = {2, 8, 3, 5};
    fixture fx = {ctx, pe_zeros(ctx, 4, shape), vkt_tensor(ctx, VKATTN_F32, 4, shape)};
    check_bad_descs(&fx);
    check_bad_ranks(&fx);
    pe_check_common_errors(ctx, alibi_op, 4, shape);
    vkattn_tensor_destroy(ctx, fx.x);
    vkattn_tensor_destroy(ctx, fx.y);
    /* the context still works */
    check_case(ctx, &slope_cases[0], 9u);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *alibi_suite(void)
{
    Suite *s = suite_create("alibi");
    TCase *tc = tcase_create("alibi");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_alibi_slope_sets, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_alibi_positions, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_alibi_storage, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_alibi_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_alibi_bad_inputs, 0, VKT_BACKEND_COUNT);
    tcase_add_test(tc, test_alibi_references_agree);
    tcase_add_test(tc, test_alibi_slopes_fn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(alibi_suite());
}
