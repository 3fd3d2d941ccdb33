/*
 * consumer - what an application that embeds vkattn looks like: it owns its buffers (the q, k, v of one layer, as
 * [seq, heads, head_dim] floats), hands them to vkattn, applies RoPE to q and k and runs causal fused attention in one
 * command list, reads the result back into its own buffer, and checks it against a plain float64 computation.
 * Exit status 0 when the two agree within 1e-4, 1 otherwise or on any error.
 *
 * Build against an installed vkattn with CMake (find_package(vkattn), see CMakeLists.txt) or pkg-config:
 *     cc main.c $(pkg-config --cflags --libs vkattn) -lm
 */
#include <vkattn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { SEQ = 24, HEADS = 4, KV_HEADS = 2, DIM = 64 };

/* The application's own data: deterministic values in [-1, 1]. */
static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
}

/* RoPE, NEOX layout, base 10000, position s for row s (vkattn's defaults), in float64. */
static void rope_ref(const float *x, int heads, double *y)
{
    for (int s = 0; s < SEQ; s++)
        for (int h = 0; h < heads; h++) {
            const float *in = x + ((size_t)s * heads + h) * DIM;
            double *out = y + ((size_t)s * heads + h) * DIM;
            for (int i = 0; i < DIM / 2; i++) {
                double theta = pow(10000.0, -2.0 * i / DIM), c = cos(s * theta), sn = sin(s * theta);
                out[i] = in[i] * c - in[i + DIM / 2] * sn;
                out[i + DIM / 2] = in[i + DIM / 2] * c + in[i] * sn;
            }
        }
}

/* Causal attention with scale 1/sqrt(DIM), query head h reading KV head h / (HEADS / KV_HEADS). */
static void attention_ref(const double *q, const double *k, const float *v, double *out)
{
    double w[SEQ];
    for (int i = 0; i < SEQ; i++)
        for (int h = 0; h < HEADS; h++) {
            int kh = h / (HEADS / KV_HEADS);
            double m = -INFINITY, sum = 0.0;
            for (int j = 0; j <= i; j++) {
                double dot = 0.0;
                for (int d = 0; d < DIM; d++)
                    dot += q[((size_t)i * HEADS + h) * DIM + d] * k[((size_t)j * KV_HEADS + kh) * DIM + d];
                w[j] = dot / sqrt((double)DIM);
                m = fmax(m, w[j]);
            }
            for (int j = 0; j <= i; j++)
                sum += (w[j] = exp(w[j] - m));
            for (int d = 0; d < DIM; d++) {
                double acc = 0.0;
                for (int j = 0; j <= i; j++)
                    acc += w[j] * v[((size_t)j * KV_HEADS + kh) * DIM + d];
                out[((size_t)i * HEADS + h) * DIM + d] = acc / sum;
            }
        }
}

static int fail(vkattn_context *ctx, const char *what, vkattn_result r)
{
    fprintf(stderr, "consumer: %s: %s (%s)\n", what, vkattn_result_name(r), vkattn_context_last_error(ctx));
    vkattn_context_destroy(ctx);
    return 1;
}

int main(void)
{
    static float q[SEQ * HEADS * DIM], k[SEQ * KV_HEADS * DIM], v[SEQ * KV_HEADS * DIM], out[SEQ * HEADS * DIM];
    fill(q, SEQ * HEADS * DIM, 1u);
    fill(k, SEQ * KV_HEADS * DIM, 2u);
    fill(v, SEQ * KV_HEADS * DIM, 3u);

    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(NULL, &ctx); /* AUTO: the default Vulkan device, else the CPU backend */
    if (r != VKATTN_OK)
        return fail(NULL, "vkattn_context_create", r);
    vkattn_device_info info;
    vkattn_context_device_info(ctx, &info);
    printf("consumer: vkattn %u on %s (%s)\n", vkattn_version(), info.name,
           info.backend == VKATTN_BACKEND_VULKAN ? "Vulkan" : "CPU backend");

    const vkattn_tensor_desc qd = {.dtype = VKATTN_F32, .ndim = 3, .shape = {SEQ, HEADS, DIM}};
    const vkattn_tensor_desc kd = {.dtype = VKATTN_F32, .ndim = 3, .shape = {SEQ, KV_HEADS, DIM}};
    vkattn_tensor tq, tk, tv, to;
    if ((r = vkattn_tensor_create(ctx, &qd, &tq)) || (r = vkattn_tensor_create(ctx, &kd, &tk)) ||
        (r = vkattn_tensor_create(ctx, &kd, &tv)) || (r = vkattn_tensor_create(ctx, &qd, &to)))
        return fail(ctx, "vkattn_tensor_create", r);
    if ((r = vkattn_tensor_write(ctx, tq, q, sizeof q)) || (r = vkattn_tensor_write(ctx, tk, k, sizeof k)) ||
        (r = vkattn_tensor_write(ctx, tv, v, sizeof v)))
        return fail(ctx, "vkattn_tensor_write", r);

    /* One command list: RoPE on q and k in place (defaults: NEOX, base 10000, position = row), then causal
     * attention (scale 1/sqrt(head_dim)); one submit, one wait. */
    vkattn_cmd *cmd = NULL;
    if ((r = vkattn_cmd_create(ctx, NULL, &cmd)))
        return fail(ctx, "vkattn_cmd_create", r);
    const vkattn_tensor none = {0};
    const vkattn_attention_desc ad = {.causal = true};
    if ((r = vkattn_rope(ctx, cmd, NULL, tq, none, tq)) || (r = vkattn_rope(ctx, cmd, NULL, tk, none, tk)) ||
        (r = vkattn_attention(ctx, cmd, &ad, tq, tk, tv, to)) || (r = vkattn_cmd_submit(cmd)) ||
        (r = vkattn_cmd_wait(cmd, UINT64_MAX)))
        return fail(ctx, "recording or running the layer", r);
    vkattn_cmd_destroy(cmd);
    if ((r = vkattn_tensor_read(ctx, to, out, sizeof out)))
        return fail(ctx, "vkattn_tensor_read", r);
    vkattn_context_destroy(ctx); /* frees the tensors too */

    double *rq = malloc(sizeof(double) * SEQ * HEADS * DIM), *rk = malloc(sizeof(double) * SEQ * KV_HEADS * DIM);
    double *want = malloc(sizeof(double) * SEQ * HEADS * DIM);
    if (!rq || !rk || !want) {
        fprintf(stderr, "consumer: out of memory\n");
        return 1;
    }
    rope_ref(q, HEADS, rq);
    rope_ref(k, KV_HEADS, rk);
    attention_ref(rq, rk, v, want);
    double err = 0.0;
    for (size_t i = 0; i < (size_t)SEQ * HEADS * DIM; i++)
        err = fmax(err, fabs(out[i] - want[i]));
    free(rq);
    free(rk);
    free(want);
    printf("consumer: RoPE + causal attention over %d tokens, %d/%d heads x %d: max error %.3g\n", SEQ, HEADS,
           KV_HEADS, DIM, err);
    return err <= 1e-4 ? 0 : 1;
}
