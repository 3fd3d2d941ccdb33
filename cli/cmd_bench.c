/*
 * cmd_bench.c - `vkattn bench`: how fast each positional encoding and the attention around it runs on this device,
 * against the device's copy bandwidth (bench/bench_run.c measures, bench/report_*.c write the files).
 *
 * Every option is checked, --out made and probed and --compare read before any measurement, so a bad input costs
 * nothing and leaves no partial file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

#define BENCH_DEFAULT_REPS 5
#define BENCH_DEFAULT_BUDGET_S 30.0
#define BENCH_DEFAULT_MEMORY_MIB 2048
#define BENCH_MAX_SEQS 32
#define BENCH_PATH_LEN 4096
/* The default sweep: 512 to 16384, doubling. */
#define BENCH_SEQ_FIRST 512
#define BENCH_SEQ_LAST 16384

typedef struct preset {
    const char *name;
    int64_t heads, kv_heads, head_dim;
} preset;

static const preset presets[] = {
    {"llama2-7b", 32, 32, 128},
    {"llama3-8b", 32, 8, 128},
    {"phone-1b", 16, 4, 64},
};

typedef struct bench_options {
    const preset *preset;
    int64_t heads, kv_heads, head_dim; /* 0 = the preset's */
    int64_t seqs[BENCH_MAX_SEQS];
    size_t n_seqs;
    vkattn_backend backend;
    const char *device, *out_dir, *compare;
    int64_t reps, memory_mib;
    double budget_s;
    bool f16, no_cpu, peer, help;
} bench_options;

void cli_bench_usage(FILE *out)
{
    fputs("bench [options]: time every op, attention and the layer per positional encoding\n"
          "  --preset llama2-7b|llama3-8b|phone-1b   model shape (default llama2-7b: 32/32 heads, head_dim 128;\n"
          "                        llama3-8b 32/8, 128; phone-1b 16/4, 64)\n"
          "  --heads N, --kv-heads N, --head-dim N   override the preset (head_dim a multiple of 16 up to 256;\n"
          "                        --heads alone also sets the KV heads to it)\n"
          "  --seq N[,N...]        sequence lengths (default 512 to 16384, doubling)\n"
          "  --backend auto|vulkan|cpu, --device SEL   as `vkattn run`\n"
          "  --reps N              timed repetitions after a warm-up (default 5)\n"
          "  --budget SECONDS      time budget per sequence length (default 30)\n"
          "  --memory MIB          memory budget (default 2048; the sweep also stops where the scores\n"
          "                        [heads, seq, seq] outgrow one Vulkan allocation)\n"
          "  --f16                 f16 tensors (default f32)\n"
          "  --no-cpu              do not also run the CPU backend\n"
          "  --out DIR             write results.json, results.csv and report.html\n"
          "  --compare OLD.json    print new/old median time per figure found in both\n"
          "  --peer                only the shapes issue 8 has ggml Vulkan figures for (softmax, RoPE GPT-J),\n"
          "                        each against the peer's figure and this run's copy bandwidth (--reps, --backend,\n"
          "                        --device and --no-cpu apply; no files)\n",
          out);
}

/* ---- parsing ------------------------------------------------------------------------------------------------------ */

static int parse_int(const char *name, const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return cli_error("%s: '%s' is not an integer from %lld to %lld", name, text, (long long)lo, (long long)hi);
    *out = v;
    return CLI_EXIT_OK;
}

static int parse_seqs(const char *text, bench_options *o)
{
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return cli_error("--seq: list too long");
    strcpy(buf, text);
    o->n_seqs = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_seqs == BENCH_MAX_SEQS)
            return cli_error("--seq: more than %d lengths", BENCH_MAX_SEQS);
        int status = parse_int("--seq", tok, 1, INT32_MAX, &o->seqs[o->n_seqs]);
        if (status != CLI_EXIT_OK)
            return status;
        if (o->n_seqs > 0 && o->seqs[o->n_seqs] <= o->seqs[o->n_seqs - 1])
            return cli_error("--seq: lengths must ascend ('%s')", text);
        o->n_seqs++;
    }
    return o->n_seqs ? CLI_EXIT_OK : cli_error("--seq: no length given");
}

static int parse_choice(const char *name, const char *text, const char *const *words, size_t n, size_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, words[i]) == 0) {
            *out = i;
            return CLI_EXIT_OK;
        }
    }
    return cli_error("%s: unknown value '%s'", name, text);
}

static int parse_budget(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v > 0.0) || v > 1e6)
        return cli_error("--budget: '%s' is not a number of seconds above 0", text);
    *out = v;
    return CLI_EXIT_OK;
}

static const preset *find_preset(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) == 0)
            return &presets[i];
    }
    return NULL;
}

/* One option with its value. */
static int parse_option(const char *name, const char *value, bench_options *o)
{
    static const char *const backends[] = {"auto", "vulkan", "cpu"};
    size_t idx = 0;
    int status = CLI_EXIT_OK;
    if (strcmp(name, "--preset") == 0) {
        o->preset = find_preset(value);
        status = o->preset ? CLI_EXIT_OK : cli_error("--preset: unknown value '%s'", value);
    } else if (strcmp(name, "--backend") == 0) {
        status = parse_choice(name, value, backends, 3, &idx);
        o->backend = (vkattn_backend)idx; /* the words are in enum order */
    } else if (strcmp(name, "--heads") == 0) status = parse_int(name, value, 1, 1024, &o->heads);
    else if (strcmp(name, "--kv-heads") == 0) status = parse_int(name, value, 1, 1024, &o->kv_heads);
    else if (strcmp(name, "--head-dim") == 0) status = parse_int(name, value, 16, 256, &o->head_dim);
    else if (strcmp(name, "--reps") == 0) status = parse_int(name, value, 1, 1000, &o->reps);
    else if (strcmp(name, "--memory") == 0) status = parse_int(name, value, 1, INT32_MAX, &o->memory_mib);
    else if (strcmp(name, "--seq") == 0) status = parse_seqs(value, o);
    else if (strcmp(name, "--budget") == 0) status = parse_budget(value, &o->budget_s);
    else if (strcmp(name, "--device") == 0) o->device = value;
    else if (strcmp(name, "--out") == 0) o->out_dir = value;
    else if (strcmp(name, "--compare") == 0) o->compare = value;
    else status = cli_error("bench: unknown option '%s' (try 'vkattn --help')", name);
    return status;
}

static bool is_flag(const char *name, bench_options *o)
{
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        return o->help = true;
    if (strcmp(name, "--f16") == 0)
        return o->f16 = true;
    if (strcmp(name, "--no-cpu") == 0)
        return o->no_cpu = true;
    if (strcmp(name, "--peer") == 0)
        return o->peer = true;
    return false;
}

static int check_shape(bench_options *o)
{
    if (o->head_dim % 16 != 0)
        return cli_error("--head-dim: %lld is not a multiple of 16", (long long)o->head_dim);
    if (o->heads % o->kv_heads != 0)
        return cli_error("--kv-heads: %lld does not divide --heads %lld", (long long)o->kv_heads,
                         (long long)o->heads);
    return CLI_EXIT_OK;
}

static int parse_args(int argc, char **argv, bench_options *o)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            return cli_error("bench: unknown option '%s'", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        if (!eq && is_flag(name, o))
            continue;
        if (strncmp(name, "--", 2) != 0 || strcmp(name, "--f16") == 0 || strcmp(name, "--no-cpu") == 0 ||
            strcmp(name, "--peer") == 0)
            return cli_error("bench: unexpected argument '%s'", arg);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return cli_error("%s: missing value", name);
        int status = parse_option(name, value, o);
        if (status != CLI_EXIT_OK)
            return status;
    }
    o->heads = o->heads ? o->heads : o->preset->heads;
    o->kv_heads = o->kv_heads ? o->kv_heads : (o->heads == o->preset->heads ? o->preset->kv_heads : o->heads);
    o->head_dim = o->head_dim ? o->head_dim : o->preset->head_dim;
    return check_shape(o);
}

/* ---- files ---------------------------------------------------------------------------------------------------------- */

/* Makes --out (one level; *created says whether it was made) and checks that a file can be created in it. */
static int prepare_out(const char *dir, bool *created)
{
    *created = mkdir(dir, 0777) == 0;
    if (!*created && errno != EEXIST)
        return cli_error("--out: cannot create '%s': %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_error("--out: '%s' is not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return cli_error("--out: cannot write in '%s': %s", dir, strerror(errno));
    return CLI_EXIT_OK;
}

static int write_outputs(const bench_results *r, const char *dir)
{
    static const char *const names[] = {"results.json", "results.csv", "report.html"};
    int (*const writers[])(const bench_results *, const char *) = {bench_write_json, bench_write_csv,
                                                                   bench_write_html};
    for (size_t i = 0; i < 3; i++) {
        char path[BENCH_PATH_LEN];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            return cli_error("--out: path too long");
        if (writers[i](r, path) != 0)
            return cli_error("--out: cannot write '%s': %s", path, strerror(errno));
    }
    return CLI_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------------------------------------------------ */

static const char *backend_word(vkattn_backend b)
{
    return b == VKATTN_BACKEND_CPU ? "cpu" : "vulkan";
}

/* "attention rope prefill fused" and the like: the figure's name with its qualifiers. */
static void figure_label(const bench_figure *f, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s%s%s%s%s", f->name, f->encoding[0] ? " " : "", f->encoding, f->phase[0] ? " " : "",
             f->phase, f->path[0] ? " " : "", f->path);
}

/* "GB/s  x% of copy  y% of buffer copy" of a figure with bytes. */
static void print_bandwidth(const bench_results *r, const bench_figure *f)
{
    double gbps = bench_figure_gbps(f);
    double copy = bench_copy_gbps(r, f->backend, f->seq, f->bytes);
    double buffer = bench_copy_gbps_of(r, f->backend, f->seq, f->bytes, "buffer copy");
    printf("  %9.2f GB/s  %5.1f%% of copy  %5.1f%% of buffer copy", gbps, copy > 0.0 ? 100.0 * gbps / copy : 0.0,
           buffer > 0.0 ? 100.0 * gbps / buffer : 0.0);
}

static void print_figure(const bench_results *r, const bench_figure *f)
{
    char label[3 * BENCH_NAME_LEN];
    figure_label(f, label, sizeof label);
    printf("  %-36s %11.4f ms [%.4f-%.4f]", label, f->median_ms, f->min_ms, f->max_ms);
    if (f->group == BENCH_BANDWIDTH)
        printf("  %9.2f GB/s", bench_figure_gbps(f));
    else if (f->group == BENCH_OP)
        print_bandwidth(r, f);
    else if (f->group == BENCH_MATMUL)
        printf("  %9.2f GFLOP/s", bench_figure_gflops(f));
    else
        printf("  %9.4f TFLOP/s", bench_figure_gflops(f) * 1e-3);
    if (f->group == BENCH_ATTENTION && f->bytes > 0.0)
        print_bandwidth(r, f);
    putchar('\n');
}

static void print_sections(const bench_results *r)
{
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        if (f->group == BENCH_LAYER)
            continue;
        if (i == 0 || f->seq != r->figures[i - 1].seq || f->backend != r->figures[i - 1].backend)
            printf("\n%s, seq %lld (median of %d, %s)\n", backend_word(f->backend), (long long)f->seq, f->reps,
                   f->backend == VKATTN_BACKEND_CPU ? "wall clock per op" : "GPU timestamps");
        print_figure(r, f);
    }
}

/* The layer figure of (backend, seq, encoding, phase); NULL when not measured. */
static const bench_figure *find_layer(const bench_results *r, vkattn_backend b, int64_t seq, const char *enc,
                                      const char *phase)
{
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        if (f->group == BENCH_LAYER && f->backend == b && f->seq == seq && strcmp(f->encoding, enc) == 0 &&
            strcmp(f->phase, phase) == 0)
            return f;
    }
    return NULL;
}

static void print_layer_rows(const bench_results *r, vkattn_backend b)
{
    static const char *const encs[] = {"nope", "rope", "alibi", "sinusoidal"};
    static const char *const phases[] = {"prefill", "decode"};
    int64_t last = 0;
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        if (f->group != BENCH_LAYER || f->backend != b || f->seq == last)
            continue;
        last = f->seq;
        printf("  %-7s %6lld", backend_word(b), (long long)f->seq);
        for (size_t p = 0; p < 2; p++)
            for (size_t e = 0; e < 4; e++) {
                const bench_figure *g = find_layer(r, b, f->seq, encs[e], phases[p]);
                if (g)
                    printf(" %11.4f", g->median_ms);
                else
                    printf(" %11s", "-");
            }
        const bench_figure *rope = find_layer(r, b, f->seq, "rope", "prefill");
        const bench_figure *alibi = find_layer(r, b, f->seq, "alibi", "prefill");
        if (rope && alibi)
            printf("  %6.2fx\n", rope->median_ms / alibi->median_ms);
        else
            printf("  %7s\n", "-");
    }
}

static void print_layer_table(const bench_results *r)
{
    printf("\nattention layer end to end (PE + fused attention, wall clock, median ms)\n"
           "  %-7s %6s %11s %11s %11s %11s %11s %11s %11s %11s  %7s\n",
           "backend", "seq", "prefill", "", "", "", "decode", "", "", "", "rope/");
    printf("  %-7s %6s %11s %11s %11s %11s %11s %11s %11s %11s  %7s\n", "", "", "nope", "rope", "alibi",
           "sinusoidal", "nope", "rope", "alibi", "sinusoidal", "alibi");
    print_layer_rows(r, VKATTN_BACKEND_VULKAN);
    print_layer_rows(r, VKATTN_BACKEND_CPU);
}

/* The most one Vulkan tensor may hold: one allocation (the library binds tensors larger than one binding's range in
 * windows, so maxStorageBufferRange no longer limits the sweep). */
static uint64_t max_buffer(const vkattn_device_info *d)
{
    return d->max_allocation_size ? d->max_allocation_size : UINT64_MAX;
}

static void print_header(const bench_results *r, int reps)
{
    const vkattn_device_info *d = &r->device;
    printf("vkattn %s (%s) bench, %s\n", r->vkattn_version, r->git_revision, r->date);
    printf("device: %s (%s backend; driver %s %s)\n", d->name, backend_word(d->backend), d->driver_name,
           d->driver_info);
    printf("shape: %s, %lld heads, %lld KV heads, head_dim %lld, batch 1, %s; median of %d timed runs after a warm-up\n",
           r->shape.preset, (long long)r->shape.heads, (long long)r->shape.kv_heads, (long long)r->shape.head_dim,
           vkattn_dtype_name(r->shape.dtype), reps);
    printf("budget: %g s per sequence length, memory %.0f MiB", r->budget_s, (double)r->memory_budget / 1048576.0);
    if (d->backend == VKATTN_BACKEND_VULKAN)
        printf(" (one tensor at most %.0f MiB)", (double)max_buffer(d) / 1048576.0);
    putchar('\n');
}

/* ---- --compare ------------------------------------------------------------------------------------------------------- */

static bool same_figure(const bench_figure *a, const bench_figure *b)
{
    return a->group == b->group && a->backend == b->backend && a->seq == b->seq && strcmp(a->name, b->name) == 0 &&
           strcmp(a->encoding, b->encoding) == 0 && strcmp(a->phase, b->phase) == 0 &&
           strcmp(a->path, b->path) == 0;
}

static void print_compare(const bench_results *now, const bench_results *old, const char *path)
{
    printf("\ncompared with %s (%s, %s): new/old median time, below 1 is faster\n", path, old->device.name,
           old->date);
    size_t matched = 0;
    for (size_t i = 0; i < now->n_figures; i++)
        for (size_t j = 0; j < old->n_figures; j++) {
            const bench_figure *f = &now->figures[i], *g = &old->figures[j];
            if (!same_figure(f, g) || !(g->median_ms > 0.0))
                continue;
            char label[3 * BENCH_NAME_LEN];
            figure_label(f, label, sizeof label);
            printf("  %-7s %6lld %-36s %8.3f\n", backend_word(f->backend), (long long)f->seq, label,
                   f->median_ms / g->median_ms);
            matched++;
        }
    printf("  %zu matching figures\n", matched);
}

/* ---- running ----------------------------------------------------------------------------------------------------------- */

static void fill_metadata(bench_results *r, const bench_options *o, vkattn_context *ctx)
{
    bench_results_stamp(r);
    vkattn_context_device_info(ctx, &r->device);
    bool custom = o->heads != o->preset->heads || o->kv_heads != o->preset->kv_heads ||
                  o->head_dim != o->preset->head_dim;
    snprintf(r->shape.preset, sizeof r->shape.preset, "%s", custom ? "custom" : o->preset->name);
    r->shape.heads = o->heads;
    r->shape.kv_heads = o->kv_heads;
    r->shape.head_dim = o->head_dim;
    r->shape.batch = 1;
    r->shape.dtype = o->f16 ? VKATTN_F16 : VKATTN_F32;
    r->budget_s = o->budget_s;
    r->memory_budget = (uint64_t)o->memory_mib * 1048576u;
}


static int run_backend(vkattn_context *ctx, bench_config *cfg, bench_results *r)
{
    vkattn_result res = bench_run(ctx, cfg, r);
    return res == VKATTN_OK ? CLI_EXIT_OK : cli_library_error(ctx, res);
}

/* Measures on the chosen device and, unless --no-cpu or the device is the CPU backend, on the CPU backend. */
static int measure_all(const bench_options *o, vkattn_context *ctx, bench_results *r)
{
    bench_config cfg = {.shape = r->shape, .seqs = o->seqs, .n_seqs = o->n_seqs, .reps = (int)o->reps,
                        .budget_s = o->budget_s, .memory_budget = r->memory_budget,
                        .max_buffer = max_buffer(&r->device),
                        .progress = isatty(STDERR_FILENO) != 0, .notes = stdout};
    int status = run_backend(ctx, &cfg, r);
    if (status != CLI_EXIT_OK || o->no_cpu || vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU)
        return status;
    vkattn_context_desc cd = cli_context_desc(VKATTN_BACKEND_CPU, NULL);
    vkattn_context *cpu = NULL;
    vkattn_result res = vkattn_context_create(&cd, &cpu);
    if (res != VKATTN_OK)
        return cli_library_error(NULL, res);
    status = run_backend(cpu, &cfg, r);
    vkattn_context_destroy(cpu);
    return status;
}

/* --peer: the peer's shapes on the chosen device (and with its portable kernels only, for comparison) and, unless
 * --no-cpu or the device is the CPU backend, on the CPU backend. */
static int peer_on(vkattn_backend backend, const char *device, bool baseline_too, int reps)
{
    vkattn_context_desc cd = cli_context_desc(backend, device);
    vkattn_context *ctx = NULL, *base = NULL;
    vkattn_result res = vkattn_context_create(&cd, &ctx);
    if (res == VKATTN_OK && baseline_too && vkattn_context_backend(ctx) == VKATTN_BACKEND_VULKAN) {
        cd.flags |= VKATTN_CONTEXT_BASELINE_KERNELS;
        res = vkattn_context_create(&cd, &base);
    }
    if (res == VKATTN_OK)
        res = bench_peer(ctx, base, reps, stdout);
    int status = res == VKATTN_OK ? CLI_EXIT_OK : cli_library_error(base ? base : ctx, res);
    vkattn_context_destroy(base);
    vkattn_context_destroy(ctx);
    return status;
}

/* The context of the chosen device, and the run's metadata in r. */
static int open_device(const bench_options *o, vkattn_context **ctx, bench_results *r)
{
    vkattn_context_desc cd = cli_context_desc(o->backend, o->device);
    vkattn_result res = vkattn_context_create(&cd, ctx);
    if (res != VKATTN_OK)
        return cli_library_error(NULL, res);
    fill_metadata(r, o, *ctx);
    return CLI_EXIT_OK;
}

static int peer_with(const bench_options *o)
{
    vkattn_context *ctx = NULL;
    bench_results r = {0};
    int opened = open_device(o, &ctx, &r);
    if (opened != CLI_EXIT_OK)
        return opened;
    bool cpu_too = !o->no_cpu && vkattn_context_backend(ctx) != VKATTN_BACKEND_CPU;
    vkattn_context_destroy(ctx);
    printf("vkattn %s (%s) bench --peer, %s; %s (%s)\nmedian of %d timed runs after a warm-up (GPU timestamps; CPU "
           "backend: wall time per op)\n",
           r.vkattn_version, r.git_revision, r.date, r.device.name, r.device.driver_info, (int)o->reps);
    int status = peer_on(o->backend, o->device, true, (int)o->reps);
    if (status == CLI_EXIT_OK && cpu_too)
        status = peer_on(VKATTN_BACKEND_CPU, NULL, false, (int)o->reps);
    return status;
}

static int bench_with(const bench_options *o, const bench_results *old)
{
    vkattn_context *ctx = NULL;
    bench_results r = {0};
    int opened = open_device(o, &ctx, &r);
    if (opened != CLI_EXIT_OK)
        return opened;
    print_header(&r, (int)o->reps);
    int status = measure_all(o, ctx, &r);
    vkattn_context_destroy(ctx);
    if (status == CLI_EXIT_OK && r.n_figures == 0)
        status = cli_error("nothing measured: the first sequence length is over the budget (see above)");
    if (status == CLI_EXIT_OK) {
        print_sections(&r);
        print_layer_table(&r);
        if (old)
            print_compare(&r, old, o->compare);
        if (o->out_dir)
            status = write_outputs(&r, o->out_dir);
    }
    bench_results_free(&r);
    return status;
}

int cli_cmd_bench(int argc, char **argv)
{
    bench_options o = {.preset = &presets[0], .backend = VKATTN_BACKEND_AUTO, .reps = BENCH_DEFAULT_REPS,
                       .memory_mib = BENCH_DEFAULT_MEMORY_MIB, .budget_s = BENCH_DEFAULT_BUDGET_S};
    for (int64_t s = BENCH_SEQ_FIRST; s <= BENCH_SEQ_LAST; s *= 2)
        o.seqs[o.n_seqs++] = s;
    int status = parse_args(argc, argv, &o);
    if (status == CLI_EXIT_OK && o.help) {
        cli_bench_usage(stdout);
        return CLI_EXIT_OK;
    }
    bench_results old = {0};
    if (status == CLI_EXIT_OK && o.compare) {
        char err[256];
        if (bench_read_json(o.compare, &old, err, sizeof err) != 0)
            status = cli_error("--compare: %s", err);
    }
    if (status == CLI_EXIT_OK && o.peer)
        return o.out_dir || o.compare ? cli_error("--peer writes no files: drop --out and --compare") : peer_with(&o);
    bool created = false;
    if (status == CLI_EXIT_OK && o.out_dir)
        status = prepare_out(o.out_dir, &created);
    if (status == CLI_EXIT_OK)
        status = bench_with(&o, o.compare ? &old : NULL);
    if (status != CLI_EXIT_OK && created)
        rmdir(o.out_dir); /* a failed run leaves no trace; the writers leave no file when they fail */
    bench_results_free(&old);
    return status;
}
