/*
 * multi_device.c - one attention layer split across two devices by heads (docs/multi-device.md).
 *
 * Two contexts, one per device (by default the Vulkan default device and the CPU backend). A GQA layer with
 * `heads` query heads and `kv_heads` KV heads is cut on a KV-group boundary: KV heads [0, split) and the query heads
 * that read them ([0, split * group), group = heads / kv_heads) go to device A, the rest to device B. Each device
 * gets its own copies of its slices of q, k and v, the two command lists are recorded, both are submitted before
 * either is waited on, and the two output slices are gathered into one host buffer that is compared with the whole
 * layer run on one context (device A). Uses only the public header.
 *
 *   build/multi_device [--a SPEC] [--b SPEC] [--seq N] [--heads H] [--kv-heads H] [--head-dim D] [--split K]
 *
 * SPEC: "cpu" (the CPU backend), "vulkan" (the default Vulkan device, VKATTN_DEVICE honoured) or a Vulkan device as
 * desc.device takes it (an index as `vkattn devices` prints it, or a name substring). The environment variables
 * VKATTN_MULTI_A and VKATTN_MULTI_B give the defaults (else "vulkan" and "cpu"). --split: KV heads on device A
 * (default kv_heads / 2, at least 1 and below kv_heads). RoPE (NEOX, base 10000) and causal masking are on.
 *
 * Concurrency with one host thread: a Vulkan submit returns at once, the CPU backend runs the whole list inside
 * vkattn_cmd_submit. So the Vulkan devices are submitted first; the CPU backend's submit then overlaps with them.
 * The first run on a device includes creating its pipelines (cached on disk for the next run).
 * Per device it prints the host time from submit to its wait returning (for a Vulkan device waited on after the CPU
 * backend's submit, at least that submit's time) and the ops' own time from VKATTN_CMD_TIMESTAMPS.
 * Exit status 0 when the gathered result matches within 1e-5 (max absolute difference), else 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vkattn.h"

/* The outputs are convex combinations of v in [-1, 1); two f32 implementations of the same sums agree to a few
 * 2^-24, and lavapipe's exp differs from libm's by a few ulp (tests/test_multi_device.c uses the same bound). */
#define MAX_ABS_DIFF 1e-5

typedef struct layer {
    int64_t seq, heads, kv_heads, head_dim;
    const float *q, *k, *v; /* host [seq, heads or kv_heads, head_dim] */
} layer;

/* One device's part: its context, its tensors and list, and the head ranges it owns. */
typedef struct part {
    const char *spec;
    vkattn_context *ctx;
    vkattn_cmd *cmd;
    vkattn_tensor q, k, v, out;
    int64_t kv0, kv_n, h0, h_n; /* KV heads [kv0, kv0 + kv_n), query heads [h0, h0 + h_n) */
    double ms;                  /* submit to wait returning, on the host's clock */
} part;

static double now_ms(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int fail(const part *p, const char *what, vkattn_result r)
{
    fprintf(stderr, "multi_device: %s on %s: %s (%s)\n", what, p->spec, vkattn_result_name(r),
            vkattn_context_last_error(p->ctx));
    return 1;
}

static vkattn_result open_context(part *p)
{
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_VULKAN};
    if (strcmp(p->spec, "cpu") == 0)
        d.backend = VKATTN_BACKEND_CPU;
    else if (strcmp(p->spec, "vulkan") != 0)
        d.device = p->spec;
    return vkattn_context_create(&d, &p->ctx);
}

/* Copies n heads of every row: from head src_h0 of src [rows, src_heads, dim] to head dst_h0 of dst [rows,
 * dst_heads, dim]. Slicing a part out of the layer and scattering its output back are both this copy. */
static void copy_heads(float *dst, int64_t dst_heads, int64_t dst_h0, const float *src, int64_t src_heads,
                       int64_t src_h0, int64_t rows, int64_t n, int64_t dim)
{
    for (int64_t s = 0; s < rows; s++)
        memcpy(dst + (s * dst_heads + dst_h0) * dim, src + (s * src_heads + src_h0) * dim,
               (size_t)(n * dim) * sizeof(float));
}

static vkattn_result upload(vkattn_context *ctx, const layer *l, const float *src, int64_t heads, int64_t h0,
                            int64_t n, vkattn_tensor *t)
{
    const vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 3, .shape = {l->seq, n, l->head_dim}};
    vkattn_result r = vkattn_tensor_create(ctx, &d, t);
    if (r != VKATTN_OK || !src)
        return r;
    size_t count = (size_t)(l->seq * n * l->head_dim);
    float *packed = malloc(count * sizeof(float));
    if (!packed)
        return VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    copy_heads(packed, n, 0, src, heads, h0, l->seq, n, l->head_dim);
    r = vkattn_tensor_write(ctx, *t, packed, count * sizeof(float));
    free(packed);
    return r;
}

/* Creates the part's tensors (its own copies of its head slices) and records RoPE + causal attention. */
static vkattn_result record_part(part *p, const layer *l)
{
    static const vkattn_rope_desc rope = {0};
    const vkattn_attention_desc ad = {.causal = true, .pe = VKATTN_PE_ROPE, .rope = &rope};
    vkattn_result r;
    const vkattn_cmd_desc cd = {.flags = VKATTN_CMD_TIMESTAMPS};
    if ((r = upload(p->ctx, l, l->q, l->heads, p->h0, p->h_n, &p->q)) ||
        (r = upload(p->ctx, l, l->k, l->kv_heads, p->kv0, p->kv_n, &p->k)) ||
        (r = upload(p->ctx, l, l->v, l->kv_heads, p->kv0, p->kv_n, &p->v)) ||
        (r = upload(p->ctx, l, NULL, l->heads, p->h0, p->h_n, &p->out)) ||
        (r = vkattn_cmd_create(p->ctx, &cd, &p->cmd)))
        return r;
    return vkattn_attention(p->ctx, p->cmd, &ad, p->q, p->k, p->v, p->out);
}

/* Reads the part's output and scatters it into out [seq, heads, head_dim]. */
static vkattn_result gather_part(const part *p, const layer *l, float *out)
{
    size_t count = (size_t)(l->seq * p->h_n * l->head_dim);
    float *packed = malloc(count * sizeof(float));
    if (!packed)
        return VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    vkattn_result r = vkattn_tensor_read(p->ctx, p->out, packed, count * sizeof(float));
    if (r == VKATTN_OK)
        copy_heads(out, l->heads, p->h0, packed, p->h_n, 0, l->seq, p->h_n, l->head_dim);
    free(packed);
    return r;
}

/* Submits the asynchronous (Vulkan) parts first, then the CPU backend's, whose submit runs the list; then waits. */
static int run_parts(part *parts, int n)
{
    vkattn_result r;
    double t0[2] = {0};
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            int is_cpu = vkattn_context_backend(parts[i].ctx) == VKATTN_BACKEND_CPU;
            if (is_cpu != pass)
                continue;
            t0[i] = now_ms();
            if ((r = vkattn_cmd_submit(parts[i].cmd)))
                return fail(&parts[i], "vkattn_cmd_submit", r);
            if (is_cpu)
                parts[i].ms = now_ms() - t0[i]; /* already complete: the CPU backend ran it at submit */
        }
    for (int i = 0; i < n; i++) {
        if ((r = vkattn_cmd_wait(parts[i].cmd, UINT64_MAX)))
            return fail(&parts[i], "vkattn_cmd_wait", r);
        if (vkattn_context_backend(parts[i].ctx) != VKATTN_BACKEND_CPU)
            parts[i].ms = now_ms() - t0[i];
    }
    return 0;
}

static void fill(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        x[i] = (float)seed / 2147483648.0f - 1.0f; /* [-1, 1) */
    }
}

static void destroy_part(part *p)
{
    vkattn_cmd_destroy(p->cmd);
    vkattn_context_destroy(p->ctx); /* frees the tensors too */
}

static int parse(int argc, char **argv, layer *l, int64_t *split, const char **spec_a, const char **spec_b)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t *num = strcmp(opt, "--seq") == 0        ? &l->seq
                       : strcmp(opt, "--heads") == 0    ? &l->heads
                       : strcmp(opt, "--kv-heads") == 0 ? &l->kv_heads
                       : strcmp(opt, "--head-dim") == 0 ? &l->head_dim
                       : strcmp(opt, "--split") == 0    ? split
                                                        : NULL;
        if (!val || (!num && strcmp(opt, "--a") != 0 && strcmp(opt, "--b") != 0)) {
            fprintf(stderr, "usage: multi_device [--a SPEC] [--b SPEC] [--seq N] [--heads H] [--kv-heads H] "
                            "[--head-dim D] [--split K]\n");
            return 1;
        }
        if (num)
            *num = strtoll(val, NULL, 10);
        else if (opt[2] == 'a')
            *spec_a = val;
        else
            *spec_b = val;
        i++;
    }
    if (*split == 0)
        *split = l->kv_heads / 2;
    if (l->seq < 1 || l->head_dim < 1 || l->kv_heads < 2 || l->heads % l->kv_heads || *split < 1 ||
        *split >= l->kv_heads) {
        fprintf(stderr, "multi_device: need kv_heads >= 2 dividing heads and 1 <= split < kv_heads\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    layer l = {.seq = 256, .heads = 16, .kv_heads = 4, .head_dim = 64};
    int64_t split = 0;
    const char *spec_a = getenv("VKATTN_MULTI_A"), *spec_b = getenv("VKATTN_MULTI_B");
    spec_a = spec_a ? spec_a : "vulkan";
    spec_b = spec_b ? spec_b : "cpu";
    if (parse(argc, argv, &l, &split, &spec_a, &spec_b))
        return 1;

    size_t nq = (size_t)(l.seq * l.heads * l.head_dim), nk = (size_t)(l.seq * l.kv_heads * l.head_dim);
    float *q = malloc(nq * sizeof(float)), *k = malloc(nk * sizeof(float)), *v = malloc(nk * sizeof(float));
    float *split_out = malloc(nq * sizeof(float)), *whole_out = malloc(nq * sizeof(float));
    if (!q || !k || !v || !split_out || !whole_out) {
        fprintf(stderr, "multi_device: out of host memory\n");
        return 1;
    }
    fill(q, nq, 1u);
    fill(k, nk, 2u);
    fill(v, nk, 3u);
    l.q = q;
    l.k = k;
    l.v = v;

    int64_t group = l.heads / l.kv_heads;
    part parts[2] = {
        {.spec = spec_a, .kv0 = 0, .kv_n = split, .h0 = 0, .h_n = split * group},
        {.spec = spec_b, .kv0 = split, .kv_n = l.kv_heads - split, .h0 = split * group,
         .h_n = (l.kv_heads - split) * group},
    };
    /* The reference: the whole layer on one more context of device A. */
    part whole = {.spec = spec_a, .kv0 = 0, .kv_n = l.kv_heads, .h0 = 0, .h_n = l.heads};
    vkattn_result r;
    int status = 1;
    for (int i = 0; i < 2; i++) {
        if ((r = open_context(&parts[i])) || (r = record_part(&parts[i], &l))) {
            status = fail(&parts[i], "setup", r);
            goto done;
        }
        vkattn_device_info info;
        vkattn_context_device_info(parts[i].ctx, &info);
        printf("device %c: %s (%s): kv heads [%lld, %lld), q heads [%lld, %lld)\n", 'A' + i, info.name,
               info.backend == VKATTN_BACKEND_CPU ? "CPU backend" : "Vulkan", (long long)parts[i].kv0,
               (long long)(parts[i].kv0 + parts[i].kv_n), (long long)parts[i].h0,
               (long long)(parts[i].h0 + parts[i].h_n));
    }
    double t_split = now_ms();
    if (run_parts(parts, 2))
        goto done;
    t_split = now_ms() - t_split;
    for (int i = 0; i < 2; i++)
        if ((r = gather_part(&parts[i], &l, split_out))) {
            status = fail(&parts[i], "gather", r);
            goto done;
        }

    if ((r = open_context(&whole)) || (r = record_part(&whole, &l))) {
        status = fail(&whole, "setup", r);
        goto done;
    }
    if (run_parts(&whole, 1) || (r = gather_part(&whole, &l, whole_out)) != VKATTN_OK) {
        if (r)
            fail(&whole, "gather", r);
        goto done;
    }

    double max_diff = 0.0;
    for (size_t i = 0; i < nq; i++) {
        double d = fabs((double)split_out[i] - (double)whole_out[i]);
        max_diff = d > max_diff || isnan(d) ? d : max_diff; /* a NaN fails */
    }
    for (int i = 0; i < 2; i++) {
        vkattn_op_timing t[8];
        uint32_t count = 0;
        double op_ms = 0.0;
        int has_op_time = vkattn_cmd_timings(parts[i].cmd, t, 8, &count) == VKATTN_OK;
        for (uint32_t j = 0; has_op_time && j < count && j < 8; j++)
            op_ms += t[j].ms;
        printf("device %c: %.3f ms submit to done", 'A' + i, parts[i].ms);
        if (has_op_time)
            printf(", %.3f ms in its %u ops", op_ms, count);
        printf("\n");
    }
    printf("split: %.3f ms both devices; whole layer on device A: %.3f ms\n", t_split, whole.ms);
    printf("max |split - whole| = %.3g (tolerance %.1g)\n", max_diff, MAX_ABS_DIFF);
    status = max_diff <= MAX_ABS_DIFF ? 0 : 1;
done:
    destroy_part(&parts[0]);
    destroy_part(&parts[1]);
    destroy_part(&whole);
    free(q);
    free(k);
    free(v);
    free(split_out);
    free(whole_out);
    return status;
}
