/*
 * test_matmul.c - vkattn_matmul against a float64 reference written here from vkattn.h:
 *     c[b, h, m, n] = scale * sum_k a[b, h, m, k] * B[b', h / (heads / heads_b), k, n]
 * with B = b or, with transpose_b, B[.., k, n] = b[.., n, k], and b' = b or 0 when batch_b is 1. Covers every
 * M, N, K in {1, 7, 64, 65, 130}, transpose_b, scales, grouped-query (8/2) and multi-query (8/1) broadcast, batch_b
 * 1, every f32/f16 combination of a, b and c, 2 to 4 dims, strided views (Q [batch, seq, heads, head_dim] used as
 * [batch, heads, seq, head_dim]), a command list and the result codes of bad calls, on every enabled backend.
 *
 * Error metric: |got - want| / (|scale| sum_k |a b|), the size of the terms, so that cancellation in the sum does
 * not inflate it. f32 accumulation of K <= 130 products loses at most K 2^-24 < 1e-5 of that; an f16 c adds its
 * rounding, 2^-11 of |c| <= the terms.
 */
#include "pe_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_F32_TOL 1e-5
#define MM_F16_TOL 1e-3
/* Terms below this (an all-zero row or column) count as this. */
#define MM_FLOOR 1e-30

typedef struct mm_case {
    const char *name;
    uint32_t ndim;                 /* of a, b and c: the trailing dims of the shapes below */
    int64_t batch, heads, m, k, n; /* a [batch, heads, m, k], c [batch, heads, m, n] */
    int64_t batch_b, heads_b;      /* b [batch_b, heads_b, k, n], or [.., n, k] with transpose_b */
    vkattn_matmul_desc desc;
    vkattn_dtype ta, tb, tc;
    const pe_layout *a_layout, *b_layout, *c_layout; /* NULL = contiguous */
} mm_case;

/* ---- float64 reference ------------------------------------------------------------------------------------------- */

static double effective_scale(const mm_case *c)
{
    return c->desc.scale == 0.0f ? 1.0 : (double)c->desc.scale;
}

/* Element (k, n) of the matrix B that batch bb and head h of a use. */
static double b_at(const mm_case *c, const float *b, int64_t bb, int64_t h, int64_t k, int64_t n)
{
    int64_t batch = c->batch_b == 1 ? 0 : bb, head = h / (c->heads / c->heads_b);
    size_t mat = (size_t)(batch * c->heads_b + head) * (size_t)(c->k * c->n);
    size_t at = c->desc.transpose_b ? (size_t)(n * c->k + k) : (size_t)(k * c->n + n);
    return b[mat + at];
}

/* want = the product; mag = |scale| sum |a b|, the size of its terms. */
static void mm_reference(const mm_case *c, const float *a, const float *b, double *want, double *mag)
{
    double scale = effective_scale(c);
    size_t out = 0;
    for (int64_t bb = 0; bb < c->batch; bb++) {
        for (int64_t h = 0; h < c->heads; h++) {
            const float *arow = a + (size_t)(bb * c->heads + h) * (size_t)(c->m * c->k);
            for (int64_t i = 0; i < c->m; i++, arow += c->k) {
                for (int64_t j = 0; j < c->n; j++, out++) {
                    double sum = 0.0, size = 0.0;
                    for (int64_t k = 0; k < c->k; k++) {
                        double term = (double)arow[k] * b_at(c, b, bb, h, k, j);
                        sum += term;
                        size += fabs(term);
                    }
                    want[out] = scale * sum;
                    mag[out] = fabs(scale) * size;
                }
            }
        }
    }
}

static double mm_error(const float *got, const double *want, const double *mag, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]) / fmax(mag[i], MM_FLOOR);
        worst = isnan(err) || err > worst ? (isnan(err) ? INFINITY : err) : worst;
    }
    return worst;
}

/* ---- running the op ---------------------------------------------------------------------------------------------- */

/* The trailing ndim dims of a 4-dim shape. */
static void trailing(uint32_t ndim, const int64_t full[4], int64_t *out)
{
    memcpy(out, full + 4 - ndim, ndim * sizeof full[0]);
}

typedef struct mm_tensors {
    pe_tensor a, b, c;
} mm_tensors;

static mm_tensors mm_tensors_new(vkattn_context *ctx, const mm_case *c)
{
    const int64_t a4[4] = {c->batch, c->heads, c->m, c->k}, c4[4] = {c->batch, c->heads, c->m, c->n};
    const int64_t b4[4] = {c->batch_b, c->heads_b, c->desc.transpose_b ? c->n : c->k,
                           c->desc.transpose_b ? c->k : c->n};
    int64_t sa[4], sb[4], sc[4];
    trailing(c->ndim, a4, sa);
    trailing(c->ndim, b4, sb);
    trailing(c->ndim, c4, sc);
    return (mm_tensors){pe_tensor_new(ctx, c->ta, c->ndim, sa, c->a_layout),
                        pe_tensor_new(ctx, c->tb, c->ndim, sb, c->b_layout),
                        pe_tensor_new(ctx, c->tc, c->ndim, sc, c->c_layout)};
}

static void mm_tensors_free(vkattn_context *ctx, mm_tensors *t)
{
    pe_tensor_free(ctx, &t->a);
    pe_tensor_free(ctx, &t->b);
    pe_tensor_free(ctx, &t->c);
}

/* Uniform values in [-1, 1) as a tensor of dtype stores them. */
static float *mm_input(size_t n, uint32_t seed, vkattn_dtype dtype)
{
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, -1.0f, 1.0f);
    pe_round_to_dtype(dtype, x, n);
    return x;
}

static double mm_tol(const mm_case *c)
{
    return c->tc == VKATTN_F16 ? MM_F16_TOL : MM_F32_TOL;
}

/* Runs the case immediately on random inputs, checks c and the base elements around a view, and returns the error;
 * fails the test past the tolerance. */
static double mm_run(vkattn_context *ctx, const mm_case *c, uint32_t seed)
{
    mm_tensors t = mm_tensors_new(ctx, c);
    float *a = mm_input(t.a.numel, seed, c->ta), *b = mm_input(t.b.numel, seed + 1, c->tb);
    float *got = pe_xmalloc(t.c.numel * sizeof *got);
    double *want = pe_xmalloc(t.c.numel * sizeof *want), *mag = pe_xmalloc(t.c.numel * sizeof *mag);
    pe_tensor_set(ctx, &t.a, a);
    pe_tensor_set(ctx, &t.b, b);
    pe_expect(ctx, vkattn_matmul(ctx, NULL, &c->desc, t.a.t, t.b.t, t.c.t), VKATTN_OK, c->name);
    pe_tensor_get(ctx, &t.c, got);
    pe_tensor_check_outside(ctx, &t.c, c->name);
    mm_reference(c, a, b, want, mag);
    double err = mm_error(got, want, mag, t.c.numel);
    ck_assert_msg(err <= mm_tol(c), "matmul [%s] %s: max error %.3g > %.3g",
                  vkt_backend_name(vkattn_context_backend(ctx)), c->name, err, mm_tol(c));
    free(a);
    free(b);
    free(got);
    free(want);
    free(mag);
    mm_tensors_free(ctx, &t);
    return err;
}

/* Runs the cases and reports the largest error of the family, separately for f32 and f16 outputs. */
static void mm_family(vkattn_context *ctx, const char *family, const mm_case *cases, size_t count, uint32_t seed)
{
    double worst[2] = {0.0, 0.0};
    bool seen[2] = {false, false};
    for (size_t k = 0; k < count; k++) {
        int f16 = cases[k].tc == VKATTN_F16;
        worst[f16] = fmax(worst[f16], mm_run(ctx, &cases[k], seed + 2u * (uint32_t)k));
        seen[f16] = true;
    }
    for (int f16 = 0; f16 < 2; f16++) {
        char what[160];
        snprintf(what, sizeof what, "%s, c %s", family, f16 ? "f16" : "f32");
        if (seen[f16])
            pe_report(ctx, "matmul", what, worst[f16], f16 ? MM_F16_TOL : MM_F32_TOL);
    }
}

static void mm_family_on(int backend_index, const char *family, const mm_case *cases, size_t count, uint32_t seed)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx)
        return;
    mm_family(ctx, family, cases, count, seed);
    vkt_context_destroy(ctx);
}

/* ---- sizes ------------------------------------------------------------------------------------------------------- */

/* 1 and 7 (below any tile), 64 (a tile), 65 (one past), 130 (two tiles and a bit). */
static const int64_t sizes[] = {1, 7, 64, 65, 130};
#define N_SIZES PE_COUNT_OF(sizes)

/* Every (M, N, K) of sizes^3 as [M, K] x [K, N]; every other one with b transposed, and a few scales. */
START_TEST(test_matmul_sizes)
{
    static const float scales[] = {0.0f, 1.0f, 0.125f, -2.0f};
    static char names[N_SIZES * N_SIZES * N_SIZES][64];
    mm_case cases[N_SIZES * N_SIZES * N_SIZES];
    size_t n = 0;
    for (size_t i = 0; i < N_SIZES; i++) {
        for (size_t j = 0; j < N_SIZES; j++) {
            for (size_t k = 0; k < N_SIZES; k++, n++) {
                bool transpose = n % 2 == 1;
                snprintf(names[n], sizeof names[n], "M %lld, N %lld, K %lld%s", (long long)sizes[i],
                         (long long)sizes[j], (long long)sizes[k], transpose ? ", b transposed" : "");
                cases[n] = (mm_case){names[n], 2, 1, 1, sizes[i], sizes[k], sizes[j], 1, 1,
                                     {.scale = scales[n % 4], .transpose_b = transpose}, VKATTN_F32, VKATTN_F32,
                                     VKATTN_F32, NULL, NULL, NULL};
            }
        }
    }
    mm_family_on(_i, "sizes 1..130 in M, N, K (125 shapes, f32)", cases, n, 100u);
}
END_TEST

/* ---- dtypes ------------------------------------------------------------------------------------------------------ */

START_TEST(test_matmul_dtypes)
{
    static const vkattn_dtype dt[2] = {VKATTN_F32, VKATTN_F16};
    static char names[16][64];
    mm_case cases[16];
    size_t n = 0;
    for (int combo = 0; combo < 8; combo++) {
        for (int shape = 0; shape < 2; shape++, n++) {
            vkattn_dtype ta = dt[combo >> 2], tb = dt[(combo >> 1) & 1], tc = dt[combo & 1];
            snprintf(names[n], sizeof names[n], "a %s, b %s, c %s, %s", vkattn_dtype_name(ta),
                     vkattn_dtype_name(tb), vkattn_dtype_name(tc), shape ? "[2,3,7,64] x [2,3,65,64]^T"
                                                                         : "[2,3,65,130] x [2,3,130,7]");
            cases[n] = shape ? (mm_case){names[n], 4, 2, 3, 7, 64, 65, 2, 3, {.transpose_b = true}, ta, tb, tc,
                                         NULL, NULL, NULL}
                             : (mm_case){names[n], 4, 2, 3, 65, 130, 7, 2, 3, {.scale = 0.5f}, ta, tb, tc, NULL,
                                         NULL, NULL};
        }
    }
    mm_family_on(_i, "every dtype combination of a, b, c", cases, n, 200u);
}
END_TEST

/* ---- broadcast --------------------------------------------------------------------------------------------------- */

static const mm_case broadcast_cases[] = {
    {"GQA 8/2: [2,8,9,64] x [2,2,64,33]", 4, 2, 8, 9, 64, 33, 2, 2, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
    {"GQA 8/2, b transposed (Q K^T)", 4, 2, 8, 9, 64, 33, 2, 2, {.transpose_b = true, .scale = 0.125f}, VKATTN_F32,
     VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"MQA 8/1, b transposed", 4, 2, 8, 9, 64, 33, 2, 1, {.transpose_b = true}, VKATTN_F32, VKATTN_F32, VKATTN_F32, NULL,
     NULL, NULL},
    {"batch_b 1: [3,4,7,65] x [1,4,65,7]", 4, 3, 4, 7, 65, 7, 1, 4, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
    {"batch_b 1 and heads_b 1", 4, 3, 4, 7, 65, 7, 1, 1, {.transpose_b = true}, VKATTN_F32, VKATTN_F32, VKATTN_F32,
     NULL, NULL, NULL},
    {"3 dims [heads, M, K], heads_b 3 of 6", 3, 1, 6, 33, 20, 17, 1, 3, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
    {"GQA 8/2, f16 in, f32 out", 4, 1, 8, 5, 128, 70, 1, 2, {.transpose_b = true}, VKATTN_F16, VKATTN_F16, VKATTN_F32,
     NULL, NULL, NULL},
    {"zero desc, 4 dims [1,1,3,4] x [1,1,4,5]", 4, 1, 1, 3, 4, 5, 1, 1, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
};

START_TEST(test_matmul_broadcast)
{
    mm_family_on(_i, "GQA / MQA / batch_b 1 broadcast", broadcast_cases, PE_COUNT_OF(broadcast_cases), 300u);
}
END_TEST

/* desc = NULL: scale 1, b not transposed; the same numbers as a zero desc. */
START_TEST(test_matmul_null_desc)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    const int64_t sa[2] = {5, 7}, sb[2] = {7, 3};
    float a[35], b[21], with_null[15], with_zero[15];
    vkt_fill_uniform(a, 35, 350u, -1.0f, 1.0f);
    vkt_fill_uniform(b, 21, 351u, -1.0f, 1.0f);
    vkattn_tensor ta = vkt_tensor(ctx, VKATTN_F32, 2, sa), tb = vkt_tensor(ctx, VKATTN_F32, 2, sb);
    vkattn_tensor tc = vkt_tensor(ctx, VKATTN_F32, 2, (const int64_t[]){5, 3});
    vkt_write_f32(ctx, ta, a, 35);
    vkt_write_f32(ctx, tb, b, 21);
    pe_expect(ctx, vkattn_matmul(ctx, NULL, NULL, ta, tb, tc), VKATTN_OK, "desc NULL");
    vkt_read_f32(ctx, tc, with_null, 15);
    pe_expect(ctx, vkattn_matmul(ctx, NULL, &(vkattn_matmul_desc){0}, ta, tb, tc), VKATTN_OK, "zero desc");
    vkt_read_f32(ctx, tc, with_zero, 15);
    ck_assert_msg(memcmp(with_null, with_zero, sizeof with_null) == 0, "desc NULL and a zero desc differ");
    pe_tensors_destroy(ctx, (const vkattn_tensor[]){ta, tb, tc}, 3);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- strided views ----------------------------------------------------------------------------------------------- */

/* [B, H, S, D] stored as [B, S, H, D] (a Q or K buffer seen per head), rows padded by 3, 5 elements in; a padded
 * contiguous c; [K, N] stored transposed (b^T by strides, not by the flag). */
static const pe_layout bshd = {{0, 2, 1, 3}, 3, 5};
static const pe_layout padded4 = {{0, 1, 2, 3}, 4, 2};
static const pe_layout transposed2 = {{1, 0}, 1, 1};

static const mm_case strided_cases[] = {
    {"Q [B,S,H,D] view x K^T [B,S,KVH,D] view, GQA 4/2, c [B,S,H,N] view", 4, 2, 4, 9, 64, 11, 2, 2,
     {.transpose_b = true, .scale = 0.125f}, VKATTN_F32, VKATTN_F32, VKATTN_F32, &bshd, &bshd, &bshd},
    {"P x V [B,S,KVH,D] view, MQA, padded c", 4, 2, 4, 9, 11, 64, 2, 1, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, &bshd, &padded4},
    {"f16 views, out f16 [B,S,H,D] view", 4, 1, 4, 7, 65, 30, 1, 2, {.transpose_b = true}, VKATTN_F16, VKATTN_F16,
     VKATTN_F16, &bshd, &bshd, &bshd},
    {"b [K, N] stored transposed, no flag", 2, 1, 1, 65, 130, 7, 1, 1, {.transpose_b = false}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, &transposed2, &transposed2, &transposed2},
};

START_TEST(test_matmul_strided)
{
    mm_family_on(_i, "strided views", strided_cases, PE_COUNT_OF(strided_cases), 400u);
}
END_TEST

/* ---- kernel paths ------------------------------------------------------------------------------------------------ */

/* Decode-like shapes (at most 8 rows of a, b contiguous along k: K^T in Q K^T), which a device with subgroup
 * arithmetic runs through matvec.comp, and their neighbours that stay on the tiled kernel (9 rows, b not
 * k-contiguous). K below, at and far above a subgroup's lanes. */
static const pe_layout bshd_decode = {{0, 2, 1, 3}, 2, 3};
static const mm_case path_cases[] = {
    {"decode Q K^T: [1,8,1,128] x [1,2,1500,128]^T, GQA 8/2", 4, 1, 8, 1, 128, 1500, 1, 2,
     {.transpose_b = true, .scale = 0.088388f}, VKATTN_F32, VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"8 rows, K 4096, N 33, b^T", 4, 2, 2, 8, 4096, 33, 2, 2, {.transpose_b = true}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
    {"3 rows, K 7 (fewer than a subgroup), N 5, b^T", 2, 1, 1, 3, 7, 5, 1, 1, {.transpose_b = true}, VKATTN_F32,
     VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"1 x 1 x 1, b^T", 2, 1, 1, 1, 1, 1, 1, 1, {.transpose_b = true, .scale = -3.0f}, VKATTN_F32, VKATTN_F32,
     VKATTN_F32, NULL, NULL, NULL},
    {"MQA decode, f16 a and b, f32 c, K 256, N 300", 4, 2, 4, 1, 256, 300, 2, 1, {.transpose_b = true}, VKATTN_F16,
     VKATTN_F16, VKATTN_F32, NULL, NULL, NULL},
    {"decode, f32 a, f16 b and c, K 80, N 129", 4, 1, 4, 2, 80, 129, 1, 4, {.transpose_b = true}, VKATTN_F32,
     VKATTN_F16, VKATTN_F16, NULL, NULL, NULL},
    {"decode Q [B,S,H,D] view x K [B,S,KVH,D] view, c view", 4, 2, 4, 1, 96, 70, 2, 2,
     {.transpose_b = true, .scale = 0.125f}, VKATTN_F32, VKATTN_F32, VKATTN_F32, &bshd_decode, &bshd_decode,
     &bshd_decode},
    {"9 rows (tiled kernel), K 64, N 40, b^T", 4, 1, 2, 9, 64, 40, 1, 2, {.transpose_b = true}, VKATTN_F32,
     VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"1 row, b not transposed (tiled kernel), K 300, N 64", 4, 1, 2, 1, 300, 64, 1, 1, {.transpose_b = false},
     VKATTN_F32, VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
};

/* Runs path_cases on a context with the given flags, logging at DEBUG, and returns whether a matvec pipeline was
 * built (the debug log names every pipeline the context builds). */
static bool path_family(int backend_index, uint32_t flags, const char *family)
{
    vkattn_context_desc desc = {.flags = flags, .log_level = VKATTN_LOG_DEBUG};
    vkt_log_clear();
    vkattn_context *ctx = vkt_context_desc(vkt_backend(backend_index), &desc);
    if (!ctx)
        return false;
    mm_family(ctx, family, path_cases, PE_COUNT_OF(path_cases), 500u);
    bool matvec = strstr(vkt_log_text(), "built pipeline matvec_") != NULL;
    vkt_context_destroy(ctx);
    return matvec;
}

/* The subgroup path where the device offers subgroup arithmetic, and the portable tiled kernel under
 * VKATTN_CONTEXT_BASELINE_KERNELS, both against the reference on the same shapes. */
START_TEST(test_matmul_paths)
{
    bool skip;
    bool offered = vkt_subgroup_kernels(vkt_backend(_i), &skip);
    if (skip)
        return;
    bool fast = path_family(_i, 0, offered ? "decode shapes, subgroup path" : "decode shapes, default kernels");
    ck_assert_msg(fast == offered, "matvec pipeline built: %d, device offers subgroup arithmetic: %d", fast, offered);
    bool baseline = path_family(_i, VKATTN_CONTEXT_BASELINE_KERNELS, "decode shapes, baseline kernels");
    ck_assert_msg(!baseline, "VKATTN_CONTEXT_BASELINE_KERNELS still built a matvec pipeline");
}
END_TEST

/* ---- long K ------------------------------------------------------------------------------------------------------ */

/* K far past what one dispatch of a CPU Vulkan device (lavapipe) may loop over: the backend sums slices of K into c
 * there. f32 sums of 40000 products stay within the tolerance of the error metric above (about sqrt(K) 2^-24). */
static const mm_case long_k_cases[] = {
    {"K 40000: [2,40000] x [40000,5]", 2, 1, 1, 2, 40000, 5, 1, 1, {.scale = 0.5f},
     VKATTN_F32, VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"K 70001, 17 x 33, GQA 4/2 (P V over a long cache)", 4, 1, 4, 17, 70001, 33, 1, 2, {.transpose_b = false},
     VKATTN_F32, VKATTN_F32, VKATTN_F32, NULL, NULL, NULL},
    {"K 50000, f16 a and b, f32 c, b^T, 9 rows", 4, 1, 2, 9, 50000, 12, 1, 2, {.transpose_b = true}, VKATTN_F16,
     VKATTN_F16, VKATTN_F32, NULL, NULL, NULL},
    {"K 30000, f16 c", 2, 1, 1, 3, 30000, 20, 1, 1, {.transpose_b = false}, VKATTN_F32, VKATTN_F32, VKATTN_F16, NULL,
     NULL, NULL},
};

START_TEST(test_matmul_long_k)
{
    mm_family_on(_i, "long K (sliced on CPU Vulkan devices)", long_k_cases, PE_COUNT_OF(long_k_cases), 600u);
}
END_TEST

/* K = 2^21 ones times ones: c = K exactly in f32. A CPU Vulkan device refuses it (more slices than an op records)
 * with VKATTN_ERROR_UNSUPPORTED and keeps working; every other device and the CPU backend compute it. */
START_TEST(test_matmul_huge_k)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    const int64_t K = 1 << 21;
    vkattn_device_info info;
    pe_expect(ctx, vkattn_context_device_info(ctx, &info), VKATTN_OK, "device info");
    bool refuses = info.backend == VKATTN_BACKEND_VULKAN && info.type == VKATTN_DEVICE_CPU;
    float *ones = pe_xmalloc((size_t)K * 2 * sizeof *ones);
    for (int64_t i = 0; i < 2 * K; i++)
        ones[i] = 1.0f;
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 2, (const int64_t[]){1, K});
    vkattn_tensor b = vkt_tensor(ctx, VKATTN_F32, 2, (const int64_t[]){K, 2});
    vkattn_tensor c = vkt_tensor(ctx, VKATTN_F32, 2, (const int64_t[]){1, 2});
    vkt_write_f32(ctx, a, ones, (size_t)K);
    vkt_write_f32(ctx, b, ones, (size_t)(2 * K));
    vkattn_result r = vkattn_matmul(ctx, NULL, NULL, a, b, c);
    if (refuses) {
        pe_expect(ctx, r, VKATTN_ERROR_UNSUPPORTED, "K 2^21 on a CPU Vulkan device");
        ck_assert_msg(strstr(vkattn_context_last_error(ctx), "CPU backend") != NULL, "message: %s",
                      vkattn_context_last_error(ctx));
        /* The context still works: the same product over the first 1000 of K, through views. */
        vkattn_tensor va, vb;
        pe_expect(ctx, vkattn_tensor_view(ctx, a, &(vkattn_tensor_desc){.ndim = 2, .shape = {1, 1000}}, 0, &va),
                  VKATTN_OK, "view of a");
        pe_expect(ctx, vkattn_tensor_view(ctx, b, &(vkattn_tensor_desc){.ndim = 2, .shape = {1000, 2}}, 0, &vb),
                  VKATTN_OK, "view of b");
        pe_expect(ctx, vkattn_matmul(ctx, NULL, NULL, va, vb, c), VKATTN_OK, "K 1000 after the refusal");
        float got[2];
        vkt_read_f32(ctx, c, got, 2);
        ck_assert_msg(got[0] == 1000.0f && got[1] == 1000.0f, "K 1000 ones: got %g, %g", got[0], got[1]);
        pe_tensors_destroy(ctx, (const vkattn_tensor[]){va, vb}, 2);
    } else {
        pe_expect(ctx, r, VKATTN_OK, "K 2^21");
        float got[2];
        vkt_read_f32(ctx, c, got, 2);
        ck_assert_msg(got[0] == (float)K && got[1] == (float)K, "K 2^21 ones: got %g, %g", got[0], got[1]);
    }
    free(ones);
    pe_tensors_destroy(ctx, (const vkattn_tensor[]){a, b, c}, 3);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- command lists ----------------------------------------------------------------------------------------------- */

/* One list: copy a (f32 -> f16), s = a b^T, o = s v. Each op reads what the one before wrote; o is checked against
 * the float64 (a b^T) v of the stored values. */
START_TEST(test_matmul_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    enum { M = 9, K = 64, N = 33, D = 16 };
    const int64_t sa[2] = {M, K}, sb[2] = {N, K}, ss[2] = {M, N}, sv[2] = {N, D}, so[2] = {M, D};
    static float a[M * K], b[N * K], v[N * D], vabs[N * D], o[M * D], s32[M * N], smag32[M * N];
    static double s[M * N], smag[M * N], want[M * D], mag[M * D], want_unused[M * D];
    vkt_fill_uniform(a, M * K, 500u, -1.0f, 1.0f);
    pe_round_to_dtype(VKATTN_F16, a, M * K);
    vkt_fill_uniform(b, N * K, 501u, -1.0f, 1.0f);
    vkt_fill_uniform(v, N * D, 502u, -1.0f, 1.0f);
    vkattn_tensor src = vkt_tensor(ctx, VKATTN_F32, 2, sa), ta = vkt_tensor(ctx, VKATTN_F16, 2, sa);
    vkattn_tensor tb = vkt_tensor(ctx, VKATTN_F32, 2, sb), ts = vkt_tensor(ctx, VKATTN_F32, 2, ss);
    vkattn_tensor tv = vkt_tensor(ctx, VKATTN_F32, 2, sv), to = vkt_tensor(ctx, VKATTN_F32, 2, so);
    vkt_write_f32(ctx, src, a, M * K);
    vkt_write_f32(ctx, tb, b, N * K);
    vkt_write_f32(ctx, tv, v, N * D);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_copy(ctx, cmd, src, ta), VKATTN_OK, "vkattn_copy (recorded)");
    pe_expect(ctx, vkattn_matmul(ctx, cmd, &(vkattn_matmul_desc){.transpose_b = true}, ta, tb, ts), VKATTN_OK,
              "a b^T (recorded)");
    pe_expect(ctx, vkattn_matmul(ctx, cmd, NULL, ts, tv, to), VKATTN_OK, "s v (recorded)");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 3);
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    vkt_read_f32(ctx, to, o, M * D);
    /* want = s v with s rounded to f32 (its rounding is 2^-24 of |s|); the size of the chain's terms is
     * sum_j (sum_k |a b|)_ij |v_jd|, the second product of the sizes. */
    const mm_case first = {"a b^T", 2, 1, 1, M, K, N, 1, 1, {.transpose_b = true}, VKATTN_F16, VKATTN_F32,
                           VKATTN_F32, NULL, NULL, NULL};
    const mm_case second = {"s v", 2, 1, 1, M, N, D, 1, 1, {.transpose_b = false}, VKATTN_F32, VKATTN_F32, VKATTN_F32,
    NULL, NULL,
                            NULL};
    mm_reference(&first, a, b, s, smag);
    for (size_t i = 0; i < M * N; i++) {
        s32[i] = (float)s[i];
        smag32[i] = (float)smag[i];
    }
    for (size_t i = 0; i < N * D; i++)
        vabs[i] = fabsf(v[i]);
    mm_reference(&second, s32, v, want, mag);
    mm_reference(&second, smag32, vabs, mag, want_unused);
    pe_report(ctx, "matmul", "cmd: copy -> a b^T -> (a b^T) v", mm_error(o, want, mag, M * D), 2 * MM_F32_TOL);
    vkattn_cmd_destroy(cmd);
    pe_tensors_destroy(ctx, (const vkattn_tensor[]){src, ta, tb, ts, tv, to}, 6);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------------------ */

typedef struct mm_expected {
    const char *what;
    const vkattn_matmul_desc *desc;
    vkattn_tensor a, b, c;
    vkattn_result want;
} mm_expected;

/* A view of base (1-dim) with the given 2-dim shape and strides at offset. */
static vkattn_tensor view2(vkattn_context *ctx, vkattn_tensor base, int64_t rows, int64_t cols, int64_t row_stride,
                           int64_t col_stride, int64_t offset)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {rows, cols}, .strides = {row_stride, col_stride}};
    vkattn_tensor t = {0};
    pe_expect(ctx, vkattn_tensor_view(ctx, base, &d, offset, &t), VKATTN_OK, "vkattn_tensor_view");
    return t;
}

START_TEST(test_matmul_errors)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    enum { A, B, C, B_K5, B_H3, B_BATCH3, C_M5, C_N5, C3, A1, A_I32, C_I32, A_F16, A2, B2, BASE, STALE, COUNT };
    vkattn_tensor t[COUNT + 6] = {
        pe_tensor_of(ctx, VKATTN_F32, 4, 2, 4, 3, 4),  pe_tensor_of(ctx, VKATTN_F32, 4, 2, 2, 4, 6),
        pe_tensor_of(ctx, VKATTN_F32, 4, 2, 4, 3, 6),  pe_tensor_of(ctx, VKATTN_F32, 4, 2, 2, 5, 6),
        pe_tensor_of(ctx, VKATTN_F32, 4, 2, 3, 4, 6),  pe_tensor_of(ctx, VKATTN_F32, 4, 3, 2, 4, 6),
        pe_tensor_of(ctx, VKATTN_F32, 4, 2, 4, 5, 6),  pe_tensor_of(ctx, VKATTN_F32, 4, 2, 4, 3, 5),
        pe_tensor_of(ctx, VKATTN_F32, 3, 4, 3, 6, 0),  pe_tensor_of(ctx, VKATTN_F32, 1, 4, 0, 0, 0),
        pe_tensor_of(ctx, VKATTN_I32, 4, 2, 4, 3, 4),  pe_tensor_of(ctx, VKATTN_I32, 4, 2, 4, 3, 6),
        pe_tensor_of(ctx, VKATTN_F16, 4, 2, 4, 3, 4),  pe_tensor_of(ctx, VKATTN_F32, 2, 3, 4, 0, 0),
        pe_tensor_of(ctx, VKATTN_F32, 2, 4, 6, 0, 0),  pe_tensor_of(ctx, VKATTN_F32, 1, 64, 0, 0, 0),
        pe_tensor_of(ctx, VKATTN_F32, 4, 2, 4, 3, 4),
    };
    vkattn_tensor_destroy(ctx, t[STALE]);
    /* Views of one 64-element base: a [3, 4] on 0 .. 11, b [4, 6] on 12 .. 35, c [3, 6] on 8 .. 25 (over a and b)
     * and on 30 .. 47 (over b), c [3, 6] with strides (1, 1) whose elements share memory, c [3, 6] on 40 .. 57. */
    enum { A_IN_BASE = COUNT, B_IN_BASE, C_OVER_A, C_OVER_B, C_SHARED, C_FREE };
    t[A_IN_BASE] = view2(ctx, t[BASE], 3, 4, 4, 1, 0);
    t[B_IN_BASE] = view2(ctx, t[BASE], 4, 6, 6, 1, 12);
    t[C_OVER_A] = view2(ctx, t[BASE], 3, 6, 6, 1, 8);
    t[C_OVER_B] = view2(ctx, t[BASE], 3, 6, 6, 1, 30);
    t[C_SHARED] = view2(ctx, t[BASE], 3, 6, 1, 1, 30);
    t[C_FREE] = view2(ctx, t[BASE], 3, 6, 6, 1, 40);
    const vkattn_matmul_desc transposed = {.transpose_b = true}, nan_scale = {.scale = NAN},
                             inf_scale = {.scale = -INFINITY};
    const vkattn_tensor none = {0};
    const mm_expected calls[] = {
        {"K mismatch (b [.., 5, 6] for K 4)", NULL, t[A], t[B_K5], t[C], VKATTN_ERROR_SHAPE_MISMATCH},
        {"transpose_b with b [.., K, N]", &transposed, t[A], t[B], t[C], VKATTN_ERROR_SHAPE_MISMATCH},
        {"heads_b 3 does not divide heads 4", NULL, t[A], t[B_H3], t[C], VKATTN_ERROR_SHAPE_MISMATCH},
        {"batch_b 3 for batch 2", NULL, t[A], t[B_BATCH3], t[C], VKATTN_ERROR_SHAPE_MISMATCH},
        {"c with M 5", NULL, t[A], t[B], t[C_M5], VKATTN_ERROR_SHAPE_MISMATCH},
        {"c with N 5", NULL, t[A], t[B], t[C_N5], VKATTN_ERROR_SHAPE_MISMATCH},
        {"c with 3 dims for a with 4", NULL, t[A], t[B], t[C3], VKATTN_ERROR_SHAPE_MISMATCH},
        {"1-dim a", NULL, t[A1], t[B2], t[A1], VKATTN_ERROR_SHAPE_MISMATCH},
        {"i32 a", NULL, t[A_I32], t[B], t[C], VKATTN_ERROR_DTYPE_MISMATCH},
        {"i32 c", NULL, t[A], t[B], t[C_I32], VKATTN_ERROR_DTYPE_MISMATCH},
        {"c overlaps a", NULL, t[A_IN_BASE], t[B2], t[C_OVER_A], VKATTN_ERROR_SHAPE_MISMATCH},
        {"c overlaps b", NULL, t[A2], t[B_IN_BASE], t[C_OVER_B], VKATTN_ERROR_SHAPE_MISMATCH},
        {"c's elements share memory", NULL, t[A2], t[B2], t[C_SHARED], VKATTN_ERROR_SHAPE_MISMATCH},
        {"scale NaN", &nan_scale, t[A], t[B], t[C], VKATTN_ERROR_INVALID_ARGUMENT},
        {"scale -inf", &inf_scale, t[A], t[B], t[C], VKATTN_ERROR_INVALID_ARGUMENT},
        {"zero a", NULL, none, t[B], t[C], VKATTN_ERROR_INVALID_HANDLE},
        {"zero b", NULL, t[A], none, t[C], VKATTN_ERROR_INVALID_HANDLE},
        {"zero c", NULL, t[A], t[B], none, VKATTN_ERROR_INVALID_HANDLE},
        {"destroyed b", NULL, t[A], t[STALE], t[C], VKATTN_ERROR_INVALID_HANDLE},
        {"the valid call", NULL, t[A], t[B], t[C], VKATTN_OK},
        {"the valid call, f16 a", NULL, t[A_F16], t[B], t[C], VKATTN_OK},
        {"the valid call on views of one base", NULL, t[A_IN_BASE], t[B_IN_BASE], t[C_FREE], VKATTN_OK},
    };
    pe_expect(NULL, vkattn_matmul(NULL, NULL, NULL, t[A], t[B], t[C]), VKATTN_ERROR_INVALID_ARGUMENT, "NULL ctx");
    for (size_t k = 0; k < PE_COUNT_OF(calls); k++)
        pe_expect(ctx, vkattn_matmul(ctx, NULL, calls[k].desc, calls[k].a, calls[k].b, calls[k].c), calls[k].want,
                  calls[k].what);
    pe_tensors_destroy(ctx, t, PE_COUNT_OF(t));
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *matmul_suite(void)
{
    Suite *s = suite_create("matmul");
    TCase *tc = tcase_create("matmul");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_matmul_sizes, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_dtypes, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_broadcast, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_null_desc, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_strided, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_paths, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_long_k, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_huge_k, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_matmul_errors, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(matmul_suite());
}
