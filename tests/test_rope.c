/*
 * test_rope.c - vkattn_rope and vkattn_rope_frequencies against a float64 reference written here from the formulas:
 * the RoFormer rotation (Su et al. 2021, arXiv:2104.09864) on NEOX and GPTJ pairs, and the frequency scalings of
 * Hugging Face transformers' modeling_rope_utils.py (_compute_default_rope_parameters, _compute_linear_scaling_-,
 * _compute_ntk_-, _compute_dynamic_ntk_-, _compute_yarn_-, _compute_longrope_-, _compute_llama3_parameters)
 * transcribed in double; 2D axial (Heo et al. 2024, arXiv:2403.13298) and Qwen2-VL M-RoPE (arXiv:2409.12191).
 * Covers partial rotary, odd head_dim, positions tensors and offsets, strided views, f16, in place, command lists,
 * angles at positions near 10^6, 2^31 - 1 and below 0, and the result codes of bad descs and tensors, on every
 * enabled backend.
 */
#include "pe_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* head_dim <= 128 in these tests. */
#define MAX_PAIRS 64
/* The angle bound vkattn.h promises at position 10^6; also held to at 2^31 - 1 and below 0. */
#define ANGLE_TOL 1e-6
/* vkattn_rope_frequencies against this reference: both float64, through different but exact-to-an-ulp formulas. */
#define FREQ_TOL 1e-12

/* ---- float64 reference: frequencies ------------------------------------------------------------------------------ */

typedef struct ref_freqs {
    uint32_t n_pairs;
    double theta[MAX_PAIRS];  /* radians per position step, per pair */
    uint32_t axis[MAX_PAIRS]; /* which position axis each pair uses */
    double attn;              /* multiplies cos and sin */
} ref_freqs;

/* Pair i's position axis: 2D axial splits the pairs in halves (row, col); M-RoPE by mrope_section. */
static uint32_t pair_axis(const vkattn_rope_desc *d, uint32_t n_pairs, uint32_t i)
{
    switch (d->axes) {
    case VKATTN_ROPE_AXES_2D:
        return i < n_pairs / 2 ? 0 : 1;
    case VKATTN_ROPE_AXES_MROPE:
        return i < d->mrope_section[0] ? 0 : i < d->mrope_section[0] + d->mrope_section[1] ? 1 : 2;
    case VKATTN_ROPE_AXES_1D:
        break;
    }
    return 0;
}

/* Every pair's frequency and axis and the attention factor, the defaults of vkattn.h applied. */
static void ref_frequencies(const vkattn_rope_desc *d, uint32_t head_dim, double ctx_len, ref_freqs *out)
{
    uint32_t rot = d->rot_dims ? d->rot_dims : head_dim;
    double base = d->base != 0.0 ? d->base : 10000.0;
    bool axial = d->axes == VKATTN_ROPE_AXES_2D;
    uint32_t dim = axial ? rot / 2 : rot;
    double ladder[MAX_PAIRS];
    ck_assert_uint_le(rot / 2, MAX_PAIRS);
    double attn = pe_rope_ladder(d, base, dim, ctx_len, ladder);
    for (uint32_t k = 0; d->freq_factors && k < dim / 2; k++)
        ladder[k] /= d->freq_factors[k];
    out->attn = d->attn_factor != 0.0 ? d->attn_factor : attn;
    out->n_pairs = rot / 2;
    for (uint32_t i = 0; i < out->n_pairs; i++) {
        out->theta[i] = ladder[axial ? i % (dim / 2) : i];
        out->axis[i] = pair_axis(d, out->n_pairs, i);
    }
}

/* ---- float64 reference: the rotation ----------------------------------------------------------------------------- */

/* Token positions as the op sees them: values[axis][batch or shared][seq], or pos_offset + s without a tensor. */
typedef struct positions {
    const int32_t *values; /* NULL: offset */
    bool per_batch;
    int32_t offset;
    int64_t batch, seq;
} positions;

static int64_t position_of(const positions *p, uint32_t axis, int64_t b, int64_t s)
{
    if (!p->values)
        return (int64_t)p->offset + s;
    int64_t rows = p->per_batch ? p->batch : 1;
    return p->values[((int64_t)axis * rows + (p->per_batch ? b : 0)) * p->seq + s];
}

typedef struct geometry {
    int64_t batch, seq, heads, head_dim;
} geometry;

static size_t geometry_numel(const geometry *g)
{
    return (size_t)(g->batch * g->seq * g->heads * g->head_dim);
}

/* Element indices of pair i in a head (the NEOX / GPTJ diagram of vkattn.h). */
static void pair_dims(vkattn_rope_mode mode, uint32_t n_pairs, uint32_t i, size_t *a, size_t *b)
{
    *a = mode == VKATTN_ROPE_GPTJ ? 2 * (size_t)i : i;
    *b = mode == VKATTN_ROPE_GPTJ ? 2 * (size_t)i + 1 : (size_t)i + n_pairs;
}

/* y[a] = m (x[a] cos - x[b] sin), y[b] = m (x[b] cos + x[a] sin); dims past rot_dims copied. */
static void ref_rope(const ref_freqs *f, vkattn_rope_mode mode, const geometry *g, const positions *pos,
                     const float *x, double *y)
{
    for (int64_t b = 0; b < g->batch; b++) {
        for (int64_t s = 0; s < g->seq; s++) {
            for (int64_t h = 0; h < g->heads; h++) {
                size_t row = (size_t)(((b * g->seq + s) * g->heads + h) * g->head_dim);
                for (int64_t e = 0; e < g->head_dim; e++)
                    y[row + (size_t)e] = x[row + (size_t)e];
                for (uint32_t i = 0; i < f->n_pairs; i++) {
                    size_t ia, ib;
                    double c, sn;
                    pair_dims(mode, f->n_pairs, i, &ia, &ib);
                    pe_cos_sin(position_of(pos, f->axis[i], b, s), f->theta[i], &c, &sn);
                    double xa = x[row + ia], xb = x[row + ib];
                    y[row + ia] = f->attn * (xa * c - xb * sn);
                    y[row + ib] = f->attn * (xb * c + xa * sn);
                }
            }
        }
    }
}

/* ---- cases ------------------------------------------------------------------------------------------------------- */

typedef enum pos_kind {
    POS_OFFSET,    /* no positions tensor: pos_offset + s */
    POS_SEQ,       /* [seq] ([axes, seq] for 2D axial and M-RoPE) */
    POS_BATCH_SEQ, /* [batch, seq] ([axes, batch, seq]) */
} pos_kind;

typedef struct rope_case {
    const char *name;
    vkattn_rope_desc desc;
    int64_t batch; /* 0: x is [seq, heads, head_dim] */
    int64_t seq, heads, head_dim;
    pos_kind pos;
    int32_t first_pos; /* tensor positions: first_pos + s + 3 b + 7 axis */
    vkattn_dtype dtype;
    const pe_layout *x_layout; /* NULL = contiguous */
    const pe_layout *y_layout;
    bool in_place;
    bool null_desc;
} rope_case;

/* [B, S, H, D] stored as [B, H, S, D] with padded rows; [S, H, D] stored as [H, S, D]; a padded contiguous y. */
static const pe_layout bhsd = {{0, 2, 1, 3}, 3, 5};
static const pe_layout hsd = {{1, 0, 2}, 2, 1};
static const pe_layout padded4 = {{0, 1, 2, 3}, 4, 2};

static uint32_t axes_of(const vkattn_rope_desc *d)
{
    return d->axes == VKATTN_ROPE_AXES_2D ? 2 : d->axes == VKATTN_ROPE_AXES_MROPE ? 3 : 1;
}

static geometry geometry_of(const rope_case *c)
{
    return (geometry){c->batch ? c->batch : 1, c->seq, c->heads, c->head_dim};
}

/* The positions tensor's shape for the case (0 dims: none). */
static uint32_t positions_shape(const rope_case *c, int64_t *shape)
{
    uint32_t n = 0;
    if (c->pos == POS_OFFSET)
        return 0;
    if (axes_of(&c->desc) > 1)
        shape[n++] = axes_of(&c->desc);
    if (c->pos == POS_BATCH_SEQ)
        shape[n++] = c->batch;
    shape[n++] = c->seq;
    return n;
}

/* Host positions of the case (NULL for POS_OFFSET; caller frees). */
static int32_t *case_positions(const rope_case *c)
{
    int64_t shape[3];
    uint32_t ndim = positions_shape(c, shape);
    if (ndim == 0)
        return NULL;
    size_t n = pe_numel(ndim, shape);
    int32_t *v = pe_xmalloc(n * sizeof *v);
    int64_t rows = c->pos == POS_BATCH_SEQ ? c->batch : 1;
    for (size_t k = 0; k < n; k++) {
        int64_t s = (int64_t)k % c->seq, b = (int64_t)k / c->seq % rows, axis = (int64_t)k / c->seq / rows;
        v[k] = (int32_t)(c->first_pos + s + 3 * b + 7 * axis);
    }
    return v;
}

static positions positions_of(const rope_case *c, const int32_t *values)
{
    const vkattn_rope_desc *d = &c->desc;
    return (positions){values, c->pos == POS_BATCH_SEQ, d->pos_offset, geometry_of(c).batch, c->seq};
}

/* c for DYNAMIC and LONGROPE: ctx_len, else max(position) + 1 over the positions used (vkattn.h). */
static double context_length(const rope_case *c, const int32_t *values)
{
    if (c->desc.ctx_len)
        return c->desc.ctx_len;
    if (!values)
        return (double)c->desc.pos_offset + (double)c->seq;
    int64_t shape[3];
    size_t n = pe_numel(positions_shape(c, shape), shape);
    int32_t m = values[0];
    for (size_t k = 1; k < n; k++)
        m = values[k] > m ? values[k] : m;
    return (double)m + 1.0;
}

/* The float64 result of the case for input x at the positions `values`, with context length ctx_len. */
static void rotate_reference(const rope_case *c, const int32_t *values, double ctx_len, const float *x, double *want,
                             ref_freqs *f)
{
    geometry g = geometry_of(c);
    positions pos = positions_of(c, values);
    ref_frequencies(&c->desc, (uint32_t)c->head_dim, ctx_len, f);
    ref_rope(f, c->desc.mode, &g, &pos, x, want);
}

static void case_reference(const rope_case *c, const int32_t *values, const float *x, double *want, ref_freqs *f)
{
    rotate_reference(c, values, context_length(c, values), x, want, f);
}

/* ---- running the op ---------------------------------------------------------------------------------------------- */

static vkattn_result rope_op(vkattn_context *ctx, vkattn_cmd *cmd, const void *desc, vkattn_tensor x,
                             vkattn_tensor pos, vkattn_tensor y)
{
    return vkattn_rope(ctx, cmd, desc, x, pos, y);
}

static const vkattn_rope_desc *desc_of(const rope_case *c)
{
    return c->null_desc ? NULL : &c->desc;
}

/* x [batch, seq, heads, head_dim] ([seq, heads, head_dim] for batch 0) and the positions tensor holding values. */
static pe_call call_of(const rope_case *c, const int32_t *values)
{
    pe_call call = {.dtype = c->dtype, .x_layout = c->x_layout, .y_layout = c->y_layout, .in_place = c->in_place,
                    .pos = values};
    if (c->batch)
        call.shape[call.ndim++] = c->batch;
    call.shape[call.ndim++] = c->seq;
    call.shape[call.ndim++] = c->heads;
    call.shape[call.ndim++] = c->head_dim;
    call.pos_ndim = positions_shape(c, call.pos_shape);
    return call;
}

/* Runs the case immediately on x and reads y back (both dense host arrays). */
static void rope_execute(vkattn_context *ctx, const rope_case *c, const int32_t *values, const float *x, float *y)
{
    pe_call call = call_of(c, values);
    pe_call_run(ctx, &call, rope_op, desc_of(c), x, y, c->name);
}

/* Uniform x in [-1, 1) as the tensor stores it. */
static float *case_input(const rope_case *c, uint32_t seed)
{
    geometry g = geometry_of(c);
    size_t n = geometry_numel(&g);
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, -1.0f, 1.0f);
    pe_round_to_dtype(c->dtype, x, n);
    return x;
}

/* Runs the case on random input and checks it against float64: max |got - want| / max(|want|, 1). */
static void check_case(vkattn_context *ctx, const rope_case *c, uint32_t seed)
{
    geometry g = geometry_of(c);
    size_t n = geometry_numel(&g);
    int32_t *values = case_positions(c);
    float *x = case_input(c, seed);
    float *y = pe_xmalloc(n * sizeof *y);
    double *want = pe_xmalloc(n * sizeof *want);
    ref_freqs f;
    rope_execute(ctx, c, values, x, y);
    case_reference(c, values, x, want, &f);
    pe_report(ctx, "rope", c->name, vkt_max_rel_err(y, want, n, 1.0), pe_dtype_tol(c->dtype));
    free(values);
    free(x);
    free(y);
    free(want);
}

static void check_cases(int backend_index, const rope_case *cases, size_t count)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx)
        return;
    for (size_t k = 0; k < count; k++)
        check_case(ctx, &cases[k], 1000u + (uint32_t)k);
    vkt_context_destroy(ctx);
}

/* ---- modes, head dims, bases ------------------------------------------------------------------------------------- */

static const rope_case basic_cases[] = {
    {"neox d64", {0}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"gptj d64", {.mode = VKATTN_ROPE_GPTJ}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"neox d128 base 500000", {.base = 500000.0}, 2, 5, 4, 128, POS_BATCH_SEQ, 300, VKATTN_F32, NULL, NULL, false,
     false},
    {"gptj d128 base 500000", {.mode = VKATTN_ROPE_GPTJ, .base = 500000.0}, 2, 5, 4, 128, POS_BATCH_SEQ, 300,
     VKATTN_F32, NULL, NULL, false, false},
    {"neox d97 rot 32", {.rot_dims = 32}, 1, 6, 5, 97, POS_SEQ, 50, VKATTN_F32, NULL, NULL, false, false},
    {"gptj d97 rot 64", {.mode = VKATTN_ROPE_GPTJ, .rot_dims = 64}, 1, 6, 5, 97, POS_SEQ, 50, VKATTN_F32, NULL, NULL,
     false, false},
    {"neox d97 rot 64 base 500000", {.rot_dims = 64, .base = 500000.0}, 3, 4, 3, 97, POS_BATCH_SEQ, 7, VKATTN_F32,
     NULL, NULL, false, false},
    {"null desc", {0}, 2, 3, 2, 64, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, true},
    {"attn_factor 0.5", {.attn_factor = 0.5}, 2, 4, 3, 64, POS_BATCH_SEQ, 20, VKATTN_F32, NULL, NULL, false, false},
    {"3d x, 5 heads", {0}, 0, 11, 5, 64, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"gptj 3d x, 7 heads, d 34", {.mode = VKATTN_ROPE_GPTJ}, 0, 9, 7, 34, POS_SEQ, 3, VKATTN_F32, NULL, NULL, false,
     false},
};

START_TEST(test_rope_basic)
{
    check_cases(_i, basic_cases, PE_COUNT_OF(basic_cases));
}
END_TEST

/* ---- positions --------------------------------------------------------------------------------------------------- */

static const rope_case position_cases[] = {
    {"positions [seq], batch 3", {0}, 3, 6, 2, 64, POS_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"positions [batch, seq]", {0}, 3, 6, 2, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"pos_offset 4096", {.pos_offset = 4096}, 2, 6, 2, 64, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"negative pos_offset", {.pos_offset = -20, .mode = VKATTN_ROPE_GPTJ}, 2, 6, 2, 64, POS_OFFSET, 0, VKATTN_F32,
     NULL, NULL, false, false},
    {"negative positions", {0}, 2, 6, 2, 64, POS_BATCH_SEQ, -50, VKATTN_F32, NULL, NULL, false, false},
    {"3d x, positions [seq]", {0}, 0, 8, 3, 64, POS_SEQ, 1000, VKATTN_F32, NULL, NULL, false, false},
    {"positions [seq], seq 1 (decode)", {0}, 4, 1, 8, 128, POS_SEQ, 7000, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_rope_positions)
{
    check_cases(_i, position_cases, PE_COUNT_OF(position_cases));
}
END_TEST

/* ---- scalings ---------------------------------------------------------------------------------------------------- */

/* LongRoPE factor lists (Phi-3 style: short near 1, long growing with the pair index) and ggml-style freq_factors,
 * filled by fill_factor_lists before any case runs. */
static float short32[32], long32[32], freq32[32], freq16[16];

static void fill_factor_lists(void)
{
    for (int k = 0; k < 32; k++) {
        short32[k] = 1.0f + 0.0625f * (float)k / 8.0f;
        long32[k] = 1.0f + 0.5f * (float)k;
        freq32[k] = 1.0f + (float)(k % 5) * 0.75f;
    }
    for (int k = 0; k < 16; k++)
        freq16[k] = 4.0f - 0.125f * (float)k;
}

/* LongRoPE fields of a desc, with the lists above unless given. */
#define LONGROPE_WITH(orig, s, ctx, short_list, long_list, count)                                                  \
    .scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = (s), .orig_ctx = (orig), .ctx_len = (ctx),                  \
    .short_factor = (short_list), .long_factor = (long_list), .factor_count = (count)
#define LONGROPE(orig, s, ctx) LONGROPE_WITH(orig, s, ctx, short32, long32, 32)

static const rope_case scaling_cases[] = {
    {"linear 4", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4.0}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32,
     NULL, NULL, false, false},
    {"linear 2.5 gptj d97 rot 32", {.mode = VKATTN_ROPE_GPTJ, .rot_dims = 32, .scaling = VKATTN_ROPE_SCALING_LINEAR,
     .factor = 2.5}, 2, 5, 3, 97, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"ntk 4", {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = 4.0}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL,
     NULL, false, false},
    {"ntk 8 d128 base 500000", {.base = 500000.0, .scaling = VKATTN_ROPE_SCALING_NTK, .factor = 8.0}, 1, 5, 2, 128,
     POS_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"dynamic, ctx from positions <= orig", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0, .orig_ctx = 512},
     2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"dynamic, ctx from positions > orig", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0, .orig_ctx = 64},
     2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"dynamic, ctx_len 4096 > orig", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0, .orig_ctx = 2048,
     .ctx_len = 4096}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"dynamic, ctx_len 32 <= orig, positions above", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0,
     .orig_ctx = 64, .ctx_len = 32}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"dynamic, ctx from pos_offset", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 4.0, .orig_ctx = 2048,
     .pos_offset = 3000}, 1, 9, 3, 64, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"yarn 4, default attention factor", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 4096}, 2, 9,
     3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"yarn 4, attn_factor 0.8", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 4096,
     .attn_factor = 0.8}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"yarn 40 deepseek mscale 1 / 0.707", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 40.0, .orig_ctx = 4096,
     .yarn_mscale = 1.0, .yarn_mscale_all_dim = 0.707}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL,
     false, false},
    {"yarn 32 no truncate (gpt-oss)", {.base = 150000.0, .scaling = VKATTN_ROPE_SCALING_YARN, .factor = 32.0,
     .orig_ctx = 4096, .beta_fast = 32.0, .beta_slow = 1.0, .flags = VKATTN_ROPE_YARN_NO_TRUNCATE}, 2, 9, 3, 64,
     POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"yarn 2, orig_ctx 6 (empty correction range: the +0.001 rule)", {.scaling = VKATTN_ROPE_SCALING_YARN,
     .factor = 2.0, .orig_ctx = 6}, 1, 5, 2, 64, POS_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"yarn 8 betas 16/2 gptj", {.mode = VKATTN_ROPE_GPTJ, .scaling = VKATTN_ROPE_SCALING_YARN, .factor = 8.0,
     .orig_ctx = 2048, .beta_fast = 16.0, .beta_slow = 2.0}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL,
     false, false},
    {"longrope short (ctx <= orig)", {LONGROPE(64, 4.0, 0)}, 2, 9, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL,
     false, false},
    {"longrope long (ctx > orig)", {LONGROPE(64, 4.0, 0)}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL,
     false, false},
    {"longrope long (ctx_len 4096)", {LONGROPE(64, 4.0, 4096)}, 2, 9, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL,
     false, false},
    {"longrope attn_factor 1.2", {LONGROPE(64, 32.0, 0), .attn_factor = 1.2}, 2, 9, 3, 64, POS_OFFSET, 0, VKATTN_F32,
     NULL, NULL, false, false},
    {"llama3.1 (8, 1, 4, 8192, 500000)", {.base = 500000.0, .scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0,
     .orig_ctx = 8192, .low_freq_factor = 1.0, .high_freq_factor = 4.0}, 2, 5, 3, 128, POS_BATCH_SEQ, 100000,
     VKATTN_F32, NULL, NULL, false, false},
    {"llama3 default low/high gptj", {.mode = VKATTN_ROPE_GPTJ, .base = 500000.0,
     .scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0, .orig_ctx = 8192}, 1, 5, 3, 128, POS_SEQ, 9000, VKATTN_F32,
     NULL, NULL, false, false},
    {"freq_factors", {.freq_factors = freq32, .factor_count = 32}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL,
     NULL, false, false},
    {"freq_factors + linear 2", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 2.0, .freq_factors = freq32,
     .factor_count = 32}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"freq_factors + yarn 4", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 4096,
     .freq_factors = freq32, .factor_count = 32}, 2, 9, 3, 64, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false,
     false},
};

START_TEST(test_rope_scalings)
{
    fill_factor_lists();
    check_cases(_i, scaling_cases, PE_COUNT_OF(scaling_cases));
}
END_TEST

/* ---- 2D axial and M-RoPE ----------------------------------------------------------------------------------------- */

static const rope_case axes_cases[] = {
    {"2d axial d64, positions [2, seq]", {.axes = VKATTN_ROPE_AXES_2D}, 2, 9, 3, 64, POS_SEQ, 5, VKATTN_F32, NULL,
     NULL, false, false},
    {"2d axial d64 gptj, positions [2, batch, seq]", {.mode = VKATTN_ROPE_GPTJ, .axes = VKATTN_ROPE_AXES_2D}, 2, 9, 3,
     64, POS_BATCH_SEQ, 0, VKATTN_F32, NULL, NULL, false, false},
    {"2d axial d97 rot 32 base 100", {.rot_dims = 32, .base = 100.0, .axes = VKATTN_ROPE_AXES_2D}, 2, 4, 3, 97,
     POS_BATCH_SEQ, 20, VKATTN_F32, NULL, NULL, false, false},
    {"2d axial linear + freq_factors[16]", {.axes = VKATTN_ROPE_AXES_2D, .scaling = VKATTN_ROPE_SCALING_LINEAR,
     .factor = 2.0, .freq_factors = freq16, .factor_count = 16}, 1, 6, 2, 64, POS_SEQ, 30, VKATTN_F32, NULL, NULL,
     false, false},
    {"mrope {16,24,24} d128, positions [3, seq]", {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {16, 24, 24},
     .base = 1000000.0}, 1, 7, 4, 128, POS_SEQ, 40, VKATTN_F32, NULL, NULL, false, false},
    {"mrope {16,24,24} d128, positions [3, batch, seq]", {.axes = VKATTN_ROPE_AXES_MROPE,
     .mrope_section = {16, 24, 24}}, 2, 7, 4, 128, POS_BATCH_SEQ, 400, VKATTN_F32, NULL, NULL, false, false},
    {"mrope {8,4,4} gptj rot 32", {.mode = VKATTN_ROPE_GPTJ, .rot_dims = 32, .axes = VKATTN_ROPE_AXES_MROPE,
     .mrope_section = {8, 4, 4}}, 2, 5, 3, 64, POS_BATCH_SEQ, 9, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_rope_axes)
{
    fill_factor_lists();
    check_cases(_i, axes_cases, PE_COUNT_OF(axes_cases));
}
END_TEST

/* ---- storage: in place, strided, f16 ----------------------------------------------------------------------------- */

static const rope_case storage_cases[] = {
    {"in place", {0}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, true, false},
    {"x strided [B,H,S,D] storage", {0}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F32, &bhsd, NULL, false, false},
    {"x strided, y padded", {.mode = VKATTN_ROPE_GPTJ}, 2, 7, 3, 64, POS_SEQ, 10, VKATTN_F32, &bhsd, &padded4, false,
     false},
    {"y strided [B,H,S,D] storage", {.rot_dims = 32}, 2, 7, 3, 97, POS_SEQ, 10, VKATTN_F32, NULL, &bhsd, false,
     false},
    {"strided in place", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 3.0}, 2, 7, 3, 64, POS_OFFSET, 0,
     VKATTN_F32, &bhsd, NULL, true, false},
    {"3d strided [H,S,D] storage", {0}, 0, 9, 5, 64, POS_SEQ, 10, VKATTN_F32, &hsd, NULL, false, false},
    {"f16", {0}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F16, NULL, NULL, false, false},
    {"f16 gptj in place", {.mode = VKATTN_ROPE_GPTJ}, 2, 7, 3, 64, POS_BATCH_SEQ, 10, VKATTN_F16, NULL, NULL, true,
     false},
    {"f16 strided d97 rot 64", {.rot_dims = 64}, 2, 7, 3, 97, POS_SEQ, 10, VKATTN_F16, &bhsd, &padded4, false, false},
    {"f16 yarn 4", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 4096}, 2, 7, 3, 64, POS_OFFSET, 0,
     VKATTN_F16, NULL, NULL, false, false},
    {"f16 mrope", {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {16, 24, 24}}, 1, 5, 2, 128, POS_SEQ, 100,
     VKATTN_F16, NULL, NULL, false, false},
};

START_TEST(test_rope_storage)
{
    check_cases(_i, storage_cases, PE_COUNT_OF(storage_cases));
}
END_TEST

/* ---- angles at large positions ----------------------------------------------------------------------------------- */

/* Groups of 16 consecutive positions: around 10^6, up to 2^31 - 1, and negative ones down to -2^31. */
enum { GROUP = 16, GROUPS = 4 };
static const int64_t group_start[GROUPS] = {1000000 - 8, 2147483647 - 15, -1000000 - 8, -2147483647 - 1};
static const char *const group_name[GROUPS] = {"1e6", "2^31-1", "-1e6", "-2^31"};

/* x = (1, 0) on every pair, so y holds (m cos, m sin) of each pair's angle. */
static float *unit_pairs(const rope_case *c)
{
    geometry g = geometry_of(c);
    size_t n = geometry_numel(&g);
    float *x = pe_xmalloc(n * sizeof *x);
    uint32_t n_pairs = (uint32_t)c->head_dim / 2;
    memset(x, 0, n * sizeof *x);
    for (size_t row = 0; row < n; row += (size_t)c->head_dim) {
        for (uint32_t i = 0; i < n_pairs; i++) {
            size_t ia, ib;
            pair_dims(c->desc.mode, n_pairs, i, &ia, &ib);
            x[row + ia] = 1.0f;
        }
    }
    return x;
}

/* Largest |atan2(y_b, y_a) - p theta| (wrapped) over the pairs of the tokens of one group. */
static double group_angle_error(const rope_case *c, const ref_freqs *f, const int32_t *values, const float *y,
                                int group)
{
    double worst = 0.0;
    for (int64_t s = (int64_t)group * GROUP; s < (int64_t)(group + 1) * GROUP; s++) {
        for (int64_t h = 0; h < c->heads; h++) {
            const float *row = y + (size_t)((s * c->heads + h) * c->head_dim);
            for (uint32_t i = 0; i < f->n_pairs; i++) {
                size_t ia, ib;
                pair_dims(c->desc.mode, f->n_pairs, i, &ia, &ib);
                double got = atan2((double)row[ib], (double)row[ia]);
                worst = fmax(worst, fabs(pe_angle_diff(got, pe_angle(values[s], f->theta[i]))));
            }
        }
    }
    return worst;
}

static void check_angles(vkattn_context *ctx, const rope_case *c)
{
    int32_t values[GROUP * GROUPS];
    for (int k = 0; k < GROUP * GROUPS; k++)
        values[k] = (int32_t)(group_start[k / GROUP] + k % GROUP);
    geometry g = geometry_of(c);
    size_t n = geometry_numel(&g);
    float *x = unit_pairs(c);
    float *y = pe_xmalloc(n * sizeof *y);
    double *want = pe_xmalloc(n * sizeof *want);
    ref_freqs f;
    rope_execute(ctx, c, values, x, y);
    case_reference(c, values, x, want, &f);
    pe_report(ctx, "rope", c->name, vkt_max_rel_err(y, want, n, 1.0), PE_F32_TOL);
    for (int group = 0; group < GROUPS; group++) {
        char what[160];
        snprintf(what, sizeof what, "%s: angle at %s (rad)", c->name, group_name[group]);
        pe_report(ctx, "rope", what, group_angle_error(c, &f, values, y, group), ANGLE_TOL);
    }
    free(x);
    free(y);
    free(want);
}

static const rope_case angle_cases[] = {
    {"precision neox d128", {0}, 1, GROUP * GROUPS, 1, 128, POS_SEQ, 0, VKATTN_F32, NULL, NULL, false, false},
    {"precision gptj d64 base 500000", {.mode = VKATTN_ROPE_GPTJ, .base = 500000.0}, 1, GROUP * GROUPS, 2, 64, POS_SEQ,
     0, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_rope_precision)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    for (size_t k = 0; k < PE_COUNT_OF(angle_cases); k++)
        check_angles(ctx, &angle_cases[k]);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- command lists ----------------------------------------------------------------------------------------------- */

/* softmax(rope(x)) along head_dim from one list, against float64. */
START_TEST(test_rope_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const rope_case c = {"cmd: rope then softmax", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0,
                                .orig_ctx = 4096}, 2, 6, 3, 64, POS_BATCH_SEQ, 500, VKATTN_F32, NULL, NULL, false,
                                false};
    geometry g = geometry_of(&c);
    int32_t *values = case_positions(&c);
    float *x = case_input(&c, 77u);
    double *want = pe_xmalloc(geometry_numel(&g) * sizeof *want);
    ref_freqs f;
    case_reference(&c, values, x, want, &f);
    pe_call call = call_of(&c, values);
    pe_check_op_then_softmax(ctx, &call, rope_op, &c.desc, x, want, "rope", c.name);
    free(values);
    free(x);
    free(want);
    vkt_context_destroy(ctx);
}
END_TEST

/* DYNAMIC with c from a positions tensor, recorded into a list and the positions rewritten before the submit: c
 * comes from the positions at recording time (vkattn.h), the rotation from those the list reads when it runs. */
START_TEST(test_rope_cmd_recorded_ctx)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const rope_case c = {"cmd: dynamic c from positions at recording", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC,
                                .factor = 2.0, .orig_ctx = 64}, 2, 5, 3, 64, POS_BATCH_SEQ, 200, VKATTN_F32, NULL,
                                NULL, false, false};
    rope_case later = c;
    later.first_pos = 3;
    geometry g = geometry_of(&c);
    size_t n = geometry_numel(&g);
    int32_t *recorded = case_positions(&c), *run = case_positions(&later);
    float *x = case_input(&c, 78u), *y = pe_xmalloc(n * sizeof *y);
    double *want = pe_xmalloc(n * sizeof *want);
    ref_freqs f;
    rotate_reference(&c, run, context_length(&c, recorded), x, want, &f);

    pe_call call = call_of(&c, recorded);
    pe_call_tensors t = pe_call_tensors_new(ctx, &call, x);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, vkattn_rope(ctx, cmd, &c.desc, t.x.t, t.pos, t.y.t), VKATTN_OK, "vkattn_rope (recorded)");
    pe_expect(ctx, vkattn_tensor_write(ctx, t.pos, run, pe_numel(call.pos_ndim, call.pos_shape) * sizeof *run),
              VKATTN_OK, "rewrite the positions");
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    pe_tensor_get(ctx, &t.y, y);
    pe_report(ctx, "rope", c.name, vkt_max_rel_err(y, want, n, 1.0), PE_F32_TOL);

    vkattn_cmd_destroy(cmd);
    pe_call_tensors_free(ctx, &call, &t);
    free(recorded);
    free(run);
    free(x);
    free(y);
    free(want);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- vkattn_rope_frequencies ------------------------------------------------------------------------------------- */

/* The library's float64 frequencies and attention factor for the case's desc, against the reference with
 * c = desc.ctx_len (vkattn_rope_frequencies reads no positions; 0 counts as not longer than orig_ctx). */
static void check_frequencies(const rope_case *c)
{
    ref_freqs want;
    ref_frequencies(&c->desc, (uint32_t)c->head_dim, c->desc.ctx_len, &want);
    double got[MAX_PAIRS], attn = -1.0;
    vkattn_result r = vkattn_rope_frequencies(&c->desc, (uint32_t)c->head_dim, got, MAX_PAIRS, &attn);
    ck_assert_msg(r == VKATTN_OK, "%s: vkattn_rope_frequencies: %s (%s)", c->name, vkattn_result_name(r),
                  vkattn_context_last_error(NULL));
    double worst = fabs(attn - want.attn) / want.attn;
    for (uint32_t i = 0; i < want.n_pairs; i++)
        worst = fmax(worst, fabs(got[i] - want.theta[i]) / want.theta[i]);
    ck_assert_msg(worst <= FREQ_TOL, "%s: vkattn_rope_frequencies: max relative error %.3g (attn %.17g, want %.17g)",
                  c->name, worst, attn, want.attn);
}

/* More distinct tables than the library caches (32) in one command list: the cache evicts tables that recorded ops
 * still hold, and every op must still read its own frequencies at submit. Each op has its own base, so its own
 * table; expected values from the unscaled formula theta_k = base^(-2k/d). */
#define CACHE_OPS 40
START_TEST(test_rope_table_cache_eviction)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    enum { D = 8, SEQ = 3 };
    const int64_t shape[3] = {SEQ, 1, D};
    float x[SEQ * D], y[SEQ * D];
    vkt_fill_uniform(x, SEQ * D, 7, -1.0f, 1.0f);
    vkattn_tensor in = vkt_tensor(ctx, VKATTN_F32, 3, shape), out[CACHE_OPS];
    vkt_write_f32(ctx, in, x, SEQ * D);
    vkattn_cmd *cmd = NULL;
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK);
    for (int i = 0; i < CACHE_OPS; i++) {
        out[i] = vkt_tensor(ctx, VKATTN_F32, 3, shape);
        vkattn_rope_desc d = {.base = 100.0 + 50.0 * i, .pos_offset = 1000 * i};
        ck_assert_int_eq(vkattn_rope(ctx, cmd, &d, in, (vkattn_tensor){0}, out[i]), VKATTN_OK);
    }
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    double worst = 0.0;
    for (int i = 0; i < CACHE_OPS; i++) {
        vkt_read_f32(ctx, out[i], y, SEQ * D);
        for (int s = 0; s < SEQ; s++)
            for (int k = 0; k < D / 2; k++) {
                double c, sn, theta = pow(100.0 + 50.0 * i, -2.0 * k / D);
                pe_cos_sin(1000 * i + s, theta, &c, &sn);
                const float *xs = x + s * D, *ys = y + s * D;
                double a = xs[k] * c - xs[k + D / 2] * sn, b = xs[k + D / 2] * c + xs[k] * sn;
                worst = fmax(worst, fmax(fabs(ys[k] - a), fabs(ys[k + D / 2] - b)));
            }
    }
    pe_report(ctx, "rope", "40 distinct tables in one list (cache of 32)", worst, PE_F32_TOL);
    vkattn_cmd_destroy(cmd);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_rope_frequencies)
{
    fill_factor_lists();
    const rope_case *tables[] = {basic_cases, scaling_cases, axes_cases};
    const size_t counts[] = {PE_COUNT_OF(basic_cases), PE_COUNT_OF(scaling_cases), PE_COUNT_OF(axes_cases)};
    for (size_t t = 0; t < PE_COUNT_OF(tables); t++) {
        for (size_t k = 0; k < counts[t]; k++)
            check_frequencies(&tables[t][k]);
    }
}
END_TEST

/* The capacity must hold rot_dims/2 values; attn_factor may be NULL. */
START_TEST(test_rope_frequencies_capacity)
{
    vkattn_rope_desc d = {.rot_dims = 48};
    double out[MAX_PAIRS];
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, out, 23, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "capacity 23 < 24");
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, out, 0, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "capacity 0");
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, NULL, 24, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "inv_freq NULL");
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, out, 24, NULL), VKATTN_OK, "capacity 24, attn_factor NULL");
    d.axes = VKATTN_ROPE_AXES_2D;
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, out, 23, NULL), VKATTN_ERROR_INVALID_ARGUMENT,
              "2d axial: capacity 23 < rot_dims/2 = 24");
    double attn = 0.0;
    pe_expect(NULL, vkattn_rope_frequencies(&d, 64, out, 24, &attn), VKATTN_OK, "2d axial: capacity 24");
    ck_assert_msg(out[12] == out[0] && out[23] == out[11], "2d axial: the two halves must repeat the ladder");
    ck_assert_msg(attn == 1.0, "no scaling: attention factor %g, want 1", attn);
}
END_TEST

/* ---- bad descs --------------------------------------------------------------------------------------------------- */

typedef struct bad_desc {
    const char *what;
    vkattn_rope_desc desc;
} bad_desc;

/* Each desc is invalid for head_dim 64: vkattn_rope and vkattn_rope_frequencies must both refuse it with
 * VKATTN_ERROR_INVALID_ARGUMENT. */
static size_t bad_descs(bad_desc *out)
{
    static const vkattn_rope_scaling needs_orig[] = {VKATTN_ROPE_SCALING_DYNAMIC, VKATTN_ROPE_SCALING_YARN,
                                                     VKATTN_ROPE_SCALING_LLAMA3};
    size_t n = 0;
    out[n++] = (bad_desc){"rot_dims odd", {.rot_dims = 63}};
    out[n++] = (bad_desc){"rot_dims > head_dim", {.rot_dims = 66}};
    out[n++] = (bad_desc){"base 1", {.base = 1.0}};
    out[n++] = (bad_desc){"base 0.5", {.base = 0.5}};
    out[n++] = (bad_desc){"base -10000", {.base = -10000.0}};
    out[n++] = (bad_desc){"base NaN", {.base = NAN}};
    out[n++] = (bad_desc){"base inf", {.base = INFINITY}};
    for (vkattn_rope_scaling s = VKATTN_ROPE_SCALING_LINEAR; s <= VKATTN_ROPE_SCALING_LLAMA3; s++) {
        out[n] = (bad_desc){"scaling without factor", {LONGROPE(64, 0.0, 0)}};
        out[n++].desc.scaling = s;
    }
    out[n++] = (bad_desc){"factor NaN", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = NAN}};
    out[n++] = (bad_desc){"factor inf", {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = INFINITY}};
    out[n++] = (bad_desc){"factor -2", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = -2.0}};
    for (size_t k = 0; k < PE_COUNT_OF(needs_orig); k++)
        out[n++] = (bad_desc){"scaling without orig_ctx", {.scaling = needs_orig[k], .factor = 2.0}};
    out[n++] = (bad_desc){"longrope without orig_ctx", {LONGROPE(0, 4.0, 0)}};
    out[n++] = (bad_desc){"longrope without short_factor", {LONGROPE_WITH(64, 4.0, 0, NULL, long32, 32)}};
    out[n++] = (bad_desc){"longrope without long_factor", {LONGROPE_WITH(64, 4.0, 0, short32, NULL, 32)}};
    out[n++] = (bad_desc){"longrope factor_count 31", {LONGROPE_WITH(64, 4.0, 0, short32, long32, 31)}};
    out[n++] = (bad_desc){"freq_factors factor_count 16", {.freq_factors = freq32, .factor_count = 16}};
    out[n++] = (bad_desc){"freq_factors factor_count 0", {.freq_factors = freq32}};
    out[n++] = (bad_desc){"2d axial freq_factors factor_count 32", {.axes = VKATTN_ROPE_AXES_2D,
                          .freq_factors = freq32, .factor_count = 32}};
    out[n++] = (bad_desc){"2d axial rot_dims 62", {.axes = VKATTN_ROPE_AXES_2D, .rot_dims = 62}};
    out[n++] = (bad_desc){"mrope sections {8,12,11}", {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {8, 12, 11}}};
    out[n++] = (bad_desc){"mrope sections {0,0,0}", {.axes = VKATTN_ROPE_AXES_MROPE}};
    out[n++] = (bad_desc){"llama3 high == low", {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0,
                          .orig_ctx = 8192, .low_freq_factor = 4.0, .high_freq_factor = 4.0}};
    out[n++] = (bad_desc){"llama3 high < low", {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0,
                          .orig_ctx = 8192, .low_freq_factor = 2.0, .high_freq_factor = 1.0}};
    out[n++] = (bad_desc){"llama3 low 5 > default high 4", {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0,
                          .orig_ctx = 8192, .low_freq_factor = 5.0}};
    out[n++] = (bad_desc){"attn_factor NaN", {.attn_factor = NAN}};
    out[n++] = (bad_desc){"attn_factor inf", {.attn_factor = INFINITY}};
    out[n++] = (bad_desc){"mode 2", {.mode = (vkattn_rope_mode)2}};
    out[n++] = (bad_desc){"scaling 7", {.scaling = (vkattn_rope_scaling)7, .factor = 2.0}};
    out[n++] = (bad_desc){"axes 3", {.axes = (vkattn_rope_axes)3}};
    return n;
}

/* ---- bad tensors and calls --------------------------------------------------------------------------------------- */

/* The valid call the bad ones vary: x, y [1, 4, 2, 64] f32 (batch 1, seq 4), no positions. */
typedef struct fixture {
    vkattn_context *ctx;
    vkattn_tensor x, y;
} fixture;

static void check_bad_descs(const fixture *fx)
{
    bad_desc cases[64];
    size_t n = bad_descs(cases);
    ck_assert_uint_le(n, PE_COUNT_OF(cases));
    for (size_t k = 0; k < n; k++) {
        double out[MAX_PAIRS];
        pe_expected_call call = {cases[k].what, &cases[k].desc, fx->x, {0}, fx->y, VKATTN_ERROR_INVALID_ARGUMENT};
        pe_expect_calls(fx->ctx, rope_op, &call, 1);
        pe_expect(NULL, vkattn_rope_frequencies(&cases[k].desc, 64, out, MAX_PAIRS, NULL),
                  VKATTN_ERROR_INVALID_ARGUMENT, cases[k].what);
    }
}

/* Positions tensors that do not fit x (batch 1, seq 4) for the desc's axes, and one that does. */
static void check_bad_positions(const fixture *fx)
{
    vkattn_context *ctx = fx->ctx;
    const vkattn_rope_desc d1 = {0}, d2 = {.axes = VKATTN_ROPE_AXES_2D},
                           d3 = {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {8, 12, 12}},
                           offset = {.pos_offset = 5}, near_max = {.pos_offset = INT32_MAX - 2};
    enum { F32_SEQ, SEQ5, SEQ4, B2_SEQ4, A3_SEQ4, A2_B1_SEQ4, A2_B1_SEQ4_1, COUNT };
    const vkattn_tensor p[COUNT] = {
        pe_tensor_of(ctx, VKATTN_F32, 1, 4, 0, 0, 0), pe_tensor_of(ctx, VKATTN_I32, 1, 5, 0, 0, 0),
        pe_tensor_of(ctx, VKATTN_I32, 1, 4, 0, 0, 0), pe_tensor_of(ctx, VKATTN_I32, 2, 2, 4, 0, 0),
        pe_tensor_of(ctx, VKATTN_I32, 2, 3, 4, 0, 0), pe_tensor_of(ctx, VKATTN_I32, 3, 2, 1, 4, 0),
        pe_tensor_of(ctx, VKATTN_I32, 4, 2, 1, 4, 1),
    };
    const int32_t zeros[8] = {0};
    pe_expect(ctx, vkattn_tensor_write(ctx, p[SEQ4], zeros, 4 * sizeof zeros[0]), VKATTN_OK, "write positions");
    pe_expect(ctx, vkattn_tensor_write(ctx, p[A2_B1_SEQ4], zeros, sizeof zeros), VKATTN_OK, "write positions");
    const vkattn_tensor x = fx->x, y = fx->y, none = {0};
    const pe_expected_call calls[] = {
        {"positions f32", &d1, x, p[F32_SEQ], y, VKATTN_ERROR_DTYPE_MISMATCH},
        {"positions [5] for seq 4", &d1, x, p[SEQ5], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"positions [2, 4] for batch 1", &d1, x, p[B2_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"1d: positions of 3 dims", &d1, x, p[A2_B1_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"2d axial: positions [4]", &d2, x, p[SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"2d axial: positions [3, 4]", &d2, x, p[A3_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"2d axial: positions of 4 dims", &d2, x, p[A2_B1_SEQ4_1], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"mrope: positions [2, 4]", &d3, x, p[B2_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"mrope: positions [2, 1, 4]", &d3, x, p[A2_B1_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"pos_offset with positions", &offset, x, p[SEQ4], y, VKATTN_ERROR_INVALID_ARGUMENT},
        {"pos_offset + seq - 1 past 2^31 - 1", &near_max, x, none, y, VKATTN_ERROR_OVERFLOW},
        {"2d axial: positions [2, 1, 4]", &d2, x, p[A2_B1_SEQ4], y, VKATTN_OK},
    };
    pe_expect_calls(ctx, rope_op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(ctx, p, COUNT);
}

/* x of fewer than 3 dims (the op-specific shape rule; pe_check_common_errors covers the rest). */
static void check_bad_ranks(const fixture *fx)
{
    const vkattn_tensor t[2] = {pe_tensor_of(fx->ctx, VKATTN_F32, 1, 64, 0, 0, 0),
                                pe_tensor_of(fx->ctx, VKATTN_F32, 2, 4, 64, 0, 0)};
    const pe_expected_call calls[] = {
        {"x of 1 dim", NULL, t[0], {0}, t[0], VKATTN_ERROR_SHAPE_MISMATCH},
        {"x of 2 dims", NULL, t[1], {0}, t[1], VKATTN_ERROR_SHAPE_MISMATCH},
    };
    pe_expect_calls(fx->ctx, rope_op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(fx->ctx, t, PE_COUNT_OF(t));
}

START_TEST(test_rope_bad_inputs)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    fill_factor_lists();
    static const int64_t shape[4] = {1, 4, 2, 64};
    fixture fx = {ctx, pe_zeros(ctx, 4, shape), vkt_tensor(ctx, VKATTN_F32, 4, shape)};
    check_bad_descs(&fx);
    check_bad_positions(&fx);
    check_bad_ranks(&fx);
    pe_check_common_errors(ctx, rope_op, 4, shape);
    vkattn_tensor_destroy(ctx, fx.x);
    vkattn_tensor_destroy(ctx, fx.y);
    /* the context still works */
    check_case(ctx, &scaling_cases[0], 5u);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *rope_suite(void)
{
    Suite *s = suite_create("rope");
    TCase *tc = tcase_create("rope");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_rope_basic, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_positions, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_scalings, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_axes, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_storage, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_precision, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_cmd_recorded_ctx, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_bad_inputs, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_rope_table_cache_eviction, 0, VKT_BACKEND_COUNT);
    tcase_add_test(tc, test_rope_frequencies);
    tcase_add_test(tc, test_rope_frequencies_capacity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(rope_suite());
}
