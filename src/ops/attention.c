/*
 * attention.c - vkattn_attention: checks, the RoPE pre-pass (Q at q_offset + i, K at j, into scratch tensors), and
 * either the fused kernel (with a split of the keys for decode on Vulkan) or the unfused composition
 * matmul -> masked softmax -> matmul through a [batch, heads, q_len, kv_len] scores tensor.
 */
#include "ops/attn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The fused kernels keep a query row's accumulator of head_dim floats per invocation group in shared memory. */
#define FUSED_MAX_HEAD_DIM 256
/* Decode split: aim for this many workgroups' worth of (row, split) pairs, with at least this many keys per split. */
#define SPLIT_TARGET_ROWS 128
#define SPLIT_MIN_KEYS 256
#define SPLIT_MAX 64

typedef struct attn_io {
    vkattn__tensor q, k, v, out; /* 4-dim: [batch, seq, heads, head_dim] */
} attn_io;

static vkattn_result shape_error(vkattn_context *ctx, const char *func, const attn_io *t, const char *why)
{
    char sq[96], sk[96], sv[96], so[96];
    return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: %s (q %s, k %s, v %s, out %s)", func, why,
                         vkattn__shape_str(&t->q, sq, sizeof sq), vkattn__shape_str(&t->k, sk, sizeof sk),
                         vkattn__shape_str(&t->v, sv, sizeof sv), vkattn__shape_str(&t->out, so, sizeof so));
}

static vkattn_result check_io(vkattn_context *ctx, const char *func, const attn_io *t)
{
    const vkattn__tensor *all[4] = {&t->q, &t->k, &t->v, &t->out};
    for (int i = 0; i < 4; i++) {
        if (all[i]->ndim < 3)
            return shape_error(ctx, func, t, "q, k, v and out need 3 or 4 dims ([batch,] seq, heads, head_dim)");
        if (all[i]->dtype != t->q.dtype || all[i]->dtype == VKATTN_I32)
            return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH,
                                 "%s: q, k, v and out must share one dtype, f32 or f16 (q %s, k %s, v %s, out %s)",
                                 func, vkattn_dtype_name(t->q.dtype), vkattn_dtype_name(t->k.dtype),
                                 vkattn_dtype_name(t->v.dtype), vkattn_dtype_name(t->out.dtype));
    }
    vkattn__tensor q = vkattn__tensor_as4d(&t->q), k = vkattn__tensor_as4d(&t->k);
    if (!vkattn__same_shape(&t->q, &t->out) || !vkattn__same_shape(&t->k, &t->v))
        return shape_error(ctx, func, t, "out must have q's shape and v must have k's");
    if (k.shape[0] != q.shape[0] || k.shape[3] != q.shape[3])
        return shape_error(ctx, func, t, "q and k differ in batch or head_dim");
    if (q.shape[2] % k.shape[2] != 0)
        return shape_error(ctx, func, t, "kv_heads must divide heads");
    if (vkattn__tensor_self_overlaps(&t->out))
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: the strides of out make elements share memory",
                             func);
    for (int i = 0; i < 3; i++)
        if (vkattn__tensors_overlap(&t->out, all[i]))
            return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH, "%s: out overlaps %s in memory", func,
                                 (const char *[]){"q", "k", "v"}[i]);
    return VKATTN_OK;
}

static vkattn_result resolve_io(vkattn_context *ctx, const char *func, const vkattn_tensor h[4], attn_io *t)
{
    static const char *names[4] = {"q", "k", "v", "out"};
    vkattn__tensor *all[4] = {&t->q, &t->k, &t->v, &t->out};
    for (int i = 0; i < 4; i++) {
        vkattn_result r = vkattn__tensor_resolve(ctx, h[i], func, names[i], all[i]);
        if (r != VKATTN_OK)
            return r;
    }
    vkattn_result r = check_io(ctx, func, t);
    for (int i = 0; r == VKATTN_OK && i < 4; i++)
        *all[i] = vkattn__tensor_as4d(all[i]);
    return r;
}

static vkattn_result check_desc(vkattn_context *ctx, const char *func, const vkattn_attention_desc *d)
{
    if (!isfinite(d->scale))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->scale is %g (must be finite)", func,
                             (double)d->scale);
    if ((unsigned)d->pe > VKATTN_PE_ALIBI)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: desc->pe is not a vkattn_attention_pe value",
                             func);
    if ((d->rope && d->pe != VKATTN_PE_ROPE) || (d->alibi && d->pe != VKATTN_PE_ALIBI))
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->rope / desc->alibi is set but desc->pe does not select it", func);
    if (d->pe == VKATTN_PE_ROPE && d->rope && d->rope->pos_offset != 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: the RoPE desc's pos_offset must be 0 (positions come from desc->q_offset)", func);
    return VKATTN_OK;
}

/* A contiguous tensor shaped like handle `like`, resolved to 4 dims in *t. */
static vkattn_result scratch_like(vkattn_context *ctx, const char *func, vkattn_tensor like, vkattn_tensor *h,
                                  vkattn__tensor *t)
{
    vkattn_tensor_desc desc;
    vkattn_result r = vkattn_tensor_get_desc(ctx, like, &desc);
    if (r == VKATTN_OK) {
        memset(desc.strides, 0, sizeof desc.strides);
        r = vkattn_tensor_create(ctx, &desc, h);
    }
    if (r == VKATTN_OK)
        r = vkattn__tensor_resolve(ctx, *h, func, "scratch", t);
    if (r == VKATTN_OK)
        *t = vkattn__tensor_as4d(t);
    return r;
}

/* RoPE on q (positions q_offset + i) and k (positions j) into scratch tensors that replace them in *t. */
static vkattn_result rope_prepass(vkattn_context *ctx, vkattn_cmd *cmd, const char *func,
                                  const vkattn_attention_desc *d, const vkattn_tensor h[4], attn_io *t,
                                  vkattn_tensor scratch[2])
{
    static const vkattn_rope_desc defaults;
    vkattn_rope_desc rd = d->rope ? *d->rope : defaults;
    if (rd.ctx_len == 0) {
        int64_t c = (int64_t)d->q_offset + t->q.shape[1];
        c = c > t->k.shape[1] ? c : t->k.shape[1];
        rd.ctx_len = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
    }
    vkattn_result r = scratch_like(ctx, func, h[0], &scratch[0], &t->q);
    if (r == VKATTN_OK)
        r = scratch_like(ctx, func, h[1], &scratch[1], &t->k);
    rd.pos_offset = d->q_offset;
    if (r == VKATTN_OK)
        r = vkattn_rope(ctx, cmd, &rd, h[0], (vkattn_tensor){0}, scratch[0]);
    rd.pos_offset = 0;
    if (r == VKATTN_OK)
        r = vkattn_rope(ctx, cmd, &rd, h[1], (vkattn_tensor){0}, scratch[1]);
    return r;
}

/* The [batch, heads, q_len, kv_len] f32 scores of the unfused path, or the split-key scratch of the fused path (f32,
 * n_splits * (head_dim + 2) values per query row and head), as a handle *h resolved to 4 dims in *t. */
static vkattn_result scratch_f32(vkattn_context *ctx, const char *func, uint32_t ndim, const int64_t *shape,
                                 vkattn_tensor *h, vkattn__tensor *t)
{
    vkattn_tensor_desc sd = {.dtype = VKATTN_F32, .ndim = ndim};
    memcpy(sd.shape, shape, ndim * sizeof shape[0]);
    vkattn_result r = vkattn_tensor_create(ctx, &sd, h);
    if (r == VKATTN_OK)
        r = vkattn__tensor_resolve(ctx, *h, func, "scratch", t);
    if (r == VKATTN_OK)
        *t = vkattn__tensor_as4d(t);
    return r;
}

static vkattn_result unfused(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const attn_io *t, float scale,
                             const vkattn__mask_params *mp, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                             const vkattn__tensor *s)
{
    vkattn__tensor q = vkattn__swap_dims(&t->q, 1, 2), k = vkattn__swap_dims(&t->k, 1, 2);
    vkattn__tensor kt = vkattn__swap_dims(&k, 2, 3), v = vkattn__swap_dims(&t->v, 1, 2);
    vkattn__tensor out = vkattn__swap_dims(&t->out, 1, 2);
    vkattn_result r = vkattn__matmul_op(ctx, cmd, func, scale, &q, &kt, s);
    if (r == VKATTN_OK) {
        vkattn__op op = vkattn__softmax_op(s, s, 1.0f, mp, mask, slopes);
        r = vkattn__submit_op(ctx, cmd, &op, func);
    }
    if (r == VKATTN_OK)
        r = vkattn__matmul_op(ctx, cmd, func, 1.0f, s, &v, &out);
    return r;
}

/* Splits of the keys for decode on Vulkan: few query rows leave most of a GPU idle unless the keys are shared out. */
static uint32_t choose_splits(const vkattn_context *ctx, const attn_io *t)
{
    if (ctx->info.backend != VKATTN_BACKEND_VULKAN)
        return 1;
    uint64_t rows = (uint64_t)t->q.shape[0] * (uint64_t)t->q.shape[1] * (uint64_t)t->q.shape[2];
    uint64_t kv = (uint64_t)t->k.shape[1];
    if (rows >= SPLIT_TARGET_ROWS || kv < 2 * SPLIT_MIN_KEYS)
        return 1;
    uint64_t by_rows = (SPLIT_TARGET_ROWS + rows - 1) / rows, by_keys = kv / SPLIT_MIN_KEYS;
    uint64_t n = by_rows < by_keys ? by_rows : by_keys;
    return (uint32_t)(n < SPLIT_MAX ? n : SPLIT_MAX);
}

/* split: the split-key scratch when splits > 1. */
static vkattn_result fused(vkattn_context *ctx, vkattn_cmd *cmd, const char *func, const attn_io *t, float scale,
                           const vkattn__mask_params *mp, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                           uint32_t splits, const vkattn__tensor *split)
{
    const vkattn__tensor inputs[5] = {t->q, t->k, t->v, *mask, *slopes};
    const vkattn__tensor outputs[2] = {t->out, splits > 1 ? *split : t->out};
    vkattn__op op = vkattn__op_make(VKATTN__OP_ATTENTION, "attention", inputs, 5, outputs, splits > 1 ? 2 : 1);
    uint32_t kv = (uint32_t)t->k.shape[1];
    op.desc.attention = (vkattn__attention_params){
        .scale = scale,
        .mask = *mp,
        .group = (uint32_t)(t->q.shape[2] / t->k.shape[2]),
        .n_splits = splits,
        .split_len = (kv + splits - 1) / splits,
    };
    return vkattn__submit_op(ctx, cmd, &op, func);
}

/* Everything that can fail before the first op is recorded, so that a failing call leaves a command list as it
 * was: the fused kernel's head_dim limit, then the scratch tensor of the chosen path (its handle in *h). */
static vkattn_result prepare(vkattn_context *ctx, const char *func, const vkattn_attention_desc *d, const attn_io *t,
                             uint32_t *splits, vkattn_tensor *h, vkattn__tensor *scratch)
{
    int64_t dim = t->q.shape[3];
    *splits = d->unfused ? 1 : choose_splits(ctx, t);
    if (d->unfused) {
        const int64_t shape[4] = {t->q.shape[0], t->q.shape[2], t->q.shape[1], t->k.shape[1]};
        return scratch_f32(ctx, func, 4, shape, h, scratch);
    }
    if (dim > FUSED_MAX_HEAD_DIM)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: head_dim %lld is above the fused kernel's %d; set desc->unfused", func,
                             (long long)dim, FUSED_MAX_HEAD_DIM);
    if (*splits == 1)
        return VKATTN_OK;
    const int64_t values = t->q.shape[0] * t->q.shape[1] * t->q.shape[2] * (int64_t)*splits * (dim + 2);
    return scratch_f32(ctx, func, 1, &values, h, scratch);
}

/* Internal public calls (scratch tensor creation, the RoPE pre-pass) report under their own names; the caller
 * called vkattn_attention, so their message gets that name in front. */
static vkattn_result own_error(vkattn_context *ctx, const char *func, vkattn_result r)
{
    const char *msg = vkattn_context_last_error(ctx);
    if (r == VKATTN_OK || strncmp(msg, func, strlen(func)) == 0)
        return r;
    char inner[VKATTN__ERROR_LEN];
    snprintf(inner, sizeof inner, "%s", msg);
    return vkattn__error(ctx, r, "%s: %s", func, inner);
}

vkattn_result vkattn_attention(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn_attention_desc *desc,
                               vkattn_tensor q, vkattn_tensor k, vkattn_tensor v, vkattn_tensor out)
{
    static const char func[] = "vkattn_attention";
    static const vkattn_attention_desc defaults;
    static const vkattn_alibi_desc paper_slopes;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    const vkattn_attention_desc *d = desc ? desc : &defaults;
    const vkattn_tensor handles[4] = {q, k, v, out};
    attn_io t;
    vkattn_result r = check_desc(ctx, func, d);
    if (r == VKATTN_OK)
        r = resolve_io(ctx, func, handles, &t);
    if (r != VKATTN_OK)
        return r;
    float scale = d->scale != 0.0f ? d->scale : (float)(1.0 / sqrt((double)t.q.shape[3]));
    const int64_t scores[4] = {t.q.shape[0], t.q.shape[2], t.q.shape[1], t.k.shape[1]};
    vkattn__mask_request req = {d->causal, d->q_offset, d->window, d->mask,
                                d->pe == VKATTN_PE_ALIBI ? (d->alibi ? d->alibi : &paper_slopes) : NULL};
    vkattn__mask_params mp;
    vkattn__tensor mask, slopes, scratch;
    uint32_t splits = 1;
    r = vkattn__mask_setup(ctx, func, &req, scores, &t.q, &t.out, &mp, &mask, &slopes);
    /* Scratch handles are dropped at the end: recorded ops keep their storage alive. */
    vkattn_tensor handles_scratch[3] = {{0}, {0}, {0}};
    if (r == VKATTN_OK)
        r = prepare(ctx, func, d, &t, &splits, &handles_scratch[2], &scratch);
    if (r == VKATTN_OK && d->pe == VKATTN_PE_ROPE)
        r = rope_prepass(ctx, cmd, func, d, handles, &t, handles_scratch);
    if (r == VKATTN_OK)
        r = d->unfused ? unfused(ctx, cmd, func, &t, scale, &mp, &mask, &slopes, &scratch)
                       : fused(ctx, cmd, func, &t, scale, &mp, &mask, &slopes, splits, &scratch);
    for (int i = 0; i < 3; i++)
        vkattn_tensor_destroy(ctx, handles_scratch[i]);
    return own_error(ctx, func, r);
}
