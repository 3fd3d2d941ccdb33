/*
 * fuzz_desc.c - libFuzzer target for the op front ends: the input bytes become small tensors (new ones and strided
 * views with arbitrary strides and offsets), their contents, and every field of an op desc, and the op runs on a
 * CPU-backend context, immediately or through a command list. Any result code is fine; what must never happen is
 * a crash or a sanitizer report (out-of-bounds access, signed overflow, a NaN turned into an index ...).
 *
 * Input layout (every read past the end gives zeros, so any byte string is a valid input):
 *   u8 tensor count, then per tensor a kind byte and its fields (see make_tensor), then u8 content style,
 *   then u8 op, u8 flags (bit 0: command list), the op's desc fields and the slots of its tensors.
 * Values come from pick_* helpers: most bytes select a small or typical value, a few mark raw bytes that follow,
 * so both ordinary calls and hostile extremes (NaN, INT64_MIN strides, 2^31 positions) are reachable.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vkattn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Storage the context may hold: small enough that even a view-built attention or matmul stays fast, large enough
 * for the scratch and tables of every op on the tensors made here. */
#define FUZZ_MEMORY_LIMIT (64u * 1024u)
#define MAX_TENSORS 6
/* Room for the per-frequency and per-head arrays a desc points at; counts are capped to fit. */
#define MAX_ARRAY 64

typedef struct input {
    const uint8_t *p, *end;
} input;

static uint8_t u8(input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static void raw(input *in, void *dst, size_t n)
{
    size_t have = (size_t)(in->end - in->p);
    size_t take = have < n ? have : n;
    memset(dst, 0, n);
    memcpy(dst, in->p, take);
    in->p += take;
}

static bool flag(input *in)
{
    return u8(in) & 1u;
}

/* 0..199: a value from the table; 200..255: the raw 8 bytes that follow. */
static double pick_f64(input *in)
{
    static const double common[] = {0.0, 1.0, 2.0, 0.5, 10000.0, 500000.0, -1.0, 4.0, 8.0, 32.0, 1.5, 0.1, 1e-30,
                                    1e30, 40.0, 0.25, 1.0001, 3.0, 16.0, -0.5, INFINITY, -INFINITY, NAN};
    uint8_t b = u8(in);
    if (b < 200)
        return common[b % (sizeof common / sizeof common[0])];
    double v;
    raw(in, &v, sizeof v);
    return v;
}

static float pick_f32(input *in)
{
    return (float)pick_f64(in);
}

/* 0..199: a small value (some negative); 200..255: raw 4 bytes. */
static int32_t pick_i32(input *in)
{
    static const int32_t common[] = {0, 1, 2, 3, 4, 7, 8, 16, 100, 4096, -1, -2, -100, INT32_MAX, INT32_MIN,
                                     INT32_MAX - 3};
    uint8_t b = u8(in);
    if (b < 120)
        return common[b % (sizeof common / sizeof common[0])];
    if (b < 200)
        return b - 120;
    int32_t v;
    raw(in, &v, sizeof v);
    return v;
}

static uint32_t pick_u32(input *in)
{
    return (uint32_t)pick_i32(in);
}

/* Dims and strides: mostly 0..16, sometimes any int64. */
static int64_t pick_i64(input *in)
{
    uint8_t b = u8(in);
    if (b < 230)
        return b % 17;
    if (b < 240)
        return -(int64_t)(b - 229);
    int64_t v;
    raw(in, &v, sizeof v);
    return v;
}

/* A dtype: almost always a real one, sometimes any value. */
static vkattn_dtype pick_dtype(input *in)
{
    uint8_t b = u8(in);
    return (vkattn_dtype)(b < 240 ? b % 3 : b);
}

/* ---- tensors ----------------------------------------------------------------------------------------------------- */

typedef struct fuzz_state {
    vkattn_context *ctx;
    vkattn_tensor t[MAX_TENSORS];
    uint32_t count;
    float arrays[3][MAX_ARRAY]; /* short_factor, long_factor / slopes, freq_factors */
} fuzz_state;

static void pick_shape(input *in, vkattn_tensor_desc *d, bool strides)
{
    d->dtype = pick_dtype(in);
    d->ndim = u8(in) % 6; /* 0 and 5 are invalid */
    for (uint32_t i = 0; i < VKATTN_MAX_DIMS; i++) {
        uint8_t b = u8(in);
        d->shape[i] = b < 240 ? 1 + b % 8 : pick_i64(in);
        d->strides[i] = strides ? pick_i64(in) : 0;
    }
}

/* Kind 0, 1: a new tensor; 2: a view of an earlier one; 3: a made-up handle (stale, foreign or zero). */
static void make_tensor(fuzz_state *s, input *in)
{
    vkattn_tensor *out = &s->t[s->count++];
    uint8_t kind = u8(in) % 4;
    vkattn_tensor_desc d = {0};
    if (kind == 2 && s->count > 1) {
        vkattn_tensor base = s->t[u8(in) % (s->count - 1)];
        pick_shape(in, &d, true);
        uint8_t b = u8(in);
        int64_t offset = b < 200 ? b % 64 : pick_i64(in);
        if (vkattn_tensor_view(s->ctx, base, &d, offset, out) != VKATTN_OK)
            out->id = 0;
    } else if (kind == 3) {
        raw(in, &out->id, sizeof out->id);
    } else {
        pick_shape(in, &d, false);
        if (vkattn_tensor_create(s->ctx, &d, out) != VKATTN_OK)
            out->id = 0;
    }
}

/* Element values: raw input bytes (any bit pattern: NaN, inf, huge positions), or a fixed mix of ordinary values. */
static void fill_tensor(fuzz_state *s, input *in, vkattn_tensor t, uint8_t style)
{
    vkattn_tensor_desc d;
    uint64_t numel;
    if (vkattn_tensor_get_desc(s->ctx, t, &d) != VKATTN_OK || vkattn_tensor_numel(s->ctx, t, &numel) != VKATTN_OK)
        return;
    size_t bytes = (size_t)numel * vkattn_dtype_size(d.dtype);
    unsigned char *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return;
    if (style & 1u) {
        raw(in, buf, bytes);
    } else {
        for (size_t i = 0; i < bytes; i++)
            buf[i] = (unsigned char)(d.dtype == VKATTN_I32 ? (i % 4 == 0 ? i / 4 % 7 : 0) : (i * 37 + style) % 61);
    }
    vkattn_tensor_write(s->ctx, t, buf, bytes);
    free(buf);
}

static vkattn_tensor slot(fuzz_state *s, input *in)
{
    uint8_t b = u8(in) % (s->count + 1);
    return b < s->count ? s->t[b] : (vkattn_tensor){0};
}

/* ---- descs ------------------------------------------------------------------------------------------------------- */

static void fill_array(input *in, float *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        a[i] = pick_f32(in);
}

static void pick_rope(fuzz_state *s, input *in, vkattn_rope_desc *d)
{
    memset(d, 0, sizeof *d);
    d->mode = (vkattn_rope_mode)(u8(in) % 3);
    d->rot_dims = u8(in) < 200 ? 2u * (u8(in) % 9) : pick_u32(in);
    d->base = pick_f64(in);
    d->pos_offset = pick_i32(in);
    d->scaling = (vkattn_rope_scaling)(u8(in) % 8);
    d->factor = pick_f64(in);
    d->orig_ctx = pick_u32(in);
    d->ctx_len = pick_u32(in);
    d->beta_fast = pick_f64(in);
    d->beta_slow = pick_f64(in);
    d->attn_factor = pick_f64(in);
    d->yarn_mscale = pick_f64(in);
    d->yarn_mscale_all_dim = pick_f64(in);
    d->low_freq_factor = pick_f64(in);
    d->high_freq_factor = pick_f64(in);
    uint8_t arrays = u8(in);
    d->factor_count = u8(in) % (MAX_ARRAY + 1);
    for (int i = 0; i < 3; i++)
        fill_array(in, s->arrays[i], (arrays >> i) & 1u ? d->factor_count : 0);
    d->short_factor = (arrays & 1u) ? s->arrays[0] : NULL;
    d->long_factor = (arrays & 2u) ? s->arrays[1] : NULL;
    d->freq_factors = (arrays & 4u) ? s->arrays[2] : NULL;
    d->axes = (vkattn_rope_axes)(u8(in) % 4);
    for (int i = 0; i < 3; i++)
        d->mrope_section[i] = u8(in) % 16;
    d->flags = u8(in) % 4;
}

static void pick_alibi(fuzz_state *s, input *in, vkattn_alibi_desc *d)
{
    memset(d, 0, sizeof *d);
    if (flag(in)) {
        d->slope_count = u8(in) % (MAX_ARRAY + 1);
        fill_array(in, s->arrays[1], d->slope_count);
        d->slopes = s->arrays[1];
    } else {
        d->slope_count = u8(in) % 2; /* a count without slopes is an error to report */
    }
    d->max_bias = pick_f32(in);
    d->q_offset = pick_i32(in);
    d->causal = flag(in);
    d->train_len = pick_u32(in);
    d->grid_width = u8(in) < 200 ? u8(in) % 5 : pick_u32(in);
}

/* The desc pointer the op gets: NULL (defaults) for one byte value in eight. */
static bool use_desc(input *in)
{
    return u8(in) % 8 != 0;
}

static void run_rope(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_rope_desc d;
    pick_rope(s, in, &d);
    bool with = use_desc(in);
    vkattn_tensor x = slot(s, in), pos = slot(s, in), y = slot(s, in);
    vkattn_rope(s->ctx, cmd, with ? &d : NULL, x, pos, y);
}

static void run_alibi(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_alibi_desc d;
    pick_alibi(s, in, &d);
    bool with = use_desc(in);
    vkattn_tensor x = slot(s, in), y = slot(s, in);
    vkattn_alibi(s->ctx, cmd, with ? &d : NULL, x, y);
}

static void run_sinusoidal(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_sinusoidal_desc d = {0};
    d.layout = (vkattn_sinusoidal_layout)(u8(in) % 3);
    d.base = pick_f64(in);
    d.pos_offset = pick_i32(in);
    bool with = use_desc(in);
    vkattn_tensor x = slot(s, in), pos = slot(s, in), y = slot(s, in);
    vkattn_sinusoidal_add(s->ctx, cmd, with ? &d : NULL, x, pos, y);
}

static void run_softmax(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_softmax_desc d = {0};
    vkattn_alibi_desc alibi;
    d.scale = pick_f32(in);
    d.mask = slot(s, in);
    d.causal = flag(in);
    d.q_offset = pick_i32(in);
    d.window = pick_u32(in);
    if (flag(in)) {
        pick_alibi(s, in, &alibi);
        d.alibi = &alibi;
    }
    bool with = use_desc(in);
    vkattn_tensor x = slot(s, in), y = slot(s, in);
    vkattn_softmax(s->ctx, cmd, with ? &d : NULL, x, y);
}

static void run_matmul(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_matmul_desc d = {0};
    d.scale = pick_f32(in);
    d.transpose_b = flag(in);
    bool with = use_desc(in);
    vkattn_tensor a = slot(s, in), b = slot(s, in), c = slot(s, in);
    vkattn_matmul(s->ctx, cmd, with ? &d : NULL, a, b, c);
}

static void run_attention(fuzz_state *s, input *in, vkattn_cmd *cmd)
{
    vkattn_attention_desc d = {0};
    vkattn_rope_desc rope;
    vkattn_alibi_desc alibi;
    d.scale = pick_f32(in);
    d.causal = flag(in);
    d.q_offset = pick_i32(in);
    d.window = pick_u32(in);
    d.mask = slot(s, in);
    d.pe = (vkattn_attention_pe)(u8(in) % 4);
    if (flag(in)) {
        pick_rope(s, in, &rope);
        d.rope = &rope;
    }
    if (flag(in)) {
        pick_alibi(s, in, &alibi);
        d.alibi = &alibi;
    }
    d.unfused = flag(in);
    bool with = use_desc(in);
    vkattn_tensor q = slot(s, in), k = slot(s, in), v = slot(s, in), out = slot(s, in);
    vkattn_attention(s->ctx, cmd, with ? &d : NULL, q, k, v, out);
}

/* The context-free helpers share the desc checks of the ops. */
static void run_tables(fuzz_state *s, input *in)
{
    vkattn_rope_desc rope;
    vkattn_alibi_desc alibi;
    double inv_freq[256], attn_factor;
    float slopes[MAX_ARRAY];
    pick_rope(s, in, &rope);
    uint32_t head_dim = pick_u32(in);
    bool with = use_desc(in);
    uint32_t capacity = u8(in); /* at most 255 of the 256 entries */
    vkattn_rope_frequencies(with ? &rope : NULL, head_dim, inv_freq, capacity, &attn_factor);
    pick_alibi(s, in, &alibi);
    uint32_t heads = u8(in) % (MAX_ARRAY + 1);
    with = use_desc(in);
    uint32_t k_len = pick_u32(in);
    vkattn_alibi_slopes(with ? &alibi : NULL, heads, k_len, slopes);
}

/* ---- one input --------------------------------------------------------------------------------------------------- */

static void run_op(fuzz_state *s, input *in)
{
    uint8_t op = u8(in) % 7;
    vkattn_cmd *cmd = NULL;
    if ((u8(in) & 1u) && vkattn_cmd_create(s->ctx, NULL, &cmd) != VKATTN_OK)
        return;
    switch (op) {
    case 0: run_rope(s, in, cmd); break;
    case 1: run_alibi(s, in, cmd); break;
    case 2: run_sinusoidal(s, in, cmd); break;
    case 3: run_softmax(s, in, cmd); break;
    case 4: run_matmul(s, in, cmd); break;
    case 5: run_attention(s, in, cmd); break;
    default: run_tables(s, in); break;
    }
    if (cmd && vkattn_cmd_submit(cmd) == VKATTN_OK)
        vkattn_cmd_wait(cmd, UINT64_MAX);
    vkattn_cmd_destroy(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, data + size};
    fuzz_state s = {0};
    vkattn_context_desc cd = {.backend = VKATTN_BACKEND_CPU, .memory_limit = FUZZ_MEMORY_LIMIT,
                              .flags = VKATTN_CONTEXT_IGNORE_ENV};
    if (vkattn_context_create(&cd, &s.ctx) != VKATTN_OK)
        abort(); /* the CPU backend has no reason to fail here */
    uint32_t n = 1u + u8(&in) % MAX_TENSORS;
    while (s.count < n)
        make_tensor(&s, &in);
    uint8_t style = u8(&in);
    for (uint32_t i = 0; i < s.count; i++)
        fill_tensor(&s, &in, s.t[i], style);
    run_op(&s, &in);
    /* Half the inputs destroy their tensors first, the rest leave them to the context. */
    if (style & 2u) {
        for (uint32_t i = 0; i < s.count; i++)
            vkattn_tensor_destroy(s.ctx, s.t[i]);
    }
    vkattn_context_destroy(s.ctx);
    return 0;
}
