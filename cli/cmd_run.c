/*
 * cmd_run.c - `vkattn run <op> [options] -o out.npy`: one op on tensors read from .npy files.
 *
 * Each op is one entry of run_ops: its options (inputs and numbers) and a function that builds the op's tensors
 * and runs it. Everything else is shared: option parsing (--flag value and --flag=value, any order), checks of
 * every option before any file is read, loading the inputs before the context is created, the common options
 * --backend, --device and -o, and writing the result.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

#define RUN_MAX_OPTIONS 8

typedef enum run_option_kind {
    RUN_INPUT,         /* a .npy file, loaded before the context is created */
    RUN_FLOAT_NONZERO, /* a finite, non-zero number: op descs read 0 as "use the default" */
} run_option_kind;

typedef struct run_option {
    const char *name;    /* "--x"; NULL ends an op's list */
    const char *metavar; /* "in.npy", for the usage text */
    run_option_kind kind;
    bool required;
    const char *help;
} run_option;

typedef struct run_value {
    const char *text; /* as given on the command line; NULL when absent */
    float number;     /* RUN_FLOAT_NONZERO */
    npy_array array;  /* RUN_INPUT */
} run_value;

struct run_op;

typedef struct run_session {
    const struct run_op *op;
    const char *backend_text;
    const char *device;
    const char *output;
    bool help;
    vkattn_backend backend;
    run_value values[RUN_MAX_OPTIONS]; /* parallel to op->options */
    vkattn_context *ctx;
} run_session;

/* Runs the op on s->ctx from s->values and sets *result to the tensor written to -o. Returns the exit status. */
typedef int (*run_fn)(run_session *s, vkattn_tensor *result);

typedef struct run_op {
    const char *name;
    const char *summary;
    run_fn run;
    run_option options[RUN_MAX_OPTIONS];
} run_op;

/* ---- helpers for op functions ------------------------------------------------------------------------------------ */

static int run_check(const run_session *s, vkattn_result r)
{
    return r == VKATTN_OK ? CLI_EXIT_OK : cli_library_error(s->ctx, r);
}

/* A tensor holding the .npy input of option `index`. */
static int run_input_tensor(run_session *s, int index, vkattn_tensor *out)
{
    const npy_array *a = &s->values[index].array;
    vkattn_tensor_desc desc = {.dtype = a->dtype, .ndim = a->ndim};
    memcpy(desc.shape, a->shape, sizeof desc.shape);
    vkattn_result r = vkattn_tensor_create(s->ctx, &desc, out);
    if (r == VKATTN_OK)
        r = vkattn_tensor_write(s->ctx, *out, a->data, a->bytes);
    return run_check(s, r);
}

/* A new contiguous tensor with the dtype and shape of `like`. */
static int run_tensor_like(run_session *s, vkattn_tensor like, vkattn_tensor *out)
{
    vkattn_tensor_desc desc;
    vkattn_result r = vkattn_tensor_get_desc(s->ctx, like, &desc);
    if (r == VKATTN_OK) {
        memset(desc.strides, 0, sizeof desc.strides);
        r = vkattn_tensor_create(s->ctx, &desc, out);
    }
    return run_check(s, r);
}

/* The number of option `index`, or `fallback` when it was not given. */
static float run_number(const run_session *s, int index, float fallback)
{
    return s->values[index].text ? s->values[index].number : fallback;
}

/* ---- ops --------------------------------------------------------------------------------------------------------- */

enum { SOFTMAX_X, SOFTMAX_SCALE };

static int run_softmax(run_session *s, vkattn_tensor *y)
{
    vkattn_tensor x;
    int status = run_input_tensor(s, SOFTMAX_X, &x);
    if (status == CLI_EXIT_OK)
        status = run_tensor_like(s, x, y);
    if (status != CLI_EXIT_OK)
        return status;
    vkattn_softmax_desc desc = {.scale = run_number(s, SOFTMAX_SCALE, 1.0f)};
    return run_check(s, vkattn_softmax(s->ctx, NULL, &desc, x, *y));
}

static const run_op run_ops[] = {
    {
        .name = "softmax",
        .summary = "softmax along the last axis: y = softmax(scale * x), same dtype and shape as x",
        .run = run_softmax,
        .options =
            {
                [SOFTMAX_X] = {"--x", "in.npy", RUN_INPUT, true, "input, f32 or f16, 1 to 4 dims"},
                [SOFTMAX_SCALE] = {"--scale", "F", RUN_FLOAT_NONZERO, false, "multiplies x first (default 1)"},
            },
    },
};

/* ---- command-line parsing ---------------------------------------------------------------------------------------- */

/* Whether the first len characters of arg are exactly the option name. */
static bool run_name_is(const char *name, const char *arg, size_t len)
{
    return strncmp(name, arg, len) == 0 && name[len] == '\0';
}

/* Where the value of the option named by arg[0..len) goes, or NULL for an unknown option. */
static const char **run_slot(run_session *s, const char *arg, size_t len)
{
    if (run_name_is("--backend", arg, len))
        return &s->backend_text;
    if (run_name_is("--device", arg, len))
        return &s->device;
    if (run_name_is("-o", arg, len) || run_name_is("--output", arg, len))
        return &s->output;
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        if (run_name_is(s->op->options[i].name, arg, len))
            return &s->values[i].text;
    }
    return NULL;
}

/* Fills the text slots of s from argv (the arguments after the op's name). */
static int run_parse_args(run_session *s, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            s->help = true;
            return CLI_EXIT_OK;
        }
        if (arg[0] != '-')
            return cli_error("unexpected argument '%s' for 'run %s'", arg, s->op->name);
        const char *eq = strchr(arg, '=');
        int len = (int)(eq ? (size_t)(eq - arg) : strlen(arg));
        const char **slot = run_slot(s, arg, (size_t)len);
        if (!slot)
            return cli_error("unknown option '%.*s' for 'run %s'", len, arg, s->op->name);
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!value || !value[0])
            return cli_error("option '%.*s' needs a value", len, arg);
        if (*slot)
            return cli_error("option '%.*s' is given twice", len, arg);
        *slot = value;
    }
    return CLI_EXIT_OK;
}

/* strtof, strictly: the whole string is one finite number in float range. */
static bool run_parse_float(const char *text, float *out)
{
    if (isspace((unsigned char)text[0]))
        return false;
    char *end = NULL;
    errno = 0;
    float v = strtof(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static int run_parse_backend(run_session *s)
{
    static const struct {
        const char *name;
        vkattn_backend backend;
    } names[] = {{"auto", VKATTN_BACKEND_AUTO}, {"cpu", VKATTN_BACKEND_CPU}, {"vulkan", VKATTN_BACKEND_VULKAN}};
    s->backend = VKATTN_BACKEND_AUTO;
    if (!s->backend_text)
        return CLI_EXIT_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s->backend_text, names[i].name) == 0) {
            s->backend = names[i].backend;
            return CLI_EXIT_OK;
        }
    }
    return cli_error("unknown backend '%s' for --backend (expected auto, cpu or vulkan)", s->backend_text);
}

/* Required options present, numbers valid: everything that needs no file and no device. */
static int run_check_options(run_session *s)
{
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        const run_option *opt = &s->op->options[i];
        run_value *v = &s->values[i];
        if (!v->text && opt->required)
            return cli_error("missing required option %s %s for 'run %s'", opt->name, opt->metavar, s->op->name);
        if (!v->text || opt->kind != RUN_FLOAT_NONZERO)
            continue;
        if (!run_parse_float(v->text, &v->number))
            return cli_error("%s: '%s' is not a finite number", opt->name, v->text);
        if (v->number == 0.0f)
            return cli_error("%s: must not be 0 (the library reads 0 as \"use the default\")", opt->name);
    }
    if (!s->output)
        return cli_error("missing required option -o out.npy for 'run %s'", s->op->name);
    return run_parse_backend(s);
}

static int run_load_inputs(run_session *s)
{
    char err[NPY_ERROR_LEN];
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        run_value *v = &s->values[i];
        if (s->op->options[i].kind == RUN_INPUT && v->text && !npy_read(v->text, &v->array, err))
            return cli_error("%s", err);
    }
    return CLI_EXIT_OK;
}

/* ---- running ----------------------------------------------------------------------------------------------------- */

static int run_save(run_session *s, vkattn_tensor t)
{
    vkattn_tensor_desc desc;
    uint64_t numel = 0;
    vkattn_result r = vkattn_tensor_get_desc(s->ctx, t, &desc);
    if (r == VKATTN_OK)
        r = vkattn_tensor_numel(s->ctx, t, &numel);
    if (r != VKATTN_OK)
        return cli_library_error(s->ctx, r);
    size_t elem = vkattn_dtype_size(desc.dtype);
    if (elem == 0 || numel > SIZE_MAX / elem)
        return cli_error("the result (%llu elements) does not fit in memory", (unsigned long long)numel);
    npy_array out = {.dtype = desc.dtype, .ndim = desc.ndim, .bytes = (size_t)numel * elem};
    memcpy(out.shape, desc.shape, sizeof out.shape);
    out.data = malloc(out.bytes);
    if (!out.data)
        return cli_error("out of memory for the result (%zu bytes)", out.bytes);
    int status = run_check(s, vkattn_tensor_read(s->ctx, t, out.data, out.bytes));
    char err[NPY_ERROR_LEN];
    if (status == CLI_EXIT_OK && !npy_write(s->output, &out, err))
        status = cli_error("%s", err);
    npy_free(&out);
    return status;
}

static int run_session_execute(run_session *s, int argc, char **argv)
{
    int status = run_parse_args(s, argc, argv);
    if (status != CLI_EXIT_OK || s->help) {
        if (s->help)
            cli_run_usage(stdout);
        return status;
    }
    status = run_check_options(s);
    if (status == CLI_EXIT_OK)
        status = run_load_inputs(s);
    if (status != CLI_EXIT_OK)
        return status;
    vkattn_context_desc desc = cli_context_desc(s->backend, s->device);
    vkattn_result r = vkattn_context_create(&desc, &s->ctx);
    if (r != VKATTN_OK)
        return cli_library_error(NULL, r);
    vkattn_tensor result;
    status = s->op->run(s, &result);
    if (status == CLI_EXIT_OK)
        status = run_save(s, result);
    return status;
}

static const run_op *run_find_op(const char *name)
{
    for (size_t i = 0; i < sizeof run_ops / sizeof run_ops[0]; i++) {
        if (strcmp(run_ops[i].name, name) == 0)
            return &run_ops[i];
    }
    return NULL;
}

int cli_cmd_run(int argc, char **argv)
{
    if (argc < 2)
        return cli_error("'run' needs an op (try 'vkattn run --help')");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_run_usage(stdout);
        return CLI_EXIT_OK;
    }
    const run_op *op = run_find_op(argv[1]);
    if (!op)
        return cli_error("unknown op '%s' for 'run' (try 'vkattn run --help')", argv[1]);
    run_session s = {.op = op};
    int status = run_session_execute(&s, argc - 2, argv + 2);
    vkattn_context_destroy(s.ctx);
    for (int i = 0; i < RUN_MAX_OPTIONS; i++)
        npy_free(&s.values[i].array);
    return status;
}

void cli_run_usage(FILE *out)
{
    fputs("run ops (vkattn run <op> [options] -o out.npy):\n", out);
    for (size_t i = 0; i < sizeof run_ops / sizeof run_ops[0]; i++) {
        const run_op *op = &run_ops[i];
        fprintf(out, "  %s: %s\n", op->name, op->summary);
        for (int k = 0; k < RUN_MAX_OPTIONS && op->options[k].name; k++) {
            const run_option *opt = &op->options[k];
            char usage[64];
            snprintf(usage, sizeof usage, opt->required ? "%s %s" : "[%s %s]", opt->name, opt->metavar);
            fprintf(out, "    %-28s %s\n", usage, opt->help);
        }
    }
    fputs("common run options:\n"
          "    [--backend auto|cpu|vulkan]  default auto: Vulkan when a device is there, else the CPU backend\n"
          "    [--device SEL]               Vulkan device: index or name substring (default: $VKATTN_DEVICE,\n"
          "                                 else the first discrete, integrated, virtual, then CPU device)\n"
          "    -o, --output out.npy         where the result goes (written whole, or not at all)\n",
          out);
}
