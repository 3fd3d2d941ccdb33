/*
 * test_verify.c - `vkattn verify`, run as a child process (posix_spawn) as a user runs it: the quick sweep passes
 * on each backend (Vulkan with the validation layer) with every case line PASS and every op covered, --only keeps
 * one op, bad options exit 2 with one error line, and a perturbed device output (the hidden
 * VKATTN_VERIFY_PERTURB=1) makes every case FAIL with exit status 1, which proves the comparison can fail.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

#define PATH_LEN 4096
#define MAX_ARGS 16

static const char *const all_ops[] = {"copy", "softmax", "matmul", "attention", "rope", "sinusoidal", "alibi"};

typedef struct run_output {
    int status; /* exit status; -1 when the program did not exit normally */
    char *out;
    char *err;
} run_output;

/* The whole file as a NUL-terminated string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    ck_assert(buf != NULL);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert(buf != NULL);
        }
    }
    fclose(f);
    buf[n] = '\0';
    unlink(path);
    return buf;
}

/* Our environment with the pipeline cache in the test's directory and the given extra entries (NULL-terminated). */
static char **child_env(const char *const *extra)
{
    static char cache[PATH_LEN + 32];
    snprintf(cache, sizeof cache, "XDG_CACHE_HOME=%s", vkt_tmpdir());
    size_t n = 0, k = 0, e = 0;
    while (environ[n])
        n++;
    while (extra[e])
        e++;
    char **env = calloc(n + e + 2, sizeof *env);
    ck_assert(env != NULL);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "VKATTN_", 7) != 0 && strncmp(environ[i], "XDG_CACHE_HOME=", 15) != 0)
            env[k++] = environ[i];
    }
    env[k++] = cache;
    for (size_t i = 0; i < e; i++)
        env[k++] = (char *)extra[i];
    return env;
}

/* Runs `vkattn verify args...` with the extra environment entries; stdout and stderr through files. */
static run_output run_verify(const char *const *args, const char *const *extra_env)
{
    char *argv[MAX_ARGS + 3] = {(char *)VKATTN_CLI_PATH, (char *)"verify"};
    size_t argc = 2;
    for (size_t i = 0; args[i]; i++) {
        ck_assert(argc < MAX_ARGS);
        argv[argc++] = (char *)args[i];
    }
    char out_path[PATH_LEN], err_path[PATH_LEN];
    snprintf(out_path, sizeof out_path, "%s/verify_out_%ld", vkt_tmpdir(), (long)getpid());
    snprintf(err_path, sizeof err_path, "%s/verify_err_%ld", vkt_tmpdir(), (long)getpid());
    char **env = child_env(extra_env);
    int status = vkt_spawn(VKATTN_CLI_PATH, argv, env, out_path, err_path);
    free(env);
    return (run_output){status, slurp(out_path), slurp(err_path)};
}

static void run_output_free(run_output *r)
{
    free(r->out);
    free(r->err);
}

/* ---- reading the report ------------------------------------------------------------------------------------------ */

typedef struct case_counts {
    int cases, pass, fail;
    int per_op[sizeof all_ops / sizeof all_ops[0]];
} case_counts;

/* A case line: "<op> <variant> <shape> <dtype>  max E  mean E  tol T  PASS|FAIL[ (why)]". Checks its fields. */
static void count_case_line(const char *line, case_counts *c)
{
    double max_err, mean_err, tol;
    const char *at = strstr(line, "  max ");
    ck_assert_msg(at != NULL, "not a case line: %s", line);
    ck_assert_msg(sscanf(at, "  max %lf  mean %lf  tol %lf", &max_err, &mean_err, &tol) == 3, "bad line: %s", line);
    bool pass = strstr(line, "  PASS") != NULL, fail = strstr(line, "  FAIL") != NULL;
    ck_assert_msg(pass != fail, "neither PASS nor FAIL: %s", line);
    /* f32 1e-5 (softmax with ALiBi: plus 4 * 2^-24 * 15.75 for the largest bias at 64 keys), f16 1e-3. */
    ck_assert_msg((tol >= 1e-5 && tol <= 1.4e-5) || tol == 1e-3, "unexpected tolerance %g: %s", tol, line);
    ck_assert_msg(mean_err <= max_err, "mean above max: %s", line);
    ck_assert_msg(pass == (max_err <= tol), "verdict disagrees with the numbers: %s", line);
    c->cases++;
    c->pass += pass;
    c->fail += fail;
    for (size_t k = 0; k < sizeof all_ops / sizeof all_ops[0]; k++) {
        size_t len = strlen(all_ops[k]);
        c->per_op[k] += strncmp(line, all_ops[k], len) == 0 && line[len] == ' ';
    }
}

/* Counts the case lines of stdout and checks the summary line against them. */
static case_counts read_report(const char *out)
{
    case_counts c = {0};
    int summary_cases = -1, summary_pass = -1, summary_fail = -1;
    char *copy = strdup(out);
    ck_assert(copy != NULL);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "verify: ", 8) == 0)
            ck_assert(sscanf(line, "verify: %d cases, %d passed, %d failed", &summary_cases, &summary_pass,
                             &summary_fail) == 3);
        else if (strncmp(line, "device: ", 8) != 0 && strncmp(line, "reference: ", 11) != 0)
            count_case_line(line, &c);
    }
    free(copy);
    ck_assert_msg(summary_cases == c.cases && summary_pass == c.pass && summary_fail == c.fail,
                  "summary %d/%d/%d, lines %d/%d/%d", summary_cases, summary_pass, summary_fail, c.cases, c.pass,
                  c.fail);
    return c;
}

/* ---- tests ------------------------------------------------------------------------------------------------------- */

/*
 * Runs `vkattn verify --backend <backend of loop index i> --seed 7 [--only only]` (Vulkan with the validation
 * layer; with VKATTN_VERIFY_PERTURB=1 when perturb is set), checks the exit status and an empty stderr (validation
 * messages and warnings would land there) and returns the report's counts. False when the backend cannot run here:
 * vkt_context skips a disabled backend or a missing device (and fails under CI).
 */
static bool verify_on_backend(int i, const char *only, bool perturb, int want_status, case_counts *c)
{
    vkattn_backend b = vkt_backend(i);
    vkattn_context *ctx = vkt_context(b);
    if (!ctx)
        return false;
    vkt_context_destroy(ctx);
    bool vulkan = b == VKATTN_BACKEND_VULKAN;
    const char *env[3] = {NULL}, *args[7] = {"--backend", vulkan ? "vulkan" : "cpu", "--seed", "7", NULL};
    size_t n_env = 0;
    if (vulkan)
        env[n_env++] = "VKATTN_VALIDATION=1";
    if (perturb)
        env[n_env++] = "VKATTN_VERIFY_PERTURB=1";
    if (only) {
        args[4] = "--only";
        args[5] = only;
    }
    run_output r = run_verify(args, env);
    ck_assert_msg(r.status == want_status, "exit status %d (expected %d), stderr: %s\n%s", r.status, want_status,
                  r.err, r.out);
    ck_assert_msg(r.err[0] == '\0', "stderr is not empty: %s", r.err);
    *c = read_report(r.out);
    ck_assert_int_gt(c->cases, 0);
    run_output_free(&r);
    return true;
}

START_TEST(quick_sweep_passes)
{
    case_counts c;
    if (!verify_on_backend(_i, NULL, false, 0, &c))
        return;
    ck_assert_int_gt(c.cases, 40);
    ck_assert_int_eq(c.fail, 0);
    for (size_t k = 0; k < sizeof all_ops / sizeof all_ops[0]; k++)
        ck_assert_msg(c.per_op[k] > 0, "no case of %s", all_ops[k]);
}
END_TEST

START_TEST(only_filters_by_op)
{
    case_counts c;
    if (verify_on_backend(_i, "rope", false, 0, &c))
        ck_assert_int_eq(c.per_op[4], c.cases); /* all_ops[4] = "rope" */
}
END_TEST

/* The hidden perturbation (1e-2 (1 + |y|) on every finite device output) is 1000 times the f32 tolerance and 10
 * times the f16 one, so every case must fail, with status 1 and nothing on stderr (a failed check is no error). */
START_TEST(perturbed_output_fails)
{
    case_counts c;
    if (verify_on_backend(_i, "softmax", true, 1, &c))
        ck_assert_int_eq(c.fail, c.cases);
}
END_TEST

/* Each bad command line: exit 2, nothing on stdout, exactly one line "vkattn: error: ..." on stderr. */
static const char *const bad_args[][4] = {
    {"--bogus", NULL},          {"--seed", NULL},          {"--seed", "x", NULL},       {"--seed=-1", NULL},
    {"--seed", "4294967296", NULL}, {"--only", "conv", NULL}, {"--backend", "gpu", NULL}, {"extra", NULL},
    {"--full=1", NULL},         {"--only=", NULL},
};

START_TEST(bad_options_exit_2)
{
    static const char *const none[] = {NULL};
    run_output r = run_verify(bad_args[_i], none);
    ck_assert_msg(r.status == 2, "%s: exit status %d (expected 2)", bad_args[_i][0], r.status);
    ck_assert_msg(r.out[0] == '\0', "%s: stdout is not empty: %s", bad_args[_i][0], r.out);
    ck_assert_msg(strncmp(r.err, "vkattn: error: ", 15) == 0, "%s: stderr: %s", bad_args[_i][0], r.err);
    const char *nl = strchr(r.err, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "%s: stderr is not one line: %s", bad_args[_i][0], r.err);
    run_output_free(&r);
}
END_TEST

START_TEST(help_prints_tolerances)
{
    static const char *const none[] = {NULL};
    const char *args[] = {"--help", NULL};
    run_output r = run_verify(args, none);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "f32 1e-5") && strstr(r.out, "f16 1e-3"), "usage lacks the tolerances: %s", r.out);
    run_output_free(&r);
}
END_TEST

/* Made in the parent before Check forks the tests, so every run of the program shares one pipeline cache
 * (XDG_CACHE_HOME under it): lavapipe compiles the kernels once, not once per test. */
static void share_tmpdir(void)
{
    vkt_tmpdir();
}

static Suite *verify_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, share_tmpdir, NULL);
    tcase_add_loop_test(tc, quick_sweep_passes, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, only_filters_by_op, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, perturbed_output_fails, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, bad_options_exit_2, 0, (int)(sizeof bad_args / sizeof bad_args[0]));
    tcase_add_test(tc, help_prints_tolerances);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(verify_suite());
}
