/*
 * test_errors.c - every way to call the public API wrongly: each case makes one kind of bad call and asserts the
 * exact vkattn_result, that the context's last error names the public function, that out-pointers were cleared,
 * and that the context still works afterwards.
 *
 * The cases form one table; the loop test runs each of them once per backend (index = case * 2 + backend).
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A few tensors every case may use. */
typedef struct fixture {
    vkattn_context *ctx;   /* the backend under test */
    vkattn_context *other; /* a second context, for handles that belong elsewhere */
    vkattn_tensor a;       /* f32 [2,3], holds A_VALUES */
    vkattn_tensor b;       /* f32 [2,3] */
    vkattn_tensor c;       /* f32 [3,2] */
    vkattn_tensor h;       /* f16 [2,3] */
    vkattn_tensor i;       /* i32 [2,3] */
    vkattn_tensor dead;    /* a destroyed f32 [2,3] tensor */
    vkattn_tensor foreign; /* f32 [2,3] of `other` */
} fixture;

static const float A_VALUES[6] = {0.5f, -1.0f, 2.0f, 3.5f, -4.25f, 8.0f};
static const int64_t SHAPE_2x3[2] = {2, 3};
static const int64_t SHAPE_3x2[2] = {3, 2};
static const vkattn_tensor ZERO_HANDLE = {0};
static const vkattn_tensor JUNK_HANDLE = {0xdeadbeefcafef00dull}; /* what out-pointers hold before a call */

/* ---- assertions ------------------------------------------------------------------------------------------------- */

/* Named in failure messages (Check reports only the loop index). */
static const char *current_case = "";

#define EXPECT(f, call, want, func) expect_result((f)->ctx, (call), (want), (func), #call)
#define EXPECT_NO_CTX(call, want) expect_no_ctx((call), (want), #call)

static void expect_result(const vkattn_context *ctx, vkattn_result got, vkattn_result want, const char *func,
                          const char *call)
{
    const char *msg = vkattn_context_last_error(ctx);
    ck_assert_msg(got == want, "%s: %s returned %s, expected %s (last error: \"%s\")", current_case, call,
                  vkattn_result_name(got), vkattn_result_name(want), msg);
    ck_assert_msg(strstr(msg, func) != NULL, "%s: %s: the last error does not name %s: \"%s\"", current_case, call,
                  func, msg);
}

/* With no context there is no message to check; the call must just fail cleanly. */
static void expect_no_ctx(vkattn_result got, vkattn_result want, const char *call)
{
    ck_assert_msg(got == want, "%s: %s returned %s, expected %s", current_case, call, vkattn_result_name(got),
                  vkattn_result_name(want));
}

static void expect_zero_handle(vkattn_tensor t)
{
    ck_assert_msg(t.id == 0, "the out handle was not cleared (0x%016llx)", (unsigned long long)t.id);
}

static void expect_values(vkattn_context *ctx, vkattn_tensor t, const float *want, size_t n)
{
    float got[16];
    ck_assert_uint_le(n, 16);
    vkt_read_f32(ctx, t, got, n);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(got[k] == want[k], "element %zu is %g, expected %g", k, (double)got[k], (double)want[k]);
}

/* ---- fixture ------------------------------------------------------------------------------------------------------ */

static vkattn_tensor view_of(vkattn_context *ctx, vkattn_tensor base, uint32_t ndim, const int64_t *shape,
                             const int64_t *strides, int64_t offset)
{
    vkattn_tensor_desc d = {0};
    vkattn_tensor_get_desc(ctx, base, &d);
    d.ndim = ndim;
    for (uint32_t k = 0; k < VKATTN_MAX_DIMS; k++) {
        d.shape[k] = k < ndim ? shape[k] : 0;
        d.strides[k] = (strides && k < ndim) ? strides[k] : 0;
    }
    vkattn_tensor v = JUNK_HANDLE;
    vkattn_result r = vkattn_tensor_view(ctx, base, &d, offset, &v);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_view: %s", vkattn_context_last_error(ctx));
    return v;
}

static bool fixture_init(fixture *f, vkattn_backend b)
{
    memset(f, 0, sizeof *f);
    f->ctx = vkt_context(b);
    if (!f->ctx)
        return false;
    /* The other context is a CPU one where that backend is enabled (cheap), else one more of the same backend. */
    vkattn_backend other = vkt_backend_enabled(VKATTN_BACKEND_CPU) ? VKATTN_BACKEND_CPU : b;
    f->other = vkt_context(other);
    ck_assert_ptr_nonnull(f->other);
    f->a = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    f->b = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    f->c = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_3x2);
    f->h = vkt_tensor(f->ctx, VKATTN_F16, 2, SHAPE_2x3);
    f->i = vkt_tensor(f->ctx, VKATTN_I32, 2, SHAPE_2x3);
    f->dead = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    vkattn_tensor_destroy(f->ctx, f->dead);
    f->foreign = vkt_tensor(f->other, VKATTN_F32, 2, SHAPE_2x3);
    vkt_write_f32(f->ctx, f->a, A_VALUES, 6);
    vkt_write_f32(f->ctx, f->b, A_VALUES, 6);
    vkt_write_f32(f->ctx, f->c, A_VALUES, 6);
    vkt_write_f16_from_f32(f->ctx, f->h, A_VALUES, 6);
    const int32_t ints[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(vkattn_tensor_write(f->ctx, f->i, ints, sizeof ints), VKATTN_OK);
    vkt_write_f32(f->other, f->foreign, A_VALUES, 6);
    return true;
}

/* After the bad call the context must still do real work: softmax of a into b, checked against the formula. */
static void check_still_works(fixture *f)
{
    ck_assert_int_eq(vkattn_softmax(f->ctx, NULL, NULL, f->a, f->b), VKATTN_OK);
    float got[6];
    vkt_read_f32(f->ctx, f->b, got, 6);
    for (int row = 0; row < 2; row++) {
        double m = -INFINITY, sum = 0.0;
        for (int j = 0; j < 3; j++)
            m = fmax(m, A_VALUES[row * 3 + j]);
        for (int j = 0; j < 3; j++)
            sum += exp(A_VALUES[row * 3 + j] - m);
        for (int j = 0; j < 3; j++) {
            double want = exp(A_VALUES[row * 3 + j] - m) / sum;
            ck_assert_msg(fabs(got[row * 3 + j] - want) <= 1e-5 * want, "softmax after the error: %g vs %g",
                          (double)got[row * 3 + j], want);
        }
    }
    expect_values(f->other, f->foreign, A_VALUES, 6);
}

static void fixture_done(fixture *f)
{
    vkt_context_destroy(f->other);
    vkt_context_destroy(f->ctx);
}

/* ---- context and devices ---------------------------------------------------------------------------------------- */

static void expect_create_fails(const vkattn_context_desc *d, vkattn_result want)
{
    vkattn_context *ctx = (vkattn_context *)&ctx;
    vkattn_result r = vkattn_context_create(d, &ctx);
    expect_result(NULL, r, want, "vkattn_context_create", "vkattn_context_create(bad desc)");
    ck_assert_ptr_null(ctx);
}

static void case_context_create_null_out(fixture *f)
{
    (void)f;
    expect_result(NULL, vkattn_context_create(NULL, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_context_create",
                  "vkattn_context_create(NULL, NULL)");
}

static void case_context_create_bad_backend(fixture *f)
{
    (void)f;
    vkattn_context_desc d = {.backend = (vkattn_backend)3, .flags = VKATTN_CONTEXT_NO_PIPELINE_CACHE};
    expect_create_fails(&d, VKATTN_ERROR_INVALID_ARGUMENT);
    d.backend = (vkattn_backend)-1;
    expect_create_fails(&d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_context_create_bad_flags(fixture *f)
{
    (void)f;
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU, .flags = 1u << 20};
    expect_create_fails(&d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_context_create_bad_log_level(fixture *f)
{
    (void)f;
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU, .log_level = (vkattn_log_level)5};
    expect_create_fails(&d, VKATTN_ERROR_INVALID_ARGUMENT);
    d.log_level = (vkattn_log_level)-1;
    expect_create_fails(&d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_context_device_info_null(fixture *f)
{
    vkattn_device_info info;
    EXPECT_NO_CTX(vkattn_context_device_info(NULL, &info), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_context_device_info(f->ctx, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_context_device_info");
}

static void case_context_stats_null(fixture *f)
{
    vkattn_context_stats stats;
    EXPECT_NO_CTX(vkattn_context_stats_get(NULL, &stats), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_context_stats_get(f->ctx, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_context_stats_get");
}

static void case_context_null_misc(fixture *f)
{
    (void)f;
    EXPECT_NO_CTX(vkattn_context_wait_idle(NULL, 0), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(vkattn_context_last_error(NULL));
    vkattn_context_backend(NULL);
    vkattn_context_destroy(NULL);
}

static void case_enumerate_bad(fixture *f)
{
    (void)f;
    uint32_t count = 5;
    expect_result(NULL, vkattn_enumerate_devices(NULL, 0, NULL), VKATTN_ERROR_INVALID_ARGUMENT,
                  "vkattn_enumerate_devices", "vkattn_enumerate_devices(NULL, 0, NULL)");
    expect_result(NULL, vkattn_enumerate_devices(NULL, 2, &count), VKATTN_ERROR_INVALID_ARGUMENT,
                  "vkattn_enumerate_devices", "vkattn_enumerate_devices(NULL, 2, &count)");
    ck_assert_uint_eq(count, 0);
}

/* ---- tensor_create ---------------------------------------------------------------------------------------------- */

static void expect_create(fixture *f, const vkattn_tensor_desc *d, vkattn_result want)
{
    vkattn_tensor t = JUNK_HANDLE;
    EXPECT(f, vkattn_tensor_create(f->ctx, d, &t), want, "vkattn_tensor_create");
    expect_zero_handle(t);
}

static void case_tensor_create_null(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 1, .shape = {4}};
    vkattn_tensor t = JUNK_HANDLE;
    EXPECT_NO_CTX(vkattn_tensor_create(NULL, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT);
    expect_zero_handle(t);
    expect_create(f, NULL, VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_tensor_create(f->ctx, &d, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_create");
}

static void case_tensor_create_bad_dtype(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = (vkattn_dtype)3, .ndim = 1, .shape = {4}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
    d.dtype = (vkattn_dtype)-1;
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_create_bad_ndim(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 0, .shape = {4, 4, 4, 4}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
    d.ndim = 5;
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_create_zero_dim(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 3, .shape = {2, 0, 3}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F16, .ndim = 4, .shape = {2, 3, 4, 0}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_create_negative_dim(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {-2, 3}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
    d.shape[0] = INT64_MIN;
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_create_strides(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 3}, .strides = {3, 1}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 3}, .strides = {0, 2}};
    expect_create(f, &d, VKATTN_ERROR_INVALID_ARGUMENT);
}

/* Element count 2^120, and element count 2^62 (fits int64) whose byte count 2^64 does not fit. */
static void case_tensor_create_overflow(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 4, .shape = {1ll << 40, 1ll << 40, 1ll << 40, 1}};
    expect_create(f, &d, VKATTN_ERROR_OVERFLOW);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {1ll << 31, 1ll << 31}};
    expect_create(f, &d, VKATTN_ERROR_OVERFLOW);
    d = (vkattn_tensor_desc){.dtype = VKATTN_I32, .ndim = 1, .shape = {INT64_MAX}};
    expect_create(f, &d, VKATTN_ERROR_OVERFLOW);
}

/* 2^62 bytes: representable, but no machine has it. */
static void case_tensor_create_too_big(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {1ll << 30, 1ll << 30}};
    vkattn_result want = vkattn_context_backend(f->ctx) == VKATTN_BACKEND_CPU ? VKATTN_ERROR_OUT_OF_HOST_MEMORY
                                                                              : VKATTN_ERROR_OUT_OF_DEVICE_MEMORY;
    expect_create(f, &d, want);
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(f->ctx, &s), VKATTN_OK);
    ck_assert_uint_eq(s.tensors_alive, 5); /* the fixture's a, b, c, h, i */
    ck_assert_uint_eq(s.bytes_allocated, 6 * (4 + 4 + 4 + 2 + 4));
}

/* ---- tensor_view -------------------------------------------------------------------------------------------------- */

static void expect_view(fixture *f, vkattn_tensor base, const vkattn_tensor_desc *d, int64_t offset,
                        vkattn_result want)
{
    vkattn_tensor v = JUNK_HANDLE;
    EXPECT(f, vkattn_tensor_view(f->ctx, base, d, offset, &v), want, "vkattn_tensor_view");
    expect_zero_handle(v);
}

static const vkattn_tensor_desc ROW_VIEW = {.dtype = VKATTN_F32, .ndim = 1, .shape = {3}};

static void case_tensor_view_null(fixture *f)
{
    vkattn_tensor v = JUNK_HANDLE;
    EXPECT_NO_CTX(vkattn_tensor_view(NULL, f->a, &ROW_VIEW, 0, &v), VKATTN_ERROR_INVALID_ARGUMENT);
    expect_zero_handle(v);
    expect_view(f, f->a, NULL, 0, VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_tensor_view(f->ctx, f->a, &ROW_VIEW, 0, NULL), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_tensor_view");
}

static void case_tensor_view_bad_base(fixture *f)
{
    expect_view(f, ZERO_HANDLE, &ROW_VIEW, 0, VKATTN_ERROR_INVALID_HANDLE);
    expect_view(f, f->dead, &ROW_VIEW, 0, VKATTN_ERROR_INVALID_HANDLE);
    expect_view(f, f->foreign, &ROW_VIEW, 0, VKATTN_ERROR_INVALID_HANDLE);
    expect_view(f, JUNK_HANDLE, &ROW_VIEW, 0, VKATTN_ERROR_INVALID_HANDLE);
}

static void case_tensor_view_dtype(fixture *f)
{
    vkattn_tensor_desc d = ROW_VIEW;
    d.dtype = VKATTN_F16;
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_DTYPE_MISMATCH);
    d.dtype = VKATTN_I32; /* same size as f32, still a different dtype */
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_DTYPE_MISMATCH);
    d.dtype = (vkattn_dtype)7;
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_view_bad_dims(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 0, .shape = {1}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 5, .shape = {1, 1, 1, 1}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {0, 3}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {2, -3}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_view_negative_offset(fixture *f)
{
    expect_view(f, f->a, &ROW_VIEW, -1, VKATTN_ERROR_INVALID_ARGUMENT);
    expect_view(f, f->a, &ROW_VIEW, INT64_MIN, VKATTN_ERROR_INVALID_ARGUMENT);
}

/* The base has 6 elements: every view below reaches element 6 or beyond. */
static void case_tensor_view_out_of_bounds(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 1, .shape = {7}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_SHAPE_MISMATCH);
    expect_view(f, f->a, &ROW_VIEW, 4, VKATTN_ERROR_SHAPE_MISMATCH);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 1, .shape = {1}};
    expect_view(f, f->a, &d, 6, VKATTN_ERROR_SHAPE_MISMATCH);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 3}, .strides = {4, 1}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_SHAPE_MISMATCH);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {3, 2}, .strides = {1, 3}};
    expect_view(f, f->a, &d, 1, VKATTN_ERROR_SHAPE_MISMATCH);
    /* a view of a view is bounded by the storage, counted from the base's first element */
    vkattn_tensor row1 = view_of(f->ctx, f->a, 1, (const int64_t[]){3}, NULL, 3);
    expect_view(f, row1, &ROW_VIEW, 1, VKATTN_ERROR_SHAPE_MISMATCH);
    vkattn_tensor_destroy(f->ctx, row1);
}

static void case_tensor_view_bad_strides(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 3}, .strides = {3, 0}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_INVALID_ARGUMENT);
    d.strides[1] = -1;
    expect_view(f, f->a, &d, 2, VKATTN_ERROR_INVALID_ARGUMENT);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 3}, .strides = {-3, 1}};
    expect_view(f, f->a, &d, 3, VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_tensor_view_overflow(fixture *f)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 4, .shape = {1ll << 40, 1ll << 40, 1ll << 40, 1}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_OVERFLOW);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 1, .shape = {4}, .strides = {INT64_MAX}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_OVERFLOW); /* 3 * (2^63 - 1) overflows even 64 unsigned bits */
}

/* ---- tensor_destroy, get_desc, numel, dtype queries ------------------------------------------------------------ */

/* Destroying the zero handle, a stale handle (whose slot a new tensor now uses) or another context's handle
 * changes nothing. */
static void case_tensor_destroy_stale(fixture *f)
{
    vkattn_tensor old = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    vkattn_tensor_destroy(f->ctx, old);
    vkattn_tensor fresh = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    vkt_write_f32(f->ctx, fresh, A_VALUES, 6);
    vkattn_tensor_destroy(f->ctx, old);
    vkattn_tensor_destroy(f->ctx, f->dead);
    vkattn_tensor_destroy(f->ctx, ZERO_HANDLE);
    vkattn_tensor_destroy(f->ctx, JUNK_HANDLE);
    vkattn_tensor_destroy(f->ctx, f->foreign);
    vkattn_tensor_destroy(NULL, f->a);
    expect_values(f->ctx, fresh, A_VALUES, 6);
    expect_values(f->ctx, f->a, A_VALUES, 6);
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(f->ctx, &s), VKATTN_OK);
    ck_assert_uint_eq(s.tensors_alive, 6);
    vkattn_tensor_destroy(f->ctx, fresh);
}

static void case_tensor_get_desc_bad(fixture *f)
{
    vkattn_tensor_desc d;
    memset(&d, 0x5a, sizeof d);
    EXPECT_NO_CTX(vkattn_tensor_get_desc(NULL, f->a, &d), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_tensor_get_desc(f->ctx, f->a, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_get_desc");
    const vkattn_tensor bad[3] = {ZERO_HANDLE, f->dead, f->foreign};
    for (int k = 0; k < 3; k++) {
        memset(&d, 0x5a, sizeof d);
        EXPECT(f, vkattn_tensor_get_desc(f->ctx, bad[k], &d), VKATTN_ERROR_INVALID_HANDLE, "vkattn_tensor_get_desc");
        ck_assert_uint_eq(d.ndim, 0);
    }
}

static void case_tensor_numel_bad(fixture *f)
{
    uint64_t n = 77;
    EXPECT_NO_CTX(vkattn_tensor_numel(NULL, f->a, &n), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_tensor_numel(f->ctx, f->a, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_numel");
    const vkattn_tensor bad[3] = {ZERO_HANDLE, f->dead, f->foreign};
    for (int k = 0; k < 3; k++) {
        n = 77;
        EXPECT(f, vkattn_tensor_numel(f->ctx, bad[k], &n), VKATTN_ERROR_INVALID_HANDLE, "vkattn_tensor_numel");
        ck_assert_uint_eq(n, 0);
    }
}

static void case_dtype_unknown(fixture *f)
{
    (void)f;
    ck_assert_uint_eq(vkattn_dtype_size((vkattn_dtype)3), 0);
    ck_assert_uint_eq(vkattn_dtype_size((vkattn_dtype)-1), 0);
    ck_assert_str_eq(vkattn_dtype_name((vkattn_dtype)3), "?");
    ck_assert_str_eq(vkattn_dtype_name((vkattn_dtype)-1), "?");
}

/* ---- tensor_write / tensor_read ---------------------------------------------------------------------------------- */

/* Byte counts that are not numel * 4 for a 6-element f32 tensor; a failed write leaves the tensor as it was. */
static const size_t WRONG_BYTES[] = {0, 4, 23, 25, 28, 48, SIZE_MAX};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static void case_tensor_write_bad_size(fixture *f)
{
    const float junk[12] = {99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};
    for (size_t k = 0; k < COUNT_OF(WRONG_BYTES); k++)
        EXPECT(f, vkattn_tensor_write(f->ctx, f->a, junk, WRONG_BYTES[k]), VKATTN_ERROR_INVALID_ARGUMENT,
               "vkattn_tensor_write");
    const uint16_t halves[6] = {0};
    EXPECT(f, vkattn_tensor_write(f->ctx, f->h, halves, 6 * 4), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_tensor_write");
    expect_values(f->ctx, f->a, A_VALUES, 6);
}

static void case_tensor_read_bad_size(fixture *f)
{
    float out[12];
    for (size_t k = 0; k < COUNT_OF(WRONG_BYTES); k++)
        EXPECT(f, vkattn_tensor_read(f->ctx, f->a, out, WRONG_BYTES[k]), VKATTN_ERROR_INVALID_ARGUMENT,
               "vkattn_tensor_read");
    EXPECT(f, vkattn_tensor_read(f->ctx, f->h, out, 6 * 4), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_tensor_read");
}

static void case_tensor_io_null(fixture *f)
{
    float buf[6] = {0};
    EXPECT_NO_CTX(vkattn_tensor_write(NULL, f->a, buf, sizeof buf), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT_NO_CTX(vkattn_tensor_read(NULL, f->a, buf, sizeof buf), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_tensor_write(f->ctx, f->a, NULL, sizeof buf), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_tensor_write");
    EXPECT(f, vkattn_tensor_read(f->ctx, f->a, NULL, sizeof buf), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_tensor_read");
    expect_values(f->ctx, f->a, A_VALUES, 6);
}

static void case_tensor_io_bad_handle(fixture *f)
{
    float buf[6] = {0};
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++) {
        EXPECT(f, vkattn_tensor_write(f->ctx, bad[k], buf, sizeof buf), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_tensor_write");
        EXPECT(f, vkattn_tensor_read(f->ctx, bad[k], buf, sizeof buf), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_tensor_read");
    }
}

/* ---- copy ------------------------------------------------------------------------------------------------------------ */

static void case_copy_null_ctx(fixture *f)
{
    EXPECT_NO_CTX(vkattn_copy(NULL, NULL, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_copy_bad_handle(fixture *f)
{
    const vkattn_tensor bad[3] = {ZERO_HANDLE, f->dead, f->foreign};
    for (int k = 0; k < 3; k++) {
        EXPECT(f, vkattn_copy(f->ctx, NULL, bad[k], f->b), VKATTN_ERROR_INVALID_HANDLE, "vkattn_copy");
        EXPECT(f, vkattn_copy(f->ctx, NULL, f->a, bad[k]), VKATTN_ERROR_INVALID_HANDLE, "vkattn_copy");
        EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, bad[k], f->b), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_copy_buffer");
        EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, f->a, bad[k]), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_copy_buffer");
    }
}

static void case_copy_i32_to_float(fixture *f)
{
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->i, f->b), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy");
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->i, f->h), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy");
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->a, f->i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy");
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->h, f->i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy");
}

static void case_copy_shape_mismatch(fixture *f)
{
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->a, f->c), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy");
    vkattn_tensor flat = view_of(f->ctx, f->b, 1, (const int64_t[]){6}, NULL, 0);
    EXPECT(f, vkattn_copy(f->ctx, NULL, f->a, flat), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy");
    vkattn_tensor_destroy(f->ctx, flat);
    expect_values(f->ctx, f->b, A_VALUES, 6);
}

/* Views of one storage that share some elements but are not the same view. */
static void case_copy_partial_overlap(fixture *f)
{
    vkattn_tensor first = view_of(f->ctx, f->a, 1, (const int64_t[]){4}, NULL, 0);
    vkattn_tensor shifted = view_of(f->ctx, f->a, 1, (const int64_t[]){4}, NULL, 2);
    EXPECT(f, vkattn_copy(f->ctx, NULL, first, shifted), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy");
    EXPECT(f, vkattn_copy(f->ctx, NULL, shifted, first), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy");
    vkattn_tensor_destroy(f->ctx, first);
    vkattn_tensor_destroy(f->ctx, shifted);
    expect_values(f->ctx, f->a, A_VALUES, 6);
}

/* A destination whose strides send two elements to the same place: [2,3] with strides [1,1]. */
static void case_copy_self_overlapping_dst(fixture *f)
{
    vkattn_tensor src = vkt_tensor(f->ctx, VKATTN_F32, 2, SHAPE_2x3);
    vkt_write_f32(f->ctx, src, A_VALUES, 6);
    vkattn_tensor dst = view_of(f->ctx, f->b, 2, SHAPE_2x3, (const int64_t[]){1, 1}, 0);
    EXPECT(f, vkattn_copy(f->ctx, NULL, src, dst), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy");
    vkattn_tensor_destroy(f->ctx, dst);
    vkattn_tensor_destroy(f->ctx, src);
}

/* ---- softmax ------------------------------------------------------------------------------------------------------- */

static void case_softmax_null_ctx(fixture *f)
{
    EXPECT_NO_CTX(vkattn_softmax(NULL, NULL, NULL, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT);
}

static void case_softmax_bad_handle(fixture *f)
{
    const vkattn_tensor bad[3] = {ZERO_HANDLE, f->dead, f->foreign};
    for (int k = 0; k < 3; k++) {
        EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, bad[k], f->b), VKATTN_ERROR_INVALID_HANDLE, "vkattn_softmax");
        EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->a, bad[k]), VKATTN_ERROR_INVALID_HANDLE, "vkattn_softmax");
    }
}

static void case_softmax_shape_mismatch(fixture *f)
{
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->a, f->c), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_softmax");
    vkattn_tensor flat = view_of(f->ctx, f->b, 1, (const int64_t[]){6}, NULL, 0);
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->a, flat), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_softmax");
    vkattn_tensor_destroy(f->ctx, flat);
}

static void case_softmax_dtype(fixture *f)
{
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->a, f->h), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_softmax");
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->h, f->a), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_softmax");
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->i, f->a), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_softmax");
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->i, f->i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_softmax");
    vkattn_tensor j = vkt_tensor(f->ctx, VKATTN_I32, 2, SHAPE_2x3);
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, f->i, j), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_softmax");
    vkattn_tensor_destroy(f->ctx, j);
}

static void case_softmax_bad_scale(fixture *f)
{
    const float scales[3] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        vkattn_softmax_desc d = {.scale = scales[k]};
        EXPECT(f, vkattn_softmax(f->ctx, NULL, &d, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_softmax");
    }
    expect_values(f->ctx, f->b, A_VALUES, 6);
}

static void case_softmax_partial_overlap(fixture *f)
{
    vkattn_tensor x = view_of(f->ctx, f->a, 2, (const int64_t[]){2, 2}, NULL, 0);
    vkattn_tensor y = view_of(f->ctx, f->a, 2, (const int64_t[]){2, 2}, NULL, 1);
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, x, y), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_softmax");
    /* same elements, different views (transposed): also a partial overlap, not "in place" */
    vkattn_tensor t = view_of(f->ctx, f->a, 2, (const int64_t[]){2, 2}, (const int64_t[]){1, 2}, 0);
    EXPECT(f, vkattn_softmax(f->ctx, NULL, NULL, x, t), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_softmax");
    vkattn_tensor_destroy(f->ctx, x);
    vkattn_tensor_destroy(f->ctx, y);
    vkattn_tensor_destroy(f->ctx, t);
    expect_values(f->ctx, f->a, A_VALUES, 6);
}

/* ---- command lists ------------------------------------------------------------------------------------------------ */

static vkattn_cmd *new_cmd(vkattn_context *ctx, uint32_t flags)
{
    vkattn_cmd_desc d = {.flags = flags};
    vkattn_cmd *cmd = NULL;
    vkattn_result r = vkattn_cmd_create(ctx, &d, &cmd);
    ck_assert_msg(r == VKATTN_OK, "vkattn_cmd_create: %s", vkattn_context_last_error(ctx));
    return cmd;
}

static void case_cmd_create_bad(fixture *f)
{
    vkattn_cmd *cmd = (vkattn_cmd *)&cmd;
    EXPECT_NO_CTX(vkattn_cmd_create(NULL, NULL, &cmd), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(cmd);
    EXPECT(f, vkattn_cmd_create(f->ctx, NULL, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_create");
    vkattn_cmd_desc d = {.flags = 1u << 9};
    cmd = (vkattn_cmd *)&cmd;
    EXPECT(f, vkattn_cmd_create(f->ctx, &d, &cmd), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_create");
    ck_assert_ptr_null(cmd);
}

static void case_cmd_null(fixture *f)
{
    (void)f;
    uint32_t count = 3;
    vkattn_op_timing t[1];
    EXPECT_NO_CTX(vkattn_cmd_submit(NULL), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT_NO_CTX(vkattn_cmd_wait(NULL, 0), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT_NO_CTX(vkattn_cmd_reset(NULL), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT_NO_CTX(vkattn_cmd_timings(NULL, t, 1, &count), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(vkattn_cmd_op_count(NULL), 0);
    vkattn_cmd_destroy(NULL);
}

static void case_cmd_submit_twice(fixture *f)
{
    vkattn_cmd *cmd = new_cmd(f->ctx, 0);
    ck_assert_int_eq(vkattn_copy(f->ctx, cmd, f->a, f->b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    EXPECT(f, vkattn_cmd_submit(cmd), VKATTN_ERROR_BAD_STATE, "vkattn_cmd_submit");
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    EXPECT(f, vkattn_cmd_submit(cmd), VKATTN_ERROR_BAD_STATE, "vkattn_cmd_submit");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 1);
    vkattn_cmd_destroy(cmd);
}

static void case_cmd_wait_unsubmitted(fixture *f)
{
    vkattn_cmd *cmd = new_cmd(f->ctx, 0);
    EXPECT(f, vkattn_cmd_wait(cmd, 0), VKATTN_ERROR_BAD_STATE, "vkattn_cmd_wait");
    ck_assert_int_eq(vkattn_copy(f->ctx, cmd, f->a, f->b), VKATTN_OK);
    EXPECT(f, vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_ERROR_BAD_STATE, "vkattn_cmd_wait");
    vkattn_cmd_destroy(cmd);
}

/* A pending list cannot be reset or recorded into; it stays pending and completes normally. */
static void case_cmd_pending_misuse(fixture *f)
{
    vkattn_cmd *cmd = new_cmd(f->ctx, 0);
    ck_assert_int_eq(vkattn_copy(f->ctx, cmd, f->a, f->c), VKATTN_ERROR_SHAPE_MISMATCH);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0); /* a rejected op is not recorded */
    ck_assert_int_eq(vkattn_softmax(f->ctx, cmd, NULL, f->a, f->b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    EXPECT(f, vkattn_cmd_reset(cmd), VKATTN_ERROR_BAD_STATE, "vkattn_cmd_reset");
    EXPECT(f, vkattn_copy(f->ctx, cmd, f->a, f->b), VKATTN_ERROR_BAD_STATE, "vkattn_copy");
    EXPECT(f, vkattn_softmax(f->ctx, cmd, NULL, f->b, f->b), VKATTN_ERROR_BAD_STATE, "vkattn_softmax");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 1);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_reset(cmd), VKATTN_OK);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    vkattn_cmd_destroy(cmd);
}

static void case_cmd_of_other_context(fixture *f)
{
    vkattn_cmd *cmd = new_cmd(f->other, 0);
    EXPECT(f, vkattn_copy(f->ctx, cmd, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_copy");
    EXPECT(f, vkattn_softmax(f->ctx, cmd, NULL, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_softmax");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    vkattn_cmd_destroy(cmd);
}

static void case_cmd_timings_bad(fixture *f)
{
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(f->ctx, &info), VKATTN_OK);
    vkattn_result not_ready = info.timestamps ? VKATTN_ERROR_NOT_READY : VKATTN_ERROR_UNSUPPORTED;
    vkattn_op_timing t[2];
    uint32_t count = 9;

    vkattn_cmd *timed = new_cmd(f->ctx, VKATTN_CMD_TIMESTAMPS);
    ck_assert_int_eq(vkattn_copy(f->ctx, timed, f->a, f->b), VKATTN_OK);
    EXPECT(f, vkattn_cmd_timings(timed, t, 2, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_timings");
    EXPECT(f, vkattn_cmd_timings(timed, NULL, 2, &count), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_timings");
    ck_assert_uint_eq(count, 0);
    count = 9;
    EXPECT(f, vkattn_cmd_timings(timed, t, 2, &count), not_ready, "vkattn_cmd_timings"); /* recording */
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(vkattn_cmd_submit(timed), VKATTN_OK);
    EXPECT(f, vkattn_cmd_timings(timed, t, 2, &count), not_ready, "vkattn_cmd_timings"); /* pending */
    ck_assert_int_eq(vkattn_cmd_wait(timed, UINT64_MAX), VKATTN_OK);
    vkattn_cmd_destroy(timed);

    vkattn_cmd *plain = new_cmd(f->ctx, 0);
    ck_assert_int_eq(vkattn_copy(f->ctx, plain, f->a, f->b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(plain), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(plain, UINT64_MAX), VKATTN_OK);
    count = 9;
    EXPECT(f, vkattn_cmd_timings(plain, t, 2, &count), VKATTN_ERROR_UNSUPPORTED, "vkattn_cmd_timings");
    ck_assert_uint_eq(count, 0);
    vkattn_cmd_destroy(plain);
}

/* ---- the table ------------------------------------------------------------------------------------------------------ */

typedef struct error_case {
    const char *name;
    void (*run)(fixture *f);
} error_case;

#define CASE(fn) {#fn, fn}
static const error_case cases[] = {
    CASE(case_context_create_null_out),
    CASE(case_context_create_bad_backend),
    CASE(case_context_create_bad_flags),
    CASE(case_context_create_bad_log_level),
    CASE(case_context_device_info_null),
    CASE(case_context_stats_null),
    CASE(case_context_null_misc),
    CASE(case_enumerate_bad),
    CASE(case_tensor_create_null),
    CASE(case_tensor_create_bad_dtype),
    CASE(case_tensor_create_bad_ndim),
    CASE(case_tensor_create_zero_dim),
    CASE(case_tensor_create_negative_dim),
    CASE(case_tensor_create_strides),
    CASE(case_tensor_create_overflow),
    CASE(case_tensor_create_too_big),
    CASE(case_tensor_view_null),
    CASE(case_tensor_view_bad_base),
    CASE(case_tensor_view_dtype),
    CASE(case_tensor_view_bad_dims),
    CASE(case_tensor_view_negative_offset),
    CASE(case_tensor_view_out_of_bounds),
    CASE(case_tensor_view_bad_strides),
    CASE(case_tensor_view_overflow),
    CASE(case_tensor_destroy_stale),
    CASE(case_tensor_get_desc_bad),
    CASE(case_tensor_numel_bad),
    CASE(case_dtype_unknown),
    CASE(case_tensor_write_bad_size),
    CASE(case_tensor_read_bad_size),
    CASE(case_tensor_io_null),
    CASE(case_tensor_io_bad_handle),
    CASE(case_copy_null_ctx),
    CASE(case_copy_bad_handle),
    CASE(case_copy_i32_to_float),
    CASE(case_copy_shape_mismatch),
    CASE(case_copy_partial_overlap),
    CASE(case_copy_self_overlapping_dst),
    CASE(case_softmax_null_ctx),
    CASE(case_softmax_bad_handle),
    CASE(case_softmax_shape_mismatch),
    CASE(case_softmax_dtype),
    CASE(case_softmax_bad_scale),
    CASE(case_softmax_partial_overlap),
    CASE(case_cmd_create_bad),
    CASE(case_cmd_null),
    CASE(case_cmd_submit_twice),
    CASE(case_cmd_wait_unsubmitted),
    CASE(case_cmd_pending_misuse),
    CASE(case_cmd_of_other_context),
    CASE(case_cmd_timings_bad),
};
#undef CASE
#define CASE_COUNT ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_error_case)
{
    const error_case *c = &cases[_i / VKT_BACKEND_COUNT];
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    fixture f;
    if (!fixture_init(&f, b))
        return;
    current_case = c->name;
    c->run(&f);
    check_still_works(&f);
    fixture_done(&f);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("bad calls");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_error_case, 0, CASE_COUNT * VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(errors_suite());
}
