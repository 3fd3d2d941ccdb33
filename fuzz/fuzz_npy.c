/*
 * fuzz_npy.c - libFuzzer target for the .npy reader of the CLI (cli/npy.c). npy_read takes a path, so each input
 * goes into a memfd that is read back through /proc/self/fd: a regular file as far as the reader's size check is
 * concerned, with nothing left on disk. Besides the sanitizers, the target checks the reader's promises: on failure
 * the array is empty and the message names the file; on success the array is well formed, and writing it with
 * npy_write and reading that back gives the same array.
 */
#define _GNU_SOURCE /* memfd_create */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd = -1;
static char input_path[64];
static char roundtrip_dir[4096];
static char roundtrip_path[4200];

/* A violated promise of npy.h: abort, which libFuzzer reports as a crash with the input saved. */
static void require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_npy: %s\n", what);
        abort();
    }
}

/* The round-trip file is unlinked after each use; only the directory is left at exit. */
static void remove_roundtrip_dir(void)
{
    rmdir(roundtrip_dir);
}

static void setup(void)
{
    input_fd = memfd_create("fuzz_npy", 0);
    require(input_fd >= 0, "memfd_create failed");
    snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
    /* npy_write fsyncs its output: on tmpfs that costs nothing, on a disk it would dominate every run. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(roundtrip_dir, sizeof roundtrip_dir, "%s/fuzz_npy-XXXXXX", tmp);
    require(mkdtemp(roundtrip_dir) != NULL, "mkdtemp failed");
    snprintf(roundtrip_path, sizeof roundtrip_path, "%s/roundtrip.npy", roundtrip_dir);
    atexit(remove_roundtrip_dir);
}

static bool well_formed(const npy_array *a)
{
    if (a->ndim < 1 || a->ndim > VKATTN_MAX_DIMS || !a->data)
        return false;
    size_t numel = 1;
    for (uint32_t i = 0; i < a->ndim; i++) {
        if (a->shape[i] < 1)
            return false;
        numel *= (size_t)a->shape[i];
    }
    return a->bytes == numel * vkattn_dtype_size(a->dtype);
}

static void check_roundtrip(const npy_array *a)
{
    char err[NPY_ERROR_LEN];
    require(npy_write(roundtrip_path, a, err), "npy_write failed on an array npy_read accepted");
    npy_array b;
    require(npy_read(roundtrip_path, &b, err), "npy_read rejected what npy_write wrote");
    require(b.dtype == a->dtype && b.ndim == a->ndim && b.bytes == a->bytes, "the round trip changed the header");
    require(memcmp(b.shape, a->shape, a->ndim * sizeof a->shape[0]) == 0, "the round trip changed the shape");
    require(memcmp(b.data, a->data, a->bytes) == 0, "the round trip changed the data");
    npy_free(&b);
    unlink(roundtrip_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (input_fd < 0)
        setup();
    require(ftruncate(input_fd, 0) == 0 && pwrite(input_fd, data, size, 0) == (ssize_t)size,
            "cannot write the input to the memfd");
    npy_array a;
    char err[NPY_ERROR_LEN];
    err[0] = '\0';
    if (!npy_read(input_path, &a, err)) {
        require(a.data == NULL && a.ndim == 0 && a.bytes == 0, "a failed npy_read left data in the array");
        require(strncmp(err, input_path, strlen(input_path)) == 0, "the error message does not name the file");
        return 0;
    }
    require(well_formed(&a), "npy_read returned a malformed array");
    check_roundtrip(&a);
    npy_free(&a);
    return 0;
}
