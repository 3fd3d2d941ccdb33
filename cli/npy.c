/*
 * npy.c - reading and writing NumPy .npy files (format described in npy.h and in numpy/lib/format.py).
 *
 * The reader trusts nothing in the file: every length is bounded before it is used, the data size the header
 * implies is compared with the file size before any allocation, and the header dict is parsed as the small subset
 * of Python literal syntax that numpy writes (strings, True/False, tuples of integers), keys in any order.
 */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Magic and two version bytes; the header length follows (2 bytes in version 1.0, 4 in 2.0 and 3.0). */
#define NPY_PREAMBLE_LEN 8
/* numpy's writers never produce a header near this size; anything larger is a corrupt or hostile file. */
#define NPY_MAX_HEADER_LEN (1u << 20)
/* numpy pads the header so the data starts at a multiple of 64 bytes (format.py ARRAY_ALIGN). */
#define NPY_ALIGN 64
/* Room for a descr string; "<f4" needs 4 bytes, longer strings are reported as unsupported. */
#define NPY_DESCR_LEN 16
/* Room for a version 1.0 preamble and header of up to 4 dims (each at most 19 digits), padded to NPY_ALIGN. */
#define NPY_WRITE_HEADER_CAP 256
/* Room for "(d0, d1, d2, d3)" with 19-digit dims. */
#define NPY_SHAPE_STR_LEN 96

#if defined(__GNUC__) || defined(__clang__)
#  define NPY_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#  define NPY_PRINTF(fmt_idx, args_idx)
#endif

typedef struct npy_dtype_code {
    const char *code; /* descr without the byte-order character */
    vkattn_dtype dtype;
} npy_dtype_code;

static const npy_dtype_code npy_dtypes[] = {
    {"f4", VKATTN_F32},
    {"f2", VKATTN_F16},
    {"i4", VKATTN_I32},
};

/* The header dict as parsed, before it is checked against what vkattn supports. */
typedef struct npy_header {
    char descr[NPY_DESCR_LEN];
    bool fortran_order;
    uint32_t ndim;                   /* every dim counted, also past VKATTN_MAX_DIMS */
    int64_t shape[VKATTN_MAX_DIMS];  /* the first VKATTN_MAX_DIMS dims */
    bool has_descr, has_fortran_order, has_shape;
} npy_header;

/* State of the header parser; `err` receives the first problem found. */
typedef struct npy_parser {
    const char *path;
    const char *begin, *p, *end;
    char *err;
} npy_parser;

static bool npy_fail(char *err, const char *path, const char *fmt, ...) NPY_PRINTF(3, 4);

static bool npy_fail(char *err, const char *path, const char *fmt, ...)
{
    int n = snprintf(err, NPY_ERROR_LEN, "%s: ", path);
    if (n < 0 || n >= NPY_ERROR_LEN)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, NPY_ERROR_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* A header the parser cannot read: says what was expected and where. */
static bool npy_syntax(npy_parser *ps, const char *expected)
{
    return npy_fail(ps->err, ps->path, "malformed .npy header: expected %s at header byte %td", expected,
                    ps->p - ps->begin);
}

static bool npy_host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static const char *npy_shape_str(const int64_t *shape, uint32_t ndim, char buf[NPY_SHAPE_STR_LEN])
{
    size_t n = 0;
    buf[n++] = '(';
    for (uint32_t i = 0; i < ndim && i < VKATTN_MAX_DIMS; i++)
        n += (size_t)snprintf(buf + n, NPY_SHAPE_STR_LEN - n, i == 0 ? "%lld" : ", %lld", (long long)shape[i]);
    snprintf(buf + n, NPY_SHAPE_STR_LEN - n, ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- header parsing ---------------------------------------------------------------------------------------------- */

static void npy_skip_space(npy_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Skips blanks, then consumes `c` if it comes next. */
static bool npy_eat(npy_parser *ps, char c)
{
    npy_skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A quoted string without escapes ('...' or "..."), which is all numpy writes for keys and simple descrs. */
static bool npy_parse_string(npy_parser *ps, char *out, size_t cap, const char *what)
{
    npy_skip_space(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return npy_syntax(ps, what);
    char quote = *ps->p++;
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p != quote && *ps->p != '\\' && *ps->p != '\n')
        ps->p++;
    if (ps->p >= ps->end || *ps->p != quote)
        return npy_syntax(ps, "a closing quote");
    size_t len = (size_t)(ps->p - start);
    ps->p++;
    if (len >= cap)
        return npy_fail(ps->err, ps->path, "%s is too long (%zu characters)", what, len);
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

static bool npy_parse_bool(npy_parser *ps, bool *out)
{
    npy_skip_space(ps);
    size_t left = (size_t)(ps->end - ps->p);
    if (left >= 4 && memcmp(ps->p, "True", 4) == 0) {
        ps->p += 4;
        *out = true;
        return true;
    }
    if (left >= 5 && memcmp(ps->p, "False", 5) == 0) {
        ps->p += 5;
        *out = false;
        return true;
    }
    return npy_syntax(ps, "True or False for 'fortran_order'");
}

static bool npy_parse_dim(npy_parser *ps, int64_t *out)
{
    npy_skip_space(ps);
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return npy_syntax(ps, "a non-negative integer in 'shape'");
    int64_t v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        int digit = *ps->p++ - '0';
        if (v > (INT64_MAX - digit) / 10)
            return npy_fail(ps->err, ps->path, "a dimension in 'shape' is too large");
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* A tuple of integers: "()", "(3,)", "(2, 3)", "(2, 3,)". "(3)" is an integer in Python, not a tuple. */
static bool npy_parse_shape(npy_parser *ps, npy_header *h)
{
    if (!npy_eat(ps, '('))
        return npy_syntax(ps, "a tuple for 'shape'");
    h->ndim = 0;
    if (npy_eat(ps, ')'))
        return true;
    for (;;) {
        int64_t dim = 0;
        if (!npy_parse_dim(ps, &dim))
            return false;
        if (h->ndim < VKATTN_MAX_DIMS)
            h->shape[h->ndim] = dim;
        h->ndim++;
        bool comma = npy_eat(ps, ',');
        if (npy_eat(ps, ')')) {
            if (h->ndim == 1 && !comma)
                return npy_syntax(ps, "a tuple for 'shape' (a 1-d shape is written '(n,)')");
            return true;
        }
        if (!comma)
            return npy_syntax(ps, "',' or ')' in 'shape'");
    }
}

/* Marks a key as seen; a key given twice is an error. */
static bool npy_first_time(npy_parser *ps, bool *seen, const char *key)
{
    if (*seen)
        return npy_fail(ps->err, ps->path, "key '%s' appears twice in the .npy header", key);
    *seen = true;
    return true;
}

/* One "key: value" entry of the dict. Each of the three keys must appear exactly once; others are rejected, as
 * numpy's own reader does. */
static bool npy_parse_entry(npy_parser *ps, npy_header *h)
{
    char key[32];
    if (!npy_parse_string(ps, key, sizeof key, "a quoted key"))
        return false;
    if (!npy_eat(ps, ':'))
        return npy_syntax(ps, "':' after a key");
    if (strcmp(key, "descr") == 0)
        return npy_first_time(ps, &h->has_descr, key) &&
               npy_parse_string(ps, h->descr, sizeof h->descr, "a string for 'descr'");
    if (strcmp(key, "fortran_order") == 0)
        return npy_first_time(ps, &h->has_fortran_order, key) && npy_parse_bool(ps, &h->fortran_order);
    if (strcmp(key, "shape") == 0)
        return npy_first_time(ps, &h->has_shape, key) && npy_parse_shape(ps, h);
    return npy_fail(ps->err, ps->path, "unexpected key '%s' in the .npy header", key);
}

/* The dict, optionally with a trailing comma, then only blanks to the end of the header. */
static bool npy_parse_header(npy_parser *ps, npy_header *h)
{
    if (!npy_eat(ps, '{'))
        return npy_syntax(ps, "'{'");
    while (!npy_eat(ps, '}')) {
        if (!npy_parse_entry(ps, h))
            return false;
        if (!npy_eat(ps, ',')) {
            if (!npy_eat(ps, '}'))
                return npy_syntax(ps, "',' or '}'");
            break;
        }
    }
    npy_skip_space(ps);
    if (ps->p != ps->end)
        return npy_syntax(ps, "the end of the header after '}'");
    if (!h->has_descr || !h->has_fortran_order || !h->has_shape)
        return npy_fail(ps->err, ps->path, "the .npy header lacks '%s'",
                        !h->has_descr ? "descr" : !h->has_fortran_order ? "fortran_order" : "shape");
    return true;
}

/* ---- header checks ----------------------------------------------------------------------------------------------- */

static bool npy_check_descr(const char *descr, const char *path, vkattn_dtype *dtype, char *err)
{
    static const char *const expected = "(supported: '<f4', '<f2', '<i4')";
    char order = descr[0];
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++) {
        if (order == '\0' || strcmp(descr + 1, npy_dtypes[i].code) != 0)
            continue;
        if (order == '<' || order == '=') {
            *dtype = npy_dtypes[i].dtype;
            return true;
        }
        if (order == '>')
            return npy_fail(err, path, "big-endian data ('%s') is not supported %s", descr, expected);
        /* '|' means "byte order not applicable", which is true only of 1-byte types. */
        return npy_fail(err, path, "dtype '%s' has no valid byte order %s", descr, expected);
    }
    return npy_fail(err, path, "unsupported dtype '%s' %s", descr, expected);
}

/* Fills dtype, ndim, shape and bytes of *out from a parsed header. */
static bool npy_check_header(const npy_header *h, const char *path, npy_array *out, char *err)
{
    char shape[NPY_SHAPE_STR_LEN];
    if (!npy_check_descr(h->descr, path, &out->dtype, err))
        return false;
    if (h->fortran_order)
        return npy_fail(err, path, "Fortran-order (column-major) arrays are not supported; save a C-order array");
    if (h->ndim == 0 || h->ndim > VKATTN_MAX_DIMS)
        return npy_fail(err, path, "%u-d array: vkattn tensors have 1 to %d dimensions", h->ndim, VKATTN_MAX_DIMS);
    uint64_t bytes = vkattn_dtype_size(out->dtype);
    for (uint32_t i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0)
            return npy_fail(err, path, "shape %s has a dimension of 0 (vkattn tensors need every dimension >= 1)",
                            npy_shape_str(h->shape, h->ndim, shape));
        uint64_t dim = (uint64_t)h->shape[i];
        if (bytes > (uint64_t)INT64_MAX / dim || bytes * dim > SIZE_MAX)
            return npy_fail(err, path, "shape %s is too large (its size in bytes overflows)",
                            npy_shape_str(h->shape, h->ndim, shape));
        bytes *= dim;
        out->shape[i] = h->shape[i];
    }
    out->ndim = h->ndim;
    out->bytes = (size_t)bytes;
    return true;
}

/* ---- reading ----------------------------------------------------------------------------------------------------- */

/* Reads exactly n bytes; false on a short read. */
static bool npy_read_exact(FILE *f, void *dst, size_t n)
{
    return fread(dst, 1, n, f) == n;
}

/* Checks magic and version and reads the header text (malloc'd into *text, length *len). */
static bool npy_read_header_text(FILE *f, const char *path, char **text, size_t *len, uint64_t *data_offset,
                                 char *err)
{
    unsigned char pre[NPY_PREAMBLE_LEN + 4];
    if (!npy_read_exact(f, pre, NPY_PREAMBLE_LEN)) {
        if (ferror(f))
            return npy_fail(err, path, "cannot read: %s", strerror(errno));
        return npy_fail(err, path, "not a .npy file (shorter than the %d-byte preamble)", NPY_PREAMBLE_LEN);
    }
    if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return npy_fail(err, path, "not a .npy file (bad magic; expected \\x93NUMPY)");
    unsigned major = pre[6], minor = pre[7];
    if (minor != 0 || major < 1 || major > 3)
        return npy_fail(err, path, "unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)", major, minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    if (!npy_read_exact(f, pre + NPY_PREAMBLE_LEN, len_bytes))
        return npy_fail(err, path, "truncated .npy header (no header length)");
    const unsigned char *l = pre + NPY_PREAMBLE_LEN;
    uint32_t header_len = (uint32_t)l[0] | (uint32_t)l[1] << 8;
    if (len_bytes == 4)
        header_len |= (uint32_t)l[2] << 16 | (uint32_t)l[3] << 24;
    if (header_len > NPY_MAX_HEADER_LEN)
        return npy_fail(err, path, "implausible .npy header length %u (the limit is %u bytes)", header_len,
                        NPY_MAX_HEADER_LEN);
    *text = malloc((size_t)header_len + 1);
    if (!*text)
        return npy_fail(err, path, "out of memory reading the header");
    if (!npy_read_exact(f, *text, header_len))
        return npy_fail(err, path, "truncated .npy header (%u bytes announced)", header_len);
    (*text)[header_len] = '\0';
    *len = header_len;
    *data_offset = NPY_PREAMBLE_LEN + len_bytes + header_len;
    return true;
}

/* For a regular file, compares the size the header implies with the real size before anything is allocated, so a
 * header announcing terabytes fails cleanly. */
static bool npy_check_file_size(FILE *f, const char *path, uint64_t data_offset, size_t bytes, char *err)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return true;
    uint64_t size = (uint64_t)st.st_size;
    uint64_t have = size > data_offset ? size - data_offset : 0;
    if (have < bytes)
        return npy_fail(err, path, "truncated data: the header announces %zu bytes, the file has %llu", bytes,
                        (unsigned long long)have);
    if (have > bytes)
        return npy_fail(err, path, "%llu bytes of trailing data after the array",
                        (unsigned long long)(have - bytes));
    return true;
}

static bool npy_read_data(FILE *f, const char *path, uint64_t data_offset, npy_array *out, char *err)
{
    if (!npy_check_file_size(f, path, data_offset, out->bytes, err))
        return false;
    out->data = malloc(out->bytes);
    if (!out->data)
        return npy_fail(err, path, "out of memory for %zu bytes of data", out->bytes);
    if (!npy_read_exact(f, out->data, out->bytes))
        return npy_fail(err, path, "truncated data (expected %zu bytes)", out->bytes);
    if (fgetc(f) != EOF)
        return npy_fail(err, path, "trailing data after the array");
    return true;
}

bool npy_read(const char *path, npy_array *out, char err[NPY_ERROR_LEN])
{
    memset(out, 0, sizeof *out);
    if (!npy_host_little_endian())
        return npy_fail(err, path, ".npy files are supported on little-endian hosts only");
    FILE *f = fopen(path, "rb");
    if (!f)
        return npy_fail(err, path, "cannot open: %s", strerror(errno));
    char *text = NULL;
    size_t len = 0;
    uint64_t data_offset = 0;
    npy_header h = {0};
    bool ok = npy_read_header_text(f, path, &text, &len, &data_offset, err);
    if (ok) {
        npy_parser ps = {.path = path, .begin = text, .p = text, .end = text + len, .err = err};
        ok = npy_parse_header(&ps, &h) && npy_check_header(&h, path, out, err) &&
             npy_read_data(f, path, data_offset, out, err);
    }
    if (ok && ferror(f))
        ok = npy_fail(err, path, "read error");
    free(text);
    fclose(f);
    if (!ok)
        npy_free(out);
    return ok;
}

void npy_free(npy_array *array)
{
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* ---- writing ----------------------------------------------------------------------------------------------------- */

static const char *npy_descr_code(vkattn_dtype dtype)
{
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++) {
        if (npy_dtypes[i].dtype == dtype)
            return npy_dtypes[i].code;
    }
    return NULL;
}

/* Preamble and header of a version 1.0 file into buf; returns the length (a multiple of NPY_ALIGN). */
static size_t npy_format_header(const npy_array *a, const char *code, char buf[NPY_WRITE_HEADER_CAP])
{
    char shape[NPY_SHAPE_STR_LEN];
    memcpy(buf, NPY_MAGIC "\x01\x00", NPY_PREAMBLE_LEN);
    size_t start = NPY_PREAMBLE_LEN + 2;
    int n = snprintf(buf + start, NPY_WRITE_HEADER_CAP - start,
                     "{'descr': '<%s', 'fortran_order': False, 'shape': %s, }", code,
                     npy_shape_str(a->shape, a->ndim, shape));
    /* The header ends in '\n' and is padded with spaces so that the data is aligned. */
    size_t total = (start + (size_t)n + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    memset(buf + start + n, ' ', total - start - (size_t)n - 1);
    buf[total - 1] = '\n';
    size_t header_len = total - start;
    buf[NPY_PREAMBLE_LEN] = (char)(header_len & 0xff);
    buf[NPY_PREAMBLE_LEN + 1] = (char)(header_len >> 8);
    return total;
}

static bool npy_write_all(int fd, const void *src, size_t n)
{
    const char *p = src;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* mkstemp creates the file with mode 0600; a finished output gets the usual 0666 minus the umask. */
static bool npy_set_default_mode(int fd)
{
    mode_t mask = umask(0);
    umask(mask);
    return fchmod(fd, 0666 & ~mask) == 0;
}

/* Writes the temporary file completely (contents flushed to disk) and closes it. */
static bool npy_write_tmp(int fd, const char *head, size_t head_len, const npy_array *a)
{
    bool ok = npy_set_default_mode(fd) && npy_write_all(fd, head, head_len) && npy_write_all(fd, a->data, a->bytes) &&
              fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok)
        return false;
    errno = saved;
    return ok;
}

bool npy_write(const char *path, const npy_array *array, char err[NPY_ERROR_LEN])
{
    const char *code = npy_descr_code(array->dtype);
    if (!code || array->ndim < 1 || array->ndim > VKATTN_MAX_DIMS)
        return npy_fail(err, path, "cannot write a %u-d array of dtype %s", array->ndim,
                        vkattn_dtype_name(array->dtype));
    if (!npy_host_little_endian())
        return npy_fail(err, path, ".npy files are supported on little-endian hosts only");
    char head[NPY_WRITE_HEADER_CAP];
    size_t head_len = npy_format_header(array, code, head);
    static const char suffix[] = ".tmpXXXXXX";
    size_t tmp_size = strlen(path) + sizeof suffix;
    char *tmp = malloc(tmp_size);
    if (!tmp)
        return npy_fail(err, path, "out of memory");
    snprintf(tmp, tmp_size, "%s%s", path, suffix);
    int fd = mkstemp(tmp);
    bool ok = fd >= 0 && npy_write_tmp(fd, head, head_len, array) && rename(tmp, path) == 0;
    if (!ok) {
        int saved = errno;
        if (fd >= 0)
            unlink(tmp);
        npy_fail(err, path, "cannot write: %s", strerror(saved));
    }
    free(tmp);
    return ok;
}
