/*
 * test_context.c - the context lifecycle, device queries and selection, the AUTO fallback to the CPU backend,
 * logging levels, teardown of what is still alive, and the result-code table.
 *
 * Cases that change the Vulkan loader's environment (no driver, no validation layer) run in a forked child, so the
 * loader sees the environment from its first use and the test process keeps its own.
 */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* VK_MAKE_API_VERSION(0, 1, 1, 0): variant in bits 29-31, major in 22-28, minor in 12-21, patch in 0-11. */
#define API_VERSION_1_1 ((1u << 22) | (1u << 12))
#define MESA_VENDOR_ID 0x10005u /* VK_VENDOR_ID_MESA */
#define NO_SUCH_DEVICE "no-such-device-3f9a"

/* ---- a logger that keeps what it receives ----------------------------------------------------------------------- */

typedef struct log_capture {
    unsigned count[VKATTN_LOG_DEBUG + 1]; /* messages per level */
    unsigned bad_level;                   /* messages with a level outside ERROR..DEBUG */
    char text[16384];
    size_t len;
} log_capture;

static void capture_log(void *user, vkattn_log_level level, const char *msg)
{
    log_capture *cap = user;
    if (level >= VKATTN_LOG_ERROR && level <= VKATTN_LOG_DEBUG)
        cap->count[level]++;
    else
        cap->bad_level++;
    if (cap->len < sizeof cap->text) {
        int n = snprintf(cap->text + cap->len, sizeof cap->text - cap->len, "[%d] %s\n", (int)level, msg);
        cap->len += n > 0 ? (size_t)n : 0;
        if (cap->len > sizeof cap->text)
            cap->len = sizeof cap->text;
    }
}

static unsigned count_above(const log_capture *cap, vkattn_log_level level)
{
    unsigned n = cap->bad_level;
    for (int l = (int)level + 1; l <= VKATTN_LOG_DEBUG; l++)
        n += cap->count[l];
    return n;
}

/* A desc for contexts made directly with vkattn_context_create (not through common.c): no on-disk cache, the
 * validation layer for anything that may use Vulkan, and the capture logger. */
static vkattn_context_desc capture_desc(vkattn_backend b, log_capture *cap, vkattn_log_level level)
{
    vkattn_context_desc d = {0};
    d.backend = b;
    d.flags = VKATTN_CONTEXT_NO_PIPELINE_CACHE | (b != VKATTN_BACKEND_CPU ? VKATTN_CONTEXT_VALIDATION : 0u);
    d.log = capture_log;
    d.log_user = cap;
    d.log_level = level;
    return d;
}

static void destroy_captured(vkattn_context *ctx, const log_capture *cap)
{
    vkattn_context_stats stats;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &stats), VKATTN_OK);
    vkattn_context_destroy(ctx);
    ck_assert_msg(stats.validation_messages == 0 && strstr(cap->text, "validation:") == NULL,
                  "validation messages: %llu; log:\n%s", (unsigned long long)stats.validation_messages, cap->text);
}

/* ---- helpers --------------------------------------------------------------------------------------------------- */

/* The Vulkan devices, or count 0 when the Vulkan backend is disabled or there is none (NULL list). */
static vkattn_device_info *list_devices(uint32_t *count)
{
    *count = 0;
    if (!vkt_backend_enabled(VKATTN_BACKEND_VULKAN))
        return NULL;
    uint32_t n = 0;
    vkattn_result r = vkattn_enumerate_devices(NULL, 0, &n);
    if (r != VKATTN_OK || n == 0)
        return NULL;
    vkattn_device_info *list = calloc(n, sizeof *list);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(vkattn_enumerate_devices(list, n, count), VKATTN_OK);
    ck_assert_uint_eq(*count, n);
    return list;
}

/* A Vulkan context through common.c (skips the test when there is no device outside CI), used as the gate of the
 * cases that need a device; the caller destroys it. */
static vkattn_context *vulkan_gate(void)
{
    return vkt_context(VKATTN_BACKEND_VULKAN);
}

static void get_info(vkattn_context *ctx, vkattn_device_info *info)
{
    ck_assert_int_eq(vkattn_context_device_info(ctx, info), VKATTN_OK);
}

static void get_stats(vkattn_context *ctx, vkattn_context_stats *stats)
{
    ck_assert_int_eq(vkattn_context_stats_get(ctx, stats), VKATTN_OK);
}

/* Whether `hay` contains `needle` ignoring ASCII case. */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

/* A copy of 4 values through a second tensor: the context does real work. */
static void small_copy_works(vkattn_context *ctx)
{
    const float src[4] = {1.0f, -2.5f, 3.25f, 1e-3f};
    float got[4] = {0};
    int64_t shape[1] = {4};
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    vkattn_tensor b = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    vkt_write_f32(ctx, a, src, 4);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, a, b), VKATTN_OK);
    vkt_read_f32(ctx, b, got, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(got[i], src[i]);
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, b);
}

/* Saved value of an environment variable, restored when the test is done with it. */
typedef struct saved_env {
    const char *name;
    char *value; /* NULL = was unset */
} saved_env;

static saved_env env_set(const char *name, const char *value)
{
    saved_env s = {name, NULL};
    const char *old = getenv(name);
    if (old) {
        s.value = strdup(old);
        ck_assert_ptr_nonnull(s.value);
    }
    if (value)
        ck_assert_int_eq(setenv(name, value, 1), 0);
    else
        ck_assert_int_eq(unsetenv(name), 0);
    return s;
}

static void env_restore(saved_env s)
{
    if (s.value)
        setenv(s.name, s.value, 1);
    else
        unsetenv(s.name);
    free(s.value);
}

/* ---- child processes ---------------------------------------------------------------------------------------------
 * A child reports a failed check by writing its message into a pipe and exiting with status 1; the parent turns
 * that into a test failure carrying the message. */

static int child_fd = -1;

#define CHILD_CHECK(cond, ...)                                                                                     \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            child_fail(__LINE__, __VA_ARGS__);                                                                     \
            return 1;                                                                                              \
        }                                                                                                          \
    } while (0)

#if defined(__GNUC__) || defined(__clang__)
#  define CHILD_PRINTF __attribute__((format(printf, 2, 3)))
#else
#  define CHILD_PRINTF
#endif

static void child_fail(int line, const char *fmt, ...) CHILD_PRINTF;

static void child_fail(int line, const char *fmt, ...)
{
    char msg[2048];
    int n = snprintf(msg, sizeof msg, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    ssize_t written = write(child_fd, msg, strlen(msg));
    (void)written;
}

typedef int (*child_fn)(void);

static void run_in_child(child_fn fn, const char *what)
{
    vkt_tmpdir(); /* made here, so that this process removes it and not the child, which ends with _exit */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        child_fd = fds[1];
        _exit(fn());
    }
    close(fds[1]);
    char msg[2048] = "";
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0)
        len += (size_t)n;
    msg[len] = '\0';
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s (child status 0x%x): %s", what, status, msg);
}

/* The loader finds no driver: it is installed, so Vulkan reports no device. */
static void hide_vulkan_drivers(void)
{
    setenv("VK_ICD_FILENAMES", "/nonexistent.json", 1);
    setenv("VK_DRIVER_FILES", "/nonexistent.json", 1);
    unsetenv("VK_ADD_DRIVER_FILES");
}

/* ---- lifecycle ----------------------------------------------------------------------------------------------------- */

/* NULL desc: AUTO with every default. The default cache directory is redirected into the test's own directory. */
static int child_null_desc(void)
{
    setenv("XDG_CACHE_HOME", vkt_tmpdir(), 1);
    unsetenv("VKATTN_DEVICE");
    if (!vkt_backend_enabled(VKATTN_BACKEND_VULKAN))
        hide_vulkan_drivers(); /* keep the Vulkan driver out of CPU-only (valgrind) runs */
    vkattn_context *ctx = (vkattn_context *)&ctx; /* any non-NULL value: create must overwrite it */
    vkattn_result r = vkattn_context_create(NULL, &ctx);
    CHILD_CHECK(r == VKATTN_OK, "create(NULL) = %s: %s", vkattn_result_name(r), vkattn_context_last_error(NULL));
    CHILD_CHECK(ctx != NULL, "no context");
    vkattn_backend b = vkattn_context_backend(ctx);
    CHILD_CHECK(b == VKATTN_BACKEND_CPU || b == VKATTN_BACKEND_VULKAN, "backend %d", (int)b);
    vkattn_context_destroy(ctx);
    return 0;
}

START_TEST(test_create_null_desc)
{
    run_in_child(child_null_desc, "vkattn_context_create(NULL, &ctx)");
}
END_TEST

START_TEST(test_create_each_backend)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *ctx = vkt_context(b);
    if (!ctx)
        return;
    ck_assert_int_eq(vkattn_context_backend(ctx), b);
    vkattn_device_info info;
    get_info(ctx, &info);
    ck_assert_int_eq(info.backend, b);
    ck_assert_str_eq(vkattn_context_last_error(ctx), "");
    small_copy_works(ctx);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_destroy_null)
{
    vkattn_context_destroy(NULL);
    vkt_context_destroy(NULL);
}
END_TEST

START_TEST(test_stats_start_at_zero)
{
    vkattn_context *ctx = vkt_context_flags(vkt_backend(_i), VKATTN_CONTEXT_NO_PIPELINE_CACHE);
    if (!ctx)
        return;
    vkattn_context_stats s;
    get_stats(ctx, &s);
    ck_assert_uint_eq(s.tensors_alive, 0);
    ck_assert_uint_eq(s.bytes_allocated, 0);
    ck_assert_uint_eq(s.memory_blocks, 0);
    ck_assert_uint_eq(s.pipelines_created, 0);
    ck_assert(!s.pipeline_cache_loaded);
    ck_assert(!s.pipeline_cache_rejected);
    ck_assert_uint_eq(s.submissions, 0);
    ck_assert_uint_eq(s.validation_messages, 0);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- device info ---------------------------------------------------------------------------------------------- */

static bool is_power_of_two(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static void check_cpu_info(const vkattn_device_info *info)
{
    ck_assert_int_eq(info->backend, VKATTN_BACKEND_CPU);
    ck_assert_int_eq(info->type, VKATTN_DEVICE_CPU);
    ck_assert_uint_eq(info->index, 0);
    ck_assert(info->unified_memory);
    ck_assert_msg(info->name[0] != '\0', "the CPU backend names no CPU model");
    ck_assert_uint_eq(info->max_workgroup_invocations, 0); /* "no workgroup limits: 0" */
    ck_assert_msg(info->timestamps, "the CPU backend times ops with the wall clock, so timings are available");
}

/* Against the minimum limits every Vulkan 1.1 device must meet (Vulkan spec, "Required Limits"). */
static void check_vulkan_limits(const vkattn_device_info *info)
{
    ck_assert_uint_ge(info->max_workgroup_invocations, 128);
    ck_assert_uint_ge(info->max_workgroup_size[0], 128);
    ck_assert_uint_ge(info->max_workgroup_size[1], 128);
    ck_assert_uint_ge(info->max_workgroup_size[2], 64);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_ge(info->max_workgroup_count[k], 65535);
    ck_assert_uint_ge(info->max_shared_memory, 16384);
    ck_assert_uint_ge(info->max_storage_buffer_range, 1u << 27);
    ck_assert(is_power_of_two(info->min_storage_buffer_offset_alignment));
    ck_assert_uint_le(info->min_storage_buffer_offset_alignment, 256);
    ck_assert_uint_ge(info->max_allocation_count, 4096);
    ck_assert_msg(info->max_allocation_size == 0 || info->max_allocation_size >= (1u << 30),
                  "maxMemoryAllocationSize %llu is below the Vulkan 1.1 minimum of 2^30",
                  (unsigned long long)info->max_allocation_size);
    ck_assert_uint_gt(info->device_local_bytes, 0);
}

static void check_vulkan_info(const vkattn_device_info *info)
{
    ck_assert_int_eq(info->backend, VKATTN_BACKEND_VULKAN);
    ck_assert_msg(info->name[0] != '\0', "empty device name");
    ck_assert_msg(info->vendor[0] != '\0', "empty vendor name");
    ck_assert_msg(info->api_version >= API_VERSION_1_1, "api_version 0x%x is below Vulkan 1.1", info->api_version);
    ck_assert_int_le(info->type, VKATTN_DEVICE_CPU);
    check_vulkan_limits(info);
    ck_assert_msg(info->subgroup_size == 0 || is_power_of_two(info->subgroup_size), "subgroup size %u",
                  info->subgroup_size);
    if (info->timestamps)
        ck_assert_msg(info->timestamp_period_ns > 0.0 && isfinite(info->timestamp_period_ns),
                      "timestamp period %g ns", info->timestamp_period_ns);
    if (contains_nocase(info->name, "llvmpipe")) {
        /* lavapipe: a CPU device with one host-visible device-local heap, subgroups of 4 to 16 lanes, timestamps */
        ck_assert_int_eq(info->type, VKATTN_DEVICE_CPU);
        ck_assert(info->unified_memory);
        ck_assert_uint_ge(info->subgroup_size, 1);
        ck_assert(info->timestamps);
        ck_assert_uint_eq(info->vendor_id, MESA_VENDOR_ID);
        ck_assert_str_eq(info->vendor, "Mesa");
    }
}

START_TEST(test_device_info)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *ctx = vkt_context(b);
    if (!ctx)
        return;
    vkattn_device_info info;
    get_info(ctx, &info);
    ck_assert_msg(memchr(info.name, '\0', sizeof info.name) && memchr(info.vendor, '\0', sizeof info.vendor) &&
                      memchr(info.driver_name, '\0', sizeof info.driver_name) &&
                      memchr(info.driver_info, '\0', sizeof info.driver_info),
                  "an unterminated string in vkattn_device_info");
    if (b == VKATTN_BACKEND_CPU)
        check_cpu_info(&info);
    else
        check_vulkan_info(&info);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- device enumeration and selection --------------------------------------------------------------------------- */

START_TEST(test_enumerate_devices)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    uint32_t count = 12345;
    ck_assert_int_eq(vkattn_enumerate_devices(NULL, 0, &count), VKATTN_OK);
    ck_assert_uint_ge(count, 1);

    /* One entry more than there are devices: the extra one must stay untouched. */
    vkattn_device_info *list = calloc(count + 1, sizeof *list);
    ck_assert_ptr_nonnull(list);
    memset(&list[count], 0xa5, sizeof list[count]);
    vkattn_device_info sentinel = list[count];
    uint32_t filled = 0;
    ck_assert_int_eq(vkattn_enumerate_devices(list, count + 1, &filled), VKATTN_OK);
    ck_assert_uint_eq(filled, count);
    ck_assert(memcmp(&list[count], &sentinel, sizeof sentinel) == 0);
    for (uint32_t i = 0; i < count; i++) {
        ck_assert_uint_eq(list[i].index, i);
        check_vulkan_info(&list[i]);
    }

    /* Capacity 1 with more devices still reports them all. */
    vkattn_device_info first;
    uint32_t total = 0;
    ck_assert_int_eq(vkattn_enumerate_devices(&first, 1, &total), VKATTN_OK);
    ck_assert_uint_eq(total, count);
    ck_assert_str_eq(first.name, list[0].name);
    free(list);
}
END_TEST

START_TEST(test_enumerate_bad_arguments)
{
    uint32_t count = 7;
    ck_assert_int_eq(vkattn_enumerate_devices(NULL, 0, NULL), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(NULL), "vkattn_enumerate_devices"));
    ck_assert_int_eq(vkattn_enumerate_devices(NULL, 3, &count), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(NULL), "vkattn_enumerate_devices"));
    ck_assert_uint_eq(count, 0);
}
END_TEST

static void assert_same_device(const vkattn_device_info *a, const vkattn_device_info *b)
{
    ck_assert_uint_eq(a->index, b->index);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_uint_eq(a->vendor_id, b->vendor_id);
    ck_assert_uint_eq(a->device_id, b->device_id);
    ck_assert_uint_eq(a->api_version, b->api_version);
    ck_assert_int_eq(a->type, b->type);
    ck_assert(memcmp(a->pipeline_cache_uuid, b->pipeline_cache_uuid, sizeof a->pipeline_cache_uuid) == 0);
    ck_assert_uint_eq(a->subgroup_size, b->subgroup_size);
    if (a->profile == VKATTN_PROFILE_PHONE) { /* the context's info is b below */
        const vkattn_device_info *t = a;
        a = b;
        b = t;
    }
    ck_assert_int_eq(a->profile, VKATTN_PROFILE_DEVICE);
    if (b->profile == VKATTN_PROFILE_PHONE) { /* VKATTN_PROFILE=phone: the context's limits are clamped */
        ck_assert_uint_eq(b->max_workgroup_invocations,
                          a->max_workgroup_invocations < 128 ? a->max_workgroup_invocations : 128);
        ck_assert(!b->subgroup_arithmetic && !b->fp16_arithmetic);
    } else {
        ck_assert_int_eq(b->profile, VKATTN_PROFILE_DEVICE);
        ck_assert_uint_eq(a->max_workgroup_invocations, b->max_workgroup_invocations);
    }
}

/* Creates a Vulkan (or AUTO) context for the selector; asserts success. */
static vkattn_context *select_device(vkattn_backend b, const char *device, log_capture *cap)
{
    vkattn_context_desc d = capture_desc(b, cap, VKATTN_LOG_WARN);
    d.device = device;
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    ck_assert_msg(r == VKATTN_OK, "device \"%s\": %s: %s", device, vkattn_result_name(r),
                  vkattn_context_last_error(NULL));
    return ctx;
}

START_TEST(test_enumeration_matches_contexts)
{
    uint32_t count;
    vkattn_device_info *list = list_devices(&count);
    if (!list) {
        vkt_context_destroy(vulkan_gate()); /* skips, or fails under CI */
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        char index[16];
        snprintf(index, sizeof index, "%u", i);
        log_capture cap = {0};
        vkattn_context *ctx = select_device(VKATTN_BACKEND_VULKAN, index, &cap);
        vkattn_device_info info;
        get_info(ctx, &info);
        assert_same_device(&info, &list[i]);
        destroy_captured(ctx, &cap);
    }
    free(list);
}
END_TEST

/* The device's name with its case flipped, cut to a middle part: a substring that matches only ignoring case. */
static void flipped_substring(const char *name, char *out, size_t cap)
{
    size_t len = strlen(name);
    size_t start = len > 6 ? 2 : 0;
    size_t n = len - start > 8 ? 8 : len - start;
    ck_assert_uint_lt(n, cap);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[start + i];
        out[i] = (char)(isupper(c) ? tolower(c) : toupper(c));
    }
    out[n] = '\0';
}

START_TEST(test_select_by_index_and_name)
{
    uint32_t count;
    vkattn_device_info *list = list_devices(&count);
    if (!list) {
        vkt_context_destroy(vulkan_gate());
        return;
    }
    log_capture cap = {0};
    vkattn_context *ctx = select_device(VKATTN_BACKEND_VULKAN, "0", &cap);
    vkattn_device_info info;
    get_info(ctx, &info);
    assert_same_device(&info, &list[0]);
    destroy_captured(ctx, &cap);

    char part[16];
    flipped_substring(list[count - 1].name, part, sizeof part);
    memset(&cap, 0, sizeof cap);
    ctx = select_device(VKATTN_BACKEND_VULKAN, part, &cap);
    get_info(ctx, &info);
    ck_assert_msg(contains_nocase(info.name, part), "selector \"%s\" chose \"%s\"", part, info.name);
    destroy_captured(ctx, &cap);

    for (uint32_t i = 0; i < count; i++) {
        if (!contains_nocase(list[i].name, "llvmpipe"))
            continue;
        memset(&cap, 0, sizeof cap);
        ctx = select_device(VKATTN_BACKEND_AUTO, "LLVMpipe", &cap);
        get_info(ctx, &info);
        ck_assert_int_eq(info.backend, VKATTN_BACKEND_VULKAN);
        ck_assert_msg(contains_nocase(info.name, "llvmpipe"), "\"LLVMpipe\" chose \"%s\"", info.name);
        destroy_captured(ctx, &cap);
        break;
    }
    free(list);
}
END_TEST

/* A selector that matches nothing is an error for AUTO too: an explicit choice never falls back silently. */
static void expect_no_device(vkattn_backend b, const char *device, uint32_t flags)
{
    log_capture cap = {0};
    vkattn_context_desc d = capture_desc(b, &cap, VKATTN_LOG_WARN);
    d.device = device;
    d.flags |= flags;
    vkattn_context *ctx = (vkattn_context *)&cap;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    ck_assert_msg(r == VKATTN_ERROR_NO_DEVICE, "backend %s, device \"%s\": %s", vkt_backend_name(b),
                  device ? device : "(env)", vkattn_result_name(r));
    ck_assert_ptr_null(ctx);
    const char *msg = vkattn_context_last_error(NULL);
    ck_assert_msg(strstr(msg, "vkattn_context_create") != NULL, "message: %s", msg);
    const char *selector = device ? device : getenv("VKATTN_DEVICE");
    ck_assert_msg(strstr(msg, selector) != NULL, "message does not name the selector \"%s\": %s", selector, msg);
    ck_assert_msg(strstr(cap.text, selector) != NULL, "the logger did not get the error: %s", cap.text);
}

START_TEST(test_select_no_match)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    uint32_t count;
    vkattn_device_info *list = list_devices(&count);
    char past_end[16];
    snprintf(past_end, sizeof past_end, "%u", count);
    expect_no_device(VKATTN_BACKEND_VULKAN, NO_SUCH_DEVICE, 0);
    expect_no_device(VKATTN_BACKEND_AUTO, NO_SUCH_DEVICE, 0);
    expect_no_device(VKATTN_BACKEND_VULKAN, past_end, 0);
    expect_no_device(VKATTN_BACKEND_AUTO, past_end, 0);
    free(list);
}
END_TEST

START_TEST(test_device_env)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    saved_env saved = env_set("VKATTN_DEVICE", NO_SUCH_DEVICE);
    expect_no_device(VKATTN_BACKEND_VULKAN, NULL, 0);
    expect_no_device(VKATTN_BACKEND_AUTO, NULL, 0);

    log_capture cap = {0};
    vkattn_context_desc d = capture_desc(VKATTN_BACKEND_VULKAN, &cap, VKATTN_LOG_WARN);
    d.flags |= VKATTN_CONTEXT_IGNORE_ENV;
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    ck_assert_msg(r == VKATTN_OK, "IGNORE_ENV still read VKATTN_DEVICE: %s", vkattn_context_last_error(NULL));
    destroy_captured(ctx, &cap);

    /* desc->device wins over the environment */
    memset(&cap, 0, sizeof cap);
    ctx = select_device(VKATTN_BACKEND_VULKAN, "0", &cap);
    destroy_captured(ctx, &cap);

    setenv("VKATTN_DEVICE", "0", 1);
    memset(&cap, 0, sizeof cap);
    ctx = select_device(VKATTN_BACKEND_VULKAN, NULL, &cap);
    vkattn_device_info info;
    get_info(ctx, &info);
    ck_assert_uint_eq(info.index, 0);
    destroy_captured(ctx, &cap);
    env_restore(saved);
}
END_TEST

/* VKATTN_VALIDATION=1 turns the layer on without the flag: creation works and the layer stays silent. */
START_TEST(test_validation_env)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    saved_env saved = env_set("VKATTN_VALIDATION", "1");
    for (int ignore = 0; ignore < 2; ignore++) {
        log_capture cap = {0};
        vkattn_context_desc d = capture_desc(VKATTN_BACKEND_VULKAN, &cap, VKATTN_LOG_DEBUG);
        d.flags = VKATTN_CONTEXT_NO_PIPELINE_CACHE | (ignore ? VKATTN_CONTEXT_IGNORE_ENV : 0u);
        vkattn_context *ctx = NULL;
        vkattn_result r = vkattn_context_create(&d, &ctx);
        ck_assert_msg(r == VKATTN_OK, "%s: %s", vkattn_result_name(r), vkattn_context_last_error(NULL));
        small_copy_works(ctx);
        ck_assert_uint_eq(cap.count[VKATTN_LOG_ERROR], 0);
        destroy_captured(ctx, &cap);
    }
    env_restore(saved);
}
END_TEST

START_TEST(test_auto_prefers_vulkan)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    vkattn_context *ctx = vkt_context(VKATTN_BACKEND_AUTO);
    if (!ctx)
        return;
    ck_assert_int_eq(vkattn_context_backend(ctx), VKATTN_BACKEND_VULKAN);
    vkt_context_destroy(ctx);
}
END_TEST

/* ---- no Vulkan driver: AUTO falls back to the CPU backend, VULKAN fails ---------------------------------------- */

static int child_auto_fallback(void)
{
    hide_vulkan_drivers();
    for (int level = VKATTN_LOG_ERROR; level <= VKATTN_LOG_DEBUG; level++) {
        log_capture cap = {0};
        vkattn_context_desc d = {0};
        d.backend = VKATTN_BACKEND_AUTO;
        d.flags = VKATTN_CONTEXT_NO_PIPELINE_CACHE;
        d.log = capture_log;
        d.log_user = &cap;
        d.log_level = (vkattn_log_level)level;
        vkattn_context *ctx = NULL;
        vkattn_result r = vkattn_context_create(&d, &ctx);
        CHILD_CHECK(r == VKATTN_OK, "AUTO without a driver: %s: %s", vkattn_result_name(r),
                    vkattn_context_last_error(NULL));
        CHILD_CHECK(vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU, "AUTO chose backend %d",
                    (int)vkattn_context_backend(ctx));
        CHILD_CHECK(cap.count[VKATTN_LOG_ERROR] == 0, "the fallback logged an error:\n%s", cap.text);
        CHILD_CHECK(count_above(&cap, (vkattn_log_level)level) == 0, "level %d got more verbose messages:\n%s", level,
                    cap.text);
        /* "logging why at INFO" */
        CHILD_CHECK(level < VKATTN_LOG_INFO || cap.count[VKATTN_LOG_INFO] >= 1, "no INFO message about the fallback");
        CHILD_CHECK(vkattn_context_last_error(ctx)[0] == '\0', "last error after a successful create: %s",
                    vkattn_context_last_error(ctx));
        vkattn_context_destroy(ctx);
    }
    return 0;
}

START_TEST(test_auto_falls_back_without_driver)
{
    if (!vkt_backend_enabled(VKATTN_BACKEND_CPU))
        return;
    run_in_child(child_auto_fallback, "AUTO with no Vulkan driver");
}
END_TEST

static int child_vulkan_without_driver(void)
{
    hide_vulkan_drivers();
    vkattn_context_desc d = {0};
    d.backend = VKATTN_BACKEND_VULKAN;
    d.flags = VKATTN_CONTEXT_NO_PIPELINE_CACHE;
    vkattn_context *ctx = (vkattn_context *)&d;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    const char *msg = vkattn_context_last_error(NULL);
    CHILD_CHECK(r == VKATTN_ERROR_NO_DEVICE, "VULKAN without a driver: %s (%s)", vkattn_result_name(r), msg);
    CHILD_CHECK(ctx == NULL, "out not set to NULL");
    CHILD_CHECK(strstr(msg, "vkattn_context_create") != NULL, "message: \"%s\"", msg);
    uint32_t count = 99;
    r = vkattn_enumerate_devices(NULL, 0, &count);
    CHILD_CHECK(r == VKATTN_OK && count == 0, "enumerate without a driver: %s, count %u (%s)",
                vkattn_result_name(r), count, vkattn_context_last_error(NULL));
    return 0;
}

START_TEST(test_vulkan_without_driver)
{
    if (!vkt_backend_enabled(VKATTN_BACKEND_VULKAN))
        return;
    run_in_child(child_vulkan_without_driver, "VULKAN with no Vulkan driver");
}
END_TEST

/* The layer search path points nowhere, so the validation layer is missing: UNSUPPORTED, and no silent fallback. */
static int child_validation_missing(void)
{
    setenv("VK_LAYER_PATH", "/nonexistent", 1);
    unsetenv("VK_ADD_LAYER_PATH");
    unsetenv("VK_INSTANCE_LAYERS");
    unsetenv("VK_LOADER_LAYERS_ENABLE");
    const vkattn_backend backends[2] = {VKATTN_BACKEND_VULKAN, VKATTN_BACKEND_AUTO};
    for (int i = 0; i < 2; i++) {
        vkattn_context_desc d = {0};
        d.backend = backends[i];
        d.flags = VKATTN_CONTEXT_VALIDATION | VKATTN_CONTEXT_NO_PIPELINE_CACHE;
        vkattn_context *ctx = (vkattn_context *)&d;
        vkattn_result r = vkattn_context_create(&d, &ctx);
        const char *msg = vkattn_context_last_error(NULL);
        CHILD_CHECK(r == VKATTN_ERROR_UNSUPPORTED, "%s without the layer: %s (%s)", vkt_backend_name(backends[i]),
                    vkattn_result_name(r), msg);
        CHILD_CHECK(ctx == NULL, "out not set to NULL");
        CHILD_CHECK(strstr(msg, "vkattn_context_create") && contains_nocase(msg, "validation"), "message: \"%s\"",
                    msg);
    }
    return 0;
}

START_TEST(test_validation_layer_missing)
{
    vkattn_context *gate = vulkan_gate();
    if (!gate)
        return;
    vkt_context_destroy(gate);
    run_in_child(child_validation_missing, "validation requested with no layer installed");
}
END_TEST

/* ---- logging ---------------------------------------------------------------------------------------------------- */

/* Runs some work at the given level and returns what the logger received. */
static void log_session(vkattn_backend b, vkattn_log_level level, log_capture *cap)
{
    memset(cap, 0, sizeof *cap);
    vkattn_context_desc d = capture_desc(b, cap, level);
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&d, &ctx);
    ck_assert_msg(r == VKATTN_OK, "%s: %s", vkattn_result_name(r), vkattn_context_last_error(NULL));
    small_copy_works(ctx);
    vkattn_tensor out = {7};
    ck_assert_int_eq(vkattn_tensor_create(ctx, NULL, &out), VKATTN_ERROR_INVALID_ARGUMENT);
    destroy_captured(ctx, cap);
}

START_TEST(test_log_levels)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *gate = vkt_context(b);
    if (!gate)
        return;
    vkt_context_destroy(gate);
    log_capture cap;
    for (int level = VKATTN_LOG_ERROR; level <= VKATTN_LOG_DEBUG; level++) {
        log_session(b, (vkattn_log_level)level, &cap);
        ck_assert_msg(count_above(&cap, (vkattn_log_level)level) == 0, "level %d delivered:\n%s", level, cap.text);
        ck_assert_uint_eq(cap.count[VKATTN_LOG_ERROR], 1); /* the NULL desc, and nothing else failed */
        ck_assert_msg(strstr(cap.text, "vkattn_tensor_create") != NULL, "log:\n%s", cap.text);
    }
    /* Level 0 means WARN. */
    log_session(b, VKATTN_LOG_DEFAULT, &cap);
    ck_assert_uint_eq(count_above(&cap, VKATTN_LOG_WARN), 0);
    ck_assert_uint_eq(cap.count[VKATTN_LOG_ERROR], 1);

    /* No logger: messages are dropped and nothing breaks. */
    vkattn_context_desc d = capture_desc(b, &cap, VKATTN_LOG_DEBUG);
    d.log = NULL;
    vkattn_context *ctx = NULL;
    ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_OK);
    vkattn_tensor out;
    ck_assert_int_eq(vkattn_tensor_create(ctx, NULL, &out), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "vkattn_tensor_create"));
    small_copy_works(ctx);
    vkattn_context_destroy(ctx);
}
END_TEST

/* ---- teardown, waiting, threads ------------------------------------------------------------------------------ */

/* Everything left alive (tensors, views of destroyed bases, lists recording, pending and complete) is freed by
 * the context; valgrind runs of the CPU backend check that nothing leaks. */
START_TEST(test_destroy_frees_live_objects)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    int64_t shape[2] = {8, 16};
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkattn_tensor b = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkattn_tensor h = vkt_tensor(ctx, VKATTN_F16, 2, shape);
    float data[128];
    vkt_fill_uniform(data, 128, 1, -1.0f, 1.0f);
    vkt_write_f32(ctx, a, data, 128);
    vkt_write_f32(ctx, b, data, 128);
    vkattn_tensor_desc vd = {.dtype = VKATTN_F32, .ndim = 1, .shape = {16}};
    vkattn_tensor view;
    ck_assert_int_eq(vkattn_tensor_view(ctx, a, &vd, 16, &view), VKATTN_OK);
    vkattn_tensor_destroy(ctx, a);

    vkattn_cmd *recording = NULL, *pending = NULL, *complete = NULL;
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &recording), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &pending), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &complete), VKATTN_OK);
    ck_assert_int_eq(vkattn_copy(ctx, recording, b, h), VKATTN_OK);
    ck_assert_int_eq(vkattn_softmax(ctx, pending, NULL, b, b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(pending), VKATTN_OK);
    ck_assert_int_eq(vkattn_copy(ctx, complete, h, b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(complete), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(complete, UINT64_MAX), VKATTN_OK);
    vkattn_tensor_destroy(ctx, b);
    vkt_context_destroy(ctx);
}
END_TEST

START_TEST(test_wait_idle)
{
    vkattn_context *ctx = vkt_context(vkt_backend(_i));
    if (!ctx)
        return;
    ck_assert_int_eq(vkattn_context_wait_idle(ctx, 0), VKATTN_OK); /* nothing submitted */
    enum { N = 1 << 18 };
    int64_t shape[2] = {N / 256, 256};
    float *src = malloc(N * sizeof *src), *got = malloc(N * sizeof *got);
    ck_assert(src && got);
    vkt_fill_uniform(src, N, 7, -100.0f, 100.0f);
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkattn_tensor b = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkt_write_f32(ctx, a, src, N);
    vkattn_cmd *cmd = NULL;
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_copy(ctx, cmd, a, b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_context_wait_idle(ctx, UINT64_MAX), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, 0), VKATTN_OK); /* idle, so a zero timeout is enough */
    vkt_read_f32(ctx, b, got, N);
    ck_assert(memcmp(got, src, N * sizeof *src) == 0);
    vkattn_cmd_destroy(cmd);
    free(src);
    free(got);
    vkt_context_destroy(ctx);
}
END_TEST

/* Different contexts may be used from different threads at once (vkattn.h, "Threads"). */
typedef struct thread_job {
    vkattn_backend backend;
    vkattn_context *ctx;
    uint32_t seed;
    unsigned mismatches;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    enum { N = 4096 };
    static const int64_t shape[2] = {16, 256};
    vkattn_tensor_desc td = {.dtype = VKATTN_F32, .ndim = 2, .shape = {shape[0], shape[1]}};
    float src[N], got[N];
    vkt_fill_uniform(src, N, job->seed, -1.0f, 1.0f);
    for (int round = 0; round < 20; round++) {
        vkattn_tensor a, b;
        bool ok = vkattn_tensor_create(job->ctx, &td, &a) == VKATTN_OK &&
                  vkattn_tensor_create(job->ctx, &td, &b) == VKATTN_OK &&
                  vkattn_tensor_write(job->ctx, a, src, sizeof src) == VKATTN_OK &&
                  vkattn_copy(job->ctx, NULL, a, b) == VKATTN_OK &&
                  vkattn_tensor_read(job->ctx, b, got, sizeof got) == VKATTN_OK;
        job->mismatches += !ok || memcmp(src, got, sizeof src) != 0;
        vkattn_tensor_destroy(job->ctx, a);
        vkattn_tensor_destroy(job->ctx, b);
    }
    return NULL;
}

START_TEST(test_contexts_in_threads)
{
    vkattn_backend b = vkt_backend(_i);
    thread_job jobs[3];
    pthread_t threads[3];
    for (int t = 0; t < 3; t++) {
        jobs[t] = (thread_job){.backend = b, .ctx = vkt_context(b), .seed = (uint32_t)t + 11u};
        if (!jobs[t].ctx)
            return;
    }
    for (int t = 0; t < 3; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
    for (int t = 0; t < 3; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    for (int t = 0; t < 3; t++) {
        ck_assert_uint_eq(jobs[t].mismatches, 0);
        vkt_context_destroy(jobs[t].ctx);
    }
}
END_TEST

/* ---- version and result codes ------------------------------------------------------------------------------------ */

START_TEST(test_version)
{
    ck_assert_uint_eq(vkattn_version(), VKATTN_VERSION);
    ck_assert_uint_eq(VKATTN_VERSION,
                      VKATTN_VERSION_MAJOR * 10000u + VKATTN_VERSION_MINOR * 100u + VKATTN_VERSION_PATCH);
}
END_TEST

typedef struct result_entry {
    vkattn_result code;
    const char *name;
    const char *text;
} result_entry;

#define RESULT_ENTRY(name, value, text) {VKATTN_##name, #name, text},
static const result_entry result_table[] = {VKATTN_RESULT_TABLE(RESULT_ENTRY)};
#undef RESULT_ENTRY
#define RESULT_COUNT (sizeof result_table / sizeof result_table[0])

START_TEST(test_result_strings)
{
    for (size_t i = 0; i < RESULT_COUNT; i++) {
        const result_entry *e = &result_table[i];
        const char *name = vkattn_result_name(e->code);
        const char *str = vkattn_result_str(e->code);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(str);
        ck_assert_str_eq(name, e->name);
        ck_assert_str_eq(str, e->text);
        ck_assert_msg(str[0] != '\0', "empty description for %s", e->name);
        ck_assert_msg(e->code == VKATTN_OK ? e->code == 0 : e->code < 0, "%s is %d", e->name, (int)e->code);
        for (size_t j = 0; j < i; j++) {
            ck_assert_int_ne(result_table[j].code, e->code);
            ck_assert_str_ne(vkattn_result_name(result_table[j].code), name);
            ck_assert_str_ne(vkattn_result_str(result_table[j].code), str);
        }
    }
    const vkattn_result unknown[3] = {(vkattn_result)1, (vkattn_result)-1000, (vkattn_result)12345};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(vkattn_result_name(unknown[i]), "UNKNOWN");
        ck_assert_str_eq(vkattn_result_str(unknown[i]), "unknown result");
    }
}
END_TEST

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* VKATTN_PROFILE_PHONE clamps every limit to min(device, phone) and drops the optional arithmetic; the same comes
 * from VKATTN_PROFILE=phone; a bad value in either place is refused; IGNORE_ENV and the CPU backend ignore it. */
START_TEST(test_phone_profile)
{
    if (!vkt_backend_enabled(VKATTN_BACKEND_VULKAN))
        return;
    vkattn_device_info dev[8];
    uint32_t count = 0;
    ck_assert_int_eq(vkattn_enumerate_devices(dev, 8, &count), VKATTN_OK);
    ck_assert_uint_ge(count, 1);
    log_capture cap = {0};
    for (int from_env = 0; from_env < 2; from_env++) {
        vkattn_context_desc d = capture_desc(VKATTN_BACKEND_VULKAN, &cap, VKATTN_LOG_WARN);
        d.device = "0";
        if (from_env)
            setenv("VKATTN_PROFILE", "phone", 1);
        else
            d.profile = VKATTN_PROFILE_PHONE;
        vkattn_context *ctx = NULL;
        ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_OK);
        unsetenv("VKATTN_PROFILE");
        vkattn_device_info got;
        ck_assert_int_eq(vkattn_context_device_info(ctx, &got), VKATTN_OK);
        const vkattn_device_info *w = &dev[0];
        ck_assert_int_eq(got.profile, VKATTN_PROFILE_PHONE);
        ck_assert_uint_eq(got.max_workgroup_invocations, min_u64(w->max_workgroup_invocations, 128));
        const uint32_t size[3] = {128, 128, 64};
        for (int k = 0; k < 3; k++) {
            ck_assert_uint_eq(got.max_workgroup_size[k], min_u64(w->max_workgroup_size[k], size[k]));
            ck_assert_uint_eq(got.max_workgroup_count[k], min_u64(w->max_workgroup_count[k], 65535));
        }
        ck_assert_uint_eq(got.max_shared_memory, min_u64(w->max_shared_memory, 16384));
        ck_assert_uint_eq(got.max_storage_buffer_range, min_u64(w->max_storage_buffer_range, 128u << 20));
        ck_assert_uint_eq(got.max_allocation_count, min_u64(w->max_allocation_count, 4096));
        ck_assert(!got.fp16_arithmetic && !got.subgroup_arithmetic && !got.cooperative_matrix_nv);
        ck_assert_int_eq(got.fp16_storage, w->fp16_storage); /* storage stays: f16 tensors keep working */
        /* Ops run under it: a softmax with the clamped workgroups. */
        const int64_t shape[2] = {3, 1000};
        float x[3000], y[3000];
        for (int i = 0; i < 3000; i++)
            x[i] = (float)(i % 1000) * 0.001f;
        vkattn_tensor tx = vkt_tensor(ctx, VKATTN_F32, 2, shape), ty = vkt_tensor(ctx, VKATTN_F32, 2, shape);
        vkt_write_f32(ctx, tx, x, 3000);
        ck_assert_int_eq(vkattn_softmax(ctx, NULL, NULL, tx, ty), VKATTN_OK);
        vkt_read_f32(ctx, ty, y, 3000);
        double sum = 0.0;
        for (int j = 0; j < 1000; j++)
            sum += exp(0.001 * j);
        for (int j = 0; j < 3000; j += 101)
            ck_assert_msg(fabs(y[j] - exp(x[j]) / sum) <= 1e-5 * exp(x[j]) / sum, "y[%d] = %g", j, (double)y[j]);
        vkattn_tensor_destroy(ctx, tx);
        vkattn_tensor_destroy(ctx, ty);
        destroy_captured(ctx, &cap);
    }
    /* Bad values. */
    vkattn_context_desc d = capture_desc(VKATTN_BACKEND_VULKAN, &cap, VKATTN_LOG_WARN);
    d.profile = (vkattn_profile)9;
    vkattn_context *ctx = (vkattn_context *)&cap;
    ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(NULL), "profile"));
    d.profile = VKATTN_PROFILE_DEFAULT;
    setenv("VKATTN_PROFILE", "tablet", 1);
    ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(NULL), "VKATTN_PROFILE"));
    /* IGNORE_ENV ignores it; the CPU backend reports the device profile. */
    d.flags |= VKATTN_CONTEXT_IGNORE_ENV;
    ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_OK);
    vkattn_device_info got;
    ck_assert_int_eq(vkattn_context_device_info(ctx, &got), VKATTN_OK);
    ck_assert_int_eq(got.profile, VKATTN_PROFILE_DEVICE);
    destroy_captured(ctx, &cap);
    setenv("VKATTN_PROFILE", "phone", 1);
    vkattn_context_desc cd = {.backend = VKATTN_BACKEND_CPU};
    ck_assert_int_eq(vkattn_context_create(&cd, &ctx), VKATTN_OK);
    unsetenv("VKATTN_PROFILE");
    ck_assert_int_eq(vkattn_context_device_info(ctx, &got), VKATTN_OK);
    ck_assert_int_eq(got.profile, VKATTN_PROFILE_DEVICE);
    vkattn_context_destroy(ctx);
}
END_TEST

static Suite *context_suite(void)
{
    Suite *s = suite_create("context");
    TCase *life = tcase_create("lifecycle");
    tcase_set_timeout(life, 120);
    tcase_add_test(life, test_create_null_desc);
    tcase_add_loop_test(life, test_create_each_backend, 0, VKT_BACKEND_COUNT);
    tcase_add_test(life, test_destroy_null);
    tcase_add_loop_test(life, test_stats_start_at_zero, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(life, test_device_info, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(life, test_destroy_frees_live_objects, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(life, test_wait_idle, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(life, test_contexts_in_threads, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, life);

    TCase *dev = tcase_create("devices");
    tcase_set_timeout(dev, 120);
    tcase_add_test(dev, test_enumerate_devices);
    tcase_add_test(dev, test_enumerate_bad_arguments);
    tcase_add_test(dev, test_enumeration_matches_contexts);
    tcase_add_test(dev, test_select_by_index_and_name);
    tcase_add_test(dev, test_select_no_match);
    tcase_add_test(dev, test_device_env);
    tcase_add_test(dev, test_validation_env);
    tcase_add_test(dev, test_auto_prefers_vulkan);
    tcase_add_test(dev, test_auto_falls_back_without_driver);
    tcase_add_test(dev, test_vulkan_without_driver);
    tcase_add_test(dev, test_validation_layer_missing);
    tcase_add_test(dev, test_phone_profile);
    suite_add_tcase(s, dev);

    TCase *misc = tcase_create("logging and results");
    tcase_set_timeout(misc, 120);
    tcase_add_loop_test(misc, test_log_levels, 0, VKT_BACKEND_COUNT);
    tcase_add_test(misc, test_version);
    tcase_add_test(misc, test_result_strings);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    return vkt_run_suite(context_suite());
}
