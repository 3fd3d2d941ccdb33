/*
 * pe_ref.c - shared plumbing of the positional-encoding suites: exact angles, strided test tensors, position
 * tensors, result-code assertions and error reports.
 */
#include "pe_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *pe_xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

size_t pe_numel(uint32_t ndim, const int64_t *shape)
{
    size_t n = 1;
    for (uint32_t d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    return n;
}

void pe_round_to_dtype(vkattn_dtype dtype, float *x, size_t n)
{
    if (dtype != VKATTN_F16)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = vkt_half_to_float(vkt_float_to_half(x[i]));
}

double pe_dtype_tol(vkattn_dtype dtype)
{
    return dtype == VKATTN_F16 ? PE_F16_TOL : PE_F32_TOL;
}

/* ---- angles ------------------------------------------------------------------------------------------------------ */

/* 2 pi to long double precision (the digits of pi, 2 * 3.14159265358979323846264338327950288). */
#define PE_TWO_PI_L 6.28318530717958647692528676655900577L

double pe_angle(int64_t p, double theta)
{
    long double a = (long double)p * (long double)theta;
    return (double)remainderl(a, PE_TWO_PI_L);
}

void pe_cos_sin(int64_t p, double theta, double *c, double *s)
{
    double a = pe_angle(p, theta);
    *c = cos(a);
    *s = sin(a);
}

double pe_angle_diff(double a, double b)
{
    return remainder(a - b, (double)PE_TWO_PI_L);
}

/* ---- test tensors ------------------------------------------------------------------------------------------------ */

/* Strides of the view and the base length for a layout: storage dims in perm order, rows padded. */
static int64_t layout_strides(uint32_t ndim, const int64_t *shape, const pe_layout *l, int64_t *strides)
{
    int64_t step = 1;
    for (uint32_t k = ndim; k-- > 0;) {
        uint32_t d = l->perm[k];
        strides[d] = step;
        step *= shape[d] + (k == ndim - 1 ? l->pad : 0);
    }
    return l->offset + step;
}

static vkattn_tensor make_view(vkattn_context *ctx, pe_tensor *out, uint32_t ndim, const int64_t *shape,
                               const pe_layout *layout)
{
    vkattn_tensor_desc d = {.dtype = out->dtype, .ndim = ndim};
    memcpy(d.shape, shape, ndim * sizeof shape[0]);
    int64_t base_len = layout_strides(ndim, shape, layout, d.strides);
    out->base_len = (size_t)base_len;
    out->base = vkt_tensor(ctx, out->dtype, 1, &base_len);
    float *fill = pe_xmalloc(out->base_len * sizeof(float));
    for (size_t i = 0; i < out->base_len; i++)
        fill[i] = PE_SENTINEL;
    pe_tensor_set(ctx, &(pe_tensor){.t = out->base, .dtype = out->dtype, .numel = out->base_len}, fill);
    free(fill);
    vkattn_tensor t = {0};
    vkattn_result r = vkattn_tensor_view(ctx, out->base, &d, layout->offset, &t);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_view: %s (%s)", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
    return t;
}

pe_tensor pe_tensor_new(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                        const pe_layout *layout)
{
    pe_tensor out = {.dtype = dtype, .numel = pe_numel(ndim, shape)};
    if (layout)
        out.t = make_view(ctx, &out, ndim, shape, layout);
    else
        out.t = vkt_tensor(ctx, dtype, ndim, shape);
    return out;
}

void pe_tensor_set(vkattn_context *ctx, const pe_tensor *t, const float *values)
{
    if (t->dtype == VKATTN_F16)
        vkt_write_f16_from_f32(ctx, t->t, values, t->numel);
    else
        vkt_write_f32(ctx, t->t, values, t->numel);
}

void pe_tensor_get(vkattn_context *ctx, const pe_tensor *t, float *values)
{
    if (t->dtype == VKATTN_F16)
        vkt_read_f16_to_f32(ctx, t->t, values, t->numel);
    else
        vkt_read_f32(ctx, t->t, values, t->numel);
}

void pe_tensor_check_outside(vkattn_context *ctx, const pe_tensor *t, const char *what)
{
    if (!t->base.id)
        return;
    float *all = pe_xmalloc(t->base_len * sizeof(float));
    pe_tensor_get(ctx, &(pe_tensor){.t = t->base, .dtype = t->dtype, .numel = t->base_len}, all);
    size_t kept = 0;
    for (size_t i = 0; i < t->base_len; i++)
        kept += all[i] == PE_SENTINEL;
    free(all);
    ck_assert_msg(kept == t->base_len - t->numel, "%s: %zu base elements outside the view were overwritten", what,
                  t->base_len - t->numel - kept);
}

void pe_tensor_free(vkattn_context *ctx, pe_tensor *t)
{
    vkattn_tensor_destroy(ctx, t->t);
    vkattn_tensor_destroy(ctx, t->base);
    t->t.id = 0;
    t->base.id = 0;
}

vkattn_tensor pe_positions(vkattn_context *ctx, uint32_t ndim, const int64_t *shape, const int32_t *values)
{
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_I32, ndim, shape);
    vkattn_result r = vkattn_tensor_write(ctx, t, values, pe_numel(ndim, shape) * sizeof(int32_t));
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_write (i32): %s (%s)", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
    return t;
}

pe_call_tensors pe_call_tensors_new(vkattn_context *ctx, const pe_call *c, const float *x)
{
    pe_call_tensors t = {0};
    t.x = pe_tensor_new(ctx, c->dtype, c->ndim, c->shape, c->x_layout);
    t.y = c->in_place ? t.x : pe_tensor_new(ctx, c->dtype, c->ndim, c->shape, c->y_layout);
    pe_tensor_set(ctx, &t.x, x);
    if (c->pos)
        t.pos = pe_positions(ctx, c->pos_ndim, c->pos_shape, c->pos);
    return t;
}

void pe_call_tensors_free(vkattn_context *ctx, const pe_call *c, pe_call_tensors *t)
{
    if (!c->in_place)
        pe_tensor_free(ctx, &t->y);
    pe_tensor_free(ctx, &t->x);
    vkattn_tensor_destroy(ctx, t->pos);
    t->pos.id = 0;
}

void pe_call_run(vkattn_context *ctx, const pe_call *c, pe_op_fn op, const void *desc, const float *x, float *y,
                 const char *what)
{
    pe_call_tensors t = pe_call_tensors_new(ctx, c, x);
    vkattn_result r = op(ctx, NULL, desc, t.x.t, t.pos, t.y.t);
    ck_assert_msg(r == VKATTN_OK, "%s: %s (%s)", what, vkattn_result_name(r), vkattn_context_last_error(ctx));
    pe_tensor_get(ctx, &t.y, y);
    pe_tensor_check_outside(ctx, &t.y, what);
    pe_call_tensors_free(ctx, c, &t);
}

/* Softmax of each row of row_len values in place, in float64; -inf entries get 0. */
static void softmax_rows(double *v, size_t n, size_t row_len)
{
    for (size_t row = 0; row < n; row += row_len) {
        double m = -INFINITY, sum = 0.0;
        for (size_t e = row; e < row + row_len; e++)
            m = fmax(m, v[e]);
        for (size_t e = row; e < row + row_len; e++)
            sum += v[e] = exp(v[e] - m);
        for (size_t e = row; e < row + row_len; e++)
            v[e] /= sum;
    }
}

void pe_check_op_then_softmax(vkattn_context *ctx, const pe_call *c, pe_op_fn op, const void *desc, const float *x,
                              double *op_want, const char *suite, const char *what)
{
    size_t n = pe_numel(c->ndim, c->shape);
    pe_call_tensors t = pe_call_tensors_new(ctx, c, x);
    vkattn_tensor tz = vkt_tensor(ctx, VKATTN_F32, c->ndim, c->shape);
    vkattn_cmd *cmd = NULL;
    pe_expect(ctx, vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK, "vkattn_cmd_create");
    pe_expect(ctx, op(ctx, cmd, desc, t.x.t, t.pos, t.y.t), VKATTN_OK, what);
    pe_expect(ctx, vkattn_softmax(ctx, cmd, NULL, t.y.t, tz), VKATTN_OK, "vkattn_softmax (recorded)");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 2);
    pe_expect(ctx, vkattn_cmd_submit(cmd), VKATTN_OK, "vkattn_cmd_submit");
    pe_expect(ctx, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK, "vkattn_cmd_wait");
    float *z = pe_xmalloc(n * sizeof *z);
    vkt_read_f32(ctx, tz, z, n);
    softmax_rows(op_want, n, (size_t)c->shape[c->ndim - 1]);
    pe_report(ctx, suite, what, vkt_max_rel_err(z, op_want, n, 1e-30), PE_F32_TOL);
    free(z);
    vkattn_cmd_destroy(cmd);
    vkattn_tensor_destroy(ctx, tz);
    pe_call_tensors_free(ctx, c, &t);
}

/* ---- assertions -------------------------------------------------------------------------------------------------- */

void pe_expect(vkattn_context *ctx, vkattn_result got, vkattn_result want, const char *what)
{
    const char *msg = vkattn_context_last_error(ctx);
    ck_assert_msg(got == want, "%s: got %s, want %s (last error: \"%s\")", what, vkattn_result_name(got),
                  vkattn_result_name(want), msg);
    ck_assert_msg(want == VKATTN_OK || !ctx || msg[0] != '\0', "%s: failed with %s but left no message", what,
                  vkattn_result_name(got));
}

void pe_expect_calls(vkattn_context *ctx, pe_op_fn op, const pe_expected_call *calls, size_t n)
{
    for (size_t k = 0; k < n; k++)
        pe_expect(ctx, op(ctx, NULL, calls[k].desc, calls[k].x, calls[k].pos, calls[k].y), calls[k].want,
                  calls[k].what);
}

void pe_check_common_errors(vkattn_context *ctx, pe_op_fn op, uint32_t ndim, const int64_t *shape)
{
    int64_t longer[VKATTN_MAX_DIMS];
    memcpy(longer, shape, ndim * sizeof shape[0]);
    longer[ndim - 1] += 1;
    enum { X, Y, Y_OTHER, Y_F16, X_I32, Y_I32, STALE, COUNT };
    const vkattn_tensor t[COUNT] = {
        pe_zeros(ctx, ndim, shape),                vkt_tensor(ctx, VKATTN_F32, ndim, shape),
        vkt_tensor(ctx, VKATTN_F32, ndim, longer), vkt_tensor(ctx, VKATTN_F16, ndim, shape),
        vkt_tensor(ctx, VKATTN_I32, ndim, shape),  vkt_tensor(ctx, VKATTN_I32, ndim, shape),
        vkt_tensor(ctx, VKATTN_F32, ndim, shape),
    };
    vkattn_tensor_destroy(ctx, t[STALE]);
    const vkattn_tensor none = {0};
    const pe_expected_call calls[] = {
        {"zero x", NULL, none, none, t[Y], VKATTN_ERROR_INVALID_HANDLE},
        {"zero y", NULL, t[X], none, none, VKATTN_ERROR_INVALID_HANDLE},
        {"destroyed x", NULL, t[STALE], none, t[Y], VKATTN_ERROR_INVALID_HANDLE},
        {"destroyed y", NULL, t[X], none, t[STALE], VKATTN_ERROR_INVALID_HANDLE},
        {"x, y shapes differ", NULL, t[X], none, t[Y_OTHER], VKATTN_ERROR_SHAPE_MISMATCH},
        {"x f32, y f16", NULL, t[X], none, t[Y_F16], VKATTN_ERROR_DTYPE_MISMATCH},
        {"x, y i32", NULL, t[X_I32], none, t[Y_I32], VKATTN_ERROR_DTYPE_MISMATCH},
        {"the valid call", NULL, t[X], none, t[Y], VKATTN_OK},
    };
    pe_expect(NULL, op(NULL, NULL, NULL, t[X], none, t[Y]), VKATTN_ERROR_INVALID_ARGUMENT, "NULL ctx");
    pe_expect_calls(ctx, op, calls, PE_COUNT_OF(calls));
    pe_tensors_destroy(ctx, t, COUNT);
}

vkattn_tensor pe_zeros(vkattn_context *ctx, uint32_t ndim, const int64_t *shape)
{
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_F32, ndim, shape);
    float *zeros = calloc(pe_numel(ndim, shape), sizeof(float));
    ck_assert_ptr_nonnull(zeros);
    vkt_write_f32(ctx, t, zeros, pe_numel(ndim, shape));
    free(zeros);
    return t;
}

vkattn_tensor pe_tensor_of(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, int64_t d0, int64_t d1,
                           int64_t d2, int64_t d3)
{
    const int64_t shape[VKATTN_MAX_DIMS] = {d0, d1, d2, d3};
    return vkt_tensor(ctx, dtype, ndim, shape);
}

void pe_tensors_destroy(vkattn_context *ctx, const vkattn_tensor *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        vkattn_tensor_destroy(ctx, t[k]);
}

void pe_report(vkattn_context *ctx, const char *suite, const char *what, double err, double tol)
{
    const char *backend = vkt_backend_name(vkattn_context_backend(ctx));
    printf("%s [%s] %s: max error %.3g\n", suite, backend, what, err);
    fflush(stdout);
    ck_assert_msg(err <= tol, "%s [%s] %s: max error %.3g > %.3g", suite, backend, what, err, tol);
}

/* ---- RoPE frequencies (float64, from Hugging Face modeling_rope_utils.py) ------------------------------------------ */

/* HF _compute_default_rope_parameters: inv_freq[k] = 1 / base^(2k / dim), k = 0 .. dim/2 - 1. */
static void default_ladder(double base, uint32_t dim, double *ladder)
{
    for (uint32_t k = 0; k < dim / 2; k++)
        ladder[k] = 1.0 / pow(base, (2.0 * k) / dim);
}

/* HF get_mscale (YaRN paper sqrt(1/t) fit, DeepSeek-V2's mscale argument). */
static double get_mscale(double scale, double mscale)
{
    return scale <= 1.0 ? 1.0 : 0.1 * mscale * log(scale) + 1.0;
}

/* HF find_correction_dim: the dim whose wavelength turns `rotations` times over max_pos positions. */
static double correction_dim(double rotations, uint32_t dim, double base, double max_pos)
{
    return dim * log(max_pos / (rotations * 2.0 * PE_PI)) / (2.0 * log(base));
}

/* HF _compute_yarn_parameters: find_correction_range (floor/ceil unless truncate is false, clamped to
 * [0, dim - 1]), linear_ramp_factor (max += 0.001 when min == max), then
 * inv_freq = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor. */
static double yarn_ladder(const vkattn_rope_desc *d, double base, uint32_t dim, double *ladder)
{
    double s = d->factor;
    double beta_fast = d->beta_fast != 0.0 ? d->beta_fast : 32.0;
    double beta_slow = d->beta_slow != 0.0 ? d->beta_slow : 1.0;
    double low = correction_dim(beta_fast, dim, base, d->orig_ctx);
    double high = correction_dim(beta_slow, dim, base, d->orig_ctx);
    if (!(d->flags & VKATTN_ROPE_YARN_NO_TRUNCATE)) {
        low = floor(low);
        high = ceil(high);
    }
    low = fmax(low, 0.0);
    high = fmin(high, dim - 1.0);
    if (low == high)
        high += 0.001;
    default_ladder(base, dim, ladder);
    for (uint32_t k = 0; k < dim / 2; k++) {
        double ramp = fmin(fmax((k - low) / (high - low), 0.0), 1.0);
        double extrapolation_factor = 1.0 - ramp;
        ladder[k] = ladder[k] / s * (1.0 - extrapolation_factor) + ladder[k] * extrapolation_factor;
    }
    if (d->yarn_mscale != 0.0 && d->yarn_mscale_all_dim != 0.0)
        return get_mscale(s, d->yarn_mscale) / get_mscale(s, d->yarn_mscale_all_dim);
    return get_mscale(s, 1.0);
}

/* HF _compute_longrope_parameters: inv_freq = 1 / (ext_factors * base^(2k/dim)), long factors when the context
 * exceeds original_max_position_embeddings; attention factor sqrt(1 + ln(s) / ln(L)), 1 for s <= 1. */
static double longrope_ladder(const vkattn_rope_desc *d, double base, uint32_t dim, double ctx_len, double *ladder)
{
    const float *ext = ctx_len > d->orig_ctx ? d->long_factor : d->short_factor;
    for (uint32_t k = 0; k < dim / 2; k++)
        ladder[k] = 1.0 / ((double)ext[k] * pow(base, (2.0 * k) / dim));
    return d->factor <= 1.0 ? 1.0 : sqrt(1.0 + log(d->factor) / log((double)d->orig_ctx));
}

/* HF _compute_llama3_parameters: wavelengths above L / low_freq_factor are divided by the factor, those below
 * L / high_freq_factor kept, those between interpolated by smooth = (L / wavelen - low) / (high - low). */
static void llama3_ladder(const vkattn_rope_desc *d, double base, uint32_t dim, double *ladder)
{
    double s = d->factor, old_ctx = d->orig_ctx;
    double low = d->low_freq_factor != 0.0 ? d->low_freq_factor : 1.0;
    double high = d->high_freq_factor != 0.0 ? d->high_freq_factor : 4.0;
    default_ladder(base, dim, ladder);
    for (uint32_t k = 0; k < dim / 2; k++) {
        double wavelen = 2.0 * PE_PI / ladder[k];
        if (wavelen > old_ctx / low) {
            ladder[k] /= s;
        } else if (!(wavelen < old_ctx / high)) {
            double smooth = (old_ctx / wavelen - low) / (high - low);
            ladder[k] = (1.0 - smooth) * ladder[k] / s + smooth * ladder[k];
        }
    }
}

/* The ladder of `dim` (rot_dims, or rot_dims/2 for 2D axial) under the desc's scaling, for context length
 * ctx_len; returns the scaling's default attention factor. */
double pe_rope_ladder(const vkattn_rope_desc *d, double base, uint32_t dim, double ctx_len, double *ladder)
{
    double s = d->factor, max_pos = d->orig_ctx;
    switch (d->scaling) {
    case VKATTN_ROPE_SCALING_NONE:
        default_ladder(base, dim, ladder);
        return 1.0;
    case VKATTN_ROPE_SCALING_LINEAR: /* HF _compute_linear_scaling_rope_parameters: inv_freq /= factor */
        default_ladder(base, dim, ladder);
        for (uint32_t k = 0; k < dim / 2; k++)
            ladder[k] /= s;
        return 1.0;
    case VKATTN_ROPE_SCALING_NTK: /* HF _compute_ntk_parameters: base * factor^(dim / (dim - 2)) */
        default_ladder(base * pow(s, dim / (dim - 2.0)), dim, ladder);
        return 1.0;
    case VKATTN_ROPE_SCALING_DYNAMIC: /* HF _compute_dynamic_ntk_parameters, seq_len = max(c, L) */
        default_ladder(base * pow(s * fmax(ctx_len, max_pos) / max_pos - (s - 1.0), dim / (dim - 2.0)), dim,
                       ladder);
        return 1.0;
    case VKATTN_ROPE_SCALING_YARN:
        return yarn_ladder(d, base, dim, ladder);
    case VKATTN_ROPE_SCALING_LONGROPE:
        return longrope_ladder(d, base, dim, ctx_len, ladder);
    case VKATTN_ROPE_SCALING_LLAMA3:
        llama3_ladder(d, base, dim, ladder);
        return 1.0;
    }
    ck_abort_msg("unknown scaling %d", (int)d->scaling);
    return 0.0;
}
