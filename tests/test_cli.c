/*
 * test_cli.c - the `vkattn` program, run as a child process (posix_spawn) exactly as a user runs it.
 *
 * Inputs are written byte by byte by this file's own .npy writer, outputs parsed by its own reader, both
 * independent of cli/npy.c; softmax (plain, masked, with ALiBi), matmul, attention, rope, sinusoidal and alibi
 * results are compared with float64 values computed here from the formulas in vkattn.h (for rope's YaRN, Llama 3,
 * LongRoPE and dynamic scalings, from the library's float64 frequencies: there the runs check that every option
 * reaches its desc field). Every error case
 * must exit with status 2, print one line "vkattn: error: ..." on stderr and leave the output path as it was
 * (absent, or a pre-existing file unchanged) with no temporary file beside it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

#define PATH_LEN 4096
#define MAX_ARGS 40
/* What a pre-existing output file holds before an error case; it must hold exactly this afterwards. */
#define KEEP_CONTENT "not an npy file: must survive a failed run\n"

/* ---- files ------------------------------------------------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_msg(fwrite(data, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
}

/* The whole file, NUL-terminated (for text); NULL when it does not exist. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ck_assert(buf != NULL);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert(buf != NULL);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh directory for one test case under the suite's temporary directory. */
static void case_dir(char dir[PATH_LEN], const char *name, int index)
{
    int len = snprintf(dir, PATH_LEN, "%s/%s_%d", vkt_tmpdir(), name, index);
    ck_assert_msg(len > 0 && len < PATH_LEN, "test path too long");
    ck_assert_msg(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
}

static void join(char out[PATH_LEN], const char *dir, const char *name)
{
    int len = snprintf(out, PATH_LEN, "%s/%s", dir, name);
    ck_assert_msg(len > 0 && len < PATH_LEN, "test path too long");
}

/* Fails unless dir holds exactly the named entries (no temporary or partial file left by the program). */
static void assert_dir_holds(const char *dir, const char *const *names, size_t count)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir %s", dir);
    size_t seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        bool expected = false;
        for (size_t i = 0; i < count; i++)
            expected = expected || strcmp(e->d_name, names[i]) == 0;
        ck_assert_msg(expected, "unexpected file '%s' left in %s", e->d_name, dir);
        seen++;
    }
    closedir(d);
    ck_assert_msg(seen == count, "%s holds %zu files, expected %zu", dir, seen, count);
}

/* ---- running the program ----------------------------------------------------------------------------------------- */

typedef struct cli_result {
    int status; /* exit status; -1 when the program did not exit normally */
    char *out;  /* stdout */
    char *err;  /* stderr */
} cli_result;

static void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

static bool env_overridden(const char *entry)
{
    static const char *const names[] = {"VKATTN_VALIDATION=", "XDG_CACHE_HOME="};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strncmp(entry, names[i], strlen(names[i])) == 0)
            return true;
    }
    return false;
}

/* The child's environment: ours, with the pipeline cache in the test's directory and VKATTN_VALIDATION=1 when
 * asked. The strings are static or borrowed from environ; only the array is allocated. */
static char **child_env(bool validation)
{
    static char cache[PATH_LEN + 32];
    static char validation_on[] = "VKATTN_VALIDATION=1";
    snprintf(cache, sizeof cache, "XDG_CACHE_HOME=%s", vkt_tmpdir());
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    ck_assert(env != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!env_overridden(environ[i]))
            env[k++] = environ[i];
    }
    env[k++] = cache;
    if (validation)
        env[k++] = validation_on;
    return env;
}

/* Runs VKATTN_CLI_PATH with args (NULL-terminated), stdout and stderr captured through files. */
static cli_result cli_run(const char *const *args, bool validation)
{
    char *argv[MAX_ARGS + 2];
    size_t argc = 0;
    argv[argc++] = (char *)VKATTN_CLI_PATH;
    for (size_t i = 0; args[i]; i++) {
        ck_assert(argc <= MAX_ARGS);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    char out_path[PATH_LEN], err_path[PATH_LEN];
    snprintf(out_path, sizeof out_path, "%s/stdout_%ld", vkt_tmpdir(), (long)getpid());
    snprintf(err_path, sizeof err_path, "%s/stderr_%ld", vkt_tmpdir(), (long)getpid());
    char **env = child_env(validation);
    int status = vkt_spawn(VKATTN_CLI_PATH, argv, env, out_path, err_path);
    free(env);

    cli_result r = {.status = status};
    r.out = read_file(out_path, NULL);
    r.err = read_file(err_path, NULL);
    ck_assert(r.out && r.err);
    unlink(out_path);
    unlink(err_path);
    return r;
}

static void assert_success(const cli_result *r)
{
    ck_assert_msg(r->status == 0, "exit status %d, stderr: %s", r->status, r->err);
    ck_assert_msg(r->err[0] == '\0', "stderr is not empty: %s", r->err);
}

/* Exit status 2 and exactly one line on stderr, starting "vkattn: error:". */
static void assert_one_error_line(const cli_result *r)
{
    ck_assert_msg(r->status == 2, "exit status %d (expected 2), stderr: %s", r->status, r->err);
    ck_assert_msg(strncmp(r->err, "vkattn: error:", 14) == 0, "stderr does not start with the prefix: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "stderr is not exactly one line: %s", r->err);
}

/* Whether the backend can run here; vkt_context skips (disabled, no device outside CI) or fails (under CI). */
static bool backend_usable(vkattn_backend b)
{
    vkattn_context *ctx = vkt_context(b);
    if (!ctx)
        return false;
    vkt_context_destroy(ctx);
    return true;
}

/* ---- the test's own .npy writer and reader ----------------------------------------------------------------------- */

typedef struct npy_bytes {
    unsigned char buf[8192];
    size_t len;        /* bytes of the whole file */
    size_t data_start; /* offset of the array data */
} npy_bytes;

/* Magic, version major.0, the header length (2 bytes for version 1, else 4, little-endian), the dict padded with
 * spaces and a final '\n' to a multiple of 64 bytes, then the data. */
static void npy_build(npy_bytes *b, unsigned major, const char *dict, const void *data, size_t data_len)
{
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t start = 8 + len_bytes;
    size_t header = strlen(dict) + 1;
    size_t total = (start + header + 63) / 64 * 64;
    header = total - start;
    ck_assert(total + data_len <= sizeof b->buf);
    memcpy(b->buf, "\x93NUMPY", 6);
    b->buf[6] = (unsigned char)major;
    b->buf[7] = 0;
    for (size_t i = 0; i < len_bytes; i++)
        b->buf[8 + i] = (unsigned char)(header >> (8 * i));
    memset(b->buf + start, ' ', header);
    memcpy(b->buf + start, dict, strlen(dict));
    b->buf[total - 1] = '\n';
    memcpy(b->buf + total, data, data_len);
    b->len = total + data_len;
    b->data_start = total;
}

/* The shape tuple of a header dict as numpy writes it ("'shape': (2, 3), "): writes the dims, returns their count. */
static uint32_t dict_shape(const char *dict, int64_t shape[8])
{
    const char *s = strstr(dict, "'shape': (");
    ck_assert_msg(s != NULL, "no shape in %s", dict);
    s += 10;
    uint32_t ndim = 0;
    while (*s != ')') {
        char *end;
        long long dim = strtoll(s, &end, 10);
        ck_assert_msg(end != s && ndim < 8, "bad shape in %s", dict);
        shape[ndim++] = dim;
        s = end;
        if (*s == ',')
            s++;
        while (*s == ' ')
            s++;
    }
    return ndim;
}

typedef struct npy_parsed {
    char descr[8];
    uint32_t ndim;
    int64_t shape[8];
    unsigned char *raw; /* the whole file */
    const unsigned char *data;
    size_t data_len;
} npy_parsed;

/* Parses what the program wrote, checking the layout it promises: version 1.0, header ending in '\n' with the data
 * at a multiple of 64 bytes, C order. */
static npy_parsed npy_parse(const char *path)
{
    npy_parsed p = {0};
    size_t len = 0;
    p.raw = (unsigned char *)read_file(path, &len);
    ck_assert_msg(p.raw != NULL, "no output file %s", path);
    ck_assert_msg(len >= 10 && memcmp(p.raw, "\x93NUMPY\x01\x00", 8) == 0, "%s: bad preamble", path);
    size_t header = (size_t)p.raw[8] | (size_t)p.raw[9] << 8;
    ck_assert_msg(10 + header <= len && (10 + header) % 64 == 0, "%s: header length %zu", path, header);
    ck_assert_msg(p.raw[10 + header - 1] == '\n', "%s: header does not end in a newline", path);
    char text[1024];
    ck_assert(header < sizeof text);
    memcpy(text, p.raw + 10, header);
    text[header] = '\0';
    const char *descr = strstr(text, "'descr': '");
    ck_assert_msg(descr && sscanf(descr + 10, "%7[^']", p.descr) == 1, "%s: no descr in %s", path, text);
    ck_assert_msg(strstr(text, "'fortran_order': False") != NULL, "%s: not C order: %s", path, text);
    p.ndim = dict_shape(text, p.shape);
    p.data = p.raw + 10 + header;
    p.data_len = len - 10 - header;
    return p;
}

/* Python's spelling of a shape tuple: "(5,)", "(2, 3)". */
static void shape_literal(char *out, size_t cap, uint32_t ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(out, cap, "(");
    for (uint32_t i = 0; i < ndim; i++)
        n += (size_t)snprintf(out + n, cap - n, i ? ", %lld" : "%lld", (long long)shape[i]);
    snprintf(out + n, cap - n, ndim == 1 ? ",)" : ")");
}

static size_t numel(uint32_t ndim, const int64_t *shape)
{
    size_t n = 1;
    for (uint32_t i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

static const char *descr_of(vkattn_dtype dtype)
{
    return dtype == VKATTN_F16 ? "<f2" : dtype == VKATTN_I32 ? "<i4" : "<f4";
}

/* Writes a version 1.0 file of the given dtype and shape holding `data` (numel * dtype size bytes). */
static void write_npy(const char *path, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape, const void *data)
{
    char dict[256], tuple[96];
    size_t n = numel(ndim, shape);
    shape_literal(tuple, sizeof tuple, ndim, shape);
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr_of(dtype), tuple);
    npy_bytes file;
    ck_assert(n * vkattn_dtype_size(dtype) <= sizeof file.buf - 128);
    npy_build(&file, 1, dict, data, n * vkattn_dtype_size(dtype));
    write_file(path, file.buf, file.len);
}

/* The file's data bytes for the values x, which become the values the file holds (rounded to f16 for f16). */
static void encode_values(vkattn_dtype dtype, float *x, unsigned char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dtype == VKATTN_F16) {
            uint16_t h = vkt_float_to_half(x[i]);
            x[i] = vkt_half_to_float(h);
            data[2 * i] = (unsigned char)(h & 0xff);
            data[2 * i + 1] = (unsigned char)(h >> 8);
        } else {
            uint32_t bits;
            memcpy(&bits, &x[i], 4);
            for (int k = 0; k < 4; k++)
                data[4 * i + (size_t)k] = (unsigned char)(bits >> (8 * k));
        }
    }
}

/* An input file's values (as the file holds them, so rounded to f16 for f16) and data bytes, both malloc'd. */
typedef struct input_values {
    float *x;
    unsigned char *data;
} input_values;

/* n values uniform in [-3, 3). */
static input_values random_input(vkattn_dtype dtype, uint32_t seed, size_t n)
{
    input_values in = {malloc(n * sizeof *in.x), malloc(n * 4)};
    ck_assert(in.x && in.data);
    vkt_fill_uniform(in.x, n, seed, -3.0f, 3.0f);
    encode_values(dtype, in.x, in.data, n);
    return in;
}

static void input_free(input_values *in)
{
    free(in->x);
    free(in->data);
}

static void output_values(const npy_parsed *p, vkattn_dtype dtype, float *got, size_t n)
{
    const unsigned char *d = p->data;
    for (size_t i = 0; i < n; i++) {
        if (dtype == VKATTN_F16) {
            got[i] = vkt_half_to_float((uint16_t)(d[2 * i] | d[2 * i + 1] << 8));
        } else {
            uint32_t bits = 0;
            for (int k = 0; k < 4; k++)
                bits |= (uint32_t)d[4 * i + (size_t)k] << (8 * k);
            memcpy(&got[i], &bits, 4);
        }
    }
}

/* The output file has the dtype and shape of the input and values within tolerance of `want`: relative 1e-5 for
 * f32 and 1e-3 for f16 (11 significant bits), measured against max(|want|, floor). */
static void check_output(const char *path, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                         const double *want, size_t n, double floor)
{
    npy_parsed p = npy_parse(path);
    ck_assert_str_eq(p.descr, descr_of(dtype));
    ck_assert_uint_eq(p.ndim, ndim);
    for (uint32_t i = 0; i < ndim; i++)
        ck_assert_int_eq(p.shape[i], shape[i]);
    ck_assert_uint_eq(p.data_len, n * vkattn_dtype_size(dtype));
    float *got = malloc(n * sizeof *got);
    ck_assert(got != NULL);
    output_values(&p, dtype, got, n);
    double err = vkt_max_rel_err(got, want, n, floor);
    ck_assert_msg(err <= (dtype == VKATTN_F16 ? 1e-3 : 1e-5), "%s: max relative error %g", path, err);
    free(got);
    free(p.raw);
}

/* ---- softmax through the program --------------------------------------------------------------------------------- */

typedef struct softmax_case {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[4];
    const char *scale; /* NULL = not given */
    bool eq_form;      /* --flag=value, options in a shuffled order */
    bool replace;      /* the output file exists before the run */
} softmax_case;

static const softmax_case softmax_cases[] = {
    {VKATTN_F32, 3, {2, 3, 5}, NULL, false, false},
    {VKATTN_F32, 2, {4, 33}, "0.37", true, false},
    {VKATTN_F32, 4, {2, 2, 3, 8}, "-1.5", false, true},
    {VKATTN_F16, 2, {3, 7}, "2", false, false},
    {VKATTN_F16, 1, {17}, NULL, true, true},
};
#define SOFTMAX_CASES (int)(sizeof softmax_cases / sizeof softmax_cases[0])

/* v[j] = exp(v[j] - m) / sum_k exp(v[k] - m) in place, m the maximum; all zeros when every v[j] is -inf. */
static void softmax_row(double *v, size_t len)
{
    double m = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < len; j++)
        m = fmax(m, v[j]);
    for (size_t j = 0; j < len; j++) {
        v[j] = m == -INFINITY ? 0.0 : exp(v[j] - m);
        sum += v[j];
    }
    for (size_t j = 0; sum > 0.0 && j < len; j++)
        v[j] /= sum;
}

/* y = softmax(s*x) per row of the last axis, in float64. */
static void softmax_reference(const float *x, double *y, size_t rows, size_t len, double scale)
{
    for (size_t i = 0; i < rows * len; i++)
        y[i] = scale * x[i];
    for (size_t r = 0; r < rows; r++)
        softmax_row(y + r * len, len);
}

/* The argument list of a softmax run in one of two spellings. */
static void softmax_args(const char **args, const softmax_case *c, vkattn_backend b, const char *in, const char *out,
                         char bufs[3][PATH_LEN])
{
    size_t n = 0;
    args[n++] = "run";
    args[n++] = "softmax";
    if (c->eq_form) {
        args[n++] = "-o";
        args[n++] = out;
        snprintf(bufs[0], PATH_LEN, "--backend=%s", vkt_backend_name(b));
        args[n++] = bufs[0];
        if (c->scale) {
            snprintf(bufs[1], PATH_LEN, "--scale=%s", c->scale);
            args[n++] = bufs[1];
        }
        int len = snprintf(bufs[2], PATH_LEN, "--x=%s", in);
        ck_assert_msg(len > 0 && len < PATH_LEN, "test path too long");
        args[n++] = bufs[2];
    } else {
        const char *fixed[] = {"--x", in, "--backend", vkt_backend_name(b), "-o", out};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            args[n++] = fixed[i];
        if (c->scale) {
            args[n++] = "--scale";
            args[n++] = c->scale;
        }
    }
    args[n] = NULL;
}

static void check_softmax_output(const softmax_case *c, const char *out, const float *x, size_t n)
{
    double *want = malloc(n * sizeof *want);
    ck_assert(want != NULL);
    size_t len = (size_t)c->shape[c->ndim - 1];
    softmax_reference(x, want, n / len, len, c->scale ? (double)strtof(c->scale, NULL) : 1.0);
    /* f16: below the smallest normal half, 2^-14, the spacing of f16 values is absolute, hence the floor. */
    check_output(out, c->dtype, c->ndim, c->shape, want, n, c->dtype == VKATTN_F16 ? ldexp(1.0, -14) : 1e-30);
    free(want);
}

START_TEST(test_softmax_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const softmax_case *c = &softmax_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    size_t n = numel(c->ndim, c->shape);
    input_values x = random_input(c->dtype, 1234u + (uint32_t)n, n);

    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN];
    case_dir(dir, "softmax", _i);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    write_npy(in, c->dtype, c->ndim, c->shape, x.data);
    if (c->replace)
        write_file(out, KEEP_CONTENT, strlen(KEEP_CONTENT));

    const char *args[MAX_ARGS];
    char bufs[3][PATH_LEN];
    softmax_args(args, c, b, in, out, bufs);
    cli_result r = cli_run(args, b == VKATTN_BACKEND_VULKAN);
    assert_success(&r);
    ck_assert_msg(r.out[0] == '\0', "stdout is not empty: %s", r.out);
    check_softmax_output(c, out, x.x, n);
    const char *const names[] = {"in.npy", "out.npy"};
    assert_dir_holds(dir, names, 2);
    cli_result_free(&r);
    input_free(&x);
}
END_TEST

/* Version 2.0 and 3.0 files, keys in another order, other spacing, double quotes, native byte order '='. */
static const struct {
    unsigned major;
    const char *dict;
} header_variants[] = {
    {2, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}"},
    {3, "{\"fortran_order\":False,\"descr\":\"=f4\",\"shape\":(2,3,)}"},
    {1, "{ 'descr' : '<f4' ,  'shape' : ( 2 , 3 ) , 'fortran_order' : False , }"},
};
#define HEADER_VARIANTS (int)(sizeof header_variants / sizeof header_variants[0])

START_TEST(test_header_variants)
{
    const float x[6] = {0.5f, -1.0f, 2.0f, 3.0f, 3.0f, -7.25f};
    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN];
    case_dir(dir, "variant", _i);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    npy_bytes file;
    npy_build(&file, header_variants[_i].major, header_variants[_i].dict, x, sizeof x);
    write_file(in, file.buf, file.len);
    const char *args[] = {"run", "softmax", "--backend", "cpu", "--x", in, "-o", out, NULL};
    cli_result r = cli_run(args, false);
    assert_success(&r);
    softmax_case c = {VKATTN_F32, 2, {2, 3}, NULL, false, false};
    check_softmax_output(&c, out, x, 6);
    cli_result_free(&r);
}
END_TEST

/* ---- rope, sinusoidal and alibi through the program -------------------------------------------------------------- */

#define MAX_EXTRA 4
#define MAX_OPTIONS 24

/* An input file of a run besides the main one: positions or a factor array. */
typedef struct extra_input {
    const char *option; /* "--pos"; NULL = unused slot */
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t shape[4];
    const void *data;
} extra_input;

/* One run of an op on a main input of random values. */
typedef struct op_run {
    const char *op;           /* "rope" */
    const char *input_option; /* "--x" */
    vkattn_dtype dtype;
    uint32_t ndim;
    const int64_t *shape;
    const char *const *options; /* the op's options, NULL-terminated */
    extra_input extra[MAX_EXTRA];
    const int64_t *out_shape;   /* NULL: the main input's (the output has the main input's dtype and ndim) */
} op_run;

/* Positions given in a file: [seq] or [batch, seq], with a leading axis dim for 2D axial and M-RoPE. */
typedef struct positions {
    const int32_t *data; /* NULL = no file: position = offset + token index */
    uint32_t ndim;
    int64_t shape[3];
} positions;

static void add_extra(op_run *r, const char *option, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape,
                      const void *data)
{
    size_t i = 0;
    while (r->extra[i].option)
        i++;
    ck_assert(i < MAX_EXTRA);
    r->extra[i] = (extra_input){.option = option, .dtype = dtype, .ndim = ndim, .data = data};
    memcpy(r->extra[i].shape, shape, ndim * sizeof *shape);
}

static void add_positions(op_run *r, const positions *pos)
{
    if (pos->data)
        add_extra(r, "--pos", VKATTN_I32, pos->ndim, pos->shape, pos->data);
}

static void add_factors(op_run *r, const char *option, const float *data, uint32_t count)
{
    const int64_t shape[1] = {count};
    if (data)
        add_extra(r, option, VKATTN_F32, 1, shape, data);
}

/* The position of token (b, s) on `axis` (of `axes`): from the file, or offset + s. */
static double position_of(const positions *pos, uint32_t axes, int32_t offset, uint32_t axis, int64_t b, int64_t s)
{
    if (!pos->data)
        return (double)offset + (double)s;
    int64_t seq = pos->shape[pos->ndim - 1];
    bool batched = pos->ndim == (axes > 1 ? 3u : 2u);
    int64_t batch = batched ? pos->shape[pos->ndim - 2] : 1;
    return pos->data[((int64_t)axis * batch + (batched ? b : 0)) * seq + s];
}

/* Expected output of case `c` in float64 from the input values x. */
typedef void (*reference_fn)(const void *c, const float *x, double *want);

/* Runs r on backend b in a fresh directory and compares its output with the reference of case c. The values are
 * of order 1, so errors are relative to max(|want|, 1). */
static void check_op_run(const op_run *r, int index, vkattn_backend b, reference_fn reference, const void *c)
{
    static const char *const extra_names[MAX_EXTRA] = {"extra0.npy", "extra1.npy", "extra2.npy", "extra3.npy"};
    const int64_t *out_shape = r->out_shape ? r->out_shape : r->shape;
    size_t n = numel(r->ndim, r->shape), n_out = numel(r->ndim, out_shape);
    input_values x = random_input(r->dtype, 99u + (uint32_t)index, n);
    double *want = malloc(n_out * sizeof *want);
    ck_assert(want != NULL);
    reference(c, x.x, want);

    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN], extra[MAX_EXTRA][PATH_LEN];
    case_dir(dir, r->op, index);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    write_npy(in, r->dtype, r->ndim, r->shape, x.data);
    const char *args[MAX_ARGS + 1] = {"run", r->op, r->input_option, in, "-o", out, "--backend", vkt_backend_name(b)};
    size_t argc = 8;
    const char *names[MAX_EXTRA + 2] = {"in.npy", "out.npy"};
    size_t count = 2;
    for (size_t i = 0; r->options[i]; i++)
        args[argc++] = r->options[i];
    for (size_t i = 0; i < MAX_EXTRA && r->extra[i].option; i++) {
        const extra_input *e = &r->extra[i];
        join(extra[i], dir, extra_names[i]);
        write_npy(extra[i], e->dtype, e->ndim, e->shape, e->data);
        args[argc++] = e->option;
        args[argc++] = extra[i];
        names[count++] = extra_names[i];
    }
    ck_assert(argc <= MAX_ARGS);
    args[argc] = NULL;

    cli_result res = cli_run(args, b == VKATTN_BACKEND_VULKAN);
    assert_success(&res);
    check_output(out, r->dtype, r->ndim, out_shape, want, n_out, 1.0);
    assert_dir_holds(dir, names, count);
    cli_result_free(&res);
    input_free(&x);
    free(want);
}

static const int32_t pos_seq3[3] = {3, 0, 1000000};
static const int32_t pos_batch2_seq3[6] = {0, 1, 2, 10, 20, 30};
static const int32_t pos_2d[6] = {0, 0, 1, 0, 1, 0};                     /* [2, 3]: rows, then columns */
static const int32_t pos_mrope[9] = {0, 1, 2, 0, 0, 1, 5, 6, 7};         /* [3, 1, 3]: t, h, w */
#define POS_SEQ3 {pos_seq3, 1, {3}}
#define POS_BATCH2_SEQ3 {pos_batch2_seq3, 2, {2, 3}}

/* -- rope -- */

static const float rope_freq_factors[4] = {1.0f, 1.5f, 2.0f, 4.0f};
static const float rope_short_factor[4] = {1.0f, 1.25f, 1.5f, 2.0f};
static const float rope_long_factor[4] = {1.0f, 2.0f, 4.0f, 8.0f};

typedef struct rope_case {
    vkattn_dtype dtype;
    uint32_t ndim;    /* 4: [batch, seq, heads, head_dim]; 3: [seq, heads, head_dim] */
    int64_t shape[4];
    const char *options[MAX_OPTIONS];
    positions pos;
    /* What the options say, for the reference; its factor arrays go to the files of --short-factor, --long-factor
     * and --freq-factors. */
    vkattn_rope_desc desc;
} rope_case;

static const rope_case rope_cases[] = {
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8}, .options = {"--pos-offset", "5"},
     .desc = {.pos_offset = 5}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8}, .pos = POS_SEQ3},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {2, 3, 2, 8}, .options = {"--mode", "gptj", "--base", "500000"},
     .pos = POS_BATCH2_SEQ3, .desc = {.mode = VKATTN_ROPE_GPTJ, .base = 500000.0}},
    {.dtype = VKATTN_F16, .ndim = 4, .shape = {1, 3, 2, 8}, .options = {"--mode=gptj", "--pos-offset", "5"},
     .desc = {.mode = VKATTN_ROPE_GPTJ, .pos_offset = 5}},
    {.dtype = VKATTN_F32, .ndim = 3, .shape = {3, 2, 8},
     .options = {"--scaling", "linear", "--factor", "4", "--rot-dims", "4"}, .pos = POS_SEQ3,
     .desc = {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4.0, .rot_dims = 4}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8}, .options = {"--scaling", "ntk", "--factor", "2.5"},
     .pos = POS_SEQ3,
     .desc = {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = 2.5, .freq_factors = rope_freq_factors,
              .factor_count = 4}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8}, .options = {"--axes", "2d"},
     .pos = {pos_2d, 2, {2, 3}}, .desc = {.axes = VKATTN_ROPE_AXES_2D}},
    {.dtype = VKATTN_F16, .ndim = 4, .shape = {1, 3, 2, 8}, .options = {"--axes", "mrope", "--mrope-section", "1,1,2"},
     .pos = {pos_mrope, 3, {3, 1, 3}}, .desc = {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {1, 1, 2}}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 1, 16},
     .options = {"--scaling", "yarn", "--factor", "4", "--orig-ctx", "4096", "--beta-fast", "16", "--beta-slow", "2",
                 "--yarn-mscale", "1", "--yarn-mscale-all-dim", "0.5", "--yarn-no-truncate", "--pos-offset", "40"},
     .desc = {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4.0, .orig_ctx = 4096, .beta_fast = 16.0,
              .beta_slow = 2.0, .yarn_mscale = 1.0, .yarn_mscale_all_dim = 0.5,
              .flags = VKATTN_ROPE_YARN_NO_TRUNCATE, .pos_offset = 40}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 1, 16},
     .options = {"--scaling", "llama3", "--factor", "8", "--orig-ctx", "64", "--low-freq-factor", "2",
                 "--high-freq-factor", "6", "--attn-factor", "0.75", "--pos-offset", "100"},
     .desc = {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8.0, .orig_ctx = 64, .low_freq_factor = 2.0,
              .high_freq_factor = 6.0, .attn_factor = 0.75, .pos_offset = 100}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8},
     .options = {"--scaling", "longrope", "--factor", "4", "--orig-ctx", "8", "--ctx-len", "32"},
     .desc = {.scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = 4.0, .orig_ctx = 8, .ctx_len = 32,
              .short_factor = rope_short_factor, .long_factor = rope_long_factor, .factor_count = 4}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 3, 2, 8},
     .options = {"--scaling", "dynamic", "--factor", "2", "--orig-ctx", "4", "--ctx-len", "12", "--pos-offset", "9"},
     .desc = {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 2.0, .orig_ctx = 4, .ctx_len = 12,
              .pos_offset = 9}},
};
#define ROPE_CASES (int)(sizeof rope_cases / sizeof rope_cases[0])

static uint32_t rope_axis_count(const vkattn_rope_desc *d)
{
    return d->axes == VKATTN_ROPE_AXES_2D ? 2u : d->axes == VKATTN_ROPE_AXES_MROPE ? 3u : 1u;
}

/* The frequency theta and position axis of each pair, and the attention factor. No scaling, linear and NTK (with
 * freq_factors, on any axes) follow their formulas in vkattn.h here. YaRN, Llama 3, LongRoPE and dynamic NTK take
 * the library's float64 frequencies (vkattn_rope_frequencies, which test_rope.c checks against the formulas): there
 * these cases check that each option reaches its desc field. */
static void rope_frequencies(const vkattn_rope_desc *d, uint32_t head_dim, double *theta, uint32_t *axis, double *m)
{
    uint32_t pairs = (d->rot_dims ? d->rot_dims : head_dim) / 2;
    uint32_t ladder = d->axes == VKATTN_ROPE_AXES_2D ? pairs / 2 : pairs;
    const uint32_t *sec = d->mrope_section;
    double dims = 2.0 * ladder;
    double base = d->base != 0.0 ? d->base : 10000.0;
    if (d->scaling == VKATTN_ROPE_SCALING_NTK)
        base *= pow(d->factor, dims / (dims - 2.0));
    for (uint32_t i = 0; i < pairs; i++) {
        uint32_t k = i % ladder;
        axis[i] = d->axes == VKATTN_ROPE_AXES_2D      ? i / ladder
                  : d->axes == VKATTN_ROPE_AXES_MROPE ? (i < sec[0] ? 0u : i < sec[0] + sec[1] ? 1u : 2u)
                                                      : 0u;
        theta[i] = pow(base, -2.0 * k / dims);
        if (d->scaling == VKATTN_ROPE_SCALING_LINEAR)
            theta[i] /= d->factor;
        if (d->freq_factors)
            theta[i] /= d->freq_factors[k];
    }
    *m = d->attn_factor != 0.0 ? d->attn_factor : 1.0;
    if (d->scaling > VKATTN_ROPE_SCALING_NTK)
        ck_assert_int_eq(vkattn_rope_frequencies(d, head_dim, theta, pairs, m), VKATTN_OK);
}

/* y[a] = m (x[a] cos - x[b] sin), y[b] = m (x[b] cos + x[a] sin) at each pair's angle (position * theta), pairs
 * (a, b) = (i, i + d/2) for NEOX, (2i, 2i + 1) for GPTJ; dims past rot_dims unchanged. */
static void rope_vector(const vkattn_rope_desc *d, uint32_t dim, const double *angle, double m, const float *xv,
                        double *yv)
{
    uint32_t pairs = (d->rot_dims ? d->rot_dims : dim) / 2;
    for (uint32_t j = 0; j < dim; j++)
        yv[j] = xv[j];
    for (uint32_t i = 0; i < pairs; i++) {
        uint32_t a = d->mode == VKATTN_ROPE_GPTJ ? 2 * i : i;
        uint32_t b = d->mode == VKATTN_ROPE_GPTJ ? 2 * i + 1 : i + pairs;
        double cs = cos(angle[i]), sn = sin(angle[i]);
        yv[a] = m * (xv[a] * cs - xv[b] * sn);
        yv[b] = m * (xv[b] * cs + xv[a] * sn);
    }
}

static void rope_reference(const void *arg, const float *x, double *y)
{
    const rope_case *c = arg;
    const vkattn_rope_desc *d = &c->desc;
    int64_t batch = c->ndim == 4 ? c->shape[0] : 1;
    int64_t seq = c->shape[c->ndim - 3], heads = c->shape[c->ndim - 2];
    uint32_t dim = (uint32_t)c->shape[c->ndim - 1];
    double theta[32], angle[32], m;
    uint32_t axis[32];
    ck_assert(dim <= 64);
    rope_frequencies(d, dim, theta, axis, &m);
    uint32_t pairs = (d->rot_dims ? d->rot_dims : dim) / 2;
    for (int64_t t = 0; t < batch * seq * heads; t++) {
        for (uint32_t i = 0; i < pairs; i++)
            angle[i] = theta[i] * position_of(&c->pos, rope_axis_count(d), d->pos_offset, axis[i],
                                              t / (seq * heads), t / heads % seq);
        rope_vector(d, dim, angle, m, x + t * dim, y + t * dim);
    }
}

START_TEST(test_rope_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const rope_case *c = &rope_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    op_run r = {"rope", "--x", c->dtype, c->ndim, c->shape, c->options, {{0}}, NULL};
    add_positions(&r, &c->pos);
    add_factors(&r, "--short-factor", c->desc.short_factor, c->desc.factor_count);
    add_factors(&r, "--long-factor", c->desc.long_factor, c->desc.factor_count);
    add_factors(&r, "--freq-factors", c->desc.freq_factors, c->desc.factor_count);
    check_op_run(&r, _i, b, rope_reference, c);
}
END_TEST

/* -- sinusoidal -- */

typedef struct sinusoidal_case {
    vkattn_dtype dtype;
    uint32_t ndim; /* 3: [batch, seq, dim]; 2: [seq, dim] */
    int64_t shape[3];
    const char *options[MAX_OPTIONS];
    positions pos;
    vkattn_sinusoidal_desc desc; /* what the options say, for the reference */
} sinusoidal_case;

static const sinusoidal_case sinusoidal_cases[] = {
    {.dtype = VKATTN_F32, .ndim = 3, .shape = {2, 3, 6}, .options = {"--pos-offset", "4"}, .desc = {.pos_offset = 4}},
    {.dtype = VKATTN_F32, .ndim = 2, .shape = {3, 7}, .options = {"--base", "100"}, .desc = {.base = 100.0}},
    {.dtype = VKATTN_F32, .ndim = 3, .shape = {2, 3, 8}, .options = {"--layout", "concat"}, .pos = POS_BATCH2_SEQ3,
     .desc = {.layout = VKATTN_SINUSOIDAL_CONCAT}},
    {.dtype = VKATTN_F16, .ndim = 2, .shape = {3, 9}, .options = {"--layout=concat", "--base", "1000"},
     .pos = POS_SEQ3, .desc = {.layout = VKATTN_SINUSOIDAL_CONCAT, .base = 1000.0}},
};
#define SINUSOIDAL_CASES (int)(sizeof sinusoidal_cases / sizeof sinusoidal_cases[0])

/* Element k of the encoding of position p (vkattn.h). Interleaved: PE[2j] = sin(p w_j), PE[2j+1] = cos(p w_j),
 * w_j = base^(-2j/dim). Concat: h = dim/2, w_j = exp(-j ln(base) / (h - 1)), PE[j] = sin(p w_j),
 * PE[h + j] = cos(p w_j), an odd dim's last element 0. */
static double sinusoidal_pe(const vkattn_sinusoidal_desc *d, uint32_t dim, double p, uint32_t k)
{
    double base = d->base != 0.0 ? d->base : 10000.0;
    if (d->layout == VKATTN_SINUSOIDAL_INTERLEAVED) {
        double w = pow(base, -2.0 * (k / 2) / dim);
        return k % 2 ? cos(p * w) : sin(p * w);
    }
    uint32_t h = dim / 2;
    if (k >= 2 * h)
        return 0.0;
    double w = exp(-(double)(k % h) * log(base) / (h - 1));
    return k < h ? sin(p * w) : cos(p * w);
}

static void sinusoidal_reference(const void *arg, const float *x, double *y)
{
    const sinusoidal_case *c = arg;
    int64_t seq = c->shape[c->ndim - 2];
    uint32_t dim = (uint32_t)c->shape[c->ndim - 1];
    size_t n = numel(c->ndim, c->shape);
    for (size_t i = 0; i < n; i++) {
        int64_t row = (int64_t)(i / dim);
        double p = position_of(&c->pos, 1, c->desc.pos_offset, 0, row / seq, row % seq);
        y[i] = x[i] + sinusoidal_pe(&c->desc, dim, p, (uint32_t)(i % dim));
    }
}

START_TEST(test_sinusoidal_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const sinusoidal_case *c = &sinusoidal_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    op_run r = {"sinusoidal", "--x", c->dtype, c->ndim, c->shape, c->options, {{0}}, NULL};
    add_positions(&r, &c->pos);
    check_op_run(&r, _i, b, sinusoidal_reference, c);
}
END_TEST

/* -- alibi -- */

static const float alibi_slopes3[3] = {0.5f, 0.25f, 2.0f};

typedef struct alibi_case {
    vkattn_dtype dtype;
    uint32_t ndim; /* [batch, heads, q, k], [heads, q, k] or [q, k] */
    int64_t shape[4];
    const char *options[MAX_OPTIONS];
    vkattn_alibi_desc desc; /* what the options say, for the reference; its slopes go to the --slopes file */
} alibi_case;

static const alibi_case alibi_cases[] = {
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {1, 12, 2, 5}, .options = {"--causal", "--q-offset", "3"},
     .desc = {.causal = true, .q_offset = 3}},
    {.dtype = VKATTN_F16, .ndim = 4, .shape = {1, 12, 2, 5}, .options = {"--q-offset", "3", "--causal"},
     .desc = {.causal = true, .q_offset = 3}},
    {.dtype = VKATTN_F32, .ndim = 4, .shape = {2, 4, 3, 6}, .options = {"--max-bias", "4", "--train-len", "4"},
     .desc = {.max_bias = 4.0f, .train_len = 4}},
    {.dtype = VKATTN_F32, .ndim = 3, .shape = {3, 2, 5}, .options = {"--q-offset", "-1"},
     .desc = {.slopes = alibi_slopes3, .slope_count = 3, .q_offset = -1}},
    {.dtype = VKATTN_F32, .ndim = 2, .shape = {2, 6},
     .options = {"--grid-width", "3", "--q-offset", "2", "--causal", "--max-bias", "1"},
     .desc = {.grid_width = 3, .q_offset = 2, .causal = true, .max_bias = 1.0f}},
};
#define ALIBI_CASES (int)(sizeof alibi_cases / sizeof alibi_cases[0])

/* The slope of head h (vkattn.h): the caller's, or with n' = 2^floor(log2 heads) and B = max_bias (0 = 8):
 * 2^(-B (h+1) / n') for h < n', else 2^(-B (2(h - n') + 1) / (2n')); times train_len / k_len when k_len > train_len. */
static double alibi_slope(const vkattn_alibi_desc *d, uint32_t h, uint32_t heads, int64_t k_len)
{
    double m;
    if (d->slopes) {
        m = d->slopes[h];
    } else {
        double bias = d->max_bias != 0.0f ? d->max_bias : 8.0;
        uint32_t low = 1;
        while (low * 2 <= heads)
            low *= 2;
        m = h < low ? pow(2.0, -bias * (h + 1) / low) : pow(2.0, -bias * (2.0 * (h - low) + 1) / (2.0 * low));
    }
    if (d->train_len && k_len > (int64_t)d->train_len)
        m *= (double)d->train_len / (double)k_len;
    return m;
}

/* |q - k|, or on a grid of width w the Euclidean distance between (p / w, p mod w) of both (positions >= 0 here). */
static double alibi_distance(const vkattn_alibi_desc *d, int64_t q, int64_t k)
{
    if (!d->grid_width)
        return fabs((double)(q - k));
    int64_t w = d->grid_width;
    double dr = (double)(q / w - k / w), dc = (double)(q % w - k % w);
    return sqrt(dr * dr + dc * dc);
}

static void alibi_reference(const void *arg, const float *x, double *y)
{
    const alibi_case *c = arg;
    const vkattn_alibi_desc *d = &c->desc;
    int64_t heads = c->ndim >= 3 ? c->shape[c->ndim - 3] : 1;
    int64_t q_len = c->shape[c->ndim - 2], k_len = c->shape[c->ndim - 1];
    size_t n = numel(c->ndim, c->shape);
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)i % k_len, q = d->q_offset + (int64_t)i / k_len % q_len;
        uint32_t h = (uint32_t)((int64_t)i / (k_len * q_len) % heads);
        double m = alibi_slope(d, h, (uint32_t)heads, k_len);
        y[i] = d->causal && k > q ? -INFINITY : x[i] - m * alibi_distance(d, q, k);
    }
}

START_TEST(test_alibi_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const alibi_case *c = &alibi_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    op_run r = {"alibi", "--scores", c->dtype, c->ndim, c->shape, c->options, {{0}}, NULL};
    add_factors(&r, "--slopes", c->desc.slopes, c->desc.slope_count);
    check_op_run(&r, _i, b, alibi_reference, c);
}
END_TEST

/* ---- masked softmax, matmul and attention through the program ---------------------------------------------------- */

#define NEG_INF (-INFINITY)
/* Entries of the largest mask file of these cases. */
#define MASK_MAX 32
/* Added to a softmax case's loop index for its directory and seed, which test_softmax_runs's indices also take. */
#define MASKED_SOFTMAX_INDEX 100

/* What the masking options of softmax or attention say, for the references. */
typedef struct masking {
    bool causal;
    int32_t q_offset;
    uint32_t window;
    const float *mask; /* NULL = none; else the --mask values (exact in f16), of mask_shape */
    uint32_t mask_ndim;
    int64_t mask_shape[4];
    const vkattn_alibi_desc *alibi; /* NULL = none; its slopes go to the --slopes file */
} masking;

/* The mask's entry for the score at (b, h, i, j): its dims right-aligned with the scores', broadcast where 1. */
static double mask_value(const masking *m, const int64_t at[4])
{
    size_t index = 0;
    for (uint32_t d = 0; d < m->mask_ndim; d++) {
        int64_t dim = m->mask_shape[d];
        index = index * (size_t)dim + (size_t)(dim == 1 ? 0 : at[4 - m->mask_ndim + d]);
    }
    return m->mask[index];
}

/* What is added to the score at (b, h, i, j) of scores dims = [batch, heads, q_len, k_len] (vkattn.h): the mask
 * and the ALiBi bias, or -inf where causal (k_pos > q_pos) or the window (q_pos - k_pos >= window) masks the key;
 * q_pos = q_offset + i, k_pos = j. */
static double mask_term(const masking *m, const int64_t dims[4], const int64_t at[4])
{
    int64_t q = m->q_offset + at[2], k = at[3];
    if ((m->causal && k > q) || (m->window && q - k >= (int64_t)m->window))
        return NEG_INF;
    double t = m->mask ? mask_value(m, at) : 0.0;
    if (m->alibi)
        t -= alibi_slope(m->alibi, (uint32_t)at[1], (uint32_t)dims[1], dims[3]) * alibi_distance(m->alibi, q, k);
    return t;
}

/* The --mask file, in the run's dtype (its bytes in mask_data), and the --slopes file of m. */
static void add_masking(op_run *r, const masking *m, unsigned char mask_data[MASK_MAX * 4])
{
    if (m->mask) {
        float values[MASK_MAX];
        size_t n = numel(m->mask_ndim, m->mask_shape);
        ck_assert(n <= MASK_MAX);
        memcpy(values, m->mask, n * sizeof *values);
        encode_values(r->dtype, values, mask_data, n);
        add_extra(r, "--mask", r->dtype, m->mask_ndim, m->mask_shape, mask_data);
    }
    if (m->alibi)
        add_factors(r, "--slopes", m->alibi->slopes, m->alibi->slope_count);
}

/* -- softmax with masks and ALiBi -- */

/* With --causal --q-offset 2 --window 3, row i keeps keys 2 + i - 2 .. 2 + i; the mask masks all of row 1's. */
static const float mask_3x6[18] = {
    0.0f, -1.5f, 0.25f, 0.0f, 0.0f,    0.0f,
    0.0f, NEG_INF, NEG_INF, NEG_INF, 0.0f, 0.0f,
    0.5f, 0.0f,  2.0f,  NEG_INF, -0.75f, 1.0f,
};
static const float mask_2x4[8] = {0.0f, -0.5f, 1.0f, NEG_INF, 0.25f, 0.0f, 0.0f, -2.0f};

typedef struct masked_softmax_case {
    vkattn_dtype dtype; /* of x and the mask */
    int64_t shape[4];   /* [batch, heads, q, k] */
    const char *options[MAX_OPTIONS];
    double scale;       /* what --scale says; 0 = not given (1) */
    masking masking;
} masked_softmax_case;

static const masked_softmax_case masked_softmax_cases[] = {
    {VKATTN_F32, {1, 2, 3, 6}, {"--causal", "--q-offset", "2", "--window", "3", "--scale", "0.5"}, 0.5,
     {.causal = true, .q_offset = 2, .window = 3, .mask = mask_3x6, .mask_ndim = 2, .mask_shape = {3, 6}}},
    {VKATTN_F32, {2, 4, 2, 5}, {"--alibi", "--max-bias", "4", "--causal", "--q-offset", "3"}, 0.0,
     {.causal = true, .q_offset = 3, .alibi = &(const vkattn_alibi_desc){.max_bias = 4.0f}}},
    {VKATTN_F16, {1, 3, 2, 4}, {"--alibi", "--window", "2", "--q-offset", "1"}, 0.0,
     {.q_offset = 1, .window = 2, .mask = mask_2x4, .mask_ndim = 4, .mask_shape = {1, 1, 2, 4},
      .alibi = &(const vkattn_alibi_desc){.slopes = alibi_slopes3, .slope_count = 3}}},
};
#define MASKED_SOFTMAX_CASES (int)(sizeof masked_softmax_cases / sizeof masked_softmax_cases[0])

static void masked_softmax_reference(const void *arg, const float *x, double *y)
{
    const masked_softmax_case *c = arg;
    const int64_t *dims = c->shape;
    double scale = c->scale != 0.0 ? c->scale : 1.0;
    size_t len = (size_t)dims[3];
    for (size_t row = 0; row < numel(3, dims); row++) {
        int64_t r = (int64_t)row;
        for (size_t j = 0; j < len; j++) {
            const int64_t at[4] = {r / (dims[1] * dims[2]), r / dims[2] % dims[1], r % dims[2], (int64_t)j};
            y[row * len + j] = scale * x[row * len + j] + mask_term(&c->masking, dims, at);
        }
        softmax_row(y + row * len, len);
    }
}

START_TEST(test_masked_softmax_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const masked_softmax_case *c = &masked_softmax_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    unsigned char mask_data[MASK_MAX * 4];
    op_run r = {"softmax", "--x", c->dtype, 4, c->shape, c->options, {{0}}, NULL};
    add_masking(&r, &c->masking, mask_data);
    check_op_run(&r, MASKED_SOFTMAX_INDEX + _i, b, masked_softmax_reference, c);
}
END_TEST

/* -- matmul -- */

typedef struct matmul_case {
    vkattn_dtype dtype;
    uint32_t ndim;
    int64_t a[4], b[4], c[4]; /* b as the file holds it: [.., N, K] with --transpose-b */
    const char *options[MAX_OPTIONS];
    bool transpose_b;
    double scale;             /* what --scale says; 0 = not given (1) */
} matmul_case;

/* Few cases: each Vulkan run compiles its kernels, the dearest part of this suite. */
static const matmul_case matmul_cases[] = {
    /* [heads, M, K] x [heads_b, N, K]^T, 4 heads on 2 (grouped-query): Q K^T */
    {VKATTN_F16, 3, {4, 3, 8}, {2, 5, 8}, {4, 3, 5}, {"--transpose-b", "--scale", "0.25"}, true, 0.25},
};
#define MATMUL_CASES (int)(sizeof matmul_cases / sizeof matmul_cases[0])

typedef struct matmul_run {
    const matmul_case *c;
    const float *b; /* the --b values */
} matmul_run;

/* shape of ndim dims as 4, with leading 1s. */
static void shape4(uint32_t ndim, const int64_t *shape, int64_t out[4])
{
    for (uint32_t d = 0; d < 4; d++)
        out[d] = d < 4 - ndim ? 1 : shape[d - (4 - ndim)];
}

/* c[t, h, i, n] = scale * sum_k a[t, h, i, k] b[t mod batch_b, h / (heads / heads_b), k, n] (b[.., n, k] when
 * transposed). */
static void matmul_reference(const void *arg, const float *a, double *c)
{
    const matmul_run *run = arg;
    const matmul_case *mc = run->c;
    int64_t as[4], bs[4], cs[4];
    shape4(mc->ndim, mc->a, as);
    shape4(mc->ndim, mc->b, bs);
    shape4(mc->ndim, mc->c, cs);
    int64_t m_len = as[2], k_len = as[3], n_len = cs[3], group = as[1] / bs[1];
    double scale = mc->scale != 0.0 ? mc->scale : 1.0;
    for (int64_t mat = 0; mat < as[0] * as[1]; mat++) {
        const float *am = a + mat * m_len * k_len;
        const float *bm = run->b + ((mat / as[1]) % bs[0] * bs[1] + mat % as[1] / group) * k_len * n_len;
        for (int64_t i = 0; i < m_len * n_len; i++) {
            int64_t row = i / n_len, col = i % n_len;
            double sum = 0.0;
            for (int64_t k = 0; k < k_len; k++)
                sum += (double)am[row * k_len + k] * (mc->transpose_b ? bm[col * k_len + k] : bm[k * n_len + col]);
            c[mat * m_len * n_len + i] = scale * sum;
        }
    }
}

START_TEST(test_matmul_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const matmul_case *c = &matmul_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    input_values bv = random_input(c->dtype, 7u + (uint32_t)_i, numel(c->ndim, c->b));
    op_run r = {"matmul", "--a", c->dtype, c->ndim, c->a, c->options, {{0}}, c->c};
    add_extra(&r, "--b", c->dtype, c->ndim, c->b, bv.data);
    matmul_run run = {c, bv.x};
    check_op_run(&r, _i, b, matmul_reference, &run);
    input_free(&bv);
}
END_TEST

/* -- attention -- */

static const float mask_2x6[12] = {0.0f, -1.0f, 0.5f, NEG_INF, 0.0f, 0.25f, 1.0f, 0.0f, 0.0f, -0.5f, NEG_INF, 0.0f};

typedef struct attention_case {
    vkattn_dtype dtype;
    int64_t q[4], kv[4]; /* [batch, seq, heads, head_dim] */
    const char *options[MAX_OPTIONS];
    double scale;                 /* what --scale says; 0 = not given (1 / sqrt(head_dim)) */
    const vkattn_rope_desc *rope; /* what the rope options say with --pe rope; NULL = no RoPE */
    masking masking;
} attention_case;

static const attention_case attention_cases[] = {
    /* GQA 4/2, RoPE with linear scaling at q_offset + i and j, causal after a cache of 2 */
    {VKATTN_F32, {1, 3, 4, 32}, {1, 5, 2, 32},
     {"--pe", "rope", "--causal", "--q-offset", "2", "--scaling", "linear", "--factor", "2"}, 0.0,
     &(const vkattn_rope_desc){.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 2.0}, {.causal = true, .q_offset = 2}},
    /* f16, MQA, ALiBi (ggml max_bias), sliding window and a mask, through the unfused path */
    {VKATTN_F16, {2, 2, 4, 32}, {2, 6, 1, 32},
     {"--pe", "alibi", "--max-bias", "4", "--window", "3", "--q-offset", "4", "--scale", "0.25", "--unfused"}, 0.25,
     NULL,
     {.q_offset = 4, .window = 3, .mask = mask_2x6, .mask_ndim = 2, .mask_shape = {2, 6},
      .alibi = &(const vkattn_alibi_desc){.max_bias = 4.0f}}},
};
#define ATTENTION_CASES (int)(sizeof attention_cases / sizeof attention_cases[0])

typedef struct attention_run {
    const attention_case *c;
    const float *k, *v; /* the --k and --v values */
} attention_run;

/* x [batch, seq, heads, head_dim] in float64, with RoPE d at positions offset + s when d is not NULL. */
static void rope_rows(const vkattn_rope_desc *d, const int64_t shape[4], int32_t offset, const float *x, double *y)
{
    uint32_t dim = (uint32_t)shape[3];
    size_t rows = numel(3, shape);
    if (!d) {
        for (size_t i = 0; i < rows * dim; i++)
            y[i] = x[i];
        return;
    }
    double theta[32], angle[32], m;
    uint32_t axis[32];
    ck_assert(dim <= 64);
    rope_frequencies(d, dim, theta, axis, &m);
    for (size_t t = 0; t < rows; t++) {
        double position = (double)offset + (double)((int64_t)t / shape[2] % shape[1]);
        for (uint32_t i = 0; i < dim / 2; i++)
            angle[i] = theta[i] * position;
        rope_vector(d, dim, angle, m, x + t * dim, y + t * dim);
    }
}

/* out[b, i, h] = sum_j p_j v[b, j, g], p = softmax_j(scale q[b, i, h] . k[b, j, g] + mask_term), g = h / (heads /
 * kv_heads), q and k rotated first with --pe rope. */
static void attention_reference(const void *arg, const float *q, double *out)
{
    const attention_run *run = arg;
    const attention_case *c = run->c;
    int64_t batch = c->q[0], q_len = c->q[1], heads = c->q[2], dim = c->q[3], kv_len = c->kv[1], kv_heads = c->kv[2];
    const int64_t dims[4] = {batch, heads, q_len, kv_len};
    double scale = c->scale != 0.0 ? c->scale : 1.0 / sqrt((double)dim);
    double *qr = malloc(numel(4, c->q) * sizeof *qr), *kr = malloc(numel(4, c->kv) * sizeof *kr);
    double *p = malloc((size_t)kv_len * sizeof *p);
    ck_assert(qr && kr && p);
    rope_rows(c->rope, c->q, c->masking.q_offset, q, qr);
    rope_rows(c->rope, c->kv, 0, run->k, kr);
    for (int64_t row = 0; row < batch * q_len * heads; row++) {
        int64_t b = row / (q_len * heads), i = row / heads % q_len, h = row % heads, g = h / (heads / kv_heads);
        for (int64_t j = 0; j < kv_len; j++) {
            const double *kv = kr + ((b * kv_len + j) * kv_heads + g) * dim;
            double dot = 0.0;
            for (int64_t d = 0; d < dim; d++)
                dot += qr[row * dim + d] * kv[d];
            const int64_t at[4] = {b, h, i, j};
            p[j] = scale * dot + mask_term(&c->masking, dims, at);
        }
        softmax_row(p, (size_t)kv_len);
        for (int64_t d = 0; d < dim; d++) {
            double sum = 0.0;
            for (int64_t j = 0; j < kv_len; j++)
                sum += p[j] * run->v[((b * kv_len + j) * kv_heads + g) * dim + d];
            out[row * dim + d] = sum;
        }
    }
    free(qr);
    free(kr);
    free(p);
}

START_TEST(test_attention_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const attention_case *c = &attention_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    input_values k = random_input(c->dtype, 11u + (uint32_t)_i, numel(4, c->kv));
    input_values v = random_input(c->dtype, 23u + (uint32_t)_i, numel(4, c->kv));
    unsigned char mask_data[MASK_MAX * 4];
    op_run r = {"attention", "--q", c->dtype, 4, c->q, c->options, {{0}}, NULL};
    add_extra(&r, "--k", c->dtype, 4, c->kv, k.data);
    add_extra(&r, "--v", c->dtype, 4, c->kv, v.data);
    add_masking(&r, &c->masking, mask_data);
    attention_run run = {c, k.x, v.x};
    check_op_run(&r, _i, b, attention_reference, &run);
    input_free(&k);
    input_free(&v);
}
END_TEST

/* ---- error rows -------------------------------------------------------------------------------------------------- */

typedef enum input_kind {
    INPUT_VALID,            /* f32 (2, 3, 4): valid for every op */
    INPUT_NONE,             /* no file at the input path */
    INPUT_BAD_MAGIC,
    INPUT_TRUNCATED_HEADER, /* the file ends inside the header */
    INPUT_TRUNCATED_DATA,   /* 4 bytes short */
    INPUT_TRAILING_DATA,    /* 4 bytes too many */
    INPUT_HUGE_HEADER,      /* version 2.0 announcing a 1 GiB header */
    INPUT_DICT,             /* the row's header dict with 96 bytes of data */
    INPUT_AUX,              /* a valid input, and a second file {aux}: the row's dict with all-zero data */
} input_kind;

typedef struct error_row {
    const char *name;
    input_kind input;
    const char *dict;
    const char *reason; /* part of the message that shows the run failed for this row's reason */
    const char *args[MAX_ARGS]; /* "{in}", "{out}" and "{aux}" stand for the paths */
} error_row;

#define IN "{in}"
#define OUT "{out}"
#define AUX "{aux}"
#define RUN_CPU "run", "softmax", "--x", IN, "-o", OUT, "--backend", "cpu"
/* The valid input is [seq 2, heads 3, head_dim 4] for rope and for attention's q, k and v, [batch 2, seq 3, dim 4]
 * for sinusoidal, [heads 2, q 3, k 4] for alibi and softmax, [heads 2, M 3, K 4] for matmul's a and b (which
 * MATMUL_CPU uses transposed). */
#define ROPE_CPU "run", "rope", "--x", IN, "-o", OUT, "--backend", "cpu"
#define SIN_CPU "run", "sinusoidal", "--x", IN, "-o", OUT, "--backend", "cpu"
#define ALIBI_CPU "run", "alibi", "--scores", IN, "-o", OUT, "--backend", "cpu"
#define MATMUL_CPU "run", "matmul", "--a", IN, "--b", IN, "--transpose-b", "-o", OUT, "--backend", "cpu"
#define ATTN_CPU "run", "attention", "--q", IN, "--k", IN, "--v", IN, "-o", OUT, "--backend", "cpu"
#define YARN "--scaling", "yarn", "--factor", "2", "--orig-ctx", "64"

#define DICT(descr, shape) "{'descr': '" descr "', 'fortran_order': False, 'shape': " shape ", }"
#define F4_DICT(shape) DICT("<f4", shape)
#define I4_DICT(shape) DICT("<i4", shape)

static const error_row error_rows[] = {
    {"unknown flag", INPUT_VALID, NULL, "unknown option", {RUN_CPU, "--frobnicate", "1"}},
    {"unknown subcommand", INPUT_VALID, NULL, "unknown command", {"frobnicate", "--x", IN, "-o", OUT}},
    {"unknown op", INPUT_VALID, NULL, "unknown op", {"run", "frobnicate", "--x", IN, "-o", OUT}},
    {"missing -o", INPUT_VALID, NULL, "missing required option -o",
     {"run", "softmax", "--x", IN, "--backend", "cpu"}},
    {"missing -o value", INPUT_VALID, NULL, "needs a value", {"run", "softmax", "--x", IN, "--backend", "cpu", "-o"}},
    {"missing --x", INPUT_VALID, NULL, "missing required option --x",
     {"run", "softmax", "-o", OUT, "--backend", "cpu"}},
    {"repeated --x", INPUT_VALID, NULL, "given twice", {RUN_CPU, "--x", IN}},
    {"stray argument", INPUT_VALID, NULL, "unexpected argument", {RUN_CPU, "extra"}},
    {"nonexistent file", INPUT_NONE, NULL, "cannot open", {RUN_CPU}},
    {"wrong magic", INPUT_BAD_MAGIC, NULL, "bad magic", {RUN_CPU}},
    {"truncated header", INPUT_TRUNCATED_HEADER, NULL, "truncated .npy header", {RUN_CPU}},
    {"truncated data", INPUT_TRUNCATED_DATA, NULL, "truncated data", {RUN_CPU}},
    {"trailing data", INPUT_TRAILING_DATA, NULL, "trailing data", {RUN_CPU}},
    {"absurd header length", INPUT_HUGE_HEADER, NULL, "header length", {RUN_CPU}},
    {"fortran order", INPUT_DICT, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "Fortran",
     {RUN_CPU}},
    {"big-endian", INPUT_DICT, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "big-endian",
     {RUN_CPU}},
    {"unsupported dtype", INPUT_DICT, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
     "unsupported dtype '<f8'", {RUN_CPU}},
    {"5-d shape", INPUT_DICT, F4_DICT("(1, 1, 1, 2, 3)"), "5-d", {RUN_CPU}},
    {"0-d shape", INPUT_DICT, F4_DICT("()"), "0-d", {RUN_CPU}},
    {"zero dim", INPUT_DICT, F4_DICT("(0, 6)"), "dimension of 0", {RUN_CPU}},
    {"shape product overflow", INPUT_DICT, F4_DICT("(4294967296, 4294967296, 6)"), "overflows", {RUN_CPU}},
    {"byte size overflow", INPUT_DICT, F4_DICT("(4611686018427387904,)"), "overflows", {RUN_CPU}},
    {"huge shape, small file", INPUT_DICT, F4_DICT("(1099511627776,)"), "truncated data", {RUN_CPU}},
    {"negative dim", INPUT_DICT, F4_DICT("(-1, 6)"), "non-negative integer", {RUN_CPU}},
    {"dim beyond int64", INPUT_DICT, F4_DICT("(99999999999999999999,)"), "too large", {RUN_CPU}},
    {"missing key", INPUT_DICT, "{'descr': '<f4', 'shape': (2, 3), }", "lacks 'fortran_order'", {RUN_CPU}},
    {"bad --scale abc", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "abc"}},
    {"bad --scale inf", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "inf"}},
    {"bad --scale 1e999", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale=1e999"}},
    {"bad --scale 2x", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "2x"}},
    {"--scale 0", INPUT_VALID, NULL, "must not be 0", {RUN_CPU, "--scale", "0"}},
    {"rope unknown flag", INPUT_VALID, NULL, "unknown option '--frobnicate'", {ROPE_CPU, "--frobnicate"}},
    {"rope missing --x", INPUT_VALID, NULL, "missing required option --x", {"run", "rope", "-o", OUT}},
    {"rope missing -o", INPUT_VALID, NULL, "missing required option -o", {"run", "rope", "--x", IN}},
    {"sinusoidal missing --x", INPUT_VALID, NULL, "missing required option --x", {"run", "sinusoidal", "-o", OUT}},
    {"sinusoidal missing -o", INPUT_VALID, NULL, "missing required option -o", {"run", "sinusoidal", "--x", IN}},
    {"alibi missing --scores", INPUT_VALID, NULL, "missing required option --scores", {"run", "alibi", "-o", OUT}},
    {"alibi missing -o", INPUT_VALID, NULL, "missing required option -o", {"run", "alibi", "--scores", IN}},
    {"alibi --x", INPUT_VALID, NULL, "unknown option '--x'", {"run", "alibi", "--x", IN, "-o", OUT}},
    {"--pos-offset overflow", INPUT_VALID, NULL, "not an integer", {ROPE_CPU, "--pos-offset", "2147483648"}},
    {"--pos-offset huge", INPUT_VALID, NULL, "not an integer", {SIN_CPU, "--pos-offset=99999999999999999999"}},
    {"--q-offset underflow", INPUT_VALID, NULL, "not an integer", {ALIBI_CPU, "--q-offset", "-2147483649"}},
    {"--q-offset fraction", INPUT_VALID, NULL, "not an integer", {ALIBI_CPU, "--q-offset", "1.5"}},
    {"--rot-dims trailing junk", INPUT_VALID, NULL, "not an integer", {ROPE_CPU, "--rot-dims", "4x"}},
    {"--rot-dims negative", INPUT_VALID, NULL, "not an integer", {ROPE_CPU, "--rot-dims", "-4"}},
    {"--rot-dims leading space", INPUT_VALID, NULL, "not an integer", {ROPE_CPU, "--rot-dims", " 4"}},
    {"--rot-dims hex", INPUT_VALID, NULL, "not an integer", {ROPE_CPU, "--rot-dims", "0x4"}},
    {"--rot-dims 0", INPUT_VALID, NULL, "must not be 0", {ROPE_CPU, "--rot-dims", "0"}},
    {"--orig-ctx overflow", INPUT_VALID, NULL, "not an integer",
     {ROPE_CPU, "--scaling", "yarn", "--factor", "2", "--orig-ctx", "4294967296"}},
    {"--train-len -1", INPUT_VALID, NULL, "not an integer", {ALIBI_CPU, "--train-len", "-1"}},
    {"--grid-width 0", INPUT_VALID, NULL, "must not be 0", {ALIBI_CPU, "--grid-width", "0"}},
    {"--base nan", INPUT_VALID, NULL, "not a finite number", {ROPE_CPU, "--base", "nan"}},
    {"--base 0", INPUT_VALID, NULL, "must not be 0", {SIN_CPU, "--base", "0"}},
    {"--base empty", INPUT_VALID, NULL, "needs a value", {SIN_CPU, "--base="}},
    {"--factor inf", INPUT_VALID, NULL, "not a finite number", {ROPE_CPU, "--scaling", "linear", "--factor", "inf"}},
    {"--beta-fast 0", INPUT_VALID, NULL, "must not be 0", {ROPE_CPU, YARN, "--beta-fast", "0"}},
    {"--yarn-mscale 1e400", INPUT_VALID, NULL, "not a finite number", {ROPE_CPU, YARN, "--yarn-mscale", "1e400"}},
    {"--max-bias beyond float", INPUT_VALID, NULL, "not a finite number", {ALIBI_CPU, "--max-bias", "1e39"}},
    {"--mrope-section of 2", INPUT_VALID, NULL, "three integers",
     {ROPE_CPU, "--axes", "mrope", "--mrope-section", "2,2"}},
    {"--mrope-section trailing comma", INPUT_VALID, NULL, "three integers",
     {ROPE_CPU, "--axes", "mrope", "--mrope-section", "1,1,2,"}},
    {"--scaling unknown", INPUT_VALID, NULL, "unknown value 'rope2' for --scaling", {ROPE_CPU, "--scaling", "rope2"}},
    {"--mode unknown", INPUT_VALID, NULL, "unknown value 'NEOX' for --mode", {ROPE_CPU, "--mode", "NEOX"}},
    {"--axes unknown", INPUT_VALID, NULL, "unknown value '3d' for --axes", {ROPE_CPU, "--axes", "3d"}},
    {"--layout unknown", INPUT_VALID, NULL, "unknown value 'split' for --layout", {SIN_CPU, "--layout", "split"}},
    {"--causal with a value", INPUT_VALID, NULL, "takes no value", {ALIBI_CPU, "--causal=yes"}},
    {"--causal twice", INPUT_VALID, NULL, "given twice", {ALIBI_CPU, "--causal", "--causal"}},
    {"--factor without --scaling", INPUT_VALID, NULL, "--factor applies only with --scaling",
     {ROPE_CPU, "--factor", "2"}},
    {"--beta-fast with linear", INPUT_VALID, NULL, "--beta-fast applies only with --scaling yarn",
     {ROPE_CPU, "--scaling", "linear", "--factor", "2", "--beta-fast", "8"}},
    {"--yarn-no-truncate without yarn", INPUT_VALID, NULL, "applies only with --scaling yarn",
     {ROPE_CPU, "--yarn-no-truncate"}},
    {"--low-freq-factor with yarn", INPUT_VALID, NULL, "applies only with --scaling llama3",
     {ROPE_CPU, YARN, "--low-freq-factor", "1"}},
    {"--ctx-len with ntk", INPUT_VALID, NULL, "applies only with --scaling dynamic|longrope",
     {ROPE_CPU, "--scaling", "ntk", "--factor", "2", "--ctx-len", "100"}},
    {"yarn without --factor", INPUT_VALID, NULL, "--scaling yarn needs --factor",
     {ROPE_CPU, "--scaling", "yarn", "--orig-ctx", "64"}},
    {"yarn without --orig-ctx", INPUT_VALID, NULL, "--scaling yarn needs --orig-ctx",
     {ROPE_CPU, "--scaling", "yarn", "--factor", "2"}},
    {"mrope without --mrope-section", INPUT_VALID, NULL, "--axes mrope needs --mrope-section",
     {ROPE_CPU, "--axes", "mrope"}},
    {"--mrope-section without mrope", INPUT_VALID, NULL, "applies only with --axes mrope",
     {ROPE_CPU, "--mrope-section", "1,1,0"}},
    {"rope --pos with --pos-offset", INPUT_AUX, I4_DICT("(2,)"), "cannot be given together",
     {ROPE_CPU, "--pos", AUX, "--pos-offset", "1"}},
    {"sinusoidal --pos with --pos-offset", INPUT_AUX, I4_DICT("(3,)"), "cannot be given together",
     {SIN_CPU, "--pos-offset", "0", "--pos", AUX}},
    {"--slopes with --max-bias", INPUT_AUX, F4_DICT("(2,)"), "cannot be given together",
     {ALIBI_CPU, "--slopes", AUX, "--max-bias", "8"}},
    {"longrope without --long-factor", INPUT_AUX, F4_DICT("(1,)"), "--scaling longrope needs --long-factor",
     {ROPE_CPU, "--scaling", "longrope", "--factor", "4", "--orig-ctx", "8", "--short-factor", AUX}},
    {"--short-factor without longrope", INPUT_AUX, F4_DICT("(1,)"), "applies only with --scaling longrope",
     {ROPE_CPU, "--short-factor", AUX}},
    {"f32 --pos", INPUT_AUX, F4_DICT("(3,)"), "--pos takes an i32 array", {SIN_CPU, "--pos", AUX}},
    {"f16 rope --pos", INPUT_AUX, DICT("<f2", "(2,)"), "--pos takes an i32 array", {ROPE_CPU, "--pos", AUX}},
    {"sinusoidal --pos of wrong length", INPUT_AUX, I4_DICT("(4,)"), "[ERROR_SHAPE_MISMATCH]",
     {SIN_CPU, "--pos", AUX}},
    {"rope --pos of wrong shape", INPUT_AUX, I4_DICT("(3, 2)"), "[ERROR_SHAPE_MISMATCH]", {ROPE_CPU, "--pos", AUX}},
    {"f64 --slopes", INPUT_AUX, DICT("<f8", "(2,)"), "f32 only", {ALIBI_CPU, "--slopes", AUX}},
    {"i32 --freq-factors", INPUT_AUX, I4_DICT("(2,)"), "takes a 1-D f32 array", {ROPE_CPU, "--freq-factors", AUX}},
    {"2-D --freq-factors", INPUT_AUX, F4_DICT("(2, 1)"), "takes a 1-D f32 array", {ROPE_CPU, "--freq-factors", AUX}},
    {"--slopes of wrong length", INPUT_AUX, F4_DICT("(3,)"), "slope_count", {ALIBI_CPU, "--slopes", AUX}},
    {"--freq-factors of wrong length", INPUT_AUX, F4_DICT("(3,)"), "factor_count",
     {ROPE_CPU, "--freq-factors", AUX}},
    {"truncated rope --x", INPUT_TRUNCATED_DATA, NULL, "truncated data", {ROPE_CPU}},
    {"truncated alibi --scores", INPUT_TRUNCATED_HEADER, NULL, "truncated .npy header", {ALIBI_CPU}},
    {"missing --pos file", INPUT_VALID, NULL, "cannot open", {SIN_CPU, "--pos", AUX}},
    {"odd --rot-dims", INPUT_VALID, NULL, "rot_dims", {ROPE_CPU, "--rot-dims", "3"}},
    {"--rot-dims beyond head_dim", INPUT_VALID, NULL, "rot_dims", {ROPE_CPU, "--rot-dims", "6"}},
    {"llama3 high <= low", INPUT_VALID, NULL, "high_freq_factor",
     {ROPE_CPU, "--scaling", "llama3", "--factor", "8", "--orig-ctx", "64", "--high-freq-factor", "0.5"}},
    {"rope on 2-D x", INPUT_DICT, F4_DICT("(4, 6)"), "vkattn_rope", {ROPE_CPU}},
    {"bad --backend", INPUT_VALID, NULL, "unknown backend",
     {"run", "softmax", "--x", IN, "-o", OUT, "--backend", "gpu"}},
    {"matmul unknown flag", INPUT_VALID, NULL, "unknown option '--transpose-a'", {MATMUL_CPU, "--transpose-a"}},
    {"attention --pos-offset", INPUT_VALID, NULL, "unknown option '--pos-offset'",
     {ATTN_CPU, "--pe", "rope", "--pos-offset", "3"}},
    {"matmul missing --b", INPUT_VALID, NULL, "missing required option --b", {"run", "matmul", "--a", IN, "-o", OUT}},
    {"attention missing --v", INPUT_VALID, NULL, "missing required option --v",
     {"run", "attention", "--q", IN, "--k", IN, "-o", OUT}},
    {"attention missing -o", INPUT_VALID, NULL, "missing required option -o",
     {"run", "attention", "--q", IN, "--k", IN, "--v", IN}},
    {"--window -1", INPUT_VALID, NULL, "not an integer", {RUN_CPU, "--window", "-1"}},
    {"--window 0", INPUT_VALID, NULL, "must not be 0", {ATTN_CPU, "--window", "0"}},
    {"matmul --scale abc", INPUT_VALID, NULL, "not a finite number", {MATMUL_CPU, "--scale", "abc"}},
    {"attention --scale 0", INPUT_VALID, NULL, "must not be 0", {ATTN_CPU, "--scale", "0"}},
    {"attention --q-offset 1.5", INPUT_VALID, NULL, "not an integer", {ATTN_CPU, "--q-offset", "1.5"}},
    {"--pe unknown", INPUT_VALID, NULL, "unknown value 'yarn' for --pe", {ATTN_CPU, "--pe", "yarn"}},
    {"--transpose-b with a value", INPUT_VALID, NULL, "takes no value", {MATMUL_CPU, "--transpose-b=1"}},
    {"rope option without --pe", INPUT_VALID, NULL, "--scaling applies only with --pe rope",
     {ATTN_CPU, "--scaling", "linear", "--factor", "2"}},
    {"rope option with --pe alibi", INPUT_VALID, NULL, "--mode applies only with --pe rope",
     {ATTN_CPU, "--pe", "alibi", "--mode", "gptj"}},
    {"slope option with --pe rope", INPUT_VALID, NULL, "--max-bias applies only with --pe alibi",
     {ATTN_CPU, "--pe", "rope", "--max-bias", "8"}},
    {"softmax slope option without --alibi", INPUT_VALID, NULL, "--train-len applies only with --alibi",
     {RUN_CPU, "--train-len", "4"}},
    {"attention yarn without --factor", INPUT_VALID, NULL, "--scaling yarn needs --factor",
     {ATTN_CPU, "--pe", "rope", "--scaling", "yarn", "--orig-ctx", "64"}},
    {"softmax --slopes with --max-bias", INPUT_AUX, F4_DICT("(2,)"), "cannot be given together",
     {RUN_CPU, "--alibi", "--slopes", AUX, "--max-bias", "8"}},
    {"softmax mask of wrong shape", INPUT_AUX, F4_DICT("(4, 3)"), "[ERROR_SHAPE_MISMATCH]", {RUN_CPU, "--mask", AUX}},
    {"attention mask of wrong shape", INPUT_AUX, F4_DICT("(2, 3)"), "[ERROR_SHAPE_MISMATCH]",
     {ATTN_CPU, "--mask", AUX}},
    {"i32 mask", INPUT_AUX, I4_DICT("(3, 4)"), "[ERROR_DTYPE_MISMATCH]", {RUN_CPU, "--mask", AUX}},
    {"q/k head_dim mismatch", INPUT_AUX, F4_DICT("(2, 3, 2)"), "head_dim",
     {"run", "attention", "--q", IN, "--k", AUX, "--v", AUX, "-o", OUT, "--backend", "cpu"}},
    {"matmul inner dims differ", INPUT_VALID, NULL, "inner dims",
     {"run", "matmul", "--a", IN, "--b", IN, "-o", OUT, "--backend", "cpu"}},
    {"matmul 1-D --b", INPUT_AUX, F4_DICT("(4,)"), "--b takes an array of 2 to 4 dims",
     {"run", "matmul", "--a", IN, "--b", AUX, "-o", OUT, "--backend", "cpu"}},
    {"truncated attention input", INPUT_TRUNCATED_DATA, NULL, "truncated data", {ATTN_CPU}},
    {"truncated matmul input", INPUT_TRUNCATED_HEADER, NULL, "truncated .npy header", {MATMUL_CPU}},
};
#define ERROR_ROWS (int)(sizeof error_rows / sizeof error_rows[0])

static void make_error_input(const error_row *row, const char *path)
{
    static const char *const valid = F4_DICT("(2, 3, 4)");
    float error_input[24];
    for (int i = 0; i < 24; i++)
        error_input[i] = 0.25f * (float)i;
    unsigned char data[sizeof error_input + 4] = {0};
    memcpy(data, error_input, sizeof error_input);
    npy_bytes b = {0};
    npy_build(&b, 1, row->input == INPUT_DICT ? row->dict : valid, data, sizeof error_input);
    switch (row->input) {
    case INPUT_NONE: return;
    case INPUT_VALID:
    case INPUT_DICT:
    case INPUT_AUX: break;
    case INPUT_BAD_MAGIC: b.buf[3] = 'X'; break;
    case INPUT_TRUNCATED_HEADER: b.len = 30; break;
    case INPUT_TRUNCATED_DATA: b.len -= 4; break;
    case INPUT_TRAILING_DATA: b.len += 4; break;
    case INPUT_HUGE_HEADER:
        npy_build(&b, 2, valid, data, sizeof error_input);
        b.buf[11] = 0x40; /* the header length becomes 0x40000000 + 116: about 1 GiB */
        break;
    }
    write_file(path, b.buf, b.len);
}

/* The second file of an INPUT_AUX row: the row's dict with as many zero bytes of data as its shape and descr say. */
static void make_aux_input(const error_row *row, const char *path)
{
    int64_t shape[8];
    uint32_t ndim = dict_shape(row->dict, shape);
    const char *descr = strstr(row->dict, "'descr': '");
    ck_assert(descr != NULL);
    size_t bytes = numel(ndim, shape) * (size_t)(descr[12] - '0'); /* the item size: '<f4' -> 4 */
    unsigned char zeros[256] = {0};
    ck_assert(bytes <= sizeof zeros);
    npy_bytes b;
    npy_build(&b, 1, row->dict, zeros, bytes);
    write_file(path, b.buf, b.len);
}

/* Loop index: row * 2 + (1 when the output file exists before the run). */
START_TEST(test_error_rows)
{
    const error_row *row = &error_rows[_i / 2];
    bool preexisting = _i % 2;
    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN], aux[PATH_LEN];
    case_dir(dir, "error", _i);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    join(aux, dir, "aux.npy");
    make_error_input(row, in);
    if (row->input == INPUT_AUX)
        make_aux_input(row, aux);
    if (preexisting)
        write_file(out, KEEP_CONTENT, strlen(KEEP_CONTENT));

    const char *args[MAX_ARGS];
    size_t n = 0;
    for (; row->args[n]; n++) {
        const char *arg = row->args[n];
        args[n] = strcmp(arg, IN) == 0 ? in : strcmp(arg, OUT) == 0 ? out : strcmp(arg, AUX) == 0 ? aux : arg;
    }
    args[n] = NULL;
    cli_result r = cli_run(args, false);
    ck_assert_msg(r.status == 2, "%s: exit status %d, stderr: %s", row->name, r.status, r.err);
    assert_one_error_line(&r);
    ck_assert_msg(strstr(r.err, row->reason) != NULL, "%s: the message does not say '%s': %s", row->name,
                  row->reason, r.err);

    const char *names[3];
    size_t count = 0;
    if (row->input != INPUT_NONE)
        names[count++] = "in.npy";
    if (row->input == INPUT_AUX)
        names[count++] = "aux.npy";
    if (preexisting) {
        names[count++] = "out.npy";
        char *kept = read_file(out, NULL);
        ck_assert_msg(kept && strcmp(kept, KEEP_CONTENT) == 0, "%s: the existing output changed", row->name);
        free(kept);
    }
    ck_assert_msg(preexisting || !file_exists(out), "%s: an output file was written", row->name);
    assert_dir_holds(dir, names, count);
    cli_result_free(&r);
}
END_TEST

/* A library failure (softmax of an i32 tensor) is reported in one line with the library's message. */
START_TEST(test_library_error)
{
    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN];
    case_dir(dir, "liberr", 0);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    const int32_t ints[6] = {1, 2, 3, 4, 5, 6};
    npy_bytes b;
    npy_build(&b, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", ints, sizeof ints);
    write_file(in, b.buf, b.len);
    const char *args[] = {"run", "softmax", "--x", in, "-o", out, "--backend", "cpu", NULL};
    cli_result r = cli_run(args, false);
    assert_one_error_line(&r);
    ck_assert_msg(strstr(r.err, "vkattn_softmax") != NULL, "the library's message is missing: %s", r.err);
    ck_assert(!file_exists(out));
    cli_result_free(&r);
}
END_TEST

/* ---- devices, version, help -------------------------------------------------------------------------------------- */

static size_t count_occurrences(const char *text, const char *word)
{
    size_t n = 0;
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        n++;
    return n;
}

/* Every Vulkan device the library enumerates appears by name, one marked default; the CPU backend is listed. */
START_TEST(test_devices)
{
    const char *args[] = {"devices", NULL};
    cli_result r = cli_run(args, false);
    assert_success(&r);
    ck_assert_msg(strstr(r.out, "CPU backend") != NULL, "no CPU backend in:\n%s", r.out);

    /* Loading the Vulkan driver in this process is left to runs that test Vulkan (not valgrind's cpu-only runs). */
    if (!vkt_backend_enabled(VKATTN_BACKEND_VULKAN)) {
        cli_result_free(&r);
        return;
    }
    uint32_t count = 0;
    vkattn_device_info infos[16];
    vkattn_result res = vkattn_enumerate_devices(infos, 16, &count);
    if (res != VKATTN_OK || count == 0) {
        ck_assert_msg(strstr(r.out, "Vulkan: not available") != NULL, "no 'not available' line in:\n%s", r.out);
    } else {
        for (uint32_t i = 0; i < count && i < 16; i++)
            ck_assert_msg(strstr(r.out, infos[i].name) != NULL, "device '%s' missing:\n%s", infos[i].name, r.out);
        ck_assert_msg(count_occurrences(r.out, "(default)") == 1, "not one default device:\n%s", r.out);
    }
    if (vkt_in_ci())
        ck_assert_msg(strstr(r.out, "llvmpipe") != NULL, "no llvmpipe under CI:\n%s", r.out);
    cli_result_free(&r);
}
END_TEST

START_TEST(test_version)
{
    const char *args[] = {"--version", NULL};
    cli_result r = cli_run(args, false);
    assert_success(&r);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d\n", VKATTN_VERSION_MAJOR, VKATTN_VERSION_MINOR, VKATTN_VERSION_PATCH);
    ck_assert_str_eq(r.out, want);
    cli_result_free(&r);
}
END_TEST

/* `vkattn run --help` names every op and option. */
START_TEST(test_run_help)
{
    static const char *const words[] = {
        "softmax", "rope", "sinusoidal", "alibi", "--x", "--scale", "--pos ", "--pos-offset", "--mode neox|gptj",
        "--rot-dims", "--base", "--scaling none|linear|ntk|dynamic|yarn|longrope|llama3", "--factor ", "--orig-ctx",
        "--ctx-len", "--beta-fast", "--beta-slow", "--attn-factor", "--yarn-mscale ", "--yarn-mscale-all-dim",
        "--yarn-no-truncate", "--low-freq-factor", "--high-freq-factor", "--short-factor", "--long-factor",
        "--freq-factors", "--axes 1d|2d|mrope", "--mrope-section", "--layout interleaved|concat", "--scores",
        "--q-offset", "--causal", "--train-len", "--max-bias", "--slopes", "--grid-width", "--backend", "--device",
        "--output", "--mask M.npy", "--window W", "--alibi", "only with --alibi", "matmul", "--a A.npy", "--b B.npy",
        "--transpose-b", "attention", "--q Q.npy", "--k K.npy", "--v V.npy", "--pe none|rope|alibi", "--unfused",
        "only with --pe rope", "only with --pe alibi"};
    const char *args[] = {"run", "--help", NULL};
    cli_result r = cli_run(args, false);
    assert_success(&r);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        ck_assert_msg(strstr(r.out, words[i]) != NULL, "'%s' is missing from:\n%s", words[i], r.out);
    cli_result_free(&r);
}
END_TEST

START_TEST(test_help)
{
    const char *args[] = {"--help", NULL};
    cli_result r = cli_run(args, false);
    assert_success(&r);
    ck_assert_msg(strstr(r.out, "usage: vkattn") && strstr(r.out, "softmax"), "help text:\n%s", r.out);
    cli_result_free(&r);

    const char *none[] = {NULL};
    r = cli_run(none, false);
    assert_one_error_line(&r);
    cli_result_free(&r);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 120);
    tcase_add_loop_test(run, test_softmax_runs, 0, SOFTMAX_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_header_variants, 0, HEADER_VARIANTS);
    tcase_add_loop_test(run, test_rope_runs, 0, ROPE_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_sinusoidal_runs, 0, SINUSOIDAL_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_alibi_runs, 0, ALIBI_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_masked_softmax_runs, 0, MASKED_SOFTMAX_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_matmul_runs, 0, MATMUL_CASES * VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_attention_runs, 0, ATTENTION_CASES * VKT_BACKEND_COUNT);
    suite_add_tcase(s, run);

    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, 60);
    tcase_add_loop_test(errors, test_error_rows, 0, ERROR_ROWS * 2);
    tcase_add_test(errors, test_library_error);
    suite_add_tcase(s, errors);

    TCase *info = tcase_create("info");
    tcase_set_timeout(info, 120);
    tcase_add_test(info, test_devices);
    tcase_add_test(info, test_version);
    tcase_add_test(info, test_help);
    tcase_add_test(info, test_run_help);
    suite_add_tcase(s, info);
    return s;
}

int main(void)
{
    return vkt_run_suite(cli_suite());
}
