/*
 * test_softmax.c - vkattn_softmax against a float64 evaluation of the formula in vkattn.h,
 *     y_j = exp(s x_j - m) / sum_k exp(s x_k - m),  m = max_k s x_k,
 * with the header's rules for infinities and NaN, on every enabled backend: shapes of 1 to 4 dims, row lengths
 * around the workgroup sizes and up to 10^6, scales, f16 storage, strided views, in place and special values.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* f32 storage, arithmetic in f32: exp and the row sum each lose a few ulps (2^-24). */
#define F32_TOL 1e-5
/* f32 outputs in these tests stay far above FLT_MIN, so their error is measured purely relatively. */
#define F32_FLOOR 1e-30
/* f16 storage: 1e-3 for the computation plus the rounding of the output to binary16 (half an ulp, 2^-11). */
#define F16_TOL (1e-3 + 0x1p-11)
/* Below the smallest normal binary16 (2^-14) an output's rounding error is absolute, so it is measured against it. */
#define F16_FLOOR 0x1p-14
/* Uniform inputs in [-3, 3): with |scale| <= 2 the exponents stay within [-12, 0], well inside f32. */
#define X_LO -3.0f
#define X_HI 3.0f

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

static size_t shape_numel(uint32_t ndim, const int64_t *shape)
{
    size_t n = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        n *= (size_t)shape[d];
    }
    return n;
}

/* The scale the formula uses for a desc value: 0 means 1 (vkattn.h). */
static double effective_scale(float scale)
{
    return scale == 0.0f ? 1.0 : (double)scale;
}

/* ---- float64 reference ------------------------------------------------------------------------------------------ */

static void fill_double(double *y, size_t n, double v)
{
    for (size_t j = 0; j < n; j++) {
        y[j] = v;
    }
}

/* One row by the header's rules: a NaN makes the row NaN; +inf entries of s*x share the mass equally; a row that
 * is all -inf gives zeros; otherwise the formula, shifted by the row maximum. */
static void ref_softmax_row(const float *x, size_t n, double scale, double *y)
{
    size_t pos_inf = 0;
    double m = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        double v = scale * x[j];
        if (isnan(v)) {
            fill_double(y, n, NAN);
            return;
        }
        pos_inf += v == INFINITY;
        m = fmax(m, v);
    }
    if (pos_inf > 0) {
        for (size_t j = 0; j < n; j++) {
            y[j] = scale * x[j] == INFINITY ? 1.0 / (double)pos_inf : 0.0;
        }
        return;
    }
    if (m == -INFINITY) {
        fill_double(y, n, 0.0);
        return;
    }
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) {
        y[j] = exp(scale * x[j] - m);
        sum += y[j];
    }
    for (size_t j = 0; j < n; j++) {
        y[j] /= sum;
    }
}

static void ref_softmax(const float *x, size_t rows, size_t n, double scale, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        ref_softmax_row(x + r * n, n, scale, y + r * n);
    }
}

/* ---- checks ------------------------------------------------------------------------------------------------------ */

typedef struct tolerance {
    double rel;   /* max relative error */
    double floor; /* |want| below this counts as this */
} tolerance;

static tolerance dtype_tolerance(vkattn_dtype dtype)
{
    return dtype == VKATTN_F16 ? (tolerance){F16_TOL, F16_FLOOR} : (tolerance){F32_TOL, F32_FLOOR};
}

/* Where the reference is exactly 0 (exp of -inf, or a masked row) or NaN, the result must be exactly that. */
static void check_exact_entries(const float *got, const double *want, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (isnan(want[i])) {
            ck_assert_msg(isnan(got[i]), "element %zu: got %g, want NaN", i, (double)got[i]);
        } else if (want[i] == 0.0) {
            ck_assert_msg(got[i] == 0.0f, "element %zu: got %g, want exactly 0", i, (double)got[i]);
        }
    }
}

/* Rows whose reference sums to 1 must sum to 1: each of the n terms may be off by tol.rel of max(|want|, floor). */
static void check_row_sums(const float *got, const double *want, size_t rows, size_t n, tolerance tol)
{
    for (size_t r = 0; r < rows; r++) {
        double got_sum = 0.0, want_sum = 0.0;
        for (size_t j = 0; j < n; j++) {
            got_sum += got[r * n + j];
            want_sum += want[r * n + j];
        }
        if (isnan(want_sum) || want_sum == 0.0) {
            continue;
        }
        double allowed = tol.rel * (1.0 + (double)n * tol.floor);
        ck_assert_msg(fabs(got_sum - 1.0) <= allowed, "row %zu of %zu sums to %.9g (allowed error %.3g)", r, rows,
                      got_sum, allowed);
    }
}

/* got (rows of n, dense) against the float64 softmax of x. */
static void check_softmax(const float *x, const float *got, size_t rows, size_t n, double scale, tolerance tol)
{
    size_t count = rows * n;
    double *want = xmalloc(count * sizeof(double));
    ref_softmax(x, rows, n, scale, want);
    check_exact_entries(got, want, count);
    double err = vkt_max_rel_err(got, want, count, tol.floor);
    ck_assert_msg(err <= tol.rel, "softmax of %zu rows of %zu, scale %g: max relative error %.3g > %.3g", rows, n,
                  scale, err, tol.rel);
    check_row_sums(got, want, rows, n, tol);
    free(want);
}

/* ---- running the op ---------------------------------------------------------------------------------------------- */

static void write_host(vkattn_context *ctx, vkattn_tensor t, vkattn_dtype dtype, const float *src, size_t n)
{
    if (dtype == VKATTN_F16) {
        vkt_write_f16_from_f32(ctx, t, src, n);
    } else {
        vkt_write_f32(ctx, t, src, n);
    }
}

static void read_host(vkattn_context *ctx, vkattn_tensor t, vkattn_dtype dtype, float *dst, size_t n)
{
    if (dtype == VKATTN_F16) {
        vkt_read_f16_to_f32(ctx, t, dst, n);
    } else {
        vkt_read_f32(ctx, t, dst, n);
    }
}

static void softmax_ok(vkattn_context *ctx, const vkattn_softmax_desc *desc, vkattn_tensor x, vkattn_tensor y)
{
    vkattn_result r = vkattn_softmax(ctx, NULL, desc, x, y);
    ck_assert_msg(r == VKATTN_OK, "vkattn_softmax: %s (%s)", vkattn_result_name(r), vkattn_context_last_error(ctx));
}

/* Softmax of dense x (host f32, already representable in dtype) into y, out of place or in place. */
static void run_dense(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                      const vkattn_softmax_desc *desc, bool in_place, const float *x, float *y)
{
    size_t count = shape_numel(ndim, shape);
    vkattn_tensor tx = vkt_tensor(ctx, dtype, ndim, shape);
    vkattn_tensor ty = in_place ? tx : vkt_tensor(ctx, dtype, ndim, shape);
    write_host(ctx, tx, dtype, x, count);
    softmax_ok(ctx, desc, tx, ty);
    read_host(ctx, ty, dtype, y, count);
    vkattn_tensor_destroy(ctx, tx);
    if (!in_place) {
        vkattn_tensor_destroy(ctx, ty);
    }
}

/* Uniform inputs; for f16 storage rounded to binary16 first, so the reference sees what the tensor holds. */
static void random_input(float *x, size_t n, uint32_t seed, vkattn_dtype dtype)
{
    vkt_fill_uniform(x, n, seed, X_LO, X_HI);
    if (dtype == VKATTN_F16) {
        for (size_t i = 0; i < n; i++) {
            x[i] = vkt_half_to_float(vkt_float_to_half(x[i]));
        }
    }
}

/* Random dense case of the given shape, checked against float64. */
static void check_dense(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape, float scale,
                        bool in_place, uint32_t seed)
{
    size_t count = shape_numel(ndim, shape);
    size_t n = (size_t)shape[ndim - 1];
    float *x = xmalloc(count * sizeof(float));
    float *y = xmalloc(count * sizeof(float));
    random_input(x, count, seed, dtype);
    vkattn_softmax_desc desc = {.scale = scale};
    run_dense(ctx, dtype, ndim, shape, &desc, in_place, x, y);
    check_softmax(x, y, count / n, n, effective_scale(scale), dtype_tolerance(dtype));
    free(x);
    free(y);
}

/* Given rows of f32 values (special values included), checked against float64. */
static void check_rows(vkattn_context *ctx, const float *x, size_t rows, size_t n, float scale)
{
    float *y = xmalloc(rows * n * sizeof(float));
    int64_t shape[2] = {(int64_t)rows, (int64_t)n};
    vkattn_softmax_desc desc = {.scale = scale};
    run_dense(ctx, VKATTN_F32, 2, shape, &desc, false, x, y);
    check_softmax(x, y, rows, n, effective_scale(scale), dtype_tolerance(VKATTN_F32));
    free(y);
}

/* ---- shapes and scales ------------------------------------------------------------------------------------------- */

START_TEST(test_shapes)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    static const struct {
        uint32_t ndim;
        int64_t shape[VKATTN_MAX_DIMS];
    } cases[] = {
        {1, {1}}, {1, {7}}, {1, {1000}}, {2, {3, 5}}, {3, {4, 6, 17}}, {4, {2, 3, 4, 33}}, {4, {1, 1, 1, 9}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        check_dense(ctx, VKATTN_F32, cases[c].ndim, cases[c].shape, 0.0f, false, 100u + (uint32_t)c);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* Lengths around the workgroup sizes a device may pick (powers of two up to 1024) and far beyond them. */
START_TEST(test_row_lengths)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    static const int64_t lengths[] = {1, 2, 255, 256, 257, 1023, 4097, 100000};
    for (size_t c = 0; c < sizeof(lengths) / sizeof(lengths[0]); c++) {
        int64_t shape[2] = {lengths[c] >= 100000 ? 2 : 3, lengths[c]};
        check_dense(ctx, VKATTN_F32, 2, shape, 0.0f, false, 200u + (uint32_t)c);
    }
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_one_million)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    int64_t shape[1] = {1000000};
    check_dense(ctx, VKATTN_F32, 1, shape, 0.0f, false, 300u);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_many_rows)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    int64_t small[2] = {4096, 16};
    int64_t large[2] = {32768, 16};
    check_dense(ctx, VKATTN_F32, 2, small, 0.0f, false, 400u);
    check_dense(ctx, VKATTN_F32, 2, large, 0.0f, false, 401u);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_scales)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    const float scales[] = {0.0f, 1.0f, 0.125f, -2.0f, (float)(1.0 / sqrt(128.0))};
    int64_t shape[2] = {4, 300};
    for (size_t c = 0; c < sizeof(scales) / sizeof(scales[0]); c++) {
        check_dense(ctx, VKATTN_F32, 2, shape, scales[c], false, 500u + (uint32_t)c);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* desc = NULL means all defaults: scale 1. */
START_TEST(test_null_desc)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    int64_t shape[2] = {3, 50};
    float x[150], y[150];
    random_input(x, 150, 600u, VKATTN_F32);
    run_dense(ctx, VKATTN_F32, 2, shape, NULL, false, x, y);
    check_softmax(x, y, 3, 50, 1.0, dtype_tolerance(VKATTN_F32));
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_f16)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    int64_t vec[1] = {1000};
    int64_t mat[2] = {5, 257};
    int64_t cube[4] = {2, 3, 4, 33};
    check_dense(ctx, VKATTN_F16, 1, vec, 0.0f, false, 700u);
    check_dense(ctx, VKATTN_F16, 2, mat, 0.125f, false, 701u);
    check_dense(ctx, VKATTN_F16, 4, cube, -2.0f, false, 702u);
    check_dense(ctx, VKATTN_F16, 2, mat, 0.5f, true, 703u);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_in_place)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    int64_t shape[3] = {2, 3, 129};
    check_dense(ctx, VKATTN_F32, 3, shape, 0.0f, true, 800u);
    check_dense(ctx, VKATTN_F32, 3, shape, -2.0f, true, 801u);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- strided views ----------------------------------------------------------------------------------------------- */

/* A view of a 1-d f32 base tensor of base_len elements. */
typedef struct view_spec {
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
    int64_t strides[VKATTN_MAX_DIMS];
    int64_t offset;
    int64_t base_len;
} view_spec;

/* Position in the base of the view's k-th element in logical row-major order. */
static size_t view_elem(const view_spec *v, size_t k)
{
    int64_t at = v->offset;
    for (uint32_t d = v->ndim; d-- > 0;) {
        at += (int64_t)(k % (size_t)v->shape[d]) * v->strides[d];
        k /= (size_t)v->shape[d];
    }
    return (size_t)at;
}

static vkattn_tensor make_view(vkattn_context *ctx, vkattn_tensor base, const view_spec *v)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = v->ndim};
    memcpy(d.shape, v->shape, sizeof(d.shape));
    memcpy(d.strides, v->strides, sizeof(d.strides));
    vkattn_tensor t = {0};
    vkattn_result r = vkattn_tensor_view(ctx, base, &d, v->offset, &t);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_view: %s (%s)", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
    return t;
}

/* A base tensor holding `host` (base_len values). */
static vkattn_tensor make_base(vkattn_context *ctx, const view_spec *v, const float *host)
{
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_F32, 1, &v->base_len);
    vkt_write_f32(ctx, t, host, (size_t)v->base_len);
    return t;
}

/* Softmax from view xs to view ys (ys NULL: in place in xs). Checks the view's result against float64 and that
 * every base element outside the output view kept its value. */
static void check_strided(vkattn_context *ctx, const view_spec *xs, const view_spec *ys, float scale)
{
    const view_spec *out = ys ? ys : xs;
    size_t count = shape_numel(xs->ndim, xs->shape);
    size_t n = (size_t)xs->shape[xs->ndim - 1];
    float *xbase = xmalloc((size_t)xs->base_len * sizeof(float));
    float *before = xmalloc((size_t)out->base_len * sizeof(float));
    float *after = xmalloc((size_t)out->base_len * sizeof(float));
    float *x = xmalloc(count * sizeof(float));
    float *y = xmalloc(count * sizeof(float));
    bool *in_view = calloc((size_t)out->base_len, sizeof(bool));
    ck_assert(in_view != NULL);

    random_input(xbase, (size_t)xs->base_len, 900u, VKATTN_F32);
    for (size_t i = 0; i < (size_t)out->base_len; i++) {
        before[i] = ys ? 1234.5f : xbase[i]; /* a sentinel no softmax output can equal */
    }
    vkattn_tensor bx = make_base(ctx, xs, xbase);
    vkattn_tensor by = ys ? make_base(ctx, ys, before) : bx;
    vkattn_tensor tx = make_view(ctx, bx, xs);
    vkattn_tensor ty = ys ? make_view(ctx, by, ys) : tx;
    vkattn_softmax_desc desc = {.scale = scale};
    softmax_ok(ctx, &desc, tx, ty);
    vkt_read_f32(ctx, by, after, (size_t)out->base_len);

    for (size_t k = 0; k < count; k++) {
        x[k] = xbase[view_elem(xs, k)];
        y[k] = after[view_elem(out, k)];
        in_view[view_elem(out, k)] = true;
    }
    for (size_t i = 0; i < (size_t)out->base_len; i++) {
        ck_assert_msg(in_view[i] || after[i] == before[i], "base element %zu outside the output view changed: %g -> %g",
                      i, (double)before[i], (double)after[i]);
    }
    check_softmax(x, y, count / n, n, effective_scale(scale), dtype_tolerance(VKATTN_F32));

    vkattn_tensor_destroy(ctx, tx);
    vkattn_tensor_destroy(ctx, bx);
    if (ys) {
        vkattn_tensor_destroy(ctx, ty);
        vkattn_tensor_destroy(ctx, by);
    }
    free(xbase);
    free(before);
    free(after);
    free(x);
    free(y);
    free(in_view);
}

/* x: the transpose of a [37, 6] matrix, so a softmax row runs down a column (element stride 6); y: rows padded to
 * 40 elements, starting 5 elements into its base. */
static const view_spec transposed_x = {2, {6, 37}, {1, 6}, 0, 6 * 37};
static const view_spec padded_y = {2, {6, 37}, {40, 1}, 5, 5 + 6 * 40};

/* x: a [B, S, H, D] = [2, 5, 3, 24] tensor seen as [B, H, S, D]; y: [B, H, S, D] with D padded to 32, offset 3. */
static const view_spec permuted_x = {4, {2, 3, 5, 24}, {360, 24, 72, 1}, 0, 720};
static const view_spec padded_y4 = {4, {2, 3, 5, 24}, {480, 160, 32, 1}, 3, 3 + 960};

START_TEST(test_strided_views)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    check_strided(ctx, &transposed_x, &padded_y, 0.0f);
    check_strided(ctx, &permuted_x, &padded_y4, 0.125f);
    check_strided(ctx, &padded_y, &transposed_x, -2.0f);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_strided_in_place)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    check_strided(ctx, &transposed_x, NULL, 0.0f);
    check_strided(ctx, &padded_y4, NULL, 0.5f);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- special values ---------------------------------------------------------------------------------------------- */

/* Rows of huge finite values. With scale 10, +-3e38 overflows f32 to +-inf; the rows are chosen so that this gives
 * the same answer as exact arithmetic (what overflows to +inf are exactly the row maxima, what overflows to -inf
 * is negligible beside the maximum). */
START_TEST(test_huge_values)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { ROWS = 6, N = 5 };
    const float x[ROWS * N] = {
        1e30f,  1e30f,  -1e30f, 5.0f,   1e30f,  /* three equal maxima: 1/3 each */
        -1e30f, -1e30f, -1e30f, -1e30f, -1e30f, /* uniform */
        -1e30f, 0.0f,   -1e30f, 2.0f,   -1e30f, /* the finite pair, as softmax(0, 2) */
        3e38f,  3e38f,  0.0f,   -3e38f, 1.0f,   /* the two maxima share */
        -3e38f, -3e38f, 7.0f,   -3e38f, -3e38f, /* the one moderate entry takes everything */
        3e38f,  -3e38f, 1e30f,  -1e30f, 0.0f,   /* one maximum takes everything */
    };
    const float scales[] = {1.0f, 10.0f};
    for (size_t c = 0; c < 2; c++) {
        check_rows(ctx, x, ROWS, N, scales[c]);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* Rows with some -inf entries (attention masks): those entries give exactly 0, the rest the softmax of the rest. */
START_TEST(test_neg_inf_entries)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { ROWS = 4, N = 300 };
    float *x = xmalloc(ROWS * N * sizeof(float));
    random_input(x, ROWS * N, 1000u, VKATTN_F32);
    for (size_t r = 0; r < ROWS; r++) {
        /* row r masks every (r+2)-th entry; row 3 also masks everything past the first 7 (a causal-mask row) */
        for (size_t j = 0; j < N; j++) {
            if (j % (r + 2) == 1 || (r == 3 && j >= 7)) {
                x[r * N + j] = -INFINITY;
            }
        }
    }
    check_rows(ctx, x, ROWS, N, 0.0f);
    check_rows(ctx, x, ROWS, N, 0.125f);
    free(x);
    vkt_context_destroy(ctx);
}
END_TEST

/* A fully masked row gives exactly zeros (not NaN) and does not disturb its neighbours. */
START_TEST(test_all_neg_inf_row)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    const int64_t lengths[] = {1, 3, 257, 5000};
    for (size_t c = 0; c < sizeof(lengths) / sizeof(lengths[0]); c++) {
        size_t n = (size_t)lengths[c];
        float *x = xmalloc(3 * n * sizeof(float));
        random_input(x, 3 * n, 1100u + (uint32_t)c, VKATTN_F32);
        for (size_t j = 0; j < n; j++) {
            x[n + j] = -INFINITY;
        }
        check_rows(ctx, x, 3, n, 0.0f);
        free(x);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* +inf entries share the mass equally; every other entry gets exactly 0. */
START_TEST(test_pos_inf_entries)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { ROWS = 3, N = 600 };
    float *x = xmalloc(ROWS * N * sizeof(float));
    random_input(x, ROWS * N, 1200u, VKATTN_F32);
    x[0 * N + 17] = INFINITY; /* one: takes all */
    x[1 * N + 0] = INFINITY;  /* two: 1/2 each, with a -inf beside them */
    x[1 * N + 599] = INFINITY;
    x[1 * N + 300] = -INFINITY;
    x[2 * N + 1] = INFINITY; /* three: 1/3 each */
    x[2 * N + 256] = INFINITY;
    x[2 * N + 511] = INFINITY;
    check_rows(ctx, x, ROWS, N, 0.0f);
    check_rows(ctx, x, ROWS, N, 0.5f);
    free(x);
    vkt_context_destroy(ctx);
}
END_TEST

/* A NaN makes its own row NaN and nothing else. */
START_TEST(test_nan_row)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { ROWS = 3, N = 1000 };
    float *x = xmalloc(ROWS * N * sizeof(float));
    float *y = xmalloc(ROWS * N * sizeof(float));
    random_input(x, ROWS * N, 1300u, VKATTN_F32);
    x[1 * N + 421] = NAN;
    int64_t shape[2] = {ROWS, N};
    run_dense(ctx, VKATTN_F32, 2, shape, NULL, false, x, y);
    for (size_t j = 0; j < N; j++) {
        ck_assert_msg(isnan(y[N + j]), "row 1 (with a NaN) element %zu: got %g, want NaN", j, (double)y[N + j]);
    }
    check_softmax(x, y, 1, N, 1.0, dtype_tolerance(VKATTN_F32));
    check_softmax(x + 2 * N, y + 2 * N, 1, N, 1.0, dtype_tolerance(VKATTN_F32));
    free(x);
    free(y);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- backends against each other --------------------------------------------------------------------------------- */

/* Softmax of a random [2, 3, 5, 77] tensor on one backend (both ends on the host). */
static void run_random_4d(vkattn_context *ctx, const float *x, float *y)
{
    const int64_t shape[4] = {2, 3, 5, 77};
    vkattn_softmax_desc desc = {.scale = 0.3f};
    run_dense(ctx, VKATTN_F32, 4, shape, &desc, false, x, y);
}

START_TEST(test_cpu_vs_vulkan)
{
    vkattn_context *cpu = vkt_context(VKATTN_BACKEND_CPU);
    vkattn_context *vk = cpu ? vkt_context(VKATTN_BACKEND_VULKAN) : NULL;
    if (!vk) {
        vkt_context_destroy(cpu);
        return;
    }
    enum { ROWS = 2 * 3 * 5, N = 77 };
    float *x = xmalloc(ROWS * N * sizeof(float));
    float *y_cpu = xmalloc(ROWS * N * sizeof(float));
    float *y_vk = xmalloc(ROWS * N * sizeof(float));
    double *y_cpu64 = xmalloc(ROWS * N * sizeof(double));
    random_input(x, ROWS * N, 1400u, VKATTN_F32);
    run_random_4d(cpu, x, y_cpu);
    run_random_4d(vk, x, y_vk);
    check_softmax(x, y_cpu, ROWS, N, (double)0.3f, dtype_tolerance(VKATTN_F32));
    check_softmax(x, y_vk, ROWS, N, (double)0.3f, dtype_tolerance(VKATTN_F32));
    for (size_t i = 0; i < ROWS * N; i++) {
        y_cpu64[i] = y_cpu[i];
    }
    double err = vkt_max_rel_err(y_vk, y_cpu64, ROWS * N, F32_FLOOR);
    ck_assert_msg(err <= 2 * F32_TOL, "Vulkan vs CPU: max relative difference %.3g", err);
    free(x);
    free(y_cpu);
    free(y_vk);
    free(y_cpu64);
    vkt_context_destroy(vk);
    vkt_context_destroy(cpu);
}
END_TEST

static Suite *softmax_suite(void)
{
    Suite *s = suite_create("softmax");
    TCase *tc = tcase_create("softmax");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_shapes, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_row_lengths, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_one_million, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_many_rows, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_scales, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_null_desc, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_f16, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_in_place, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_strided_views, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_strided_in_place, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_huge_values, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_neg_inf_entries, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_all_neg_inf_row, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_pos_inf_entries, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_nan_row, 0, VKT_BACKEND_COUNT);
    tcase_add_test(tc, test_cpu_vs_vulkan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(softmax_suite());
}
