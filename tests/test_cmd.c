/*
 * test_cmd.c - command lists on every enabled backend: dependent and independent ops in one submission, reuse after
 * reset, the state machine (recording -> pending -> complete -> recording) and its errors, timings, waits with a
 * timeout, tensors kept alive by a recorded list, destroying pending lists and contexts, and immediate ops mixed
 * with lists. Results are checked against float64 compositions of the op formulas in vkattn.h.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>

/* f32 softmax: exp and the row sum each lose a few ulps (2^-24). */
#define F32_TOL 1e-5
/* A value that went through f16 storage: half an ulp of binary16 (2^-11 relative) on top of the f32 error. */
#define F16_TOL (0x1p-11 + F32_TOL)
/* The outputs here are softmax values far above FLT_MIN and the f16 normal range: purely relative errors. */
#define FLOOR 1e-30

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

static void expect(vkattn_context *ctx, vkattn_result got, vkattn_result want, const char *call)
{
    ck_assert_msg(got == want, "%s: got %s, want %s (last error: %s)", call, vkattn_result_name(got),
                  vkattn_result_name(want), vkattn_context_last_error(ctx));
}

static float round_f16(float f)
{
    return vkt_half_to_float(vkt_float_to_half(f));
}

/* ---- float64 references ----------------------------------------------------------------------------------------- */

/* y = softmax(scale * x) along rows of n, in float64 (finite inputs only). */
static void ref_softmax(const double *x, size_t rows, size_t n, double scale, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double *yr = y + r * n;
        double m = -INFINITY, sum = 0.0;
        for (size_t j = 0; j < n; j++) {
            m = fmax(m, scale * xr[j]);
        }
        for (size_t j = 0; j < n; j++) {
            yr[j] = exp(scale * xr[j] - m);
            sum += yr[j];
        }
        for (size_t j = 0; j < n; j++) {
            yr[j] /= sum;
        }
    }
}

static double *to_double(const float *x, size_t n)
{
    double *d = xmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        d[i] = x[i];
    }
    return d;
}

/* The float64 softmax of host values x. Caller frees. */
static double *softmax_of(const float *x, size_t rows, size_t n, double scale)
{
    double *xd = to_double(x, rows * n);
    double *y = xmalloc(rows * n * sizeof(double));
    ref_softmax(xd, rows, n, scale, y);
    free(xd);
    return y;
}

static void check_close(const float *got, const double *want, size_t n, double tol, const char *what)
{
    double err = vkt_max_rel_err(got, want, n, FLOOR);
    ck_assert_msg(err <= tol, "%s: max relative error %.3g > %.3g", what, err, tol);
}

static void check_equal(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(got[i] == want[i], "%s: element %zu is %.9g, want %.9g", what, i, (double)got[i],
                      (double)want[i]);
    }
}

/* ---- recording helpers ------------------------------------------------------------------------------------------ */

static vkattn_cmd *new_cmd(vkattn_context *ctx, uint32_t flags)
{
    vkattn_cmd_desc desc = {.flags = flags};
    vkattn_cmd *cmd = NULL;
    expect(ctx, vkattn_cmd_create(ctx, &desc, &cmd), VKATTN_OK, "vkattn_cmd_create");
    ck_assert_ptr_nonnull(cmd);
    return cmd;
}

static void softmax_into(vkattn_context *ctx, vkattn_cmd *cmd, float scale, vkattn_tensor x, vkattn_tensor y)
{
    vkattn_softmax_desc desc = {.scale = scale};
    expect(ctx, vkattn_softmax(ctx, cmd, &desc, x, y), VKATTN_OK, "vkattn_softmax");
}

static void copy_into(vkattn_context *ctx, vkattn_cmd *cmd, vkattn_tensor src, vkattn_tensor dst)
{
    expect(ctx, vkattn_copy(ctx, cmd, src, dst), VKATTN_OK, "vkattn_copy");
}

static void submit_wait(vkattn_context *ctx, vkattn_cmd *cmd)
{
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
}

static uint64_t submissions(vkattn_context *ctx)
{
    vkattn_context_stats st;
    expect(ctx, vkattn_context_stats_get(ctx, &st), VKATTN_OK, "vkattn_context_stats_get");
    return st.submissions;
}

/* Submits and waits for a list, asserting that it took exactly one queue submission. */
static void submit_wait_once(vkattn_context *ctx, vkattn_cmd *cmd)
{
    uint64_t before = submissions(ctx);
    submit_wait(ctx, cmd);
    uint64_t after = submissions(ctx);
    ck_assert_msg(after == before + 1, "one list of %u ops took %llu submissions", vkattn_cmd_op_count(cmd),
                  (unsigned long long)(after - before));
}

/* An f32 tensor of the shape holding uniform values in [-4, 4) (also returned in *host, caller frees). */
static vkattn_tensor input_f32(vkattn_context *ctx, int64_t rows, int64_t n, uint32_t seed, float **host)
{
    int64_t shape[2] = {rows, n};
    size_t count = (size_t)(rows * n);
    *host = xmalloc(count * sizeof(float));
    vkt_fill_uniform(*host, count, seed, -4.0f, 4.0f);
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkt_write_f32(ctx, t, *host, count);
    return t;
}

static vkattn_tensor matrix(vkattn_context *ctx, vkattn_dtype dtype, int64_t rows, int64_t n)
{
    int64_t shape[2] = {rows, n};
    return vkt_tensor(ctx, dtype, 2, shape);
}

static float *read_f32(vkattn_context *ctx, vkattn_tensor t, size_t n)
{
    float *host = xmalloc(n * sizeof(float));
    vkt_read_f32(ctx, t, host, n);
    return host;
}

static float *read_f16(vkattn_context *ctx, vkattn_tensor t, size_t n)
{
    float *host = xmalloc(n * sizeof(float));
    vkt_read_f16_to_f32(ctx, t, host, n);
    return host;
}

/* ---- long work: a list that keeps any device busy for a while ---------------------------------------------------- */

/* LONG_OPS softmaxes of rows x LONG_N elements, all x -> y (so each waits for the previous one: write after
 * write). 2^20 elements on Vulkan keep the device busy past submit; the CPU backend runs a list inside submit, so
 * there a small size tests the same (and keeps valgrind runs short). */
enum { LONG_ROWS_VULKAN = 256, LONG_ROWS_CPU = 8, LONG_N = 4096, LONG_OPS = 4 };

typedef struct long_work {
    vkattn_tensor x, y;
    int64_t rows;
    float *host_x;
} long_work;

static long_work long_work_make(vkattn_context *ctx)
{
    long_work w;
    w.rows = vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU ? LONG_ROWS_CPU : LONG_ROWS_VULKAN;
    w.x = input_f32(ctx, w.rows, LONG_N, 77u, &w.host_x);
    w.y = matrix(ctx, VKATTN_F32, w.rows, LONG_N);
    return w;
}

static void long_work_record(vkattn_context *ctx, vkattn_cmd *cmd, const long_work *w)
{
    for (int k = 0; k < LONG_OPS; k++) {
        softmax_into(ctx, cmd, 1.0f, w->x, w->y);
    }
}

/* y = softmax(x), read back now (which waits for submitted work). */
static void long_work_check(vkattn_context *ctx, const long_work *w)
{
    size_t count = (size_t)w->rows * LONG_N;
    float *y = read_f32(ctx, w->y, count);
    double *want = softmax_of(w->host_x, (size_t)w->rows, LONG_N, 1.0);
    check_close(y, want, count, F32_TOL, "long list result");
    free(y);
    free(want);
}

static void long_work_free(vkattn_context *ctx, long_work *w)
{
    vkattn_tensor_destroy(ctx, w->x);
    vkattn_tensor_destroy(ctx, w->y);
    free(w->host_x);
}

/* ---- dependent and independent ops -------------------------------------------------------------------------------- */

/* copy A->B, softmax B->C, softmax C->C (in place), copy C->D (f32 -> f16), copy D->E (f16 -> f32), one submission:
 * E = f16(softmax(s2 * softmax(s1 * A))). */
START_TEST(test_dependent_chain)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 8, N = 64 };
    const float s1 = 0.5f, s2 = (float)N; /* s2 = N brings the first softmax's ~1/N outputs back to order 1 */
    float *a;
    vkattn_tensor ta = input_f32(ctx, R, N, 1u, &a);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tc = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor td = matrix(ctx, VKATTN_F16, R, N);
    vkattn_tensor te = matrix(ctx, VKATTN_F32, R, N);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    copy_into(ctx, cmd, ta, tb);
    softmax_into(ctx, cmd, s1, tb, tc);
    softmax_into(ctx, cmd, s2, tc, tc);
    copy_into(ctx, cmd, tc, td);
    copy_into(ctx, cmd, td, te);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 5);
    submit_wait_once(ctx, cmd);

    double *c1 = softmax_of(a, R, N, s1);
    double *c2 = xmalloc(R * N * sizeof(double));
    ref_softmax(c1, R, N, s2, c2);
    float *b = read_f32(ctx, tb, R * N);
    float *c = read_f32(ctx, tc, R * N);
    float *d = read_f16(ctx, td, R * N);
    float *e = read_f32(ctx, te, R * N);
    float *c_as_f16 = xmalloc(R * N * sizeof(float));
    for (size_t i = 0; i < R * N; i++) {
        c_as_f16[i] = round_f16(c[i]);
    }
    check_equal(b, a, R * N, "B = copy of A");
    check_close(c, c2, R * N, 2 * F32_TOL, "C = softmax(s2 * softmax(s1 * A))");
    check_equal(d, c_as_f16, R * N, "D = C rounded to f16");
    check_equal(e, d, R * N, "E = D widened to f32");
    check_close(e, c2, R * N, F16_TOL + F32_TOL, "E against float64");

    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(c1);
    free(c2);
    free(c_as_f16);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* Write-after-read and write-after-write on one tensor inside a list:
 *   softmax A->B; copy C->A; softmax A->D; copy B->A   gives  A = B = softmax(a), D = softmax(c). */
START_TEST(test_hazards)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 16, N = 300 };
    float *a, *c;
    vkattn_tensor ta = input_f32(ctx, R, N, 2u, &a);
    vkattn_tensor tc = input_f32(ctx, R, N, 3u, &c);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor td = matrix(ctx, VKATTN_F32, R, N);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    softmax_into(ctx, cmd, 1.0f, ta, tb);
    copy_into(ctx, cmd, tc, ta);
    softmax_into(ctx, cmd, 1.0f, ta, td);
    copy_into(ctx, cmd, tb, ta);
    submit_wait_once(ctx, cmd);

    double *sa = softmax_of(a, R, N, 1.0);
    double *sc = softmax_of(c, R, N, 1.0);
    float *ga = read_f32(ctx, ta, R * N);
    float *gb = read_f32(ctx, tb, R * N);
    float *gd = read_f32(ctx, td, R * N);
    check_close(gb, sa, R * N, F32_TOL, "B = softmax(a)");
    check_close(gd, sc, R * N, F32_TOL, "D = softmax(c)");
    check_equal(ga, gb, R * N, "A = copy of B");
    free(a);
    free(c);
    free(sa);
    free(sc);
    free(ga);
    free(gb);
    free(gd);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* Unrelated ops of both dtypes in one list. */
START_TEST(test_independent_ops)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    float *x1, *x2, *x3, *x4;
    vkattn_tensor t1 = input_f32(ctx, 4, 100, 10u, &x1);
    vkattn_tensor t3 = input_f32(ctx, 5, 7, 12u, &x3);
    x2 = xmalloc(3 * 50 * sizeof(float));
    x4 = xmalloc(2 * 9 * sizeof(float));
    vkt_fill_uniform(x2, 3 * 50, 11u, -4.0f, 4.0f);
    vkt_fill_uniform(x4, 2 * 9, 13u, -4.0f, 4.0f);
    for (size_t i = 0; i < 3 * 50; i++) {
        x2[i] = round_f16(x2[i]);
    }
    for (size_t i = 0; i < 2 * 9; i++) {
        x4[i] = round_f16(x4[i]);
    }
    vkattn_tensor t2 = matrix(ctx, VKATTN_F16, 3, 50);
    vkattn_tensor t4 = matrix(ctx, VKATTN_F16, 2, 9);
    vkt_write_f16_from_f32(ctx, t2, x2, 3 * 50);
    vkt_write_f16_from_f32(ctx, t4, x4, 2 * 9);
    vkattn_tensor y1 = matrix(ctx, VKATTN_F32, 4, 100);
    vkattn_tensor y2 = matrix(ctx, VKATTN_F16, 3, 50);
    vkattn_tensor y3 = matrix(ctx, VKATTN_F16, 5, 7);
    vkattn_tensor y4 = matrix(ctx, VKATTN_F32, 2, 9);

    vkattn_cmd *cmd = new_cmd(ctx, 0);
    softmax_into(ctx, cmd, 1.0f, t1, y1);
    softmax_into(ctx, cmd, 0.25f, t2, y2);
    copy_into(ctx, cmd, t3, y3);
    copy_into(ctx, cmd, t4, y4);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 4);
    submit_wait_once(ctx, cmd);

    double *w1 = softmax_of(x1, 4, 100, 1.0);
    double *w2 = softmax_of(x2, 3, 50, 0.25);
    float *x3_f16 = xmalloc(5 * 7 * sizeof(float));
    for (size_t i = 0; i < 5 * 7; i++) {
        x3_f16[i] = round_f16(x3[i]);
    }
    float *g1 = read_f32(ctx, y1, 4 * 100);
    float *g2 = read_f16(ctx, y2, 3 * 50);
    float *g3 = read_f16(ctx, y3, 5 * 7);
    float *g4 = read_f32(ctx, y4, 2 * 9);
    check_close(g1, w1, 4 * 100, F32_TOL, "f32 softmax");
    check_close(g2, w2, 3 * 50, 1e-3 + 0x1p-11, "f16 softmax");
    check_equal(g3, x3_f16, 5 * 7, "f32 -> f16 copy");
    check_equal(g4, x4, 2 * 9, "f16 -> f32 copy");

    float *bufs[] = {x1, x2, x3, x4, x3_f16, g1, g2, g3, g4};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        free(bufs[i]);
    }
    free(w1);
    free(w2);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- reuse --------------------------------------------------------------------------------------------------------- */

/* A list reads its inputs when it runs, not when it is recorded; reset empties it for new ops. */
START_TEST(test_reuse)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 4, N = 96 };
    vkattn_tensor tx = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor ty = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tz = matrix(ctx, VKATTN_F32, R, N);
    float a[R * N], b[R * N];
    vkt_fill_uniform(a, R * N, 20u, -4.0f, 4.0f);
    vkt_fill_uniform(b, R * N, 21u, -4.0f, 4.0f);
    vkattn_cmd *cmd = new_cmd(ctx, 0);

    softmax_into(ctx, cmd, 1.0f, tx, ty);
    vkt_write_f32(ctx, tx, a, R * N);
    submit_wait_once(ctx, cmd);
    double *sa = softmax_of(a, R, N, 1.0);
    float *y = read_f32(ctx, ty, R * N);
    check_close(y, sa, R * N, F32_TOL, "first use: Y = softmax(a)");
    free(y);

    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "vkattn_cmd_reset");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    copy_into(ctx, cmd, tx, tz);
    softmax_into(ctx, cmd, 2.0f, tz, tz);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 2);
    vkt_write_f32(ctx, tx, b, R * N);
    submit_wait_once(ctx, cmd);
    double *s2b = softmax_of(b, R, N, 2.0);
    float *z = read_f32(ctx, tz, R * N);
    y = read_f32(ctx, ty, R * N);
    check_close(z, s2b, R * N, F32_TOL, "second use: Z = softmax(2b)");
    check_close(y, sa, R * N, F32_TOL, "second use leaves Y alone");
    free(y);

    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "vkattn_cmd_reset");
    softmax_into(ctx, cmd, 1.0f, tx, ty);
    submit_wait_once(ctx, cmd);
    double *sb = softmax_of(b, R, N, 1.0);
    y = read_f32(ctx, ty, R * N);
    check_close(y, sb, R * N, F32_TOL, "third use: Y = softmax(b)");

    free(y);
    free(z);
    free(sa);
    free(s2b);
    free(sb);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- the state machine --------------------------------------------------------------------------------------------- */

START_TEST(test_state_errors)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 3, N = 40 };
    float *x;
    vkattn_tensor tx = input_f32(ctx, R, N, 30u, &x);
    vkattn_tensor ty = matrix(ctx, VKATTN_F32, R, N);
    vkattn_softmax_desc sd = {.scale = 1.0f};
    vkattn_cmd *cmd = new_cmd(ctx, 0);

    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_ERROR_BAD_STATE, "wait on a never-submitted list");
    expect(ctx, vkattn_cmd_wait(cmd, 0), VKATTN_ERROR_BAD_STATE, "wait(0) on a never-submitted list");
    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "reset of a never-submitted list");

    softmax_into(ctx, cmd, 1.0f, tx, ty);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_ERROR_BAD_STATE, "second submit while pending");
    expect(ctx, vkattn_softmax(ctx, cmd, &sd, tx, ty), VKATTN_ERROR_BAD_STATE, "recording into a pending list");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 1);

    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    expect(ctx, vkattn_cmd_wait(cmd, 0), VKATTN_OK, "wait on a complete list");
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_ERROR_BAD_STATE, "submit of a complete list");
    expect(ctx, vkattn_copy(ctx, cmd, tx, ty), VKATTN_ERROR_BAD_STATE, "recording into a complete list");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 1);

    float *y = read_f32(ctx, ty, R * N);
    double *want = softmax_of(x, R, N, 1.0);
    check_close(y, want, R * N, F32_TOL, "the one recorded softmax ran");

    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "vkattn_cmd_reset");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_ERROR_BAD_STATE, "wait after reset");
    free(x);
    free(y);
    free(want);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* A pending list cannot be reset; once waited for it can. */
START_TEST(test_reset_while_pending)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    long_work w = long_work_make(ctx);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    long_work_record(ctx, cmd, &w);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_ERROR_BAD_STATE, "reset of a pending list");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), LONG_OPS);
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "reset after wait");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    long_work_check(ctx, &w);
    vkattn_cmd_destroy(cmd);
    long_work_free(ctx, &w);
    vkt_context_destroy(ctx);
}
END_TEST

/* wait(0) on a long list either finds it done or times out leaving it pending; a full wait then completes it. */
START_TEST(test_wait_timeout_zero)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    long_work w = long_work_make(ctx);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    long_work_record(ctx, cmd, &w);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    vkattn_result r = vkattn_cmd_wait(cmd, 0);
    ck_assert_msg(r == VKATTN_OK || r == VKATTN_ERROR_TIMEOUT, "wait(0): %s", vkattn_result_name(r));
    if (r == VKATTN_ERROR_TIMEOUT) {
        expect(ctx, vkattn_cmd_reset(cmd), VKATTN_ERROR_BAD_STATE, "reset after a timed-out wait");
        expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "full wait after a timeout");
    }
    expect(ctx, vkattn_cmd_wait(cmd, 0), VKATTN_OK, "wait(0) after a full wait");
    long_work_check(ctx, &w);
    vkattn_cmd_destroy(cmd);
    long_work_free(ctx, &w);
    vkt_context_destroy(ctx);
}
END_TEST

/* Host transfers wait for submitted work: overwriting a pending list's input does not change its result. */
START_TEST(test_write_waits_for_pending)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    long_work w = long_work_make(ctx);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    long_work_record(ctx, cmd, &w);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    size_t count = (size_t)w.rows * LONG_N;
    float *other = xmalloc(count * sizeof(float));
    vkt_fill_uniform(other, count, 78u, -4.0f, 4.0f);
    vkt_write_f32(ctx, w.x, other, count);
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    long_work_check(ctx, &w);
    free(other);
    vkattn_cmd_destroy(cmd);
    long_work_free(ctx, &w);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- timings ---------------------------------------------------------------------------------------------------- */

/* Whether the context's device can time ops; where it cannot, vkattn_cmd_timings must say UNSUPPORTED. */
static bool has_timestamps(vkattn_context *ctx)
{
    vkattn_device_info info;
    expect(ctx, vkattn_context_device_info(ctx, &info), VKATTN_OK, "vkattn_context_device_info");
    return info.timestamps;
}

START_TEST(test_timings)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 1000, N = 1000 }; /* 10^6 elements */
    float *a;
    vkattn_tensor ta = input_f32(ctx, R, N, 40u, &a);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tc = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor td = matrix(ctx, VKATTN_F16, R, N);
    vkattn_cmd *cmd = new_cmd(ctx, VKATTN_CMD_TIMESTAMPS);
    copy_into(ctx, cmd, ta, tb);
    softmax_into(ctx, cmd, 1.0f, tb, tc);
    copy_into(ctx, cmd, tc, td);
    softmax_into(ctx, cmd, 1.0f, td, td);
    static const char *const names[] = {"copy", "softmax", "copy", "softmax"};

    vkattn_op_timing t[5];
    uint32_t count = 99;
    if (!has_timestamps(ctx)) {
        expect(ctx, vkattn_cmd_timings(cmd, t, 5, &count), VKATTN_ERROR_UNSUPPORTED, "timings without timestamps");
    } else {
        expect(ctx, vkattn_cmd_timings(cmd, t, 5, &count), VKATTN_ERROR_NOT_READY, "timings while recording");
        expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
        expect(ctx, vkattn_cmd_timings(cmd, t, 5, &count), VKATTN_ERROR_NOT_READY, "timings while pending");
        expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
        expect(ctx, vkattn_cmd_timings(cmd, t, 5, &count), VKATTN_OK, "vkattn_cmd_timings");
        ck_assert_uint_eq(count, 4);
        for (uint32_t i = 0; i < 4; i++) {
            ck_assert_ptr_nonnull(t[i].op);
            ck_assert_str_eq(t[i].op, names[i]);
            ck_assert_msg(isfinite(t[i].ms) && t[i].ms >= 0.0, "op %u (%s): %g ms", i, t[i].op, t[i].ms);
        }
        ck_assert_msg(t[1].ms > 0.0, "a softmax of 10^6 elements took %g ms", t[1].ms);

        /* capacity below the op count: only that many entries are written, the count is still all ops */
        vkattn_op_timing part[3] = {{NULL, -1.0}, {NULL, -1.0}, {"untouched", -1.0}};
        expect(ctx, vkattn_cmd_timings(cmd, part, 2, &count), VKATTN_OK, "timings with capacity 2");
        ck_assert_uint_eq(count, 4);
        ck_assert_str_eq(part[1].op, "softmax");
        ck_assert_str_eq(part[2].op, "untouched");
        ck_assert(part[2].ms == -1.0);
        expect(ctx, vkattn_cmd_timings(cmd, NULL, 0, &count), VKATTN_OK, "timings with capacity 0");
        ck_assert_uint_eq(count, 4);
    }
    free(a);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* vkattn_copy_buffer: the same bytes, inside a list between kernels that write its source and read its
 * destination (the barriers around the transfer), timed like any op; f16 and i32 too; and its refusals. */
START_TEST(test_copy_buffer)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 300, N = 500 };
    float *a;
    vkattn_tensor ta = input_f32(ctx, R, N, 60u, &a);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, R, N), tc = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor td = matrix(ctx, VKATTN_F32, R, N);
    expect(ctx, vkattn_copy_buffer(ctx, NULL, ta, tb), VKATTN_OK, "immediate copy_buffer");
    float *b = read_f32(ctx, tb, (size_t)R * N);
    check_equal(b, a, (size_t)R * N, "immediate copy_buffer");

    /* softmax(a) -> b, b -> c by transfer, softmax(c) -> d: d = softmax(softmax(a)). */
    vkattn_cmd *cmd = new_cmd(ctx, VKATTN_CMD_TIMESTAMPS);
    softmax_into(ctx, cmd, 1.0f, ta, tb);
    expect(ctx, vkattn_copy_buffer(ctx, cmd, tb, tc), VKATTN_OK, "recorded copy_buffer");
    softmax_into(ctx, cmd, 1.0f, tc, td);
    submit_wait_once(ctx, cmd);
    double *once = softmax_of(a, R, N, 1.0);
    float *once_f = xmalloc((size_t)R * N * sizeof *once_f);
    for (size_t e = 0; e < (size_t)R * N; e++)
        once_f[e] = (float)once[e];
    double *twice = softmax_of(once_f, R, N, 1.0);
    float *d = read_f32(ctx, td, (size_t)R * N);
    check_close(d, twice, (size_t)R * N, 1e-5, "softmax -> copy_buffer -> softmax");
    if (has_timestamps(ctx)) {
        vkattn_op_timing t[3];
        uint32_t count = 0;
        expect(ctx, vkattn_cmd_timings(cmd, t, 3, &count), VKATTN_OK, "vkattn_cmd_timings");
        ck_assert_uint_eq(count, 3);
        ck_assert_str_eq(t[1].op, "copy_buffer");
        ck_assert_msg(isfinite(t[1].ms) && t[1].ms >= 0.0, "copy_buffer: %g ms", t[1].ms);
    }

    /* f16 and i32 bytes go through unchanged. */
    vkattn_tensor h1 = matrix(ctx, VKATTN_F16, R, N), h2 = matrix(ctx, VKATTN_F16, R, N);
    vkt_write_f16_from_f32(ctx, h1, a, (size_t)R * N);
    expect(ctx, vkattn_copy_buffer(ctx, NULL, h1, h2), VKATTN_OK, "f16 copy_buffer");
    float *h = read_f16(ctx, h2, (size_t)R * N);
    for (size_t e = 0; e < (size_t)R * N; e++)
        ck_assert_msg(h[e] == round_f16(a[e]), "f16 element %zu: %g, want %g", e, h[e], round_f16(a[e]));
    vkattn_tensor i1 = matrix(ctx, VKATTN_I32, 1, 7), i2 = matrix(ctx, VKATTN_I32, 1, 7);
    const int32_t ints[7] = {-3, 0, 1, 2147483647, -2147483647 - 1, 42, 7};
    int32_t ints_back[7] = {0};
    expect(ctx, vkattn_tensor_write(ctx, i1, ints, sizeof ints), VKATTN_OK, "write i32");
    expect(ctx, vkattn_copy_buffer(ctx, NULL, i1, i2), VKATTN_OK, "i32 copy_buffer");
    expect(ctx, vkattn_tensor_read(ctx, i2, ints_back, sizeof ints_back), VKATTN_OK, "read i32");
    ck_assert(memcmp(ints, ints_back, sizeof ints) == 0);

    /* Refusals: a strided view, another dtype, another shape, the same tensor. */
    vkattn_tensor col;
    vkattn_tensor_desc col_desc = {.ndim = 2, .shape = {R, 1}, .strides = {N, 1}};
    expect(ctx, vkattn_tensor_view(ctx, ta, &col_desc, 0, &col), VKATTN_OK, "column view");
    vkattn_tensor small = matrix(ctx, VKATTN_F32, R, 1), other = matrix(ctx, VKATTN_F32, N, R);
    expect(ctx, vkattn_copy_buffer(ctx, NULL, col, small), VKATTN_ERROR_INVALID_ARGUMENT, "strided src");
    expect(ctx, vkattn_copy_buffer(ctx, NULL, ta, h2), VKATTN_ERROR_DTYPE_MISMATCH, "f32 into f16");
    expect(ctx, vkattn_copy_buffer(ctx, NULL, ta, other), VKATTN_ERROR_SHAPE_MISMATCH, "[300,500] into [500,300]");
    expect(ctx, vkattn_copy_buffer(ctx, NULL, ta, ta), VKATTN_ERROR_INVALID_ARGUMENT, "onto itself");
    expect(ctx, vkattn_copy_buffer(NULL, NULL, ta, tb), VKATTN_ERROR_INVALID_ARGUMENT, "NULL context");

    free(a);
    free(b);
    free(once);
    free(once_f);
    free(twice);
    free(d);
    free(h);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_timings_without_flag)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    float *a;
    vkattn_tensor ta = input_f32(ctx, 2, 10, 41u, &a);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, 2, 10);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    softmax_into(ctx, cmd, 1.0f, ta, tb);
    submit_wait(ctx, cmd);
    vkattn_op_timing t[1];
    uint32_t count = 0;
    expect(ctx, vkattn_cmd_timings(cmd, t, 1, &count), VKATTN_ERROR_UNSUPPORTED, "timings of a list without flag");
    free(a);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- lifetimes ---------------------------------------------------------------------------------------------------- */

/* Handles destroyed after recording: the list keeps their storage until it is reset. */
START_TEST(test_tensors_outlive_handles)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 6, N = 40 };
    float *a;
    vkattn_tensor ta = input_f32(ctx, R, N, 50u, &a);
    vkattn_tensor tb = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tc = matrix(ctx, VKATTN_F16, R, N);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    softmax_into(ctx, cmd, 1.0f, ta, tb);
    copy_into(ctx, cmd, tb, tc);
    vkattn_tensor_destroy(ctx, ta);
    vkattn_tensor_destroy(ctx, tb);
    submit_wait(ctx, cmd);
    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "vkattn_cmd_reset");

    float *c = read_f16(ctx, tc, R * N);
    double *want = softmax_of(a, R, N, 1.0);
    check_close(c, want, R * N, F16_TOL, "softmax through destroyed handles");
    free(a);
    free(c);
    free(want);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* vkattn_cmd_destroy of a pending list waits for it before freeing anything, even storage of destroyed handles. */
START_TEST(test_destroy_pending_list)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    long_work w = long_work_make(ctx);
    vkattn_cmd *cmd = new_cmd(ctx, 0);
    long_work_record(ctx, cmd, &w);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    vkattn_tensor_destroy(ctx, w.x);
    w.x = (vkattn_tensor){0};
    vkattn_cmd_destroy(cmd);
    long_work_check(ctx, &w);
    long_work_free(ctx, &w);
    vkt_context_destroy(ctx);
}
END_TEST

/* Destroying the context with a list still pending (and not destroyed) is clean: no crash, no validation message. */
START_TEST(test_context_destroy_pending)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    long_work w = long_work_make(ctx);
    vkattn_cmd *cmd = new_cmd(ctx, VKATTN_CMD_TIMESTAMPS);
    long_work_record(ctx, cmd, &w);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    free(w.host_x);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_empty_list)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    vkattn_cmd *cmd = new_cmd(ctx, VKATTN_CMD_TIMESTAMPS);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    submit_wait(ctx, cmd);
    uint32_t count = 99;
    vkattn_op_timing t[1];
    if (has_timestamps(ctx)) {
        expect(ctx, vkattn_cmd_timings(cmd, t, 1, &count), VKATTN_OK, "timings of an empty list");
        ck_assert_uint_eq(count, 0);
    } else {
        expect(ctx, vkattn_cmd_timings(cmd, t, 1, &count), VKATTN_ERROR_UNSUPPORTED, "timings without timestamps");
    }
    expect(ctx, vkattn_cmd_reset(cmd), VKATTN_OK, "vkattn_cmd_reset");
    submit_wait(ctx, cmd);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- immediate ops mixed with lists ------------------------------------------------------------------------------- */

/* Immediate ops run at once, a list runs at submit; work on the context happens in that order:
 *   Y = softmax(a)          immediate
 *   list: Z = Y; Z = softmax(2 Z)   recorded
 *   W = softmax(a / 2)      immediate, between recording and submit
 *   submit
 *   V = softmax(3 Z)        immediate, while the list is pending
 *   wait; Y = V             immediate, after the list */
START_TEST(test_immediate_interleaved)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx) {
        return;
    }
    enum { R = 5, N = 200 };
    float *a;
    vkattn_tensor tx = input_f32(ctx, R, N, 60u, &a);
    vkattn_tensor ty = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tz = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tw = matrix(ctx, VKATTN_F32, R, N);
    vkattn_tensor tv = matrix(ctx, VKATTN_F32, R, N);
    vkattn_cmd *cmd = new_cmd(ctx, 0);

    softmax_into(ctx, NULL, 1.0f, tx, ty);
    copy_into(ctx, cmd, ty, tz);
    softmax_into(ctx, cmd, 2.0f, tz, tz);
    softmax_into(ctx, NULL, 0.5f, tx, tw);
    expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    softmax_into(ctx, NULL, 3.0f, tz, tv);
    expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    copy_into(ctx, NULL, tv, ty);

    double *s1 = softmax_of(a, R, N, 1.0);
    double *z = xmalloc(R * N * sizeof(double));
    double *v = xmalloc(R * N * sizeof(double));
    ref_softmax(s1, R, N, 2.0, z);
    ref_softmax(z, R, N, 3.0, v);
    double *w = softmax_of(a, R, N, 0.5);
    float *gz = read_f32(ctx, tz, R * N);
    float *gw = read_f32(ctx, tw, R * N);
    float *gv = read_f32(ctx, tv, R * N);
    float *gy = read_f32(ctx, ty, R * N);
    check_close(gz, z, R * N, 2 * F32_TOL, "Z = softmax(2 softmax(a))");
    check_close(gw, w, R * N, F32_TOL, "W = softmax(a / 2)");
    check_close(gv, v, R * N, 3 * F32_TOL, "V = softmax(3 Z)");
    check_equal(gy, gv, R * N, "Y = V");

    free(a);
    free(s1);
    free(z);
    free(v);
    free(w);
    free(gz);
    free(gw);
    free(gv);
    free(gy);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *cmd_suite(void)
{
    Suite *s = suite_create("cmd");
    TCase *tc = tcase_create("cmd");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_dependent_chain, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_hazards, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_independent_ops, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_reuse, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_state_errors, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_reset_while_pending, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wait_timeout_zero, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_write_waits_for_pending, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_timings, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_copy_buffer, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_timings_without_flag, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_tensors_outlive_handles, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_destroy_pending_list, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_context_destroy_pending, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_empty_list, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_immediate_interleaved, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(cmd_suite());
}
