/*
 * positions.c - positions tensors and phase tables, shared by vkattn_rope and vkattn_sinusoidal_add.
 */
#include "ops/pe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.28318530717958647693

vkattn__phase_entry vkattn__phase_entry_of(double theta, uint32_t axis)
{
    /* Only the fraction of a turn per step matters at integer positions. theta / 2pi in float64 is off by at most
     * ~1e-17 turns per step, so 2^31 steps drift by less than 3e-7 rad. */
    double turns = theta / TWO_PI;
    double frac = turns - floor(turns);
    double fixed = ldexp(frac, 64);
    uint64_t turn = fixed >= ldexp(1.0, 64) ? 0 : (uint64_t)fixed;
    return (vkattn__phase_entry){(uint32_t)turn, (uint32_t)(turn >> 32), axis, 0};
}

/* The caller's dims as (axes, batch, seq) sizes and strides; returns false when the shape does not fit. */
static bool positions_layout(const vkattn__tensor *t, uint32_t axes, int64_t batch, int64_t seq, int64_t stride[3])
{
    uint32_t lead = axes > 1 ? 1u : 0u; /* an axes dim comes first */
    if (t->ndim != lead + 1 && t->ndim != lead + 2)
        return false;
    bool has_batch = t->ndim == lead + 2;
    if (lead && t->shape[0] != axes)
        return false;
    if (t->shape[t->ndim - 1] != seq || (has_batch && t->shape[lead] != batch))
        return false;
    stride[0] = lead ? t->strides[0] : 0;
    stride[1] = has_batch && batch > 1 ? t->strides[lead] : 0;
    stride[2] = seq > 1 ? t->strides[t->ndim - 1] : 0;
    return true;
}

vkattn_result vkattn__positions_resolve(vkattn_context *ctx, const char *func, vkattn_tensor pos, uint32_t axes,
                                        int64_t batch, int64_t seq, bool *has, vkattn__tensor *out)
{
    *has = pos.id != 0;
    if (!*has)
        return VKATTN_OK;
    vkattn__tensor t;
    vkattn_result r = vkattn__tensor_resolve(ctx, pos, func, "positions", &t);
    if (r != VKATTN_OK)
        return r;
    if (t.dtype != VKATTN_I32)
        return vkattn__error(ctx, VKATTN_ERROR_DTYPE_MISMATCH, "%s: positions are %s (must be i32)", func,
                             vkattn_dtype_name(t.dtype));
    int64_t stride[3];
    char shape[96];
    if (!positions_layout(&t, axes, batch, seq, stride)) {
        const char *want = axes == 1 ? "[seq] or [batch, seq]" : axes == 2 ? "[2, seq] or [2, batch, seq]"
                                                                           : "[3, seq] or [3, batch, seq]";
        return vkattn__error(ctx, VKATTN_ERROR_SHAPE_MISMATCH,
                             "%s: positions have shape %s; expected %s with batch %lld and seq %lld", func,
                             vkattn__shape_str(&t, shape, sizeof shape), want, (long long)batch, (long long)seq);
    }
    *out = (vkattn__tensor){
        .dtype = VKATTN_I32,
        .ndim = 4,
        .shape = {1, axes, batch, seq},
        .strides = {0, stride[0], stride[1], stride[2]},
        .offset = t.offset,
        .storage = t.storage,
    };
    return VKATTN_OK;
}

vkattn_result vkattn__positions_check_offset(vkattn_context *ctx, const char *func, bool has, int32_t pos_offset,
                                             int64_t seq)
{
    if (has && pos_offset != 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT,
                             "%s: desc->pos_offset is %d but a positions tensor is given (use one or the other)",
                             func, pos_offset);
    if (!has && (int64_t)pos_offset + seq - 1 > INT32_MAX)
        return vkattn__error(ctx, VKATTN_ERROR_OVERFLOW,
                             "%s: positions pos_offset + seq - 1 = %lld do not fit in int32", func,
                             (long long)pos_offset + seq - 1);
    return VKATTN_OK;
}

vkattn_result vkattn__positions_extent(vkattn_context *ctx, const char *func, vkattn_tensor pos, bool has,
                                       int32_t pos_offset, int64_t seq, int64_t *extent)
{
    if (!has) {
        *extent = (int64_t)pos_offset + seq;
        return VKATTN_OK;
    }
    uint64_t n = 0;
    vkattn_result r = vkattn_tensor_numel(ctx, pos, &n);
    int32_t *values = r == VKATTN_OK && n <= SIZE_MAX / sizeof *values ? malloc((size_t)n * sizeof *values) : NULL;
    if (r == VKATTN_OK && !values)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory reading the positions",
                             func);
    if (r == VKATTN_OK)
        r = vkattn_tensor_read(ctx, pos, values, (size_t)n * sizeof *values);
    int64_t top = INT32_MIN;
    for (uint64_t i = 0; r == VKATTN_OK && i < n; i++)
        top = values[i] > top ? values[i] : top;
    free(values);
    *extent = top + 1;
    return r;
}

vkattn__op vkattn__pe_op(vkattn__op_kind kind, const char *name, const vkattn__tensor *x, const vkattn__tensor *table,
                         const vkattn__tensor *pos, bool has_pos, const vkattn__tensor *y)
{
    const vkattn__tensor inputs[3] = {*x, *table, has_pos ? *pos : *x};
    return vkattn__op_make(kind, name, inputs, has_pos ? 3 : 2, y, 1);
}
