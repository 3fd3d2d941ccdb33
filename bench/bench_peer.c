/*
 * bench_peer.c - `vkattn bench --peer`: the shapes that issue 8 gives figures of ggml's Vulkan backend (llama.cpp)
 * for, measured on this device, beside the peer's figure and the copy bandwidth of the same run.
 *
 * The peer's shapes are in ggml's order (ne0 first: ne0 is the row, the axis softmax runs along; a RoPE tensor is
 * [head_dim, heads, tokens]); here they become row-major shapes with the row last. Bytes = read + written, as the
 * peer counts them. The peer's figures were measured on lavapipe (Mesa 22.3.6, LLVM 15) on 2 cores of an AMD EPYC:
 * they compare only with a run on that device.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct peer_case {
    const char *label;    /* the shape in ggml's order */
    bool rope;            /* RoPE GPT-J; else softmax */
    int64_t shape[4];     /* row-major, row last: softmax [1, ne2, ne1, ne0]; RoPE [1, tokens, heads, head_dim] */
    double peer_gbps;     /* ggml Vulkan on lavapipe (issue 8) */
} peer_case;

static const peer_case cases[] = {
    {"softmax f32 [77 x 4096 x 5]", false, {1, 5, 4096, 77}, 0.11},
    {"softmax f32 [1024 x 1024 x 10]", false, {1, 10, 1024, 1024}, 0.55},
    {"softmax f32 [256 x 256 x 20]", false, {1, 20, 256, 256}, 0.32},
    {"softmax f32 [32768 x 16]", false, {1, 1, 16, 32768}, 0.15},
    {"softmax f32 [262144 x 16]", false, {1, 1, 16, 262144}, 0.17},
    {"rope gptj f32 [128 x 32 x 512]", true, {1, 512, 32, 128}, 0.04},
    {"rope gptj f32 [128 x 64 x 512]", true, {1, 512, 64, 128}, 0.05},
};

#define PEER_CASES (sizeof cases / sizeof cases[0])

typedef enum peer_job { PEER_OP, PEER_COPY_BUFFER, PEER_COPY_SHADER } peer_job;

static vkattn_result make(vkattn_context *ctx, const int64_t *shape, vkattn_tensor *out)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 4};
    memcpy(d.shape, shape, sizeof d.shape);
    vkattn_result r = vkattn_tensor_create(ctx, &d, out);
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    float *data = r == VKATTN_OK ? malloc(n * sizeof *data) : NULL;
    if (r == VKATTN_OK && !data)
        r = VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; data && i < n; i++)
        data[i] = (float)((i * 2654435761u) % 1000u) * 1e-2f - 5.0f; /* finite, varied: times may depend on exp */
    if (r == VKATTN_OK)
        r = vkattn_tensor_write(ctx, *out, data, n * sizeof *data);
    free(data);
    return r;
}

/* What one timed list records: job on x -> y. */
typedef struct peer_run {
    const peer_case *c;
    peer_job job;
    vkattn_tensor x, y;
} peer_run;

static vkattn_result record(vkattn_context *ctx, vkattn_cmd *cmd, void *user)
{
    const peer_run *pr = user;
    vkattn_rope_desc rope = {.mode = VKATTN_ROPE_GPTJ};
    switch (pr->job) {
    case PEER_COPY_BUFFER: return vkattn_copy_buffer(ctx, cmd, pr->x, pr->y);
    case PEER_COPY_SHADER: return vkattn_copy(ctx, cmd, pr->x, pr->y);
    case PEER_OP: break;
    }
    return pr->c->rope ? vkattn_rope(ctx, cmd, &rope, pr->x, (vkattn_tensor){0}, pr->y)
                       : vkattn_softmax(ctx, cmd, NULL, pr->x, pr->y);
}

/* Median GPU time (summed over the ops one call records) of reps runs after a warm-up. */
static vkattn_result time_job(vkattn_context *ctx, const peer_case *c, peer_job job, vkattn_tensor x,
                              vkattn_tensor y, int reps, double *median_ms)
{
    double *ms = malloc((size_t)reps * sizeof *ms);
    if (!ms)
        return VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    peer_run pr = {c, job, x, y};
    double warm_up;
    vkattn_result r = bench_time_once(ctx, record, &pr, 0, &warm_up, NULL);
    for (int i = 0; r == VKATTN_OK && i < reps; i++)
        r = bench_time_once(ctx, record, &pr, 0, &ms[i], NULL);
    if (r == VKATTN_OK)
        *median_ms = bench_median(ms, reps);
    free(ms);
    return r;
}

/* One case on one context: the op's, the buffer copy's and the copy shader's median times. */
static vkattn_result time_case(vkattn_context *ctx, const peer_case *c, int reps, double ms[3])
{
    vkattn_tensor x = {0}, y = {0};
    vkattn_result r = make(ctx, c->shape, &x);
    if (r == VKATTN_OK) r = make(ctx, c->shape, &y);
    if (r == VKATTN_OK) r = time_job(ctx, c, PEER_OP, x, y, reps, &ms[0]);
    if (r == VKATTN_OK) r = time_job(ctx, c, PEER_COPY_BUFFER, x, y, reps, &ms[1]);
    if (r == VKATTN_OK) r = time_job(ctx, c, PEER_COPY_SHADER, x, y, reps, &ms[2]);
    vkattn_tensor_destroy(ctx, x);
    vkattn_tensor_destroy(ctx, y);
    return r;
}

vkattn_result bench_peer(vkattn_context *ctx, vkattn_context *baseline, int reps, FILE *out)
{
    vkattn_device_info info;
    vkattn_result r = vkattn_context_device_info(ctx, &info);
    if (r != VKATTN_OK)
        return r;
    fprintf(out, "\n%s: %s (GB/s = bytes read + written per second)\n",
            vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU ? "cpu" : "vulkan", info.name);
    fprintf(out, "  %-31s %9s %8s %6s %7s %9s %7s %8s %7s %7s\n", "shape (ggml order)", "ms", "GB/s", "peer",
            "x peer", "base ms", "x base", "copy", "% copy", "% buf");
    for (size_t i = 0; r == VKATTN_OK && i < PEER_CASES; i++) {
        const peer_case *c = &cases[i];
        double ms[3] = {0}, base[3] = {0};
        r = time_case(ctx, c, reps, ms);
        if (r == VKATTN_OK && baseline)
            r = time_case(baseline, c, reps, base);
        if (r != VKATTN_OK)
            break;
        double bytes = 8.0 * (double)(c->shape[0] * c->shape[1] * c->shape[2] * c->shape[3]);
        double gbps = bytes / (ms[0] * 1e6), buf = bytes / (ms[1] * 1e6), copy = bytes / (ms[2] * 1e6);
        fprintf(out, "  %-31s %9.3f %8.3f %6.2f %6.1fx", c->label, ms[0], gbps, c->peer_gbps, gbps / c->peer_gbps);
        if (baseline)
            fprintf(out, " %9.3f %6.2fx", base[0], base[0] / ms[0]);
        else
            fprintf(out, " %9s %7s", "-", "-");
        fprintf(out, " %8.3f %6.1f%% %6.1f%%\n", copy, 100.0 * gbps / copy, 100.0 * gbps / buf);
        fflush(out);
    }
    if (baseline)
        fprintf(out, "  base: the same op with VKATTN_CONTEXT_BASELINE_KERNELS (the portable kernels), timed right "
                     "after;\n");
    fprintf(out, "  copy: vkattn_copy (the copy shader) on the same bytes; %% buf: against vkattn_copy_buffer (the "
                 "driver's copy)\n");
    return r;
}
