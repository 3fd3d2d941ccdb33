/*
 * test_sinusoidal.c - vkattn_sinusoidal_add against a float64 reference written here from the formulas of vkattn.h:
 * Vaswani et al. 2017 (arXiv:1706.03762, interleaved sin/cos, w_k = base^(-2k/dim)) and fairseq's
 * SinusoidalPositionalEmbedding / Whisper (sin half then cos half, w_k = exp(-k ln(base) / (dim/2 - 1))).
 * Covers both layouts, odd dims, [seq, dim] and [batch, seq, dim], positions tensors and offsets, positions near
 * 10^6 and 2^31 - 1, f16, in place, strided views, command lists, and the result codes of bad descs and tensors,
 * on every enabled backend.
 */
#include "pe_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- float64 reference ------------------------------------------------------------------------------------------- */

/* PE(p)[0 .. dim) of the layout. */
static void ref_encoding(const vkattn_sinusoidal_desc *d, int64_t dim, int64_t p, double *pe)
{
    double base = d->base != 0.0 ? d->base : 10000.0;
    double c, s;
    if (d->layout == VKATTN_SINUSOIDAL_CONCAT) {
        int64_t h = dim / 2;
        for (int64_t k = 0; k < h; k++) {
            pe_cos_sin(p, exp(-(double)k * log(base) / (double)(h - 1)), &c, &s);
            pe[k] = s;
            pe[h + k] = c;
        }
        if (dim % 2)
            pe[dim - 1] = 0.0;
        return;
    }
    for (int64_t k = 0; 2 * k < dim; k++) {
        pe_cos_sin(p, pow(base, -(2.0 * (double)k) / (double)dim), &c, &s);
        pe[2 * k] = s;
        if (2 * k + 1 < dim)
            pe[2 * k + 1] = c;
    }
}

/* ---- cases ------------------------------------------------------------------------------------------------------- */

typedef enum pos_kind {
    POS_OFFSET,    /* no positions tensor: pos_offset + s */
    POS_SEQ,       /* [seq], shared by the batch */
    POS_BATCH_SEQ, /* [batch, seq] */
} pos_kind;

typedef struct sin_case {
    const char *name;
    vkattn_sinusoidal_desc desc;
    int64_t batch; /* 0: x is [seq, dim] */
    int64_t seq, dim;
    pos_kind pos;
    int32_t first_pos; /* tensor positions: first_pos + 2 s + 5 b */
    vkattn_dtype dtype;
    const pe_layout *x_layout; /* NULL = contiguous */
    const pe_layout *y_layout;
    bool in_place;
    bool null_desc;
} sin_case;

/* [B, S, D] stored as [S, B, D] with padded rows; [S, D] stored transposed; a padded contiguous y. */
static const pe_layout sbd = {{1, 0, 2}, 2, 3};
static const pe_layout transposed = {{1, 0}, 1, 2};
static const pe_layout padded3 = {{0, 1, 2}, 5, 1};

static int64_t batch_of(const sin_case *c)
{
    return c->batch ? c->batch : 1;
}

static size_t case_numel(const sin_case *c)
{
    return (size_t)(batch_of(c) * c->seq * c->dim);
}

/* Host positions (NULL for POS_OFFSET; caller frees). */
static int32_t *case_positions(const sin_case *c)
{
    if (c->pos == POS_OFFSET)
        return NULL;
    int64_t rows = c->pos == POS_BATCH_SEQ ? c->batch : 1;
    int32_t *v = pe_xmalloc((size_t)(rows * c->seq) * sizeof *v);
    for (int64_t b = 0; b < rows; b++) {
        for (int64_t s = 0; s < c->seq; s++)
            v[b * c->seq + s] = (int32_t)(c->first_pos + 2 * s + 5 * b);
    }
    return v;
}

static int64_t position_of(const sin_case *c, const int32_t *values, int64_t b, int64_t s)
{
    if (!values)
        return (int64_t)c->desc.pos_offset + s;
    return values[(c->pos == POS_BATCH_SEQ ? b * c->seq : 0) + s];
}

/* y = x + PE(p(b, s)) in float64. */
static void case_reference(const sin_case *c, const int32_t *values, const float *x, double *want)
{
    double *pe = pe_xmalloc((size_t)c->dim * sizeof *pe);
    for (int64_t b = 0; b < batch_of(c); b++) {
        for (int64_t s = 0; s < c->seq; s++) {
            size_t row = (size_t)((b * c->seq + s) * c->dim);
            ref_encoding(&c->desc, c->dim, position_of(c, values, b, s), pe);
            for (int64_t e = 0; e < c->dim; e++)
                want[row + (size_t)e] = (double)x[row + (size_t)e] + pe[e];
        }
    }
    free(pe);
}

/* ---- running the op ---------------------------------------------------------------------------------------------- */

static vkattn_result sinusoidal_op(vkattn_context *ctx, vkattn_cmd *cmd, const void *desc, vkattn_tensor x,
                                   vkattn_tensor pos, vkattn_tensor y)
{
    return vkattn_sinusoidal_add(ctx, cmd, desc, x, pos, y);
}

static const vkattn_sinusoidal_desc *desc_of(const sin_case *c)
{
    return c->null_desc ? NULL : &c->desc;
}

/* x [batch, seq, dim] ([seq, dim] for batch 0), positions [seq] or [batch, seq] holding values. */
static pe_call call_of(const sin_case *c, const int32_t *values)
{
    pe_call call = {.dtype = c->dtype, .x_layout = c->x_layout, .y_layout = c->y_layout, .in_place = c->in_place,
                    .pos = values};
    if (c->batch)
        call.shape[call.ndim++] = c->batch;
    call.shape[call.ndim++] = c->seq;
    call.shape[call.ndim++] = c->dim;
    if (c->pos == POS_BATCH_SEQ)
        call.pos_shape[call.pos_ndim++] = c->batch;
    call.pos_shape[call.pos_ndim++] = c->seq;
    return call;
}

/* Uniform x in [-1, 1) as the tensor stores it. */
static float *case_input(const sin_case *c, uint32_t seed)
{
    size_t n = case_numel(c);
    float *x = pe_xmalloc(n * sizeof *x);
    vkt_fill_uniform(x, n, seed, -1.0f, 1.0f);
    pe_round_to_dtype(c->dtype, x, n);
    return x;
}

/* Runs the case on random input: max |got - want| / max(|want|, 1) against float64. */
static void check_case(vkattn_context *ctx, const sin_case *c, uint32_t seed)
{
    size_t n = case_numel(c);
    int32_t *values = case_positions(c);
    float *x = case_input(c, seed);
    float *y = pe_xmalloc(n * sizeof *y);
    double *want = pe_xmalloc(n * sizeof *want);
    pe_call call = call_of(c, values);
    pe_call_run(ctx, &call, sinusoidal_op, desc_of(c), x, y, c->name);
    case_reference(c, values, x, want);
    pe_report(ctx, "sinusoidal", c->name, vkt_max_rel_err(y, want, n, 1.0), pe_dtype_tol(c->dtype));
    free(values);
    free(x);
    free(y);
    free(want);
}

static void check_cases(int backend_index, const sin_case *cases, size_t count)
{
    vkattn_context *ctx = vkt_context(vkt_backend(backend_index));
    if (!ctx)
        return;
    for (size_t k = 0; k < count; k++)
        check_case(ctx, &cases[k], 2000u + (uint32_t)k);
    vkt_context_destroy(ctx);
}

#define CONCAT {.layout = VKATTN_SINUSOIDAL_CONCAT}

/* ---- layouts and dims -------------------------------------------------------------------------------------------- */

static const sin_case layout_cases[] = {
    {"interleaved d64", {0}, 2, 9, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"interleaved d65 (odd)", {0}, 2, 9, 65, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"interleaved d1", {0}, 2, 9, 1, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"interleaved d1000 base 500", {.base = 500.0}, 1, 5, 1000, POS_SEQ, 3, VKATTN_F32, NULL, NULL, false, false},
    {"concat d64", CONCAT, 2, 9, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"concat d65 (odd)", CONCAT, 2, 9, 65, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"concat d4 (smallest)", CONCAT, 2, 9, 4, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"concat d5", CONCAT, 1, 9, 5, POS_SEQ, 10, VKATTN_F32, NULL, NULL, false, false},
    {"concat d384 (whisper tiny), positions 0..", CONCAT, 0, 40, 384, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false,
     false},
    {"null desc", {0}, 2, 4, 32, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, true},
};

START_TEST(test_sinusoidal_layouts)
{
    check_cases(_i, layout_cases, PE_COUNT_OF(layout_cases));
}
END_TEST

/* ---- positions --------------------------------------------------------------------------------------------------- */

static const sin_case position_cases[] = {
    {"[seq, dim], no positions", {0}, 0, 7, 48, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"[seq, dim], positions [seq]", CONCAT, 0, 7, 48, POS_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"positions [seq] shared by batch 3", {0}, 3, 7, 48, POS_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"positions [batch, seq]", CONCAT, 3, 7, 48, POS_BATCH_SEQ, 100, VKATTN_F32, NULL, NULL, false, false},
    {"pos_offset 77", {.pos_offset = 77}, 2, 7, 48, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"negative positions", CONCAT, 2, 7, 48, POS_BATCH_SEQ, -30, VKATTN_F32, NULL, NULL, false, false},
    {"pos_offset 10^6", {.pos_offset = 1000000}, 2, 16, 64, POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"positions near 10^6", CONCAT, 2, 16, 64, POS_BATCH_SEQ, 1000000 - 20, VKATTN_F32, NULL, NULL, false, false},
    {"positions up to 2^31 - 1", {0}, 1, 16, 64, POS_SEQ, INT32_MAX - 30, VKATTN_F32, NULL, NULL, false, false},
    {"pos_offset 2^31 - 16", {.layout = VKATTN_SINUSOIDAL_CONCAT, .pos_offset = INT32_MAX - 15}, 1, 16, 65,
     POS_OFFSET, 0, VKATTN_F32, NULL, NULL, false, false},
    {"positions down to -2^31", {0}, 1, 16, 64, POS_SEQ, INT32_MIN, VKATTN_F32, NULL, NULL, false, false},
};

START_TEST(test_sinusoidal_positions)
{
    check_cases(_i, position_cases, PE_COUNT_OF(position_cases));
}
END_TEST

/* ---- storage: in place, strided, f16 ----------------------------------------------------------------------------- */

static const sin_case storage_cases[] = {
    {"in place", {0}, 2, 9, 64, POS_BATCH_SEQ, 10, VKATTN_F32, NULL, NULL, true, false},
    {"x strided [S,B,D] storage", CONCAT, 2, 9, 64, POS_BATCH_SEQ, 10, VKATTN_F32, &sbd, NULL, false, false},
    {"x strided, y padded", {0}, 2, 9, 65, POS_SEQ, 10, VKATTN_F32, &sbd, &padded3, false, false},
    {"strided in place", CONCAT, 2, 9, 65, POS_OFFSET, 0, VKATTN_F32, &sbd, NULL, true, false},
    {"[seq, dim] transposed", {0}, 0, 9, 33, POS_SEQ, 10, VKATTN_F32, &transposed, NULL, false, false},
    {"f16 interleaved", {0}, 2, 9, 64, POS_BATCH_SEQ, 10, VKATTN_F16, NULL, NULL, false, false},
    {"f16 concat in place", CONCAT, 2, 9, 65, POS_SEQ, 1000000, VKATTN_F16, NULL, NULL, true, false},
    {"f16 strided", {0}, 2, 9, 64, POS_OFFSET, 0, VKATTN_F16, &sbd, &padded3, false, false},
};

START_TEST(test_sinusoidal_storage)
{
    check_cases(_i, storage_cases, PE_COUNT_OF(storage_cases));
}
END_TEST

/* ---- command lists ----------------------------------------------------------------------------------------------- */

/* Two adds recorded in one list, the second reading what the first wrote: y = x + PE(p) + PE(p). */
START_TEST(test_sinusoidal_cmd)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const sin_case c = {"cmd: two adds", CONCAT, 2, 6, 40, POS_BATCH_SEQ, 300, VKATTN_F32, NULL, NULL, false,
                               false};
    size_t n = case_numel(&c);
    int32_t *values = case_positions(&c);
    float *x = case_input(&c, 91u);
    float *y = pe_xmalloc(n * sizeof *y);
    double *once = pe_xmalloc(n * sizeof *once);
    double *want = pe_xmalloc(n * sizeof *want);
    case_reference(&c, values, x, once);
    for (size_t k = 0; k < n; k++)
        want[k] = 2.0 * once[k] - x[k];

    pe_call call = call_of(&c, values);
    pe_call_tensors t = pe_call_tensors_new(ctx, &call, x);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, sinusoidal_op(ctx, cmd, &c.desc, t.x.t, t.pos, t.y.t), VKATTN_OK, "first add (recorded)");
    pe_expect(ctx, sinusoidal_op(ctx, cmd, &c.desc, t.y.t, t.pos, t.y.t), VKATTN_OK, "second add (recorded)");
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    pe_tensor_get(ctx, &t.y, y);
    pe_report(ctx, "sinusoidal", c.name, vkt_max_rel_err(y, want, n, 1.0), PE_F32_TOL);

    vkattn_cmd_destroy(cmd);
    pe_call_tensors_free(ctx, &call, &t);
    free(values);
    free(x);
    free(y);
    free(once);
    free(want);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- bad descs, tensors and calls -------------------------------------------------------------------------------- */

/* The valid call the bad ones vary: x, y [2, 4, 8] f32 (batch 2, seq 4), no positions. */
typedef struct fixture {
    vkattn_context *ctx;
    vkattn_tensor x, y;
} fixture;

static void check_bad_descs(const fixture *fx)
{
    static const struct {
        const char *what;
        vkattn_sinusoidal_desc desc;
    } cases[] = {
        {"base 1", {.base = 1.0}},
        {"base 0.5", {.base = 0.5}},
        {"base -10000", {.base = -10000.0}},
        {"base NaN", {.base = NAN}},
        {"base inf", {.base = INFINITY}},
        {"concat base 1", {.layout = VKATTN_SINUSOIDAL_CONCAT, .base = 1.0}},
        {"layout 2", {.layout = (vkattn_sinusoidal_layout)2}},
    };
    for (size_t k = 0; k < PE_COUNT_OF(cases); k++) {
        pe_expected_call call = {cases[k].what, &cases[k].desc, fx->x, {0}, fx->y, VKATTN_ERROR_INVALID_ARGUMENT};
        pe_expect_calls(fx->ctx, sinusoidal_op, &call, 1);
    }
}

/* The concat layout's step ln(base) / (dim/2 - 1) needs dim >= 4 (vkattn.h): smaller dims do not fit the op. */
static void check_concat_dims(const fixture *fx)
{
    const vkattn_sinusoidal_desc concat = CONCAT;
    for (int64_t dim = 1; dim <= 4; dim++) {
        vkattn_tensor t = pe_tensor_of(fx->ctx, VKATTN_F32, 2, 3, dim, 0, 0);
        const float zeros[12] = {0};
        char what[32];
        vkt_write_f32(fx->ctx, t, zeros, (size_t)(3 * dim));
        snprintf(what, sizeof what, "concat dim %lld", (long long)dim);
        pe_expected_call call = {what, &concat, t, {0}, t, dim < 4 ? VKATTN_ERROR_SHAPE_MISMATCH : VKATTN_OK};
        pe_expect_calls(fx->ctx, sinusoidal_op, &call, 1);
        vkattn_tensor_destroy(fx->ctx, t);
    }
}

/* Positions that do not fit x (batch 2, seq 4). */
static void check_bad_positions(const fixture *fx)
{
    vkattn_context *ctx = fx->ctx;
    const vkattn_sinusoidal_desc offset = {.pos_offset = 3}, near_max = {.pos_offset = INT32_MAX - 2};
    enum { F32_SEQ, SEQ4, SEQ3, B3_SEQ4, B2_SEQ4_1, COUNT };
    const vkattn_tensor p[COUNT] = {
        pe_tensor_of(ctx, VKATTN_F32, 1, 4, 0, 0, 0), pe_tensor_of(ctx, VKATTN_I32, 1, 4, 0, 0, 0),
        pe_tensor_of(ctx, VKATTN_I32, 1, 3, 0, 0, 0), pe_tensor_of(ctx, VKATTN_I32, 2, 3, 4, 0, 0),
        pe_tensor_of(ctx, VKATTN_I32, 3, 2, 4, 1, 0),
    };
    const int32_t zeros[4] = {0};
    pe_expect(ctx, vkattn_tensor_write(ctx, p[SEQ4], zeros, sizeof zeros), VKATTN_OK, "write positions");
    const vkattn_tensor x = fx->x, y = fx->y, none = {0};
    const pe_expected_call calls[] = {
        {"positions f32", NULL, x, p[F32_SEQ], y, VKATTN_ERROR_DTYPE_MISMATCH},
        {"positions [3] for seq 4", NULL, x, p[SEQ3], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"positions [3, 4] for batch 2", NULL, x, p[B3_SEQ4], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"positions of 3 dims", NULL, x, p[B2_SEQ4_1], y, VKATTN_ERROR_SHAPE_MISMATCH},
        {"pos_offset with positions", &offset, x, p[SEQ4], y, VKATTN_ERROR_INVALID_ARGUMENT},
        {"pos_offset + seq - 1 past 2^31 - 1", &near_max, x, none, y, VKATTN_ERROR_OVERFLOW},
        {"positions [4]", NULL, x, p[SEQ4], y, VKATTN_OK},
    };
    pe_expect_calls(ctx, sinusoidal_op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(ctx, p, COUNT);
}

/* x of 1 or 4 dims (the op-specific shape rule; pe_check_common_errors covers the rest). */
static void check_bad_ranks(const fixture *fx)
{
    const vkattn_tensor t[2] = {pe_tensor_of(fx->ctx, VKATTN_F32, 1, 8, 0, 0, 0),
                                pe_tensor_of(fx->ctx, VKATTN_F32, 4, 1, 2, 4, 8)};
    const pe_expected_call calls[] = {
        {"x of 1 dim", NULL, t[0], {0}, t[0], VKATTN_ERROR_SHAPE_MISMATCH},
        {"x of 4 dims", NULL, t[1], {0}, t[1], VKATTN_ERROR_SHAPE_MISMATCH},
    };
    pe_expect_calls(fx->ctx, sinusoidal_op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(fx->ctx, t, PE_COUNT_OF(t));
}

START_TEST(test_sinusoidal_bad_inputs)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    static const int64_t shape[3] = {2, 4, 8};
    fixture fx = {ctx, pe_zeros(ctx, 3, shape), vkt_tensor(ctx, VKATTN_F32, 3, shape)};
    check_bad_descs(&fx);
    check_concat_dims(&fx);
    check_bad_positions(&fx);
    check_bad_ranks(&fx);
    pe_check_common_errors(ctx, sinusoidal_op, 3, shape);
    vkattn_tensor_destroy(ctx, fx.x);
    vkattn_tensor_destroy(ctx, fx.y);
    /* the context still works */
    check_case(ctx, &layout_cases[0], 7u);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *sinusoidal_suite(void)
{
    Suite *s = suite_create("sinusoidal");
    TCase *tc = tcase_create("sinusoidal");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_sinusoidal_layouts, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_sinusoidal_positions, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_sinusoidal_storage, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_sinusoidal_cmd, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_sinusoidal_bad_inputs, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(sinusoidal_suite());
}
