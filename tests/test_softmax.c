/*
 * test_softmax.c - vkattn_softmax against a float64 evaluation of the formula in vkattn.h,
 *     y_j = exp(s x_j - m) / sum_k exp(s x_k - m),  m = max_k s x_k,
 * with the header's rules for infinities and NaN, on every enabled backend: shapes of 1 to 4 dims, row lengths
 * around the workgroup sizes and up to 10^6, scales, f16 storage, strided views, in place and special values.
 * The masked forms against attn_ref.c's float64 masking: causal and sliding window at q_pos = q_offset + i, additive
 * f32 / f16 masks broadcast from [q, k], [1, heads, q, k], [batch, 1, q, k], [1, k] and [q, 1], the fused ALiBi
 * bias (paper, max_bias, train_len, grid and caller slopes), their combinations, fully masked rows (zeros), in
 * place, strided views, a command list and the result codes of bad masks and descs.
 */
#include "attn_ref.h"

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

/* The scale the formula uses for a desc value: 0 means 1 (vkattn.h). */
static double effective_scale(float scale)
{
    return scale == 0.0f ? 1.0 : (double)scale;
}

/* ---- float64 reference ------------------------------------------------------------------------------------------ */

static void ref_softmax_row(const float *x, size_t n, double scale, double *y)
{
    for (size_t j = 0; j < n; j++) {
        y[j] = scale * x[j];
    }
    attn_ref_softmax_row(y, n);
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
    double *want = pe_xmalloc(count * sizeof(double));
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
    size_t count = pe_numel(ndim, shape);
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
    pe_round_to_dtype(dtype, x, n);
}

/* Random dense case of the given shape, checked against float64. */
static void check_dense(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape, float scale,
                        bool in_place, uint32_t seed)
{
    size_t count = pe_numel(ndim, shape);
    size_t n = (size_t)shape[ndim - 1];
    float *x = pe_xmalloc(count * sizeof(float));
    float *y = pe_xmalloc(count * sizeof(float));
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
    float *y = pe_xmalloc(rows * n * sizeof(float));
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

/* Rows far longer than 1,000,000 on Vulkan (the CPU backend has no loop limit, and its float64 walk of such rows
 * would take minutes under valgrind): 20,000,000 elements; and 33,000,000, which a CPU Vulkan device refuses
 * (llvmpipe ends an invocation's loops after 65535 iterations; the backend takes the largest workgroup first) with
 * VKATTN_ERROR_UNSUPPORTED instead of a wrong result, and which other devices compute. */
START_TEST(test_huge_rows)
{
    if (vkt_backend(_i) == VKATTN_BACKEND_CPU)
        return;
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(ctx, &info), VKATTN_OK);
    /* On a CPU device a row takes at most 1024 invocations (fewer under the phone profile) walking it twice within
     * llvmpipe's 65535 loop iterations: vk_ops.c allows 30,000 elements per invocation. */
    int64_t cpu_max = 30000 * (int64_t)(info.max_workgroup_invocations < 1024 ? info.max_workgroup_invocations : 1024);
    bool cpu = info.type == VKATTN_DEVICE_CPU;
    int64_t twenty[1] = {cpu && cpu_max < 20000000 ? cpu_max : 20000000};
    int64_t too_long[1] = {cpu && cpu_max < 30000000 ? cpu_max + 4096 : 33000000};
    check_dense(ctx, VKATTN_F32, 1, twenty, 0.0f, false, 310u);
    if (cpu) {
        vkattn_tensor x = vkt_tensor(ctx, VKATTN_F32, 1, too_long), y = vkt_tensor(ctx, VKATTN_F32, 1, too_long);
        vkattn_result r = vkattn_softmax(ctx, NULL, NULL, x, y);
        ck_assert_msg(r == VKATTN_ERROR_UNSUPPORTED && strstr(vkattn_context_last_error(ctx), "CPU backend"),
                      "a row of %lld on %s: %s (%s)", (long long)too_long[0], info.name, vkattn_result_name(r),
                      vkattn_context_last_error(ctx));
        vkattn_tensor_destroy(ctx, x);
        vkattn_tensor_destroy(ctx, y);
        int64_t small[1] = {1000};
        check_dense(ctx, VKATTN_F32, 1, small, 0.0f, false, 311u); /* the context still works */
    } else {
        check_dense(ctx, VKATTN_F32, 1, too_long, 0.0f, false, 312u);
    }
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
    size_t count = pe_numel(xs->ndim, xs->shape);
    size_t n = (size_t)xs->shape[xs->ndim - 1];
    float *xbase = pe_xmalloc((size_t)xs->base_len * sizeof(float));
    float *before = pe_xmalloc((size_t)out->base_len * sizeof(float));
    float *after = pe_xmalloc((size_t)out->base_len * sizeof(float));
    float *x = pe_xmalloc(count * sizeof(float));
    float *y = pe_xmalloc(count * sizeof(float));
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
    float *x = pe_xmalloc(ROWS * N * sizeof(float));
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
        float *x = pe_xmalloc(3 * n * sizeof(float));
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
    float *x = pe_xmalloc(ROWS * N * sizeof(float));
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
    float *x = pe_xmalloc(ROWS * N * sizeof(float));
    float *y = pe_xmalloc(ROWS * N * sizeof(float));
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

/* ---- masks, causal, sliding window, ALiBi ------------------------------------------------------------------------ */

/* The mask and the ALiBi bias push exponents to tens, where the f32 rounding of v = scale x + mask + bias (|v| 2^-24
 * per term) is what the result can hold; outputs below 1e-12 are therefore measured against 1e-12 (absolutely). */
#define MASKED_F32_FLOOR 1e-12
/* Mask values: uniform in [MASK_LO, 0), with -inf entries. */
#define MASK_LO -4.0f

typedef struct masked_case {
    const char *name;
    uint32_t ndim;                /* x: the trailing ndim dims of shape (the others are 1) */
    int64_t shape[4];             /* [batch, heads, q_len, k_len] */
    vkattn_softmax_desc desc;     /* the mask handle is filled in from mask_ndim / mask_shape */
    uint32_t mask_ndim;           /* 0 = no mask */
    int64_t mask_shape[4];
    vkattn_dtype mask_dtype;
    uint32_t inf_every;           /* about one mask entry in inf_every is -inf (0 = none) */
    vkattn_dtype dtype;
    bool in_place;
    bool masks_rows;              /* the case must mask at least one row fully */
    const pe_layout *x_layout;    /* NULL = contiguous */
    const pe_layout *mask_layout; /* NULL = contiguous */
} masked_case;

static vkattn_result softmax_op(vkattn_context *ctx, vkattn_cmd *cmd, const void *desc, vkattn_tensor x,
                                vkattn_tensor pos, vkattn_tensor y)
{
    ck_assert_msg(pos.id == 0, "vkattn_softmax takes no positions tensor");
    return vkattn_softmax(ctx, cmd, desc, x, y);
}

static pe_call masked_call(const masked_case *c)
{
    pe_call call = {.dtype = c->dtype, .ndim = c->ndim, .x_layout = c->x_layout, .in_place = c->in_place};
    memcpy(call.shape, c->shape + 4 - c->ndim, c->ndim * sizeof c->shape[0]);
    return call;
}

/* The reference's view of the case: the mask right-aligned to 4 dims, the slopes for heads = shape[1]. */
static attn_masking masking_of(const masked_case *c, const float *mask, double *slopes)
{
    const vkattn_softmax_desc *d = &c->desc;
    attn_masking m = {.scale = effective_scale(d->scale), .causal = d->causal, .q_offset = d->q_offset,
                      .window = d->window, .mask = c->mask_ndim ? mask : NULL};
    for (uint32_t k = 0; k < 4; k++) {
        m.mask_shape[k] = k < 4 - c->mask_ndim ? 1 : c->mask_shape[k - (4 - c->mask_ndim)];
    }
    if (d->alibi) {
        attn_ref_slopes(d->alibi, (uint32_t)c->shape[1], c->shape[3], slopes);
        m.slopes = slopes;
        m.grid_width = d->alibi->grid_width;
    }
    return m;
}

static size_t zero_rows(const double *want, size_t rows, size_t n)
{
    size_t zero = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t j = 0;
        while (j < n && want[r * n + j] == 0.0) {
            j++;
        }
        zero += j == n;
    }
    return zero;
}

static void check_masked_result(vkattn_context *ctx, const masked_case *c, const float *y, const double *want)
{
    size_t count = pe_numel(4, c->shape);
    size_t n = (size_t)c->shape[3];
    tolerance tol = dtype_tolerance(c->dtype);
    if (c->dtype == VKATTN_F32) {
        tol.floor = MASKED_F32_FLOOR;
    }
    check_exact_entries(y, want, count);
    check_row_sums(y, want, count / n, n, tol);
    ck_assert_msg(!c->masks_rows || zero_rows(want, count / n, n) > 0, "%s: no row is fully masked", c->name);
    pe_report(ctx, "softmax", c->name, vkt_max_rel_err(y, want, count, tol.floor), tol.rel);
}

/* A mask tensor of the case holding `values` (the zero handle when the case has no mask). */
static pe_tensor masked_mask(vkattn_context *ctx, const masked_case *c, const float *values)
{
    pe_tensor t = {.t = {0}};
    if (c->mask_ndim) {
        t = pe_tensor_new(ctx, c->mask_dtype, c->mask_ndim, c->mask_shape, c->mask_layout);
        pe_tensor_set(ctx, &t, values);
    }
    return t;
}

static void check_masked(vkattn_context *ctx, const masked_case *c, uint32_t seed)
{
    size_t count = pe_numel(4, c->shape);
    size_t mask_count = c->mask_ndim ? pe_numel(c->mask_ndim, c->mask_shape) : 0;
    float *x = pe_xmalloc(count * sizeof *x);
    float *y = pe_xmalloc(count * sizeof *y);
    float *mask = pe_xmalloc(mask_count * sizeof *mask);
    double *want = pe_xmalloc(count * sizeof *want);
    double slopes[ATTN_MAX_HEADS];
    random_input(x, count, seed, c->dtype);
    attn_mask_values(mask, mask_count, seed + 1, MASK_LO, c->inf_every, c->mask_dtype);
    pe_tensor mt = masked_mask(ctx, c, mask);
    vkattn_softmax_desc desc = c->desc;
    desc.mask = mt.t;
    pe_call call = masked_call(c);
    pe_call_run(ctx, &call, softmax_op, &desc, x, y, c->name);
    attn_masking m = masking_of(c, mask, slopes);
    attn_ref_softmax(&m, c->shape, x, want);
    check_masked_result(ctx, c, y, want);
    pe_tensor_free(ctx, &mt);
    free(x);
    free(y);
    free(mask);
    free(want);
}

static void check_masked_on(vkattn_context *ctx, const masked_case *cases, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        check_masked(ctx, &cases[k], 1500u + 7u * (uint32_t)k);
    }
}

static void check_masked_cases(int backend_index, const masked_case *cases, size_t count)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx) {
        return;
    }
    check_masked_on(ctx, cases, count);
    vkt_context_destroy(ctx);
}

/* A [q, k] mask stored transposed; x [B, H, Q, K] stored as [B, Q, H, K] with padded rows, 3 elements in. */
static const pe_layout mask_transposed = {{1, 0}, 0, 0};
static const pe_layout bqhk = {{0, 2, 1, 3}, 5, 3};

static const masked_case causal_window_cases[] = {
    {"causal, square", 4, {2, 3, 17, 17}, {.scale = 0.5f, .causal = true}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false,
     false, NULL, NULL},
    {"causal, q_offset 35 (5 queries after a cache of 35)", 4, {1, 2, 5, 40}, {.causal = true, .q_offset = 35}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"causal decode, q_len 1, q_offset = k_len - 1", 4, {2, 4, 1, 300}, {.causal = true, .q_offset = 299}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"causal, window 8", 4, {1, 2, 33, 33}, {.causal = true, .window = 8}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false,
     false, NULL, NULL},
    {"window 5 without causal, q_offset 10", 4, {1, 1, 20, 50}, {.q_offset = 10, .window = 5}, 0, {0}, VKATTN_F32, 0,
     VKATTN_F32, false, false, NULL, NULL},
    {"causal, window 1 (each query sees itself only)", 4, {1, 1, 9, 9}, {.causal = true, .window = 1}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"causal, q_offset -3: queries at negative positions see no key", 4, {1, 2, 6, 10},
     {.causal = true, .q_offset = -3}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false, true, NULL, NULL},
    {"window 4, q_offset 26: the last queries see no key", 4, {1, 1, 8, 30}, {.q_offset = 26, .window = 4}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, true, NULL, NULL},
    {"2-dim x [q, k], causal", 2, {1, 1, 12, 12}, {.causal = true}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false, false,
     NULL, NULL},
    {"causal, q_offset 4093, window 1000, k_len 4097", 4, {1, 2, 4, 4097},
     {.causal = true, .q_offset = 4093, .window = 1000}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"f16, causal, window 6", 4, {2, 2, 16, 24}, {.causal = true, .q_offset = 8, .window = 6}, 0, {0}, VKATTN_F32, 0,
     VKATTN_F16, false, false, NULL, NULL},
    {"in place, causal", 4, {2, 2, 16, 16}, {.scale = 2.0f, .causal = true}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, true,
     false, NULL, NULL},
};

START_TEST(test_causal_window)
{
    check_masked_cases(_i, causal_window_cases, PE_COUNT_OF(causal_window_cases));
}
END_TEST

static const masked_case mask_cases[] = {
    {"mask [q, k] f32", 4, {2, 3, 7, 45}, {.causal = false}, 2, {7, 45}, VKATTN_F32, 6, VKATTN_F32, false, false, NULL,
     NULL},
    {"mask [q, k] f16", 4, {2, 3, 7, 45}, {.scale = 0.25f}, 2, {7, 45}, VKATTN_F16, 6, VKATTN_F32, false, false, NULL,
     NULL},
    {"mask [1, heads, q, k] f32", 4, {2, 3, 7, 45}, {.causal = false}, 4, {1, 3, 7, 45}, VKATTN_F32, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [1, heads, q, k] f16", 4, {2, 3, 7, 45}, {.causal = false}, 4, {1, 3, 7, 45}, VKATTN_F16, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [heads, q, k] (3 dims)", 4, {2, 3, 7, 45}, {.causal = false}, 3, {3, 7, 45}, VKATTN_F32, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [batch, 1, q, k] f32", 4, {2, 3, 7, 45}, {.causal = false}, 4, {2, 1, 7, 45}, VKATTN_F32, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [batch, 1, q, k] f16", 4, {2, 3, 7, 45}, {.causal = false}, 4, {2, 1, 7, 45}, VKATTN_F16, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [batch, heads, q, k]", 4, {2, 3, 7, 45}, {.causal = false}, 4, {2, 3, 7, 45}, VKATTN_F32, 6, VKATTN_F32,
     false, false, NULL, NULL},
    {"padding mask [1, k]", 4, {2, 3, 7, 45}, {.causal = false}, 2, {1, 45}, VKATTN_F32, 4, VKATTN_F32, false, false,
     NULL, NULL},
    {"padding mask [batch, 1, 1, k]", 4, {2, 3, 7, 45}, {.causal = false}, 4, {2, 1, 1, 45}, VKATTN_F16, 4, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask [q, 1]: -inf rows mask whole rows", 4, {2, 3, 9, 45}, {.causal = false}, 2, {9, 1}, VKATTN_F32, 2,
     VKATTN_F32, false, true, NULL, NULL},
    {"mask all -inf on a row of [q, k]", 4, {1, 2, 5, 3}, {.causal = false}, 2, {5, 3}, VKATTN_F32, 2, VKATTN_F32,
     false, true, NULL, NULL},
    {"mask without -inf, 1000 keys", 4, {1, 2, 3, 1000}, {.causal = false}, 2, {3, 1000}, VKATTN_F32, 0, VKATTN_F32,
     false, false, NULL, NULL},
    {"mask + causal + q_offset", 4, {2, 2, 6, 20}, {.causal = true, .q_offset = 14}, 2, {6, 20}, VKATTN_F32, 5,
     VKATTN_F32, false, false, NULL, NULL},
    {"mask + window", 4, {1, 3, 10, 30}, {.q_offset = 20, .window = 7}, 4, {1, 3, 10, 30}, VKATTN_F16, 5, VKATTN_F32,
     false, false, NULL, NULL},
    {"f16 x, f32 mask, causal", 4, {2, 2, 8, 40}, {.causal = true, .q_offset = 32}, 2, {8, 40}, VKATTN_F32, 6,
     VKATTN_F16, false, false, NULL, NULL},
    {"f16 x, f16 mask", 4, {1, 2, 8, 300}, {.scale = 0.5f}, 4, {1, 2, 8, 300}, VKATTN_F16, 6, VKATTN_F16, false, false,
     NULL, NULL},
    {"in place, mask + causal", 4, {2, 3, 7, 45}, {.causal = true, .q_offset = 38}, 4, {2, 1, 7, 45}, VKATTN_F32, 6,
     VKATTN_F32, true, false, NULL, NULL},
    {"in place f16, mask [q, k]", 4, {1, 2, 7, 45}, {.causal = false}, 2, {7, 45}, VKATTN_F16, 6, VKATTN_F16, true,
     false, NULL, NULL},
    {"strided x [B, Q, H, K] and transposed mask", 4, {2, 3, 7, 45}, {.causal = true, .q_offset = 38}, 2, {7, 45},
     VKATTN_F32, 6, VKATTN_F32, false, false, &bqhk, &mask_transposed},
    {"strided x in place, mask [1, heads, q, k]", 4, {2, 3, 7, 45}, {.causal = false}, 4, {1, 3, 7, 45}, VKATTN_F32, 6,
     VKATTN_F32, true, false, &bqhk, NULL},
};

START_TEST(test_masks)
{
    check_masked_cases(_i, mask_cases, PE_COUNT_OF(mask_cases));
}
END_TEST

static const float caller_slopes5[5] = {0.5f, 0.03125f, 1.0f, 0.0f, 0.25f};
static const vkattn_alibi_desc alibi_paper = {0};
static const vkattn_alibi_desc alibi_bias4 = {.max_bias = 4.0f};
static const vkattn_alibi_desc alibi_trained = {.train_len = 32};
static const vkattn_alibi_desc alibi_grid = {.grid_width = 4};
static const vkattn_alibi_desc alibi_caller = {.slopes = caller_slopes5, .slope_count = 5};

static const masked_case alibi_cases[] = {
    {"alibi (paper slopes), heads 8, causal", 4, {1, 8, 16, 16}, {.causal = true, .alibi = &alibi_paper}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"alibi max_bias 4, heads 6, q_offset 20, not causal", 4, {2, 6, 5, 40}, {.q_offset = 20, .alibi = &alibi_bias4}, 0,
     {0}, VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"alibi train_len 32 < k_len 64, heads 12, decode", 4, {1, 12, 1, 64},
     {.causal = true, .q_offset = 63, .alibi = &alibi_trained}, 0, {0}, VKATTN_F32, 0, VKATTN_F32, false, false, NULL,
     NULL},
    {"alibi on a grid of width 4, heads 3", 4, {1, 3, 16, 16}, {.alibi = &alibi_grid}, 0, {0}, VKATTN_F32, 0,
     VKATTN_F32, false, false, NULL, NULL},
    {"alibi caller slopes, heads 5, scale 0.125", 4, {2, 5, 6, 30}, {.scale = 0.125f, .alibi = &alibi_caller}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"3-dim x [heads, q, k], alibi", 3, {1, 4, 10, 25}, {.causal = true, .q_offset = 15, .alibi = &alibi_paper}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, false, false, NULL, NULL},
    {"2-dim x [q, k], alibi (one head)", 2, {1, 1, 10, 25}, {.q_offset = 7, .alibi = &alibi_paper}, 0, {0}, VKATTN_F32,
     0, VKATTN_F32, false, false, NULL, NULL},
    {"alibi + mask + causal + window, scale 0.125", 4, {2, 4, 12, 40},
     {.scale = 0.125f, .causal = true, .q_offset = 28, .window = 16, .alibi = &alibi_bias4}, 4, {2, 1, 12, 40},
     VKATTN_F32, 6, VKATTN_F32, false, false, NULL, NULL},
    {"alibi + f16 mask [1, heads, q, k], f16 x", 4, {1, 4, 12, 40}, {.q_offset = 28, .alibi = &alibi_paper}, 4,
     {1, 4, 12, 40}, VKATTN_F16, 6, VKATTN_F16, false, false, NULL, NULL},
    {"alibi in place, causal", 4, {1, 8, 16, 300}, {.causal = true, .q_offset = 284, .alibi = &alibi_paper}, 0, {0},
     VKATTN_F32, 0, VKATTN_F32, true, false, NULL, NULL},
};

START_TEST(test_alibi)
{
    check_masked_cases(_i, alibi_cases, PE_COUNT_OF(alibi_cases));
}
END_TEST

/* Huge finite logits beside masked keys: with scale 10, +-3e38 overflows f32 to +-inf, and a key the mask or causal
 * masks must still get exactly 0 (an overflowed +inf plus a -inf mask is no NaN). The rows are chosen so that the
 * overflow gives the exact answer: the unmasked maximum is unique or moderate. */
static void check_huge_rows(vkattn_context *ctx, const float *x, const float *mask, const vkattn_softmax_desc *d,
                            const char *what)
{
    enum { Q = 3, K = 5 };
    const masked_case c = {what, 4, {1, 1, Q, K}, *d, mask ? 2 : 0, {Q, K}, VKATTN_F32, 0, VKATTN_F32, false,
                           false, NULL, NULL};
    float y[Q * K];
    double want[Q * K];
    pe_tensor mt = masked_mask(ctx, &c, mask);
    vkattn_softmax_desc desc = c.desc;
    desc.mask = mt.t;
    pe_call call = masked_call(&c);
    pe_call_run(ctx, &call, softmax_op, &desc, x, y, what);
    attn_masking m = masking_of(&c, mask, NULL);
    attn_ref_softmax(&m, c.shape, x, want);
    check_masked_result(ctx, &c, y, want);
    pe_tensor_free(ctx, &mt);
}

START_TEST(test_masked_huge_values)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    const float x[3 * 5] = {
        3e38f,  3e38f, 1.0f,   -3e38f, 5.0f, /* key 1 takes all; key 0 (as large) is masked */
        3e38f,  2.0f,  1.0f,   3e38f,  0.0f, /* key 0 takes all; key 3 (as large) is masked */
        -3e38f, 7.0f,  -3e38f, 3e38f,  3e38f, /* key 1 takes all; keys 3, 4 are masked */
    };
    const float mask[3 * 5] = {
        -INFINITY, 0.0f, 0.0f,      0.0f,      -INFINITY,
        0.0f,      0.0f, -INFINITY, -INFINITY, 0.0f,
        0.0f,      0.0f, 0.0f,      -INFINITY, -INFINITY,
    };
    /* causal at q_offset 1: row i sees keys 0 .. i + 1, so the huge keys past it are masked */
    const float causal_x[3 * 5] = {
        1.0f,   2.0f,   3e38f, 3e38f,  3e38f,
        -3e38f, 0.5f,   -1.0f, 3e38f,  3e38f,
        4.0f,   -3e38f, 2.0f,  -3e38f, 3e38f,
    };
    check_huge_rows(ctx, x, mask, &(vkattn_softmax_desc){.scale = 10.0f}, "huge logits beside mask -inf");
    check_huge_rows(ctx, causal_x, NULL, &(vkattn_softmax_desc){.scale = 10.0f, .causal = true, .q_offset = 1},
                    "huge logits past the causal limit");
    vkt_context_destroy(ctx);
}
END_TEST

/* A zero desc, and a desc with only q_offset set (it moves nothing without causal, window or ALiBi), give exactly
 * what desc = NULL gives: the plain softmax. */
START_TEST(test_default_desc)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { COUNT = 2 * 3 * 5 * 40 };
    const int64_t shape[4] = {2, 3, 5, 40};
    const vkattn_softmax_desc zero = {0}, offset = {.q_offset = 17};
    float *x = pe_xmalloc(COUNT * sizeof *x);
    float *y[3];
    random_input(x, COUNT, 1600u, VKATTN_F32);
    const vkattn_softmax_desc *descs[3] = {NULL, &zero, &offset};
    for (int k = 0; k < 3; k++) {
        y[k] = pe_xmalloc(COUNT * sizeof *y[k]);
        run_dense(ctx, VKATTN_F32, 4, shape, descs[k], false, x, y[k]);
    }
    check_softmax(x, y[0], COUNT / 40, 40, 1.0, dtype_tolerance(VKATTN_F32));
    ck_assert_msg(memcmp(y[0], y[1], COUNT * sizeof *x) == 0, "a zero desc differs from desc = NULL");
    ck_assert_msg(memcmp(y[0], y[2], COUNT * sizeof *x) == 0, "q_offset alone changes the softmax");
    for (int k = 0; k < 3; k++) {
        free(y[k]);
    }
    free(x);
    vkt_context_destroy(ctx);
}
END_TEST

/* One list: a copy writes the (f16) mask over one that would mask everything, the masked softmax reads it, and a
 * copy reads the softmax's output. Each op reads what the one before wrote. */
START_TEST(test_masked_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { Q = 6, K = 30, COUNT = 2 * Q * K };
    const int64_t shape[4] = {1, 2, Q, K}, mshape[2] = {Q, K};
    static const masked_case c = {"cmd: copy -> masked softmax -> copy", 4, {1, 2, Q, K},
                                  {.causal = true, .q_offset = K - Q}, 2, {Q, K}, VKATTN_F16, 5, VKATTN_F32, false,
                                  false, NULL, NULL};
    float x[COUNT], z[COUNT], mask[Q * K], all_inf[Q * K];
    double want[COUNT];
    random_input(x, COUNT, 1700u, VKATTN_F32);
    attn_mask_values(mask, Q * K, 1701u, MASK_LO, c.inf_every, VKATTN_F16);
    attn_mask_values(all_inf, Q * K, 1702u, MASK_LO, 1, VKATTN_F32);
    vkattn_tensor tx = vkt_tensor(ctx, VKATTN_F32, 4, shape), ty = vkt_tensor(ctx, VKATTN_F32, 4, shape);
    vkattn_tensor tz = vkt_tensor(ctx, VKATTN_F32, 4, shape), src = vkt_tensor(ctx, VKATTN_F32, 2, mshape);
    vkattn_tensor tm = vkt_tensor(ctx, VKATTN_F16, 2, mshape);
    vkt_write_f32(ctx, tx, x, COUNT);
    vkt_write_f32(ctx, src, mask, Q * K);
    vkt_write_f16_from_f32(ctx, tm, all_inf, Q * K);
    vkattn_softmax_desc desc = c.desc;
    desc.mask = tm;
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_copy(ctx, cmd, src, tm), VKATTN_OK, "vkattn_copy (mask)");
    pe_expect(ctx, vkattn_softmax(ctx, cmd, &desc, tx, ty), VKATTN_OK, "vkattn_softmax (recorded)");
    pe_expect(ctx, vkattn_copy(ctx, cmd, ty, tz), VKATTN_OK, "vkattn_copy (output)");
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    vkt_read_f32(ctx, tz, z, COUNT);
    attn_masking m = masking_of(&c, mask, NULL);
    attn_ref_softmax(&m, c.shape, x, want);
    check_masked_result(ctx, &c, z, want);
    vkattn_cmd_destroy(cmd);
    pe_tensors_destroy(ctx, (const vkattn_tensor[]){tx, ty, tz, src, tm}, 5);
    vkt_context_destroy(ctx);
}
END_TEST

/* Result codes of bad masks and descs around a valid masked call on x, y [2, 3, 4, 5]. */
START_TEST(test_masked_errors)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { X, Y, M_QK, M_WIDE, M_HEADS2, M_BATCH3, M_I32, M_F16, STALE, COUNT };
    const vkattn_tensor t[COUNT] = {
        pe_zeros(ctx, 4, (const int64_t[]){2, 3, 4, 5}), pe_tensor_of(ctx, VKATTN_F32, 4, 2, 3, 4, 5),
        pe_zeros(ctx, 2, (const int64_t[]){4, 5}),       pe_tensor_of(ctx, VKATTN_F32, 2, 4, 6, 0, 0),
        pe_tensor_of(ctx, VKATTN_F32, 3, 2, 4, 5, 0),    pe_tensor_of(ctx, VKATTN_F32, 4, 3, 3, 4, 5),
        pe_tensor_of(ctx, VKATTN_I32, 2, 4, 5, 0, 0),    pe_tensor_of(ctx, VKATTN_F16, 2, 4, 5, 0, 0),
        pe_tensor_of(ctx, VKATTN_F32, 2, 4, 5, 0, 0),
    };
    vkattn_tensor_destroy(ctx, t[STALE]);
    static const float two_slopes[2] = {0.5f, 0.25f};
    static const vkattn_alibi_desc with_offset = {.q_offset = 1}, with_causal = {.causal = true},
                                   short_slopes = {.slopes = two_slopes, .slope_count = 2},
                                   both = {.slopes = two_slopes, .slope_count = 2, .max_bias = 8.0f};
    const vkattn_softmax_desc d[] = {
        {.mask = t[M_WIDE]},         {.mask = t[M_HEADS2]},        {.mask = t[M_BATCH3]},
        {.mask = t[M_I32]},          {.mask = t[STALE]},           {.alibi = &with_offset},
        {.alibi = &with_causal},     {.alibi = &short_slopes},     {.alibi = &both},
        {.scale = NAN},              {.scale = INFINITY},
        {.mask = t[M_F16], .causal = true, .window = 2, .alibi = &alibi_paper},
    };
    const pe_expected_call calls[] = {
        {"mask [4, 6] for k_len 5", &d[0], t[X], {0}, t[Y], VKATTN_ERROR_SHAPE_MISMATCH},
        {"mask [2, 4, 5] for 3 heads", &d[1], t[X], {0}, t[Y], VKATTN_ERROR_SHAPE_MISMATCH},
        {"mask [3, 3, 4, 5] for batch 2", &d[2], t[X], {0}, t[Y], VKATTN_ERROR_SHAPE_MISMATCH},
        {"i32 mask", &d[3], t[X], {0}, t[Y], VKATTN_ERROR_DTYPE_MISMATCH},
        {"destroyed mask", &d[4], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_HANDLE},
        {"alibi desc with q_offset", &d[5], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"alibi desc with causal", &d[6], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"alibi slope_count 2 for 3 heads", &d[7], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"alibi slopes and max_bias", &d[8], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"scale NaN", &d[9], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"scale inf", &d[10], t[X], {0}, t[Y], VKATTN_ERROR_INVALID_ARGUMENT},
        {"the valid call (f16 mask, causal, window, alibi)", &d[11], t[X], {0}, t[Y], VKATTN_OK},
        {"the valid call with [4, 5] f32 mask in place", &(vkattn_softmax_desc){.mask = t[M_QK]}, t[X], {0}, t[X],
         VKATTN_OK},
    };
    pe_expect_calls(ctx, softmax_op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(ctx, t, COUNT);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- kernel paths ------------------------------------------------------------------------------------------------ */

/* Runs the dense, masked and ALiBi families on a context with the given flags, logging at DEBUG, and returns whether
 * a pipeline of the subgroup kernel (softmax_sg_*) was built. Row lengths cover the vec4 path (multiples of 4,
 * aligned rows) and the scalar one (odd lengths, a view 3 elements in: test_strided_views), f32 and f16. */
static bool path_family(int backend_index, uint32_t flags)
{
    vkattn_context_desc desc = {.flags = flags, .log_level = VKATTN_LOG_DEBUG};
    vkt_log_clear();
    vkattn_context *ctx = vkt_context_desc(vkt_backend(backend_index), &desc);
    if (!ctx) {
        return false;
    }
    static const int64_t lengths[] = {1, 3, 4, 8, 77, 256, 1024, 1028, 4100, 70000};
    for (size_t c = 0; c < sizeof(lengths) / sizeof(lengths[0]); c++) {
        int64_t shape[3] = {2, lengths[c] > 4096 ? 2 : 9, lengths[c]};
        check_dense(ctx, VKATTN_F32, 3, shape, 0.7f, c % 2 == 1, 1600u + (uint32_t)c);
        check_dense(ctx, VKATTN_F16, 3, shape, 0.0f, false, 1650u + (uint32_t)c);
    }
    check_masked_on(ctx, causal_window_cases, sizeof causal_window_cases / sizeof causal_window_cases[0]);
    check_masked_on(ctx, mask_cases, sizeof mask_cases / sizeof mask_cases[0]);
    check_masked_on(ctx, alibi_cases, sizeof alibi_cases / sizeof alibi_cases[0]);
    bool sg = strstr(vkt_log_text(), "built pipeline softmax_sg_") != NULL;
    vkt_context_destroy(ctx);
    return sg;
}

/* The subgroup kernel where the device offers subgroup arithmetic, and the portable kernel under
 * VKATTN_CONTEXT_BASELINE_KERNELS, both against float64 on the same cases. */
START_TEST(test_paths)
{
    bool skip;
    bool offered = vkt_subgroup_kernels(vkt_backend(_i), &skip);
    if (skip) {
        return;
    }
    bool fast = path_family(_i, 0);
    ck_assert_msg(fast == offered, "softmax_sg pipeline built: %d, device offers subgroup arithmetic: %d", fast,
                  offered);
    ck_assert_msg(!path_family(_i, VKATTN_CONTEXT_BASELINE_KERNELS),
                  "VKATTN_CONTEXT_BASELINE_KERNELS still built a softmax_sg pipeline");
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
    float *x = pe_xmalloc(ROWS * N * sizeof(float));
    float *y_cpu = pe_xmalloc(ROWS * N * sizeof(float));
    float *y_vk = pe_xmalloc(ROWS * N * sizeof(float));
    double *y_cpu64 = pe_xmalloc(ROWS * N * sizeof(double));
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
    tcase_add_loop_test(tc, test_huge_rows, 0, VKT_BACKEND_COUNT);
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

    TCase *masked = tcase_create("masked");
    tcase_set_timeout(masked, 300);
    tcase_add_loop_test(masked, test_causal_window, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_masks, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_alibi, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_masked_huge_values, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_default_desc, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_masked_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_masked_errors, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(masked, test_paths, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, masked);
    return s;
}

int main(void)
{
    return vkt_run_suite(softmax_suite());
}
