/*
 * test_attention.c - vkattn_attention against a float64 reference written here from vkattn.h:
 *     out[b, i, h] = sum_j p_j v[b, j, h / (heads / kv_heads)],  p = softmax_j(scale q_i . k_j + bias + mask)
 * with q and k rotated by RoPE at q_offset + i and j (the RoFormer rotation, Su et al. 2021, arXiv:2104.09864, on
 * NEOX or GPTJ pairs, with the frequency ladder base^(-2i/d) and every scaling of Hugging Face's
 * modeling_rope_utils.py as pe_ref.c writes it), or the ALiBi bias, causal and sliding-window masking and an additive mask
 * as attn_ref.c evaluates them for the softmax. Covers prefill and decode (q_len 1 after a cache of up to 16383),
 * MHA, GQA 8/2 and MQA 8/1, every PE, head_dim 32 to 256 (and 320 unfused), kv_len 1 to 16384, fully masked rows,
 * f16, the fused path against the unfused one, strided views, command lists, a memory check that the fused kernel
 * allocates nothing of the size q_len x kv_len, and the result codes of bad calls, on every enabled backend.
 *
 * Error metric: |got - want| / sum_j p_j |v_j|, the size of the terms of the output, so that cancellation in the
 * sum does not inflate it; a fully masked row has no terms and must be exactly 0.
 */
#include "attn_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* f32: scores in f32 (a dot product of head_dim terms), exp and the running sums lose a few 2^-24 each. */
#define ATT_F32_TOL 1e-5
/* f16 storage: the output's rounding (2^-11 of |out| <= the terms) and the computation in f32. */
#define ATT_F16_TOL 1e-3
#define ATT_FLOOR 1e-30
#define MAX_HEAD_DIM 320
/* q and k uniform in [-2, 2): scores q.k / sqrt(d) have a spread of about 1.3, so the softmax is far from uniform;
 * v uniform in [-1, 1). */
#define QK_RANGE 2.0f

/* Every case runs the fused and the unfused path, each against the reference and against each other, unless: */
enum attn_flags {
    ONLY_UNFUSED = 1u << 0, /* head_dim above the fused kernel's */
    MASKS_ROWS = 1u << 1,   /* the case must mask at least one query row fully */
    NULL_DESC = 1u << 2,    /* call with desc = NULL (the case's desc must be all defaults) */
};

typedef struct attn_case {
    const char *name;
    int64_t batch, q_len, heads, kv_len, kv_heads, head_dim;
    vkattn_dtype dtype;
    vkattn_attention_desc desc; /* the mask handle comes from mask_ndim / mask_shape */
    uint32_t mask_ndim;         /* 0 = no mask */
    int64_t mask_shape[4];
    vkattn_dtype mask_dtype;
    uint32_t inf_every;         /* about one mask entry in inf_every is -inf (0 = none) */
    uint32_t flags;             /* attn_flags */
    const pe_layout *q_layout, *kv_layout, *out_layout; /* NULL = contiguous */
} attn_case;

/* ---- float64 reference: RoPE ------------------------------------------------------------------------------------- */

static double effective_scale(const attn_case *c)
{
    return c->desc.scale == 0.0f ? 1.0 / sqrt((double)c->head_dim) : (double)c->desc.scale;
}

static vkattn_rope_desc rope_of(const attn_case *c)
{
    static const vkattn_rope_desc defaults = {0};
    return c->desc.rope ? *c->desc.rope : defaults;
}

/* The context length c of DYNAMIC: ctx_len, else max(kv_len, q_offset + q_len) (vkattn.h, attention desc). */
static double rope_ctx_len(const attn_case *c)
{
    vkattn_rope_desc d = rope_of(c);
    if (d.ctx_len)
        return d.ctx_len;
    return fmax((double)c->kv_len, (double)c->desc.q_offset + (double)c->q_len);
}

/* theta_i of the desc's scaling (pe_rope_ladder, from HF modeling_rope_utils.py) divided by freq_factors[i]; returns
 * the attention factor m that multiplies cos and sin (attn_factor, else the scaling's default). */
static double rope_thetas(const vkattn_rope_desc *d, uint32_t rot, double ctx_len, double *theta)
{
    ck_assert_msg(d->axes == VKATTN_ROPE_AXES_1D, "the reference covers 1D RoPE");
    double m = pe_rope_ladder(d, d->base == 0.0 ? 10000.0 : d->base, rot, ctx_len, theta);
    for (uint32_t i = 0; d->freq_factors && i < rot / 2; i++)
        theta[i] /= d->freq_factors[i];
    return d->attn_factor != 0.0 ? d->attn_factor : m;
}

/* Rotates pair i = (a, b) of x by pos * theta_i: NEOX pairs (i, i + rot/2), GPTJ pairs (2i, 2i + 1). */
static void rope_rotate(vkattn_rope_mode mode, uint32_t rot, const double *theta, double m, int64_t pos, double *x)
{
    for (uint32_t i = 0; i < rot / 2; i++) {
        uint32_t a = mode == VKATTN_ROPE_GPTJ ? 2 * i : i, b = mode == VKATTN_ROPE_GPTJ ? 2 * i + 1 : i + rot / 2;
        double cs, sn;
        pe_cos_sin(pos, theta[i], &cs, &sn);
        double xa = x[a], xb = x[b];
        x[a] = m * (xa * cs - xb * sn);
        x[b] = m * (xb * cs + xa * sn);
    }
}

/* x [batch, seq, heads, head_dim] in float64, each head vector rotated at position first_pos + s under PE_ROPE. */
static double *positioned(const attn_case *c, const float *x, int64_t seq, int64_t heads, int64_t first_pos)
{
    size_t dim = (size_t)c->head_dim, n = (size_t)(c->batch * seq * heads) * dim;
    double *out = pe_xmalloc(n * sizeof *out);
    for (size_t e = 0; e < n; e++)
        out[e] = x[e];
    if (c->desc.pe != VKATTN_PE_ROPE)
        return out;
    vkattn_rope_desc d = rope_of(c);
    uint32_t rot = d.rot_dims ? d.rot_dims : (uint32_t)dim;
    double theta[MAX_HEAD_DIM / 2];
    double m = rope_thetas(&d, rot, rope_ctx_len(c), theta);
    for (size_t row = 0; row < n / dim; row++)
        rope_rotate(d.mode, rot, theta, m, first_pos + (int64_t)(row / (size_t)heads) % seq, out + row * dim);
    return out;
}

/* ---- float64 reference: attention -------------------------------------------------------------------------------- */

typedef struct attn_inputs {
    float *q, *k, *v, *mask;
    size_t nq, nkv, nmask;
} attn_inputs;

static attn_masking masking_of(const attn_case *c, const float *mask, double *slopes)
{
    const vkattn_attention_desc *d = &c->desc;
    attn_masking m = {.scale = effective_scale(c), .causal = d->causal, .q_offset = d->q_offset,
                      .window = d->window, .mask = c->mask_ndim ? mask : NULL};
    for (uint32_t k = 0; k < 4; k++)
        m.mask_shape[k] = k < 4 - c->mask_ndim ? 1 : c->mask_shape[k - (4 - c->mask_ndim)];
    if (d->pe == VKATTN_PE_ALIBI) {
        attn_ref_slopes(d->alibi, (uint32_t)c->heads, c->kv_len, slopes);
        m.slopes = slopes;
        m.grid_width = d->alibi ? d->alibi->grid_width : 0;
    }
    return m;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t e = 0; e < n; e++)
        s += a[e] * b[e];
    return s;
}

/* out row (b, i, h) = sum_j p_j v_j and its size sum_j p_j |v_j|, for the probabilities p of the row. */
static void weigh_values(const attn_case *c, const float *v, const double *p, int64_t b, int64_t kvh, double *out,
                         double *mag)
{
    size_t dim = (size_t)c->head_dim;
    for (size_t e = 0; e < dim; e++)
        out[e] = mag[e] = 0.0;
    for (int64_t j = 0; j < c->kv_len; j++) {
        if (p[j] == 0.0)
            continue;
        const float *vj = v + (size_t)((b * c->kv_len + j) * c->kv_heads + kvh) * dim;
        for (size_t e = 0; e < dim; e++) {
            out[e] += p[j] * vj[e];
            mag[e] += p[j] * fabs((double)vj[e]);
        }
    }
}

static void attn_reference(const attn_case *c, const attn_inputs *in, double *want, double *mag)
{
    double slopes[ATTN_MAX_HEADS];
    attn_masking m = masking_of(c, in->mask, slopes);
    double *q = positioned(c, in->q, c->q_len, c->heads, c->desc.q_offset);
    double *k = positioned(c, in->k, c->kv_len, c->kv_heads, 0);
    double *p = pe_xmalloc((size_t)c->kv_len * sizeof *p);
    const int64_t scores[4] = {c->batch, c->heads, c->q_len, c->kv_len};
    size_t dim = (size_t)c->head_dim;
    for (int64_t b = 0; b < c->batch; b++) {
        for (int64_t i = 0; i < c->q_len; i++) {
            for (int64_t h = 0; h < c->heads; h++) {
                int64_t kvh = h / (c->heads / c->kv_heads);
                size_t row = (size_t)((b * c->q_len + i) * c->heads + h) * dim;
                for (int64_t j = 0; j < c->kv_len; j++) {
                    bool hidden = attn_ref_key_masked(&m, c->desc.q_offset + i, j);
                    const double *kj = k + (size_t)((b * c->kv_len + j) * c->kv_heads + kvh) * dim;
                    p[j] = hidden ? 0.0 : dot(q + row, kj, dim); /* a hidden key's score is -inf anyway */
                }
                attn_ref_scores_row(&m, scores, b, h, i, p);
                attn_ref_softmax_row(p, (size_t)c->kv_len);
                weigh_values(c, in->v, p, b, kvh, want + row, mag + row);
            }
        }
    }
    free(q);
    free(k);
    free(p);
}

/* max |got - want| / max(mag, ATT_FLOOR): rows without terms (fully masked) must hold exactly 0. */
static double attn_error(const float *got, const double *want, const double *mag, size_t n)
{
    double worst = 0.0;
    for (size_t e = 0; e < n; e++) {
        double err = fabs((double)got[e] - want[e]) / fmax(mag[e], ATT_FLOOR);
        worst = isnan(err) ? INFINITY : fmax(worst, err);
    }
    return worst;
}

static size_t masked_rows(const double *mag, size_t n, size_t dim)
{
    size_t rows = 0;
    for (size_t r = 0; r < n / dim; r++)
        rows += dot(mag + r * dim, mag + r * dim, dim) == 0.0;
    return rows;
}

/* ---- inputs and tensors ------------------------------------------------------------------------------------------ */

static float *uniform(size_t n, uint32_t seed, float range, vkattn_dtype dtype)
{
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, -range, range);
    pe_round_to_dtype(dtype, x, n);
    return x;
}

static attn_inputs inputs_new(const attn_case *c, uint32_t seed)
{
    attn_inputs in = {.nq = (size_t)(c->batch * c->q_len * c->heads * c->head_dim),
                      .nkv = (size_t)(c->batch * c->kv_len * c->kv_heads * c->head_dim),
                      .nmask = c->mask_ndim ? pe_numel(c->mask_ndim, c->mask_shape) : 0};
    in.q = uniform(in.nq, seed, QK_RANGE, c->dtype);
    in.k = uniform(in.nkv, seed + 1, QK_RANGE, c->dtype);
    in.v = uniform(in.nkv, seed + 2, 1.0f, c->dtype);
    in.mask = pe_xmalloc(in.nmask * sizeof *in.mask);
    attn_mask_values(in.mask, in.nmask, seed + 3, -4.0f, c->inf_every, c->mask_dtype);
    return in;
}

static void inputs_free(attn_inputs *in)
{
    free(in->q);
    free(in->k);
    free(in->v);
    free(in->mask);
}

typedef struct attn_tensors {
    pe_tensor q, k, v, out, mask;
} attn_tensors;

static attn_tensors tensors_new(vkattn_context *ctx, const attn_case *c, const attn_inputs *in)
{
    const int64_t qs[4] = {c->batch, c->q_len, c->heads, c->head_dim};
    const int64_t kvs[4] = {c->batch, c->kv_len, c->kv_heads, c->head_dim};
    attn_tensors t = {
        .q = pe_tensor_new(ctx, c->dtype, 4, qs, c->q_layout),
        .k = pe_tensor_new(ctx, c->dtype, 4, kvs, c->kv_layout),
        .v = pe_tensor_new(ctx, c->dtype, 4, kvs, c->kv_layout),
        .out = pe_tensor_new(ctx, c->dtype, 4, qs, c->out_layout),
    };
    pe_tensor_set(ctx, &t.q, in->q);
    pe_tensor_set(ctx, &t.k, in->k);
    pe_tensor_set(ctx, &t.v, in->v);
    if (c->mask_ndim) {
        t.mask = pe_tensor_new(ctx, c->mask_dtype, c->mask_ndim, c->mask_shape, NULL);
        pe_tensor_set(ctx, &t.mask, in->mask);
    }
    return t;
}

static void tensors_free(vkattn_context *ctx, attn_tensors *t)
{
    pe_tensor *all[5] = {&t->q, &t->k, &t->v, &t->out, &t->mask};
    for (int i = 0; i < 5; i++)
        pe_tensor_free(ctx, all[i]);
}

static vkattn_attention_desc desc_of(const attn_case *c, const attn_tensors *t, bool unfused)
{
    vkattn_attention_desc d = c->desc;
    d.mask = t->mask.t;
    d.unfused = unfused;
    return d;
}

/* One immediate call on the case's tensors (the fused one with desc = NULL for NULL_DESC); reads out back and
 * checks the base around an out view. */
static float *execute(vkattn_context *ctx, const attn_case *c, const attn_tensors *t, bool unfused)
{
    vkattn_attention_desc d = desc_of(c, t, unfused);
    const vkattn_attention_desc *dp = (c->flags & NULL_DESC) && !unfused ? NULL : &d;
    pe_expect(ctx, vkattn_attention(ctx, NULL, dp, t->q.t, t->k.t, t->v.t, t->out.t), VKATTN_OK, c->name);
    float *out = pe_xmalloc(t->out.numel * sizeof *out);
    pe_tensor_get(ctx, &t->out, out);
    pe_tensor_check_outside(ctx, &t->out, c->name);
    return out;
}

static double case_tol(const attn_case *c)
{
    return c->dtype == VKATTN_F16 ? ATT_F16_TOL : ATT_F32_TOL;
}

/* ---- checking a case --------------------------------------------------------------------------------------------- */

static void report_path(vkattn_context *ctx, const attn_case *c, const char *path, double err)
{
    char what[256];
    snprintf(what, sizeof what, "%s [%s]", c->name, path);
    pe_report(ctx, "attention", what, err, case_tol(c));
}

/* The fused and the unfused results against each other, on the reference's scale. */
static void report_agreement(vkattn_context *ctx, const attn_case *c, const float *fused, const float *unfused,
                             const double *mag, size_t n)
{
    double *as_double = pe_xmalloc(n * sizeof *as_double);
    for (size_t e = 0; e < n; e++)
        as_double[e] = unfused[e];
    char what[256];
    snprintf(what, sizeof what, "%s [fused vs unfused]", c->name);
    pe_report(ctx, "attention", what, attn_error(fused, as_double, mag, n), 2 * case_tol(c));
    free(as_double);
}

static void check_case(vkattn_context *ctx, const attn_case *c, uint32_t seed)
{
    attn_inputs in = inputs_new(c, seed);
    double *want = pe_xmalloc(in.nq * sizeof *want), *mag = pe_xmalloc(in.nq * sizeof *mag);
    attn_reference(c, &in, want, mag);
    ck_assert_msg(!(c->flags & MASKS_ROWS) || masked_rows(mag, in.nq, (size_t)c->head_dim) > 0,
                  "%s: no query row is fully masked", c->name);
    attn_tensors t = tensors_new(ctx, c, &in);
    float *fused = NULL, *unfused = execute(ctx, c, &t, true);
    report_path(ctx, c, "unfused", attn_error(unfused, want, mag, in.nq));
    if (!(c->flags & ONLY_UNFUSED)) {
        fused = execute(ctx, c, &t, false);
        report_path(ctx, c, "fused", attn_error(fused, want, mag, in.nq));
        report_agreement(ctx, c, fused, unfused, mag, in.nq);
    }
    free(fused);
    free(unfused);
    free(want);
    free(mag);
    tensors_free(ctx, &t);
    inputs_free(&in);
}

static void check_cases(int backend_index, const attn_case *cases, size_t count, uint32_t seed)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx)
        return;
    for (size_t k = 0; k < count; k++)
        check_case(ctx, &cases[k], seed + 10u * (uint32_t)k);
    vkt_context_destroy(ctx);
}

/* ---- case tables ---------------------------------------------------------------------------------------------------
 * The Vulkan kernel is specialised on head_dim, the head group, the mask flags, the window and the key split, and
 * every distinct combination is a pipeline compile (seconds on lavapipe). So the cases share one shape, GQA 8/2
 * (group 4) with head_dim 64 and f32, and vary only what each one is about. */

#define GQA .heads = 8, .kv_heads = 2, .head_dim = 64

/* ---- head dims --------------------------------------------------------------------------------------------------- */

#define HEAD_DIM_CASE(d, dt)                                                                                         \
    {.name = "head_dim " #d " " #dt ", GQA 8/2, causal after a cache of 64", .batch = 1, .q_len = 13, .heads = 8,  \
     .kv_len = 77, .kv_heads = 2, .head_dim = d, .dtype = VKATTN_##dt, .desc = {.causal = true, .q_offset = 64}}

static const attn_case head_dim_cases[] = {
    HEAD_DIM_CASE(32, F32),  HEAD_DIM_CASE(64, F32),  HEAD_DIM_CASE(80, F32), HEAD_DIM_CASE(96, F32),
    HEAD_DIM_CASE(128, F32), HEAD_DIM_CASE(256, F32), HEAD_DIM_CASE(80, F16), HEAD_DIM_CASE(256, F16),
    {.name = "head_dim 320 (above the fused kernel's 256), unfused", .batch = 1, .q_len = 9, .heads = 8,
     .kv_len = 40, .kv_heads = 2, .head_dim = 320, .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 31},
     .flags = ONLY_UNFUSED},
};

START_TEST(test_attention_head_dims)
{
    check_cases(_i, head_dim_cases, PE_COUNT_OF(head_dim_cases), 100u);
}
END_TEST

/* ---- decode, prefill, heads -------------------------------------------------------------------------------------- */

#define DECODE_CASE(kv, dt)                                                                                          \
    {.name = "decode kv_len " #kv ", GQA 8/2 " #dt, .batch = 1, .q_len = 1, .kv_len = kv, GQA,                      \
     .dtype = VKATTN_##dt, .desc = {.causal = true, .q_offset = kv - 1}}

static const attn_case decode_cases[] = {
    DECODE_CASE(1, F32),    DECODE_CASE(2, F32),     DECODE_CASE(255, F32),  DECODE_CASE(256, F32),
    DECODE_CASE(511, F32),  DECODE_CASE(512, F32),   DECODE_CASE(1000, F32), DECODE_CASE(4096, F32),
    DECODE_CASE(16384, F32), DECODE_CASE(4096, F16), DECODE_CASE(16384, F16),
    {.name = "decode kv_len 513, MQA 8/1", .batch = 1, .q_len = 1, .heads = 8, .kv_len = 513, .kv_heads = 1,
     .head_dim = 64, .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 512}},
    {.name = "decode batch 3, kv_len 700, window 300", .batch = 3, .q_len = 1, .kv_len = 700, GQA,
     .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 699, .window = 300}},
    {.name = "decode q_len 4 (speculative), kv_len 1500", .batch = 1, .q_len = 4, .kv_len = 1500, GQA,
     .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 1496}},
    /* Many keys per row at the widest head dims: each workgroup's loops stay within llvmpipe's limit on loop
     * iterations only through the key split (vk_ops.c attention_max_keys); a silent early exit would show here. */
    {.name = "decode head_dim 256, kv_len 16384, GQA 8/2", .batch = 1, .q_len = 1, .heads = 8, .kv_len = 16384,
     .kv_heads = 2, .head_dim = 256, .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 16383}},
    {.name = "16 queries, head_dim 128, kv_len 12000, MQA 8/1, not causal", .batch = 1, .q_len = 16, .heads = 8,
     .kv_len = 12000, .kv_heads = 1, .head_dim = 128, .dtype = VKATTN_F32},
    {.name = "8 queries, head_dim 80, f16, kv_len 9000, not causal", .batch = 1, .q_len = 8, .heads = 4,
     .kv_len = 9000, .kv_heads = 4, .head_dim = 80, .dtype = VKATTN_F16},
};

START_TEST(test_attention_decode)
{
    check_cases(_i, decode_cases, PE_COUNT_OF(decode_cases), 200u);
}
END_TEST

static const attn_case prefill_cases[] = {
    {.name = "prefill 1 token", .batch = 1, .q_len = 1, .kv_len = 1, GQA, .dtype = VKATTN_F32,
     .desc = {.causal = true}},
    {.name = "prefill 80, GQA 8/2, causal", .batch = 1, .q_len = 80, .kv_len = 80, GQA, .dtype = VKATTN_F32,
     .desc = {.causal = true}},
    {.name = "prefill 80, MHA 4/4, not causal", .batch = 2, .q_len = 80, .heads = 4, .kv_len = 80, .kv_heads = 4,
     .head_dim = 64, .dtype = VKATTN_F32},
    {.name = "prefill 80, MQA 8/1, causal", .batch = 1, .q_len = 80, .heads = 8, .kv_len = 80, .kv_heads = 1,
     .head_dim = 64, .dtype = VKATTN_F32, .desc = {.causal = true}},
    {.name = "prefill 160, GQA 4/1, f16, causal", .batch = 1, .q_len = 160, .heads = 4, .kv_len = 160,
     .kv_heads = 1, .head_dim = 64, .dtype = VKATTN_F16, .desc = {.causal = true}},
    {.name = "prefill 512, one head, causal", .batch = 1, .q_len = 512, .heads = 1, .kv_len = 512, .kv_heads = 1,
     .head_dim = 64, .dtype = VKATTN_F32, .desc = {.causal = true}},
    {.name = "chunk of 37 after a cache of 220, scale 0.05", .batch = 2, .q_len = 37, .kv_len = 257, GQA,
     .dtype = VKATTN_F32, .desc = {.scale = 0.05f, .causal = true, .q_offset = 220}},
    {.name = "cross attention 17 x 333, MHA 4/4, not causal", .batch = 2, .q_len = 17, .heads = 4, .kv_len = 333,
     .kv_heads = 4, .head_dim = 64, .dtype = VKATTN_F32},
    {.name = "desc NULL (scale 1/sqrt(d), no mask, NoPE)", .batch = 1, .q_len = 20, .heads = 4, .kv_len = 50,
     .kv_heads = 4, .head_dim = 64, .dtype = VKATTN_F32, .flags = NULL_DESC},
};

START_TEST(test_attention_prefill)
{
    check_cases(_i, prefill_cases, PE_COUNT_OF(prefill_cases), 300u);
}
END_TEST

/* ---- positional encodings ---------------------------------------------------------------------------------------- */

static const vkattn_rope_desc rope_gptj_partial = {.mode = VKATTN_ROPE_GPTJ, .rot_dims = 32, .base = 500000.0};
static const vkattn_rope_desc rope_linear = {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4.0};
static const vkattn_rope_desc rope_ntk = {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = 2.0, .base = 1000000.0};
static const vkattn_rope_desc rope_dynamic = {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0, .orig_ctx = 64};
static const vkattn_rope_desc rope_yarn = {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 32};
static const vkattn_rope_desc rope_llama3 = {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0, .orig_ctx = 32,
                                             .base = 500000.0};
/* 32 pairs of head_dim 64: short factors near 1, long factors rising to 8 (Phi-3 style). */
static const float longrope_short[32] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
                                         1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.1f, 1.1f, 1.1f, 1.2f, 1.2f, 1.3f,
                                         1.3f, 1.4f, 1.5f, 1.6f, 1.7f, 1.8f, 1.9f, 2.0f, 2.0f, 2.0f};
static const float longrope_long[32] = {1.0f, 1.0f, 1.1f, 1.2f, 1.3f, 1.5f, 1.7f, 2.0f, 2.3f, 2.6f, 3.0f,
                                        3.4f, 3.8f, 4.2f, 4.6f, 5.0f, 5.4f, 5.8f, 6.1f, 6.4f, 6.7f, 7.0f,
                                        7.2f, 7.4f, 7.6f, 7.7f, 7.8f, 7.9f, 8.0f, 8.0f, 8.0f, 8.0f};
/* kv_len 120 > orig_ctx 64: the long factors. */
static const vkattn_rope_desc rope_longrope = {.scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = 4.0,
                                               .orig_ctx = 64, .short_factor = longrope_short,
                                               .long_factor = longrope_long, .factor_count = 32};
static const vkattn_rope_desc rope_freq_factors = {.freq_factors = longrope_short, .factor_count = 32,
                                                   .attn_factor = 0.75};
static const float caller_slopes12[12] = {0.5f, 0.25f, 0.0f, 1.0f, 0.125f, 0.0625f,
                                          0.75f, 0.3f, 2.0f, 0.01f, 0.2f, 0.4f};
static const vkattn_alibi_desc alibi_bias4 = {.max_bias = 4.0f};
static const vkattn_alibi_desc alibi_trained = {.train_len = 100};
static const vkattn_alibi_desc alibi_caller = {.slopes = caller_slopes12, .slope_count = 12};

/* 12 heads (ALiBi slopes of a count that is not a power of two) on 3 KV heads: group 4 as the other cases. */
#define PE_CASE(label, q, kv, dt, ...)                                                                               \
    {.name = label, .batch = 1, .q_len = q, .heads = 12, .kv_len = kv, .kv_heads = 3, .head_dim = 64,             \
     .dtype = VKATTN_##dt, .desc = {.causal = true, .q_offset = kv - q, __VA_ARGS__}}

static const attn_case pe_cases[] = {
    PE_CASE("NoPE", 16, 120, F32, .pe = VKATTN_PE_NONE),
    PE_CASE("RoPE (NEOX, base 10000)", 16, 120, F32, .pe = VKATTN_PE_ROPE),
    PE_CASE("RoPE GPTJ, rot_dims 32 of 64, base 5e5", 16, 120, F32, .pe = VKATTN_PE_ROPE,
            .rope = &rope_gptj_partial),
    PE_CASE("RoPE linear scaling 4", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_linear),
    PE_CASE("RoPE NTK scaling 2, base 1e6", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_ntk),
    PE_CASE("RoPE dynamic NTK (c = kv_len 120 > orig_ctx 64)", 16, 120, F32, .pe = VKATTN_PE_ROPE,
            .rope = &rope_dynamic),
    PE_CASE("RoPE YaRN factor 4, orig_ctx 32", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_yarn),
    PE_CASE("RoPE llama3 factor 8, orig_ctx 32, base 5e5", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_llama3),
    PE_CASE("RoPE LongRoPE (long factors), factor 4", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_longrope),
    PE_CASE("RoPE freq_factors, attn_factor 0.75", 16, 120, F32, .pe = VKATTN_PE_ROPE, .rope = &rope_freq_factors),
    PE_CASE("RoPE decode after 4095", 1, 4096, F32, .pe = VKATTN_PE_ROPE),
    PE_CASE("RoPE f16", 16, 120, F16, .pe = VKATTN_PE_ROPE),
    PE_CASE("ALiBi (paper slopes, 12 heads)", 16, 120, F32, .pe = VKATTN_PE_ALIBI),
    PE_CASE("ALiBi max_bias 4", 16, 120, F32, .pe = VKATTN_PE_ALIBI, .alibi = &alibi_bias4),
    PE_CASE("ALiBi train_len 100 < kv_len 120", 16, 120, F32, .pe = VKATTN_PE_ALIBI, .alibi = &alibi_trained),
    PE_CASE("ALiBi caller slopes", 16, 120, F32, .pe = VKATTN_PE_ALIBI, .alibi = &alibi_caller),
    PE_CASE("ALiBi decode after 4095", 1, 4096, F32, .pe = VKATTN_PE_ALIBI),
    PE_CASE("ALiBi f16", 16, 120, F16, .pe = VKATTN_PE_ALIBI),
    {.name = "ALiBi not causal, q_offset 0", .batch = 1, .q_len = 30, .kv_len = 30, GQA, .dtype = VKATTN_F32,
     .desc = {.pe = VKATTN_PE_ALIBI}},
};

START_TEST(test_attention_pe)
{
    check_cases(_i, pe_cases, PE_COUNT_OF(pe_cases), 400u);
}
END_TEST

/* ---- masks ------------------------------------------------------------------------------------------------------- */

/* 12 queries, 70 keys; a mask of nd dims (0 = none) with one -inf in about `inf`. */
#define MASK_CASE(label, dt, mdt, nd, inf, ...)                                                                      \
    {.name = label, .batch = 2, .q_len = 12, .kv_len = 70, GQA, .dtype = VKATTN_##dt, .mask_ndim = nd,             \
     .mask_dtype = VKATTN_##mdt, .inf_every = inf, __VA_ARGS__}

static const attn_case mask_cases[] = {
    MASK_CASE("mask [q, k] f32", F32, F32, 2, 6, .mask_shape = {12, 70}),
    MASK_CASE("mask [q, k] f16", F32, F16, 2, 6, .mask_shape = {12, 70}),
    MASK_CASE("mask [1, heads, q, k] f32", F32, F32, 4, 6, .mask_shape = {1, 8, 12, 70}),
    MASK_CASE("mask [1, heads, q, k] f16", F32, F16, 4, 6, .mask_shape = {1, 8, 12, 70}),
    MASK_CASE("mask [batch, 1, q, k] f32", F32, F32, 4, 6, .mask_shape = {2, 1, 12, 70}),
    MASK_CASE("mask [batch, 1, q, k] f16", F32, F16, 4, 6, .mask_shape = {2, 1, 12, 70}),
    MASK_CASE("padding mask [batch, 1, 1, k]", F32, F32, 4, 3, .mask_shape = {2, 1, 1, 70}),
    MASK_CASE("mask [q, 1] with -inf rows", F32, F32, 2, 2, .mask_shape = {12, 1}, .flags = MASKS_ROWS),
    MASK_CASE("window 16 without causal", F32, F32, 0, 0, .desc = {.q_offset = 58, .window = 16}),
    MASK_CASE("window 16 with queries past the keys", F32, F32, 0, 0, .desc = {.q_offset = 80, .window = 16},
              .flags = MASKS_ROWS),
    MASK_CASE("causal + window 16", F32, F32, 0, 0, .desc = {.causal = true, .q_offset = 58, .window = 16}),
    MASK_CASE("causal + window 1 (the query only)", F32, F32, 0, 0,
              .desc = {.causal = true, .q_offset = 58, .window = 1}),
    MASK_CASE("causal, q_offset -5: the first queries see no key", F32, F32, 0, 0,
              .desc = {.causal = true, .q_offset = -5}, .flags = MASKS_ROWS),
    MASK_CASE("mask + causal + window 16 + ALiBi", F32, F16, 4, 6, .mask_shape = {2, 1, 12, 70},
              .desc = {.causal = true, .q_offset = 58, .window = 16, .pe = VKATTN_PE_ALIBI}),
    MASK_CASE("mask + causal + RoPE, f16", F16, F16, 2, 6, .mask_shape = {12, 70},
              .desc = {.causal = true, .q_offset = 58, .pe = VKATTN_PE_ROPE}),
    MASK_CASE("f16, fully masked rows", F16, F16, 2, 2, .mask_shape = {12, 1},
              .desc = {.causal = true, .q_offset = 58}, .flags = MASKS_ROWS),
    {.name = "decode, kv_len 3000, padding mask [batch, 1, 1, k], window 1000", .batch = 2, .q_len = 1,
     .kv_len = 3000, GQA, .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 2999, .window = 1000},
     .mask_ndim = 4, .mask_shape = {2, 1, 1, 3000}, .mask_dtype = VKATTN_F32, .inf_every = 5},
    {.name = "decode, every key masked by the mask", .batch = 1, .q_len = 1, .kv_len = 2048, GQA,
     .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 2047}, .mask_ndim = 2, .mask_shape = {1, 2048},
     .mask_dtype = VKATTN_F32, .inf_every = 1, .flags = MASKS_ROWS},
};

START_TEST(test_attention_masks)
{
    check_cases(_i, mask_cases, PE_COUNT_OF(mask_cases), 500u);
}
END_TEST

/* ---- strided views ----------------------------------------------------------------------------------------------- */

/* [B, S, H, D] stored as a [B, H, S, D] buffer (rows padded by 2, 3 elements in); a padded contiguous out. */
static const pe_layout bhsd = {{0, 2, 1, 3}, 2, 3};
static const pe_layout padded = {{0, 1, 2, 3}, 5, 1};

static const attn_case strided_cases[] = {
    {.name = "Q, K, V [B,H,S,D] buffers, out [B,H,S,D] buffer", .batch = 2, .q_len = 9, .kv_len = 40, GQA,
     .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 31}, .q_layout = &bhsd, .kv_layout = &bhsd,
     .out_layout = &bhsd},
    {.name = "Q [B,H,S,D] buffer, padded out, RoPE", .batch = 2, .q_len = 9, .kv_len = 40, GQA, .dtype = VKATTN_F32,
     .desc = {.causal = true, .q_offset = 31, .pe = VKATTN_PE_ROPE}, .q_layout = &bhsd, .out_layout = &padded},
    {.name = "f16 views, decode kv_len 1500", .batch = 1, .q_len = 1, .kv_len = 1500, GQA, .dtype = VKATTN_F16,
     .desc = {.causal = true, .q_offset = 1499}, .q_layout = &bhsd, .kv_layout = &bhsd, .out_layout = &bhsd},
};

START_TEST(test_attention_strided)
{
    check_cases(_i, strided_cases, PE_COUNT_OF(strided_cases), 600u);
}
END_TEST

/* ---- command lists ----------------------------------------------------------------------------------------------- */

/* The case's q, k, v in a list of: RoPE of q (pos_offset = q_offset) and of k into new tensors, a copy of v from a
 * [B, H, S, D] buffer into the tensor attention reads, NoPE attention on them, and a copy of out. Each op reads
 * what one before wrote; the result must equal the case's own attention with PE_ROPE. */
static float *run_recorded_pipeline(vkattn_context *ctx, const attn_case *c, const attn_tensors *t)
{
    const int64_t qs[4] = {c->batch, c->q_len, c->heads, c->head_dim};
    const int64_t kvs[4] = {c->batch, c->kv_len, c->kv_heads, c->head_dim};
    pe_tensor qr = pe_tensor_new(ctx, c->dtype, 4, qs, NULL), kr = pe_tensor_new(ctx, c->dtype, 4, kvs, NULL);
    pe_tensor v = pe_tensor_new(ctx, c->dtype, 4, kvs, NULL), out2 = pe_tensor_new(ctx, c->dtype, 4, qs, NULL);
    vkattn_rope_desc rq = rope_of(c), rk = rope_of(c);
    rq.pos_offset = c->desc.q_offset;
    vkattn_attention_desc nope = desc_of(c, t, false);
    nope.pe = VKATTN_PE_NONE;
    nope.rope = NULL;
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_rope(ctx, cmd, &rq, t->q.t, (vkattn_tensor){0}, qr.t), VKATTN_OK, "rope q (recorded)");
    pe_expect(ctx, vkattn_rope(ctx, cmd, &rk, t->k.t, (vkattn_tensor){0}, kr.t), VKATTN_OK, "rope k (recorded)");
    pe_expect(ctx, vkattn_copy(ctx, cmd, t->v.t, v.t), VKATTN_OK, "copy v (recorded)");
    pe_expect(ctx, vkattn_attention(ctx, cmd, &nope, qr.t, kr.t, v.t, t->out.t), VKATTN_OK, "attention (recorded)");
    pe_expect(ctx, vkattn_copy(ctx, cmd, t->out.t, out2.t), VKATTN_OK, "copy out (recorded)");
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    float *got = pe_xmalloc(out2.numel * sizeof *got);
    pe_tensor_get(ctx, &out2, got);
    vkattn_cmd_destroy(cmd);
    pe_tensor *all[4] = {&qr, &kr, &v, &out2};
    for (int i = 0; i < 4; i++)
        pe_tensor_free(ctx, all[i]);
    return got;
}

/* The case's attention (fused, then unfused) recorded twice into one list, reading back both outputs. */
static void run_recorded_twice(vkattn_context *ctx, const attn_case *c, const attn_tensors *t, float *fused,
                               float *unfused)
{
    pe_tensor second = pe_tensor_new(ctx, c->dtype, 4, (const int64_t[]){c->batch, c->q_len, c->heads,
                                     c->head_dim}, NULL);
    vkattn_attention_desc df = desc_of(c, t, false), du = desc_of(c, t, true);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_attention(ctx, cmd, &df, t->q.t, t->k.t, t->v.t, t->out.t), VKATTN_OK, "fused (recorded)");
    pe_expect(ctx, vkattn_attention(ctx, cmd, &du, t->q.t, t->k.t, t->v.t, second.t), VKATTN_OK,
              "unfused (recorded)");
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    pe_tensor_get(ctx, &t->out, fused);
    pe_tensor_get(ctx, &second, unfused);
    vkattn_cmd_destroy(cmd);
    pe_tensor_free(ctx, &second);
}

START_TEST(test_attention_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const attn_case c = {.name = "cmd", .batch = 2, .q_len = 5, .kv_len = 40, GQA, .dtype = VKATTN_F32,
                                .desc = {.causal = true, .q_offset = 35, .pe = VKATTN_PE_ROPE},
                                .kv_layout = &bhsd};
    attn_inputs in = inputs_new(&c, 700u);
    double *want = pe_xmalloc(in.nq * sizeof *want), *mag = pe_xmalloc(in.nq * sizeof *mag);
    attn_reference(&c, &in, want, mag);
    attn_tensors t = tensors_new(ctx, &c, &in);
    float *piped = run_recorded_pipeline(ctx, &c, &t);
    pe_report(ctx, "attention", "cmd: rope q, rope k, copy v -> NoPE attention -> copy",
              attn_error(piped, want, mag, in.nq), ATT_F32_TOL);
    float *fused = pe_xmalloc(in.nq * sizeof *fused), *unfused = pe_xmalloc(in.nq * sizeof *unfused);
    run_recorded_twice(ctx, &c, &t, fused, unfused);
    pe_report(ctx, "attention", "cmd: RoPE attention fused, then unfused, in one list [fused]",
              attn_error(fused, want, mag, in.nq), ATT_F32_TOL);
    pe_report(ctx, "attention", "cmd: RoPE attention fused, then unfused, in one list [unfused]",
              attn_error(unfused, want, mag, in.nq), ATT_F32_TOL);
    free(piped);
    free(fused);
    free(unfused);
    free(want);
    free(mag);
    tensors_free(ctx, &t);
    inputs_free(&in);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- memory ------------------------------------------------------------------------------------------------------ */

/* Submits a recorded list, waits, and checks the case's out against the reference. */
static void run_and_check(vkattn_context *ctx, vkattn_cmd *cmd, const attn_case *c, const attn_tensors *t,
                          const double *want, const double *mag)
{
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    float *got = pe_xmalloc(t->out.numel * sizeof *got);
    pe_tensor_get(ctx, &t->out, got);
    report_path(ctx, c, "fused", attn_error(got, want, mag, t->out.numel));
    free(got);
}

/* bytes_allocated growth from recording the case's attention into a list (recorded ops keep their scratch tensors
 * alive until the list is destroyed). With a reference (want, mag), the list also runs, the growth is taken after it
 * completes and out is checked; without, recording alone shows what the path allocates. */
static uint64_t recorded_growth(vkattn_context *ctx, const attn_case *c, const attn_tensors *t, bool unfused,
                                const double *want, const double *mag)
{
    vkattn_context_stats before, after;
    vkattn_attention_desc d = desc_of(c, t, unfused);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_context_stats_get(ctx, &before), VKATTN_OK, "stats before");
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_attention(ctx, cmd, &d, t->q.t, t->k.t, t->v.t, t->out.t), VKATTN_OK, c->name);
    if (want)
        run_and_check(ctx, cmd, c, t, want, mag);
    pe_expect(ctx, vkattn_context_stats_get(ctx, &after), VKATTN_OK, "stats after");
    vkattn_cmd_destroy(cmd);
    return after.bytes_allocated > before.bytes_allocated ? after.bytes_allocated - before.bytes_allocated : 0;
}

/* Fused attention of 4 queries over 16384 keys (4 heads) must not allocate anything near the q_len x kv_len scores
 * (1 MiB); the unfused path does, which shows the check can fail. */
START_TEST(test_attention_memory)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const attn_case c = {.name = "chunk of 4 after a cache of 16380, kv_len 16384, GQA 4/1", .batch = 1,
                                .q_len = 4, .heads = 4, .kv_len = 16384, .kv_heads = 1, .head_dim = 64,
                                .dtype = VKATTN_F32, .desc = {.causal = true, .q_offset = 16380}};
    const uint64_t scores_bytes = (uint64_t)(c.batch * c.heads * c.q_len * c.kv_len) * sizeof(float);
    attn_inputs in = inputs_new(&c, 800u);
    double *want = pe_xmalloc(in.nq * sizeof *want), *mag = pe_xmalloc(in.nq * sizeof *mag);
    attn_reference(&c, &in, want, mag);
    attn_tensors t = tensors_new(ctx, &c, &in);
    uint64_t fused = recorded_growth(ctx, &c, &t, false, want, mag);
    uint64_t unfused = recorded_growth(ctx, &c, &t, true, NULL, NULL);
    printf("attention [%s] memory: scores %llu bytes; growth fused %llu, unfused (recorded) %llu\n",
           vkt_backend_name(vkattn_context_backend(ctx)), (unsigned long long)scores_bytes,
           (unsigned long long)fused, (unsigned long long)unfused);
    ck_assert_msg(fused < scores_bytes / 8, "fused attention allocated %llu bytes (scores: %llu)",
                  (unsigned long long)fused, (unsigned long long)scores_bytes);
    ck_assert_msg(unfused >= scores_bytes, "unfused attention allocated only %llu bytes (scores: %llu)",
                  (unsigned long long)unfused, (unsigned long long)scores_bytes);
    free(want);
    free(mag);
    tensors_free(ctx, &t);
    inputs_free(&in);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------------------ */

typedef struct attn_expected {
    const char *what;
    const vkattn_attention_desc *desc;
    vkattn_tensor q, k, v, out;
    vkattn_result want;
} attn_expected;

static void expect_calls(vkattn_context *ctx, const attn_expected *calls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pe_expect(ctx, vkattn_attention(ctx, NULL, calls[i].desc, calls[i].q, calls[i].k, calls[i].v, calls[i].out),
                  calls[i].want, calls[i].what);
}

/* Tensors of the error checks around q [2, 5, 8, 64], k and v [2, 9, 2, 64]. */
enum { Q, K, V, OUT, K_H3, V_H3, V_S8, K_D32, V_D32, OUT_D32, K_B1, V_B1, K_F16, OUT_F16, Q_I32, K_I32, V_I32,
       OUT_I32, Q2, M_WIDE, M_H3, M_I32, M_OK, Q_320, K_320, V_320, OUT_320, STALE, N_ERR_TENSORS };

static void make_error_tensors(vkattn_context *ctx, vkattn_tensor *t)
{
    static const struct {
        vkattn_dtype dt;
        uint32_t nd;
        int64_t s[4];
    } spec[N_ERR_TENSORS] = {
        [Q] = {VKATTN_F32, 4, {2, 5, 8, 64}},       [K] = {VKATTN_F32, 4, {2, 9, 2, 64}},
        [V] = {VKATTN_F32, 4, {2, 9, 2, 64}},       [OUT] = {VKATTN_F32, 4, {2, 5, 8, 64}},
        [K_H3] = {VKATTN_F32, 4, {2, 9, 3, 64}},    [V_H3] = {VKATTN_F32, 4, {2, 9, 3, 64}},
        [V_S8] = {VKATTN_F32, 4, {2, 8, 2, 64}},    [K_D32] = {VKATTN_F32, 4, {2, 9, 2, 32}},
        [V_D32] = {VKATTN_F32, 4, {2, 9, 2, 32}},   [OUT_D32] = {VKATTN_F32, 4, {2, 5, 8, 32}},
        [K_B1] = {VKATTN_F32, 4, {1, 9, 2, 64}},    [V_B1] = {VKATTN_F32, 4, {1, 9, 2, 64}},
        [K_F16] = {VKATTN_F16, 4, {2, 9, 2, 64}},   [OUT_F16] = {VKATTN_F16, 4, {2, 5, 8, 64}},
        [Q_I32] = {VKATTN_I32, 4, {2, 5, 8, 64}},   [K_I32] = {VKATTN_I32, 4, {2, 9, 2, 64}},
        [V_I32] = {VKATTN_I32, 4, {2, 9, 2, 64}},   [OUT_I32] = {VKATTN_I32, 4, {2, 5, 8, 64}},
        [Q2] = {VKATTN_F32, 2, {5, 64}},            [M_WIDE] = {VKATTN_F32, 2, {5, 10}},
        [M_H3] = {VKATTN_F32, 3, {3, 5, 9}},        [M_I32] = {VKATTN_I32, 2, {5, 9}},
        [M_OK] = {VKATTN_F16, 4, {2, 8, 5, 9}},     [Q_320] = {VKATTN_F32, 4, {1, 2, 1, 320}},
        [K_320] = {VKATTN_F32, 4, {1, 3, 1, 320}},  [V_320] = {VKATTN_F32, 4, {1, 3, 1, 320}},
        [OUT_320] = {VKATTN_F32, 4, {1, 2, 1, 320}}, [STALE] = {VKATTN_F32, 4, {2, 9, 2, 64}},
    };
    for (int i = 0; i < N_ERR_TENSORS; i++)
        t[i] = pe_tensor_of(ctx, spec[i].dt, spec[i].nd, spec[i].s[0], spec[i].s[1], spec[i].s[2], spec[i].s[3]);
    vkattn_tensor_destroy(ctx, t[STALE]);
}

START_TEST(test_attention_errors)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    vkattn_tensor t[N_ERR_TENSORS];
    make_error_tensors(ctx, t);
    static const vkattn_alibi_desc alibi_offset = {.q_offset = 2}, alibi_causal = {.causal = true};
    static const vkattn_rope_desc rope_offset = {.pos_offset = 3}, rope_bad_base = {.base = 0.5};
    const vkattn_attention_desc d_nan = {.scale = NAN}, d_inf = {.scale = INFINITY},
                                d_alibi_offset = {.pe = VKATTN_PE_ALIBI, .alibi = &alibi_offset},
                                d_alibi_causal = {.pe = VKATTN_PE_ALIBI, .alibi = &alibi_causal},
                                d_rope_offset = {.pe = VKATTN_PE_ROPE, .rope = &rope_offset},
                                d_rope_base = {.pe = VKATTN_PE_ROPE, .rope = &rope_bad_base},
                                d_pe = {.pe = (vkattn_attention_pe)3}, d_wide = {.mask = t[M_WIDE]},
                                d_h3 = {.mask = t[M_H3]}, d_mi32 = {.mask = t[M_I32]},
                                d_stale_mask = {.mask = t[STALE]}, d_unfused = {.unfused = true},
                                d_ok = {.mask = t[M_OK], .causal = true, .q_offset = 4, .window = 16,
                                        .pe = VKATTN_PE_ALIBI};
    const vkattn_tensor none = {0};
    const attn_expected calls[] = {
        {"kv_heads 3 does not divide heads 8", NULL, t[Q], t[K_H3], t[V_H3], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"v with kv_len 8, k with 9", NULL, t[Q], t[K], t[V_S8], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"k, v head_dim 32, q 64", NULL, t[Q], t[K_D32], t[V_D32], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"v head_dim 32, k 64", NULL, t[Q], t[K], t[V_D32], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"out head_dim 32", NULL, t[Q], t[K], t[V], t[OUT_D32], VKATTN_ERROR_SHAPE_MISMATCH},
        {"k, v batch 1, q batch 2", NULL, t[Q], t[K_B1], t[V_B1], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"2-dim q", NULL, t[Q2], t[K], t[V], t[Q2], VKATTN_ERROR_SHAPE_MISMATCH},
        {"mask [5, 10] for kv_len 9", &d_wide, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"mask [3, 5, 9] for 8 heads", &d_h3, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_SHAPE_MISMATCH},
        {"i32 mask", &d_mi32, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_DTYPE_MISMATCH},
        {"destroyed mask", &d_stale_mask, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_HANDLE},
        {"k f16, q f32", NULL, t[Q], t[K_F16], t[V], t[OUT], VKATTN_ERROR_DTYPE_MISMATCH},
        {"out f16, q f32", NULL, t[Q], t[K], t[V], t[OUT_F16], VKATTN_ERROR_DTYPE_MISMATCH},
        {"all i32", NULL, t[Q_I32], t[K_I32], t[V_I32], t[OUT_I32], VKATTN_ERROR_DTYPE_MISMATCH},
        {"out is q", NULL, t[Q], t[K], t[V], t[Q], VKATTN_ERROR_SHAPE_MISMATCH},
        {"out is q, unfused", &d_unfused, t[Q], t[K], t[V], t[Q], VKATTN_ERROR_SHAPE_MISMATCH},
        {"scale NaN", &d_nan, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"scale inf", &d_inf, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"ALiBi desc with q_offset", &d_alibi_offset, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"ALiBi desc with causal", &d_alibi_causal, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"RoPE desc with pos_offset", &d_rope_offset, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"RoPE desc with base 0.5", &d_rope_base, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"pe 3", &d_pe, t[Q], t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_ARGUMENT},
        {"head_dim 320 fused", NULL, t[Q_320], t[K_320], t[V_320], t[OUT_320], VKATTN_ERROR_UNSUPPORTED},
        {"zero q", NULL, none, t[K], t[V], t[OUT], VKATTN_ERROR_INVALID_HANDLE},
        {"zero k", NULL, t[Q], none, t[V], t[OUT], VKATTN_ERROR_INVALID_HANDLE},
        {"zero v", NULL, t[Q], t[K], none, t[OUT], VKATTN_ERROR_INVALID_HANDLE},
        {"zero out", NULL, t[Q], t[K], t[V], none, VKATTN_ERROR_INVALID_HANDLE},
        {"destroyed k", NULL, t[Q], t[STALE], t[V], t[OUT], VKATTN_ERROR_INVALID_HANDLE},
        {"the valid call", NULL, t[Q], t[K], t[V], t[OUT], VKATTN_OK},
        {"the valid call with f16 mask, causal, window, ALiBi", &d_ok, t[Q], t[K], t[V], t[OUT], VKATTN_OK},
        {"head_dim 320 unfused", &d_unfused, t[Q_320], t[K_320], t[V_320], t[OUT_320], VKATTN_OK},
    };
    pe_expect(NULL, vkattn_attention(NULL, NULL, NULL, t[Q], t[K], t[V], t[OUT]), VKATTN_ERROR_INVALID_ARGUMENT,
              "NULL ctx");
    expect_calls(ctx, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(ctx, t, N_ERR_TENSORS);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *attention_suite(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_attention_head_dims, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_decode, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_prefill, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_pe, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_masks, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_strided, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_memory, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_attention_errors, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(attention_suite());
}
