/*
 * cpu_sinusoidal.c - reference sinusoidal encoding in float64: y = x + PE(p), x as [1, batch, seq, dim], with PE as
 * vkattn.h defines it for each layout (angles reduced exactly through the phase table).
 *
 * Each row gets its PE into a double array (one angle per frequency for both its sin and cos) and adds it in one
 * loop; without memory for that array it falls back to one element at a time.
 */
#include "cpu/cpu_internal.h"

#include <math.h>
#include <stdlib.h>

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

/* pe[0, dim) = PE at position p, the same values as encoding(). */
static void encodings(const vkattn__op *op, int32_t p, int64_t dim, double *pe)
{
    const vkattn__sinusoidal_params *sp = &op->desc.sinusoidal;
    int64_t h = sp->n_freqs;
    bool interleaved = sp->layout == VKATTN_SINUSOIDAL_INTERLEAVED;
    for (int64_t k = 0; k < h; k++) {
        double t = vkattn__cpu_phase_angle(p, vkattn__cpu_phase_entry(op, (uint32_t)k));
        int64_t is = interleaved ? 2 * k : k, ic = interleaved ? 2 * k + 1 : k + h;
        pe[is] = sin(t);
        if (ic < dim)
            pe[ic] = cos(t);
    }
    if (!interleaved && dim > 2 * h)
        pe[2 * h] = 0.0;
}

VKATTN__CPU_VECTOR
static void add(double *row, const double *pe, int64_t n)
{
    for (int64_t e = 0; e < n; e++)
        row[e] += pe[e];
}

static void sinusoidal_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const vkattn__sinusoidal_params *sp = &op->desc.sinusoidal;
    int64_t dim = x->shape[3];
    double *buf = malloc((size_t)(2 * dim) * sizeof *buf + 1);
    for (int64_t r = begin; r < end; r++) {
        int64_t s = r % x->shape[2];
        int64_t b = (r / x->shape[2]) % x->shape[1];
        int32_t p = vkattn__cpu_position(op, sp->has_positions, sp->pos_offset, 0, b, s);
        int64_t xs = vkattn__cpu_row_start(x, r), ys = vkattn__cpu_row_start(y, r);
        if (!buf) {
            for (int64_t e = 0; e < dim; e++)
                vkattn__cpu_store(y, ys + e * y->strides[3], vkattn__cpu_load(x, xs + e * x->strides[3]) +
                                                                 encoding(op, p, e));
            continue;
        }
        encodings(op, p, dim, buf + dim);
        vkattn__cpu_load_row(x, xs, x->strides[3], dim, buf);
        add(buf, buf + dim, dim);
        vkattn__cpu_store_row(y, ys, y->strides[3], dim, buf);
    }
    free(buf);
}

void vkattn__cpu_sinusoidal(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(&op->inputs[0]), op->inputs[0].shape[3], sinusoidal_rows,
                             (void *)op);
}
