/*
 * test_tensor.c - tensors and the data that goes in and out of them: round trips of every dtype and rank, strided
 * views (reading, writing only their own elements, keeping storage alive), vkattn_copy between layouts and between
 * f32 and f16, thousands of small tensors, a large one, and the counters.
 *
 * Every case runs on three variants: the CPU backend, Vulkan, and Vulkan with VKATTN_CONTEXT_FORCE_STAGING (the
 * discrete-GPU path of device-local memory and staging copies, even on lavapipe's unified memory). Expected data is
 * computed here: layouts by the view formula of vkattn.h, conversions by the binary16 code in common.c.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VARIANT_COUNT 3

/* 0 = CPU, 1 = Vulkan, 2 = Vulkan with staging. */
static vkattn_context *variant_context(int i)
{
    if (i < VKT_BACKEND_COUNT)
        return vkt_context(vkt_backend(i));
    return vkt_context_flags(VKATTN_BACKEND_VULKAN, VKATTN_CONTEXT_FORCE_STAGING);
}

/* ---- small helpers ---------------------------------------------------------------------------------------------- */

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

static size_t numel_of(uint32_t ndim, const int64_t *shape)
{
    size_t n = 1;
    for (uint32_t k = 0; k < ndim; k++)
        n *= (size_t)shape[k];
    return n;
}

/* xorshift64 bytes: arbitrary bit patterns, the same for the same seed. */
static void fill_bits(void *buf, size_t bytes, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1u;
    for (size_t i = 0; i < bytes; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (unsigned char)(s >> 56);
    }
}

/* Replaces f32 NaN patterns (which a device may canonicalise when it moves floats) by their bit count. */
static void drop_f32_nans(void *buf, size_t n)
{
    uint32_t *u = buf;
    for (size_t i = 0; i < n; i++)
        if ((u[i] & 0x7f800000u) == 0x7f800000u && (u[i] & 0x007fffffu) != 0)
            u[i] = (uint32_t)i;
}

static void drop_f16_nans(void *buf, size_t n)
{
    uint16_t *u = buf;
    for (size_t i = 0; i < n; i++)
        if ((u[i] & 0x7c00u) == 0x7c00u && (u[i] & 0x03ffu) != 0)
            u[i] = (uint16_t)(i & 0x3ff);
}

/* Random bit patterns for a dtype; with `values_only`, no NaNs (for data that passes through a shader). */
static void fill_dtype(void *buf, vkattn_dtype dtype, size_t n, uint64_t seed, bool values_only)
{
    fill_bits(buf, n * vkattn_dtype_size(dtype), seed);
    if (values_only && dtype == VKATTN_F32)
        drop_f32_nans(buf, n);
    if (values_only && dtype == VKATTN_F16)
        drop_f16_nans(buf, n);
}

static vkattn_tensor_desc desc_of(vkattn_context *ctx, vkattn_tensor t)
{
    vkattn_tensor_desc d;
    ck_assert_int_eq(vkattn_tensor_get_desc(ctx, t, &d), VKATTN_OK);
    return d;
}

static vkattn_context_stats stats_of(vkattn_context *ctx)
{
    vkattn_context_stats s;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &s), VKATTN_OK);
    return s;
}

static void write_raw(vkattn_context *ctx, vkattn_tensor t, const void *src, size_t bytes)
{
    vkattn_result r = vkattn_tensor_write(ctx, t, src, bytes);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_write: %s", vkattn_context_last_error(ctx));
}

/* Reads into a buffer with a guard zone behind it: the read must write exactly `bytes`. */
static void read_raw(vkattn_context *ctx, vkattn_tensor t, void *dst, size_t bytes)
{
    enum { GUARD = 64 };
    unsigned char *buf = xmalloc(bytes + GUARD);
    memset(buf, 0xcd, bytes + GUARD);
    vkattn_result r = vkattn_tensor_read(ctx, t, buf, bytes);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_read: %s", vkattn_context_last_error(ctx));
    unsigned char guard[GUARD];
    memset(guard, 0xcd, GUARD);
    ck_assert_msg(memcmp(buf + bytes, guard, GUARD) == 0, "vkattn_tensor_read wrote past %zu bytes", bytes);
    memcpy(dst, buf, bytes);
    free(buf);
}

/* Per-element checks in loops call ck_abort_msg only on a mismatch: every passing ck_assert costs Check a write
 * to its report pipe, which for hundreds of thousands of elements dominates the run time. */
static void assert_same_bytes(const void *got, const void *want, size_t size, size_t n, const char *what)
{
    const unsigned char *g = got, *w = want;
    for (size_t i = 0; i < n; i++)
        if (memcmp(g + i * size, w + i * size, size) != 0)
            ck_abort_msg("%s: element %zu differs", what, i);
}

/* ---- layouts: the view formula of vkattn.h ------------------------------------------------------------------ */

typedef struct layout {
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
    int64_t strides[VKATTN_MAX_DIMS]; /* elements; all zero = row-major */
    int64_t offset;
} layout;

/* Element i0..i3 lives at offset + sum(ik * strides[k]) of the storage; one index per element in row-major order. */
static size_t layout_indices(const layout *l, int64_t *out)
{
    int64_t strides[VKATTN_MAX_DIMS];
    bool all_zero = true;
    for (uint32_t k = 0; k < l->ndim; k++)
        all_zero = all_zero && l->strides[k] == 0;
    int64_t run = 1;
    for (uint32_t k = l->ndim; k-- > 0;) {
        strides[k] = all_zero ? run : l->strides[k];
        run *= l->shape[k];
    }
    size_t n = numel_of(l->ndim, l->shape);
    for (size_t e = 0; e < n; e++) {
        size_t rest = e;
        int64_t at = l->offset;
        for (uint32_t k = l->ndim; k-- > 0;) {
            at += (int64_t)(rest % (size_t)l->shape[k]) * strides[k];
            rest /= (size_t)l->shape[k];
        }
        out[e] = at;
    }
    return n;
}

static vkattn_tensor make_view(vkattn_context *ctx, vkattn_tensor base, vkattn_dtype dtype, const layout *l)
{
    vkattn_tensor_desc d = {.dtype = dtype, .ndim = l->ndim};
    memcpy(d.shape, l->shape, sizeof d.shape);
    memcpy(d.strides, l->strides, sizeof d.strides);
    vkattn_tensor v = {0};
    vkattn_result r = vkattn_tensor_view(ctx, base, &d, l->offset, &v);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_view: %s", vkattn_context_last_error(ctx));
    return v;
}

/* The [B,S,H,D] base every view case uses, and views of it. */
enum { B = 2, S = 5, H = 3, D = 4, BASE_N = B * S * H * D };
static const int64_t BASE_SHAPE[4] = {B, S, H, D};

static const layout VIEWS[] = {
    /* [B,H,S,D] of the [B,S,H,D] storage: the attention-head permutation */
    {4, {B, H, S, D}, {S * H * D, D, H * D, 1}, 0},
    /* heads 1..2 of positions 1..3: a block in the middle */
    {4, {B, 2, 3, D}, {S * H * D, D, H * D, 1}, 1 * H * D + 1 * D},
    /* every other element, from an odd offset */
    {1, {BASE_N / 2}, {2}, 1},
    /* rows with gaps between them, 3-D, odd offset */
    {3, {3, 7, 2}, {31, 3, 1}, 5},
    /* transposed 2-D */
    {2, {D, BASE_N / D}, {1, D}, 0},
    /* contiguous tail with an odd offset (unaligned bytes for f16 on the device) */
    {2, {7, 9}, {0, 0}, 57},
    /* a size-1 dim with its stride ignored */
    {3, {2, 1, 5}, {40, 1000, 3}, 7},
};
#define VIEW_COUNT ((int)(sizeof VIEWS / sizeof VIEWS[0]))

static const vkattn_dtype DTYPES[3] = {VKATTN_F32, VKATTN_F16, VKATTN_I32};

/* ---- round trips ------------------------------------------------------------------------------------------------ */

typedef struct shape_case {
    uint32_t ndim;
    int64_t shape[VKATTN_MAX_DIMS];
} shape_case;

static const shape_case SHAPES[] = {
    {1, {1}},          {1, {7}},           {1, {4099}},          {2, {1, 1}},          {2, {3, 5}},
    {2, {17, 33}},     {3, {2, 3, 5}},     {3, {13, 1, 17}},     {4, {1, 1, 1, 1}},    {4, {2, 3, 5, 7}},
    {4, {3, 1, 4, 129}}, {4, {1, 2, 1, 3}}, {1, {262147}},
};
#define SHAPE_COUNT ((int)(sizeof SHAPES / sizeof SHAPES[0]))

static void check_contiguous_desc(vkattn_context *ctx, vkattn_tensor t, vkattn_dtype dtype, const shape_case *sc)
{
    vkattn_tensor_desc d = desc_of(ctx, t);
    ck_assert_int_eq(d.dtype, dtype);
    ck_assert_uint_eq(d.ndim, sc->ndim);
    int64_t stride = 1;
    for (uint32_t k = sc->ndim; k-- > 0;) {
        ck_assert_int_eq(d.shape[k], sc->shape[k]);
        ck_assert_int_eq(d.strides[k], stride); /* row-major, filled in */
        stride *= sc->shape[k];
    }
    uint64_t n = 0;
    ck_assert_int_eq(vkattn_tensor_numel(ctx, t, &n), VKATTN_OK);
    ck_assert_uint_eq(n, numel_of(sc->ndim, sc->shape));
}

/* Every dtype and shape: arbitrary bit patterns in, the same bits out (twice, so the second write replaces). */
START_TEST(test_round_trip)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    uint64_t seed = 1;
    for (int di = 0; di < 3; di++) {
        for (int si = 0; si < SHAPE_COUNT; si++) {
            const shape_case *sc = &SHAPES[si];
            size_t n = numel_of(sc->ndim, sc->shape), bytes = n * vkattn_dtype_size(DTYPES[di]);
            unsigned char *src = xmalloc(bytes), *got = xmalloc(bytes);
            vkattn_tensor t = vkt_tensor(ctx, DTYPES[di], sc->ndim, sc->shape);
            check_contiguous_desc(ctx, t, DTYPES[di], sc);
            for (int pass = 0; pass < 2; pass++) {
                fill_bits(src, bytes, seed++);
                write_raw(ctx, t, src, bytes);
                read_raw(ctx, t, got, bytes);
                assert_same_bytes(got, src, vkattn_dtype_size(DTYPES[di]), n, vkattn_dtype_name(DTYPES[di]));
            }
            vkattn_tensor_destroy(ctx, t);
            free(src);
            free(got);
        }
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* Several tensors alive at once keep their own data (no aliasing between neighbours in a memory block). */
START_TEST(test_round_trip_neighbours)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { COUNT = 24 };
    vkattn_tensor t[COUNT];
    unsigned char *data[COUNT];
    size_t bytes[COUNT];
    for (int k = 0; k < COUNT; k++) {
        const shape_case *sc = &SHAPES[k % (SHAPE_COUNT - 1)];
        vkattn_dtype dtype = DTYPES[k % 3];
        size_t n = numel_of(sc->ndim, sc->shape);
        bytes[k] = n * vkattn_dtype_size(dtype);
        data[k] = xmalloc(bytes[k]);
        fill_bits(data[k], bytes[k], 100u + (uint64_t)k);
        t[k] = vkt_tensor(ctx, dtype, sc->ndim, sc->shape);
        write_raw(ctx, t[k], data[k], bytes[k]);
    }
    for (int k = 0; k < COUNT; k++) {
        unsigned char *got = xmalloc(bytes[k]);
        read_raw(ctx, t[k], got, bytes[k]);
        ck_assert_msg(memcmp(got, data[k], bytes[k]) == 0, "tensor %d lost its data", k);
        free(got);
        free(data[k]);
        vkattn_tensor_destroy(ctx, t[k]);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- strided views --------------------------------------------------------------------------------------------------- */

static vkattn_tensor new_base(vkattn_context *ctx, vkattn_dtype dtype, unsigned char *contents, uint64_t seed)
{
    vkattn_tensor base = vkt_tensor(ctx, dtype, 4, BASE_SHAPE);
    fill_dtype(contents, dtype, BASE_N, seed, false);
    write_raw(ctx, base, contents, BASE_N * vkattn_dtype_size(dtype));
    return base;
}

/* The view's strides as get_desc reports them: as given, or row-major when all were zero. */
static void check_view_desc(vkattn_context *ctx, vkattn_tensor v, vkattn_dtype dtype, const layout *l)
{
    vkattn_tensor_desc d = desc_of(ctx, v);
    ck_assert_int_eq(d.dtype, dtype);
    ck_assert_uint_eq(d.ndim, l->ndim);
    bool all_zero = true;
    for (uint32_t k = 0; k < l->ndim; k++)
        all_zero = all_zero && l->strides[k] == 0;
    int64_t run = 1;
    for (uint32_t k = l->ndim; k-- > 0;) {
        ck_assert_int_eq(d.shape[k], l->shape[k]);
        if (all_zero)
            ck_assert_int_eq(d.strides[k], run);
        else if (l->shape[k] > 1)
            ck_assert_int_eq(d.strides[k], l->strides[k]);
        run *= l->shape[k];
    }
}

/* Reading a view gives the base's elements at the formula's places; writing it changes exactly those. */
static void check_view_io(vkattn_context *ctx, vkattn_dtype dtype, const layout *l, uint64_t seed)
{
    size_t size = vkattn_dtype_size(dtype);
    unsigned char *base_data = xmalloc(BASE_N * size), *got = xmalloc(BASE_N * size);
    unsigned char *want = xmalloc(BASE_N * size), *fresh = xmalloc(BASE_N * size);
    int64_t *idx = xmalloc(BASE_N * sizeof *idx);
    vkattn_tensor base = new_base(ctx, dtype, base_data, seed);
    vkattn_tensor v = make_view(ctx, base, dtype, l);
    check_view_desc(ctx, v, dtype, l);
    size_t n = layout_indices(l, idx);

    for (size_t e = 0; e < n; e++)
        memcpy(want + e * size, base_data + (size_t)idx[e] * size, size);
    read_raw(ctx, v, got, n * size);
    assert_same_bytes(got, want, size, n, "reading the view");

    fill_dtype(fresh, dtype, n, seed + 1000u, false);
    write_raw(ctx, v, fresh, n * size);
    memcpy(want, base_data, BASE_N * size);
    for (size_t e = 0; e < n; e++)
        memcpy(want + (size_t)idx[e] * size, fresh + e * size, size);
    read_raw(ctx, base, got, BASE_N * size);
    assert_same_bytes(got, want, size, BASE_N, "the base after writing the view");

    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, base);
    free(base_data);
    free(got);
    free(want);
    free(fresh);
    free(idx);
}

START_TEST(test_view_read_write)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    for (int di = 0; di < 3; di++)
        for (int vi = 0; vi < VIEW_COUNT; vi++)
            check_view_io(ctx, DTYPES[di], &VIEWS[vi], (uint64_t)(di * 100 + vi));
    vkt_context_destroy(ctx);
}
END_TEST

/* A view of a view: its offset counts from the first element of the storage the inner view starts at, i.e. from
 * that view's own first element (vkattn.h: "from base's own first element"). */
START_TEST(test_view_of_view)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    float data[BASE_N], got[BASE_N];
    vkt_fill_uniform(data, BASE_N, 3, -1.0f, 1.0f);
    vkattn_tensor base = vkt_tensor(ctx, VKATTN_F32, 4, BASE_SHAPE);
    vkt_write_f32(ctx, base, data, BASE_N);
    const layout rows = {2, {4, 12}, {0, 0}, 12}; /* elements 12..59 */
    vkattn_tensor outer = make_view(ctx, base, VKATTN_F32, &rows);
    const layout inner = {2, {4, 3}, {12, 2}, 5};
    vkattn_tensor v = make_view(ctx, outer, VKATTN_F32, &inner);
    vkt_read_f32(ctx, v, got, 12);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++)
            ck_assert_float_eq(got[r * 3 + c], data[12 + 5 + r * 12 + c * 2]);
    /* the bound is the storage, not the outer view's own elements: 62..64 lie past them */
    const layout past_outer = {1, {3}, {0}, 50};
    vkattn_tensor w = make_view(ctx, outer, VKATTN_F32, &past_outer);
    vkt_read_f32(ctx, w, got, 3);
    for (int k = 0; k < 3; k++)
        ck_assert_float_eq(got[k], data[12 + 50 + k]);
    vkattn_tensor_destroy(ctx, w);
    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, outer);
    vkattn_tensor_destroy(ctx, base);
    vkt_context_destroy(ctx);
}
END_TEST

/* "A stride of a dim of size 1 is ignored" (vkattn.h): zero or negative there is accepted and changes nothing. */
START_TEST(test_view_size1_stride_ignored)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    float data[BASE_N], got[6];
    vkt_fill_uniform(data, BASE_N, 9, -1.0f, 1.0f);
    vkattn_tensor base = vkt_tensor(ctx, VKATTN_F32, 4, BASE_SHAPE);
    vkt_write_f32(ctx, base, data, BASE_N);
    const int64_t ignored[3] = {0, -7, INT64_MAX};
    for (int k = 0; k < 3; k++) {
        const layout l = {3, {2, 1, 3}, {10, ignored[k], 4}, 1};
        vkattn_tensor v = make_view(ctx, base, VKATTN_F32, &l);
        vkt_read_f32(ctx, v, got, 6);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
                ck_assert_float_eq(got[r * 3 + c], data[1 + r * 10 + c * 4]);
        vkattn_tensor_destroy(ctx, v);
    }
    vkattn_tensor_destroy(ctx, base);
    vkt_context_destroy(ctx);
}
END_TEST

/* Views keep the storage alive after the base handle is gone, even while new tensors take fresh memory. */
START_TEST(test_view_keeps_storage)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { N = 1000 };
    float data[N], got[N], junk[N];
    vkt_fill_uniform(data, N, 5, -10.0f, 10.0f);
    vkt_fill_uniform(junk, N, 6, 100.0f, 200.0f);
    const int64_t shape[1] = {N};
    vkattn_tensor base = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    vkt_write_f32(ctx, base, data, N);
    const layout middle = {1, {500}, {0}, 250};
    vkattn_tensor v = make_view(ctx, base, VKATTN_F32, &middle);
    vkattn_tensor_destroy(ctx, base);

    vkattn_context_stats s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 1);
    ck_assert_uint_eq(s.bytes_allocated, N * sizeof(float));
    vkattn_tensor others[8];
    for (int k = 0; k < 8; k++) {
        others[k] = vkt_tensor(ctx, VKATTN_F32, 1, shape);
        vkt_write_f32(ctx, others[k], junk, N);
    }
    vkt_read_f32(ctx, v, got, 500);
    ck_assert(memcmp(got, data + 250, 500 * sizeof(float)) == 0);

    /* still a full tensor: views of it, copies into it */
    const layout half = {1, {250}, {2}, 1};
    vkattn_tensor w = make_view(ctx, v, VKATTN_F32, &half);
    vkt_read_f32(ctx, w, got, 250);
    for (int k = 0; k < 250; k++)
        ck_assert_float_eq(got[k], data[250 + 1 + 2 * k]);
    const layout some = {1, {500}, {0}, 0};
    vkattn_tensor src = make_view(ctx, others[3], VKATTN_F32, &some);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, src, v), VKATTN_OK);
    vkt_read_f32(ctx, w, got, 250);
    for (int k = 0; k < 250; k++)
        ck_assert_float_eq(got[k], junk[1 + 2 * k]);

    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, w);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 9);
    ck_assert_uint_eq(s.bytes_allocated, 8 * N * sizeof(float));
    vkattn_tensor_destroy(ctx, src);
    for (int k = 0; k < 8; k++)
        vkattn_tensor_destroy(ctx, others[k]);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- copies ---------------------------------------------------------------------------------------------------------- */

/* src layout of base 1 -> dst layout of base 2 (same shapes): base 2 afterwards holds base 1's elements at the dst
 * places and its own elsewhere. Floats avoid NaN patterns, which a device may canonicalise. */
static void check_copy_layouts(vkattn_context *ctx, vkattn_dtype dtype, const layout *from, const layout *to,
                               uint64_t seed)
{
    size_t size = vkattn_dtype_size(dtype);
    unsigned char *src_data = xmalloc(BASE_N * size), *dst_data = xmalloc(BASE_N * size);
    unsigned char *got = xmalloc(BASE_N * size);
    int64_t *from_idx = xmalloc(BASE_N * sizeof *from_idx), *to_idx = xmalloc(BASE_N * sizeof *to_idx);
    vkattn_tensor sb = vkt_tensor(ctx, dtype, 4, BASE_SHAPE), db = vkt_tensor(ctx, dtype, 4, BASE_SHAPE);
    fill_dtype(src_data, dtype, BASE_N, seed, true);
    fill_dtype(dst_data, dtype, BASE_N, seed + 1u, true);
    write_raw(ctx, sb, src_data, BASE_N * size);
    write_raw(ctx, db, dst_data, BASE_N * size);
    vkattn_tensor sv = make_view(ctx, sb, dtype, from), dv = make_view(ctx, db, dtype, to);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, sv, dv), VKATTN_OK);

    size_t n = layout_indices(from, from_idx);
    ck_assert_uint_eq(layout_indices(to, to_idx), n);
    for (size_t e = 0; e < n; e++)
        memcpy(dst_data + (size_t)to_idx[e] * size, src_data + (size_t)from_idx[e] * size, size);
    read_raw(ctx, db, got, BASE_N * size);
    assert_same_bytes(got, dst_data, size, BASE_N, "the destination base after the copy");
    read_raw(ctx, sb, got, BASE_N * size);
    assert_same_bytes(got, src_data, size, BASE_N, "the source base after the copy");

    vkattn_tensor_destroy(ctx, sv);
    vkattn_tensor_destroy(ctx, dv);
    vkattn_tensor_destroy(ctx, sb);
    vkattn_tensor_destroy(ctx, db);
    free(src_data);
    free(dst_data);
    free(got);
    free(from_idx);
    free(to_idx);
}

/* Pairs of same-shaped layouts of the [B,S,H,D] base. */
static const layout CONTIGUOUS_BHSD = {4, {B, H, S, D}, {0, 0, 0, 0}, 0};
static const layout BLOCK_CONTIGUOUS = {4, {B, 2, 3, D}, {0, 0, 0, 0}, 3};
static const layout ODD_CONTIGUOUS = {1, {BASE_N / 2}, {0}, 7};
static const layout COLUMNS_CONTIGUOUS = {2, {D, BASE_N / D}, {0, 0}, 0};

START_TEST(test_copy_strided)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    for (int di = 0; di < 3; di++) {
        uint64_t seed = 500u + 10u * (uint64_t)di;
        vkattn_dtype dt = DTYPES[di];
        check_copy_layouts(ctx, dt, &VIEWS[0], &CONTIGUOUS_BHSD, seed);      /* strided -> contiguous */
        check_copy_layouts(ctx, dt, &CONTIGUOUS_BHSD, &VIEWS[0], seed + 2u); /* contiguous -> strided */
        check_copy_layouts(ctx, dt, &BLOCK_CONTIGUOUS, &VIEWS[1], seed + 4u); /* into a block; the rest kept */
        check_copy_layouts(ctx, dt, &VIEWS[2], &ODD_CONTIGUOUS, seed + 6u);   /* stride 2 -> odd offset */
        check_copy_layouts(ctx, dt, &VIEWS[4], &COLUMNS_CONTIGUOUS, seed + 8u); /* transposed -> contiguous */
        check_copy_layouts(ctx, dt, &VIEWS[0], &VIEWS[0], seed + 9u);         /* strided -> strided */
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* Copying a view onto itself changes nothing. */
START_TEST(test_copy_onto_itself)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    float data[BASE_N], got[BASE_N];
    vkt_fill_uniform(data, BASE_N, 8, -3.0f, 3.0f);
    vkattn_tensor base = vkt_tensor(ctx, VKATTN_F32, 4, BASE_SHAPE);
    vkt_write_f32(ctx, base, data, BASE_N);
    vkattn_tensor v = make_view(ctx, base, VKATTN_F32, &VIEWS[0]);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, base, base), VKATTN_OK);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, v, v), VKATTN_OK);
    vkt_read_f32(ctx, base, got, BASE_N);
    ck_assert(memcmp(got, data, sizeof data) == 0);
    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, base);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- f32 <-> f16 conversion ------------------------------------------------------------------------------------------ */

static bool half_is_nan(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0;
}

/* Values chosen around binary16's rounding points; each comment gives the expected result. */
static size_t conversion_inputs(float *x, size_t cap)
{
    const float special[] = {
        0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 1.0f / 3.0f, -2.75f,
        1.0f + 0x1p-11f,                 /* tie between 1 and 1 + 2^-10: even, 1 */
        1.0f + 3 * 0x1p-11f,             /* tie between 1 + 2^-10 and 1 + 2^-9: even, 1 + 2^-9 */
        1.0f + 0x1p-11f + 0x1p-20f,      /* just above the tie: 1 + 2^-10 */
        -(1.0f + 0x1p-11f - 0x1p-20f),   /* just below the tie: -1 */
        65504.0f,                        /* largest finite half */
        65519.0f,                        /* below the midpoint to inf: 65504 */
        65520.0f,                        /* the midpoint: rounds to even, which is inf */
        -70000.0f, 1e6f, 3.0e38f,        /* overflow: inf */
        INFINITY, -INFINITY,
        0x1p-14f,                        /* smallest normal */
        0x1p-14f - 0x1p-24f,             /* largest subnormal */
        0x1p-14f - 0x1p-25f,             /* tie between the largest subnormal and 2^-14: even, 2^-14 */
        0x1p-24f, -0x1p-24f,             /* smallest subnormal */
        0x1p-25f,                        /* tie between 0 and 2^-24: even, 0 */
        0x1p-25f + 0x1p-40f,             /* above that tie: 2^-24 */
        3 * 0x1p-26f,                    /* 0.75 * 2^-24: 2^-24 */
        1.5f * 0x1p-24f,                 /* tie between 1 and 2 units: 2 units */
        2.5f * 0x1p-24f,                 /* tie between 2 and 3 units: 2 units */
        0x1p-30f, -0x1p-30f,             /* underflow: +0 and -0 */
        1e-10f, 0x1p-126f, 0x1p-149f,    /* f32 normal minimum and f32 subnormal: 0 */
        2049.0f,                         /* spacing 2 above 2048: tie, even 2048 */
        2051.0f,                         /* tie: even 2052 */
        NAN, -NAN,
    };
    size_t n = sizeof special / sizeof special[0];
    ck_assert_uint_le(n, cap);
    memcpy(x, special, sizeof special);
    /* random values across the whole half range and beyond: mantissa in [1, 2), exponent -28..17, both signs */
    uint32_t s = 12345;
    for (; n < cap; n++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        float m = 1.0f + (float)(s & 0xffffffu) * 0x1p-24f;
        int e = (int)((s >> 24) % 46u) - 28;
        x[n] = ((s >> 30) & 1u) ? -ldexpf(m, e) : ldexpf(m, e);
    }
    return n;
}

static void check_halves(const uint16_t *got, const float *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t want = vkt_float_to_half(x[i]);
        if (isnan(x[i]) ? !half_is_nan(got[i]) : got[i] != want)
            ck_abort_msg("%s: %a (element %zu) gave 0x%04x, expected 0x%04x", what, (double)x[i], i, got[i], want);
    }
}

START_TEST(test_copy_f32_to_f16)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { N = 4096 };
    float *x = xmalloc(N * sizeof *x);
    uint16_t *got = xmalloc(N * sizeof *got);
    size_t n = conversion_inputs(x, N);
    const int64_t shape[2] = {N / 64, 64};
    vkattn_tensor src = vkt_tensor(ctx, VKATTN_F32, 2, shape), dst = vkt_tensor(ctx, VKATTN_F16, 2, shape);
    vkt_write_f32(ctx, src, x, n);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, src, dst), VKATTN_OK);
    read_raw(ctx, dst, got, n * sizeof *got);
    check_halves(got, x, n, "f32 -> f16");

    /* the same values through a transposed f32 view into a strided f16 view */
    const layout every_other = {2, {64, N / 64 / 2}, {N / 64, 2}, 1};
    const layout half_cols = {2, {64, N / 64 / 2}, {1, 128}, 64};
    vkattn_tensor sv = make_view(ctx, src, VKATTN_F32, &half_cols), dv = make_view(ctx, dst, VKATTN_F16, &every_other);
    uint16_t *before = xmalloc(N * sizeof *before);
    memcpy(before, got, N * sizeof *got);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, sv, dv), VKATTN_OK);
    read_raw(ctx, dst, got, N * sizeof *got);
    int64_t *sidx = xmalloc(N * sizeof *sidx), *didx = xmalloc(N * sizeof *didx);
    size_t m = layout_indices(&half_cols, sidx);
    layout_indices(&every_other, didx);
    float *expect_in = xmalloc(N * sizeof *expect_in);
    uint16_t *got_at = xmalloc(N * sizeof *got_at);
    for (size_t e = 0; e < m; e++) {
        expect_in[e] = x[sidx[e]];
        got_at[e] = got[didx[e]];
        before[didx[e]] = got[didx[e]];
    }
    check_halves(got_at, expect_in, m, "f32 view -> f16 view");
    ck_assert_msg(memcmp(before, got, N * sizeof *got) == 0, "the copy wrote outside the destination view");
    vkattn_tensor_destroy(ctx, sv);
    vkattn_tensor_destroy(ctx, dv);
    vkattn_tensor_destroy(ctx, src);
    vkattn_tensor_destroy(ctx, dst);
    free(x);
    free(got);
    free(before);
    free(sidx);
    free(didx);
    free(expect_in);
    free(got_at);
    vkt_context_destroy(ctx);
}
END_TEST

/* Contiguous copies that the Vulkan backend moves 4 elements at a time (copy_*_v4: numel a multiple of 4, both ends
 * 4-aligned) and their neighbours that it cannot (an odd count, an offset of 1 or 2 elements), for each dtype, on a
 * context with the given flags; returns whether a copy_*_v4 pipeline was built (the debug log names each). */
static bool copy_paths(int variant, uint32_t flags)
{
    vkattn_context_desc desc = {.flags = flags, .log_level = VKATTN_LOG_DEBUG};
    if (variant == VKT_BACKEND_COUNT)
        desc.flags |= VKATTN_CONTEXT_FORCE_STAGING;
    vkt_log_clear();
    vkattn_context *ctx = vkt_context_desc(variant < VKT_BACKEND_COUNT ? vkt_backend(variant) : VKATTN_BACKEND_VULKAN,
                                           &desc);
    if (!ctx)
        return false;
    static const int64_t counts[] = {4, 8, 48, 52, 9, 1};
    static const int64_t offsets[][2] = {{0, 0}, {4, 8}, {1, 0}, {0, 2}};
    for (int di = 0; di < 3; di++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
            for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
                const layout from = {1, {counts[c]}, {0}, offsets[o][0]}, to = {1, {counts[c]}, {0}, offsets[o][1]};
                check_copy_layouts(ctx, DTYPES[di], &from, &to, 900u + 31u * c + 7u * o + (uint64_t)di);
            }
    /* f32 <-> f16 conversions, 4 at a time and not */
    const int64_t shape[2] = {3, 20}, odd[2] = {7, 7};
    for (int k = 0; k < 2; k++) {
        const int64_t *sh = k ? odd : shape;
        size_t n = (size_t)(sh[0] * sh[1]);
        float *x = xmalloc(n * sizeof *x), *back = xmalloc(n * sizeof *back);
        uint16_t *h = xmalloc(n * sizeof *h);
        n = conversion_inputs(x, n);
        vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 2, sh), b = vkt_tensor(ctx, VKATTN_F16, 2, sh);
        vkattn_tensor c = vkt_tensor(ctx, VKATTN_F32, 2, sh);
        vkt_write_f32(ctx, a, x, n);
        ck_assert_int_eq(vkattn_copy(ctx, NULL, a, b), VKATTN_OK);
        ck_assert_int_eq(vkattn_copy(ctx, NULL, b, c), VKATTN_OK);
        read_raw(ctx, b, h, n * sizeof *h);
        check_halves(h, x, n, "f32 -> f16, contiguous");
        read_raw(ctx, c, back, n * sizeof *back);
        for (size_t e = 0; e < n; e++) {
            float want = vkt_half_to_float(h[e]);
            ck_assert_msg(memcmp(&back[e], &want, sizeof want) == 0 || (isnan(back[e]) && half_is_nan(h[e])),
                          "f16 -> f32 element %zu: %a from half 0x%04x", e, (double)back[e], h[e]);
        }
        vkattn_tensor_destroy(ctx, a);
        vkattn_tensor_destroy(ctx, b);
        vkattn_tensor_destroy(ctx, c);
        free(x);
        free(back);
        free(h);
    }
    bool v4 = strstr(vkt_log_text(), "built pipeline copy_") && strstr(vkt_log_text(), "_v4");
    vkt_context_destroy(ctx);
    return v4;
}

START_TEST(test_copy_paths)
{
    bool vulkan = _i >= VKT_BACKEND_COUNT || vkt_backend(_i) == VKATTN_BACKEND_VULKAN;
    bool fast = copy_paths(_i, 0);
    vkattn_context *probe = variant_context(_i);
    if (!probe)
        return;
    vkt_context_destroy(probe);
    ck_assert_msg(fast == vulkan, "copy_*_v4 pipeline built: %d on a %s context", fast, vulkan ? "Vulkan" : "CPU");
    ck_assert_msg(!copy_paths(_i, VKATTN_CONTEXT_BASELINE_KERNELS),
                  "VKATTN_CONTEXT_BASELINE_KERNELS still built a copy_*_v4 pipeline");
}
END_TEST

/* Every one of the 65536 binary16 patterns to f32: exact (binary32 holds every half value). */
START_TEST(test_copy_f16_to_f32)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { N = 65536 };
    uint16_t *h = xmalloc(N * sizeof *h);
    float *got = xmalloc(N * sizeof *got);
    for (size_t i = 0; i < N; i++)
        h[i] = (uint16_t)i;
    const int64_t shape[3] = {16, 64, 64};
    vkattn_tensor src = vkt_tensor(ctx, VKATTN_F16, 3, shape), dst = vkt_tensor(ctx, VKATTN_F32, 3, shape);
    write_raw(ctx, src, h, N * sizeof *h);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, src, dst), VKATTN_OK);
    vkt_read_f32(ctx, dst, got, N);
    for (size_t i = 0; i < N; i++) {
        float want = vkt_half_to_float((uint16_t)i);
        if (isnan(want) ? !isnan(got[i]) : memcmp(&got[i], &want, sizeof want) != 0)
            ck_abort_msg("half 0x%04zx: got %a, expected %a", i, (double)got[i], (double)want);
    }
    /* and back: every non-NaN half survives f16 -> f32 -> f16 */
    vkattn_tensor back = vkt_tensor(ctx, VKATTN_F16, 3, shape);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, dst, back), VKATTN_OK);
    uint16_t *round = xmalloc(N * sizeof *round);
    read_raw(ctx, back, round, N * sizeof *round);
    for (size_t i = 0; i < N; i++)
        if (half_is_nan((uint16_t)i) ? !half_is_nan(round[i]) : round[i] != i)
            ck_abort_msg("half 0x%04zx came back 0x%04x", i, round[i]);
    vkattn_tensor_destroy(ctx, src);
    vkattn_tensor_destroy(ctx, dst);
    vkattn_tensor_destroy(ctx, back);
    free(h);
    free(got);
    free(round);
    vkt_context_destroy(ctx);
}
END_TEST

/* The test's own conversion, on hand values straight from the binary16 definition. */
START_TEST(test_half_reference)
{
    ck_assert_uint_eq(vkt_float_to_half(1.0f), 0x3c00);
    ck_assert_uint_eq(vkt_float_to_half(-2.0f), 0xc000);
    ck_assert_uint_eq(vkt_float_to_half(65504.0f), 0x7bff);
    ck_assert_uint_eq(vkt_float_to_half(65520.0f), 0x7c00);
    ck_assert_uint_eq(vkt_float_to_half(0x1p-24f), 0x0001);
    ck_assert_uint_eq(vkt_float_to_half(0x1p-25f), 0x0000);
    ck_assert_uint_eq(vkt_float_to_half(1.5f * 0x1p-24f), 0x0002);
    ck_assert_uint_eq(vkt_float_to_half(0x1p-14f), 0x0400);
    ck_assert_uint_eq(vkt_float_to_half(-0.0f), 0x8000);
    ck_assert_uint_eq(vkt_float_to_half(1.0f + 0x1p-11f), 0x3c00);
    ck_assert_uint_eq(vkt_float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);
    ck_assert_uint_eq(vkt_float_to_half(0.333251953125f), 0x3555); /* 1/3 rounded: 0x155 * 2^-12 + 2^-2 */
    ck_assert(vkt_half_to_float(0x3555) == 0.333251953125f);
    ck_assert(vkt_half_to_float(0x0001) == 0x1p-24f);
    ck_assert(vkt_half_to_float(0x7bff) == 65504.0f);
    ck_assert(vkt_half_to_float(0xfc00) == -INFINITY);
    ck_assert(isnan(vkt_half_to_float(0x7e00)));
    ck_assert(signbit(vkt_half_to_float(0x8000)));
}
END_TEST

/* ---- many and large tensors, counters ----------------------------------------------------------------------------- */

static int64_t small_rows(int k)
{
    return 1 + k % 5;
}

static int64_t small_cols(int k)
{
    return 1 + k % 7;
}

static void fill_small(float *x, int k)
{
    for (int64_t j = 0; j < small_rows(k) * small_cols(k); j++)
        x[j] = (float)k * 64.0f + (float)j;
}

static void check_small(vkattn_context *ctx, vkattn_tensor t, int k)
{
    float want[35], got[35];
    size_t n = (size_t)(small_rows(k) * small_cols(k));
    fill_small(want, k);
    vkt_read_f32(ctx, t, got, n);
    for (size_t j = 0; j < n; j++)
        if (got[j] != want[j])
            ck_abort_msg("tensor %d element %zu: %g, expected %g", k, j, (double)got[j], (double)want[j]);
}

/* 5000 small tensors alive at once: all keep their data; Vulkan packs them into few device allocations. */
START_TEST(test_thousands_of_tensors)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { N = 5000 };
    vkattn_tensor *t = xmalloc(N * sizeof *t);
    uint64_t bytes = 0;
    float x[35];
    for (int k = 0; k < N; k++) {
        const int64_t shape[2] = {small_rows(k), small_cols(k)};
        t[k] = vkt_tensor(ctx, VKATTN_F32, 2, shape);
        fill_small(x, k);
        vkt_write_f32(ctx, t[k], x, (size_t)(shape[0] * shape[1]));
        bytes += (uint64_t)(shape[0] * shape[1]) * sizeof(float);
    }
    vkattn_context_stats s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, N);
    ck_assert_uint_eq(s.bytes_allocated, bytes);
    if (vkattn_context_backend(ctx) == VKATTN_BACKEND_VULKAN)
        ck_assert_msg(s.memory_blocks <= 50, "%llu device allocations for %d tensors",
                      (unsigned long long)s.memory_blocks, N);
    for (int k = 0; k < N; k++)
        check_small(ctx, t[k], k);

    /* free every other one, fill the holes with new tensors, check everything again */
    for (int k = 0; k < N; k += 2)
        vkattn_tensor_destroy(ctx, t[k]);
    for (int k = 0; k < N; k += 2) {
        const int64_t shape[2] = {small_rows(k + N), small_cols(k + N)};
        t[k] = vkt_tensor(ctx, VKATTN_F32, 2, shape);
        fill_small(x, k + N);
        vkt_write_f32(ctx, t[k], x, (size_t)(shape[0] * shape[1]));
    }
    for (int k = 0; k < N; k++)
        check_small(ctx, t[k], k % 2 ? k : k + N);
    for (int k = 0; k < N; k++)
        vkattn_tensor_destroy(ctx, t[k]);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 0);
    ck_assert_uint_eq(s.bytes_allocated, 0);
    free(t);
    vkt_context_destroy(ctx);
}
END_TEST

/* 64 MiB through one tensor, and a view near its end. */
START_TEST(test_large_tensor)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    enum { N = 16 << 20 };
    uint32_t *src = xmalloc((size_t)N * 4), *got = xmalloc((size_t)N * 4);
    for (uint32_t i = 0; i < N; i++)
        src[i] = i * 2654435761u ^ (i >> 7); /* every word different from its neighbours; no NaN concerns: i32 */
    const int64_t shape[3] = {16, 1024, 1024};
    vkattn_tensor t = vkt_tensor(ctx, VKATTN_I32, 3, shape);
    write_raw(ctx, t, src, (size_t)N * 4);
    memset(got, 0, (size_t)N * 4);
    read_raw(ctx, t, got, (size_t)N * 4);
    ck_assert_msg(memcmp(got, src, (size_t)N * 4) == 0, "64 MiB round trip differs");
    vkattn_context_stats s = stats_of(ctx);
    ck_assert_uint_eq(s.bytes_allocated, (uint64_t)N * 4);

    const layout tail = {2, {1000, 3}, {1024, 1}, N - 1000 * 1024};
    vkattn_tensor v = make_view(ctx, t, VKATTN_I32, &tail);
    read_raw(ctx, v, got, 3000 * 4);
    for (int r = 0; r < 1000; r++)
        for (int c = 0; c < 3; c++)
            if (got[r * 3 + c] != src[N - 1000 * 1024 + r * 1024 + c])
                ck_abort_msg("tail view element [%d,%d] differs", r, c);
    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, t);
    free(src);
    free(got);
    vkt_context_destroy(ctx);
}
END_TEST

/* A copy of a tensor larger than the device's storage-buffer range (maxStorageBufferRange, 128 MiB on lavapipe): the
 * Vulkan backend binds it in windows, and the copy is exact. Devices with a range over 1 GiB, and the CPU backend,
 * which has no such limit, are not tried (tests/test_windows.c covers windows of every op with a lowered range). */
START_TEST(test_copy_beyond_binding_range)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(ctx, &info), VKATTN_OK);
    uint64_t range = info.max_storage_buffer_range;
    if (info.backend != VKATTN_BACKEND_VULKAN || range > (1u << 30)) {
        vkt_context_destroy(ctx);
        return;
    }
    const int64_t shape[2] = {(int64_t)(range / 4 / 1024) + 1024, 1024}; /* range + 4 MiB */
    size_t n = (size_t)(shape[0] * shape[1]);
    uint32_t *src = xmalloc(n * 4), *got = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint32_t)i * 2246822519u ^ 0x5bd1e995u;
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_I32, 2, shape), b = vkt_tensor(ctx, VKATTN_I32, 2, shape);
    write_raw(ctx, a, src, n * 4);
    memset(got, 0, n * 4);
    write_raw(ctx, b, got, n * 4);
    vkattn_result r = vkattn_copy(ctx, NULL, a, b);
    ck_assert_msg(r == VKATTN_OK, "copying %zu bytes: %s (%s)", n * 4, vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
    read_raw(ctx, b, got, n * 4);
    ck_assert_msg(memcmp(got, src, n * 4) == 0, "the copy of %zu bytes differs", n * 4);
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, b);
    free(src);
    free(got);
    vkt_context_destroy(ctx);
}
END_TEST

/* tensors_alive counts handles (views too); bytes_allocated counts storage, freed with its last handle. */
START_TEST(test_stats_track_tensors)
{
    vkattn_context *ctx = variant_context(_i);
    if (!ctx)
        return;
    const int64_t s1[3] = {3, 5, 7}, s2[1] = {9}, s3[4] = {2, 2, 2, 3};
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 3, s1);
    vkattn_tensor b = vkt_tensor(ctx, VKATTN_F16, 1, s2);
    vkattn_tensor c = vkt_tensor(ctx, VKATTN_I32, 4, s3);
    const uint64_t bytes_a = 105 * 4, bytes_b = 9 * 2, bytes_c = 24 * 4;
    vkattn_context_stats s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 3);
    ck_assert_uint_eq(s.bytes_allocated, bytes_a + bytes_b + bytes_c);
    ck_assert_uint_ge(s.memory_blocks, 1);

    const layout part = {1, {4}, {0}, 3};
    vkattn_tensor v = make_view(ctx, b, VKATTN_F16, &part);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 4);
    ck_assert_uint_eq(s.bytes_allocated, bytes_a + bytes_b + bytes_c);

    vkattn_tensor_destroy(ctx, b);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 3);
    ck_assert_uint_eq(s.bytes_allocated, bytes_a + bytes_b + bytes_c);
    vkattn_tensor_destroy(ctx, v);
    vkattn_tensor_destroy(ctx, v); /* stale: ignored */
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 2);
    ck_assert_uint_eq(s.bytes_allocated, bytes_a + bytes_c);
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, c);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.tensors_alive, 0);
    ck_assert_uint_eq(s.bytes_allocated, 0);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_dtype_queries)
{
    ck_assert_uint_eq(vkattn_dtype_size(VKATTN_F32), 4);
    ck_assert_uint_eq(vkattn_dtype_size(VKATTN_F16), 2);
    ck_assert_uint_eq(vkattn_dtype_size(VKATTN_I32), 4);
    ck_assert_str_eq(vkattn_dtype_name(VKATTN_F32), "f32");
    ck_assert_str_eq(vkattn_dtype_name(VKATTN_F16), "f16");
    ck_assert_str_eq(vkattn_dtype_name(VKATTN_I32), "i32");
}
END_TEST

static Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *io = tcase_create("transfers and views");
    tcase_set_timeout(io, 120);
    tcase_add_loop_test(io, test_round_trip, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_round_trip_neighbours, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_view_read_write, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_view_of_view, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_view_size1_stride_ignored, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_view_keeps_storage, 0, VARIANT_COUNT);
    tcase_add_loop_test(io, test_stats_track_tensors, 0, VARIANT_COUNT);
    tcase_add_test(io, test_dtype_queries);
    suite_add_tcase(s, io);

    TCase *copy = tcase_create("copy");
    tcase_set_timeout(copy, 120);
    tcase_add_test(copy, test_half_reference);
    tcase_add_loop_test(copy, test_copy_strided, 0, VARIANT_COUNT);
    tcase_add_loop_test(copy, test_copy_paths, 0, VARIANT_COUNT);
    tcase_add_loop_test(copy, test_copy_onto_itself, 0, VARIANT_COUNT);
    tcase_add_loop_test(copy, test_copy_f32_to_f16, 0, VARIANT_COUNT);
    tcase_add_loop_test(copy, test_copy_f16_to_f32, 0, VARIANT_COUNT);
    suite_add_tcase(s, copy);

    TCase *big = tcase_create("many and large");
    tcase_set_timeout(big, 300);
    tcase_add_loop_test(big, test_thousands_of_tensors, 0, VARIANT_COUNT);
    tcase_add_loop_test(big, test_large_tensor, 0, VARIANT_COUNT);
    tcase_add_loop_test(big, test_copy_beyond_binding_range, 0, VARIANT_COUNT);
    suite_add_tcase(s, big);
    return s;
}

int main(void)
{
    return vkt_run_suite(tensor_suite());
}
