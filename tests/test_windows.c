/*
 * test_windows.c - ops on tensors larger than the device's storage-buffer range, which the Vulkan backend binds in
 * windows (vk_ops.c), and the phone profile's other limits.
 *
 * The window cases lower the range the backend believes in to 64 KiB (VKATTN_TEST_STORAGE_RANGE, read at context
 * creation), so that tensors of a few hundred KiB take the same code path as tensors of gigabytes; every op runs on
 * lavapipe that way and on the CPU backend (float64 reference kernels, no range), and the results must agree. The
 * huge cases run under the phone profile's real 128 MiB range: a copy of 2^28 f16 elements and attention over a
 * KV cache of more than 128 MiB per tensor.
 */
#include "common.h"
#include "pe_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_RANGE "65536"

typedef struct pair {
    vkattn_context *gpu; /* lavapipe with the lowered range */
    vkattn_context *cpu;
} pair;

/* Both contexts, or false when the Vulkan backend is not under test (VKATTN_TEST_BACKENDS). */
static bool pair_open(pair *p)
{
    setenv("VKATTN_TEST_STORAGE_RANGE", WINDOW_RANGE, 1);
    p->gpu = vkt_context(VKATTN_BACKEND_VULKAN);
    unsetenv("VKATTN_TEST_STORAGE_RANGE");
    if (!p->gpu)
        return false;
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU, .flags = VKATTN_CONTEXT_IGNORE_ENV};
    ck_assert_int_eq(vkattn_context_create(&d, &p->cpu), VKATTN_OK);
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(p->gpu, &info), VKATTN_OK);
    ck_assert_uint_eq(info.max_storage_buffer_range, 65536);
    return true;
}

static void pair_close(pair *p)
{
    vkt_context_destroy(p->gpu);
    vkattn_context_destroy(p->cpu);
}

/* A tensor of ctx holding `values` (converted to f16 for f16 tensors). */
static vkattn_tensor filled(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                            const float *values)
{
    vkattn_tensor t = vkt_tensor(ctx, dtype, ndim, shape);
    size_t n = pe_numel(ndim, shape);
    if (dtype == VKATTN_F16)
        vkt_write_f16_from_f32(ctx, t, values, n);
    else
        vkt_write_f32(ctx, t, values, n);
    return t;
}

static void fetch(vkattn_context *ctx, vkattn_tensor t, vkattn_dtype dtype, float *out, size_t n)
{
    if (dtype == VKATTN_F16)
        vkt_read_f16_to_f32(ctx, t, out, n);
    else
        vkt_read_f32(ctx, t, out, n);
}

static float *random_values(size_t n, uint32_t seed, float lo, float hi, vkattn_dtype dtype)
{
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, lo, hi);
    pe_round_to_dtype(dtype, x, n);
    return x;
}

/* got (Vulkan) against want (the CPU backend): errors relative to max(|want|, floor). */
static void agree(const char *what, const float *got, const float *want, size_t n, double floor, double tol)
{
    double *w = pe_xmalloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(got[i]) == isfinite(want[i]), "%s: element %zu is %g, the CPU backend's %g", what, i,
                      (double)got[i], (double)want[i]);
        w[i] = want[i];
    }
    double err = vkt_max_rel_err(got, w, n, floor);
    free(w);
    ck_assert_msg(err <= tol, "%s: max relative error %.3g against the CPU backend > %.3g", what, err, tol);
    printf("windows: %s: max error %.3g\n", what, err);
}

/* ---- elementwise ops ------------------------------------------------------------------------------------------ */

/* f32 [3, 5, 40, 70] (196 KiB) into f16 through a transposed view of [70, 40, 5, 3]: both sides need windows, and
 * the destination's must be cut along the dim its strides spread along. */
START_TEST(test_copy_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    const int64_t shape[4] = {3, 5, 40, 70}, tshape[4] = {70, 40, 5, 3};
    size_t n = pe_numel(4, shape);
    float *x = random_values(n, 11u, -4.0f, 4.0f, VKATTN_F32);
    float *out[2];
    vkattn_context *ctxs[2] = {p.gpu, p.cpu};
    for (int c = 0; c < 2; c++) {
        vkattn_tensor src = filled(ctxs[c], VKATTN_F32, 4, shape, x);
        vkattn_tensor base = vkt_tensor(ctxs[c], VKATTN_F16, 4, tshape);
        vkattn_tensor_desc vd = {.dtype = VKATTN_F16, .ndim = 4, .shape = {3, 5, 40, 70},
                                 .strides = {1, 3, 15, 600}};
        vkattn_tensor view;
        ck_assert_int_eq(vkattn_tensor_view(ctxs[c], base, &vd, 0, &view), VKATTN_OK);
        vkattn_result r = vkattn_copy(ctxs[c], NULL, src, view);
        ck_assert_msg(r == VKATTN_OK, "copy: %s", vkattn_context_last_error(ctxs[c]));
        out[c] = pe_xmalloc(n * sizeof(float));
        fetch(ctxs[c], base, VKATTN_F16, out[c], n);
        vkattn_tensor_destroy(ctxs[c], src);
        vkattn_tensor_destroy(ctxs[c], view);
        vkattn_tensor_destroy(ctxs[c], base);
    }
    /* Conversion to f16 rounds to nearest even on both backends: the copies are identical. */
    ck_assert(memcmp(out[0], out[1], n * sizeof(float)) == 0);
    /* And the transposition is right: base[l][k][j][i] = x[i][j][k][l]. */
    for (int64_t i = 0; i < 3; i++)
        for (int64_t l = 0; l < 70; l++) {
            size_t xi = (size_t)((i * 5 + 2) * 40 + 7) * 70 + (size_t)l;
            size_t bi = (size_t)((l * 40 + 7) * 5 + 2) * 3 + (size_t)i;
            ck_assert_float_eq(out[0][bi], vkt_half_to_float(vkt_float_to_half(x[xi])));
        }
    free(x);
    free(out[0]);
    free(out[1]);
    pair_close(&p);
}
END_TEST

/* One operand of an op run on both contexts: f32/f16 values, i32 positions, or an output (neither). */
typedef struct operand {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[4];
    const float *values;
    const int32_t *ints;
} operand;

/* Calls the op on ctx with the operands' tensors t[0 .. n). */
typedef vkattn_result (*op_call)(vkattn_context *ctx, const vkattn_tensor *t, const void *arg);

/* The operands on ctx, the op, and operand `out` read back (malloc'ed f32). */
static float *run_on(vkattn_context *ctx, const operand *ops, int n, int out, op_call call, const void *arg)
{
    vkattn_tensor t[6] = {{0}};
    ck_assert_int_le(n, 6);
    for (int i = 0; i < n; i++) {
        if (ops[i].values)
            t[i] = filled(ctx, ops[i].dtype, ops[i].ndim, ops[i].shape, ops[i].values);
        else if (ops[i].ints)
            t[i] = pe_positions(ctx, ops[i].ndim, ops[i].shape, ops[i].ints);
        else
            t[i] = vkt_tensor(ctx, ops[i].dtype, ops[i].ndim, ops[i].shape);
    }
    vkattn_result r = call(ctx, t, arg);
    ck_assert_msg(r == VKATTN_OK, "%s", vkattn_context_last_error(ctx));
    size_t count = pe_numel(ops[out].ndim, ops[out].shape);
    float *got = pe_xmalloc(count * sizeof *got);
    fetch(ctx, t[out], ops[out].dtype, got, count);
    pe_tensors_destroy(ctx, t, (size_t)n);
    return got;
}

/* The op on lavapipe with the lowered range against the CPU backend (agree()). */
static void run_both(const pair *p, const char *what, const operand *ops, int n, int out, op_call call,
                     const void *arg, double floor, double tol)
{
    float *gpu = run_on(p->gpu, ops, n, out, call, arg), *cpu = run_on(p->cpu, ops, n, out, call, arg);
    agree(what, gpu, cpu, pe_numel(ops[out].ndim, ops[out].shape), floor, tol);
    free(gpu);
    free(cpu);
}

/* t: x, mask, y. */
static vkattn_result call_softmax(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    vkattn_softmax_desc d = *(const vkattn_softmax_desc *)arg;
    d.mask = t[1];
    return vkattn_softmax(ctx, NULL, &d, t[0], t[2]);
}

/* Masked softmax with causal, window and fused ALiBi over [2, 4, 64, 200] (400 KiB) with a [1, 4, 64, 200] mask:
 * cut along batch, heads (the slopes follow) and rows (q_offset follows). */
START_TEST(test_softmax_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    const operand ops[3] = {{VKATTN_F32, 4, {2, 4, 64, 200}, NULL, NULL}, {VKATTN_F32, 4, {1, 4, 64, 200}, NULL, NULL},
                            {VKATTN_F32, 4, {2, 4, 64, 200}, NULL, NULL}};
    float *x = random_values(pe_numel(4, ops[0].shape), 21u, -6.0f, 6.0f, VKATTN_F32);
    size_t nm = pe_numel(4, ops[1].shape);
    float *m = random_values(nm, 22u, -2.0f, 0.0f, VKATTN_F32);
    for (size_t i = 0; i < nm; i += 7)
        m[i] = -INFINITY;
    operand with[3] = {ops[0], ops[1], ops[2]};
    with[0].values = x;
    with[1].values = m;
    vkattn_alibi_desc alibi = {0};
    vkattn_softmax_desc desc = {.scale = 0.7f, .causal = true, .q_offset = 150, .window = 120, .alibi = &alibi};
    run_both(&p, "softmax [2,4,64,200], mask, causal, window, ALiBi", with, 3, 2, call_softmax, &desc, 1e-3, 1e-5);
    free(x);
    free(m);
    pair_close(&p);
}
END_TEST

/* t: x (in place). */
static vkattn_result call_alibi(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    return vkattn_alibi(ctx, NULL, arg, t[0], t[0]);
}

/* ALiBi on scores [2, 6, 50, 300] (703 KiB), causal, 2D distance, in place. */
START_TEST(test_alibi_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    operand x = {VKATTN_F32, 4, {2, 6, 50, 300}, NULL, NULL};
    float *values = random_values(pe_numel(4, x.shape), 31u, -3.0f, 3.0f, VKATTN_F32);
    x.values = values;
    vkattn_alibi_desc desc = {.q_offset = 260, .causal = true, .grid_width = 24};
    run_both(&p, "alibi [2,6,50,300], causal, grid 24, in place", &x, 1, 0, call_alibi, &desc, 1.0, 1e-5);
    free(values);
    pair_close(&p);
}
END_TEST

/* t: x, y, positions (zero handle without). */
static vkattn_result call_rope(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    return vkattn_rope(ctx, NULL, arg, t[0], t[2], t[1]);
}

/* RoPE on f16 [2, 100, 8, 64] (200 KiB) with a [2, 100] positions tensor and partial rotary, then on f32 with
 * pos_offset: cut along batch and seq (positions or pos_offset follow) and heads. */
START_TEST(test_rope_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    int32_t pos[200];
    for (int i = 0; i < 200; i++)
        pos[i] = (i * 7919) % 5000 + (i % 3 == 0 ? 100000 : 0);
    for (int variant = 0; variant < 2; variant++) {
        vkattn_dtype dtype = variant == 0 ? VKATTN_F16 : VKATTN_F32;
        operand ops[3] = {{dtype, 4, {2, 100, 8, 64}, NULL, NULL}, {dtype, 4, {2, 100, 8, 64}, NULL, NULL},
                          {VKATTN_I32, 2, {2, 100}, NULL, pos}};
        float *x = random_values(pe_numel(4, ops[0].shape), 41u + (uint32_t)variant, -2.0f, 2.0f, dtype);
        ops[0].values = x;
        vkattn_rope_desc desc = variant == 0 ? (vkattn_rope_desc){.rot_dims = 48, .mode = VKATTN_ROPE_GPTJ}
                                             : (vkattn_rope_desc){.pos_offset = 70000, .base = 500000.0,
                                                                  .scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4.0};
        run_both(&p, variant == 0 ? "rope f16 [2,100,8,64], positions, GPT-J, rot 48" : "rope f32, pos_offset 70000",
                 ops, variant == 0 ? 3 : 2, 1, call_rope, &desc, 1.0, pe_dtype_tol(dtype));
        free(x);
    }
    pair_close(&p);
}
END_TEST

/* t: x, y, positions (zero handle without). */
static vkattn_result call_sinusoidal(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    return vkattn_sinusoidal_add(ctx, NULL, arg, t[0], t[2], t[1]);
}

/* Sinusoidal on [3, 200, 96] (225 KiB), with positions [200] shared by the batch and with pos_offset. */
START_TEST(test_sinusoidal_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    int32_t pos[200];
    for (int i = 0; i < 200; i++)
        pos[i] = 3 * i + 11;
    operand ops[3] = {{VKATTN_F32, 3, {3, 200, 96}, NULL, NULL}, {VKATTN_F32, 3, {3, 200, 96}, NULL, NULL},
                      {VKATTN_I32, 1, {200}, NULL, pos}};
    float *x = random_values(pe_numel(3, ops[0].shape), 51u, -1.0f, 1.0f, VKATTN_F32);
    ops[0].values = x;
    for (int variant = 0; variant < 2; variant++) {
        vkattn_sinusoidal_desc desc = {.layout = variant ? VKATTN_SINUSOIDAL_CONCAT : VKATTN_SINUSOIDAL_INTERLEAVED,
                                       .pos_offset = variant ? 123456 : 0};
        run_both(&p, variant ? "sinusoidal concat, pos_offset 123456" : "sinusoidal [3,200,96], positions", ops,
                 variant ? 2 : 3, 1, call_sinusoidal, &desc, 1.0, 1e-5);
    }
    free(x);
    pair_close(&p);
}
END_TEST

/* ---- matmul and attention --------------------------------------------------------------------------------------- */

/* t: a, b, c. */
static vkattn_result call_matmul(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    return vkattn_matmul(ctx, NULL, arg, t[0], t[1], t[2]);
}

/* a [2, 8, 40, 300] x b [2, 2, 300, 90] (GQA, group 4) and a x b^T with b [2, 2, 90, 300]: a, b and c exceed the
 * range; K is summed in slices whose windows fit, c is cut along batch, heads and rows. */
START_TEST(test_matmul_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    operand ops[3] = {{VKATTN_F32, 4, {2, 8, 40, 300}, NULL, NULL}, {VKATTN_F32, 4, {2, 2, 300, 90}, NULL, NULL},
                      {VKATTN_F32, 4, {2, 8, 40, 90}, NULL, NULL}};
    float *a = random_values(pe_numel(4, ops[0].shape), 61u, -1.0f, 1.0f, VKATTN_F32);
    float *b = random_values(pe_numel(4, ops[1].shape), 62u, -1.0f, 1.0f, VKATTN_F32);
    ops[0].values = a;
    ops[1].values = b;
    for (int t = 0; t < 2; t++) {
        if (t == 1) { /* b given as [.., N, K] */
            ops[1].shape[2] = 90;
            ops[1].shape[3] = 300;
        }
        vkattn_matmul_desc desc = {.scale = 0.125f, .transpose_b = t == 1};
        run_both(&p, t ? "matmul a b^T, K 300 in slices" : "matmul [2,8,40,300] x [2,2,300,90]", ops, 3, 2,
                 call_matmul, &desc, 1.0, 1e-5);
    }
    free(a);
    free(b);
    pair_close(&p);
}
END_TEST

/* t: q, k, v, out, mask (the zero handle without). */
static vkattn_result call_attention(vkattn_context *ctx, const vkattn_tensor *t, const void *arg)
{
    vkattn_attention_desc d = *(const vkattn_attention_desc *)arg;
    d.mask = t[4];
    return vkattn_attention(ctx, NULL, &d, t[0], t[1], t[2], t[3]);
}

/* Attention whose k and v (1000 keys x 2 heads x 64, 500 KiB each) and mask exceed the range: keys in windows.
 * Decode (GQA 8/2, ALiBi, a [1, 1, 1, 1000] padding mask) and prefill (causal after a cache, RoPE, f16). */
START_TEST(test_attention_windows)
{
    pair p;
    if (!pair_open(&p))
        return;
    for (int variant = 0; variant < 2; variant++) {
        bool decode = variant == 0;
        vkattn_dtype dtype = decode ? VKATTN_F32 : VKATTN_F16;
        int64_t q_len = decode ? 1 : 24, kv = 1000;
        operand ops[5] = {{dtype, 4, {1, q_len, 8, 64}, NULL, NULL}, {dtype, 4, {1, kv, 2, 64}, NULL, NULL},
                          {dtype, 4, {1, kv, 2, 64}, NULL, NULL}, {dtype, 4, {1, q_len, 8, 64}, NULL, NULL},
                          {VKATTN_F32, 4, {1, 1, decode ? 1 : q_len, kv}, NULL, NULL}};
        float *in[5] = {NULL};
        for (int i = 0; i < 5; i++) {
            if (i == 3) /* out */
                continue;
            size_t n = pe_numel(4, ops[i].shape);
            uint32_t seed = 71u + (uint32_t)(i < 3 ? i : 3);
            in[i] = random_values(n, seed, -1.0f, i == 4 ? 0.0f : 1.0f, ops[i].dtype);
            for (size_t j = 3; i == 4 && j < n; j += 11)
                in[i][j] = -INFINITY;
            ops[i].values = in[i];
        }
        vkattn_attention_desc desc = {.causal = !decode, .q_offset = decode ? 0 : (int32_t)(kv - q_len),
                                      .pe = decode ? VKATTN_PE_ALIBI : VKATTN_PE_ROPE};
        /* The outputs are means of about 1000 values in [-1, 1], some 0.05: f16 rounds them by 3e-5 on each backend,
         * so errors count against 0.1. */
        run_both(&p, decode ? "attention decode, kv 1000 in windows, GQA, ALiBi, mask"
                            : "attention prefill f16, causal, RoPE, kv 1000 in windows",
                 ops, 5, 3, call_attention, &desc, decode ? 1e-2 : 0.1, pe_dtype_tol(dtype));
        for (int i = 0; i < 5; i++)
            free(in[i]);
    }
    pair_close(&p);
}
END_TEST

/* ---- what cannot be windowed, and command lists --------------------------------------------------------------- */

/* A softmax row of 20000 f32 (80 KB) cannot be cut: refused with the range in the message, y untouched, and the
 * context still works. */
START_TEST(test_row_larger_than_range)
{
    pair p;
    if (!pair_open(&p))
        return;
    const int64_t shape[2] = {2, 20000};
    size_t n = pe_numel(2, shape);
    float *x = random_values(n, 81u, -1.0f, 1.0f, VKATTN_F32), *got = pe_xmalloc(n * sizeof(float));
    vkattn_tensor tx = filled(p.gpu, VKATTN_F32, 2, shape, x), ty = filled(p.gpu, VKATTN_F32, 2, shape, x);
    vkattn_result r = vkattn_softmax(p.gpu, NULL, NULL, tx, ty);
    const char *msg = vkattn_context_last_error(p.gpu);
    ck_assert_msg(r == VKATTN_ERROR_UNSUPPORTED && strstr(msg, "vkattn_softmax") && strstr(msg, "storage-buffer range"),
                  "a row larger than the range: %s (%s)", vkattn_result_name(r), msg);
    vkt_read_f32(p.gpu, ty, got, n);
    ck_assert(memcmp(got, x, n * sizeof(float)) == 0);
    const int64_t small[2] = {2, 1000};
    vkattn_tensor sx = filled(p.gpu, VKATTN_F32, 2, small, x), sy = vkt_tensor(p.gpu, VKATTN_F32, 2, small);
    ck_assert_int_eq(vkattn_softmax(p.gpu, NULL, NULL, sx, sy), VKATTN_OK);
    vkt_read_f32(p.gpu, sy, got, 2000);
    double sum = 0.0;
    for (int i = 0; i < 1000; i++)
        sum += got[i];
    ck_assert_msg(fabs(sum - 1.0) < 1e-5, "row sum %g after the refusal", sum);
    pe_tensors_destroy(p.gpu, (vkattn_tensor[]){tx, ty, sx, sy}, 4);
    free(x);
    free(got);
    pair_close(&p);
}
END_TEST

/* A windowed op in a timed command list counts as one op with one timing; a failing windowed op records nothing. */
START_TEST(test_windows_in_command_list)
{
    pair p;
    if (!pair_open(&p))
        return;
    const int64_t shape[2] = {100, 1000}, bad[2] = {1, 20000};
    size_t n = pe_numel(2, shape);
    float *x = random_values(n, 91u, -1.0f, 1.0f, VKATTN_F32), *got = pe_xmalloc(n * sizeof(float));
    vkattn_tensor tx = filled(p.gpu, VKATTN_F32, 2, shape, x), ty = vkt_tensor(p.gpu, VKATTN_F32, 2, shape);
    vkattn_tensor bx = vkt_tensor(p.gpu, VKATTN_F32, 2, bad);
    vkattn_cmd *cmd = NULL;
    vkattn_cmd_desc cd = {.flags = VKATTN_CMD_TIMESTAMPS};
    ck_assert_int_eq(vkattn_cmd_create(p.gpu, &cd, &cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_softmax(p.gpu, cmd, NULL, tx, ty), VKATTN_OK);
    ck_assert_int_eq(vkattn_softmax(p.gpu, cmd, NULL, bx, bx), VKATTN_ERROR_UNSUPPORTED);
    ck_assert_int_eq(vkattn_copy(p.gpu, cmd, ty, tx), VKATTN_OK);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 2);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    vkattn_op_timing t[4];
    uint32_t count = 0;
    vkattn_result r = vkattn_cmd_timings(cmd, t, 4, &count);
    ck_assert_int_eq(r, VKATTN_OK);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(t[0].op, "softmax");
    ck_assert(t[0].ms > 0.0 && t[1].ms > 0.0);
    vkt_read_f32(p.gpu, tx, got, n);
    for (int row = 0; row < 100; row += 33) {
        double m = -INFINITY, sum = 0.0;
        for (int j = 0; j < 1000; j++)
            m = fmax(m, x[row * 1000 + j]);
        for (int j = 0; j < 1000; j++)
            sum += exp(x[row * 1000 + j] - m);
        for (int j = 0; j < 1000; j += 97) {
            double want = exp(x[row * 1000 + j] - m) / sum;
            ck_assert_msg(fabs(got[row * 1000 + j] - want) <= 1e-5 * want, "row %d col %d: %g, want %g", row, j,
                          (double)got[row * 1000 + j], want);
        }
    }
    vkattn_cmd_destroy(cmd);
    pe_tensors_destroy(p.gpu, (vkattn_tensor[]){tx, ty, bx}, 3);
    free(x);
    free(got);
    pair_close(&p);
}
END_TEST

/* ---- the phone profile ---------------------------------------------------------------------------------------- */

static vkattn_context *phone_context(void)
{
    vkattn_context_desc d = {.profile = VKATTN_PROFILE_PHONE};
    return vkt_context_desc(VKATTN_BACKEND_VULKAN, &d);
}

/* maxMemoryAllocationCount 4096: with blocks of 64 KiB (the lowered range) every 96 KiB tensor takes an allocation
 * of its own, so the 4096th allocation is refused with OUT_OF_DEVICE_MEMORY, and freeing one lets the next in. */
START_TEST(test_allocation_count)
{
    setenv("VKATTN_TEST_STORAGE_RANGE", WINDOW_RANGE, 1);
    vkattn_context *ctx = phone_context();
    unsetenv("VKATTN_TEST_STORAGE_RANGE");
    if (!ctx)
        return;
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(ctx, &info), VKATTN_OK);
    ck_assert_uint_eq(info.max_allocation_count, 4096);
    const int64_t shape[2] = {4, 6144}; /* rows of 24 KiB: softmax can window them */
    enum { MAX = 4200 };
    vkattn_tensor *t = pe_xmalloc(MAX * sizeof *t);
    int made = 0;
    vkattn_result r = VKATTN_OK;
    while (made < MAX) {
        vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {shape[0], shape[1]}};
        r = vkattn_tensor_create(ctx, &d, &t[made]);
        if (r != VKATTN_OK)
            break;
        made++;
    }
    ck_assert_msg(r == VKATTN_ERROR_OUT_OF_DEVICE_MEMORY && strstr(vkattn_context_last_error(ctx), "4096"),
                  "after %d tensors: %s (%s)", made, vkattn_result_name(r), vkattn_context_last_error(ctx));
    ck_assert_int_le(made, 4096);
    ck_assert_int_ge(made, 4000); /* the staging buffer and the like take a few */
    vkattn_tensor_destroy(ctx, t[made - 1]);
    float ones[24576];
    for (int i = 0; i < 24576; i++)
        ones[i] = 1.0f;
    t[made - 1] = filled(ctx, VKATTN_F32, 2, shape, ones);
    ck_assert_int_eq(vkattn_softmax(ctx, NULL, NULL, t[made - 1], t[made - 1]), VKATTN_OK);
    float got[4];
    vkattn_tensor head;
    vkattn_tensor_desc hd = {.dtype = VKATTN_F32, .ndim = 1, .shape = {4}, .strides = {6144}};
    ck_assert_int_eq(vkattn_tensor_view(ctx, t[made - 1], &hd, 0, &head), VKATTN_OK);
    vkt_read_f32(ctx, head, got, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabs(got[i] - 1.0 / 6144) < 1e-10, "softmax of ones, row %d: %g", i, (double)got[i]);
    for (int i = 0; i < made; i++)
        vkattn_tensor_destroy(ctx, t[i]);
    vkattn_tensor_destroy(ctx, head);
    free(t);
    vkt_context_destroy(ctx);
}
END_TEST

/* 2^28 f16 elements (512 MiB, four times the phone range): the copy takes windows and, with 128 invocations per
 * workgroup, 2^21 workgroups, more than 65535 per dimension. */
START_TEST(test_huge_copy)
{
    vkattn_context *ctx = phone_context();
    if (!ctx)
        return;
    const int64_t shape[2] = {16384, 16384};
    size_t n = (size_t)1 << 28;
    uint16_t *src = pe_xmalloc(n * sizeof *src);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint16_t)((i * 40503u) >> 3 & 0x7bff); /* finite halves only, so the copy is bit-exact */
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F16, 2, shape), b = vkt_tensor(ctx, VKATTN_F16, 2, shape);
    ck_assert_int_eq(vkattn_tensor_write(ctx, a, src, n * 2), VKATTN_OK);
    vkattn_result r = vkattn_copy(ctx, NULL, a, b);
    ck_assert_msg(r == VKATTN_OK, "copy of 2^28 f16: %s", vkattn_context_last_error(ctx));
    vkattn_tensor_destroy(ctx, a); /* room for the read-back on small heaps */
    uint16_t *got = pe_xmalloc(n * sizeof *got);
    ck_assert_int_eq(vkattn_tensor_read(ctx, b, got, n * 2), VKATTN_OK);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != src[i] && bad++ == 0)
            first = i;
    ck_assert_msg(bad == 0, "%zu of 2^28 elements differ, the first at %zu", bad, first);
    printf("windows: phone profile: copy of 2^28 f16 (512 MiB) exact\n");
    vkattn_tensor_destroy(ctx, b);
    free(src);
    free(got);
    vkt_context_destroy(ctx);
}
END_TEST

/* Decode attention over a KV cache of 70000 keys x 4 heads x 128 f32 (143 MB each for k and v, past the phone's
 * 128 MiB), GQA 8/4, against the CPU backend. */
START_TEST(test_huge_kv_cache)
{
    pair p = {.gpu = phone_context()};
    if (!p.gpu)
        return;
    vkattn_context_desc cd = {.backend = VKATTN_BACKEND_CPU, .flags = VKATTN_CONTEXT_IGNORE_ENV};
    ck_assert_int_eq(vkattn_context_create(&cd, &p.cpu), VKATTN_OK);
    operand ops[4] = {{VKATTN_F32, 4, {1, 2, 8, 128}, NULL, NULL}, {VKATTN_F32, 4, {1, 70000, 4, 128}, NULL, NULL},
                      {VKATTN_F32, 4, {1, 70000, 4, 128}, NULL, NULL}, {VKATTN_F32, 4, {1, 2, 8, 128}, NULL, NULL}};
    size_t nq = pe_numel(4, ops[0].shape), nk = pe_numel(4, ops[1].shape);
    ck_assert_uint_gt(nk * 4, 128u << 20);
    float *q = random_values(nq, 101u, -1.0f, 1.0f, VKATTN_F32), *k = random_values(nk, 102u, -1.0f, 1.0f, VKATTN_F32);
    float *v = random_values(nk, 103u, -1.0f, 1.0f, VKATTN_F32);
    ops[0].values = q;
    ops[1].values = k;
    ops[2].values = v;
    vkattn_attention_desc desc = {.causal = true, .q_offset = 69998, .pe = VKATTN_PE_ROPE};
    run_both(&p, "phone profile: decode over a 143 MB KV cache (70000 x 4 x 128 f32)", ops, 4, 3, call_attention,
             &desc, 1e-2, 1e-5);
    free(q);
    free(k);
    free(v);
    pair_close(&p);
}
END_TEST

static Suite *windows_suite(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("windows of a 64 KiB range");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_copy_windows);
    tcase_add_test(tc, test_softmax_windows);
    tcase_add_test(tc, test_alibi_windows);
    tcase_add_test(tc, test_rope_windows);
    tcase_add_test(tc, test_sinusoidal_windows);
    tcase_add_test(tc, test_matmul_windows);
    tcase_add_test(tc, test_attention_windows);
    tcase_add_test(tc, test_row_larger_than_range);
    tcase_add_test(tc, test_windows_in_command_list);
    suite_add_tcase(s, tc);
    TCase *phone = tcase_create("phone profile, huge");
    tcase_set_timeout(phone, 600);
    tcase_add_test(phone, test_allocation_count);
    tcase_add_test(phone, test_huge_copy);
    tcase_add_test(phone, test_huge_kv_cache);
    suite_add_tcase(s, phone);
    return s;
}

int main(void)
{
    return vkt_run_suite(windows_suite());
}
