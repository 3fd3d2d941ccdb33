/*
 * npy.h - NumPy .npy files (format versions 1.0, 2.0, 3.0) holding the dtypes vkattn tensors use.
 *
 * Format (numpy/lib/format.py, "NEP 1"): the magic "\x93NUMPY", a major and a minor version byte, the header length
 * (little-endian uint16 for 1.0, uint32 for 2.0 and 3.0), then the header: a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ending in '\n', then the array data in C order with nothing after it.
 *
 * Accepted: descr '<f4', '<f2', '<i4' ('=' for '<': native order is little-endian on every host this program
 * supports), C order, 1 to 4 dims each >= 1, data exactly numel * itemsize bytes.
 */
#ifndef VKATTN_CLI_NPY_H
#define VKATTN_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "vkattn.h"

/* Room for an error message: the file's path, then what is wrong with it. */
#define NPY_ERROR_LEN 1024

typedef struct npy_array {
    vkattn_dtype dtype;
    uint32_t ndim;                  /* 1 to VKATTN_MAX_DIMS */
    int64_t shape[VKATTN_MAX_DIMS]; /* each >= 1 */
    void *data;                     /* C order, little-endian; malloc'd by npy_read */
    size_t bytes;                   /* numel * vkattn_dtype_size(dtype) */
} npy_array;

/* Reads the file into *out (data malloc'd; release with npy_free). On failure returns false, leaves *out empty and
 * writes "<path>: <what is wrong>" to err. */
bool npy_read(const char *path, npy_array *out, char err[NPY_ERROR_LEN]);

/* Writes a version 1.0 file. The data goes to a temporary file in the same directory that is renamed over `path`
 * only when complete, so a failure leaves neither a partial file nor a damaged old one. */
bool npy_write(const char *path, const npy_array *array, char err[NPY_ERROR_LEN]);

/* Frees the data and empties the array. */
void npy_free(npy_array *array);

#endif /* VKATTN_CLI_NPY_H */
