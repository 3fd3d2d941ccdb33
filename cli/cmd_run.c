/*
 * cmd_run.c - `vkattn run <op> [options] -o out.npy`: one op on tensors read from .npy files.
 *
 * Each op is one entry of run_ops: its options (inputs, numbers, words, flags), the rules between them, and a
 * function that builds the op's desc and tensors and runs it. Everything else is shared: option parsing
 * (--flag value and --flag=value, any order), checks of every option and rule before any file is read, loading
 * the inputs before the context is created, the common options --backend, --device and -o, and writing the result.
 *
 * Option values start as zero, which is what every desc field reads as its default: an option that is not given
 * leaves its field 0, and options whose field reads an explicit 0 as "default" reject 0 (RUN_NONZERO), so a value
 * the user typed is never silently replaced.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

#define RUN_MAX_OPTIONS 24
#define RUN_COUNT(array) (sizeof(array) / sizeof((array)[0]))
/* A set of RUN_CHOICE values, for run_rule. */
#define RUN_BIT(value) (1u << (value))
/* Room for a usage line or a list of choice words. */
#define RUN_TEXT_LEN 128

typedef enum run_option_kind {
    RUN_INPUT,     /* a .npy file the library checks, loaded before the context is created */
    RUN_POSITIONS, /* a .npy file of i32 positions */
    RUN_FACTORS,   /* a .npy file of a 1-D f32 array (per-frequency factors, slopes) */
    RUN_REAL,      /* a finite number */
    RUN_INT,       /* a decimal int32 */
    RUN_UINT,      /* a decimal uint32 */
    RUN_UINT3,     /* three decimal uint32 separated by commas */
    RUN_CHOICE,    /* one of the words of the metavar "a|b|c"; the value is its index (the words are in enum order) */
    RUN_FLAG,      /* no value: given or not */
} run_option_kind;

enum run_option_flags {
    RUN_REQUIRED = 1u << 0,
    /* An explicit 0 is an error: the desc field reads 0 as "use the default". */
    RUN_NONZERO = 1u << 1,
    /* RUN_REAL stored in a float field: parsed as a float, so a value beyond float range is an error, not inf. */
    RUN_SINGLE = 1u << 2,
};

typedef struct run_option {
    const char *name;    /* "--x"; NULL ends an op's list */
    const char *metavar; /* "in.npy", for the usage text; RUN_CHOICE: the words; RUN_FLAG: NULL */
    run_option_kind kind;
    uint32_t flags;      /* run_option_flags */
    const char *help;
} run_option;

/* A rule between two options of an op (indices into its options), checked before any file is read. */
typedef struct run_rule {
    int option;
    int other;
    /* 0: `option` and `other` cannot be given together. Otherwise `other` is a RUN_CHOICE and `option` may be given
     * only when the choice's value v has RUN_BIT(v) set here. */
    uint32_t values;
    bool needed; /* with values: `option` must be given when the choice's value is one of them */
} run_rule;

typedef struct run_value {
    const char *text;    /* as given on the command line (RUN_FLAG: the flag itself); NULL when absent */
    double real;         /* RUN_REAL */
    int64_t integer;     /* RUN_INT, RUN_UINT; RUN_CHOICE: the word's index */
    uint32_t triple[3];  /* RUN_UINT3 */
    npy_array array;     /* RUN_INPUT, RUN_POSITIONS, RUN_FACTORS */
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
    const run_rule *rules;
    size_t rule_count;
    run_option options[RUN_MAX_OPTIONS];
} run_op;

/* ---- helpers for op functions ------------------------------------------------------------------------------------ */

static int run_check(const run_session *s, vkattn_result r)
{
    return r == VKATTN_OK ? CLI_EXIT_OK : cli_library_error(s->ctx, r);
}

/* A tensor holding the .npy input of option `index`; the zero handle when the option was not given. */
static int run_input_tensor(run_session *s, int index, vkattn_tensor *out)
{
    *out = (vkattn_tensor){0};
    if (!s->values[index].text)
        return CLI_EXIT_OK;
    const npy_array *a = &s->values[index].array;
    vkattn_tensor_desc desc = {.dtype = a->dtype, .ndim = a->ndim};
    memcpy(desc.shape, a->shape, sizeof desc.shape);
    vkattn_result r = vkattn_tensor_create(s->ctx, &desc, out);
    if (r == VKATTN_OK)
        r = vkattn_tensor_write(s->ctx, *out, a->data, a->bytes);
    return run_check(s, r);
}

/* The op's main input (option `index`) as *x, and a new contiguous tensor *y of its dtype and shape. */
static int run_x_and_y(run_session *s, int index, vkattn_tensor *x, vkattn_tensor *y)
{
    int status = run_input_tensor(s, index, x);
    if (status != CLI_EXIT_OK)
        return status;
    vkattn_tensor_desc desc;
    vkattn_result r = vkattn_tensor_get_desc(s->ctx, *x, &desc);
    if (r == VKATTN_OK) {
        memset(desc.strides, 0, sizeof desc.strides);
        r = vkattn_tensor_create(s->ctx, &desc, y);
    }
    return run_check(s, r);
}

/* Points *data at the f32 array of option `index` when it was given and sets *count to its length. Arrays that
 * share one count field of a desc must agree: *count is 0 until the first one is seen. */
static int run_factor_array(const run_session *s, int index, const float **data, uint32_t *count)
{
    const run_value *v = &s->values[index];
    if (!v->text)
        return CLI_EXIT_OK;
    const char *name = s->op->options[index].name;
    int64_t n = v->array.shape[0];
    if (n > (int64_t)UINT32_MAX)
        return cli_error("%s: %lld entries are more than the library takes", name, (long long)n);
    if (*count != 0 && n != (int64_t)*count)
        return cli_error("%s: %lld entries, but the factor arrays given before it have %u (they share one count)",
                         name, (long long)n, *count);
    *data = v->array.data;
    *count = (uint32_t)n;
    return CLI_EXIT_OK;
}

/* ---- ops --------------------------------------------------------------------------------------------------------- */

enum { SOFTMAX_X, SOFTMAX_SCALE };

static int run_softmax(run_session *s, vkattn_tensor *y)
{
    vkattn_tensor x;
    int status = run_x_and_y(s, SOFTMAX_X, &x, y);
    if (status != CLI_EXIT_OK)
        return status;
    vkattn_softmax_desc desc = {.scale = (float)s->values[SOFTMAX_SCALE].real};
    return run_check(s, vkattn_softmax(s->ctx, NULL, &desc, x, *y));
}

enum {
    ROPE_X,
    ROPE_POS,
    ROPE_POS_OFFSET,
    ROPE_MODE,
    ROPE_ROT_DIMS,
    ROPE_BASE,
    ROPE_SCALING,
    ROPE_FACTOR,
    ROPE_ORIG_CTX,
    ROPE_CTX_LEN,
    ROPE_BETA_FAST,
    ROPE_BETA_SLOW,
    ROPE_ATTN_FACTOR,
    ROPE_YARN_MSCALE,
    ROPE_YARN_MSCALE_ALL_DIM,
    ROPE_YARN_NO_TRUNCATE,
    ROPE_LOW_FREQ_FACTOR,
    ROPE_HIGH_FREQ_FACTOR,
    ROPE_SHORT_FACTOR,
    ROPE_LONG_FACTOR,
    ROPE_FREQ_FACTORS,
    ROPE_AXES,
    ROPE_MROPE_SECTION,
};

#define ROPE_SCALED                                                                                               \
    (RUN_BIT(VKATTN_ROPE_SCALING_LINEAR) | RUN_BIT(VKATTN_ROPE_SCALING_NTK) | RUN_BIT(VKATTN_ROPE_SCALING_DYNAMIC) | \
     RUN_BIT(VKATTN_ROPE_SCALING_YARN) | RUN_BIT(VKATTN_ROPE_SCALING_LONGROPE) | RUN_BIT(VKATTN_ROPE_SCALING_LLAMA3))
/* The scalings that read orig_ctx (vkattn.h: "Needs orig_ctx"). */
#define ROPE_WITH_ORIG_CTX                                                                                         \
    (RUN_BIT(VKATTN_ROPE_SCALING_DYNAMIC) | RUN_BIT(VKATTN_ROPE_SCALING_YARN) |                                   \
     RUN_BIT(VKATTN_ROPE_SCALING_LONGROPE) | RUN_BIT(VKATTN_ROPE_SCALING_LLAMA3))
#define ROPE_YARN RUN_BIT(VKATTN_ROPE_SCALING_YARN)
#define ROPE_LLAMA3 RUN_BIT(VKATTN_ROPE_SCALING_LLAMA3)
#define ROPE_LONGROPE RUN_BIT(VKATTN_ROPE_SCALING_LONGROPE)

/* An option that the chosen scaling would ignore is a mistake in the command line, so it is refused. */
static const run_rule rope_rules[] = {
    {ROPE_POS_OFFSET, ROPE_POS, 0, false},
    {ROPE_FACTOR, ROPE_SCALING, ROPE_SCALED, true},
    {ROPE_ORIG_CTX, ROPE_SCALING, ROPE_WITH_ORIG_CTX, true},
    {ROPE_CTX_LEN, ROPE_SCALING, RUN_BIT(VKATTN_ROPE_SCALING_DYNAMIC) | ROPE_LONGROPE, false},
    {ROPE_BETA_FAST, ROPE_SCALING, ROPE_YARN, false},
    {ROPE_BETA_SLOW, ROPE_SCALING, ROPE_YARN, false},
    {ROPE_YARN_MSCALE, ROPE_SCALING, ROPE_YARN, false},
    {ROPE_YARN_MSCALE_ALL_DIM, ROPE_SCALING, ROPE_YARN, false},
    {ROPE_YARN_NO_TRUNCATE, ROPE_SCALING, ROPE_YARN, false},
    {ROPE_LOW_FREQ_FACTOR, ROPE_SCALING, ROPE_LLAMA3, false},
    {ROPE_HIGH_FREQ_FACTOR, ROPE_SCALING, ROPE_LLAMA3, false},
    {ROPE_SHORT_FACTOR, ROPE_SCALING, ROPE_LONGROPE, true},
    {ROPE_LONG_FACTOR, ROPE_SCALING, ROPE_LONGROPE, true},
    {ROPE_MROPE_SECTION, ROPE_AXES, RUN_BIT(VKATTN_ROPE_AXES_MROPE), true},
};

static int run_rope(run_session *s, vkattn_tensor *y)
{
    const run_value *v = s->values;
    vkattn_rope_desc desc = {
        .mode = (vkattn_rope_mode)v[ROPE_MODE].integer,
        .rot_dims = (uint32_t)v[ROPE_ROT_DIMS].integer,
        .base = v[ROPE_BASE].real,
        .pos_offset = (int32_t)v[ROPE_POS_OFFSET].integer,
        .scaling = (vkattn_rope_scaling)v[ROPE_SCALING].integer,
        .factor = v[ROPE_FACTOR].real,
        .orig_ctx = (uint32_t)v[ROPE_ORIG_CTX].integer,
        .ctx_len = (uint32_t)v[ROPE_CTX_LEN].integer,
        .beta_fast = v[ROPE_BETA_FAST].real,
        .beta_slow = v[ROPE_BETA_SLOW].real,
        .attn_factor = v[ROPE_ATTN_FACTOR].real,
        .yarn_mscale = v[ROPE_YARN_MSCALE].real,
        .yarn_mscale_all_dim = v[ROPE_YARN_MSCALE_ALL_DIM].real,
        .low_freq_factor = v[ROPE_LOW_FREQ_FACTOR].real,
        .high_freq_factor = v[ROPE_HIGH_FREQ_FACTOR].real,
        .axes = (vkattn_rope_axes)v[ROPE_AXES].integer,
        .flags = v[ROPE_YARN_NO_TRUNCATE].text ? (uint32_t)VKATTN_ROPE_YARN_NO_TRUNCATE : 0u,
    };
    memcpy(desc.mrope_section, v[ROPE_MROPE_SECTION].triple, sizeof desc.mrope_section);
    int status = run_factor_array(s, ROPE_SHORT_FACTOR, &desc.short_factor, &desc.factor_count);
    if (status == CLI_EXIT_OK)
        status = run_factor_array(s, ROPE_LONG_FACTOR, &desc.long_factor, &desc.factor_count);
    if (status == CLI_EXIT_OK)
        status = run_factor_array(s, ROPE_FREQ_FACTORS, &desc.freq_factors, &desc.factor_count);
    vkattn_tensor x, pos;
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, ROPE_X, &x, y);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, ROPE_POS, &pos);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_rope(s->ctx, NULL, &desc, x, pos, *y));
}

enum { SINUSOIDAL_X, SINUSOIDAL_POS, SINUSOIDAL_POS_OFFSET, SINUSOIDAL_BASE, SINUSOIDAL_LAYOUT };

static const run_rule sinusoidal_rules[] = {
    {SINUSOIDAL_POS_OFFSET, SINUSOIDAL_POS, 0, false},
};

static int run_sinusoidal(run_session *s, vkattn_tensor *y)
{
    const run_value *v = s->values;
    vkattn_sinusoidal_desc desc = {
        .layout = (vkattn_sinusoidal_layout)v[SINUSOIDAL_LAYOUT].integer,
        .base = v[SINUSOIDAL_BASE].real,
        .pos_offset = (int32_t)v[SINUSOIDAL_POS_OFFSET].integer,
    };
    vkattn_tensor x, pos;
    int status = run_x_and_y(s, SINUSOIDAL_X, &x, y);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, SINUSOIDAL_POS, &pos);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_sinusoidal_add(s->ctx, NULL, &desc, x, pos, *y));
}

enum { ALIBI_SCORES, ALIBI_Q_OFFSET, ALIBI_CAUSAL, ALIBI_TRAIN_LEN, ALIBI_MAX_BIAS, ALIBI_SLOPES, ALIBI_GRID_WIDTH };

static const run_rule alibi_rules[] = {
    {ALIBI_MAX_BIAS, ALIBI_SLOPES, 0, false},
};

static int run_alibi(run_session *s, vkattn_tensor *y)
{
    const run_value *v = s->values;
    vkattn_alibi_desc desc = {
        .max_bias = (float)v[ALIBI_MAX_BIAS].real,
        .q_offset = (int32_t)v[ALIBI_Q_OFFSET].integer,
        .causal = v[ALIBI_CAUSAL].text != NULL,
        .train_len = (uint32_t)v[ALIBI_TRAIN_LEN].integer,
        .grid_width = (uint32_t)v[ALIBI_GRID_WIDTH].integer,
    };
    vkattn_tensor x;
    int status = run_factor_array(s, ALIBI_SLOPES, &desc.slopes, &desc.slope_count);
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, ALIBI_SCORES, &x, y);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_alibi(s->ctx, NULL, &desc, x, *y));
}

#define RUN_F16_F32 "f32 or f16"

static const run_op run_ops[] = {
    {
        .name = "softmax",
        .summary = "softmax along the last axis: y = softmax(scale * x), same dtype and shape as x",
        .run = run_softmax,
        .options =
            {
                [SOFTMAX_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED, "input, f32 or f16, 1 to 4 dims"},
                [SOFTMAX_SCALE] = {"--scale", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE,
                                   "multiplies x first (default 1; not 0)"},
            },
    },
    {
        .name = "rope",
        .summary = "rotary position embedding (vkattn_rope); y has the dtype and shape of x",
        .run = run_rope,
        .rules = rope_rules,
        .rule_count = RUN_COUNT(rope_rules),
        .options =
            {
                [ROPE_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED,
                            "[batch, seq, heads, head_dim] or [seq, heads, head_dim], " RUN_F16_F32},
                [ROPE_POS] = {"--pos", "pos.npy", RUN_POSITIONS, 0,
                              "i32 [seq] or [batch, seq] (default: --pos-offset + token index);\n"
                              "2d: [2, seq] or [2, batch, seq] (row, col); mrope: [3, ...] (t, h, w)"},
                [ROPE_POS_OFFSET] = {"--pos-offset", "N", RUN_INT, 0,
                                     "int32 position of token 0 without --pos (default 0)"},
                [ROPE_MODE] = {"--mode", "neox|gptj", RUN_CHOICE, 0,
                               "pairs (x[i], x[i + d/2]) for neox (default), (x[2i], x[2i+1]) for gptj"},
                [ROPE_ROT_DIMS] = {"--rot-dims", "N", RUN_UINT, RUN_NONZERO,
                                   "dims that rotate, even; the rest pass through (default head_dim; not 0)"},
                [ROPE_BASE] = {"--base", "F", RUN_REAL, RUN_NONZERO, "theta, > 1 (default 10000; not 0)"},
                [ROPE_SCALING] = {"--scaling", "none|linear|ntk|dynamic|yarn|longrope|llama3", RUN_CHOICE, 0,
                                  "frequency scaling for long contexts (default none)"},
                [ROPE_FACTOR] = {"--factor", "F", RUN_REAL, RUN_NONZERO,
                                 "scaling factor s, > 0: needed by every scaling but none"},
                [ROPE_ORIG_CTX] = {"--orig-ctx", "N", RUN_UINT, RUN_NONZERO,
                                   "training context L: needed by dynamic, yarn, longrope and llama3"},
                [ROPE_CTX_LEN] = {"--ctx-len", "N", RUN_UINT, RUN_NONZERO,
                                  "dynamic, longrope: context length (default max position + 1; not 0)"},
                [ROPE_BETA_FAST] = {"--beta-fast", "F", RUN_REAL, RUN_NONZERO, "yarn: beta_fast (default 32; not 0)"},
                [ROPE_BETA_SLOW] = {"--beta-slow", "F", RUN_REAL, RUN_NONZERO, "yarn: beta_slow (default 1; not 0)"},
                [ROPE_ATTN_FACTOR] = {"--attn-factor", "F", RUN_REAL, RUN_NONZERO,
                                      "multiplies cos and sin (default: yarn 0.1 ln(s) + 1,\n"
                                      "longrope sqrt(1 + ln(s) / ln(L)), else 1; not 0)"},
                [ROPE_YARN_MSCALE] = {"--yarn-mscale", "F", RUN_REAL, 0,
                                      "yarn: DeepSeek mscale; with --yarn-mscale-all-dim it sets the default\n"
                                      "attention factor to their get_mscale ratio (default 0 = unset, as in HF)"},
                [ROPE_YARN_MSCALE_ALL_DIM] = {"--yarn-mscale-all-dim", "F", RUN_REAL, 0,
                                              "yarn: DeepSeek mscale_all_dim (default 0 = unset)"},
                [ROPE_YARN_NO_TRUNCATE] = {"--yarn-no-truncate", NULL, RUN_FLAG, 0,
                                           "yarn: keep the correction range fractional (HF truncate: false)"},
                [ROPE_LOW_FREQ_FACTOR] = {"--low-freq-factor", "F", RUN_REAL, RUN_NONZERO,
                                          "llama3: low_freq_factor (default 1; not 0)"},
                [ROPE_HIGH_FREQ_FACTOR] = {"--high-freq-factor", "F", RUN_REAL, RUN_NONZERO,
                                           "llama3: high_freq_factor (default 4; not 0)"},
                [ROPE_SHORT_FACTOR] = {"--short-factor", "S.npy", RUN_FACTORS, 0,
                                       "longrope (needed): 1-D f32, one entry per frequency"},
                [ROPE_LONG_FACTOR] = {"--long-factor", "L.npy", RUN_FACTORS, 0,
                                      "longrope (needed): 1-D f32, one entry per frequency"},
                [ROPE_FREQ_FACTORS] = {"--freq-factors", "F.npy", RUN_FACTORS, 0,
                                       "1-D f32 divisors of the frequencies, one per frequency (default none)"},
                [ROPE_AXES] = {"--axes", "1d|2d|mrope", RUN_CHOICE, 0,
                               "position axes: 1d (default), 2d axial (row, col), mrope (Qwen2-VL t, h, w)"},
                [ROPE_MROPE_SECTION] = {"--mrope-section", "T,H,W", RUN_UINT3, 0,
                                        "mrope (needed): pairs per axis, summing to rot-dims / 2"},
            },
    },
    {
        .name = "sinusoidal",
        .summary = "adds the sinusoidal position encoding (vkattn_sinusoidal_add); y has the dtype and shape of x",
        .run = run_sinusoidal,
        .rules = sinusoidal_rules,
        .rule_count = RUN_COUNT(sinusoidal_rules),
        .options =
            {
                [SINUSOIDAL_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED,
                                  "[batch, seq, dim] or [seq, dim], " RUN_F16_F32},
                [SINUSOIDAL_POS] = {"--pos", "pos.npy", RUN_POSITIONS, 0,
                                    "i32 [seq] or [batch, seq] (default: --pos-offset + token index)"},
                [SINUSOIDAL_POS_OFFSET] = {"--pos-offset", "N", RUN_INT, 0,
                                           "int32 position of token 0 without --pos (default 0)"},
                [SINUSOIDAL_BASE] = {"--base", "F", RUN_REAL, RUN_NONZERO, "> 1 (default 10000; not 0)"},
                [SINUSOIDAL_LAYOUT] = {"--layout", "interleaved|concat", RUN_CHOICE, 0,
                                       "sin, cos interleaved (Vaswani et al.; default) or halves (fairseq, Whisper)"},
            },
    },
    {
        .name = "alibi",
        .summary = "ALiBi on attention scores (vkattn_alibi): y = x - slope[h] * distance, dtype and shape of x",
        .run = run_alibi,
        .rules = alibi_rules,
        .rule_count = RUN_COUNT(alibi_rules),
        .options =
            {
                [ALIBI_SCORES] = {"--scores", "in.npy", RUN_INPUT, RUN_REQUIRED,
                                  "[batch, heads, q, k], [heads, q, k] or [q, k], " RUN_F16_F32},
                [ALIBI_Q_OFFSET] = {"--q-offset", "N", RUN_INT, 0,
                                    "int32 position of query 0 (after a KV cache; default 0)"},
                [ALIBI_CAUSAL] = {"--causal", NULL, RUN_FLAG, 0, "keys after the query get -inf (default off)"},
                [ALIBI_TRAIN_LEN] = {"--train-len", "N", RUN_UINT, RUN_NONZERO,
                                     "slopes times N / k when k > N (default off; not 0)"},
                [ALIBI_MAX_BIAS] = {"--max-bias", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE,
                                    "ggml's slopes 2^(-F (h+1) / n') (default: the paper's, F = 8; not 0)"},
                [ALIBI_SLOPES] = {"--slopes", "M.npy", RUN_FACTORS, 0,
                                  "1-D f32, one slope per head (default: computed)"},
                [ALIBI_GRID_WIDTH] = {"--grid-width", "W", RUN_UINT, RUN_NONZERO,
                                      "2D distance on a grid of width W (default 1D; not 0)"},
            },
    },
};

/* ---- words of a RUN_CHOICE --------------------------------------------------------------------------------------- */

/* The index of `text` among the '|'-separated words of `words`, or -1. */
static int run_word_index(const char *words, const char *text)
{
    size_t len = strlen(text);
    for (int index = 0; words; index++) {
        const char *bar = strchr(words, '|');
        size_t word_len = bar ? (size_t)(bar - words) : strlen(words);
        if (word_len == len && strncmp(words, text, len) == 0)
            return index;
        words = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* The words of `words` whose bit is set in `set`, joined by '|'. */
static void run_word_subset(const char *words, uint32_t set, char out[RUN_TEXT_LEN])
{
    size_t n = 0;
    out[0] = '\0';
    for (uint32_t index = 0; words && index < 32; index++) {
        const char *bar = strchr(words, '|');
        int word_len = (int)(bar ? (size_t)(bar - words) : strlen(words));
        if ((set & RUN_BIT(index)) && n < RUN_TEXT_LEN) {
            int w = snprintf(out + n, RUN_TEXT_LEN - n, "%s%.*s", n ? "|" : "", word_len, words);
            n += w > 0 ? (size_t)w : 0;
        }
        words = bar ? bar + 1 : NULL;
    }
}

/* ---- command-line parsing ---------------------------------------------------------------------------------------- */

/* Whether the first len characters of arg are exactly the option name. */
static bool run_name_is(const char *name, const char *arg, size_t len)
{
    return strncmp(name, arg, len) == 0 && name[len] == '\0';
}

/* Where the value of the option named by arg[0..len) goes and whether it takes one, or NULL for an unknown option. */
static const char **run_slot(run_session *s, const char *arg, size_t len, bool *takes_value)
{
    *takes_value = true;
    if (run_name_is("--backend", arg, len))
        return &s->backend_text;
    if (run_name_is("--device", arg, len))
        return &s->device;
    if (run_name_is("-o", arg, len) || run_name_is("--output", arg, len))
        return &s->output;
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        if (run_name_is(s->op->options[i].name, arg, len)) {
            *takes_value = s->op->options[i].kind != RUN_FLAG;
            return &s->values[i].text;
        }
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
        bool takes_value;
        const char **slot = run_slot(s, arg, (size_t)len, &takes_value);
        if (!slot)
            return cli_error("unknown option '%.*s' for 'run %s'", len, arg, s->op->name);
        const char *value = arg;
        if (!takes_value && eq)
            return cli_error("option '%.*s' takes no value", len, arg);
        if (takes_value)
            value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!value || !value[0])
            return cli_error("option '%.*s' needs a value", len, arg);
        if (*slot)
            return cli_error("option '%.*s' is given twice", len, arg);
        *slot = value;
    }
    return CLI_EXIT_OK;
}

/* strtod (strtof when single), strictly: the whole string is one finite number in range. */
static bool run_parse_real(const char *text, bool single, double *out)
{
    if (isspace((unsigned char)text[0]))
        return false;
    char *end = NULL;
    errno = 0;
    double v = single ? (double)strtof(text, &end) : strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* A decimal integer in [min, max] at *text ('-' only when min < 0; no '+', no spaces); *text moves past it. */
static bool run_parse_integer(const char **text, int64_t min, int64_t max, int64_t *out)
{
    const char *p = *text;
    if (!isdigit((unsigned char)p[p[0] == '-' && min < 0]))
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno == ERANGE || v < min || v > max)
        return false;
    *text = end;
    *out = v;
    return true;
}

/* `count` integers in [min, max] separated by commas, the whole string. */
static bool run_parse_integers(const char *text, int64_t min, int64_t max, int64_t *out, int count)
{
    for (int i = 0; i < count; i++) {
        if (!run_parse_integer(&text, min, max, &out[i]) || *text != (i + 1 < count ? ',' : '\0'))
            return false;
        text++;
    }
    return true;
}

/* Parses the value of a number or word option into v; files and flags need nothing here. */
static int run_parse_value(const run_option *opt, run_value *v)
{
    bool single = (opt->flags & RUN_SINGLE) != 0;
    int64_t ints[3];
    switch (opt->kind) {
    case RUN_REAL:
        if (!run_parse_real(v->text, single, &v->real))
            return cli_error("%s: '%s' is not a finite number%s", opt->name, v->text, single ? " in float range" : "");
        break;
    case RUN_INT:
        if (!run_parse_integers(v->text, INT32_MIN, INT32_MAX, &v->integer, 1))
            return cli_error("%s: '%s' is not an integer from %d to %d", opt->name, v->text, INT32_MIN, INT32_MAX);
        break;
    case RUN_UINT:
        if (!run_parse_integers(v->text, 0, UINT32_MAX, &v->integer, 1))
            return cli_error("%s: '%s' is not an integer from 0 to %u", opt->name, v->text, UINT32_MAX);
        break;
    case RUN_UINT3:
        if (!run_parse_integers(v->text, 0, UINT32_MAX, ints, 3))
            return cli_error("%s: '%s' is not three integers from 0 to %u separated by commas", opt->name, v->text,
                             UINT32_MAX);
        for (int i = 0; i < 3; i++)
            v->triple[i] = (uint32_t)ints[i];
        break;
    case RUN_CHOICE:
        v->integer = run_word_index(opt->metavar, v->text);
        if (v->integer < 0)
            return cli_error("unknown value '%s' for %s (expected %s)", v->text, opt->name, opt->metavar);
        break;
    case RUN_INPUT:
    case RUN_POSITIONS:
    case RUN_FACTORS:
    case RUN_FLAG: break;
    }
    if ((opt->flags & RUN_NONZERO) && v->real == 0.0 && v->integer == 0)
        return cli_error("%s: must not be 0 (the library reads 0 as \"use the default\"; leave the option out)",
                         opt->name);
    return CLI_EXIT_OK;
}

static int run_check_rule(const run_session *s, const run_rule *rule)
{
    const run_option *opt = &s->op->options[rule->option];
    const run_option *other = &s->op->options[rule->other];
    bool given = s->values[rule->option].text != NULL;
    if (rule->values == 0) {
        if (given && s->values[rule->other].text)
            return cli_error("%s and %s cannot be given together", opt->name, other->name);
        return CLI_EXIT_OK;
    }
    int64_t choice = s->values[rule->other].integer;
    bool applies = (rule->values & RUN_BIT((uint32_t)choice)) != 0;
    char words[RUN_TEXT_LEN];
    if (given && !applies) {
        run_word_subset(other->metavar, rule->values, words);
        return cli_error("%s applies only with %s %s", opt->name, other->name, words);
    }
    if (!given && applies && rule->needed) {
        run_word_subset(other->metavar, RUN_BIT((uint32_t)choice), words);
        return cli_error("%s %s needs %s %s", other->name, words, opt->name, opt->metavar);
    }
    return CLI_EXIT_OK;
}

static int run_parse_backend(run_session *s)
{
    /* In vkattn_backend order. */
    static const char *const names = "auto|vulkan|cpu";
    s->backend = VKATTN_BACKEND_AUTO;
    if (!s->backend_text)
        return CLI_EXIT_OK;
    int index = run_word_index(names, s->backend_text);
    if (index < 0)
        return cli_error("unknown backend '%s' for --backend (expected auto, cpu or vulkan)", s->backend_text);
    s->backend = (vkattn_backend)index;
    return CLI_EXIT_OK;
}

/* Required options present, values valid, rules kept: everything that needs no file and no device. */
static int run_check_options(run_session *s)
{
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        const run_option *opt = &s->op->options[i];
        run_value *v = &s->values[i];
        if (!v->text && (opt->flags & RUN_REQUIRED))
            return cli_error("missing required option %s %s for 'run %s'", opt->name, opt->metavar, s->op->name);
        int status = v->text ? run_parse_value(opt, v) : CLI_EXIT_OK;
        if (status != CLI_EXIT_OK)
            return status;
    }
    for (size_t i = 0; i < s->op->rule_count; i++) {
        int status = run_check_rule(s, &s->op->rules[i]);
        if (status != CLI_EXIT_OK)
            return status;
    }
    if (!s->output)
        return cli_error("missing required option -o out.npy for 'run %s'", s->op->name);
    return run_parse_backend(s);
}

/* What an input of this kind must hold, for messages; NULL where the library checks it. */
static const char *run_input_requirement(run_option_kind kind)
{
    switch (kind) {
    case RUN_POSITIONS: return "an i32 array";
    case RUN_FACTORS: return "a 1-D f32 array (f32 only; numpy: a.astype(np.float32))";
    default: return NULL;
    }
}

static bool run_input_fits(run_option_kind kind, const npy_array *a)
{
    if (kind == RUN_POSITIONS)
        return a->dtype == VKATTN_I32;
    return kind != RUN_FACTORS || (a->dtype == VKATTN_F32 && a->ndim == 1);
}

static int run_load_input(const run_option *opt, run_value *v)
{
    char err[NPY_ERROR_LEN];
    const char *requirement = run_input_requirement(opt->kind);
    if (!npy_read(v->text, &v->array, err))
        return requirement ? cli_error("%s; %s takes %s", err, opt->name, requirement) : cli_error("%s", err);
    if (!run_input_fits(opt->kind, &v->array))
        return cli_error("%s: %s holds a %u-D %s array, but %s takes %s", opt->name, v->text, v->array.ndim,
                         vkattn_dtype_name(v->array.dtype), opt->name, requirement);
    return CLI_EXIT_OK;
}

static int run_load_inputs(run_session *s)
{
    for (int i = 0; i < RUN_MAX_OPTIONS && s->op->options[i].name; i++) {
        const run_option *opt = &s->op->options[i];
        bool file = opt->kind == RUN_INPUT || opt->kind == RUN_POSITIONS || opt->kind == RUN_FACTORS;
        int status = file && s->values[i].text ? run_load_input(opt, &s->values[i]) : CLI_EXIT_OK;
        if (status != CLI_EXIT_OK)
            return status;
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
    for (size_t i = 0; i < RUN_COUNT(run_ops); i++) {
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

/* ---- usage ------------------------------------------------------------------------------------------------------- */

/* One option: "[--name METAVAR]" in a column, then its help (from the next line when the column is too narrow;
 * a '\n' in the help continues it on another line of the help column). */
static void run_usage_option(FILE *out, const run_option *opt)
{
    enum { COLUMN = 28 };
    char usage[RUN_TEXT_LEN];
    bool required = opt->flags & RUN_REQUIRED;
    if (opt->metavar)
        snprintf(usage, sizeof usage, required ? "%s %s" : "[%s %s]", opt->name, opt->metavar);
    else
        snprintf(usage, sizeof usage, "[%s]", opt->name);
    if (strlen(usage) > COLUMN) {
        fprintf(out, "    %s\n", usage);
        usage[0] = '\0';
    }
    const char *line = opt->help;
    for (;;) {
        const char *nl = strchr(line, '\n');
        int len = (int)(nl ? (size_t)(nl - line) : strlen(line));
        fprintf(out, "    %-*s %.*s\n", COLUMN, usage, len, line);
        if (!nl)
            return;
        line = nl + 1;
        usage[0] = '\0';
    }
}

void cli_run_usage(FILE *out)
{
    fputs("run ops (vkattn run <op> [options] -o out.npy):\n", out);
    for (size_t i = 0; i < RUN_COUNT(run_ops); i++) {
        const run_op *op = &run_ops[i];
        fprintf(out, "  %s: %s\n", op->name, op->summary);
        for (int k = 0; k < RUN_MAX_OPTIONS && op->options[k].name; k++)
            run_usage_option(out, &op->options[k]);
    }
    fputs("common run options:\n"
          "    [--backend auto|cpu|vulkan]  default auto: Vulkan when a device is there, else the CPU backend\n"
          "    [--device SEL]               Vulkan device: index or name substring (default: $VKATTN_DEVICE,\n"
          "                                 else the first discrete, integrated, virtual, then CPU device)\n"
          "    -o, --output out.npy         where the result goes (written whole, or not at all)\n"
          "N is a decimal integer, F a finite number. 'not 0': an explicit 0 is refused, because the library\n"
          "reads 0 as \"use the default\"; leave the option out instead. Options a choice does not use (--factor\n"
          "with --scaling none, --beta-fast without yarn ...) and --pos with --pos-offset are refused.\n"
          "Flags (--causal, --yarn-no-truncate) take no value.\n",
          out);
}
