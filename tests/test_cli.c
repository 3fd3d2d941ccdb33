/*
 * test_cli.c - the `vkattn` program, run as a child process (posix_spawn) exactly as a user runs it.
 *
 * Inputs are written byte by byte by this file's own .npy writer, outputs parsed by its own reader, both
 * independent of cli/npy.c; softmax results are compared with a float64 softmax computed here. Every error case
 * must exit with status 2, print one line "vkattn: error: ..." on stderr and leave the output path as it was
 * (absent, or a pre-existing file unchanged) with no temporary file beside it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

#define PATH_LEN 4096
#define MAX_ARGS 16
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
    posix_spawn_file_actions_t fa;
    ck_assert(posix_spawn_file_actions_init(&fa) == 0);
    ck_assert(posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    ck_assert(posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);

    char **env = child_env(validation);
    pid_t pid;
    int rc = posix_spawn(&pid, VKATTN_CLI_PATH, &fa, NULL, argv, env);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "posix_spawn %s: %s", VKATTN_CLI_PATH, strerror(rc));
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));

    cli_result r = {.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1};
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
    unsigned char buf[1024];
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
    const char *s = strstr(text, "'shape': (");
    ck_assert_msg(s != NULL, "%s: no shape in %s", path, text);
    s += 10;
    while (*s != ')') {
        char *end;
        long long dim = strtoll(s, &end, 10);
        ck_assert_msg(end != s && p.ndim < 8, "%s: bad shape in %s", path, text);
        p.shape[p.ndim++] = dim;
        s = end;
        if (*s == ',')
            s++;
        while (*s == ' ')
            s++;
    }
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

/* y = exp(s*x - m) / sum exp(s*x - m) per row of the last axis, m the row maximum, in float64. */
static void softmax_reference(const float *x, double *y, size_t rows, size_t len, double scale)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        double *yr = y + r * len;
        double m = -INFINITY, sum = 0.0;
        for (size_t j = 0; j < len; j++)
            m = fmax(m, scale * xr[j]);
        for (size_t j = 0; j < len; j++) {
            yr[j] = exp(scale * xr[j] - m);
            sum += yr[j];
        }
        for (size_t j = 0; j < len; j++)
            yr[j] /= sum;
    }
}

/* Input values (as the f16 file stores them, for f16) and the file's data bytes. */
static void softmax_input(const softmax_case *c, float *x, unsigned char *data, size_t n)
{
    vkt_fill_uniform(x, n, 1234u + (uint32_t)n, -3.0f, 3.0f);
    for (size_t i = 0; i < n; i++) {
        if (c->dtype == VKATTN_F16) {
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
    npy_parsed p = npy_parse(out);
    ck_assert_str_eq(p.descr, c->dtype == VKATTN_F16 ? "<f2" : "<f4");
    ck_assert_uint_eq(p.ndim, c->ndim);
    for (uint32_t i = 0; i < c->ndim; i++)
        ck_assert_int_eq(p.shape[i], c->shape[i]);
    ck_assert_uint_eq(p.data_len, n * vkattn_dtype_size(c->dtype));

    float *got = malloc(n * sizeof *got);
    double *want = malloc(n * sizeof *want);
    ck_assert(got && want);
    output_values(&p, c->dtype, got, n);
    size_t len = (size_t)c->shape[c->ndim - 1];
    softmax_reference(x, want, n / len, len, c->scale ? (double)strtof(c->scale, NULL) : 1.0);
    /* f16: outputs are rounded to 11 significant bits (relative 2^-11); below the smallest normal half, 2^-14,
     * the spacing is absolute, hence the floor. */
    bool half = c->dtype == VKATTN_F16;
    double err = vkt_max_rel_err(got, want, n, half ? ldexp(1.0, -14) : 1e-30);
    ck_assert_msg(err <= (half ? 1e-3 : 1e-5), "max relative error %g", err);
    free(got);
    free(want);
    free(p.raw);
}

START_TEST(test_softmax_runs)
{
    vkattn_backend b = vkt_backend(_i % VKT_BACKEND_COUNT);
    const softmax_case *c = &softmax_cases[_i / VKT_BACKEND_COUNT];
    if (!backend_usable(b))
        return;
    size_t n = 1;
    for (uint32_t i = 0; i < c->ndim; i++)
        n *= (size_t)c->shape[i];
    float *x = malloc(n * sizeof *x);
    unsigned char *data = malloc(n * 4);
    ck_assert(x && data);
    softmax_input(c, x, data, n);

    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN], dict[256], shape[96];
    case_dir(dir, "softmax", _i);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    shape_literal(shape, sizeof shape, c->ndim, c->shape);
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
             c->dtype == VKATTN_F16 ? "<f2" : "<f4", shape);
    npy_bytes file;
    ck_assert(n * vkattn_dtype_size(c->dtype) <= sizeof file.buf - 128);
    npy_build(&file, 1, dict, data, n * vkattn_dtype_size(c->dtype));
    write_file(in, file.buf, file.len);
    if (c->replace)
        write_file(out, KEEP_CONTENT, strlen(KEEP_CONTENT));

    const char *args[MAX_ARGS];
    char bufs[3][PATH_LEN];
    softmax_args(args, c, b, in, out, bufs);
    cli_result r = cli_run(args, b == VKATTN_BACKEND_VULKAN);
    assert_success(&r);
    ck_assert_msg(r.out[0] == '\0', "stdout is not empty: %s", r.out);
    check_softmax_output(c, out, x, n);
    const char *const names[] = {"in.npy", "out.npy"};
    assert_dir_holds(dir, names, 2);
    cli_result_free(&r);
    free(x);
    free(data);
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

/* ---- error rows -------------------------------------------------------------------------------------------------- */

typedef enum input_kind {
    INPUT_VALID,            /* f32 (2, 3) */
    INPUT_NONE,             /* no file at the input path */
    INPUT_BAD_MAGIC,
    INPUT_TRUNCATED_HEADER, /* the file ends inside the header */
    INPUT_TRUNCATED_DATA,   /* 4 bytes short */
    INPUT_TRAILING_DATA,    /* 4 bytes too many */
    INPUT_HUGE_HEADER,      /* version 2.0 announcing a 1 GiB header */
    INPUT_DICT,             /* the row's header dict with 24 bytes of data */
} input_kind;

typedef struct error_row {
    const char *name;
    input_kind input;
    const char *dict;
    const char *reason; /* part of the message that shows the run failed for this row's reason */
    const char *args[MAX_ARGS]; /* "{in}" and "{out}" stand for the paths */
} error_row;

#define IN "{in}"
#define OUT "{out}"
#define RUN_CPU "run", "softmax", "--x", IN, "-o", OUT, "--backend", "cpu"

#define F4_DICT(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"

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
    {"missing key", INPUT_DICT, "{'descr': '<f4', 'shape': (2, 3), }", "lacks 'fortran_order'", {RUN_CPU}},
    {"bad --scale abc", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "abc"}},
    {"bad --scale inf", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "inf"}},
    {"bad --scale 1e999", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale=1e999"}},
    {"bad --scale 2x", INPUT_VALID, NULL, "not a finite number", {RUN_CPU, "--scale", "2x"}},
    {"--scale 0", INPUT_VALID, NULL, "must not be 0", {RUN_CPU, "--scale", "0"}},
    {"bad --backend", INPUT_VALID, NULL, "unknown backend",
     {"run", "softmax", "--x", IN, "-o", OUT, "--backend", "gpu"}},
};
#define ERROR_ROWS (int)(sizeof error_rows / sizeof error_rows[0])

static const float error_input[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};

static void make_error_input(const error_row *row, const char *path)
{
    static const char *const valid = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    unsigned char data[sizeof error_input + 4] = {0};
    memcpy(data, error_input, sizeof error_input);
    npy_bytes b = {0};
    npy_build(&b, 1, row->input == INPUT_DICT ? row->dict : valid, data, sizeof error_input);
    switch (row->input) {
    case INPUT_NONE: return;
    case INPUT_VALID:
    case INPUT_DICT: break;
    case INPUT_BAD_MAGIC: b.buf[3] = 'X'; break;
    case INPUT_TRUNCATED_HEADER: b.len = 30; break;
    case INPUT_TRUNCATED_DATA: b.len -= 4; break;
    case INPUT_TRAILING_DATA: b.len += 4; break;
    case INPUT_HUGE_HEADER:
        npy_build(&b, 2, valid, data, sizeof error_input);
        b.buf[11] = 0x40; /* the header length becomes 0x40000000 + 118: about 1 GiB */
        break;
    }
    write_file(path, b.buf, b.len);
}

/* Loop index: row * 2 + (1 when the output file exists before the run). */
START_TEST(test_error_rows)
{
    const error_row *row = &error_rows[_i / 2];
    bool preexisting = _i % 2;
    char dir[PATH_LEN], in[PATH_LEN], out[PATH_LEN];
    case_dir(dir, "error", _i);
    join(in, dir, "in.npy");
    join(out, dir, "out.npy");
    make_error_input(row, in);
    if (preexisting)
        write_file(out, KEEP_CONTENT, strlen(KEEP_CONTENT));

    const char *args[MAX_ARGS];
    size_t n = 0;
    for (; row->args[n]; n++)
        args[n] = strcmp(row->args[n], IN) == 0 ? in : strcmp(row->args[n], OUT) == 0 ? out : row->args[n];
    args[n] = NULL;
    cli_result r = cli_run(args, false);
    ck_assert_msg(r.status == 2, "%s: exit status %d, stderr: %s", row->name, r.status, r.err);
    assert_one_error_line(&r);
    ck_assert_msg(strstr(r.err, row->reason) != NULL, "%s: the message does not say '%s': %s", row->name,
                  row->reason, r.err);

    const char *names[2];
    size_t count = 0;
    if (row->input != INPUT_NONE)
        names[count++] = "in.npy";
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
    suite_add_tcase(s, info);
    return s;
}

int main(void)
{
    return vkt_run_suite(cli_suite());
}
