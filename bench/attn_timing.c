/*
 * attn_timing.c - a small timing program until `vkattn bench` exists (issue 5): fused vs unfused attention
 * (vkattn_attention with desc.unfused) on one shape, prefill (causal, q_len = seq) and decode (q_len 1 against a
 * KV cache of seq), timed with GPU timestamps (wall clock on the CPU backend) over a few repetitions after a
 * warm-up. Uses only the public header.
 *
 *   build/attn_timing [--backend cpu|vulkan] [--seq N] [--heads H] [--kv-heads H] [--head-dim D] [--reps R] [--f16]
 *                     [--baseline-kernels]
 * --baseline-kernels: VKATTN_CONTEXT_BASELINE_KERNELS (the portable kernels only, for comparing the paths).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkattn.h"

typedef struct shape {
    int64_t seq, heads, kv_heads, head_dim;
    int reps;
    vkattn_dtype dtype;
    vkattn_backend backend;
    uint32_t flags; /* vkattn_context_flags */
} shape;

static int fail(vkattn_context *ctx, const char *what, vkattn_result r)
{
    fprintf(stderr, "attn_timing: %s: %s (%s)\n", what, vkattn_result_name(r), vkattn_context_last_error(ctx));
    return 1;
}

static vkattn_result make(vkattn_context *ctx, const shape *s, int64_t seq, int64_t heads, vkattn_tensor *t)
{
    vkattn_tensor_desc d = {.dtype = s->dtype, .ndim = 4, .shape = {1, seq, heads, s->head_dim}};
    vkattn_result r = vkattn_tensor_create(ctx, &d, t);
    if (r != VKATTN_OK)
        return r;
    size_t n = (size_t)(seq * heads * s->head_dim), size = vkattn_dtype_size(s->dtype);
    unsigned char *zeros = calloc(n, size); /* the timing does not depend on the values */
    r = zeros ? vkattn_tensor_write(ctx, *t, zeros, n * size) : VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    free(zeros);
    return r;
}

/* Median milliseconds of reps runs (after one warm-up) of attention q_len x seq. */
static vkattn_result time_attention(vkattn_context *ctx, const shape *s, int64_t q_len, bool unfused, double *ms)
{
    vkattn_tensor q, k, v, o;
    vkattn_result r = make(ctx, s, q_len, s->heads, &q);
    if (r == VKATTN_OK) r = make(ctx, s, s->seq, s->kv_heads, &k);
    if (r == VKATTN_OK) r = make(ctx, s, s->seq, s->kv_heads, &v);
    if (r == VKATTN_OK) r = make(ctx, s, q_len, s->heads, &o);
    vkattn_attention_desc d = {.causal = true, .q_offset = (int32_t)(s->seq - q_len), .unfused = unfused};
    double times[64];
    int reps = s->reps < 64 ? s->reps : 64;
    for (int i = -1; r == VKATTN_OK && i < reps; i++) {
        vkattn_cmd *cmd = NULL;
        vkattn_cmd_desc cd = {.flags = VKATTN_CMD_TIMESTAMPS};
        r = vkattn_cmd_create(ctx, &cd, &cmd);
        if (r == VKATTN_OK) r = vkattn_attention(ctx, cmd, &d, q, k, v, o);
        if (r == VKATTN_OK) r = vkattn_cmd_submit(cmd);
        if (r == VKATTN_OK) r = vkattn_cmd_wait(cmd, UINT64_MAX);
        vkattn_op_timing t[8];
        uint32_t n = 0;
        if (r == VKATTN_OK) r = vkattn_cmd_timings(cmd, t, 8, &n);
        double total = 0.0;
        for (uint32_t j = 0; j < n && j < 8; j++)
            total += t[j].ms;
        if (i >= 0)
            times[i] = total;
        vkattn_cmd_destroy(cmd);
    }
    for (int i = 1; i < reps; i++) /* insertion sort: a handful of values */
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double x = times[j];
            times[j] = times[j - 1];
            times[j - 1] = x;
        }
    *ms = r == VKATTN_OK ? times[reps / 2] : 0.0;
    return r;
}

static bool parse(int argc, char **argv, shape *s)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--f16")) { s->dtype = VKATTN_F16; continue; }
        if (!strcmp(a, "--baseline-kernels")) { s->flags |= VKATTN_CONTEXT_BASELINE_KERNELS; continue; }
        if (!v) return false;
        i++;
        if (!strcmp(a, "--backend")) {
            if (strcmp(v, "cpu") && strcmp(v, "vulkan")) return false;
            s->backend = !strcmp(v, "cpu") ? VKATTN_BACKEND_CPU : VKATTN_BACKEND_VULKAN;
        }
        else if (!strcmp(a, "--seq")) s->seq = atoll(v);
        else if (!strcmp(a, "--heads")) s->heads = atoll(v);
        else if (!strcmp(a, "--kv-heads")) s->kv_heads = atoll(v);
        else if (!strcmp(a, "--head-dim")) s->head_dim = atoll(v);
        else if (!strcmp(a, "--reps")) s->reps = atoi(v);
        else return false;
    }
    return s->seq > 0 && s->heads > 0 && s->kv_heads > 0 && s->head_dim > 0 && s->reps > 0;
}

int main(int argc, char **argv)
{
    shape s = {.seq = 2048, .heads = 8, .kv_heads = 8, .head_dim = 64, .reps = 3, .backend = VKATTN_BACKEND_AUTO};
    if (!parse(argc, argv, &s)) {
        fprintf(stderr, "usage: attn_timing [--backend cpu|vulkan] [--seq N] [--heads H] [--kv-heads H] "
                        "[--head-dim D] [--reps R] [--f16] [--baseline-kernels]\n");
        return 2;
    }
    vkattn_context_desc cd = {.backend = s.backend, .flags = s.flags};
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&cd, &ctx);
    if (r != VKATTN_OK)
        return fail(NULL, "context", r);
    vkattn_device_info info;
    vkattn_context_device_info(ctx, &info);
    printf("device: %s (%s backend%s); heads %lld/%lld, head_dim %lld, %s, causal, median of %d\n", info.name,
           info.backend == VKATTN_BACKEND_CPU ? "cpu" : "vulkan",
           (s.flags & VKATTN_CONTEXT_BASELINE_KERNELS) ? ", baseline kernels" : "", (long long)s.heads,
           (long long)s.kv_heads, (long long)s.head_dim, vkattn_dtype_name(s.dtype), s.reps);
    const struct { const char *name; int64_t q_len; } cases[] = {{"prefill", s.seq}, {"decode", 1}};
    int status = 0;
    for (size_t c = 0; c < 2 && !status; c++) {
        double fused_ms, unfused_ms;
        r = time_attention(ctx, &s, cases[c].q_len, false, &fused_ms);
        if (r == VKATTN_OK)
            r = time_attention(ctx, &s, cases[c].q_len, true, &unfused_ms);
        if (r != VKATTN_OK) {
            status = fail(ctx, cases[c].name, r);
            break;
        }
        printf("%-8s seq %-6lld fused %10.3f ms   unfused %10.3f ms   unfused/fused %.2fx\n", cases[c].name,
               (long long)s.seq, fused_ms, unfused_ms, unfused_ms / fused_ms);
    }
    vkattn_context_destroy(ctx);
    return status;
}
