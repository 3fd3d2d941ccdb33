/*
 * bench_run.c - the measurements of `vkattn bench`: for each sequence length, a set of jobs, each one command list
 * recorded with VKATTN_CMD_TIMESTAMPS, run once to warm up (pipelines, caches) and then `reps` times; a figure is
 * the median, min and max over the repetitions of the GPU time of its ops (vkattn_cmd_timings; wall time per op on
 * the CPU backend) or, for the layer figures, of the host's wall clock from submit to the end of the wait.
 *
 * Shapes (batch 1, H heads, G KV heads, D head_dim, S the sequence length, e the dtype size):
 *   q, o [1, S, H, D]; k, v [1, S, G, D]; scores [1, H, S, S]; decode query qd, od [1, 1, H, D].
 * Bytes of a bandwidth-bound op = what it reads + what it writes (2 x its tensor); of decode attention, which is
 * bandwidth-bound too, K and V once plus q and o; flops of a matmul 2 H S S D; flops of attention 4 H D x (query,
 * key) pairs that the causal mask keeps.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* The attention time of the next, twice as long, sequence length against this one's. */
#define RUN_GROWTH 4.0
/* LongRoPE's per-frequency factors: one entry per rotated pair, up to head_dim 256. */
#define RUN_MAX_PAIRS 128

typedef enum job_kind {
    JOB_COPY_BUFFER,
    JOB_COPY,
    JOB_COPY_BUFFER_SCORES,
    JOB_COPY_SCORES,
    JOB_ROPE,
    JOB_SINUSOIDAL,
    JOB_ALIBI,
    JOB_SOFTMAX,
    JOB_QK,
    JOB_PV,
    JOB_ATTENTION,
} job_kind;

typedef enum encoding { ENC_NOPE, ENC_ROPE, ENC_ALIBI, ENC_SINUSOIDAL, ENC_COUNT } encoding;

static const char *const encoding_names[ENC_COUNT] = {"nope", "rope", "alibi", "sinusoidal"};

typedef struct job {
    job_kind kind;
    bench_group group;
    const char *name;
    vkattn_rope_desc rope;  /* JOB_ROPE */
    encoding enc;           /* JOB_ATTENTION */
    bool decode, unfused;   /* JOB_ATTENTION */
} job;

/* The tensors of one sequence length; views share the storage of q, k, v, o. */
typedef struct run_state {
    vkattn_context *ctx;
    const bench_config *cfg;
    bench_results *results;
    vkattn_backend backend;
    int64_t seq;
    vkattn_tensor q, k, v, o, scores, qd, od;
    vkattn_tensor q_heads, k_heads, v_heads, o_heads; /* [1, heads, S, D] views (permuted strides) */
    vkattn_tensor q_rows, qd_rows;                    /* [S, H D] and [1, H D]: the input rows of sinusoidal */
    /* The two halves of the scores' storage: the copies of scores size, the size ALiBi and softmax move (a copy
     * of Q's size fits caches that the scores do not, and flatters the copy bandwidth). */
    vkattn_tensor scores_lo, scores_hi;
    float longrope_short[RUN_MAX_PAIRS], longrope_long[RUN_MAX_PAIRS];
    bool over;       /* this length's timed runs alone have exceeded the time budget: its remaining jobs are skipped */
    double timed_ms; /* wall clock of this length's timed runs: the next length's estimate, without the one-off
                      * costs of the warm-ups (pipeline creation) */
} run_state;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- tensors ------------------------------------------------------------------------------------------------------ */

static vkattn_result make_zeroed(run_state *st, uint32_t ndim, const int64_t *shape, vkattn_tensor *out)
{
    vkattn_tensor_desc d = {.dtype = st->cfg->shape.dtype, .ndim = ndim};
    memcpy(d.shape, shape, ndim * sizeof *shape);
    vkattn_result r = vkattn_tensor_create(st->ctx, &d, out);
    uint64_t n = 0;
    if (r == VKATTN_OK)
        r = vkattn_tensor_numel(st->ctx, *out, &n);
    if (r != VKATTN_OK)
        return r;
    size_t bytes = (size_t)n * vkattn_dtype_size(d.dtype);
    void *zeros = calloc(1, bytes); /* the times do not depend on the values */
    r = zeros ? vkattn_tensor_write(st->ctx, *out, zeros, bytes) : VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    free(zeros);
    return r;
}

/* base [1, S, heads, D] seen as [1, heads, S, D]. */
static vkattn_result heads_view(run_state *st, vkattn_tensor base, int64_t heads, vkattn_tensor *out)
{
    int64_t s = st->seq, d = st->cfg->shape.head_dim;
    vkattn_tensor_desc desc = {.dtype = st->cfg->shape.dtype, .ndim = 4, .shape = {1, heads, s, d},
                               .strides = {s * heads * d, d, heads * d, 1}};
    return vkattn_tensor_view(st->ctx, base, &desc, 0, out);
}

static vkattn_result rows_view(run_state *st, vkattn_tensor base, int64_t rows, vkattn_tensor *out)
{
    const bench_shape *sh = &st->cfg->shape;
    vkattn_tensor_desc desc = {.dtype = sh->dtype, .ndim = 2, .shape = {rows, sh->heads * sh->head_dim}};
    return vkattn_tensor_view(st->ctx, base, &desc, 0, out);
}

/* Half `which` (0 or 1) of the scores' elements, as a contiguous 1-dim view. */
static vkattn_result half_view(run_state *st, int which, vkattn_tensor *out)
{
    const bench_shape *sh = &st->cfg->shape;
    int64_t half = sh->heads * st->seq * st->seq / 2;
    vkattn_tensor_desc desc = {.dtype = sh->dtype, .ndim = 1, .shape = {half}};
    return vkattn_tensor_view(st->ctx, st->scores, &desc, which * half, out);
}

static vkattn_result make_tensors(run_state *st)
{
    const bench_shape *sh = &st->cfg->shape;
    int64_t s = st->seq, h = sh->heads, g = sh->kv_heads, d = sh->head_dim;
    const int64_t qs[4] = {1, s, h, d}, ks[4] = {1, s, g, d}, ss[4] = {1, h, s, s}, ds[4] = {1, 1, h, d};
    vkattn_result r = make_zeroed(st, 4, qs, &st->q);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, qs, &st->o);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, ks, &st->k);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, ks, &st->v);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, ss, &st->scores);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, ds, &st->qd);
    if (r == VKATTN_OK) r = make_zeroed(st, 4, ds, &st->od);
    if (r == VKATTN_OK) r = heads_view(st, st->q, h, &st->q_heads);
    if (r == VKATTN_OK) r = heads_view(st, st->k, g, &st->k_heads);
    if (r == VKATTN_OK) r = heads_view(st, st->v, g, &st->v_heads);
    if (r == VKATTN_OK) r = heads_view(st, st->o, h, &st->o_heads);
    if (r == VKATTN_OK) r = rows_view(st, st->q, s, &st->q_rows);
    if (r == VKATTN_OK) r = rows_view(st, st->qd, 1, &st->qd_rows);
    if (r == VKATTN_OK) r = half_view(st, 0, &st->scores_lo);
    if (r == VKATTN_OK) r = half_view(st, 1, &st->scores_hi);
    return r;
}

static void destroy_tensors(run_state *st)
{
    vkattn_tensor *all[] = {&st->q, &st->k, &st->v, &st->o, &st->scores, &st->qd, &st->od, &st->q_heads,
                            &st->k_heads, &st->v_heads, &st->o_heads, &st->q_rows, &st->qd_rows,
                            &st->scores_lo, &st->scores_hi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        vkattn_tensor_destroy(st->ctx, *all[i]);
        *all[i] = (vkattn_tensor){0};
    }
}

uint64_t bench_memory_needed(const bench_shape *s, int64_t seq)
{
    double e = (double)vkattn_dtype_size(s->dtype), f32 = 4.0;
    double qkvo = 2.0 * (double)seq * (double)(s->heads + s->kv_heads) * (double)s->head_dim * e;
    double scores = (double)s->heads * (double)seq * (double)seq;
    double total = qkvo + scores * e + scores * f32;
    return total >= 1.8e19 ? UINT64_MAX : (uint64_t)total;
}

/* ---- recording a job -------------------------------------------------------------------------------------------- */

/* PE + attention of one encoding. Sinusoidal is added to the layer's input rows (here the query's storage, [q_len,
 * heads x head_dim]) before a NoPE attention, as a model adds it to its embeddings. */
static vkattn_result record_attention(run_state *st, vkattn_cmd *cmd, const job *j)
{
    int64_t q_len = j->decode ? 1 : st->seq;
    vkattn_tensor q = j->decode ? st->qd : st->q, out = j->decode ? st->od : st->o;
    vkattn_attention_desc d = {.causal = true, .q_offset = (int32_t)(st->seq - q_len), .unfused = j->unfused};
    d.pe = j->enc == ENC_ROPE ? VKATTN_PE_ROPE : j->enc == ENC_ALIBI ? VKATTN_PE_ALIBI : VKATTN_PE_NONE;
    if (j->enc == ENC_SINUSOIDAL) {
        vkattn_sinusoidal_desc sd = {.pos_offset = d.q_offset};
        vkattn_tensor rows = j->decode ? st->qd_rows : st->q_rows;
        vkattn_result r = vkattn_sinusoidal_add(st->ctx, cmd, &sd, rows, (vkattn_tensor){0}, rows);
        if (r != VKATTN_OK)
            return r;
    }
    return vkattn_attention(st->ctx, cmd, &d, q, st->k, st->v, out);
}

static vkattn_result record(run_state *st, vkattn_cmd *cmd, const job *j)
{
    vkattn_tensor none = {0};
    vkattn_matmul_desc qk = {.transpose_b = true};
    vkattn_softmax_desc sm = {.causal = true};
    switch (j->kind) {
    case JOB_COPY_BUFFER: return vkattn_copy_buffer(st->ctx, cmd, st->q, st->o);
    case JOB_COPY: return vkattn_copy(st->ctx, cmd, st->q, st->o);
    case JOB_COPY_BUFFER_SCORES: return vkattn_copy_buffer(st->ctx, cmd, st->scores_lo, st->scores_hi);
    case JOB_COPY_SCORES: return vkattn_copy(st->ctx, cmd, st->scores_lo, st->scores_hi);
    case JOB_ROPE: return vkattn_rope(st->ctx, cmd, &j->rope, st->q, none, st->o);
    case JOB_SINUSOIDAL: return vkattn_sinusoidal_add(st->ctx, cmd, NULL, st->q_rows, none, st->q_rows);
    case JOB_ALIBI: return vkattn_alibi(st->ctx, cmd, NULL, st->scores, st->scores);
    case JOB_SOFTMAX: return vkattn_softmax(st->ctx, cmd, &sm, st->scores, st->scores);
    case JOB_QK: return vkattn_matmul(st->ctx, cmd, &qk, st->q_heads, st->k_heads, st->scores);
    case JOB_PV: return vkattn_matmul(st->ctx, cmd, NULL, st->scores, st->v_heads, st->o_heads);
    case JOB_ATTENTION: return record_attention(st, cmd, j);
    }
    return VKATTN_ERROR_INTERNAL;
}

/* ---- timing --------------------------------------------------------------------------------------------------------- */

/* One run of the job: the GPU time of the ops the figure is about (all but a sinusoidal PE recorded before the
 * attention) and the wall clock from submit to the end of the wait. */
typedef struct sample {
    double op_ms, wall_ms;
} sample;

vkattn_result bench_time_once(vkattn_context *ctx, bench_record_fn fn, void *user, uint32_t skip, double *op_ms,
                              double *wall_ms)
{
    vkattn_cmd *cmd = NULL;
    vkattn_cmd_desc cd = {.flags = VKATTN_CMD_TIMESTAMPS};
    vkattn_result r = vkattn_cmd_create(ctx, &cd, &cmd);
    if (r == VKATTN_OK)
        r = fn(ctx, cmd, user);
    double start = now_ms();
    if (r == VKATTN_OK)
        r = vkattn_cmd_submit(cmd);
    if (r == VKATTN_OK)
        r = vkattn_cmd_wait(cmd, UINT64_MAX);
    if (wall_ms)
        *wall_ms = now_ms() - start;
    vkattn_op_timing t[BENCH_MAX_OPS];
    uint32_t n = 0;
    if (r == VKATTN_OK)
        r = vkattn_cmd_timings(cmd, t, BENCH_MAX_OPS, &n);
    if (r == VKATTN_OK && n > BENCH_MAX_OPS)
        r = VKATTN_ERROR_INTERNAL; /* more ops than the bench knows of: its time would be cut short */
    *op_ms = 0.0;
    for (uint32_t i = skip; r == VKATTN_OK && i < n; i++)
        *op_ms += t[i].ms;
    vkattn_cmd_destroy(cmd);
    return r;
}

double bench_median(double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, compare_double);
    return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

typedef struct job_run {
    run_state *st;
    const job *j;
} job_run;

static vkattn_result record_job(vkattn_context *ctx, vkattn_cmd *cmd, void *user)
{
    (void)ctx;
    job_run *jr = user;
    return record(jr->st, cmd, jr->j);
}

static vkattn_result run_once(run_state *st, const job *j, sample *out)
{
    job_run jr = {st, j};
    return bench_time_once(st->ctx, record_job, &jr, j->kind == JOB_ATTENTION && j->enc == ENC_SINUSOIDAL ? 1 : 0,
                           &out->op_ms, &out->wall_ms);
}

/* Median, min and max of n values into f (sorts them). */
static void set_stats(bench_figure *f, double *ms, int n)
{
    f->median_ms = bench_median(ms, n);
    f->min_ms = ms[0];
    f->max_ms = ms[n - 1];
    f->reps = n;
}

static double attention_pairs(int64_t q_len, int64_t kv_len)
{
    /* Causal, queries at kv_len - q_len + i: query i sees kv_len - q_len + i + 1 keys. */
    return (double)q_len * (double)(kv_len - q_len) + (double)q_len * (double)(q_len + 1) / 2.0;
}

static void describe(const run_state *st, const job *j, bench_figure *f)
{
    const bench_shape *sh = &st->cfg->shape;
    double e = (double)vkattn_dtype_size(sh->dtype), s = (double)st->seq, h = (double)sh->heads;
    double d = (double)sh->head_dim;
    double q_bytes = s * h * d * e, scores_bytes = h * s * s * e;
    *f = (bench_figure){.group = j->group, .backend = st->backend, .seq = st->seq};
    snprintf(f->name, sizeof f->name, "%s", j->name);
    switch (j->kind) {
    case JOB_COPY_BUFFER_SCORES:
    case JOB_COPY_SCORES: f->bytes = 2.0 * (double)(sh->heads * st->seq * st->seq / 2) * e; break;
    case JOB_ALIBI:
    case JOB_SOFTMAX: f->bytes = 2.0 * scores_bytes; break;
    case JOB_QK:
    case JOB_PV: f->flops = 2.0 * h * s * s * d; break;
    case JOB_ATTENTION:
        snprintf(f->encoding, sizeof f->encoding, "%s", encoding_names[j->enc]);
        snprintf(f->phase, sizeof f->phase, "%s", j->decode ? "decode" : "prefill");
        snprintf(f->path, sizeof f->path, "%s", j->unfused ? "unfused" : "fused");
        f->flops = 4.0 * h * d * attention_pairs(j->decode ? 1 : st->seq, st->seq);
        if (j->decode) /* bandwidth-bound: K and V read once, q read and o written */
            f->bytes = 2.0 * s * (double)sh->kv_heads * d * e + 2.0 * h * d * e;
        break;
    default: f->bytes = 2.0 * q_bytes; break;
    }
}

static void progress(const run_state *st, const job *j)
{
    if (!st->cfg->progress)
        return;
    fprintf(stderr, "\r\033[Kbench: %s seq %lld: %s%s%s", st->backend == VKATTN_BACKEND_CPU ? "cpu" : "vulkan",
            (long long)st->seq, j->name, j->kind == JOB_ATTENTION ? " " : "",
            j->kind == JOB_ATTENTION ? encoding_names[j->enc] : "");
    fflush(stderr);
}

static vkattn_result add(run_state *st, const bench_figure *f)
{
    return bench_results_add(st->results, f) ? VKATTN_OK : VKATTN_ERROR_OUT_OF_HOST_MEMORY;
}

/* Warm-up, reps runs, and the job's figures: its own (GPU time of its ops) and, for fused attention, the
 * layer end to end (wall clock of the whole list). */
static vkattn_result measure(run_state *st, const job *j)
{
    progress(st, j);
    int reps = st->cfg->reps;
    double *ms = malloc(2 * (size_t)reps * sizeof *ms);
    if (!ms)
        return VKATTN_ERROR_OUT_OF_HOST_MEMORY;
    double *wall = ms + reps;
    sample smp;
    vkattn_result r = run_once(st, j, &smp);
    for (int i = 0; r == VKATTN_OK && i < reps; i++) {
        r = run_once(st, j, &smp);
        ms[i] = smp.op_ms;
        wall[i] = smp.wall_ms;
        st->timed_ms += smp.wall_ms;
    }
    st->over = st->timed_ms * 1e-3 > st->cfg->budget_s;
    bench_figure f;
    describe(st, j, &f);
    if (r == VKATTN_OK) {
        set_stats(&f, ms, reps);
        r = add(st, &f);
    }
    if (r == VKATTN_OK && j->kind == JOB_ATTENTION && !j->unfused) {
        f.group = BENCH_LAYER;
        f.bytes = 0.0; /* a layer figure is a time and a FLOP rate */
        f.wall_clock = true;
        snprintf(f.name, sizeof f.name, "layer");
        set_stats(&f, wall, reps);
        r = add(st, &f);
    }
    free(ms);
    return r;
}

/* ---- the jobs ----------------------------------------------------------------------------------------------------- */

typedef struct rope_variant {
    const char *name;
    vkattn_rope_desc desc;
} rope_variant;

/* Every RoPE variant with typical settings: YaRN and LongRoPE as in their model configs (factor 4 over a 4096 or
 * 8192 training context), Llama 3.1's factor 8 over 8192, M-RoPE with Qwen2-VL's split of the pairs 1/4, 3/8,
 * 3/8 (16, 24, 24 for head_dim 128). */
static void rope_variants(run_state *st, rope_variant *v, size_t *count)
{
    uint32_t d = (uint32_t)st->cfg->shape.head_dim, pairs = d / 2;
    for (uint32_t i = 0; i < pairs && i < RUN_MAX_PAIRS; i++) {
        st->longrope_short[i] = 1.0f;
        st->longrope_long[i] = 1.0f + (float)i / (float)pairs;
    }
    const rope_variant all[] = {
        {"rope neox", {.mode = VKATTN_ROPE_NEOX}},
        {"rope gptj", {.mode = VKATTN_ROPE_GPTJ}},
        {"rope linear", {.scaling = VKATTN_ROPE_SCALING_LINEAR, .factor = 4}},
        {"rope ntk", {.scaling = VKATTN_ROPE_SCALING_NTK, .factor = 4}},
        {"rope dynamic", {.scaling = VKATTN_ROPE_SCALING_DYNAMIC, .factor = 4, .orig_ctx = 4096}},
        {"rope yarn", {.scaling = VKATTN_ROPE_SCALING_YARN, .factor = 4, .orig_ctx = 4096}},
        {"rope longrope", {.scaling = VKATTN_ROPE_SCALING_LONGROPE, .factor = 4, .orig_ctx = 4096,
                           .short_factor = st->longrope_short, .long_factor = st->longrope_long,
                           .factor_count = pairs}},
        {"rope llama3", {.scaling = VKATTN_ROPE_SCALING_LLAMA3, .factor = 8, .orig_ctx = 8192}},
        {"rope 2d", {.axes = VKATTN_ROPE_AXES_2D}},
        {"rope mrope", {.axes = VKATTN_ROPE_AXES_MROPE, .mrope_section = {d / 8, 3 * d / 16, 3 * d / 16}}},
    };
    memcpy(v, all, sizeof all);
    *count = sizeof all / sizeof all[0];
}

static vkattn_result measure_attention(run_state *st)
{
    vkattn_result r = VKATTN_OK;
    for (int e = 0; e < ENC_COUNT; e++)
        for (int phase = 0; phase < 2; phase++)
            for (int unfused = 0; r == VKATTN_OK && !st->over && unfused < 2; unfused++) {
                job j = {.kind = JOB_ATTENTION, .group = BENCH_ATTENTION, .name = "attention", .enc = (encoding)e,
                         .decode = phase == 1, .unfused = unfused == 1};
                r = measure(st, &j);
            }
    return r;
}

static vkattn_result measure_seq(run_state *st)
{
    const job plain[] = {
        {.kind = JOB_COPY_BUFFER, .group = BENCH_BANDWIDTH, .name = "buffer copy"},
        {.kind = JOB_COPY, .group = BENCH_BANDWIDTH, .name = "copy shader"},
        {.kind = JOB_COPY_BUFFER_SCORES, .group = BENCH_BANDWIDTH, .name = "buffer copy (scores size)"},
        {.kind = JOB_COPY_SCORES, .group = BENCH_BANDWIDTH, .name = "copy shader (scores size)"},
        {.kind = JOB_SINUSOIDAL, .group = BENCH_OP, .name = "sinusoidal"},
        {.kind = JOB_ALIBI, .group = BENCH_OP, .name = "alibi"},
        {.kind = JOB_SOFTMAX, .group = BENCH_OP, .name = "softmax"},
        {.kind = JOB_QK, .group = BENCH_MATMUL, .name = "QK^T"},
        {.kind = JOB_PV, .group = BENCH_MATMUL, .name = "PV"},
    };
    vkattn_result r = VKATTN_OK;
    for (size_t i = 0; r == VKATTN_OK && !st->over && i < 4; i++)
        r = measure(st, &plain[i]);
    rope_variant v[16];
    size_t nv = 0;
    rope_variants(st, v, &nv);
    for (size_t i = 0; r == VKATTN_OK && !st->over && i < nv; i++) {
        job j = {.kind = JOB_ROPE, .group = BENCH_OP, .name = v[i].name, .rope = v[i].desc};
        r = measure(st, &j);
    }
    for (size_t i = 4; r == VKATTN_OK && !st->over && i < sizeof plain / sizeof plain[0]; i++)
        r = measure(st, &plain[i]);
    return r == VKATTN_OK ? measure_attention(st) : r;
}

/* Whether the sweep stops before seq (after a length that took prev_s seconds); says why on cfg->notes. */
static bool over_budget(const run_state *st, int64_t seq, double prev_s)
{
    const bench_config *c = st->cfg;
    const char *backend = st->backend == VKATTN_BACKEND_CPU ? "cpu" : "vulkan";
    uint64_t need = bench_memory_needed(&c->shape, seq);
    double scores = (double)c->shape.heads * (double)seq * (double)seq * 4.0;
    if (need > c->memory_budget) {
        fprintf(c->notes, "%s: stopped before seq %lld: needs %.0f MiB, over the memory budget of %.0f MiB\n",
                backend, (long long)seq, (double)need / 1048576.0, (double)c->memory_budget / 1048576.0);
        return true;
    }
    if (st->backend == VKATTN_BACKEND_VULKAN && scores > (double)c->max_buffer) {
        fprintf(c->notes, "%s: stopped before seq %lld: the f32 scores need %.0f MiB in one allocation, over "
                          "the device's limit of %.0f MiB\n",
                backend, (long long)seq, scores / 1048576.0, (double)c->max_buffer / 1048576.0);
        return true;
    }
    if (prev_s * RUN_GROWTH > c->budget_s) {
        fprintf(c->notes, "%s: stopped before seq %lld: expected %.1f s (%.0fx the last length), over the budget "
                          "of %g s\n",
                backend, (long long)seq, prev_s * RUN_GROWTH, RUN_GROWTH, c->budget_s);
        return true;
    }
    return false;
}

vkattn_result bench_run(vkattn_context *ctx, const bench_config *c, bench_results *r)
{
    run_state st = {.ctx = ctx, .cfg = c, .results = r, .backend = vkattn_context_backend(ctx)};
    vkattn_result res = VKATTN_OK;
    double prev_s = 0.0;
    for (size_t i = 0; res == VKATTN_OK && i < c->n_seqs; i++) {
        if (over_budget(&st, c->seqs[i], prev_s))
            break;
        st.seq = c->seqs[i];
        st.timed_ms = 0.0;
        st.over = false;
        res = make_tensors(&st);
        if (res == VKATTN_OK)
            res = measure_seq(&st);
        destroy_tensors(&st);
        if (st.over) {
            fprintf(c->notes, "%s: stopped during seq %lld: over the budget of %g s, its later figures are "
                              "missing\n",
                    st.backend == VKATTN_BACKEND_CPU ? "cpu" : "vulkan", (long long)st.seq, c->budget_s);
            break;
        }
        prev_s = st.timed_ms * 1e-3 * (c->reps + 1) / c->reps; /* the warm-up run costs about as much again */
    }
    if (c->progress)
        fputs("\r\033[K", stderr);
    return res;
}
