/*
 * common.c - helpers shared by the Check suites: contexts per backend with validation and a recording logger,
 * a private temporary directory, tensor transfers that fail the test on error, an independent binary16 conversion
 * and error metrics.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- backends ------------------------------------------------------------------------------------------------- */

vkattn_backend vkt_backend(int i)
{
    return i == 0 ? VKATTN_BACKEND_CPU : VKATTN_BACKEND_VULKAN;
}

const char *vkt_backend_name(vkattn_backend b)
{
    switch (b) {
    case VKATTN_BACKEND_CPU: return "cpu";
    case VKATTN_BACKEND_VULKAN: return "vulkan";
    case VKATTN_BACKEND_AUTO: return "auto";
    }
    return "?";
}

/* Whether the comma-separated list contains `word` as a whole entry (spaces around entries are ignored). */
static bool list_has(const char *list, const char *word)
{
    size_t word_len = strlen(word);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if ((size_t)(end - start) == word_len && strncmp(start, word, word_len) == 0)
            return true;
    }
    return false;
}

/* AUTO may end up on either backend, so it needs both. */
bool vkt_backend_enabled(vkattn_backend b)
{
    const char *list = getenv("VKATTN_TEST_BACKENDS");
    if (!list)
        return true;
    if (b == VKATTN_BACKEND_AUTO)
        return list_has(list, "cpu") && list_has(list, "vulkan");
    return list_has(list, vkt_backend_name(b));
}

bool vkt_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

/* ---- the recording logger -------------------------------------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_buf;
static size_t log_len;
static size_t log_cap;

static const char *level_name(vkattn_log_level level)
{
    switch (level) {
    case VKATTN_LOG_ERROR: return "ERROR";
    case VKATTN_LOG_WARN: return "WARN";
    case VKATTN_LOG_INFO: return "INFO";
    case VKATTN_LOG_DEBUG: return "DEBUG";
    case VKATTN_LOG_DEFAULT: break;
    }
    return "?";
}

/* Appends "LEVEL: msg\n"; a message that does not fit after a failed allocation is dropped. */
static void log_append(const char *level, const char *msg)
{
    size_t need = strlen(level) + 2 + strlen(msg) + 2;
    pthread_mutex_lock(&log_lock);
    if (log_len + need > log_cap) {
        size_t cap = (log_cap ? log_cap * 2 : 4096);
        while (cap < log_len + need)
            cap *= 2;
        char *grown = realloc(log_buf, cap);
        if (grown) {
            log_buf = grown;
            log_cap = cap;
        }
    }
    if (log_len + need <= log_cap)
        log_len += (size_t)snprintf(log_buf + log_len, need, "%s: %s\n", level, msg);
    pthread_mutex_unlock(&log_lock);
}

static void record_log(void *user, vkattn_log_level level, const char *msg)
{
    (void)user;
    log_append(level_name(level), msg);
}

const char *vkt_log_text(void)
{
    return log_buf ? log_buf : "";
}

void vkt_log_clear(void)
{
    pthread_mutex_lock(&log_lock);
    log_len = 0;
    if (log_buf)
        log_buf[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

/* ---- temporary directory ----------------------------------------------------------------------------------------- */

static char tmpdir_path[4096];
static pid_t tmpdir_owner;

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (dir) {
            struct dirent *e;
            while ((e = readdir(dir)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[4096];
                if ((size_t)snprintf(child, sizeof child, "%s/%s", path, e->d_name) < sizeof child)
                    remove_tree(child);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Forked test processes inherit the handler; only the process that made the directory removes it. */
static void remove_tmpdir(void)
{
    if (tmpdir_path[0] && getpid() == tmpdir_owner)
        remove_tree(tmpdir_path);
}

const char *vkt_tmpdir(void)
{
    if (tmpdir_path[0])
        return tmpdir_path;
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    int len = snprintf(tmpdir_path, sizeof tmpdir_path, "%s/vkattn-test-XXXXXX", base);
    ck_assert_msg(len > 0 && (size_t)len < sizeof tmpdir_path, "TMPDIR is too long: %s", base);
    ck_assert_msg(mkdtemp(tmpdir_path) != NULL, "mkdtemp(%s) failed: %s", tmpdir_path, strerror(errno));
    tmpdir_owner = getpid();
    atexit(remove_tmpdir);
    return tmpdir_path;
}

extern char **environ;

int vkt_spawn(const char *path, char *const *argv, char *const *envp, const char *out_path, const char *err_path)
{
    posix_spawn_file_actions_t fa;
    ck_assert(posix_spawn_file_actions_init(&fa) == 0);
    ck_assert(posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    ck_assert(posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "posix_spawn %s: %s", path, strerror(rc));
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* vkt_tmpdir()/cache, created on first use so no test touches the user's pipeline cache. */
static const char *test_cache_dir(void)
{
    static char path[4200];
    static pid_t made_by;
    if (path[0] && made_by == getpid())
        return path;
    snprintf(path, sizeof path, "%s/cache", vkt_tmpdir());
    ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir(%s) failed: %s", path, strerror(errno));
    made_by = getpid();
    return path;
}

/* ---- contexts ---------------------------------------------------------------------------------------------------- */

/* Vulkan failures that mean this machine cannot run the Vulkan cases (no loader, no device, no validation layer)
 * rather than a bug. */
static bool is_missing_vulkan(vkattn_result r)
{
    return r == VKATTN_ERROR_NO_VULKAN || r == VKATTN_ERROR_NO_DEVICE || r == VKATTN_ERROR_UNSUPPORTED;
}

/* A caller's own logger is kept (the test wants to see the messages); the validation check at destroy then rests
 * on stats.validation_messages alone. */
vkattn_context *vkt_context_desc(vkattn_backend b, const vkattn_context_desc *desc)
{
    if (!vkt_backend_enabled(b)) {
        fprintf(stderr, "skipped: backend %s is disabled by VKATTN_TEST_BACKENDS\n", vkt_backend_name(b));
        return NULL;
    }
    vkattn_context_desc d = {0};
    if (desc)
        d = *desc;
    d.backend = b;
    if (b != VKATTN_BACKEND_CPU)
        d.flags |= VKATTN_CONTEXT_VALIDATION;
    if (!d.log) {
        d.log = record_log;
        d.log_user = NULL;
    }
    if (!d.cache_dir)
        d.cache_dir = test_cache_dir();

    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    if (r == VKATTN_OK)
        return ctx;
    ck_assert_msg(ctx == NULL, "vkattn_context_create failed but set *out");
    const char *why = vkattn_context_last_error(NULL);
    if (b != VKATTN_BACKEND_CPU && is_missing_vulkan(r) && !vkt_in_ci()) {
        fprintf(stderr, "skipped: no usable Vulkan device or validation layer (%s: %s)\n", vkattn_result_name(r),
                why);
        return NULL;
    }
    ck_abort_msg("vkattn_context_create(%s) failed: %s: %s", vkt_backend_name(b), vkattn_result_name(r), why);
    return NULL;
}

vkattn_context *vkt_context_flags(vkattn_backend b, uint32_t extra_flags)
{
    vkattn_context_desc d = {0};
    d.flags = extra_flags;
    return vkt_context_desc(b, &d);
}

vkattn_context *vkt_context(vkattn_backend b)
{
    return vkt_context_flags(b, 0);
}

bool vkt_subgroup_kernels(vkattn_backend b, bool *skip)
{
    vkattn_context *probe = vkt_context(b);
    *skip = probe == NULL;
    if (!probe)
        return false;
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(probe, &info), VKATTN_OK);
    vkt_context_destroy(probe);
    uint32_t sg = info.subgroup_size;
    return b == VKATTN_BACKEND_VULKAN && info.subgroup_arithmetic && sg >= 4 && (sg & (sg - 1)) == 0;
}

/* The log is read after the destroy: the layer reports objects a context failed to free while it goes down. */
void vkt_context_destroy(vkattn_context *ctx)
{
    if (!ctx)
        return;
    vkattn_context_stats stats;
    vkattn_result r = vkattn_context_stats_get(ctx, &stats);
    vkattn_context_destroy(ctx);
    ck_assert_msg(r == VKATTN_OK, "vkattn_context_stats_get failed: %s", vkattn_result_name(r));
    const char *log = vkt_log_text();
    ck_assert_msg(stats.validation_messages == 0 && strstr(log, "validation:") == NULL,
                  "the validation layer reported %llu message(s); log:\n%s",
                  (unsigned long long)stats.validation_messages, log);
}

/* ---- tensors -------------------------------------------------------------------------------------------------- */

vkattn_tensor vkt_tensor(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape)
{
    ck_assert_msg(ndim >= 1 && ndim <= VKATTN_MAX_DIMS, "vkt_tensor: ndim %u", ndim);
    vkattn_tensor_desc d = {0};
    d.dtype = dtype;
    d.ndim = ndim;
    memcpy(d.shape, shape, ndim * sizeof shape[0]);
    vkattn_tensor t = {0};
    vkattn_result r = vkattn_tensor_create(ctx, &d, &t);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_create failed: %s: %s", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
    ck_assert_msg(t.id != 0, "vkattn_tensor_create returned the zero handle");
    return t;
}

static void write_bytes(vkattn_context *ctx, vkattn_tensor t, const void *src, size_t bytes)
{
    vkattn_result r = vkattn_tensor_write(ctx, t, src, bytes);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_write failed: %s: %s", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
}

static void read_bytes(vkattn_context *ctx, vkattn_tensor t, void *dst, size_t bytes)
{
    vkattn_result r = vkattn_tensor_read(ctx, t, dst, bytes);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_read failed: %s: %s", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
}

void vkt_write_f32(vkattn_context *ctx, vkattn_tensor t, const float *src, size_t n)
{
    write_bytes(ctx, t, src, n * sizeof(float));
}

void vkt_read_f32(vkattn_context *ctx, vkattn_tensor t, float *dst, size_t n)
{
    read_bytes(ctx, t, dst, n * sizeof(float));
}

static uint16_t *alloc_halves(size_t n)
{
    uint16_t *h = malloc((n ? n : 1) * sizeof *h);
    ck_assert_msg(h != NULL, "out of memory (%zu halves)", n);
    return h;
}

void vkt_write_f16_from_f32(vkattn_context *ctx, vkattn_tensor t, const float *src, size_t n)
{
    uint16_t *h = alloc_halves(n);
    for (size_t i = 0; i < n; i++)
        h[i] = vkt_float_to_half(src[i]);
    vkattn_result r = vkattn_tensor_write(ctx, t, h, n * sizeof *h);
    free(h);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_write (f16) failed: %s: %s", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
}

void vkt_read_f16_to_f32(vkattn_context *ctx, vkattn_tensor t, float *dst, size_t n)
{
    uint16_t *h = alloc_halves(n);
    vkattn_result r = vkattn_tensor_read(ctx, t, h, n * sizeof *h);
    if (r == VKATTN_OK) {
        for (size_t i = 0; i < n; i++)
            dst[i] = vkt_half_to_float(h[i]);
    }
    free(h);
    ck_assert_msg(r == VKATTN_OK, "vkattn_tensor_read (f16) failed: %s: %s", vkattn_result_name(r),
                  vkattn_context_last_error(ctx));
}

/* ---- binary16 ------------------------------------------------------------------------------------------------------
 * IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. Exponent 0 holds zero and the
 * subnormals, frac * 2^-24; exponent 31 holds inf (frac 0) and NaN. Normal values are (1 + frac/1024) * 2^(e-15).
 * Written here from the definition, in float64, independently of the library's bit-level conversion. */

float vkt_half_to_float(uint16_t h)
{
    double sign = (h & 0x8000u) ? -1.0 : 1.0;
    int e = (h >> 10) & 0x1f;
    int frac = h & 0x3ff;
    if (e == 0x1f)
        return frac ? NAN : (float)(sign * INFINITY);
    if (e == 0)
        return (float)(sign * ldexp(frac, -24));
    return (float)(sign * ldexp(1024 + frac, e - 25));
}

/* Round to nearest, ties to even, on the integer number of 2^-24 units (subnormal spacing) or of the value's own
 * spacing 2^(exp-10) for normals; a carry out of the fraction bumps the exponent, and 2^16 and above become inf. */
uint16_t vkt_float_to_half(float f)
{
    uint16_t sign = signbit(f) ? 0x8000u : 0;
    if (isnan(f))
        return (uint16_t)(sign | 0x7e00u);
    double a = fabs((double)f);
    if (isinf(f) || a >= 65520.0) /* 65520 = max half 65504 + half its spacing 32: rounds up to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a == 0.0)
        return sign;
    int exp;
    frexp(a, &exp); /* a = m * 2^exp with m in [0.5, 1): the leading bit is 2^(exp-1) */
    int lsb_exp = exp - 1 - 10;
    if (lsb_exp < -24)
        lsb_exp = -24;
    double units = nearbyint(ldexp(a, -lsb_exp)); /* default rounding mode: to nearest even */
    if (lsb_exp == -24 && units < 1024.0)
        return (uint16_t)(sign | (uint16_t)units); /* subnormal (or zero) */
    if (units >= 2048.0) { /* rounding carried into the next binade */
        units /= 2.0;
        lsb_exp += 1;
    }
    int biased = lsb_exp + 10 + 15;
    return (uint16_t)(sign | (uint16_t)(biased << 10) | ((uint16_t)units & 0x3ffu));
}

/* ---- data and metrics --------------------------------------------------------------------------------------- */

void vkt_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi)
{
    uint32_t s = seed ? seed : 0x9e3779b9u; /* xorshift32 needs a non-zero state */
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        double u = (double)(s >> 8) / 16777216.0; /* 24 bits: [0, 1) */
        float v = (float)((double)lo + ((double)hi - (double)lo) * u);
        x[i] = (v < hi) ? v : nextafterf(hi, lo);
    }
}

double vkt_max_rel_err(const float *got, const double *want, size_t n, double floor)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i];
        double w = want[i];
        double err;
        if (isnan(g) || isnan(w))
            err = (isnan(g) && isnan(w)) ? 0.0 : INFINITY;
        else if (g == w)
            err = 0.0; /* also equal infinities */
        else
            err = fabs(g - w) / fmax(fabs(w), floor);
        if (err > worst || isnan(err))
            worst = isnan(err) ? INFINITY : err;
    }
    return worst;
}

int vkt_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
