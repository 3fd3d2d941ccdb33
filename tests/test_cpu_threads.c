/*
 * test_cpu_threads.c - the CPU backend's thread pool (VKATTN_CPU_THREADS): every op, run on a one-thread context and
 * on a three-thread one, gives bit-identical outputs that match a float64 formula computed here. Shapes are large
 * enough for the pool to split them, with row counts that do not divide evenly among the threads, f16 and f32, and
 * strided views (rows that are not contiguous, permuted dims). A bad VKATTN_CPU_THREADS fails context creation.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outputs are O(1) or scaled by max(|want|, 1): f32 results of float64 kernels are within an f32 rounding, f16 ones
 * within an f16 rounding of the reference. */
#define F32_TOL 1e-6
#define F16_TOL 2e-3
#define FLOOR 1.0

/* A CPU context with VKATTN_CPU_THREADS set to `threads` while it is created. */
static vkattn_context *cpu_context(const char *threads)
{
    ck_assert_int_eq(setenv("VKATTN_CPU_THREADS", threads, 1), 0);
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU};
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    unsetenv("VKATTN_CPU_THREADS");
    ck_assert_msg(r == VKATTN_OK, "vkattn_context_create with %s threads: %s", threads,
                  vkattn_context_last_error(NULL));
    return ctx;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* n values in [lo, hi), rounded to the dtype so the reference sees exactly what the tensor holds. */
static float *values(size_t n, uint32_t seed, float lo, float hi, vkattn_dtype dt)
{
    float *x = xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, lo, hi);
    if (dt == VKATTN_F16)
        for (size_t i = 0; i < n; i++)
            x[i] = vkt_half_to_float(vkt_float_to_half(x[i]));
    return x;
}

static void put(vkattn_context *ctx, vkattn_tensor t, const float *x, size_t n, vkattn_dtype dt)
{
    if (dt == VKATTN_F16)
        vkt_write_f16_from_f32(ctx, t, x, n);
    else
        vkt_write_f32(ctx, t, x, n);
}

static void get(vkattn_context *ctx, vkattn_tensor t, float *x, size_t n, vkattn_dtype dt)
{
    if (dt == VKATTN_F16)
        vkt_read_f16_to_f32(ctx, t, x, n);
    else
        vkt_read_f32(ctx, t, x, n);
}

static void ok(vkattn_context *ctx, vkattn_result r, const char *what)
{
    ck_assert_msg(r == VKATTN_OK, "%s: %s: %s", what, vkattn_result_name(r), vkattn_context_last_error(ctx));
}

/* A view of `base` with the given 4-dim shape and strides (elements). */
static vkattn_tensor view(vkattn_context *ctx, vkattn_tensor base, vkattn_dtype dt, const int64_t *shape,
                          const int64_t *strides, int64_t offset)
{
    vkattn_tensor_desc d = {.dtype = dt, .ndim = 4};
    memcpy(d.shape, shape, sizeof d.shape);
    memcpy(d.strides, strides, sizeof d.strides);
    vkattn_tensor t = {0};
    ok(ctx, vkattn_tensor_view(ctx, base, &d, offset, &t), "vkattn_tensor_view");
    return t;
}

static vkattn_tensor tensor(vkattn_context *ctx, vkattn_dtype dt, int64_t n0, int64_t n1, int64_t n2, int64_t n3)
{
    const int64_t shape[VKATTN_MAX_DIMS] = {n0, n1, n2, n3};
    return vkt_tensor(ctx, dt, 4, shape);
}

/* A case runs one op on ctx and reads its output (n values) into out; with want non-NULL it also writes the
 * float64 expectation. Inputs come from fixed seeds, so every run of a case sees the same data. */
typedef struct op_case {
    const char *name;
    size_t n;
    void (*run)(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want);
} op_case;

/* ---- copy: f32 [3, 37, 5, 130] read through a view whose rows have stride 5 (dims 2 and 3 swapped in storage)
 * into the requested dtype. */
enum { CP0 = 3, CP1 = 37, CP2 = 5, CP3 = 130, CP_N = CP0 * CP1 * CP2 * CP3 };

static void run_copy(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *x = values(CP_N, 11u, -4.0f, 4.0f, VKATTN_F32);
    vkattn_tensor base = tensor(ctx, VKATTN_F32, CP0, CP1, CP3, CP2);
    const int64_t shape[4] = {CP0, CP1, CP2, CP3}, strides[4] = {CP1 * CP3 * CP2, CP3 * CP2, 1, CP2};
    vkattn_tensor src = view(ctx, base, VKATTN_F32, shape, strides, 0);
    vkattn_tensor dst = tensor(ctx, dt, CP0, CP1, CP2, CP3);
    put(ctx, src, x, CP_N, VKATTN_F32);
    ok(ctx, vkattn_copy(ctx, NULL, src, dst), "vkattn_copy");
    get(ctx, dst, out, CP_N, dt);
    for (size_t i = 0; want && i < CP_N; i++)
        want[i] = x[i];
    vkattn_tensor_destroy(ctx, src);
    vkattn_tensor_destroy(ctx, dst);
    vkattn_tensor_destroy(ctx, base);
    free(x);
}

/* ---- RoPE (NEOX, partial rotary) on x [2, 57, 5, 130] held as a [2, 5, 57, 130] buffer. */
enum { RP_B = 2, RP_S = 57, RP_H = 5, RP_D = 130, RP_ROT = 96, RP_N = RP_B * RP_S * RP_H * RP_D, RP_OFFSET = 7 };

static void run_rope(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *x = values(RP_N, 12u, -1.0f, 1.0f, dt);
    vkattn_tensor base = tensor(ctx, dt, RP_B, RP_H, RP_S, RP_D);
    const int64_t shape[4] = {RP_B, RP_S, RP_H, RP_D}, strides[4] = {RP_H * RP_S * RP_D, RP_D, RP_S * RP_D, 1};
    vkattn_tensor xt = view(ctx, base, dt, shape, strides, 0);
    vkattn_tensor y = tensor(ctx, dt, RP_B, RP_S, RP_H, RP_D);
    put(ctx, xt, x, RP_N, dt);
    vkattn_rope_desc d = {.rot_dims = RP_ROT, .pos_offset = RP_OFFSET};
    ok(ctx, vkattn_rope(ctx, NULL, &d, xt, (vkattn_tensor){0}, y), "vkattn_rope");
    get(ctx, y, out, RP_N, dt);
    double theta[RP_ROT / 2], m;
    ok(NULL, vkattn_rope_frequencies(&d, RP_D, theta, RP_ROT / 2, &m), "vkattn_rope_frequencies");
    for (size_t row = 0; want && row < RP_N / RP_D; row++) {
        const float *xr = x + row * RP_D;
        double *w = want + row * RP_D;
        double p = (double)(RP_OFFSET + (int64_t)(row / RP_H) % RP_S);
        for (int k = 0; k < RP_D; k++)
            w[k] = xr[k];
        for (int k = 0; k < RP_ROT / 2; k++) {
            double c = m * cos(p * theta[k]), s = m * sin(p * theta[k]);
            w[k] = xr[k] * c - xr[k + RP_ROT / 2] * s;
            w[k + RP_ROT / 2] = xr[k + RP_ROT / 2] * c + xr[k] * s;
        }
    }
    vkattn_tensor_destroy(ctx, xt);
    vkattn_tensor_destroy(ctx, y);
    vkattn_tensor_destroy(ctx, base);
    free(x);
}

/* ---- sinusoidal (interleaved, odd dim) on x [2, 333, 129]. */
enum { SN_B = 2, SN_S = 333, SN_D = 129, SN_N = SN_B * SN_S * SN_D };

static void run_sinusoidal(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *x = values(SN_N, 13u, -1.0f, 1.0f, dt);
    const int64_t shape[3] = {SN_B, SN_S, SN_D};
    vkattn_tensor xt = vkt_tensor(ctx, dt, 3, shape);
    put(ctx, xt, x, SN_N, dt);
    ok(ctx, vkattn_sinusoidal_add(ctx, NULL, NULL, xt, (vkattn_tensor){0}, xt), "vkattn_sinusoidal_add");
    get(ctx, xt, out, SN_N, dt);
    for (size_t i = 0; want && i < SN_N; i++) {
        int64_t e = (int64_t)(i % SN_D), p = (int64_t)(i / SN_D) % SN_S;
        double t = (double)p * pow(10000.0, -(double)(e - e % 2) / SN_D);
        want[i] = x[i] + (e % 2 == 0 ? sin(t) : cos(t));
    }
    vkattn_tensor_destroy(ctx, xt);
    free(x);
}

/* ---- scores [2, 3, 37, 300] in a buffer with padded rows (row stride 301): ALiBi, and softmax with a causal
 * mask, a window and fused ALiBi. */
enum { SC_B = 2, SC_H = 3, SC_Q = 37, SC_K = 300, SC_PAD = 301, SC_N = SC_B * SC_H * SC_Q * SC_K, SC_OFFSET = 270 };

static vkattn_tensor padded_scores(vkattn_context *ctx, vkattn_dtype dt, vkattn_tensor *base)
{
    *base = tensor(ctx, dt, SC_B, SC_H, SC_Q, SC_PAD);
    const int64_t shape[4] = {SC_B, SC_H, SC_Q, SC_K}, strides[4] = {SC_H * SC_Q * SC_PAD, SC_Q * SC_PAD, SC_PAD, 1};
    return view(ctx, *base, dt, shape, strides, 1);
}

static double distance(size_t i, int64_t offset)
{
    int64_t q = offset + (int64_t)(i / SC_K % SC_Q), k = (int64_t)(i % SC_K);
    return (double)(q > k ? q - k : k - q);
}

static void run_alibi(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *x = values(SC_N, 14u, -2.0f, 2.0f, dt), slopes[SC_H];
    vkattn_tensor base, xt = padded_scores(ctx, dt, &base);
    vkattn_tensor y = tensor(ctx, dt, SC_B, SC_H, SC_Q, SC_K);
    put(ctx, xt, x, SC_N, dt);
    vkattn_alibi_desc d = {.q_offset = SC_OFFSET, .causal = true};
    ok(ctx, vkattn_alibi(ctx, NULL, &d, xt, y), "vkattn_alibi");
    get(ctx, y, out, SC_N, dt);
    ok(NULL, vkattn_alibi_slopes(&d, SC_H, SC_K, slopes), "vkattn_alibi_slopes");
    for (size_t i = 0; want && i < SC_N; i++) {
        bool masked = (int64_t)(i % SC_K) > SC_OFFSET + (int64_t)(i / SC_K % SC_Q);
        want[i] = masked ? -INFINITY : x[i] - slopes[i / (SC_K * SC_Q) % SC_H] * distance(i, SC_OFFSET);
    }
    vkattn_tensor_destroy(ctx, xt);
    vkattn_tensor_destroy(ctx, y);
    vkattn_tensor_destroy(ctx, base);
    free(x);
}

enum { SM_WINDOW = 200 };
#define SM_SCALE 0.75

static void run_softmax(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *x = values(SC_N, 15u, -3.0f, 3.0f, dt), slopes[SC_H];
    vkattn_tensor base, xt = padded_scores(ctx, dt, &base);
    put(ctx, xt, x, SC_N, dt);
    vkattn_alibi_desc ad = {0};
    vkattn_softmax_desc d = {.scale = (float)SM_SCALE, .causal = true, .q_offset = SC_OFFSET, .window = SM_WINDOW,
                             .alibi = &ad};
    ok(ctx, vkattn_softmax(ctx, NULL, &d, xt, xt), "vkattn_softmax");
    get(ctx, xt, out, SC_N, dt);
    ok(NULL, vkattn_alibi_slopes(&ad, SC_H, SC_K, slopes), "vkattn_alibi_slopes");
    for (size_t r = 0; want && r < SC_N / SC_K; r++) {
        int64_t q = SC_OFFSET + (int64_t)(r % SC_Q);
        double *w = want + r * SC_K, max = -INFINITY, sum = 0.0;
        for (size_t j = 0; j < SC_K; j++) {
            bool masked = (int64_t)j > q || q - (int64_t)j >= SM_WINDOW;
            w[j] = masked ? -INFINITY : SM_SCALE * x[r * SC_K + j] - slopes[r / SC_Q % SC_H] *
                                                                      distance(r * SC_K + j, SC_OFFSET);
            max = w[j] > max ? w[j] : max;
        }
        for (size_t j = 0; j < SC_K; j++)
            sum += exp(w[j] - max);
        for (size_t j = 0; j < SC_K; j++)
            w[j] = exp(w[j] - max) / sum;
    }
    vkattn_tensor_destroy(ctx, xt);
    vkattn_tensor_destroy(ctx, base);
    free(x);
}

/* ---- matmul: a [2, 4, 37, 64] times b^T, b given as [2, 2, 50, 64] (grouped heads), c [2, 4, 37, 50]. */
enum { MM_B = 2, MM_H = 4, MM_HB = 2, MM_M = 37, MM_K = 64, MM_N = 50 };
enum { MM_AN = MM_B * MM_H * MM_M * MM_K, MM_BN = MM_B * MM_HB * MM_N * MM_K, MM_CN = MM_B * MM_H * MM_M * MM_N };
#define MM_SCALE 0.125

static void run_matmul(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *a = values(MM_AN, 16u, -1.0f, 1.0f, dt), *b = values(MM_BN, 17u, -1.0f, 1.0f, dt);
    vkattn_tensor at = tensor(ctx, dt, MM_B, MM_H, MM_M, MM_K), bt = tensor(ctx, dt, MM_B, MM_HB, MM_N, MM_K);
    vkattn_tensor ct = tensor(ctx, dt, MM_B, MM_H, MM_M, MM_N);
    put(ctx, at, a, MM_AN, dt);
    put(ctx, bt, b, MM_BN, dt);
    vkattn_matmul_desc d = {.scale = (float)MM_SCALE, .transpose_b = true};
    ok(ctx, vkattn_matmul(ctx, NULL, &d, at, bt, ct), "vkattn_matmul");
    get(ctx, ct, out, MM_CN, dt);
    for (size_t i = 0; want && i < MM_CN; i++) {
        size_t n = i % MM_N, m = i / MM_N % MM_M, h = i / (MM_N * MM_M) % MM_H, bb = i / (MM_N * MM_M * MM_H);
        const float *ar = a + ((bb * MM_H + h) * MM_M + m) * MM_K;
        const float *br = b + ((bb * MM_HB + h / (MM_H / MM_HB)) * MM_N + n) * MM_K;
        double sum = 0.0;
        for (size_t k = 0; k < MM_K; k++)
            sum += (double)ar[k] * br[k];
        want[i] = MM_SCALE * sum;
    }
    vkattn_tensor_destroy(ctx, at);
    vkattn_tensor_destroy(ctx, bt);
    vkattn_tensor_destroy(ctx, ct);
    free(a);
    free(b);
}

/* ---- attention: q [2, 37, 4, 32], k and v [2, 45, 2, 32] (v held as [2, 2, 45, 32]), causal after 8 cached
 * keys. */
enum { AT_B = 2, AT_Q = 37, AT_H = 4, AT_KV = 45, AT_HKV = 2, AT_D = 32, AT_OFFSET = 8 };
enum { AT_QN = AT_B * AT_Q * AT_H * AT_D, AT_KVN = AT_B * AT_KV * AT_HKV * AT_D };

static void attention_reference(const float *q, const float *k, const float *v, double *want)
{
    double scores[AT_KV];
    for (size_t r = 0; r < AT_QN / AT_D; r++) {
        size_t h = r % AT_H, i = r / AT_H % AT_Q, b = r / (AT_H * AT_Q), kvh = h / (AT_H / AT_HKV);
        double max = -INFINITY, sum = 0.0;
        for (size_t j = 0; j < AT_KV; j++) {
            const float *kr = k + ((b * AT_KV + j) * AT_HKV + kvh) * AT_D;
            double dot = 0.0;
            for (size_t d = 0; d < AT_D; d++)
                dot += (double)q[r * AT_D + d] * kr[d];
            scores[j] = (int64_t)j > AT_OFFSET + (int64_t)i ? -INFINITY : dot / sqrt(AT_D);
            max = scores[j] > max ? scores[j] : max;
        }
        for (size_t j = 0; j < AT_KV; j++)
            sum += exp(scores[j] - max);
        for (size_t d = 0; d < AT_D; d++) {
            double acc = 0.0;
            for (size_t j = 0; j < AT_KV; j++)
                acc += exp(scores[j] - max) / sum * v[((b * AT_KV + j) * AT_HKV + kvh) * AT_D + d];
            want[r * AT_D + d] = acc;
        }
    }
}

static void run_attention(vkattn_context *ctx, vkattn_dtype dt, float *out, double *want)
{
    float *q = values(AT_QN, 18u, -1.0f, 1.0f, dt), *k = values(AT_KVN, 19u, -1.0f, 1.0f, dt);
    float *v = values(AT_KVN, 20u, -1.0f, 1.0f, dt);
    vkattn_tensor qt = tensor(ctx, dt, AT_B, AT_Q, AT_H, AT_D), kt = tensor(ctx, dt, AT_B, AT_KV, AT_HKV, AT_D);
    vkattn_tensor vbase = tensor(ctx, dt, AT_B, AT_HKV, AT_KV, AT_D), ot = tensor(ctx, dt, AT_B, AT_Q, AT_H, AT_D);
    const int64_t shape[4] = {AT_B, AT_KV, AT_HKV, AT_D}, strides[4] = {AT_HKV * AT_KV * AT_D, AT_D, AT_KV * AT_D, 1};
    vkattn_tensor vt = view(ctx, vbase, dt, shape, strides, 0);
    put(ctx, qt, q, AT_QN, dt);
    put(ctx, kt, k, AT_KVN, dt);
    put(ctx, vt, v, AT_KVN, dt);
    vkattn_attention_desc d = {.causal = true, .q_offset = AT_OFFSET};
    ok(ctx, vkattn_attention(ctx, NULL, &d, qt, kt, vt, ot), "vkattn_attention");
    get(ctx, ot, out, AT_QN, dt);
    if (want)
        attention_reference(q, k, v, want);
    vkattn_tensor_destroy(ctx, qt);
    vkattn_tensor_destroy(ctx, kt);
    vkattn_tensor_destroy(ctx, vt);
    vkattn_tensor_destroy(ctx, vbase);
    vkattn_tensor_destroy(ctx, ot);
    free(q);
    free(k);
    free(v);
}

static const op_case cases[] = {
    {"copy", CP_N, run_copy},
    {"rope", RP_N, run_rope},
    {"sinusoidal", SN_N, run_sinusoidal},
    {"alibi", SC_N, run_alibi},
    {"softmax", SC_N, run_softmax},
    {"matmul", MM_CN, run_matmul},
    {"attention", AT_QN, run_attention},
};

/* -inf == -inf counts as no error (vkt_max_rel_err would see inf - inf). */
static double max_error(const float *got, const double *want, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(want[i]) && got[i] == want[i])
            continue;
        double e = vkt_max_rel_err(got + i, want + i, 1, FLOOR);
        worst = e > worst ? e : worst;
    }
    return worst;
}

/* Loop index: case * 2 + (0 = f32, 1 = f16). */
START_TEST(test_threads_identical)
{
    const op_case *c = &cases[_i / 2];
    vkattn_dtype dt = _i % 2 ? VKATTN_F16 : VKATTN_F32;
    float *one = xmalloc(c->n * sizeof *one), *three = xmalloc(c->n * sizeof *three);
    double *want = xmalloc(c->n * sizeof *want);
    vkattn_context *ctx = cpu_context("1");
    c->run(ctx, dt, one, want);
    vkattn_context_destroy(ctx);
    ctx = cpu_context("3");
    c->run(ctx, dt, three, NULL);
    vkattn_context_destroy(ctx);
    double err = max_error(one, want, c->n);
    printf("cpu threads: %s %s: 1 vs 3 threads %s, max error %.3g\n", c->name, vkattn_dtype_name(dt),
           memcmp(one, three, c->n * sizeof *one) == 0 ? "identical" : "DIFFER", err);
    ck_assert_msg(memcmp(one, three, c->n * sizeof *one) == 0, "%s %s: 1 and 3 threads differ", c->name,
                  vkattn_dtype_name(dt));
    ck_assert_msg(err <= (dt == VKATTN_F16 ? F16_TOL : F32_TOL), "%s %s: max error %.3g", c->name,
                  vkattn_dtype_name(dt), err);
    free(one);
    free(three);
    free(want);
}
END_TEST

/* One context runs ops one after another, so its workers are woken again and again. */
START_TEST(test_threads_repeated)
{
    float *first = xmalloc(MM_CN * sizeof *first), *again = xmalloc(MM_CN * sizeof *again);
    float *copied = xmalloc(CP_N * sizeof *copied);
    vkattn_context *ctx = cpu_context("3");
    run_matmul(ctx, VKATTN_F32, first, NULL);
    for (int k = 0; k < 20; k++) {
        run_copy(ctx, VKATTN_F16, copied, NULL);
        run_matmul(ctx, VKATTN_F32, again, NULL);
        ck_assert_msg(memcmp(first, again, MM_CN * sizeof *first) == 0, "run %d differs", k);
    }
    vkattn_context_destroy(ctx);
    free(first);
    free(again);
    free(copied);
}
END_TEST

START_TEST(test_threads_bad_env)
{
    static const char *const bad[] = {"0", "257", "-1", "two", "4x", " "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(setenv("VKATTN_CPU_THREADS", bad[i], 1), 0);
        vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU};
        vkattn_context *ctx = NULL;
        vkattn_result r = vkattn_context_create(&d, &ctx);
        const char *msg = vkattn_context_last_error(NULL);
        ck_assert_msg(r == VKATTN_ERROR_INVALID_ARGUMENT, "VKATTN_CPU_THREADS=\"%s\": %s", bad[i],
                      vkattn_result_name(r));
        ck_assert_ptr_null(ctx);
        ck_assert_msg(strstr(msg, "VKATTN_CPU_THREADS") != NULL, "message: %s", msg);
        /* VKATTN_CONTEXT_IGNORE_ENV skips the variable. */
        d.flags = VKATTN_CONTEXT_IGNORE_ENV;
        ok(NULL, vkattn_context_create(&d, &ctx), "vkattn_context_create ignoring the environment");
        vkattn_context_destroy(ctx);
    }
    unsetenv("VKATTN_CPU_THREADS");
    vkattn_context *ctx = cpu_context("256");
    vkattn_context_destroy(ctx);
}
END_TEST

static Suite *cpu_threads_suite(void)
{
    Suite *s = suite_create("cpu_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_threads_identical, 0, (int)(2 * sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_threads_repeated);
    tcase_add_test(tc, test_threads_bad_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(cpu_threads_suite());
}
