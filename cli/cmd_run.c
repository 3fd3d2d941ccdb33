/*
 * cmd_run.c - `vkattn run <op> [options] -o out.npy`: one op on tensors read from .npy files.
 *
 * Each op is one entry of run_ops: its own options (inputs, numbers, words, flags) and the rules between them,
 * the option groups it shares with other ops (the rope options of `run rope` and `run attention`, the ALiBi slope
 * options of `run alibi`, `run softmax` and `run attention` ...), each spliced in at a fixed index and possibly
 * gated by an option of the op (the rope options need --pe rope), and a function that builds the op's desc and
 * tensors and runs it. Everything else is shared: option parsing (--flag value and --flag=value, any order), checks
 * of every option and rule before any file is read, loading the inputs before the context is created, the common
 * options --backend, --device and -o, and writing the result.
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

#define RUN_MAX_OPTIONS 40
/* Groups spliced into one op after its own options. */
#define RUN_MAX_PARTS 4
#define RUN_COUNT(array) (sizeof(array) / sizeof((array)[0]))
/* A set of RUN_CHOICE values, for run_rule. */
#define RUN_BIT(value) (1u << (value))
/* Room for a usage line or a list of choice words. */
#define RUN_TEXT_LEN 128

typedef enum run_option_kind {
    RUN_INPUT,     /* a .npy file the library checks, loaded before the context is created */
    RUN_MATRIX,    /* RUN_INPUT of 2 to 4 dims, whose shape the program needs to shape the output */
    RUN_POSITIONS, /* a .npy file of i32 positions */
    RUN_FACTORS,   /* a .npy file of a 1-D f32 array (per-frequency factors, slopes) */
    RUN_REAL,      /* a finite number */
    RUN_INT,       /* a decimal int32 */
    RUN_UINT,      /* a decimal uint32 */
    RUN_UINT3,     /* three decimal uint32 separated by commas */
    RUN_CHOICE,    /* one of the words of the metavar "a|b|c"; the value is its index (the words are in enum order) */
    RUN_FLAG,      /* no value: given or not (the value is 1 when given, for rules) */
} run_option_kind;

enum run_option_flags {
    RUN_REQUIRED = 1u << 0,
    /* An explicit 0 is an error: the desc field reads 0 as "use the default". */
    RUN_NONZERO = 1u << 1,
    /* RUN_REAL stored in a float field: parsed as a float, so a value beyond float range is an error, not inf. */
    RUN_SINGLE = 1u << 2,
};

typedef struct run_option {
    const char *name;    /* "--x" */
    const char *metavar; /* "in.npy", for the usage text; RUN_CHOICE: the words; RUN_FLAG: NULL */
    run_option_kind kind;
    uint32_t flags;      /* run_option_flags */
    const char *help;
} run_option;

/* A rule between two options of a group (indices into it), checked before any file is read. */
typedef struct run_rule {
    int option;
    int other;
    /* 0: `option` and `other` cannot be given together. Otherwise `other` is a RUN_CHOICE or a RUN_FLAG and
     * `option` may be given only when other's value v has RUN_BIT(v) set here. */
    uint32_t values;
    bool needed; /* with values: `option` must be given when the choice's value is one of them */
} run_rule;

/* Options and the rules between them: an op's own, or a group that several ops splice in. */
typedef struct run_group {
    const run_option *options;
    int count;
    const run_rule *rules;
    size_t rule_count;
} run_group;

/* A group in an op: its options take the op's indices first .. first + count - 1. */
typedef struct run_part {
    const run_group *group; /* NULL ends an op's parts */
    int first;
    /* Gate: when gate_values is not 0, the group's options may be given only when the op's own option `gate`
     * (a RUN_CHOICE or RUN_FLAG) has a value v with RUN_BIT(v) in gate_values. */
    int gate;
    uint32_t gate_values;
} run_part;

typedef struct run_value {
    const char *text;    /* as given on the command line (RUN_FLAG: the flag itself); NULL when absent */
    double real;         /* RUN_REAL */
    int64_t integer;     /* RUN_INT, RUN_UINT; RUN_CHOICE: the word's index; RUN_FLAG: 1 */
    uint32_t triple[3];  /* RUN_UINT3 */
    npy_array array;     /* the file options */
} run_value;

struct run_op;

typedef struct run_session {
    const struct run_op *op;
    const char *backend_text;
    const char *device;
    const char *output;
    bool help;
    vkattn_backend backend;
    const run_option *options[RUN_MAX_OPTIONS]; /* the op's own options, then those of its parts */
    int option_count;
    run_value values[RUN_MAX_OPTIONS];          /* parallel to options */
    vkattn_context *ctx;
} run_session;

/* Runs the op on s->ctx from s->values and sets *result to the tensor written to -o. Returns the exit status. */
typedef int (*run_fn)(run_session *s, vkattn_tensor *result);

typedef struct run_op {
    const char *name;
    const char *summary;
    run_fn run;
    run_group own; /* indices from 0 */
    run_part parts[RUN_MAX_PARTS];
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
    const char *name = s->options[index]->name;
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

/* ---- option groups shared by several ops ------------------------------------------------------------------------- */

#define RUN_OPTIONS(options) {options, (int)RUN_COUNT(options), NULL, 0}
#define RUN_RULED(options, rules) {options, (int)RUN_COUNT(options), rules, RUN_COUNT(rules)}
/* The gate values of a RUN_FLAG: given. */
#define RUN_GIVEN RUN_BIT(1)
#define RUN_F16_F32 "f32 or f16"

/* -- query positions: alibi, softmax, attention -- */

enum { POSITION_Q_OFFSET, POSITION_CAUSAL, POSITION_OPTIONS };

static const run_option position_options[POSITION_OPTIONS] = {
    [POSITION_Q_OFFSET] = {"--q-offset", "N", RUN_INT, 0, "int32 position of query 0 (after a KV cache; default 0)"},
    [POSITION_CAUSAL] = {"--causal", NULL, RUN_FLAG, 0, "keys after the query get -inf (default off)"},
};

static const run_group position_group = RUN_OPTIONS(position_options);

/* -- masks: softmax, attention -- */

enum { MASK_MASK, MASK_WINDOW, MASK_OPTIONS };

static const run_option mask_options[MASK_OPTIONS] = {
    [MASK_MASK] = {"--mask", "M.npy", RUN_INPUT, 0,
                   "added to the scores, " RUN_F16_F32 ": [q, k] or [1|batch, 1|heads, q, k]\n"
                   "(q or k may be 1 to broadcast); -inf masks a key (default none)"},
    [MASK_WINDOW] = {"--window", "W", RUN_UINT, RUN_NONZERO,
                     "sliding window: keys with q_pos - k_pos >= W get -inf\n"
                     "(Mistral's sliding_window; default none; not 0)"},
};

static const run_group mask_group = RUN_OPTIONS(mask_options);

/* -- ALiBi slopes: alibi, softmax (with --alibi), attention (with --pe alibi) -- */

enum { SLOPE_TRAIN_LEN, SLOPE_MAX_BIAS, SLOPE_SLOPES, SLOPE_GRID_WIDTH, SLOPE_OPTIONS };

static const run_option slope_options[SLOPE_OPTIONS] = {
    [SLOPE_TRAIN_LEN] = {"--train-len", "N", RUN_UINT, RUN_NONZERO,
                         "slopes times N / k when k > N (default off; not 0)"},
    [SLOPE_MAX_BIAS] = {"--max-bias", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE,
                        "ggml's slopes 2^(-F (h+1) / n') (default: the paper's, F = 8; not 0)"},
    [SLOPE_SLOPES] = {"--slopes", "M.npy", RUN_FACTORS, 0, "1-D f32, one slope per head (default: computed)"},
    [SLOPE_GRID_WIDTH] = {"--grid-width", "W", RUN_UINT, RUN_NONZERO,
                          "2D distance on a grid of width W (default 1D; not 0)"},
};

static const run_rule slope_rules[] = {
    {SLOPE_MAX_BIAS, SLOPE_SLOPES, 0, false},
};

static const run_group slope_group = RUN_RULED(slope_options, slope_rules);

/* The ALiBi desc the slope options at `first` give (q_offset and causal stay 0). */
static int run_slopes_desc(const run_session *s, int first, vkattn_alibi_desc *desc)
{
    const run_value *v = s->values + first;
    *desc = (vkattn_alibi_desc){
        .max_bias = (float)v[SLOPE_MAX_BIAS].real,
        .train_len = (uint32_t)v[SLOPE_TRAIN_LEN].integer,
        .grid_width = (uint32_t)v[SLOPE_GRID_WIDTH].integer,
    };
    return run_factor_array(s, first + SLOPE_SLOPES, &desc->slopes, &desc->slope_count);
}

/* -- RoPE: rope, attention (with --pe rope) -- */

enum {
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
    ROPE_OPTIONS
};

static const run_option rope_options[ROPE_OPTIONS] = {
    [ROPE_MODE] = {"--mode", "neox|gptj", RUN_CHOICE, 0,
                   "pairs (x[i], x[i + d/2]) for neox (default), (x[2i], x[2i+1]) for gptj"},
    [ROPE_ROT_DIMS] = {"--rot-dims", "N", RUN_UINT, RUN_NONZERO,
                       "dims that rotate, even; the rest pass through (default head_dim; not 0)"},
    [ROPE_BASE] = {"--base", "F", RUN_REAL, RUN_NONZERO, "theta, > 1 (default 10000; not 0)"},
    [ROPE_SCALING] = {"--scaling", "none|linear|ntk|dynamic|yarn|longrope|llama3", RUN_CHOICE, 0,
                      "frequency scaling for long contexts (default none)"},
    [ROPE_FACTOR] = {"--factor", "F", RUN_REAL, RUN_NONZERO, "scaling factor s, > 0: needed by every scaling but none"},
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

static const run_group rope_group = RUN_RULED(rope_options, rope_rules);

/* The RoPE desc the rope options at `first` give (pos_offset stays 0). */
static int run_rope_desc(const run_session *s, int first, vkattn_rope_desc *desc)
{
    const run_value *v = s->values + first;
    *desc = (vkattn_rope_desc){
        .mode = (vkattn_rope_mode)v[ROPE_MODE].integer,
        .rot_dims = (uint32_t)v[ROPE_ROT_DIMS].integer,
        .base = v[ROPE_BASE].real,
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
    memcpy(desc->mrope_section, v[ROPE_MROPE_SECTION].triple, sizeof desc->mrope_section);
    int status = run_factor_array(s, first + ROPE_SHORT_FACTOR, &desc->short_factor, &desc->factor_count);
    if (status == CLI_EXIT_OK)
        status = run_factor_array(s, first + ROPE_LONG_FACTOR, &desc->long_factor, &desc->factor_count);
    if (status == CLI_EXIT_OK)
        status = run_factor_array(s, first + ROPE_FREQ_FACTORS, &desc->freq_factors, &desc->factor_count);
    return status;
}

/* ---- ops --------------------------------------------------------------------------------------------------------- */

/* -- rope -- */

enum { ROPE_X, ROPE_POS, ROPE_POS_OFFSET, ROPE_OWN };

static const run_option rope_own_options[ROPE_OWN] = {
    [ROPE_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED,
                "[batch, seq, heads, head_dim] or [seq, heads, head_dim], " RUN_F16_F32},
    [ROPE_POS] = {"--pos", "pos.npy", RUN_POSITIONS, 0,
                  "i32 [seq] or [batch, seq] (default: --pos-offset + token index);\n"
                  "2d: [2, seq] or [2, batch, seq] (row, col); mrope: [3, ...] (t, h, w)"},
    [ROPE_POS_OFFSET] = {"--pos-offset", "N", RUN_INT, 0, "int32 position of token 0 without --pos (default 0)"},
};

static const run_rule rope_own_rules[] = {
    {ROPE_POS_OFFSET, ROPE_POS, 0, false},
};

static int run_rope(run_session *s, vkattn_tensor *y)
{
    vkattn_rope_desc desc;
    vkattn_tensor x, pos;
    int status = run_rope_desc(s, ROPE_OWN, &desc);
    desc.pos_offset = (int32_t)s->values[ROPE_POS_OFFSET].integer;
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, ROPE_X, &x, y);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, ROPE_POS, &pos);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_rope(s->ctx, NULL, &desc, x, pos, *y));
}

/* -- sinusoidal -- */

enum { SINUSOIDAL_X, SINUSOIDAL_POS, SINUSOIDAL_POS_OFFSET, SINUSOIDAL_BASE, SINUSOIDAL_LAYOUT, SINUSOIDAL_OWN };

static const run_option sinusoidal_options[SINUSOIDAL_OWN] = {
    [SINUSOIDAL_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED, "[batch, seq, dim] or [seq, dim], " RUN_F16_F32},
    [SINUSOIDAL_POS] = {"--pos", "pos.npy", RUN_POSITIONS, 0,
                        "i32 [seq] or [batch, seq] (default: --pos-offset + token index)"},
    [SINUSOIDAL_POS_OFFSET] = {"--pos-offset", "N", RUN_INT, 0,
                               "int32 position of token 0 without --pos (default 0)"},
    [SINUSOIDAL_BASE] = {"--base", "F", RUN_REAL, RUN_NONZERO, "> 1 (default 10000; not 0)"},
    [SINUSOIDAL_LAYOUT] = {"--layout", "interleaved|concat", RUN_CHOICE, 0,
                           "sin, cos interleaved (Vaswani et al.; default) or halves (fairseq, Whisper)"},
};

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

/* -- alibi -- */

enum {
    ALIBI_SCORES,
    ALIBI_OWN,
    ALIBI_POSITIONS = ALIBI_OWN,
    ALIBI_SLOPES = ALIBI_POSITIONS + POSITION_OPTIONS,
};

static const run_option alibi_options[ALIBI_OWN] = {
    [ALIBI_SCORES] = {"--scores", "in.npy", RUN_INPUT, RUN_REQUIRED,
                      "[batch, heads, q, k], [heads, q, k] or [q, k], " RUN_F16_F32},
};

static int run_alibi(run_session *s, vkattn_tensor *y)
{
    const run_value *pos = s->values + ALIBI_POSITIONS;
    vkattn_alibi_desc desc;
    vkattn_tensor x;
    int status = run_slopes_desc(s, ALIBI_SLOPES, &desc);
    desc.q_offset = (int32_t)pos[POSITION_Q_OFFSET].integer;
    desc.causal = pos[POSITION_CAUSAL].text != NULL;
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, ALIBI_SCORES, &x, y);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_alibi(s->ctx, NULL, &desc, x, *y));
}

/* -- softmax -- */

enum {
    SOFTMAX_X,
    SOFTMAX_SCALE,
    SOFTMAX_ALIBI,
    SOFTMAX_OWN,
    SOFTMAX_POSITIONS = SOFTMAX_OWN,
    SOFTMAX_MASKS = SOFTMAX_POSITIONS + POSITION_OPTIONS,
    SOFTMAX_SLOPES = SOFTMAX_MASKS + MASK_OPTIONS,
};

static const run_option softmax_options[SOFTMAX_OWN] = {
    [SOFTMAX_X] = {"--x", "in.npy", RUN_INPUT, RUN_REQUIRED,
                   "scores [batch, heads, q, k] (leading dims may be left out), " RUN_F16_F32},
    [SOFTMAX_SCALE] = {"--scale", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE, "multiplies x first (default 1; not 0)"},
    [SOFTMAX_ALIBI] = {"--alibi", NULL, RUN_FLAG, 0,
                       "adds the ALiBi bias -m_h dist(q_pos, k_pos); heads: x's dim before q\n"
                       "(slopes: the paper's unless the slope options below say otherwise)"},
};

static int run_softmax(run_session *s, vkattn_tensor *y)
{
    const run_value *v = s->values;
    vkattn_alibi_desc alibi;
    vkattn_softmax_desc desc = {
        .scale = (float)v[SOFTMAX_SCALE].real,
        .causal = v[SOFTMAX_POSITIONS + POSITION_CAUSAL].text != NULL,
        .q_offset = (int32_t)v[SOFTMAX_POSITIONS + POSITION_Q_OFFSET].integer,
        .window = (uint32_t)v[SOFTMAX_MASKS + MASK_WINDOW].integer,
        .alibi = v[SOFTMAX_ALIBI].text ? &alibi : NULL,
    };
    vkattn_tensor x;
    int status = run_slopes_desc(s, SOFTMAX_SLOPES, &alibi);
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, SOFTMAX_X, &x, y);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, SOFTMAX_MASKS + MASK_MASK, &desc.mask);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_softmax(s->ctx, NULL, &desc, x, *y));
}

/* -- matmul -- */

enum { MATMUL_A, MATMUL_B, MATMUL_TRANSPOSE_B, MATMUL_SCALE, MATMUL_OWN };

static const run_option matmul_options[MATMUL_OWN] = {
    [MATMUL_A] = {"--a", "A.npy", RUN_MATRIX, RUN_REQUIRED,
                  "[batch, heads, M, K], [heads, M, K] or [M, K], " RUN_F16_F32 "; C has its dtype"},
    [MATMUL_B] = {"--b", "B.npy", RUN_MATRIX, RUN_REQUIRED,
                  "[batch_b, heads_b, K, N] as many dims as A, batch_b 1 or batch,\n"
                  "heads_b dividing heads (grouped-query broadcast), " RUN_F16_F32},
    [MATMUL_TRANSPOSE_B] = {"--transpose-b", NULL, RUN_FLAG, 0, "B is given as [.., N, K] and used transposed"},
    [MATMUL_SCALE] = {"--scale", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE,
                      "multiplies the product (default 1; not 0)"},
};

static int run_matmul(run_session *s, vkattn_tensor *c)
{
    const npy_array *a = &s->values[MATMUL_A].array, *b = &s->values[MATMUL_B].array;
    vkattn_matmul_desc desc = {
        .scale = (float)s->values[MATMUL_SCALE].real,
        .transpose_b = s->values[MATMUL_TRANSPOSE_B].text != NULL,
    };
    /* C: A's dtype and dims with the last one N, B's last dim (its next-to-last when transposed). */
    vkattn_tensor_desc c_desc = {.dtype = a->dtype, .ndim = a->ndim};
    memcpy(c_desc.shape, a->shape, sizeof c_desc.shape);
    c_desc.shape[a->ndim - 1] = b->shape[b->ndim - (desc.transpose_b ? 2 : 1)];
    vkattn_tensor ta, tb;
    int status = run_input_tensor(s, MATMUL_A, &ta);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, MATMUL_B, &tb);
    if (status == CLI_EXIT_OK)
        status = run_check(s, vkattn_tensor_create(s->ctx, &c_desc, c));
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_matmul(s->ctx, NULL, &desc, ta, tb, *c));
}

/* -- attention -- */

enum {
    ATTN_Q,
    ATTN_K,
    ATTN_V,
    ATTN_SCALE,
    ATTN_PE,
    ATTN_UNFUSED,
    ATTN_OWN,
    ATTN_POSITIONS = ATTN_OWN,
    ATTN_MASKS = ATTN_POSITIONS + POSITION_OPTIONS,
    ATTN_ROPE = ATTN_MASKS + MASK_OPTIONS,
    ATTN_SLOPES = ATTN_ROPE + ROPE_OPTIONS,
    ATTN_OPTIONS = ATTN_SLOPES + SLOPE_OPTIONS,
};

_Static_assert(ATTN_OPTIONS <= RUN_MAX_OPTIONS, "run attention has more options than RUN_MAX_OPTIONS");

static const run_option attention_options[ATTN_OWN] = {
    [ATTN_Q] = {"--q", "Q.npy", RUN_INPUT, RUN_REQUIRED,
                "[batch, q_len, heads, head_dim] or [q_len, heads, head_dim], " RUN_F16_F32 ";\n"
                "the output has its dtype and shape"},
    [ATTN_K] = {"--k", "K.npy", RUN_INPUT, RUN_REQUIRED,
                "[batch, kv_len, kv_heads, head_dim], kv_heads dividing heads (GQA, MQA)"},
    [ATTN_V] = {"--v", "V.npy", RUN_INPUT, RUN_REQUIRED, "like K; Q, K and V share one dtype"},
    [ATTN_SCALE] = {"--scale", "F", RUN_REAL, RUN_NONZERO | RUN_SINGLE,
                    "multiplies Q K^T (default 1 / sqrt(head_dim); not 0)"},
    [ATTN_PE] = {"--pe", "none|rope|alibi", RUN_CHOICE, 0,
                 "positional encoding (default none): rope on Q at q_offset + i and K at j,\n"
                 "or the ALiBi bias on the scores"},
    [ATTN_UNFUSED] = {"--unfused", NULL, RUN_FLAG, 0,
                      "matmul -> softmax -> matmul through a q_len x kv_len scores tensor\n"
                      "instead of the fused kernel (for comparison)"},
};

static int run_attention(run_session *s, vkattn_tensor *out)
{
    const run_value *v = s->values;
    vkattn_attention_pe pe = (vkattn_attention_pe)v[ATTN_PE].integer;
    vkattn_rope_desc rope;
    vkattn_alibi_desc alibi;
    vkattn_attention_desc desc = {
        .scale = (float)v[ATTN_SCALE].real,
        .causal = v[ATTN_POSITIONS + POSITION_CAUSAL].text != NULL,
        .q_offset = (int32_t)v[ATTN_POSITIONS + POSITION_Q_OFFSET].integer,
        .window = (uint32_t)v[ATTN_MASKS + MASK_WINDOW].integer,
        .pe = pe,
        .rope = pe == VKATTN_PE_ROPE ? &rope : NULL,
        .alibi = pe == VKATTN_PE_ALIBI ? &alibi : NULL,
        .unfused = v[ATTN_UNFUSED].text != NULL,
    };
    vkattn_tensor q, k, val;
    int status = run_rope_desc(s, ATTN_ROPE, &rope);
    if (status == CLI_EXIT_OK)
        status = run_slopes_desc(s, ATTN_SLOPES, &alibi);
    if (status == CLI_EXIT_OK)
        status = run_x_and_y(s, ATTN_Q, &q, out);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, ATTN_K, &k);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, ATTN_V, &val);
    if (status == CLI_EXIT_OK)
        status = run_input_tensor(s, ATTN_MASKS + MASK_MASK, &desc.mask);
    if (status != CLI_EXIT_OK)
        return status;
    return run_check(s, vkattn_attention(s->ctx, NULL, &desc, q, k, val, *out));
}

/* Positional encodings first: the attention ops reuse their option groups, and the usage text prints a group in
 * full under the first op that has it. */
static const run_op run_ops[] = {
    {
        .name = "rope",
        .summary = "rotary position embedding (vkattn_rope); y has the dtype and shape of x",
        .run = run_rope,
        .own = RUN_RULED(rope_own_options, rope_own_rules),
        .parts = {{&rope_group, ROPE_OWN}},
    },
    {
        .name = "sinusoidal",
        .summary = "adds the sinusoidal position encoding (vkattn_sinusoidal_add); y has the dtype and shape of x",
        .run = run_sinusoidal,
        .own = RUN_RULED(sinusoidal_options, sinusoidal_rules),
    },
    {
        .name = "alibi",
        .summary = "ALiBi on attention scores (vkattn_alibi): y = x - slope[h] * distance, dtype and shape of x",
        .run = run_alibi,
        .own = RUN_OPTIONS(alibi_options),
        .parts = {{&position_group, ALIBI_POSITIONS}, {&slope_group, ALIBI_SLOPES}},
    },
    {
        .name = "softmax",
        .summary = "softmax along the last axis of scale * x + mask + ALiBi bias, with -inf where --causal\n"
                   "or --window mask a key (vkattn_softmax); a fully masked row gives zeros; dtype and shape of x",
        .run = run_softmax,
        .own = RUN_OPTIONS(softmax_options),
        .parts = {{&position_group, SOFTMAX_POSITIONS},
                  {&mask_group, SOFTMAX_MASKS},
                  {&slope_group, SOFTMAX_SLOPES, SOFTMAX_ALIBI, RUN_GIVEN}},
    },
    {
        .name = "matmul",
        .summary = "batched C = scale * A B (or A B^T), f32 accumulation (vkattn_matmul); C is [.., M, N]\n"
                   "with A's dims and dtype",
        .run = run_matmul,
        .own = RUN_OPTIONS(matmul_options),
    },
    {
        .name = "attention",
        .summary = "out = softmax(scale * Q K^T + ALiBi bias + mask, causal / window masking) V\n"
                   "(vkattn_attention, fused unless --unfused); out has the dtype and shape of Q",
        .run = run_attention,
        .own = RUN_OPTIONS(attention_options),
        .parts = {{&position_group, ATTN_POSITIONS},
                  {&mask_group, ATTN_MASKS},
                  {&rope_group, ATTN_ROPE, ATTN_PE, RUN_BIT(VKATTN_PE_ROPE)},
                  {&slope_group, ATTN_SLOPES, ATTN_PE, RUN_BIT(VKATTN_PE_ALIBI)}},
    },
};

/* ---- an op's options -------------------------------------------------------------------------------------------- */

/* The op's own options as a part at index 0, then its groups; returns the count. */
static int run_op_parts(const run_op *op, run_part parts[RUN_MAX_PARTS + 1])
{
    int n = 0;
    parts[n++] = (run_part){&op->own, 0, 0, 0};
    for (int i = 0; i < RUN_MAX_PARTS && op->parts[i].group; i++)
        parts[n++] = op->parts[i];
    return n;
}

/* Points s->options at every option of the op, at the index its part gives it. */
static void run_session_layout(run_session *s)
{
    run_part parts[RUN_MAX_PARTS + 1];
    int part_count = run_op_parts(s->op, parts);
    for (int k = 0; k < part_count; k++) {
        const run_part *part = &parts[k];
        for (int i = 0; i < part->group->count; i++)
            s->options[part->first + i] = &part->group->options[i];
        if (part->first + part->group->count > s->option_count)
            s->option_count = part->first + part->group->count;
    }
}

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

/* "--pe rope|alibi" for a RUN_CHOICE and a set of its values; the flag's name for a RUN_FLAG. */
static void run_condition(const run_option *other, uint32_t values, char out[RUN_TEXT_LEN])
{
    char words[RUN_TEXT_LEN];
    run_word_subset(other->metavar, values, words);
    int n = snprintf(out, RUN_TEXT_LEN, "%s%s%s", other->name, words[0] ? " " : "", words);
    if (n < 0 || n >= RUN_TEXT_LEN)
        out[0] = '\0';
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
    for (int i = 0; i < s->option_count; i++) {
        if (run_name_is(s->options[i]->name, arg, len)) {
            *takes_value = s->options[i]->kind != RUN_FLAG;
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
    case RUN_FLAG: v->integer = 1; break;
    case RUN_INPUT:
    case RUN_MATRIX:
    case RUN_POSITIONS:
    case RUN_FACTORS: break;
    }
    if ((opt->flags & RUN_NONZERO) && v->real == 0.0 && v->integer == 0)
        return cli_error("%s: must not be 0 (the library reads 0 as \"use the default\"; leave the option out)",
                         opt->name);
    return CLI_EXIT_OK;
}

/* A rule of a group whose options take the op's indices from `first`. */
static int run_check_rule(const run_session *s, const run_rule *rule, int first)
{
    const run_option *opt = s->options[first + rule->option];
    const run_option *other = s->options[first + rule->other];
    const run_value *other_value = &s->values[first + rule->other];
    bool given = s->values[first + rule->option].text != NULL;
    if (rule->values == 0) {
        if (given && other_value->text)
            return cli_error("%s and %s cannot be given together", opt->name, other->name);
        return CLI_EXIT_OK;
    }
    uint32_t value = RUN_BIT((uint32_t)other_value->integer);
    bool applies = (rule->values & value) != 0;
    char condition[RUN_TEXT_LEN];
    if (given && !applies) {
        run_condition(other, rule->values, condition);
        return cli_error("%s applies only with %s", opt->name, condition);
    }
    if (!given && applies && rule->needed) {
        run_condition(other, value, condition);
        return cli_error("%s needs %s %s", condition, opt->name, opt->metavar);
    }
    return CLI_EXIT_OK;
}

/* The gate of a part, then the rules of its group: a rope option without --pe rope is reported as that, not as
 * whatever rule of the rope group it breaks. */
static int run_check_part(const run_session *s, const run_part *part)
{
    for (int i = 0; part->gate_values && i < part->group->count; i++) {
        run_rule gate = {part->first + i, part->gate, part->gate_values, false};
        int status = run_check_rule(s, &gate, 0);
        if (status != CLI_EXIT_OK)
            return status;
    }
    for (size_t i = 0; i < part->group->rule_count; i++) {
        int status = run_check_rule(s, &part->group->rules[i], part->first);
        if (status != CLI_EXIT_OK)
            return status;
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
    for (int i = 0; i < s->option_count; i++) {
        const run_option *opt = s->options[i];
        run_value *v = &s->values[i];
        if (!v->text && (opt->flags & RUN_REQUIRED))
            return cli_error("missing required option %s %s for 'run %s'", opt->name, opt->metavar, s->op->name);
        int status = v->text ? run_parse_value(opt, v) : CLI_EXIT_OK;
        if (status != CLI_EXIT_OK)
            return status;
    }
    run_part parts[RUN_MAX_PARTS + 1];
    int part_count = run_op_parts(s->op, parts);
    for (int i = 0; i < part_count; i++) {
        int status = run_check_part(s, &parts[i]);
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
    case RUN_MATRIX: return "an array of 2 to 4 dims";
    case RUN_POSITIONS: return "an i32 array";
    case RUN_FACTORS: return "a 1-D f32 array (f32 only; numpy: a.astype(np.float32))";
    default: return NULL;
    }
}

static bool run_input_fits(run_option_kind kind, const npy_array *a)
{
    switch (kind) {
    case RUN_MATRIX: return a->ndim >= 2;
    case RUN_POSITIONS: return a->dtype == VKATTN_I32;
    case RUN_FACTORS: return a->dtype == VKATTN_F32 && a->ndim == 1;
    default: return true;
    }
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
    for (int i = 0; i < s->option_count; i++) {
        const run_option *opt = s->options[i];
        bool file = opt->kind == RUN_INPUT || opt->kind == RUN_MATRIX || opt->kind == RUN_POSITIONS ||
                    opt->kind == RUN_FACTORS;
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
    run_session_layout(&s);
    int status = run_session_execute(&s, argc - 2, argv + 2);
    vkattn_context_destroy(s.ctx);
    for (int i = 0; i < RUN_MAX_OPTIONS; i++)
        npy_free(&s.values[i].array);
    return status;
}

/* ---- usage ------------------------------------------------------------------------------------------------------- */

/* "--name METAVAR" for a required option, else "[--name METAVAR]" or "[--flag]". */
static void run_option_usage(const run_option *opt, char usage[RUN_TEXT_LEN])
{
    bool required = opt->flags & RUN_REQUIRED;
    if (opt->metavar)
        snprintf(usage, RUN_TEXT_LEN, required ? "%s %s" : "[%s %s]", opt->name, opt->metavar);
    else
        snprintf(usage, RUN_TEXT_LEN, "[%s]", opt->name);
}

/* `lead`, then the lines of `text` ('\n' separates them), each but the first after `indent` spaces. */
static void run_usage_text(FILE *out, const char *lead, int indent, const char *text)
{
    fputs(lead, out);
    for (;;) {
        const char *nl = strchr(text, '\n');
        int len = (int)(nl ? (size_t)(nl - text) : strlen(text));
        fprintf(out, "%.*s\n", len, text);
        if (!nl)
            return;
        fprintf(out, "%*s", indent, "");
        text = nl + 1;
    }
}

/* One option: its usage in a column (alone on a line when too wide for it), then its help. */
static void run_usage_option(FILE *out, const run_option *opt)
{
    enum { COLUMN = 28 };
    char usage[RUN_TEXT_LEN], lead[RUN_TEXT_LEN + 8];
    run_option_usage(opt, usage);
    if (strlen(usage) > COLUMN) {
        fprintf(out, "    %s\n", usage);
        usage[0] = '\0';
    }
    snprintf(lead, sizeof lead, "    %-*s ", COLUMN, usage);
    run_usage_text(out, lead, 4 + COLUMN + 1, opt->help);
}

/* The usages of a group's options, wrapped: a group shown in full under another op. */
static void run_usage_synopsis(FILE *out, const run_group *group)
{
    enum { WIDTH = 100, INDENT = 6 };
    int column = 0;
    for (int i = 0; i < group->count; i++) {
        char usage[RUN_TEXT_LEN];
        run_option_usage(&group->options[i], usage);
        int len = (int)strlen(usage);
        if (column > 0 && column + 1 + len > WIDTH) {
            fputc('\n', out);
            column = 0;
        }
        column += column ? fprintf(out, " %s", usage) : fprintf(out, "%*s%s", INDENT, "", usage);
    }
    fputc('\n', out);
}

/* The first op that splices the group in: the usage text shows the group in full there. */
static const run_op *run_group_home(const run_group *group)
{
    for (size_t i = 0; i < RUN_COUNT(run_ops); i++) {
        for (int k = 0; k < RUN_MAX_PARTS && run_ops[i].parts[k].group; k++) {
            if (run_ops[i].parts[k].group == group)
                return &run_ops[i];
        }
    }
    return NULL;
}

/* A group of op: in full under its home op, elsewhere a synopsis that points there; either way with its gate. */
static void run_usage_part(FILE *out, const run_op *op, const run_part *part)
{
    const run_op *home = run_group_home(part->group);
    char gate[RUN_TEXT_LEN] = "";
    if (part->gate_values)
        run_condition(&op->own.options[part->gate], part->gate_values, gate);
    if (home != op)
        fprintf(out, "    as in 'run %s'%s%s:\n", home->name, gate[0] ? ", only with " : "", gate);
    else if (gate[0])
        fprintf(out, "    only with %s:\n", gate);
    if (home != op) {
        run_usage_synopsis(out, part->group);
        return;
    }
    for (int i = 0; i < part->group->count; i++)
        run_usage_option(out, &part->group->options[i]);
}

void cli_run_usage(FILE *out)
{
    fputs("run ops (vkattn run <op> [options] -o out.npy):\n", out);
    for (size_t i = 0; i < RUN_COUNT(run_ops); i++) {
        const run_op *op = &run_ops[i];
        char lead[RUN_TEXT_LEN];
        snprintf(lead, sizeof lead, "  %s: ", op->name);
        run_usage_text(out, lead, 4, op->summary);
        for (int k = 0; k < op->own.count; k++)
            run_usage_option(out, &op->own.options[k]);
        for (int k = 0; k < RUN_MAX_PARTS && op->parts[k].group; k++)
            run_usage_part(out, op, &op->parts[k]);
    }
    fputs("common run options:\n"
          "    [--backend auto|cpu|vulkan]  default auto: Vulkan when a device is there, else the CPU backend\n"
          "    [--device SEL]               Vulkan device: index or name substring (default: $VKATTN_DEVICE,\n"
          "                                 else the first discrete, integrated, virtual, then CPU device)\n"
          "    -o, --output out.npy         where the result goes (written whole, or not at all)\n"
          "N is a decimal integer, F a finite number. 'not 0': an explicit 0 is refused, because the library\n"
          "reads 0 as \"use the default\"; leave the option out instead. Options a choice does not use (--factor\n"
          "with --scaling none, --beta-fast without yarn, rope options without --pe rope, slope options without\n"
          "--pe alibi or, for softmax, without --alibi ...) and --pos with --pos-offset are refused.\n"
          "Flags (--causal, --alibi, --transpose-b, --unfused, --yarn-no-truncate) take no value.\n",
          out);
}
