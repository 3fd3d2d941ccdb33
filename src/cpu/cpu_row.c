/*
 * cpu_row.c - a row of a tensor to and from a double array, with the dtype chosen once per row rather than per
 * element, so that the kernels' arithmetic runs as plain loops over doubles that the compiler vectorises.
 */
#include "cpu/cpu_internal.h"

VKATTN__CPU_VECTOR
static void load_f32(const float *p, int64_t step, int64_t n, double *out)
{
    if (step == 1) {
        for (int64_t j = 0; j < n; j++)
            out[j] = p[j];
        return;
    }
    for (int64_t j = 0; j < n; j++)
        out[j] = p[j * step];
}

VKATTN__CPU_VECTOR
static void store_f32(float *p, int64_t step, int64_t n, const double *v)
{
    if (step == 1) {
        for (int64_t j = 0; j < n; j++)
            p[j] = (float)v[j];
        return;
    }
    for (int64_t j = 0; j < n; j++)
        p[j * step] = (float)v[j];
}

/* Storage comes from calloc and offsets count whole elements, so an f32 row is read through an aligned float
 * pointer. */
void vkattn__cpu_load_row(const vkattn__tensor *t, int64_t start, int64_t step, int64_t n, double *out)
{
    if (t->dtype == VKATTN_F32) {
        load_f32((const float *)(const void *)vkattn__cpu_data(t) + start, step, n, out);
        return;
    }
    if (t->dtype == VKATTN_F16) {
        const unsigned char *p = vkattn__cpu_data(t);
        for (int64_t j = 0; j < n; j++) {
            uint16_t h;
            memcpy(&h, p + (start + j * step) * 2, sizeof h);
            out[j] = vkattn__half_to_float(h);
        }
        return;
    }
    for (int64_t j = 0; j < n; j++)
        out[j] = vkattn__cpu_load(t, start + j * step);
}

void vkattn__cpu_store_row(const vkattn__tensor *t, int64_t start, int64_t step, int64_t n, const double *v)
{
    if (t->dtype == VKATTN_F32) {
        store_f32((float *)(void *)vkattn__cpu_data(t) + start, step, n, v);
        return;
    }
    if (t->dtype == VKATTN_F16) {
        unsigned char *p = vkattn__cpu_data(t);
        for (int64_t j = 0; j < n; j++) {
            uint16_t h = vkattn__float_to_half((float)v[j]);
            memcpy(p + (start + j * step) * 2, &h, sizeof h);
        }
        return;
    }
    for (int64_t j = 0; j < n; j++)
        vkattn__cpu_store(t, start + j * step, v[j]);
}
