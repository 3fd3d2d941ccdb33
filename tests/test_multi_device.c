/*
 * test_multi_device.c - the multi-device pattern of docs/multi-device.md: one attention layer split by heads across
 * two contexts (the CPU backend and the Vulkan device, lavapipe here), each with its own copies of its slices of
 * q, k and v, both lists submitted before either is waited on, the output slices gathered into one host buffer. The
 * gathered result must equal the whole layer on one CPU-backend context (MHA, GQA, MQA; causal, RoPE, decode with a
 * KV cache, batch 2). Also: contexts are independent, so a tensor of one context used with the other fails with
 * VKATTN_ERROR_INVALID_HANDLE, in both directions, even while the other context has tensors of its own, and a
 * command list of one context records no op of the other (VKATTN_ERROR_INVALID_ARGUMENT).
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Both backends compute each output in f32 from the same inputs; they differ by the order of the sums and by exp,
 * a few 2^-24 of the output's terms (v in [-1, 1), so the outputs are at most 1 in magnitude). */
#define MULTI_TOL 1e-5

typedef struct layer {
    const char *name;
    int64_t batch, q_len, kv_len, heads, kv_heads, head_dim;
    int64_t split; /* query heads on the first context: a multiple of heads / kv_heads, or any with one KV head */
    bool causal, rope;
    int32_t q_offset;
} layer;

/* One context's part of the layer: query heads [h0, h0 + n) and the KV heads they read. */
typedef struct part {
    vkattn_context *ctx;
    vkattn_cmd *cmd;
    vkattn_tensor q, k, v, out;
    int64_t h0, n, kv0, kv_n;
} part;

/* Copies n heads of every row: from head src_h0 of src [rows, src_heads, dim] to head dst_h0 of dst [rows,
 * dst_heads, dim]. */
static void copy_heads(float *dst, int64_t dst_heads, int64_t dst_h0, const float *src, int64_t src_heads,
                       int64_t src_h0, int64_t rows, int64_t n, int64_t dim)
{
    for (int64_t s = 0; s < rows; s++)
        memcpy(dst + (s * dst_heads + dst_h0) * dim, src + (s * src_heads + src_h0) * dim,
               (size_t)(n * dim) * sizeof(float));
}

static vkattn_tensor slice_tensor(vkattn_context *ctx, const float *src, int64_t batch, int64_t len, int64_t heads,
                                  int64_t h0, int64_t n, int64_t dim)
{
    const int64_t shape[4] = {batch, len, n, dim};
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_F32, 4, shape);
    if (src) {
        size_t count = (size_t)(batch * len * n * dim);
        float *packed = malloc(count * sizeof(float));
        ck_assert_ptr_nonnull(packed);
        copy_heads(packed, n, 0, src, heads, h0, batch * len, n, dim);
        vkt_write_f32(ctx, t, packed, count);
        free(packed);
    }
    return t;
}

/* Query heads [h0, h0 + n) read KV heads [h0 / group, (h0 + n - 1) / group + 1): whole groups when the split is on a
 * group boundary; with a single KV head every part gets its own copy of it. */
static void record_part(part *p, const layer *l, const float *q, const float *k, const float *v)
{
    int64_t group = l->heads / l->kv_heads;
    p->kv0 = p->h0 / group;
    p->kv_n = (p->h0 + p->n - 1) / group + 1 - p->kv0;
    ck_assert_msg(p->n % p->kv_n == 0, "%s: the split is not on a KV-group boundary", l->name);
    p->q = slice_tensor(p->ctx, q, l->batch, l->q_len, l->heads, p->h0, p->n, l->head_dim);
    p->k = slice_tensor(p->ctx, k, l->batch, l->kv_len, l->kv_heads, p->kv0, p->kv_n, l->head_dim);
    p->v = slice_tensor(p->ctx, v, l->batch, l->kv_len, l->kv_heads, p->kv0, p->kv_n, l->head_dim);
    p->out = slice_tensor(p->ctx, NULL, l->batch, l->q_len, l->heads, p->h0, p->n, l->head_dim);
    const vkattn_attention_desc ad = {.causal = l->causal, .q_offset = l->q_offset,
                                      .pe = l->rope ? VKATTN_PE_ROPE : VKATTN_PE_NONE};
    ck_assert_int_eq(vkattn_cmd_create(p->ctx, NULL, &p->cmd), VKATTN_OK);
    vkattn_result r = vkattn_attention(p->ctx, p->cmd, &ad, p->q, p->k, p->v, p->out);
    ck_assert_msg(r == VKATTN_OK, "%s: attention: %s (%s)", l->name, vkattn_result_name(r),
                  vkattn_context_last_error(p->ctx));
}

/* Runs the parts (one per context) and gathers their outputs into out [batch, q_len, heads, head_dim]. The Vulkan
 * lists are submitted first: their submit returns at once, while the CPU backend runs its list inside submit. */
static void run_split(part *parts, int count, const layer *l, const float *q, const float *k, const float *v,
                      float *out)
{
    for (int i = 0; i < count; i++)
        record_part(&parts[i], l, q, k, v);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < count; i++)
            if ((vkattn_context_backend(parts[i].ctx) == VKATTN_BACKEND_CPU) == (pass == 1))
                ck_assert_int_eq(vkattn_cmd_submit(parts[i].cmd), VKATTN_OK);
    for (int i = 0; i < count; i++) {
        ck_assert_int_eq(vkattn_cmd_wait(parts[i].cmd, UINT64_MAX), VKATTN_OK);
        size_t n = (size_t)(l->batch * l->q_len * parts[i].n * l->head_dim);
        float *packed = malloc(n * sizeof(float));
        ck_assert_ptr_nonnull(packed);
        vkt_read_f32(parts[i].ctx, parts[i].out, packed, n);
        copy_heads(out, l->heads, parts[i].h0, packed, parts[i].n, 0, l->batch * l->q_len, parts[i].n,
                   l->head_dim);
        free(packed);
        vkattn_cmd_destroy(parts[i].cmd);
    }
}

static const layer layers[] = {
    {"MHA 8/8, split 3 + 5, causal, RoPE", 1, 37, 37, 8, 8, 32, 3, true, true, 0},
    {"GQA 8/2, split 4 + 4, causal, RoPE, batch 2", 2, 29, 29, 8, 2, 64, 4, true, true, 0},
    {"GQA 12/4, split 3 + 9, no mask, no PE", 1, 20, 45, 12, 4, 16, 3, false, false, 0},
    {"GQA 8/2, decode after a cache of 76, causal, RoPE", 1, 1, 77, 8, 2, 64, 4, true, true, 76},
    {"MQA 8/1, split 5 + 3 (K, V on both), causal, RoPE", 1, 33, 33, 8, 1, 32, 5, true, true, 0},
};

START_TEST(test_split_matches_one_context)
{
    const layer *l = &layers[_i];
    vkattn_context *cpu = vkt_context(VKATTN_BACKEND_CPU);
    if (!cpu)
        return;
    vkattn_context *gpu = vkt_context(VKATTN_BACKEND_VULKAN);
    if (!gpu) {
        vkt_context_destroy(cpu);
        return;
    }
    vkattn_context *whole_ctx = vkt_context(VKATTN_BACKEND_CPU);
    size_t nq = (size_t)(l->batch * l->q_len * l->heads * l->head_dim);
    size_t nk = (size_t)(l->batch * l->kv_len * l->kv_heads * l->head_dim);
    float *q = malloc(nq * sizeof(float)), *k = malloc(nk * sizeof(float)), *v = malloc(nk * sizeof(float));
    float *split_out = malloc(nq * sizeof(float)), *whole_out = malloc(nq * sizeof(float));
    ck_assert(q && k && v && split_out && whole_out);
    vkt_fill_uniform(q, nq, 11u, -2.0f, 2.0f);
    vkt_fill_uniform(k, nk, 12u, -2.0f, 2.0f);
    vkt_fill_uniform(v, nk, 13u, -1.0f, 1.0f);
    /* NaN everywhere first: a head that no part writes fails the comparison. */
    for (size_t i = 0; i < nq; i++)
        split_out[i] = NAN;

    /* Vulkan first in the list, so the CPU backend's part is the one that runs while the other is in flight. */
    part parts[2] = {{.ctx = gpu, .h0 = 0, .n = l->split}, {.ctx = cpu, .h0 = l->split, .n = l->heads - l->split}};
    run_split(parts, 2, l, q, k, v, split_out);
    part whole = {.ctx = whole_ctx, .h0 = 0, .n = l->heads};
    run_split(&whole, 1, l, q, k, v, whole_out);

    double worst = 0.0;
    size_t worst_at = 0;
    for (size_t i = 0; i < nq; i++) {
        double d = fabs((double)split_out[i] - (double)whole_out[i]);
        if (!(d <= worst)) { /* a NaN is the worst */
            worst = d;
            worst_at = i;
        }
    }
    ck_assert_msg(worst <= MULTI_TOL, "%s: max |split - whole| = %g at %zu (split %g, whole %g)", l->name, worst,
                  worst_at, (double)split_out[worst_at], (double)whole_out[worst_at]);
    free(q);
    free(k);
    free(v);
    free(split_out);
    free(whole_out);
    vkt_context_destroy(whole_ctx);
    vkt_context_destroy(gpu);
    vkt_context_destroy(cpu);
}
END_TEST

/* Uses tensors of `a` with context `b` (which has tensors of its own, so a handle that merely looked like one of
 * b's would be accepted): every call must fail with INVALID_HANDLE and leave b's own tensors usable. */
static void check_foreign_handles(vkattn_context *a, vkattn_context *b)
{
    const int64_t shape[3] = {4, 2, 8};
    vkattn_tensor ta[4], tb[4];
    for (int i = 0; i < 4; i++) {
        ta[i] = vkt_tensor(a, VKATTN_F32, 3, shape);
        tb[i] = vkt_tensor(b, VKATTN_F32, 3, shape);
    }
    float host[64] = {0};
    vkt_fill_uniform(host, 64, 5u, -1.0f, 1.0f);
    vkt_write_f32(b, tb[0], host, 64);
    vkt_write_f32(b, tb[1], host, 64);
    vkt_write_f32(b, tb[2], host, 64);

    ck_assert_int_eq(vkattn_tensor_write(b, ta[0], host, sizeof host), VKATTN_ERROR_INVALID_HANDLE);
    ck_assert_int_eq(vkattn_tensor_read(b, ta[0], host, sizeof host), VKATTN_ERROR_INVALID_HANDLE);
    vkattn_tensor_desc d;
    ck_assert_int_eq(vkattn_tensor_get_desc(b, ta[1], &d), VKATTN_ERROR_INVALID_HANDLE);
    /* One foreign tensor among b's own, in each position of the op. */
    for (int pos = 0; pos < 4; pos++) {
        vkattn_tensor t[4] = {tb[0], tb[1], tb[2], tb[3]};
        t[pos] = ta[pos];
        ck_assert_int_eq(vkattn_attention(b, NULL, NULL, t[0], t[1], t[2], t[3]), VKATTN_ERROR_INVALID_HANDLE);
    }
    /* A command list of a with b's own tensors: the list cannot record another context's op. */
    vkattn_cmd *cmd_a = NULL;
    ck_assert_int_eq(vkattn_cmd_create(a, NULL, &cmd_a), VKATTN_OK);
    ck_assert_int_eq(vkattn_attention(b, cmd_a, NULL, tb[0], tb[1], tb[2], tb[3]), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd_a), 0);
    vkattn_cmd_destroy(cmd_a);
    /* Destroying a foreign handle is ignored (a stale handle is); a's tensor stays alive. */
    vkattn_tensor_destroy(b, ta[2]);
    vkt_write_f32(a, ta[2], host, 64);

    ck_assert_int_eq(vkattn_attention(b, NULL, NULL, tb[0], tb[1], tb[2], tb[3]), VKATTN_OK);
    float got[64];
    vkt_read_f32(b, tb[3], got, 64);
    ck_assert(isfinite(got[0]) && isfinite(got[63]));
}

/* Loop index: 0 = two CPU-backend contexts, 1 = CPU backend and Vulkan, 2 = Vulkan and CPU backend. */
START_TEST(test_contexts_are_independent)
{
    vkattn_context *a = vkt_context(_i == 2 ? VKATTN_BACKEND_VULKAN : VKATTN_BACKEND_CPU);
    if (!a)
        return;
    vkattn_context *b = vkt_context(_i == 1 ? VKATTN_BACKEND_VULKAN : VKATTN_BACKEND_CPU);
    if (!b) {
        vkt_context_destroy(a);
        return;
    }
    check_foreign_handles(a, b);
    check_foreign_handles(b, a);
    vkt_context_destroy(b);
    vkt_context_destroy(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multi_device");
    TCase *tc = tcase_create("multi_device");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_split_matches_one_context, 0, (int)(sizeof layers / sizeof layers[0]));
    tcase_add_loop_test(tc, test_contexts_are_independent, 0, 3);
    suite_add_tcase(s, tc);
    return vkt_run_suite(s);
}
