/*
 * cmd_verify.c - `vkattn verify`: every op and variant on the chosen device against the CPU backend.
 *
 * A case is one op call: its inputs (shape, dtype, how to fill them), its output, the op's desc and how to measure
 * the error. The program builds the list for the sweep (--full or the quick one), fills the inputs from one seeded
 * generator, runs each case on the device and on the CPU backend (the reference: clear loops with float64
 * accumulation, ARCHITECTURE.md), and prints one line per case with the max and mean relative error against the
 * tolerance.
 *
 * The error of element e is |device_e - cpu_e| / max(m_e, floor), where m_e is the magnitude the op's rounding
 * scales with (vkattn.h's formulas, as the unit tests measure it):
 *   - copy, softmax, sinusoidal, ALiBi, RoPE: |cpu_e|, with a floor for the ops that add or rotate terms of size
 *     about 1 (sinusoidal and RoPE: inputs in [-1, 1) and |cos|, |sin| <= 1; ALiBi: x in [-1, 1));
 *   - matmul: the magnitude of the terms, sum_k |a_ik| |b_kj|, which is the same matmul on |a| and |b|;
 *   - attention: the magnitude of the terms, sum_j p_j |v_j| (tests/attn_ref.c), which is the same attention with
 *     |v| (the probabilities p do not depend on v).
 * Both computed by the CPU backend. Equal values (also equal infinities, as masked ALiBi entries) count as 0; a NaN
 * or an infinity on one side only counts as infinite.
 *
 * Tolerances: f32 1e-5 (a few f32 roundings in the device's arithmetic), f16 1e-3 (both sides round the output to
 * binary16, so they may differ by one ulp, 2^-10 relative, plus the f32 arithmetic). RoPE at large positions
 * (pos_offset 10^6) keeps the f32 tolerance: README measures the angle error there below 1.2e-7 rad, an error of
 * 1.2e-7 |x|. Softmax with ALiBi adds the rounding of its large scores (verify_widen_for_bias).
 *
 * VKATTN_VERIFY_PERTURB=1 (for the test suite only) adds 1e-2 (1 + |y|) to every finite device output before the
 * comparison, to prove that the check can fail.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERIFY_MAX_INPUTS 4
#define VERIFY_F32_TOL 1e-5
#define VERIFY_F16_TOL 1e-3
/* Floors of the magnitude: relative error near 0 for softmax outputs (f16: the smallest normal binary16, 2^-14,
 * below which f16 holds only absolute precision), the size of the terms for the PE ops. */
#define VERIFY_TINY_FLOOR 1e-30
#define VERIFY_F16_FLOOR 0x1p-14
#define VERIFY_TERM_FLOOR 1.0
#define VERIFY_PERTURBATION 1e-2
/* Partial-rotary and scaled RoPE cases rotate 64 dims; LongRoPE needs one factor per pair. */
#define VERIFY_ROPE_PAIRS 32
#define VERIFY_LARGE_POSITION 1000000
/* Heads of the softmax cases' scores [1, heads, seq, seq]. */
#define VERIFY_SOFTMAX_HEADS 4

static const char *const verify_ops[] = {"copy", "softmax", "matmul", "attention", "rope", "sinusoidal", "alibi"};
enum { VERIFY_COPY, VERIFY_SOFTMAX, VERIFY_MATMUL, VERIFY_ATTENTION, VERIFY_ROPE, VERIFY_SINUSOIDAL, VERIFY_ALIBI,
       VERIFY_OP_COUNT };

typedef enum verify_fill {
    FILL_UNIFORM, /* uniform in [-1, 1) */
    FILL_WIDE,    /* uniform in [-2, 2): q and k, so that the scores spread and the softmax is far from uniform */
    FILL_MASK,    /* an additive mask: uniform in [-4, 0), about one entry in 8 -inf */
    FILL_MROPE,   /* i32 M-RoPE positions [3, seq]: temporal s, height s / 8, width s mod 8 */
} verify_fill;

typedef struct verify_tensor {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
    verify_fill fill;
} verify_tensor;

typedef enum verify_magnitude {
    MAG_SELF,  /* |cpu_e| */
    MAG_TERMS, /* the same op on the CPU with the inputs of abs_inputs made non-negative */
} verify_magnitude;

struct verify_case;
typedef vkattn_result (*verify_fn)(vkattn_context *ctx, const struct verify_case *c, const vkattn_tensor *t);

typedef struct verify_case {
    int op;                 /* VERIFY_* */
    char variant[48];
    verify_tensor in[VERIFY_MAX_INPUTS];
    uint32_t n_in;
    verify_tensor out;
    verify_fn run;          /* t[0 .. n_in) the inputs, t[n_in] the output */
    union {
        vkattn_softmax_desc softmax;
        vkattn_matmul_desc matmul;
        vkattn_attention_desc attention;
        vkattn_sinusoidal_desc sinusoidal;
    } u;
    vkattn_rope_desc rope;  /* rope, and attention with PE_ROPE */
    vkattn_alibi_desc alibi; /* alibi, and softmax / attention with use_alibi */
    bool use_alibi;
    verify_magnitude magnitude;
    uint32_t abs_inputs;    /* MAG_TERMS: bit i = input i */
    double floor;
    double tol;
} verify_case;

typedef struct verify_list {
    verify_case *cases;
    size_t count, capacity;
} verify_list;

typedef struct verify_options {
    vkattn_backend backend;
    const char *device;
    bool full;
    uint32_t seed;
    int only; /* -1 = every op */
} verify_options;

/* LongRoPE's per-pair factors (Phi-3 ships two such arrays; any positive values exercise the formula). */
static float verify_short_factor[VERIFY_ROPE_PAIRS], verify_long_factor[VERIFY_ROPE_PAIRS];

/* ---- running one case on one context ----------------------------------------------------------------------------- */

static vkattn_result run_copy(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    return vkattn_copy(ctx, NULL, t[0], t[c->n_in]);
}

static vkattn_result run_softmax(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    vkattn_softmax_desc d = c->u.softmax;
    if (c->n_in > 1)
        d.mask = t[1];
    d.alibi = c->use_alibi ? &c->alibi : NULL;
    return vkattn_softmax(ctx, NULL, &d, t[0], t[c->n_in]);
}

static vkattn_result run_matmul(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    return vkattn_matmul(ctx, NULL, &c->u.matmul, t[0], t[1], t[2]);
}

static vkattn_result run_attention(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    vkattn_attention_desc d = c->u.attention;
    if (c->n_in > 3)
        d.mask = t[3];
    d.rope = d.pe == VKATTN_PE_ROPE ? &c->rope : NULL;
    d.alibi = d.pe == VKATTN_PE_ALIBI ? &c->alibi : NULL;
    return vkattn_attention(ctx, NULL, &d, t[0], t[1], t[2], t[c->n_in]);
}

static vkattn_result run_rope(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    vkattn_tensor positions = c->n_in > 1 ? t[1] : (vkattn_tensor){0};
    return vkattn_rope(ctx, NULL, &c->rope, t[0], positions, t[c->n_in]);
}

static vkattn_result run_sinusoidal(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    return vkattn_sinusoidal_add(ctx, NULL, &c->u.sinusoidal, t[0], (vkattn_tensor){0}, t[c->n_in]);
}

static vkattn_result run_alibi(vkattn_context *ctx, const verify_case *c, const vkattn_tensor *t)
{
    return vkattn_alibi(ctx, NULL, &c->alibi, t[0], t[c->n_in]);
}

static size_t verify_numel(const verify_tensor *v)
{
    size_t n = 1;
    for (uint32_t d = 0; d < v->ndim; d++)
        n *= (size_t)v->shape[d];
    return n;
}

static vkattn_result verify_create(vkattn_context *ctx, const verify_tensor *v, vkattn_dtype dtype, vkattn_tensor *t)
{
    vkattn_tensor_desc desc = {.dtype = dtype, .ndim = v->ndim};
    memcpy(desc.shape, v->shape, sizeof desc.shape);
    return vkattn_tensor_create(ctx, &desc, t);
}

/* A tensor holding host values (f32, or i32 for position tensors); an f16 tensor gets them through vkattn_copy from
 * an f32 one, the conversion the copy cases check. */
static vkattn_result verify_upload(vkattn_context *ctx, const verify_tensor *v, const void *host, vkattn_tensor *t)
{
    size_t bytes = verify_numel(v) * 4;
    vkattn_dtype staged = v->dtype == VKATTN_F16 ? VKATTN_F32 : v->dtype;
    vkattn_tensor s = {0};
    vkattn_result r = verify_create(ctx, v, staged, &s);
    if (r == VKATTN_OK)
        r = vkattn_tensor_write(ctx, s, host, bytes);
    if (r != VKATTN_OK || v->dtype != VKATTN_F16) {
        *t = s;
        return r;
    }
    r = verify_create(ctx, v, VKATTN_F16, t);
    if (r == VKATTN_OK)
        r = vkattn_copy(ctx, NULL, s, *t);
    vkattn_tensor_destroy(ctx, s);
    return r;
}

/* The output as f32 host values (an f16 output through vkattn_copy, which is exact in that direction). */
static vkattn_result verify_download(vkattn_context *ctx, const verify_tensor *v, vkattn_tensor t, float *host)
{
    vkattn_tensor s = t;
    vkattn_result r = VKATTN_OK;
    if (v->dtype == VKATTN_F16) {
        r = verify_create(ctx, v, VKATTN_F32, &s);
        if (r == VKATTN_OK)
            r = vkattn_copy(ctx, NULL, t, s);
    }
    if (r == VKATTN_OK)
        r = vkattn_tensor_read(ctx, s, host, verify_numel(v) * sizeof *host);
    if (s.id != t.id)
        vkattn_tensor_destroy(ctx, s);
    return r;
}

/* Runs the case on ctx with the host inputs and writes its output to `out`. */
static vkattn_result verify_execute(vkattn_context *ctx, const verify_case *c, void *const *inputs, float *out)
{
    vkattn_tensor t[VERIFY_MAX_INPUTS + 1] = {{0}};
    vkattn_result r = VKATTN_OK;
    for (uint32_t i = 0; i < c->n_in && r == VKATTN_OK; i++)
        r = verify_upload(ctx, &c->in[i], inputs[i], &t[i]);
    if (r == VKATTN_OK)
        r = verify_create(ctx, &c->out, c->out.dtype, &t[c->n_in]);
    if (r == VKATTN_OK)
        r = c->run(ctx, c, t);
    if (r == VKATTN_OK)
        r = verify_download(ctx, &c->out, t[c->n_in], out);
    for (uint32_t i = 0; i <= c->n_in; i++)
        vkattn_tensor_destroy(ctx, t[i]);
    return r;
}

/* ---- inputs ------------------------------------------------------------------------------------------------------ */

/* xorshift32 (Marsaglia 2003): a fixed, portable sequence for a seed. */
static uint32_t verify_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Uniform in [0, 1) from the top 24 bits, exact in float. */
static float verify_unit(uint32_t *state)
{
    return (float)(verify_next(state) >> 8) * 0x1p-24f;
}

static void verify_fill_values(const verify_tensor *v, uint32_t *state, void *host)
{
    size_t n = verify_numel(v);
    if (v->fill == FILL_MROPE) {
        int32_t *p = host;
        size_t seq = n / 3;
        for (size_t s = 0; s < seq; s++) {
            p[s] = (int32_t)s;
            p[seq + s] = (int32_t)(s / 8);
            p[2 * seq + s] = (int32_t)(s % 8);
        }
        return;
    }
    float *x = host;
    for (size_t e = 0; e < n; e++) {
        float u = verify_unit(state);
        if (v->fill == FILL_MASK)
            x[e] = verify_unit(state) < 0.125f ? -INFINITY : -4.0f * u;
        else
            x[e] = (v->fill == FILL_WIDE ? 4.0f : 2.0f) * u - (v->fill == FILL_WIDE ? 2.0f : 1.0f);
    }
}

/* ---- comparing --------------------------------------------------------------------------------------------------- */

typedef struct verify_error {
    double max, mean;
} verify_error;

static double verify_element_error(double got, double want, double magnitude, double floor)
{
    if (got == want)
        return 0.0;
    double err = fabs(got - want) / fmax(fabs(magnitude), floor);
    return isnan(err) || isinf(err) ? INFINITY : err;
}

static verify_error verify_compare(const verify_case *c, const float *got, const float *want, const float *mag)
{
    size_t n = verify_numel(&c->out);
    verify_error e = {0.0, 0.0};
    for (size_t k = 0; k < n; k++) {
        double err = verify_element_error(got[k], want[k], mag ? mag[k] : want[k], c->floor);
        e.max = fmax(e.max, err);
        e.mean += err / (double)n;
    }
    return e;
}

static bool verify_perturb_requested(void)
{
    const char *v = getenv("VKATTN_VERIFY_PERTURB");
    return v && strcmp(v, "1") == 0;
}

static void verify_perturb(float *y, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (isfinite(y[k]))
            y[k] += (float)(VERIFY_PERTURBATION * (1.0 + fabs((double)y[k])));
    }
}

/* ---- one case ---------------------------------------------------------------------------------------------------- */

typedef struct verify_run {
    vkattn_context *device;
    vkattn_context *cpu;
    uint32_t seed;
    bool perturb;
    size_t passed, failed;
} verify_run;

static void verify_shape_text(const verify_case *c, char *text, size_t size)
{
    size_t at = 0;
    for (uint32_t i = 0; i < c->n_in && i < 2 && at < size; i++) {
        const verify_tensor *v = &c->in[i];
        for (uint32_t d = 0; d < v->ndim && at < size; d++)
            at += (size_t)snprintf(text + at, size - at, "%s%lld", d ? "x" : (i ? "," : ""), (long long)v->shape[d]);
    }
}

static void verify_print(const verify_case *c, verify_error e, bool pass, const char *why)
{
    char shape[64] = "";
    verify_shape_text(c, shape, sizeof shape);
    printf("%-10s %-26s %-22s %-3s  max %9.3e  mean %9.3e  tol %.1e  %s%s\n", verify_ops[c->op], c->variant, shape,
           vkattn_dtype_name(c->out.dtype), e.max, e.mean, c->tol, pass ? "PASS" : "FAIL", why);
}

static void verify_failed_call(verify_run *run, const verify_case *c, const char *who, vkattn_context *ctx,
                               vkattn_result r)
{
    char why[320];
    snprintf(why, sizeof why, " (%s: %s [%s])", who, vkattn_context_last_error(ctx), vkattn_result_name(r));
    verify_print(c, (verify_error){INFINITY, INFINITY}, false, why);
    run->failed++;
}

/* The same inputs with the ones in c->abs_inputs replaced by their absolute values. */
static void verify_abs_inputs(const verify_case *c, void *const *inputs, void **out)
{
    for (uint32_t i = 0; i < c->n_in; i++) {
        out[i] = inputs[i];
        if (!(c->abs_inputs & (1u << i)))
            continue;
        size_t n = verify_numel(&c->in[i]);
        float *a = malloc(n * sizeof *a);
        for (size_t k = 0; a && k < n; k++)
            a[k] = fabsf(((const float *)inputs[i])[k]);
        out[i] = a;
    }
}

/* Device and reference outputs of the case compared; *mag is filled for MAG_TERMS. */
static void verify_check(verify_run *run, const verify_case *c, void *const *inputs, float *got, float *want,
                         float *mag)
{
    vkattn_result r = verify_execute(run->device, c, inputs, got);
    if (r != VKATTN_OK) {
        verify_failed_call(run, c, "device", run->device, r);
        return;
    }
    r = verify_execute(run->cpu, c, inputs, want);
    void *abs_in[VERIFY_MAX_INPUTS] = {0};
    if (r == VKATTN_OK && c->magnitude == MAG_TERMS) {
        verify_abs_inputs(c, inputs, abs_in);
        r = verify_execute(run->cpu, c, abs_in, mag);
        for (uint32_t i = 0; i < c->n_in; i++) {
            if (abs_in[i] != inputs[i])
                free(abs_in[i]);
        }
    }
    if (r != VKATTN_OK) {
        verify_failed_call(run, c, "cpu reference", run->cpu, r);
        return;
    }
    if (run->perturb)
        verify_perturb(got, verify_numel(&c->out));
    verify_error e = verify_compare(c, got, want, c->magnitude == MAG_TERMS ? mag : NULL);
    bool pass = e.max <= c->tol;
    verify_print(c, e, pass, "");
    pass ? run->passed++ : run->failed++;
}

static int verify_case_run(verify_run *run, const verify_case *c, uint32_t index)
{
    void *inputs[VERIFY_MAX_INPUTS] = {0};
    /* Each case its own stream: Knuth's multiplicative hash of the seed plus the case index; xorshift needs a
     * non-zero state. */
    uint32_t state = run->seed * 2654435761u + index * 40503u + 1u;
    if (state == 0)
        state = 1;
    size_t n_out = verify_numel(&c->out);
    float *got = malloc(n_out * sizeof *got), *want = malloc(n_out * sizeof *want), *mag = malloc(n_out * sizeof *mag);
    bool ok = got && want && mag;
    for (uint32_t i = 0; i < c->n_in; i++) {
        inputs[i] = malloc(verify_numel(&c->in[i]) * 4);
        ok = ok && inputs[i];
        if (inputs[i])
            verify_fill_values(&c->in[i], &state, inputs[i]);
    }
    if (ok)
        verify_check(run, c, inputs, got, want, mag);
    for (uint32_t i = 0; i < c->n_in; i++)
        free(inputs[i]);
    free(got);
    free(want);
    free(mag);
    return ok ? CLI_EXIT_OK : cli_error("out of host memory for %s %s", verify_ops[c->op], c->variant);
}

/* ---- the sweep --------------------------------------------------------------------------------------------------- */

static verify_tensor verify_tensor4(vkattn_dtype dtype, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return (verify_tensor){.dtype = dtype, .ndim = 4, .shape = {a, b, c, d}};
}

static verify_tensor verify_tensor3(vkattn_dtype dtype, int64_t a, int64_t b, int64_t c)
{
    return (verify_tensor){.dtype = dtype, .ndim = 3, .shape = {a, b, c}};
}

static double verify_tol(vkattn_dtype dtype)
{
    return dtype == VKATTN_F16 ? VERIFY_F16_TOL : VERIFY_F32_TOL;
}

/* Appends a case of `op` named `variant` with one input x whose shape and dtype the output shares. */
static verify_case *verify_add(verify_list *list, int op, verify_fn run, const char *variant, verify_tensor x)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 64;
        verify_case *cases = realloc(list->cases, capacity * sizeof *cases);
        if (!cases)
            return NULL;
        list->cases = cases;
        list->capacity = capacity;
    }
    verify_case *c = &list->cases[list->count++];
    *c = (verify_case){.op = op, .run = run, .n_in = 1, .out = x, .floor = VERIFY_TINY_FLOOR};
    c->in[0] = x;
    snprintf(c->variant, sizeof c->variant, "%s", variant);
    c->tol = verify_tol(x.dtype);
    if (x.dtype == VKATTN_F16)
        c->floor = VERIFY_F16_FLOOR;
    return c;
}

static bool verify_add_copies(verify_list *list, int64_t seq)
{
    static const vkattn_dtype pairs[4][2] = {
        {VKATTN_F32, VKATTN_F32}, {VKATTN_F32, VKATTN_F16}, {VKATTN_F16, VKATTN_F32}, {VKATTN_F16, VKATTN_F16}};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s->%s", vkattn_dtype_name(pairs[i][0]), vkattn_dtype_name(pairs[i][1]));
        verify_case *c = verify_add(list, VERIFY_COPY, run_copy, name, verify_tensor3(pairs[i][0], seq, 4, 64));
        if (!c)
            return false;
        c->out.dtype = pairs[i][1];
        /* A conversion to f16 rounds once (on both sides, to nearest even); from f16 it is exact. */
        c->tol = verify_tol(pairs[i][1]);
    }
    return true;
}

/*
 * A softmax with ALiBi rounds scores of size up to B = max_h m_h (k_len - 1), the largest bias: each f32 rounding
 * of a score (the bias product, the sum, the subtraction of the row maximum) is an absolute error of up to
 * 2^-24 B in the exponent, which exp turns into a relative error of p. The tolerance gets 4 such roundings on top
 * (at k_len 1024 and 4 heads, B = 255.75 and 4 * 2^-24 B = 6.1e-5; at k_len 64, 3.8e-6).
 */
static bool verify_widen_for_bias(verify_case *c, int64_t k_len)
{
    float slopes[VERIFY_SOFTMAX_HEADS];
    if (vkattn_alibi_slopes(&c->alibi, VERIFY_SOFTMAX_HEADS, (uint32_t)k_len, slopes) != VKATTN_OK)
        return false;
    float largest = 0.0f;
    for (uint32_t h = 0; h < VERIFY_SOFTMAX_HEADS; h++)
        largest = fmaxf(largest, fabsf(slopes[h]));
    c->tol += 4.0 * 0x1p-24 * (double)largest * (double)(k_len - 1);
    return true;
}

typedef struct softmax_variant {
    const char *name;
    vkattn_dtype dtype;
    float scale;
    bool mask, causal, alibi;
    uint32_t window;
} softmax_variant;

static bool verify_add_softmaxes(verify_list *list, int64_t seq)
{
    static const softmax_variant variants[] = {
        {"plain", VKATTN_F32, 0.0f, false, false, false, 0},   {"scale", VKATTN_F32, 0.125f, false, false, false, 0},
        {"mask", VKATTN_F32, 0.0f, true, false, false, 0},     {"causal", VKATTN_F32, 0.0f, false, true, false, 0},
        {"causal window 16", VKATTN_F32, 0.0f, false, true, false, 16},
        {"alibi causal", VKATTN_F32, 0.0f, false, true, true, 0},
        {"scale", VKATTN_F16, 0.125f, false, false, false, 0}, {"mask causal", VKATTN_F16, 0.0f, true, true, false, 0},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const softmax_variant *v = &variants[i];
        verify_tensor x = verify_tensor4(v->dtype, 1, VERIFY_SOFTMAX_HEADS, seq, seq);
        verify_case *c = verify_add(list, VERIFY_SOFTMAX, run_softmax, v->name, x);
        if (!c)
            return false;
        c->u.softmax = (vkattn_softmax_desc){.scale = v->scale, .causal = v->causal, .window = v->window};
        c->use_alibi = v->alibi;
        if (v->alibi && !verify_widen_for_bias(c, seq))
            return false;
        if (v->mask)
            c->in[c->n_in++] = (verify_tensor){.dtype = v->dtype, .ndim = 2, .shape = {seq, seq}, .fill = FILL_MASK};
    }
    return true;
}

typedef struct matmul_variant {
    const char *name;
    vkattn_dtype dtype;
    int64_t heads, heads_b, m, k, n;
    bool transpose_b;
} matmul_variant;

static bool verify_add_matmuls(verify_list *list, int64_t seq)
{
    const matmul_variant variants[] = {
        {"p v", VKATTN_F32, 4, 4, seq, seq, 64, false},        {"q k^T", VKATTN_F32, 4, 4, seq, 64, seq, true},
        {"decode q k^T", VKATTN_F32, 4, 4, 1, 64, seq, true},  {"gqa 8/2 p v", VKATTN_F32, 8, 2, seq, seq, 64, false},
        {"odd sizes", VKATTN_F32, 1, 1, seq - 1, 37, 29, false}, {"q k^T", VKATTN_F16, 4, 4, seq, 64, seq, true},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const matmul_variant *v = &variants[i];
        verify_tensor a = verify_tensor4(v->dtype, 1, v->heads, v->m, v->k);
        verify_case *c = verify_add(list, VERIFY_MATMUL, run_matmul, v->name, a);
        if (!c)
            return false;
        c->in[c->n_in++] = v->transpose_b ? verify_tensor4(v->dtype, 1, v->heads_b, v->n, v->k)
                                          : verify_tensor4(v->dtype, 1, v->heads_b, v->k, v->n);
        c->out = verify_tensor4(v->dtype, 1, v->heads, v->m, v->n);
        c->u.matmul = (vkattn_matmul_desc){.transpose_b = v->transpose_b, .scale = v->transpose_b ? 0.125f : 0.0f};
        c->magnitude = MAG_TERMS;
        c->abs_inputs = 3u;
    }
    return true;
}

typedef struct attention_variant {
    const char *name;
    vkattn_dtype dtype;
    vkattn_attention_pe pe;
    int64_t q_len, heads, kv_heads, head_dim;
    bool causal, mask;
    uint32_t window;
} attention_variant;

/* One variant on the fused and on the unfused path. q at q_offset = kv_len - q_len (decode: the last position). */
static bool verify_add_attention(verify_list *list, const attention_variant *v, int64_t kv_len)
{
    for (int unfused = 0; unfused < 2; unfused++) {
        char name[48];
        snprintf(name, sizeof name, "%s hd%lld %s", v->name, (long long)v->head_dim, unfused ? "unfused" : "fused");
        verify_tensor q = verify_tensor4(v->dtype, 1, v->q_len, v->heads, v->head_dim);
        q.fill = FILL_WIDE;
        verify_case *c = verify_add(list, VERIFY_ATTENTION, run_attention, name, q);
        if (!c)
            return false;
        c->in[1] = verify_tensor4(v->dtype, 1, kv_len, v->kv_heads, v->head_dim);
        c->in[1].fill = FILL_WIDE;
        c->in[2] = verify_tensor4(v->dtype, 1, kv_len, v->kv_heads, v->head_dim);
        c->n_in = 3;
        if (v->mask)
            c->in[c->n_in++] =
                (verify_tensor){.dtype = v->dtype, .ndim = 2, .shape = {v->q_len, kv_len}, .fill = FILL_MASK};
        c->u.attention = (vkattn_attention_desc){.causal = v->causal, .window = v->window, .pe = v->pe,
                                                 .q_offset = (int32_t)(kv_len - v->q_len), .unfused = unfused};
        c->magnitude = MAG_TERMS;
        c->abs_inputs = 1u << 2;
    }
    return true;
}

static bool verify_add_attentions(verify_list *list, int64_t seq)
{
    const attention_variant variants[] = {
        {"nope causal", VKATTN_F32, VKATTN_PE_NONE, seq, 4, 4, 64, true, false, 0},
        {"nope causal", VKATTN_F32, VKATTN_PE_NONE, seq, 4, 4, 80, true, false, 0},
        {"nope causal", VKATTN_F32, VKATTN_PE_NONE, seq, 4, 4, 128, true, false, 0},
        {"rope causal", VKATTN_F32, VKATTN_PE_ROPE, seq, 4, 4, 128, true, false, 0},
        {"alibi causal", VKATTN_F32, VKATTN_PE_ALIBI, seq, 4, 4, 64, true, false, 0},
        {"gqa 8/2 rope", VKATTN_F32, VKATTN_PE_ROPE, seq, 8, 2, 64, true, false, 0},
        {"mqa 8/1 nope", VKATTN_F32, VKATTN_PE_NONE, seq, 8, 1, 64, true, false, 0},
        {"window 16", VKATTN_F32, VKATTN_PE_NONE, seq, 4, 4, 64, true, false, 16},
        {"mask", VKATTN_F32, VKATTN_PE_NONE, seq, 4, 4, 64, false, true, 0},
        {"decode nope", VKATTN_F32, VKATTN_PE_NONE, 1, 8, 2, 128, true, false, 0},
        {"decode rope", VKATTN_F32, VKATTN_PE_ROPE, 1, 8, 2, 128, true, false, 0},
        {"decode alibi", VKATTN_F32, VKATTN_PE_ALIBI, 1, 8, 8, 64, true, false, 0},
        {"rope causal", VKATTN_F16, VKATTN_PE_ROPE, seq, 4, 2, 64, true, false, 0},
        {"decode nope", VKATTN_F16, VKATTN_PE_NONE, 1, 4, 4, 80, true, false, 0},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        if (!verify_add_attention(list, &variants[i], seq))
            return false;
    }
    return true;
}

typedef struct rope_variant {
    const char *name;
    vkattn_dtype dtype;
    vkattn_rope_desc desc;
    bool mrope_positions;
} rope_variant;

static bool verify_add_ropes(verify_list *list, int64_t seq)
{
    /* orig_ctx 32 < seq, so the scalings that depend on the context length take their long-context branch. */
    const rope_variant variants[] = {
        {"none", VKATTN_F32, {0}, false},
        {"linear 4", VKATTN_F32, {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4}, false},
        {"ntk 4", VKATTN_F32, {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = 4}, false},
        {"dynamic 4", VKATTN_F32, {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 4, .orig_ctx = 32}, false},
        {"yarn 4", VKATTN_F32, {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4, .orig_ctx = 32}, false},
        {"longrope", VKATTN_F32,
         {.scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = 4, .orig_ctx = 32, .short_factor = verify_short_factor,
          .long_factor = verify_long_factor, .factor_count = VERIFY_ROPE_PAIRS},
         false},
        {"llama3 8", VKATTN_F32, {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8, .orig_ctx = 32}, false},
        {"gptj", VKATTN_F32, {.mode = VKATTN_ROPE_GPTJ}, false},
        {"partial 32 of 64", VKATTN_F32, {.rot_dims = 32}, false},
        {"pos 10^6", VKATTN_F32, {.pos_offset = VERIFY_LARGE_POSITION, .base = 500000}, false},
        {"mrope 8,12,12", VKATTN_F32, {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {8, 12, 12}}, true},
        {"none", VKATTN_F16, {0}, false},
        {"yarn 4", VKATTN_F16, {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4, .orig_ctx = 32}, false},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const rope_variant *v = &variants[i];
        verify_case *c = verify_add(list, VERIFY_ROPE, run_rope, v->name, verify_tensor4(v->dtype, 1, seq, 4, 64));
        if (!c)
            return false;
        c->rope = v->desc;
        c->floor = VERIFY_TERM_FLOOR;
        if (v->mrope_positions)
            c->in[c->n_in++] = (verify_tensor){.dtype = VKATTN_I32, .ndim = 2, .shape = {3, seq}, .fill = FILL_MROPE};
    }
    return true;
}

static bool verify_add_sinusoidals(verify_list *list, int64_t seq)
{
    static const struct {
        const char *name;
        vkattn_dtype dtype;
        vkattn_sinusoidal_desc desc;
    } variants[] = {
        {"interleaved", VKATTN_F32, {VKATTN_SINUSOIDAL_INTERLEAVED, 0.0, 0}},
        {"concat", VKATTN_F32, {VKATTN_SINUSOIDAL_CONCAT, 0.0, 0}},
        {"interleaved pos 10^6", VKATTN_F32, {VKATTN_SINUSOIDAL_INTERLEAVED, 0.0, VERIFY_LARGE_POSITION}},
        {"concat", VKATTN_F16, {VKATTN_SINUSOIDAL_CONCAT, 0.0, 0}},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        verify_case *c = verify_add(list, VERIFY_SINUSOIDAL, run_sinusoidal, variants[i].name,
                                    verify_tensor3(variants[i].dtype, 2, seq, 96));
        if (!c)
            return false;
        c->u.sinusoidal = variants[i].desc;
        c->floor = VERIFY_TERM_FLOOR;
    }
    return true;
}

static bool verify_add_alibis(verify_list *list, int64_t seq)
{
    const struct {
        const char *name;
        int64_t heads, q_len;
        vkattn_alibi_desc desc;
    } variants[] = {
        {"paper 8 heads", 8, seq, {0}},
        {"paper 12 heads", 12, seq, {0}},
        {"max_bias 4", 8, seq, {.max_bias = 4.0f}},
        {"causal", 8, seq, {.causal = true}},
        {"decode causal", 8, 1, {.causal = true, .q_offset = (int32_t)seq - 1}},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        verify_case *c = verify_add(list, VERIFY_ALIBI, run_alibi, variants[i].name,
                                    verify_tensor4(VKATTN_F32, 1, variants[i].heads, variants[i].q_len, seq));
        if (!c)
            return false;
        c->alibi = variants[i].desc;
        c->floor = VERIFY_TERM_FLOOR;
    }
    return true;
}

typedef bool (*verify_builder)(verify_list *list, int64_t seq);

static bool verify_build(verify_list *list, const verify_options *o)
{
    static const verify_builder builders[VERIFY_OP_COUNT] = {
        verify_add_copies, verify_add_softmaxes, verify_add_matmuls, verify_add_attentions,
        verify_add_ropes,  verify_add_sinusoidals, verify_add_alibis};
    /* Quick: one short sequence (well under a minute on lavapipe). Full: also an odd length and a long one. */
    static const int64_t quick[] = {64}, full[] = {64, 333, 1024};
    const int64_t *seqs = o->full ? full : quick;
    size_t n_seqs = o->full ? sizeof full / sizeof full[0] : 1;
    for (uint32_t k = 0; k < VERIFY_ROPE_PAIRS; k++) {
        verify_short_factor[k] = 1.0f + 0.05f * (float)k;
        verify_long_factor[k] = 1.0f + 0.5f * (float)k;
    }
    for (size_t s = 0; s < n_seqs; s++) {
        for (int op = 0; op < VERIFY_OP_COUNT; op++) {
            if ((o->only < 0 || o->only == op) && !builders[op](list, seqs[s]))
                return false;
        }
    }
    return true;
}

/* ---- options ----------------------------------------------------------------------------------------------------- */

void cli_verify_usage(FILE *out)
{
    fputs("verify [options]: every op and variant on the device against the CPU backend\n"
          "    [--backend auto|vulkan|cpu]  default vulkan\n"
          "    [--device N|NAME]            Vulkan device index or name substring (default: the default device)\n"
          "    [--full]                     the larger sweep (sequence lengths 64, 333, 1024; default 64 only)\n"
          "    [--seed N]                   seed of the random inputs (default 1)\n"
          "    [--only copy|softmax|matmul|attention|rope|sinusoidal|alibi]  one op\n"
          "  One line per case: op, variant, shape, dtype, max and mean relative error, tolerance, PASS/FAIL.\n"
          "  Error = |device - cpu| / magnitude: |cpu| (softmax, copy; RoPE, sinusoidal and ALiBi with a floor of 1,\n"
          "  the size of their terms), the magnitude of the terms for matmul (sum |a||b|) and attention (sum p |v|).\n"
          "  Tolerance: f32 1e-5, f16 1e-3; RoPE at position 10^6 keeps 1e-5 (README: angle error < 1.2e-7 rad);\n"
          "  softmax with ALiBi adds 4 roundings of the largest bias B, 4 * 2^-24 * B (B = 255.75 at 1024 keys).\n"
          "  Exit status: 0 when every case passes, 1 when any fails, 2 on bad options.\n",
          out);
}

static int verify_word(const char *const *words, int count, const char *text)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(words[i], text) == 0)
            return i;
    }
    return -1;
}

static int verify_set(verify_options *o, const char *name, const char *value)
{
    static const char *const backends[] = {"auto", "vulkan", "cpu"}; /* vkattn_backend order */
    if (strcmp(name, "--device") == 0) {
        o->device = value;
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--backend") == 0) {
        int b = verify_word(backends, 3, value);
        o->backend = (vkattn_backend)b;
        return b < 0 ? cli_error("unknown backend '%s' for --backend (expected auto, vulkan or cpu)", value)
                     : CLI_EXIT_OK;
    }
    if (strcmp(name, "--only") == 0) {
        o->only = verify_word(verify_ops, VERIFY_OP_COUNT, value);
        return o->only < 0 ? cli_error("unknown op '%s' for --only (expected copy, softmax, matmul, attention, rope, "
                                       "sinusoidal or alibi)", value)
                           : CLI_EXIT_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long seed = strtoull(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end || errno || seed > UINT32_MAX)
        return cli_error("bad value '%s' for --seed (expected a decimal integer from 0 to %u)", value, UINT32_MAX);
    o->seed = (uint32_t)seed;
    return CLI_EXIT_OK;
}

/* Parses argv (argv[0] = "verify"); *help is set for -h / --help. */
static int verify_parse(int argc, char **argv, verify_options *o, bool *help)
{
    static const char *const valued[] = {"--backend", "--device", "--seed", "--only"};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = true;
            continue;
        }
        if (strcmp(arg, "--full") == 0) {
            o->full = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        char name[16] = "";
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len < sizeof name)
            memcpy(name, arg, len);
        if (arg[0] != '-')
            return cli_error("unexpected argument '%s' for 'verify' (it takes only options)", arg);
        if (verify_word(valued, 4, name) < 0)
            return cli_error("unknown option '%s' for 'verify' (try 'vkattn --help')", arg);
        if (!eq && i + 1 >= argc)
            return cli_error("option %s needs a value", name);
        int status = verify_set(o, name, eq ? eq + 1 : argv[++i]);
        if (status != CLI_EXIT_OK)
            return status;
    }
    return CLI_EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------------------------------------- */

static int verify_contexts(const verify_options *o, verify_run *run)
{
    vkattn_context_desc d = cli_context_desc(o->backend, o->device);
    vkattn_result r = vkattn_context_create(&d, &run->device);
    if (r != VKATTN_OK)
        return cli_library_error(NULL, r);
    d = cli_context_desc(VKATTN_BACKEND_CPU, NULL);
    r = vkattn_context_create(&d, &run->cpu);
    return r == VKATTN_OK ? CLI_EXIT_OK : cli_library_error(NULL, r);
}

static void verify_header(const verify_run *run)
{
    vkattn_device_info dev, cpu;
    vkattn_context_device_info(run->device, &dev);
    vkattn_context_device_info(run->cpu, &cpu);
    printf("device: %s (%s)\nreference: CPU backend (%s)\n", dev.name,
           dev.backend == VKATTN_BACKEND_CPU ? "CPU backend" : "Vulkan", cpu.name);
}

static int verify_all(verify_run *run, const verify_list *list)
{
    verify_header(run);
    for (size_t i = 0; i < list->count; i++) {
        int status = verify_case_run(run, &list->cases[i], (uint32_t)i);
        if (status != CLI_EXIT_OK)
            return status;
        fflush(stdout);
    }
    printf("verify: %zu cases, %zu passed, %zu failed\n", list->count, run->passed, run->failed);
    return run->failed ? 1 : CLI_EXIT_OK;
}

int cli_cmd_verify(int argc, char **argv)
{
    verify_options o = {.backend = VKATTN_BACKEND_VULKAN, .seed = 1, .only = -1};
    bool help = false;
    int status = verify_parse(argc, argv, &o, &help);
    if (status != CLI_EXIT_OK || help) {
        if (help)
            cli_verify_usage(stdout);
        return status;
    }
    verify_list list = {0};
    verify_run run = {.seed = o.seed, .perturb = verify_perturb_requested()};
    if (!verify_build(&list, &o))
        status = cli_error("out of host memory building the cases");
    if (status == CLI_EXIT_OK)
        status = verify_contexts(&o, &run);
    if (status == CLI_EXIT_OK)
        status = verify_all(&run, &list);
    vkattn_context_destroy(run.device);
    vkattn_context_destroy(run.cpu);
    free(list.cases);
    return status;
}
