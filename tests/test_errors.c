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

/* ---- assertions -------------------------------------------------------------------------------------------------- */

/* Named in failure messages (Check reports only the loop index). */
static const char *current_case = "";

#define EXPECT(f, call, want, func) expect_result((f)->ctx, (call), (want), (func), #call)
#define EXPECT_CTX(ctx, call, want, func) expect_result((ctx), (call), (want), (func), #call)
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

/* ---- fixture ----------------------------------------------------------------------------------------------------- */

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

/* ---- context and devices ----------------------------------------------------------------------------------------- */

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

/* ---- tensor_create ----------------------------------------------------------------------------------------------- */

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

/* ---- tensor_view ------------------------------------------------------------------------------------------------- */

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
    /* the last element fits in 64 unsigned bits but not in int64: INT64_MAX + 5, and 2 * 2^62 */
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 1, .shape = {2}, .strides = {INT64_MAX}};
    expect_view(f, f->a, &d, 5, VKATTN_ERROR_OVERFLOW);
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {3, 2}, .strides = {1ll << 62, 1}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_OVERFLOW);
    /* contiguous: 2^32 * 2^32 elements is 2^64 */
    d = (vkattn_tensor_desc){.dtype = VKATTN_F32, .ndim = 2, .shape = {1ll << 32, 1ll << 32}};
    expect_view(f, f->a, &d, 0, VKATTN_ERROR_OVERFLOW);
}

/* ---- tensor_destroy, get_desc, numel, dtype queries -------------------------------------------------------------- */

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

/* ---- copy -------------------------------------------------------------------------------------------------------- */

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

/* ---- softmax ----------------------------------------------------------------------------------------------------- */

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

/* ---- command lists ----------------------------------------------------------------------------------------------- */

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

/* ---- op front ends: shared helpers ------------------------------------------------------------------------------- */

#define MAX_CHECKED 128
#define SENTINEL 7.0f

static size_t numel_of(uint32_t ndim, const int64_t *shape)
{
    size_t n = 1;
    for (uint32_t k = 0; k < ndim; k++)
        n *= (size_t)shape[k];
    return n;
}

/* An f32 tensor with every element `value`. */
static vkattn_tensor filled(vkattn_context *ctx, uint32_t ndim, const int64_t *shape, float value)
{
    size_t n = numel_of(ndim, shape);
    ck_assert_uint_le(n, MAX_CHECKED);
    float v[MAX_CHECKED];
    for (size_t k = 0; k < n; k++)
        v[k] = value;
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_F32, ndim, shape);
    vkt_write_f32(ctx, t, v, n);
    return t;
}

/* A rejected op leaves its output as it was. */
static void expect_filled(vkattn_context *ctx, vkattn_tensor t, float value)
{
    uint64_t n = 0;
    ck_assert_int_eq(vkattn_tensor_numel(ctx, t, &n), VKATTN_OK);
    ck_assert_uint_le(n, MAX_CHECKED);
    float got[MAX_CHECKED];
    vkt_read_f32(ctx, t, got, (size_t)n);
    for (uint64_t k = 0; k < n; k++)
        ck_assert_msg(got[k] == value, "%s: element %llu of the output is %g, expected it untouched (%g)",
                      current_case, (unsigned long long)k, (double)got[k], (double)value);
}

static vkattn_result oom_code(const vkattn_context *ctx)
{
    return vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU ? VKATTN_ERROR_OUT_OF_HOST_MEMORY
                                                             : VKATTN_ERROR_OUT_OF_DEVICE_MEMORY;
}

static const double BAD_DOUBLES[3] = {NAN, INFINITY, -INFINITY};
static const float BAD_FLOATS[3] = {NAN, INFINITY, -INFINITY};

/* ---- rope, rope_frequencies -------------------------------------------------------------------------------------- */

static const int64_t ROPE_SHAPE[3] = {3, 2, 4}; /* [seq, heads, head_dim] */

typedef struct xy {
    vkattn_tensor x, y;
} xy;

static xy xy_make(fixture *f, uint32_t ndim, const int64_t *shape)
{
    return (xy){filled(f->ctx, ndim, shape, 1.5f), filled(f->ctx, ndim, shape, SENTINEL)};
}

static void xy_done(fixture *f, xy *t)
{
    expect_filled(f->ctx, t->y, SENTINEL);
    vkattn_tensor_destroy(f->ctx, t->x);
    vkattn_tensor_destroy(f->ctx, t->y);
}

/* The desc is refused by vkattn_rope on a [3, 2, 4] tensor and by vkattn_rope_frequencies for head_dim 4. */
static void expect_rope_desc(fixture *f, const xy *t, const vkattn_rope_desc *d)
{
    EXPECT(f, vkattn_rope(f->ctx, NULL, d, t->x, ZERO_HANDLE, t->y), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_rope");
    double freq[8], factor = -1.0;
    expect_result(NULL, vkattn_rope_frequencies(d, 4, freq, 8, &factor), VKATTN_ERROR_INVALID_ARGUMENT,
                  "vkattn_rope_frequencies", "vkattn_rope_frequencies(bad desc)");
    ck_assert(factor == -1.0); /* not written on failure */
}

static void case_rope_null_ctx(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    EXPECT_NO_CTX(vkattn_rope(NULL, NULL, NULL, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_ARGUMENT);
    xy_done(f, &t);
}

static void case_rope_bad_handle(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++) {
        EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, bad[k], ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_rope");
        EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, bad[k]), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_rope");
        if (k > 0) /* the zero handle means "no positions" */
            EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, bad[k], t.y), VKATTN_ERROR_INVALID_HANDLE, "vkattn_rope");
    }
    xy_done(f, &t);
}

static void case_rope_shape(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    /* 2 dims; x and y of different shapes; positions of the wrong length or with 3 dims */
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, f->a, ZERO_HANDLE, f->b), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_rope");
    vkattn_tensor y2 = filled(f->ctx, 3, (const int64_t[]){3, 2, 2}, SENTINEL);
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, y2), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_rope");
    vkattn_tensor pos4 = vkt_tensor(f->ctx, VKATTN_I32, 1, (const int64_t[]){4});
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, pos4, t.y), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_rope");
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, f->i, t.y), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_rope");
    expect_filled(f->ctx, y2, SENTINEL);
    vkattn_tensor_destroy(f->ctx, y2);
    vkattn_tensor_destroy(f->ctx, pos4);
    xy_done(f, &t);
}

static void case_rope_dtype(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    vkattn_tensor h = vkt_tensor(f->ctx, VKATTN_F16, 3, ROPE_SHAPE);
    vkattn_tensor i = vkt_tensor(f->ctx, VKATTN_I32, 3, ROPE_SHAPE);
    vkattn_tensor fpos = vkt_tensor(f->ctx, VKATTN_F32, 1, (const int64_t[]){3});
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, h), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_rope");
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, h, ZERO_HANDLE, t.y), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_rope");
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, i, ZERO_HANDLE, i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_rope");
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, t.x, fpos, t.y), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_rope");
    vkattn_tensor_destroy(f->ctx, h);
    vkattn_tensor_destroy(f->ctx, i);
    vkattn_tensor_destroy(f->ctx, fpos);
    xy_done(f, &t);
}

/* rot_dims odd, larger than head_dim, or (by default) an odd head_dim; 2D axial with rot_dims not a multiple of 4. */
static void case_rope_rot_dims(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    const uint32_t bad[3] = {3, 1, 6};
    for (int k = 0; k < 3; k++)
        expect_rope_desc(f, &t, &(vkattn_rope_desc){.rot_dims = bad[k]});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.rot_dims = 2, .axes = VKATTN_ROPE_AXES_2D});
    xy odd = xy_make(f, 3, (const int64_t[]){3, 2, 5});
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, odd.x, ZERO_HANDLE, odd.y), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_rope");
    xy_done(f, &odd);
    xy_done(f, &t);
}

/* NaN and +-Inf in every double field, and out-of-range finite values. */
static void case_rope_nonfinite_desc(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    const vkattn_rope_desc yarn = {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 2, .orig_ctx = 16};
    const vkattn_rope_desc llama3 = {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8, .orig_ctx = 16};
    for (int k = 0; k < 3; k++) {
        double v = BAD_DOUBLES[k];
        vkattn_rope_desc d = {.base = v};
        expect_rope_desc(f, &t, &d);
        d = (vkattn_rope_desc){.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = v};
        expect_rope_desc(f, &t, &d);
        d = (vkattn_rope_desc){.factor = v}; /* unused by NONE, still not a number to accept */
        expect_rope_desc(f, &t, &d);
        d = (vkattn_rope_desc){.attn_factor = v};
        expect_rope_desc(f, &t, &d);
        d = yarn;
        d.beta_fast = v;
        expect_rope_desc(f, &t, &d);
        d = yarn;
        d.beta_slow = v;
        expect_rope_desc(f, &t, &d);
        d = yarn;
        d.yarn_mscale = v;
        expect_rope_desc(f, &t, &d);
        d = yarn;
        d.yarn_mscale_all_dim = v;
        expect_rope_desc(f, &t, &d);
        d = llama3;
        d.low_freq_factor = v;
        expect_rope_desc(f, &t, &d);
        d = llama3;
        d.high_freq_factor = v;
        expect_rope_desc(f, &t, &d);
    }
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.base = 0.5});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.base = 1.0});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.attn_factor = -1.0});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = -2.0});
    vkattn_rope_desc d = yarn;
    d.beta_fast = -1.0;
    expect_rope_desc(f, &t, &d);
    d = llama3;
    d.low_freq_factor = 4.0;
    d.high_freq_factor = 2.0; /* must exceed low_freq_factor */
    expect_rope_desc(f, &t, &d);
    xy_done(f, &t);
}

/* Per-frequency arrays (2 entries for rot_dims 4) with one bad entry each. */
static void case_rope_bad_factor_arrays(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    const float good[2] = {1.0f, 2.0f};
    const float bad_values[5] = {NAN, INFINITY, -INFINITY, 0.0f, -1.0f};
    for (int k = 0; k < 5; k++) {
        const float bad[2] = {1.0f, bad_values[k]};
        expect_rope_desc(f, &t, &(vkattn_rope_desc){.freq_factors = bad, .factor_count = 2});
        vkattn_rope_desc d = {.scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = 2, .orig_ctx = 16,
                              .short_factor = bad, .long_factor = good, .factor_count = 2};
        expect_rope_desc(f, &t, &d);
        d.short_factor = good;
        d.long_factor = bad;
        expect_rope_desc(f, &t, &d);
    }
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.freq_factors = good, .factor_count = 3});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.factor_count = 2});
    expect_rope_desc(f, &t, &(vkattn_rope_desc){.short_factor = good, .long_factor = good, .factor_count = 2});
    xy_done(f, &t);
}

static void case_rope_positions_offset(fixture *f)
{
    xy t = xy_make(f, 3, ROPE_SHAPE);
    vkattn_rope_desc d = {.pos_offset = INT32_MAX - 1}; /* positions up to INT32_MAX + 1 */
    EXPECT(f, vkattn_rope(f->ctx, NULL, &d, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_OVERFLOW, "vkattn_rope");
    vkattn_tensor pos = vkt_tensor(f->ctx, VKATTN_I32, 1, (const int64_t[]){3});
    const int32_t p[3] = {0, 1, 2};
    ck_assert_int_eq(vkattn_tensor_write(f->ctx, pos, p, sizeof p), VKATTN_OK);
    d.pos_offset = 1; /* an offset and a positions tensor: one or the other */
    EXPECT(f, vkattn_rope(f->ctx, NULL, &d, t.x, pos, t.y), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_rope");
    vkattn_tensor_destroy(f->ctx, pos);
    xy_done(f, &t);
}

static void case_rope_partial_overlap(fixture *f)
{
    vkattn_tensor base = filled(f->ctx, 1, (const int64_t[]){32}, 1.0f);
    vkattn_tensor x = view_of(f->ctx, base, 3, ROPE_SHAPE, NULL, 0);
    vkattn_tensor y = view_of(f->ctx, base, 3, ROPE_SHAPE, NULL, 4);
    EXPECT(f, vkattn_rope(f->ctx, NULL, NULL, x, ZERO_HANDLE, y), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_rope");
    vkattn_tensor_destroy(f->ctx, x);
    vkattn_tensor_destroy(f->ctx, y);
    expect_filled(f->ctx, base, 1.0f);
    vkattn_tensor_destroy(f->ctx, base);
}

static void case_rope_frequencies_bad_args(fixture *f)
{
    (void)f;
    double freq[8];
    expect_result(NULL, vkattn_rope_frequencies(NULL, 8, NULL, 8, NULL), VKATTN_ERROR_INVALID_ARGUMENT,
                  "vkattn_rope_frequencies", "vkattn_rope_frequencies(inv_freq NULL)");
    expect_result(NULL, vkattn_rope_frequencies(NULL, 8, freq, 3, NULL), VKATTN_ERROR_INVALID_ARGUMENT,
                  "vkattn_rope_frequencies", "vkattn_rope_frequencies(capacity 3 < 4)");
    ck_assert_int_ne(vkattn_rope_frequencies(NULL, 0, freq, 8, NULL), VKATTN_OK);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(NULL), "vkattn_rope_frequencies"));
    ck_assert_int_ne(vkattn_rope_frequencies(NULL, 7, freq, 8, NULL), VKATTN_OK); /* odd default rot_dims */
}

/* ---- sinusoidal_add ---------------------------------------------------------------------------------------------- */

static const int64_t SIN_SHAPE[2] = {3, 4}; /* [seq, dim] */

static void case_sinusoidal_null_and_handles(fixture *f)
{
    xy t = xy_make(f, 2, SIN_SHAPE);
    EXPECT_NO_CTX(vkattn_sinusoidal_add(NULL, NULL, NULL, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_ARGUMENT);
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++) {
        EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, bad[k], ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_sinusoidal_add");
        EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, bad[k]), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_sinusoidal_add");
        if (k > 0)
            EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, bad[k], t.y), VKATTN_ERROR_INVALID_HANDLE,
                   "vkattn_sinusoidal_add");
    }
    xy_done(f, &t);
}

static void case_sinusoidal_shape_dtype(fixture *f)
{
    xy t = xy_make(f, 2, SIN_SHAPE);
    vkattn_tensor flat = filled(f->ctx, 1, (const int64_t[]){12}, SENTINEL);
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, flat, ZERO_HANDLE, flat), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_sinusoidal_add");
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, flat), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_sinusoidal_add");
    vkattn_tensor h = vkt_tensor(f->ctx, VKATTN_F16, 2, SIN_SHAPE);
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, ZERO_HANDLE, h), VKATTN_ERROR_DTYPE_MISMATCH,
           "vkattn_sinusoidal_add");
    vkattn_tensor fpos = vkt_tensor(f->ctx, VKATTN_F32, 1, (const int64_t[]){3});
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, fpos, t.y), VKATTN_ERROR_DTYPE_MISMATCH,
           "vkattn_sinusoidal_add");
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, NULL, t.x, f->i, t.y), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_sinusoidal_add"); /* i32 [2, 3]: batch 2 for x without a batch dim */
    xy small = xy_make(f, 2, (const int64_t[]){3, 3});
    vkattn_sinusoidal_desc concat = {.layout = VKATTN_SINUSOIDAL_CONCAT}; /* needs dim >= 4 */
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, &concat, small.x, ZERO_HANDLE, small.y),
           VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_sinusoidal_add");
    xy_done(f, &small);
    expect_filled(f->ctx, flat, SENTINEL);
    vkattn_tensor_destroy(f->ctx, flat);
    vkattn_tensor_destroy(f->ctx, h);
    vkattn_tensor_destroy(f->ctx, fpos);
    xy_done(f, &t);
}

static void case_sinusoidal_bad_desc(fixture *f)
{
    xy t = xy_make(f, 2, SIN_SHAPE);
    const double bases[5] = {NAN, INFINITY, -INFINITY, 1.0, 0.5};
    for (int k = 0; k < 5; k++) {
        vkattn_sinusoidal_desc d = {.base = bases[k]};
        EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, &d, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_ARGUMENT,
               "vkattn_sinusoidal_add");
    }
    vkattn_sinusoidal_desc d = {.layout = (vkattn_sinusoidal_layout)2};
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, &d, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_INVALID_ARGUMENT,
           "vkattn_sinusoidal_add");
    d = (vkattn_sinusoidal_desc){.pos_offset = INT32_MAX};
    EXPECT(f, vkattn_sinusoidal_add(f->ctx, NULL, &d, t.x, ZERO_HANDLE, t.y), VKATTN_ERROR_OVERFLOW,
           "vkattn_sinusoidal_add");
    xy_done(f, &t);
}

/* ---- alibi, alibi_slopes ----------------------------------------------------------------------------------------- */

static const int64_t ALIBI_SHAPE[3] = {2, 3, 4}; /* [heads, q_len, k_len] */

/* Refused by vkattn_alibi on [2, 3, 4] scores and by vkattn_alibi_slopes for 2 heads. */
static void expect_alibi_desc(fixture *f, const xy *t, const vkattn_alibi_desc *d)
{
    EXPECT(f, vkattn_alibi(f->ctx, NULL, d, t->x, t->y), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_alibi");
    float slopes[2] = {SENTINEL, SENTINEL};
    expect_result(NULL, vkattn_alibi_slopes(d, 2, 4, slopes), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_alibi_slopes",
                  "vkattn_alibi_slopes(bad desc)");
    ck_assert(slopes[0] == SENTINEL && slopes[1] == SENTINEL);
}

static void case_alibi_null_and_handles(fixture *f)
{
    xy t = xy_make(f, 3, ALIBI_SHAPE);
    EXPECT_NO_CTX(vkattn_alibi(NULL, NULL, NULL, t.x, t.y), VKATTN_ERROR_INVALID_ARGUMENT);
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++) {
        EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, bad[k], t.y), VKATTN_ERROR_INVALID_HANDLE, "vkattn_alibi");
        EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, t.x, bad[k]), VKATTN_ERROR_INVALID_HANDLE, "vkattn_alibi");
    }
    xy_done(f, &t);
}

static void case_alibi_shape_dtype(fixture *f)
{
    xy t = xy_make(f, 3, ALIBI_SHAPE);
    vkattn_tensor flat = filled(f->ctx, 1, (const int64_t[]){24}, SENTINEL);
    EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, flat, flat), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_alibi");
    EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, t.x, flat), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_alibi");
    vkattn_tensor h = vkt_tensor(f->ctx, VKATTN_F16, 3, ALIBI_SHAPE);
    vkattn_tensor i = vkt_tensor(f->ctx, VKATTN_I32, 3, ALIBI_SHAPE);
    EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, t.x, h), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_alibi");
    EXPECT(f, vkattn_alibi(f->ctx, NULL, NULL, i, i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_alibi");
    expect_filled(f->ctx, flat, SENTINEL);
    vkattn_tensor_destroy(f->ctx, flat);
    vkattn_tensor_destroy(f->ctx, h);
    vkattn_tensor_destroy(f->ctx, i);
    xy_done(f, &t);
}

static void case_alibi_bad_desc(fixture *f)
{
    xy t = xy_make(f, 3, ALIBI_SHAPE);
    for (int k = 0; k < 3; k++) {
        expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.max_bias = BAD_FLOATS[k]});
        const float bad_slopes[2] = {0.5f, BAD_FLOATS[k]};
        expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.slopes = bad_slopes, .slope_count = 2});
    }
    const float slopes[3] = {0.5f, 0.25f, 0.125f};
    expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.max_bias = -1.0f});
    expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.slopes = slopes, .slope_count = 3}); /* 2 heads */
    expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.slopes = slopes, .slope_count = 2, .max_bias = 8.0f});
    expect_alibi_desc(f, &t, &(vkattn_alibi_desc){.slope_count = 2});
    vkattn_alibi_desc d = {.grid_width = 2, .q_offset = -1};
    EXPECT(f, vkattn_alibi(f->ctx, NULL, &d, t.x, t.y), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_alibi");
    d = (vkattn_alibi_desc){.q_offset = INT32_MAX - 1}; /* query rows up to INT32_MAX + 1 */
    EXPECT(f, vkattn_alibi(f->ctx, NULL, &d, t.x, t.y), VKATTN_ERROR_OVERFLOW, "vkattn_alibi");
    xy_done(f, &t);
}

static void case_alibi_slopes_bad_args(fixture *f)
{
    (void)f;
    float out[2];
    expect_result(NULL, vkattn_alibi_slopes(NULL, 0, 4, out), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_alibi_slopes",
                  "vkattn_alibi_slopes(heads 0)");
    expect_result(NULL, vkattn_alibi_slopes(NULL, 2, 4, NULL), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_alibi_slopes",
                  "vkattn_alibi_slopes(out NULL)");
}

/* ---- matmul ------------------------------------------------------------------------------------------------------ */

/* a [2,3] x c [3,2] -> [2,2]. */
static void case_matmul_null_and_handles(fixture *f)
{
    vkattn_tensor out = filled(f->ctx, 2, (const int64_t[]){2, 2}, SENTINEL);
    EXPECT_NO_CTX(vkattn_matmul(NULL, NULL, NULL, f->a, f->c, out), VKATTN_ERROR_INVALID_ARGUMENT);
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++) {
        EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, bad[k], f->c, out), VKATTN_ERROR_INVALID_HANDLE, "vkattn_matmul");
        EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, bad[k], out), VKATTN_ERROR_INVALID_HANDLE, "vkattn_matmul");
        EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, f->c, bad[k]), VKATTN_ERROR_INVALID_HANDLE,
               "vkattn_matmul");
    }
    expect_filled(f->ctx, out, SENTINEL);
    vkattn_tensor_destroy(f->ctx, out);
}

static void case_matmul_bad_scale(fixture *f)
{
    vkattn_tensor out = filled(f->ctx, 2, (const int64_t[]){2, 2}, SENTINEL);
    for (int k = 0; k < 3; k++) {
        vkattn_matmul_desc d = {.scale = BAD_FLOATS[k]};
        EXPECT(f, vkattn_matmul(f->ctx, NULL, &d, f->a, f->c, out), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_matmul");
    }
    expect_filled(f->ctx, out, SENTINEL);
    vkattn_tensor_destroy(f->ctx, out);
}

static void case_matmul_shape(fixture *f)
{
    vkattn_tensor out = filled(f->ctx, 2, (const int64_t[]){2, 2}, SENTINEL);
    vkattn_tensor out3 = filled(f->ctx, 2, (const int64_t[]){2, 3}, SENTINEL);
    /* inner dims 3 vs 2; c of the wrong shape; c with fewer dims than a; a 1-dim */
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, f->a, out3), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, f->c, out3), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    vkattn_tensor flat = view_of(f->ctx, out, 1, (const int64_t[]){4}, NULL, 0);
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, f->c, flat), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, flat, f->c, out), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    /* 3 heads of a against 2 heads of b (must divide), and b's batch 2 against a's 3 */
    vkattn_tensor a3 = filled(f->ctx, 3, (const int64_t[]){3, 2, 2}, 1.0f);
    vkattn_tensor b2 = filled(f->ctx, 3, (const int64_t[]){2, 2, 2}, 1.0f);
    vkattn_tensor c3 = filled(f->ctx, 3, (const int64_t[]){3, 2, 2}, SENTINEL);
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, a3, b2, c3), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    vkattn_tensor a4 = filled(f->ctx, 4, (const int64_t[]){3, 1, 2, 2}, 1.0f);
    vkattn_tensor b4 = filled(f->ctx, 4, (const int64_t[]){2, 1, 2, 2}, 1.0f);
    vkattn_tensor c4 = filled(f->ctx, 4, (const int64_t[]){3, 1, 2, 2}, SENTINEL);
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, a4, b4, c4), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    expect_filled(f->ctx, c3, SENTINEL);
    expect_filled(f->ctx, c4, SENTINEL);
    const vkattn_tensor all[9] = {flat, out, out3, a3, b2, c3, a4, b4, c4};
    for (int k = 0; k < 9; k++)
        vkattn_tensor_destroy(f->ctx, all[k]);
}

static void case_matmul_dtype(fixture *f)
{
    vkattn_tensor out = filled(f->ctx, 2, (const int64_t[]){2, 2}, SENTINEL);
    vkattn_tensor ic = vkt_tensor(f->ctx, VKATTN_I32, 2, SHAPE_3x2);
    vkattn_tensor iout = vkt_tensor(f->ctx, VKATTN_I32, 2, (const int64_t[]){2, 2});
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->i, f->c, out), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, ic, out), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, f->a, f->c, iout), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_matmul");
    expect_filled(f->ctx, out, SENTINEL);
    vkattn_tensor_destroy(f->ctx, out);
    vkattn_tensor_destroy(f->ctx, ic);
    vkattn_tensor_destroy(f->ctx, iout);
}

/* c overlapping a or b, and c whose strides make elements share memory. */
static void case_matmul_overlap(fixture *f)
{
    vkattn_tensor base = filled(f->ctx, 1, (const int64_t[]){16}, 1.0f);
    vkattn_tensor a = view_of(f->ctx, base, 2, (const int64_t[]){2, 2}, NULL, 0);
    vkattn_tensor b = view_of(f->ctx, base, 2, (const int64_t[]){2, 2}, NULL, 4);
    vkattn_tensor c = view_of(f->ctx, base, 2, (const int64_t[]){2, 2}, NULL, 2);
    vkattn_tensor self = view_of(f->ctx, base, 2, (const int64_t[]){2, 2}, (const int64_t[]){1, 1}, 8);
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, a, b, c), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, a, b, a), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    EXPECT(f, vkattn_matmul(f->ctx, NULL, NULL, a, b, self), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_matmul");
    const vkattn_tensor views[4] = {a, b, c, self};
    for (int k = 0; k < 4; k++)
        vkattn_tensor_destroy(f->ctx, views[k]);
    expect_filled(f->ctx, base, 1.0f);
    vkattn_tensor_destroy(f->ctx, base);
}

/* ---- attention --------------------------------------------------------------------------------------------------- */

static const int64_t Q_SHAPE[3] = {4, 2, 4};  /* [seq, heads, head_dim] */
static const int64_t KV_SHAPE[3] = {4, 1, 4}; /* one KV head (MQA) */

typedef struct qkvo {
    vkattn_tensor q, k, v, out;
} qkvo;

static qkvo qkvo_make(fixture *f)
{
    return (qkvo){filled(f->ctx, 3, Q_SHAPE, 0.5f), filled(f->ctx, 3, KV_SHAPE, 0.25f),
                  filled(f->ctx, 3, KV_SHAPE, 2.0f), filled(f->ctx, 3, Q_SHAPE, SENTINEL)};
}

static void qkvo_done(fixture *f, qkvo *t)
{
    expect_filled(f->ctx, t->out, SENTINEL);
    const vkattn_tensor all[4] = {t->q, t->k, t->v, t->out};
    for (int k = 0; k < 4; k++)
        vkattn_tensor_destroy(f->ctx, all[k]);
}

static vkattn_result attn(fixture *f, const vkattn_attention_desc *d, const qkvo *t)
{
    return vkattn_attention(f->ctx, NULL, d, t->q, t->k, t->v, t->out);
}

static void case_attention_null_and_handles(fixture *f)
{
    qkvo t = qkvo_make(f);
    EXPECT_NO_CTX(vkattn_attention(NULL, NULL, NULL, t.q, t.k, t.v, t.out), VKATTN_ERROR_INVALID_ARGUMENT);
    const vkattn_tensor bad[4] = {ZERO_HANDLE, f->dead, f->foreign, JUNK_HANDLE};
    for (int k = 0; k < 4; k++)
        for (int slot = 0; slot < 4; slot++) {
            qkvo u = t;
            vkattn_tensor *p[4] = {&u.q, &u.k, &u.v, &u.out};
            *p[slot] = bad[k];
            EXPECT(f, attn(f, NULL, &u), VKATTN_ERROR_INVALID_HANDLE, "vkattn_attention");
        }
    vkattn_attention_desc d = {.mask = f->dead};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_HANDLE, "vkattn_attention");
    qkvo_done(f, &t);
}

static void case_attention_bad_desc(fixture *f)
{
    qkvo t = qkvo_make(f);
    for (int k = 0; k < 3; k++) {
        vkattn_attention_desc d = {.scale = BAD_FLOATS[k]};
        EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
        vkattn_rope_desc rope = {.base = BAD_DOUBLES[k]};
        d = (vkattn_attention_desc){.pe = VKATTN_PE_ROPE, .rope = &rope};
        EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
        vkattn_alibi_desc alibi = {.max_bias = BAD_FLOATS[k]};
        d = (vkattn_attention_desc){.pe = VKATTN_PE_ALIBI, .alibi = &alibi};
        EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
    }
    vkattn_rope_desc odd = {.rot_dims = 3}, wide = {.rot_dims = 6}, offset = {.pos_offset = 2};
    const vkattn_rope_desc *ropes[3] = {&odd, &wide, &offset};
    for (int k = 0; k < 3; k++) {
        vkattn_attention_desc d = {.pe = VKATTN_PE_ROPE, .rope = ropes[k]};
        EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
    }
    vkattn_attention_desc d = {.pe = (vkattn_attention_pe)3};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
    d = (vkattn_attention_desc){.pe = VKATTN_PE_NONE, .rope = &odd}; /* rope given, pe does not select it */
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
    vkattn_alibi_desc causal = {.causal = true};
    d = (vkattn_attention_desc){.pe = VKATTN_PE_ALIBI, .alibi = &causal};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_attention");
    d = (vkattn_attention_desc){.q_offset = INT32_MAX - 1};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_OVERFLOW, "vkattn_attention");
    qkvo_done(f, &t);
}

static void case_attention_shape(fixture *f)
{
    qkvo t = qkvo_make(f);
    /* 3 heads over 2 KV heads; head_dim 4 vs 2; 2-dim tensors; out not like q; v not like k; batch 2 vs 1 */
    vkattn_tensor q3 = filled(f->ctx, 3, (const int64_t[]){4, 3, 4}, 0.5f);
    vkattn_tensor o3 = filled(f->ctx, 3, (const int64_t[]){4, 3, 4}, SENTINEL);
    vkattn_tensor k2 = filled(f->ctx, 3, (const int64_t[]){4, 2, 4}, 0.5f);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, q3, k2, k2, o3), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_attention");
    vkattn_tensor kd = filled(f->ctx, 3, (const int64_t[]){4, 1, 2}, 0.5f);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, kd, kd, t.out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, f->a, f->a, f->a, f->b), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, t.k, t.v, o3), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, t.k, kd, t.out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    vkattn_tensor k4 = filled(f->ctx, 4, (const int64_t[]){2, 4, 1, 4}, 0.5f);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, k4, k4, t.out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    /* a mask that does not broadcast to the scores [1, 2, 4, 4] */
    vkattn_tensor m = filled(f->ctx, 2, (const int64_t[]){4, 3}, 0.0f);
    vkattn_attention_desc d = {.mask = m};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_attention");
    expect_filled(f->ctx, o3, SENTINEL);
    const vkattn_tensor all[6] = {q3, o3, k2, kd, k4, m};
    for (int k = 0; k < 6; k++)
        vkattn_tensor_destroy(f->ctx, all[k]);
    qkvo_done(f, &t);
}

static void case_attention_dtype(fixture *f)
{
    qkvo t = qkvo_make(f);
    vkattn_tensor kh = vkt_tensor(f->ctx, VKATTN_F16, 3, KV_SHAPE);
    vkattn_tensor qi = vkt_tensor(f->ctx, VKATTN_I32, 3, Q_SHAPE);
    vkattn_tensor oi = vkt_tensor(f->ctx, VKATTN_I32, 3, Q_SHAPE);
    vkattn_tensor ki = vkt_tensor(f->ctx, VKATTN_I32, 3, KV_SHAPE);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, kh, t.v, t.out), VKATTN_ERROR_DTYPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, qi, ki, ki, oi), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_attention");
    vkattn_tensor mi = vkt_tensor(f->ctx, VKATTN_I32, 2, (const int64_t[]){4, 4});
    vkattn_attention_desc d = {.mask = mi};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_attention");
    const vkattn_tensor all[5] = {kh, qi, oi, ki, mi};
    for (int k = 0; k < 5; k++)
        vkattn_tensor_destroy(f->ctx, all[k]);
    qkvo_done(f, &t);
}

/* out overlapping q, k or v, or itself; a mask overlapping out. */
static void case_attention_overlap(fixture *f)
{
    qkvo t = qkvo_make(f);
    vkattn_tensor base = filled(f->ctx, 1, (const int64_t[]){64}, 0.5f);
    vkattn_tensor q = view_of(f->ctx, base, 3, Q_SHAPE, NULL, 0);
    vkattn_tensor out = view_of(f->ctx, base, 3, Q_SHAPE, NULL, 16);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, q, t.k, t.v, out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, q, t.k, t.v, q), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_attention");
    vkattn_tensor kv = view_of(f->ctx, base, 3, KV_SHAPE, NULL, 40);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, kv, t.v, out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, t.k, kv, out), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    vkattn_tensor self = view_of(f->ctx, base, 3, Q_SHAPE, (const int64_t[]){1, 1, 1}, 0);
    EXPECT(f, vkattn_attention(f->ctx, NULL, NULL, t.q, t.k, t.v, self), VKATTN_ERROR_SHAPE_MISMATCH,
           "vkattn_attention");
    vkattn_tensor mask = view_of(f->ctx, t.out, 2, (const int64_t[]){4, 4}, NULL, 0);
    vkattn_attention_desc d = {.mask = mask};
    EXPECT(f, attn(f, &d, &t), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_attention");
    const vkattn_tensor views[5] = {q, out, kv, self, mask};
    for (int k = 0; k < 5; k++)
        vkattn_tensor_destroy(f->ctx, views[k]);
    expect_filled(f->ctx, base, 0.5f);
    vkattn_tensor_destroy(f->ctx, base);
    qkvo_done(f, &t);
}

/* A call that fails records nothing, even where it would have run a RoPE pre-pass first (head_dim 512 is past the
 * fused kernel). */
static void case_attention_fails_atomically(fixture *f)
{
    const int64_t shape[3] = {1, 1, 512};
    vkattn_tensor q = vkt_tensor(f->ctx, VKATTN_F32, 3, shape);
    vkattn_tensor out = vkt_tensor(f->ctx, VKATTN_F32, 3, shape);
    vkattn_cmd *cmd = NULL;
    ck_assert_int_eq(vkattn_cmd_create(f->ctx, NULL, &cmd), VKATTN_OK);
    vkattn_attention_desc d = {.pe = VKATTN_PE_ROPE};
    EXPECT(f, vkattn_attention(f->ctx, cmd, &d, q, q, q, out), VKATTN_ERROR_UNSUPPORTED, "vkattn_attention");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    vkattn_cmd_destroy(cmd);
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(f->ctx, &s), VKATTN_OK);
    ck_assert_uint_eq(s.tensors_alive, 7); /* the fixture's 5, q and out: no scratch left behind */
    vkattn_tensor_destroy(f->ctx, q);
    vkattn_tensor_destroy(f->ctx, out);
}

/* ---- copy_buffer ------------------------------------------------------------------------------------------------- */

static void case_copy_buffer_bad(fixture *f)
{
    EXPECT_NO_CTX(vkattn_copy_buffer(NULL, NULL, f->a, f->b), VKATTN_ERROR_INVALID_ARGUMENT);
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, f->a, f->h), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy_buffer");
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, f->a, f->i), VKATTN_ERROR_DTYPE_MISMATCH, "vkattn_copy_buffer");
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, f->a, f->c), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy_buffer");
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, f->a, f->a), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_copy_buffer");
    vkattn_tensor col = view_of(f->ctx, f->b, 1, (const int64_t[]){2}, (const int64_t[]){3}, 0);
    vkattn_tensor row = view_of(f->ctx, f->a, 1, (const int64_t[]){2}, NULL, 0);
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, row, col), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_copy_buffer");
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, col, row), VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_copy_buffer");
    vkattn_tensor shifted = view_of(f->ctx, f->a, 1, (const int64_t[]){2}, NULL, 1);
    EXPECT(f, vkattn_copy_buffer(f->ctx, NULL, row, shifted), VKATTN_ERROR_SHAPE_MISMATCH, "vkattn_copy_buffer");
    const vkattn_tensor views[3] = {col, row, shifted};
    for (int k = 0; k < 3; k++)
        vkattn_tensor_destroy(f->ctx, views[k]);
    expect_values(f->ctx, f->a, A_VALUES, 6);
    expect_values(f->ctx, f->b, A_VALUES, 6);
}

/* ---- memory_limit ------------------------------------------------------------------------------------------------ */

/* A context of the fixture's backend whose storage may not pass `limit` bytes. */
static vkattn_context *limited_context(fixture *f, uint64_t limit)
{
    vkattn_context_desc d = {.memory_limit = limit};
    vkattn_context *ctx = vkt_context_desc(vkattn_context_backend(f->ctx), &d);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

static uint64_t bytes_held(const vkattn_context *ctx)
{
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &s), VKATTN_OK);
    return s.bytes_allocated;
}

/* 1 KiB: three 256-byte tensors fit, a 512-byte one does not until one of them goes; views cost nothing. */
static void case_memory_limit_tensor(fixture *f)
{
    vkattn_context *ctx = limited_context(f, 1024);
    const int64_t n64[1] = {64}, n128[1] = {128};
    vkattn_tensor t[3];
    for (int k = 0; k < 3; k++)
        t[k] = filled(ctx, 1, n64, (float)k);
    vkattn_tensor big = JUNK_HANDLE;
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 1, .shape = {128}};
    expect_result(ctx, vkattn_tensor_create(ctx, &d, &big), oom_code(ctx), "vkattn_tensor_create",
                  "vkattn_tensor_create(past memory_limit)");
    expect_zero_handle(big);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "1024"));
    ck_assert_uint_eq(bytes_held(ctx), 768);
    vkattn_tensor v = view_of(ctx, t[0], 1, (const int64_t[]){32}, NULL, 32);
    vkattn_tensor_destroy(ctx, v);
    for (int k = 0; k < 3; k++)
        expect_filled(ctx, t[k], (float)k);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, t[1], t[2]), VKATTN_OK);
    expect_filled(ctx, t[2], 1.0f);
    vkattn_tensor_destroy(ctx, t[0]);
    big = filled(ctx, 1, n128, 3.0f); /* 256 + 256 + 512 = the limit exactly */
    ck_assert_uint_eq(bytes_held(ctx), 1024);
    expect_filled(ctx, big, 3.0f);
    vkattn_tensor_destroy(ctx, big);
    vkattn_tensor_destroy(ctx, t[1]);
    vkattn_tensor_destroy(ctx, t[2]);
    vkt_context_destroy(ctx);
}

/* Ops that allocate inside the call: the RoPE phase table, the unfused path's scores, the RoPE pre-pass of
 * attention. Each fails with the out-of-memory code naming the op, records nothing, and leaves the context usable:
 * the fused path (no scratch here) still runs on the same tensors. */
static void case_memory_limit_op_scratch(fixture *f)
{
    /* q, k, v, out [32, 2, 8] f32: 2 KiB each; unfused scores [1, 2, 32, 32] f32: 8 KiB. */
    const int64_t shape[3] = {32, 2, 8};
    const uint64_t tensor_bytes = 32 * 2 * 8 * 4;
    vkattn_context *ctx = limited_context(f, 4 * tensor_bytes + 1024);
    vkattn_tensor t[4];
    for (int k = 0; k < 4; k++) {
        t[k] = vkt_tensor(ctx, VKATTN_F32, 3, shape);
        float v[32 * 2 * 8];
        vkt_fill_uniform(v, 512, (uint32_t)k + 1, -1.0f, 1.0f);
        vkt_write_f32(ctx, t[k], v, 512);
    }
    /* fill up to 8 bytes short of the limit, so that the first table does not fit */
    uint64_t room = 4 * tensor_bytes + 1024 - bytes_held(ctx);
    vkattn_tensor filler = vkt_tensor(ctx, VKATTN_F32, 1, (const int64_t[]){(int64_t)(room / 4) - 2});
    EXPECT_CTX(ctx, vkattn_rope(ctx, NULL, NULL, t[0], ZERO_HANDLE, t[3]), oom_code(ctx), "vkattn_rope");
    vkattn_tensor_destroy(ctx, filler);

    vkattn_cmd *cmd = NULL;
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK);
    vkattn_attention_desc unfused = {.unfused = true, .causal = true};
    EXPECT_CTX(ctx, vkattn_attention(ctx, NULL, &unfused, t[0], t[1], t[2], t[3]), oom_code(ctx),
               "vkattn_attention");
    EXPECT_CTX(ctx, vkattn_attention(ctx, cmd, &unfused, t[0], t[1], t[2], t[3]), oom_code(ctx),
               "vkattn_attention");
    vkattn_attention_desc rope = {.pe = VKATTN_PE_ROPE}; /* two 2 KiB scratch tensors: only 1 KiB left */
    EXPECT_CTX(ctx, vkattn_attention(ctx, cmd, &rope, t[0], t[1], t[2], t[3]), oom_code(ctx), "vkattn_attention");
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 0);
    vkattn_cmd_destroy(cmd);
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &s), VKATTN_OK);
    ck_assert_uint_eq(s.tensors_alive, 4);

    vkattn_attention_desc fused = {.causal = true};
    ck_assert_int_eq(vkattn_attention(ctx, NULL, &fused, t[0], t[1], t[2], t[3]), VKATTN_OK);
    float got[512];
    vkt_read_f32(ctx, t[3], got, 512);
    /* causal: query 0 sees key 0 only, so out[0, h, :] = v[0, h, :] */
    float v0[512];
    vkt_fill_uniform(v0, 512, 3, -1.0f, 1.0f);
    for (int d = 0; d < 16; d++)
        ck_assert_msg(fabsf(got[d] - v0[d]) <= 1e-5f, "out[0] element %d: %g vs %g", d, (double)got[d],
                      (double)v0[d]);
    for (int k = 0; k < 4; k++)
        vkattn_tensor_destroy(ctx, t[k]);
    vkt_context_destroy(ctx);
}

/* ---- the table --------------------------------------------------------------------------------------------------- */

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
    CASE(case_rope_null_ctx),
    CASE(case_rope_bad_handle),
    CASE(case_rope_shape),
    CASE(case_rope_dtype),
    CASE(case_rope_rot_dims),
    CASE(case_rope_nonfinite_desc),
    CASE(case_rope_bad_factor_arrays),
    CASE(case_rope_positions_offset),
    CASE(case_rope_partial_overlap),
    CASE(case_rope_frequencies_bad_args),
    CASE(case_sinusoidal_null_and_handles),
    CASE(case_sinusoidal_shape_dtype),
    CASE(case_sinusoidal_bad_desc),
    CASE(case_alibi_null_and_handles),
    CASE(case_alibi_shape_dtype),
    CASE(case_alibi_bad_desc),
    CASE(case_alibi_slopes_bad_args),
    CASE(case_matmul_null_and_handles),
    CASE(case_matmul_bad_scale),
    CASE(case_matmul_shape),
    CASE(case_matmul_dtype),
    CASE(case_matmul_overlap),
    CASE(case_attention_null_and_handles),
    CASE(case_attention_bad_desc),
    CASE(case_attention_shape),
    CASE(case_attention_dtype),
    CASE(case_attention_overlap),
    CASE(case_attention_fails_atomically),
    CASE(case_copy_buffer_bad),
    CASE(case_memory_limit_tensor),
    CASE(case_memory_limit_op_scratch),
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
