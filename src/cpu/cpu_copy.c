/*
 * cpu_copy.c - reference copy: same-dtype elements are copied bit for bit, f32 <-> f16 converted (nearest even).
 */
#include "cpu/cpu_internal.h"

/* Rows converted through a double buffer of this many elements at a time. */
#define CONVERT_BLOCK 1024

static void copy_rows(void *arg, int64_t begin, int64_t end)
{
    const vkattn__op *op = arg;
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    size_t size = vkattn_dtype_size(src->dtype);
    const unsigned char *from = vkattn__cpu_data(src);
    unsigned char *to = vkattn__cpu_data(dst);
    int64_t n = src->shape[3], ss = src->strides[3], ds = dst->strides[3];
    double buf[CONVERT_BLOCK];
    for (int64_t r = begin; r < end; r++) {
        int64_t s = vkattn__cpu_row_start(src, r), d = vkattn__cpu_row_start(dst, r);
        if (src->dtype != dst->dtype) {
            for (int64_t j = 0; j < n; j += CONVERT_BLOCK) {
                int64_t len = n - j < CONVERT_BLOCK ? n - j : CONVERT_BLOCK;
                vkattn__cpu_load_row(src, s + j * ss, ss, len, buf);
                vkattn__cpu_store_row(dst, d + j * ds, ds, len, buf);
            }
        } else if (ss == 1 && ds == 1) {
            memmove(to + (size_t)d * size, from + (size_t)s * size, (size_t)n * size);
        } else {
            for (int64_t j = 0; j < n; j++, s += ss, d += ds)
                memcpy(to + (size_t)d * size, from + (size_t)s * size, size);
        }
    }
}

void vkattn__cpu_copy(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    vkattn__cpu_parallel_for(pool, vkattn__cpu_rows(&op->inputs[0]), op->inputs[0].shape[3], copy_rows,
                             (void *)op);
}

/* vkattn_copy_buffer's bytes in blocks of BYTE_BLOCK (the last one short). */
#define BYTE_BLOCK 4096

typedef struct byte_job {
    unsigned char *to;
    const unsigned char *from;
    size_t bytes;
} byte_job;

static void copy_blocks(void *arg, int64_t begin, int64_t end)
{
    const byte_job *j = arg;
    size_t lo = (size_t)begin * BYTE_BLOCK, hi = (size_t)end * BYTE_BLOCK;
    hi = hi < j->bytes ? hi : j->bytes;
    memcpy(j->to + lo, j->from + lo, hi - lo);
}

void vkattn__cpu_copy_buffer(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    byte_job j = {vkattn__cpu_data(dst) + (size_t)dst->offset * vkattn_dtype_size(dst->dtype),
                  vkattn__cpu_data(src) + (size_t)src->offset * vkattn_dtype_size(src->dtype),
                  (size_t)vkattn__tensor_numel(src) * vkattn_dtype_size(src->dtype)};
    vkattn__cpu_parallel_for(pool, (int64_t)((j.bytes + BYTE_BLOCK - 1) / BYTE_BLOCK), BYTE_BLOCK / 4, copy_blocks,
                             &j);
}
