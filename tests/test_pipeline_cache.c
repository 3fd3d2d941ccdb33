/*
 * test_pipeline_cache.c - the Vulkan backend's on-disk pipeline cache and its lazy pipeline creation.
 *
 * The file is <cache_dir>/pipelines-<vendor_id %04x>-<device_id %04x>.bin, laid out field after field in host byte
 * order:
 *     offset  0  char     magic[8] = "VKATTNPC"
 *     offset  8  uint32   version = 1
 *     offset 12  uint32   vendor_id
 *     offset 16  uint32   device_id
 *     offset 20  uint8    pipeline_cache_uuid[16]
 *     offset 36  uint64   data size
 *     offset 44  uint64   FNV-1a-64 of the data
 *     offset 52           data: what vkGetPipelineCacheData returned
 * A missing, corrupt or foreign file must be ignored (and then replaced), never trusted or fatal. Every case runs
 * in its own directory under vkt_tmpdir(); the CPU backend has no pipelines, so the suite is Vulkan only.
 */
#include "common.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_VENDOR = 12,
    OFF_DEVICE = 16,
    OFF_UUID = 20,
    OFF_SIZE = 36,
    OFF_HASH = 44,
    HEADER_BYTES = 52,
    /* The data starts with Vulkan's own header (VkPipelineCacheHeaderVersionOne): length, version (1), vendor id,
     * device id, uuid: 32 bytes. */
    VK_HEADER_BYTES = 32,
};

#define PATH_LEN 1024

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

/* FNV-1a, 64-bit: offset basis 0xcbf29ce484222325, prime 0x100000001b3 (Fowler, Noll, Vo). */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* ---- files -------------------------------------------------------------------------------------------------------- */

/* A fresh directory for one case: <tmpdir>/<name>, created empty unless `create` is false. */
static void case_dir(const char *name, bool create, char *out)
{
    int n = snprintf(out, PATH_LEN, "%s/%s", vkt_tmpdir(), name);
    ck_assert(n > 0 && n < PATH_LEN);
    if (create) {
        ck_assert_msg(mkdir(out, 0700) == 0, "mkdir %s failed", out);
    }
}

static void cache_path(const char *dir, const vkattn_device_info *info, char *out)
{
    int n = snprintf(out, PATH_LEN, "%s/pipelines-%04x-%04x.bin", dir, info->vendor_id, info->device_id);
    ck_assert(n > 0 && n < PATH_LEN);
}

/* The whole file, or NULL when it cannot be opened. */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = xmalloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert(buf != NULL);
        }
    }
    ck_assert_msg(!ferror(f), "reading %s failed", path);
    fclose(f);
    *len = n;
    return buf;
}

static void write_all(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert(fwrite(data, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

/* Number of entries in a directory other than "." and "..". */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* Asserts the file is a complete, valid cache for this device. */
static void check_cache_file(const char *path, const vkattn_device_info *info)
{
    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    ck_assert_msg(f != NULL, "no cache file %s", path);
    ck_assert_msg(len >= HEADER_BYTES + VK_HEADER_BYTES, "%s has only %zu bytes", path, len);
    ck_assert_msg(memcmp(f + OFF_MAGIC, "VKATTNPC", 8) == 0, "%s: bad magic", path);
    ck_assert_uint_eq(get_u32(f + OFF_VERSION), 1);
    ck_assert_uint_eq(get_u32(f + OFF_VENDOR), info->vendor_id);
    ck_assert_uint_eq(get_u32(f + OFF_DEVICE), info->device_id);
    ck_assert_msg(memcmp(f + OFF_UUID, info->pipeline_cache_uuid, 16) == 0, "%s: uuid differs from the device's",
                  path);
    uint64_t size = get_u64(f + OFF_SIZE);
    ck_assert_msg(size == len - HEADER_BYTES, "%s: header says %llu data bytes, file has %zu", path,
                  (unsigned long long)size, len - HEADER_BYTES);
    const uint8_t *data = f + HEADER_BYTES;
    ck_assert_msg(get_u64(f + OFF_HASH) == fnv1a64(data, (size_t)size), "%s: data hash mismatch", path);
    ck_assert_uint_ge(get_u32(data), VK_HEADER_BYTES);
    ck_assert_uint_eq(get_u32(data + 4), 1); /* VK_PIPELINE_CACHE_HEADER_VERSION_ONE */
    ck_assert_uint_eq(get_u32(data + 8), info->vendor_id);
    ck_assert_uint_eq(get_u32(data + 12), info->device_id);
    ck_assert_msg(memcmp(data + 16, info->pipeline_cache_uuid, 16) == 0, "%s: Vulkan's own header has another uuid",
                  path);
    free(f);
}

/* ---- contexts ----------------------------------------------------------------------------------------------------- */

static vkattn_context *open_ctx(const char *dir, uint32_t flags)
{
    vkattn_context_desc desc = {.cache_dir = dir, .flags = flags};
    return vkt_context_desc(VKATTN_BACKEND_VULKAN, &desc);
}

static vkattn_context_stats stats(vkattn_context *ctx)
{
    vkattn_context_stats st;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &st), VKATTN_OK);
    return st;
}

static vkattn_device_info device_info(vkattn_context *ctx)
{
    vkattn_device_info info;
    ck_assert_int_eq(vkattn_context_device_info(ctx, &info), VKATTN_OK);
    return info;
}

static void expect_cache_state(vkattn_context *ctx, bool loaded, bool rejected)
{
    vkattn_context_stats st = stats(ctx);
    ck_assert_msg(st.pipeline_cache_loaded == loaded, "pipeline_cache_loaded is %d, want %d",
                  st.pipeline_cache_loaded, loaded);
    ck_assert_msg(st.pipeline_cache_rejected == rejected, "pipeline_cache_rejected is %d, want %d",
                  st.pipeline_cache_rejected, rejected);
}

/* Softmax of x_j = ln(j + 1) + r in each row r: the shift cancels and y_j = (j + 1) / (n (n + 1) / 2) exactly, a
 * hand value that needs no reference implementation. */
static void check_softmax_runs(vkattn_context *ctx, vkattn_dtype dtype, int64_t rows)
{
    enum { N = 64 };
    int64_t shape[2] = {rows, N};
    size_t count = (size_t)rows * N;
    float *x = xmalloc(count * sizeof(float));
    float *y = xmalloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)(log((double)(i % N + 1)) + (double)(i / N % 4));
    }
    vkattn_tensor tx = vkt_tensor(ctx, dtype, 2, shape);
    vkattn_tensor ty = vkt_tensor(ctx, dtype, 2, shape);
    if (dtype == VKATTN_F16) {
        vkt_write_f16_from_f32(ctx, tx, x, count);
    } else {
        vkt_write_f32(ctx, tx, x, count);
    }
    vkattn_result r = vkattn_softmax(ctx, NULL, NULL, tx, ty);
    ck_assert_msg(r == VKATTN_OK, "vkattn_softmax: %s (%s)", vkattn_result_name(r), vkattn_context_last_error(ctx));
    if (dtype == VKATTN_F16) {
        vkt_read_f16_to_f32(ctx, ty, y, count);
    } else {
        vkt_read_f32(ctx, ty, y, count);
    }
    /* f16: each input is off by up to 2^-11 |x| <= 3.5e-3 (|x| < 7.2), which moves y_j by up to twice that
     * relatively; the output's rounding adds 2^-11 */
    double tol = dtype == VKATTN_F16 ? 1e-2 : 1e-5;
    for (size_t i = 0; i < count; i++) {
        double want = (double)(i % N + 1) / (N * (N + 1) / 2.0);
        ck_assert_msg(fabs(y[i] - want) <= tol * want, "softmax element %zu: got %.9g, want %.9g", i, (double)y[i],
                      want);
    }
    vkattn_tensor_destroy(ctx, tx);
    vkattn_tensor_destroy(ctx, ty);
    free(x);
    free(y);
}

/* Runs a context on dir until it has written a valid cache file; returns the device it ran on. */
static bool seed_cache(const char *dir, vkattn_device_info *info, char *path)
{
    vkattn_context *ctx = open_ctx(dir, 0);
    if (!ctx) {
        return false;
    }
    *info = device_info(ctx);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    vkt_context_destroy(ctx);
    cache_path(dir, info, path);
    check_cache_file(path, info);
    return true;
}

/* ---- cases -------------------------------------------------------------------------------------------------------- */

/* Pipelines are built on first use, one per shader variant. */
START_TEST(test_lazy_pipelines)
{
    char dir[PATH_LEN];
    case_dir("lazy", true, dir);
    vkattn_context *ctx = open_ctx(dir, 0);
    if (!ctx) {
        return;
    }
    ck_assert_uint_eq(stats(ctx).pipelines_created, 0);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    ck_assert_uint_eq(stats(ctx).pipelines_created, 1);
    check_softmax_runs(ctx, VKATTN_F32, 9);
    ck_assert_uint_eq(stats(ctx).pipelines_created, 1);
    if (device_info(ctx).fp16_storage) {
        check_softmax_runs(ctx, VKATTN_F16, 4);
        ck_assert_uint_eq(stats(ctx).pipelines_created, 2);
    }
    vkt_context_destroy(ctx);
}
END_TEST

/* The first context writes the file at destroy; the second loads it. */
START_TEST(test_write_then_load)
{
    char dir[PATH_LEN], path[PATH_LEN];
    case_dir("write_then_load", true, dir);
    vkattn_context *ctx = open_ctx(dir, 0);
    if (!ctx) {
        return;
    }
    vkattn_device_info info = device_info(ctx);
    cache_path(dir, &info, path);
    expect_cache_state(ctx, false, false);
    ck_assert_uint_eq(stats(ctx).pipelines_created, 0);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    ck_assert_uint_ge(stats(ctx).pipelines_created, 1);
    vkt_context_destroy(ctx);
    check_cache_file(path, &info);
    ck_assert_int_eq(dir_entries(dir), 1);

    ctx = open_ctx(dir, 0);
    ck_assert_ptr_nonnull(ctx);
    expect_cache_state(ctx, true, false);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    vkt_context_destroy(ctx);
    check_cache_file(path, &info);
    ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

/* A cache_dir that does not exist yet is created. */
START_TEST(test_creates_dir)
{
    char dir[PATH_LEN], path[PATH_LEN];
    case_dir("not_there_yet", false, dir);
    vkattn_context *ctx = open_ctx(dir, 0);
    if (!ctx) {
        return;
    }
    vkattn_device_info info = device_info(ctx);
    expect_cache_state(ctx, false, false);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    vkt_context_destroy(ctx);
    cache_path(dir, &info, path);
    check_cache_file(path, &info);
}
END_TEST

/* Ways a file can be wrong: each is ignored (rejected, not loaded), the context works, and the file is rewritten. */
static void corrupt_random(uint8_t **f, size_t *len)
{
    enum { RANDOM_BYTES = 4096 };
    float r[RANDOM_BYTES];
    vkt_fill_uniform(r, RANDOM_BYTES, 4242u, 0.0f, 256.0f);
    *len = RANDOM_BYTES;
    *f = realloc(*f, *len);
    ck_assert(*f != NULL);
    for (size_t i = 0; i < *len; i++) {
        (*f)[i] = (uint8_t)r[i];
    }
}

static void corrupt_truncate_header(uint8_t **f, size_t *len)
{
    (void)f;
    *len = OFF_SIZE + 4;
}

static void corrupt_truncate_data(uint8_t **f, size_t *len)
{
    (void)f;
    *len = HEADER_BYTES + (*len - HEADER_BYTES) / 2;
}

static void corrupt_data_byte(uint8_t **f, size_t *len)
{
    (*f)[HEADER_BYTES + (*len - HEADER_BYTES) / 2] ^= 0x40;
}

static void corrupt_magic(uint8_t **f, size_t *len)
{
    (void)len;
    (*f)[OFF_MAGIC + 2] = 'X';
}

static void corrupt_version(uint8_t **f, size_t *len)
{
    (void)len;
    put_u32(*f + OFF_VERSION, 2);
}

static void corrupt_uuid(uint8_t **f, size_t *len)
{
    (void)len;
    (*f)[OFF_UUID + 7] ^= 0xff;
}

static void corrupt_vendor(uint8_t **f, size_t *len)
{
    (void)len;
    put_u32(*f + OFF_VENDOR, get_u32(*f + OFF_VENDOR) ^ 0x1u);
}

static void corrupt_device(uint8_t **f, size_t *len)
{
    (void)len;
    put_u32(*f + OFF_DEVICE, get_u32(*f + OFF_DEVICE) + 1u);
}

static const struct {
    const char *name;
    void (*apply)(uint8_t **f, size_t *len);
} corruptions[] = {
    {"random_bytes", corrupt_random},       {"truncated_header", corrupt_truncate_header},
    {"truncated_data", corrupt_truncate_data}, {"flipped_data_byte", corrupt_data_byte},
    {"bad_magic", corrupt_magic},           {"other_version", corrupt_version},
    {"other_uuid", corrupt_uuid},           {"other_vendor", corrupt_vendor},
    {"other_device", corrupt_device},
};

START_TEST(test_bad_file_rejected)
{
    char dir[PATH_LEN], path[PATH_LEN];
    case_dir(corruptions[_i].name, true, dir);
    vkattn_device_info info;
    if (!seed_cache(dir, &info, path)) {
        return;
    }
    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    ck_assert_ptr_nonnull(f);
    corruptions[_i].apply(&f, &len);
    write_all(path, f, len);
    free(f);

    vkattn_context *ctx = open_ctx(dir, 0);
    ck_assert_msg(ctx != NULL, "%s: context creation failed", corruptions[_i].name);
    expect_cache_state(ctx, false, true);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    vkt_context_destroy(ctx);
    check_cache_file(path, &info);
}
END_TEST

/* VKATTN_CONTEXT_NO_PIPELINE_CACHE: nothing is written, and an existing file is neither read nor changed. */
START_TEST(test_no_pipeline_cache_flag)
{
    char dir[PATH_LEN], seeded[PATH_LEN], path[PATH_LEN];
    case_dir("flag_off", true, dir);
    vkattn_context *ctx = open_ctx(dir, VKATTN_CONTEXT_NO_PIPELINE_CACHE);
    if (!ctx) {
        return;
    }
    expect_cache_state(ctx, false, false);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    vkt_context_destroy(ctx);
    ck_assert_int_eq(dir_entries(dir), 0);

    vkattn_device_info info;
    case_dir("flag_off_seeded", true, seeded);
    ck_assert(seed_cache(seeded, &info, path));
    size_t len0 = 0, len1 = 0;
    uint8_t *before = read_all(path, &len0);
    ctx = open_ctx(seeded, VKATTN_CONTEXT_NO_PIPELINE_CACHE);
    ck_assert_ptr_nonnull(ctx);
    expect_cache_state(ctx, false, false);
    check_softmax_runs(ctx, VKATTN_F32, 4);
    if (device_info(ctx).fp16_storage) {
        check_softmax_runs(ctx, VKATTN_F16, 4); /* a pipeline the seeded file lacks: no reason to rewrite it */
    }
    vkt_context_destroy(ctx);
    uint8_t *after = read_all(path, &len1);
    ck_assert_ptr_nonnull(after);
    ck_assert_msg(len0 == len1 && memcmp(before, after, len0) == 0, "the cache file changed");
    free(before);
    free(after);
}
END_TEST

/* A cache_dir that cannot be created (under a regular file), or that is a regular file: the context still works. */
START_TEST(test_unusable_dir)
{
    char file[PATH_LEN], dir[PATH_LEN];
    case_dir("regular_file", false, file);
    const uint8_t text[] = "not a directory\n";
    write_all(file, text, sizeof text - 1);
    int n = snprintf(dir, PATH_LEN, "%s/sub", file);
    ck_assert(n > 0 && n < PATH_LEN);
    const char *dirs[] = {dir, file};
    for (size_t i = 0; i < 2; i++) {
        vkattn_context *ctx = open_ctx(dirs[i], 0);
        if (!ctx) {
            return;
        }
        expect_cache_state(ctx, false, false);
        check_softmax_runs(ctx, VKATTN_F32, 4);
        vkt_context_destroy(ctx);
    }
    size_t len = 0;
    uint8_t *f = read_all(file, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_msg(len == sizeof text - 1 && memcmp(f, text, len) == 0, "the regular file was changed");
    free(f);
}
END_TEST

static Suite *pipeline_cache_suite(void)
{
    Suite *s = suite_create("pipeline_cache");
    TCase *tc = tcase_create("pipeline_cache");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_lazy_pipelines);
    tcase_add_test(tc, test_write_then_load);
    tcase_add_test(tc, test_creates_dir);
    tcase_add_loop_test(tc, test_bad_file_rejected, 0, (int)(sizeof(corruptions) / sizeof(corruptions[0])));
    tcase_add_test(tc, test_no_pipeline_cache_flag);
    tcase_add_test(tc, test_unusable_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(pipeline_cache_suite());
}
