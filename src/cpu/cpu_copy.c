/*
 * cpu_copy.c - reference copy: same-dtype elements are copied bit for bit, f32 <-> f16 converted (nearest even).
 */
#include "cpu/cpu_internal.h"

void vkattn__cpu_copy(const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    size_t size = vkattn_dtype_size(src->dtype);
    bool convert = src->dtype != dst->dtype;
    const unsigned char *from = vkattn__cpu_data(src);
    unsigned char *to = vkattn__cpu_data(dst);
    for (int64_t r = 0; r < vkattn__cpu_rows(src); r++) {
        int64_t s = vkattn__cpu_row_start(src, r), d = vkattn__cpu_row_start(dst, r);
        for (int64_t j = 0; j < src->shape[3]; j++, s += src->strides[3], d += dst->strides[3]) {
            if (convert)
                vkattn__cpu_store(dst, d, vkattn__cpu_load(src, s));
            else
                memcpy(to + (size_t)d * size, from + (size_t)s * size, size);
        }
    }
}

void vkattn__cpu_copy_buffer(const vkattn__op *op)
{
    const vkattn__tensor *src = &op->inputs[0], *dst = &op->outputs[0];
    size_t bytes = (size_t)vkattn__tensor_numel(src) * vkattn_dtype_size(src->dtype);
    memcpy((unsigned char *)vkattn__cpu_data(dst) + (size_t)dst->offset * vkattn_dtype_size(dst->dtype),
           (const unsigned char *)vkattn__cpu_data(src) + (size_t)src->offset * vkattn_dtype_size(src->dtype), bytes);
}
