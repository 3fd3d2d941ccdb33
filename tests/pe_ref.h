/*
 * pe_ref.h - what the positional-encoding suites (test_rope.c, test_sinusoidal.c, test_alibi.c) share: exact angles
 * in extended precision, test tensors that are contiguous or strided views of a padded base, i32 position tensors,
 * result-code assertions and error reports. Each suite keeps its own float64 formula reference.
 */
#ifndef VKATTN_TESTS_PE_REF_H
#define VKATTN_TESTS_PE_REF_H

#include "common.h"

/* f32 storage: the project standard, about 1e-5 relative to the float64 reference. */
#define PE_F32_TOL 1e-5
/* f16 storage: half an ulp of binary16 (2^-11) on the output plus the f32 computation, within 1e-3. */
#define PE_F16_TOL 1e-3

#define PE_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

void *pe_xmalloc(size_t bytes);
size_t pe_numel(uint32_t ndim, const int64_t *shape);
/* Rounds host values to what an f16 tensor holds (no-op for f32), so references see the stored inputs. */
void pe_round_to_dtype(vkattn_dtype dtype, float *x, size_t n);
double pe_dtype_tol(vkattn_dtype dtype);

/* The angle p * theta reduced to [-pi, pi], computed in long double (64-bit mantissa on x86-64) so that its own
 * error, about |p theta| 2^-64, stays below 1e-9 rad for every int32 position and theta <= 1. */
double pe_angle(int64_t p, double theta);
/* cos and sin of p * theta through pe_angle. */
void pe_cos_sin(int64_t p, double theta, double *c, double *s);
/* a - b wrapped to [-pi, pi]: the difference of two angles. */
double pe_angle_diff(double a, double b);

#define PE_PI 3.14159265358979323846
/* The RoPE frequency ladder theta_k, k < dim / 2, of `dim` rotating dims (rot_dims, or rot_dims / 2 for 2D axial)
 * under d's scaling, written from HF modeling_rope_utils.py (_compute_default_, _linear_scaling_, _ntk_,
 * _dynamic_ntk_, _yarn_, _longrope_, _llama3_parameters) for context length ctx_len (DYNAMIC, LONGROPE); returns the
 * scaling's default attention factor (YaRN get_mscale, LongRoPE sqrt(1 + ln s / ln L), else 1). freq_factors and
 * attn_factor are the caller's to apply. */
double pe_rope_ladder(const vkattn_rope_desc *d, double base, uint32_t dim, double ctx_len, double *ladder);

/* Where a test tensor's elements live. NULL layout = a contiguous tensor of its own. Otherwise a view of a 1-d base
 * tensor: the logical dims are stored in the order perm (perm[0] outermost), each innermost storage row is
 * followed by `pad` unused elements, and the view starts `offset` elements into the base. */
typedef struct pe_layout {
    uint32_t perm[VKATTN_MAX_DIMS];
    int64_t pad;
    int64_t offset;
} pe_layout;

typedef struct pe_tensor {
    vkattn_tensor t;    /* what the op gets */
    vkattn_tensor base; /* the zero handle for a contiguous tensor */
    vkattn_dtype dtype;
    size_t numel;
    size_t base_len;
} pe_tensor;

/* A base filled with PE_SENTINEL around a view: every base element the view does not cover must keep it. */
#define PE_SENTINEL 1234.0f

pe_tensor pe_tensor_new(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                        const pe_layout *layout);
/* numel host values in logical row-major order, converted to the tensor's dtype. */
void pe_tensor_set(vkattn_context *ctx, const pe_tensor *t, const float *values);
void pe_tensor_get(vkattn_context *ctx, const pe_tensor *t, float *values);
/* For a view: asserts that the base elements outside it still hold PE_SENTINEL. */
void pe_tensor_check_outside(vkattn_context *ctx, const pe_tensor *t, const char *what);
void pe_tensor_free(vkattn_context *ctx, pe_tensor *t);

/* An i32 tensor of the shape holding `values`. */
vkattn_tensor pe_positions(vkattn_context *ctx, uint32_t ndim, const int64_t *shape, const int32_t *values);

/* One op call on test tensors: x, and y unless in place, of one shape and dtype with their layouts, and an optional
 * i32 positions tensor. */
typedef struct pe_call {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
    const pe_layout *x_layout; /* NULL = contiguous */
    const pe_layout *y_layout; /* ignored in place */
    bool in_place;
    const int32_t *pos;        /* NULL = no positions tensor (the zero handle) */
    uint32_t pos_ndim;
    int64_t pos_shape[3];
} pe_call;

typedef struct pe_call_tensors {
    pe_tensor x, y;
    vkattn_tensor pos;
} pe_call_tensors;

/* The three positional-encoding ops in one form (ALiBi ignores pos). */
typedef vkattn_result (*pe_op_fn)(vkattn_context *ctx, vkattn_cmd *cmd, const void *desc, vkattn_tensor x,
                                  vkattn_tensor pos, vkattn_tensor y);

/* Creates the call's tensors and writes x (numel dense host values) and the positions. */
pe_call_tensors pe_call_tensors_new(vkattn_context *ctx, const pe_call *c, const float *x);
void pe_call_tensors_free(vkattn_context *ctx, const pe_call *c, pe_call_tensors *t);
/* Runs op immediately on fresh tensors holding x, asserts VKATTN_OK, reads y back (dense) and checks that no base
 * element outside the output view changed. `what` names the case in failure messages. */
void pe_call_run(vkattn_context *ctx, const pe_call *c, pe_op_fn op, const void *desc, const float *x, float *y,
                 const char *what);

/* Records op (x -> y) and then a softmax over the last axis (y -> z, f32) into one command list, submits it, waits,
 * and checks z against the float64 softmax of the rows of op_want, the op's reference result (overwritten). The
 * softmax reads what the op wrote, so this also checks the dependency between them. */
void pe_check_op_then_softmax(vkattn_context *ctx, const pe_call *c, pe_op_fn op, const void *desc, const float *x,
                              double *op_want, const char *suite, const char *what);

/* Asserts that a call returned `want`; for a failure with a context, also that the context has a message. */
void pe_expect(vkattn_context *ctx, vkattn_result got, vkattn_result want, const char *what);

/* One immediate call of an op and the result it must give. */
typedef struct pe_expected_call {
    const char *what;
    const void *desc;
    vkattn_tensor x, pos, y;
    vkattn_result want;
} pe_expected_call;

void pe_expect_calls(vkattn_context *ctx, pe_op_fn op, const pe_expected_call *calls, size_t n);

/* The errors every positional-encoding op shares, around a valid f32 call op(ctx, desc NULL, x, no positions, y)
 * on the shape: NULL ctx (INVALID_ARGUMENT), zero and destroyed handles (INVALID_HANDLE), y of another shape
 * (SHAPE_MISMATCH), x f32 with y f16 and x, y i32 (DTYPE_MISMATCH); then that the valid call succeeds. */
void pe_check_common_errors(vkattn_context *ctx, pe_op_fn op, uint32_t ndim, const int64_t *shape);

/* An f32 tensor of the shape holding zeros. */
vkattn_tensor pe_zeros(vkattn_context *ctx, uint32_t ndim, const int64_t *shape);
/* A contiguous tensor of shape [d0, .., d(ndim-1)]; and destroying several handles at once. */
vkattn_tensor pe_tensor_of(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, int64_t d0, int64_t d1,
                           int64_t d2, int64_t d3);
void pe_tensors_destroy(vkattn_context *ctx, const vkattn_tensor *t, size_t n);

/* Prints "<suite> [<backend>] <what>: max error <err>" to stdout (the measured errors are quoted in reviews) and
 * asserts err <= tol. */
void pe_report(vkattn_context *ctx, const char *suite, const char *what, double err, double tol);

#endif /* VKATTN_TESTS_PE_REF_H */
