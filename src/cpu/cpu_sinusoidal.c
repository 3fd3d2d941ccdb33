/*
 * cpu_sinusoidal.c - reference sinusoidal encoding in float64: y = x + PE(p), x as [1, batch, seq, dim], with PE as
 * vkattn.h defines it for each layout (angles reduced exactly through the phase table).
 */
#include "cpu/cpu_internal.h"

#include <math.h>

/* PE[e] at position p. */
static double encoding(const vkattn__op *op, int32_t p, int64_t e)
{
    const vkattn__sinusoidal_params *sp = &op->desc.sinusoidal;
    int64_t h = sp->n_freqs;
    if (sp->layout == VKATTN_SINUSOIDAL_INTERLEAVED) {
        double t = vkattn__cpu_phase_angle(p, vkattn__cpu_phase_entry(op, (uint32_t)(e / 2)));
        return e % 2 == 0 ? sin(t) : cos(t);
    }
    if (e >= 2 * h)
        return 0.0; /* the last element of an odd dim */
    double t = vkattn__cpu_phase_angle(p, vkattn__cpu_phase_entry(op, (uint32_t)(e % h)));
    return e < h ? sin(t) : cos(t);
}

void vkattn__cpu_sinusoidal(const vkattn__op *op)
{
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__sinusoidal_params *sp = &op->desc.sinusoidal;
    for (int64_t r = 0; r < vkattn__cpu_rows(x); r++) {
        int64_t s = r % x->shape[2];
        int64_t b = (r / x->shape[2]) % x->shape[1];
        int32_t p = vkattn__cpu_position(op, sp->has_positions, sp->pos_offset, 0, b, s);
        int64_t xs = vkattn__cpu_row_start(x, r), ys = vkattn__cpu_row_start(y, r);
        for (int64_t e = 0; e < x->shape[3]; e++) {
            double v = vkattn__cpu_load(x, xs + e * x->strides[3]) + encoding(op, p, e);
            vkattn__cpu_store(y, ys + e * y->strides[3], v);
        }
    }
}
