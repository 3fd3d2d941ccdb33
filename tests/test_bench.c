/*
 * test_bench.c - `vkattn bench`, run as a child process (posix_spawn) exactly as a user runs it, on tiny shapes.
 *
 * A run on each backend must print the table's figures and write results.json, results.csv and report.html and
 * nothing else; the CSV is parsed here and every figure checked against what this file computes independently:
 * the figure count per sequence length, min <= median <= max, GB/s = bytes / median, GFLOP/s = flops / median,
 * the bytes of a copy (2 x the tensor) and the flops of Q K^T (2 H S S D), % of copy = GB/s / the copy shader's
 * of the nearest size.
 * --compare against the run's own results.json must match every figure. Every error case must exit with status
 * 2, print one line "vkattn: error: ..." on stderr and leave no file behind.
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

#include "bench.h"
#include "common.h"


#define PATH_LEN 4096
#define MAX_ARGS 40
/* The tiny shape: 2 heads, 1 KV head, head_dim 16, seq 16 and 32. */
#define T_HEADS 2
#define T_KV_HEADS 1
#define T_HEAD_DIM 16
/* Figures per sequence length: 4 bandwidth (buffer copy and copy shader, of Q's size and of the scores' size),
 * 10 RoPE variants + sinusoidal + ALiBi + softmax, 2 matmuls, 4 encodings x 2 phases x 2 paths of attention,
 * 4 x 2 layers. */
#define FIGURES_PER_SEQ (4 + 13 + 2 + 16 + 8)
#define CSV_COLUMNS 17

/* ---- files and the child process --------------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf != NULL);
    ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fputs(text, f);
    ck_assert(fclose(f) == 0);
}

static void case_dir(char dir[PATH_LEN], const char *name, int index)
{
    snprintf(dir, PATH_LEN, "%s/%s_%d", vkt_tmpdir(), name, index);
    ck_assert_msg(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
}

/* Number of entries in dir, or -1 when it does not exist. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

typedef struct cli_result {
    int status;
    char *out, *err;
} cli_result;

static void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs `vkattn bench args...` with stdout and stderr in files; Vulkan runs get the validation layer. */
static cli_result run_bench(const char *const *args, bool validation)
{
    char *argv[MAX_ARGS + 3] = {(char *)VKATTN_CLI_PATH, (char *)"bench"};
    size_t argc = 2;
    for (size_t i = 0; args[i]; i++) {
        ck_assert(argc < MAX_ARGS);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    char out_path[PATH_LEN], err_path[PATH_LEN];
    snprintf(out_path, sizeof out_path, "%s/bench_stdout", vkt_tmpdir());
    snprintf(err_path, sizeof err_path, "%s/bench_stderr", vkt_tmpdir());
    if (validation)
        setenv("VKATTN_VALIDATION", "1", 1);
    setenv("XDG_CACHE_HOME", vkt_tmpdir(), 1);
    int status = vkt_spawn(VKATTN_CLI_PATH, argv, NULL, out_path, err_path);
    unsetenv("VKATTN_VALIDATION");
    cli_result r = {.status = status, .out = slurp(out_path), .err = slurp(err_path)};
    ck_assert(r.out && r.err);
    return r;
}

static void assert_one_error_line(const cli_result *r)
{
    ck_assert_msg(r->status == 2, "exit status %d (expected 2), stderr: %s", r->status, r->err);
    ck_assert_msg(strncmp(r->err, "vkattn: error:", 14) == 0, "stderr: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "stderr is not exactly one line: %s", r->err);
}

/* ---- the CSV ------------------------------------------------------------------------------------------------------- */

enum { C_GROUP, C_NAME, C_ENC, C_PHASE, C_PATH, C_BACKEND, C_SEQ, C_REPS, C_MEDIAN, C_MIN, C_MAX, C_WALL, C_BYTES,
       C_FLOPS, C_GBPS, C_GFLOPS, C_PCT };

typedef struct row {
    char text[CSV_COLUMNS][48];
    double num[CSV_COLUMNS];
} row;

/* Splits the CSV (after its header) into rows; returns their count. */
static size_t parse_csv(char *csv, row *rows, size_t cap)
{
    char *line = strchr(csv, '\n');
    ck_assert(line != NULL);
    ck_assert_msg(strncmp(csv, "group,name,", 11) == 0, "CSV header: %.60s", csv);
    size_t n = 0;
    for (line++; *line; n++) {
        ck_assert(n < cap);
        char *end = strchr(line, '\n');
        ck_assert(end != NULL);
        *end = '\0';
        char *field = line;
        for (int c = 0; c < CSV_COLUMNS; c++) {
            char *comma = strchr(field, ',');
            ck_assert_msg(comma || c == CSV_COLUMNS - 1, "short CSV row: %s", line);
            if (comma)
                *comma = '\0';
            snprintf(rows[n].text[c], sizeof rows[n].text[c], "%s", field);
            rows[n].num[c] = strtod(field, NULL);
            field = comma ? comma + 1 : field;
        }
        line = end + 1;
    }
    return n;
}

static void assert_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12, "%s: %.9g, expected %.9g", what, got, want);
}

static const row *find_row(const row *rows, size_t n, const char *name, double seq)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].text[C_NAME], name) == 0 && rows[i].num[C_SEQ] == seq)
            return &rows[i];
    }
    ck_abort_msg("no figure '%s' at seq %g", name, seq);
    return NULL;
}

static void check_row(const row *rows, size_t n, const row *r)
{
    double median = r->num[C_MEDIAN], seq = r->num[C_SEQ];
    ck_assert_msg(median > 0.0 && r->num[C_MIN] <= median && median <= r->num[C_MAX], "%s: times", r->text[C_NAME]);
    ck_assert(r->num[C_REPS] == 1.0);
    bool bandwidth = strcmp(r->text[C_GROUP], "bandwidth") == 0 || strcmp(r->text[C_GROUP], "op") == 0;
    bool layer = strcmp(r->text[C_GROUP], "layer") == 0;
    bool flops = layer || strcmp(r->text[C_GROUP], "matmul") == 0 || strcmp(r->text[C_GROUP], "attention") == 0;
    ck_assert_msg(r->num[C_WALL] == (layer ? 1.0 : 0.0), "%s: only the layer is timed with the wall clock",
                  r->text[C_NAME]);
    if (bandwidth)
        assert_close(r->num[C_GBPS], r->num[C_BYTES] / (median * 1e6), "GB/s = bytes / time");
    if (flops)
        assert_close(r->num[C_GFLOPS], r->num[C_FLOPS] / (median * 1e6), "GFLOP/s = flops / time");
    /* Decode attention is bandwidth-bound too: it has both (K and V read once, q read, o written). */
    bool decode = strcmp(r->text[C_GROUP], "attention") == 0 && strcmp(r->text[C_PHASE], "decode") == 0;
    ck_assert_msg((bandwidth || decode) == (r->num[C_BYTES] > 0.0) && flops == (r->num[C_FLOPS] > 0.0),
                  "%s: bytes/flops", r->text[C_NAME]);
    if (decode) /* K and V of the one KV head, q and o of both heads */
        assert_close(r->num[C_BYTES], 2.0 * seq * T_KV_HEADS * T_HEAD_DIM * 4.0 + 2.0 * T_HEADS * T_HEAD_DIM * 4.0,
                     "decode attention bytes");
    if (strcmp(r->text[C_GROUP], "op") == 0) {
        /* The copy whose bytes are nearest the op's (ratio nearest 1). */
        const row *small = find_row(rows, n, "copy shader", seq);
        const row *large = find_row(rows, n, "copy shader (scores size)", seq);
        double bytes = r->num[C_BYTES];
        const row *copy = fabs(log(small->num[C_BYTES] / bytes)) <= fabs(log(large->num[C_BYTES] / bytes)) ? small
                                                                                                          : large;
        assert_close(r->num[C_PCT], 100.0 * r->num[C_GBPS] / copy->num[C_GBPS], "% of copy");
    }
}

/* Shape-derived amounts, from the tiny shape's numbers. */
static void check_amounts(const row *rows, size_t n, double seq)
{
    double q_bytes = seq * T_HEADS * T_HEAD_DIM * 4.0;
    assert_close(find_row(rows, n, "buffer copy", seq)->num[C_BYTES], 2.0 * q_bytes, "buffer copy bytes");
    assert_close(find_row(rows, n, "copy shader", seq)->num[C_BYTES], 2.0 * q_bytes, "copy shader bytes");
    /* Half the scores [heads, seq, seq] read, the other half written. */
    assert_close(find_row(rows, n, "copy shader (scores size)", seq)->num[C_BYTES], T_HEADS * seq * seq * 4.0,
                 "scores-size copy bytes");
    assert_close(find_row(rows, n, "QK^T", seq)->num[C_FLOPS], 2.0 * T_HEADS * seq * seq * T_HEAD_DIM, "QK^T flops");
}

/* ---- tests --------------------------------------------------------------------------------------------------------- */

static const char *const expected_in_table[] = {
    "buffer copy", "copy shader", "rope neox", "rope yarn", "rope mrope", "sinusoidal", "alibi", "softmax",
    "QK^T", "PV", "attention nope prefill fused", "attention rope decode unfused", "attention alibi prefill fused",
    "attention sinusoidal decode fused", "attention layer end to end", "GB/s", "% of copy", "GFLOP/s", "TFLOP/s",
};

START_TEST(test_bench_runs)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *probe = vkt_context(b);
    if (!probe)
        return;
    vkt_context_destroy(probe);
    char dir[PATH_LEN], json[PATH_LEN + 16];
    case_dir(dir, "run", _i);
    const char *const args[] = {"--backend", b == VKATTN_BACKEND_CPU ? "cpu" : "vulkan", "--no-cpu", "--heads", "2",
                                "--kv-heads", "1", "--head-dim", "16", "--seq", "16,32", "--reps", "1", "--budget",
                                "600", "--out", dir, NULL};
    cli_result r = run_bench(args, b == VKATTN_BACKEND_VULKAN);
    ck_assert_msg(r.status == 0 && r.err[0] == '\0', "status %d, stderr: %s", r.status, r.err);
    for (size_t i = 0; i < sizeof expected_in_table / sizeof expected_in_table[0]; i++)
        ck_assert_msg(strstr(r.out, expected_in_table[i]), "table lacks '%s':\n%s", expected_in_table[i], r.out);
    ck_assert_int_eq(dir_entries(dir), 3);

    char path[PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    char *csv = slurp(path);
    ck_assert(csv != NULL);
    static row rows[4 * FIGURES_PER_SEQ];
    size_t n = parse_csv(csv, rows, 4 * FIGURES_PER_SEQ);
    ck_assert_int_eq(n, 2 * FIGURES_PER_SEQ);
    for (size_t i = 0; i < n; i++)
        check_row(rows, n, &rows[i]);
    check_amounts(rows, n, 16);
    check_amounts(rows, n, 32);
    free(csv);

    snprintf(json, sizeof json, "%s/results.json", dir);
    char *text = slurp(json);
    const char *keys[] = {"\"device\"", "\"driver_name\"", "\"limits\"", "\"vkattn_version\": \"0.1.0\"",
                          "\"git_revision\"", "\"date\"", "\"figures\"", "\"preset\": \"custom\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(strstr(text, keys[i]), "results.json lacks %s", keys[i]);
    free(text);
    bench_results back;
    char err[256];
    ck_assert_msg(bench_read_json(json, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(back.n_figures, 2 * FIGURES_PER_SEQ);
    bench_results_free(&back);
    cli_result_free(&r);

    /* --compare against the same shapes: every figure matches. */
    const char *const again[] = {"--backend", b == VKATTN_BACKEND_CPU ? "cpu" : "vulkan", "--no-cpu", "--heads", "2",
                                 "--kv-heads", "1", "--head-dim", "16", "--seq", "16,32", "--reps", "1",
                                 "--budget", "600", "--compare", json, NULL};
    r = run_bench(again, b == VKATTN_BACKEND_VULKAN);
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    char want[64];
    snprintf(want, sizeof want, "%d matching figures", 2 * FIGURES_PER_SEQ);
    ck_assert_msg(strstr(r.out, "new/old") && strstr(r.out, want), "compare output:\n%s", r.out);
    cli_result_free(&r);
}
END_TEST

/* --peer: the seven shapes of the peer comparison, each line's GB/s = bytes (8 x numel: f32 read and written) /
 * time and its ratio to the peer's figure. */
START_TEST(test_bench_peer)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *probe = vkt_context(b);
    if (!probe)
        return;
    vkt_context_destroy(probe);
    const char *const args[] = {"--peer", "--backend", b == VKATTN_BACKEND_CPU ? "cpu" : "vulkan", "--no-cpu",
                                "--reps", "1", NULL};
    cli_result r = run_bench(args, b == VKATTN_BACKEND_VULKAN);
    ck_assert_msg(r.status == 0 && r.err[0] == '\0', "status %d, stderr: %s", r.status, r.err);
    static const struct {
        const char *label;
        double numel, peer;
    } shapes[] = {
        {"softmax f32 [77 x 4096 x 5]", 77.0 * 4096 * 5, 0.11},
        {"softmax f32 [1024 x 1024 x 10]", 1024.0 * 1024 * 10, 0.55},
        {"softmax f32 [256 x 256 x 20]", 256.0 * 256 * 20, 0.32},
        {"softmax f32 [32768 x 16]", 32768.0 * 16, 0.15},
        {"softmax f32 [262144 x 16]", 262144.0 * 16, 0.17},
        {"rope gptj f32 [128 x 32 x 512]", 128.0 * 32 * 512, 0.04},
        {"rope gptj f32 [128 x 64 x 512]", 128.0 * 64 * 512, 0.05},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const char *line = strstr(r.out, shapes[i].label);
        ck_assert_msg(line != NULL, "no line for %s:\n%s", shapes[i].label, r.out);
        double ms, gbps, peer, ratio;
        ck_assert_int_eq(sscanf(line + strlen(shapes[i].label), "%lf %lf %lf %lfx", &ms, &gbps, &peer, &ratio), 4);
        ck_assert_msg(ms > 0.0 && fabs(gbps - 8.0 * shapes[i].numel / (ms * 1e6)) <= 0.01 * gbps + 1e-3,
                      "%s: %g GB/s in %g ms", shapes[i].label, gbps, ms);
        ck_assert(peer == shapes[i].peer);
        ck_assert_msg(fabs(ratio - gbps / peer) <= 0.01 * ratio + 0.1, "%s: x peer %g", shapes[i].label, ratio);
    }
    cli_result_free(&r);
}
END_TEST

/* Error rows: arguments after `bench --seq 16 --reps 1 --no-cpu --backend cpu --out DIR/out`; "@" in an argument
 * stands for the case directory. */
static const char *const error_rows[][4] = {
    {"--frobnicate", NULL},
    {"--reps", NULL},
    {"--reps", "0", NULL},
    {"--reps", "3x", NULL},
    {"--seq", "32,16", NULL},
    {"--seq", "", NULL},
    {"--budget", "nan", NULL},
    {"--memory", "-5", NULL},
    {"--preset", "llama9", NULL},
    {"--backend", "metal", NULL},
    {"--head-dim", "40", NULL},
    {"--heads", "6", "--kv-heads", "4"},
    {"--compare", "@/missing.json", NULL},
    {"--compare", "@/bad.json", NULL},
    {"--compare", "@/empty.json", NULL},
    {"--compare", "@/nofig.json", NULL},
    {"--out", "@/file/sub", NULL},
    {"stray", NULL},
    {"--memory", "1", NULL}, /* nothing fits: an error, not an empty result */
    {"--peer", NULL},        /* with --out: --peer writes no files */
};
#define ERROR_ROWS (int)(sizeof error_rows / sizeof error_rows[0])

START_TEST(test_bench_errors)
{
    char dir[PATH_LEN], out[PATH_LEN + 8], subst[4][PATH_LEN + 32], path[PATH_LEN + 16];
    case_dir(dir, "err", _i);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_text(path, "{\"figures\": [{\"group\": \"op\", \"name\": \"x\", \"backend\": \"cpu\", \"median_ms\": 1}");
    snprintf(path, sizeof path, "%s/empty.json", dir);
    write_text(path, "");
    snprintf(path, sizeof path, "%s/nofig.json", dir);
    write_text(path, "{\"figures\": [{\"group\": \"op\", \"backend\": \"cpu\"}]}");
    snprintf(path, sizeof path, "%s/file", dir);
    write_text(path, "a file, not a directory\n");

    const char *args[MAX_ARGS] = {"--seq", "16", "--reps", "1", "--no-cpu", "--backend", "cpu", "--out", out};
    size_t argc = 9;
    for (int k = 0; k < 4 && error_rows[_i][k]; k++) {
        const char *a = error_rows[_i][k], *at = strchr(a, '@');
        if (at) {
            snprintf(subst[k], sizeof subst[k], "%s%s", dir, at + 1);
            a = subst[k];
        }
        if (strcmp(a, "--out") == 0)
            argc -= 2; /* replaces the default --out */
        args[argc++] = a;
    }
    args[argc] = NULL;
    cli_result r = run_bench(args, false);
    assert_one_error_line(&r);
    ck_assert_msg(dir_entries(out) == -1, "row %d: --out directory was made", _i);
    ck_assert_int_eq(dir_entries(dir), 4); /* the three .json files and `file`: nothing new */
    cli_result_free(&r);
}
END_TEST

/* A budget far below one run: the sweep stops inside the first length, says so, and still succeeds. */
START_TEST(test_bench_budget)
{
    const char *const args[] = {"--backend", "cpu", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--seq",
                                "16,32", "--reps", "1", "--budget", "0.000001", NULL};
    cli_result r = run_bench(args, false);
    ck_assert_msg(r.status == 0 && r.err[0] == '\0', "status %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "cpu: stopped during seq 16: over the budget of 1e-06 s"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "buffer copy") && !strstr(r.out, "seq 32"), "%s", r.out);
    cli_result_free(&r);
}
END_TEST

START_TEST(test_bench_help)
{
    const char *const args[] = {"--help", NULL};
    cli_result r = run_bench(args, false);
    ck_assert_msg(r.status == 0 && r.err[0] == '\0', "status %d, stderr: %s", r.status, r.err);
    ck_assert(strstr(r.out, "--compare") && strstr(r.out, "--budget") && strstr(r.out, "llama3-8b"));
    cli_result_free(&r);
}
END_TEST

static Suite *bench_suite(void)
{
    Suite *s = suite_create("bench");
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 120);
    tcase_add_loop_test(run, test_bench_runs, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(run, test_bench_peer, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, run);
    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, 30);
    tcase_add_loop_test(errors, test_bench_errors, 0, ERROR_ROWS);
    tcase_add_test(errors, test_bench_help);
    tcase_add_test(errors, test_bench_budget);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    return vkt_run_suite(bench_suite());
}
