/*
 * test_threads.c - the threading rule of vkattn.h on every enabled backend: several threads each with a context of
 * their own, running RoPE, softmax, matmul and attention (command lists and immediate mode) at the same time; one
 * context shared by threads that hold a caller mutex around every call on it and its objects; and contexts created
 * and destroyed concurrently while each thread checks that vkattn_context_last_error(NULL) keeps its own message.
 * Every result is compared with a float64 reference the thread computes itself, from inputs seeded by thread and
 * iteration, so a result that leaked from another thread's work fails. scripts/tsan.sh runs this program under
 * ThreadSanitizer on the CPU backend.
 *
 * Check's assertions may only run on the test's main thread, so workers record their first failure in their own
 * struct and the main thread asserts after joining them.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N_THREADS 4
/* (c) runs more threads than cores so that creations really overlap. */
#define N_LIFECYCLE_THREADS 6
/* Outputs are O(1): errors are measured relative to max(|want|, 1), i.e. absolute for small values. f32 arithmetic
 * (lavapipe's exp and sums of a few products) stays near 1e-6; a race gives errors of order 1. */
#define TOL 1e-4
#define FLOOR 1.0

/* ---- problem sizes ------------------------------------------------------------------------------------------------
 * RoPE x: [1, ROPE_S, ROPE_H, ROPE_D]; softmax x: [1, SM_H, SM_Q, SM_K]; matmul a: [MM_B, MM_M, MM_K], b: [MM_B,
 * MM_K, MM_N]; attention q: [1, AT_Q, AT_H, AT_D], k and v: [1, AT_KV, AT_HKV, AT_D] (grouped-query). */
enum {
    ROPE_S = 8, ROPE_H = 2, ROPE_D = 16, ROPE_N = ROPE_S * ROPE_H * ROPE_D,
    SM_H = 2, SM_Q = 4, SM_K = 12, SM_N = SM_H * SM_Q * SM_K, SM_Q_OFFSET = 8,
    MM_B = 2, MM_M = 5, MM_K = 7, MM_N = 6,
    AT_Q = 6, AT_KV = 10, AT_H = 4, AT_HKV = 2, AT_D = 8, AT_Q_OFFSET = 4,
    AT_QN = AT_Q * AT_H * AT_D, AT_KVN = AT_KV * AT_HKV * AT_D,
};
#define SM_SCALE 0.5f
#define MM_SCALE 0.25f

/* ---- a worker and its failure record ----------------------------------------------------------------------------- */

typedef struct worker {
    int id;
    vkattn_backend backend;
    const char *cache_dir;
    int iterations;
    vkattn_context *ctx;
    /* (b): the caller-held lock around every call on the shared context; NULL when the context is the worker's. */
    pthread_mutex_t *lock;
    atomic_uint validation_messages;
    bool failed;
    char msg[1024];
} worker;

#if defined(__GNUC__) || defined(__clang__)
static bool worker_fail(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif

static bool worker_fail(worker *w, const char *fmt, ...)
{
    if (w->failed)
        return false;
    w->failed = true;
    int n = snprintf(w->msg, sizeof w->msg, "thread %d (%s): ", w->id, vkt_backend_name(w->backend));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg + n, sizeof w->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* Logger of the workers' contexts: a validation-layer message is a failure of the thread that caused it. */
static void worker_log(void *user, vkattn_log_level level, const char *msg)
{
    worker *w = user;
    (void)level;
    if (strncmp(msg, "validation: ", 12) == 0)
        atomic_fetch_add(&w->validation_messages, 1u);
}

static void lock(worker *w)
{
    if (w->lock)
        pthread_mutex_lock(w->lock);
}

static void unlock(worker *w)
{
    if (w->lock)
        pthread_mutex_unlock(w->lock);
}

/* Ends a call made under the worker's lock: records a failure with the context's message, which is read before the
 * lock is dropped because the next call of another thread replaces it. */
static bool call_done(worker *w, vkattn_result r, const char *what)
{
    if (r != VKATTN_OK)
        worker_fail(w, "%s: %s: %s", what, vkattn_result_name(r), vkattn_context_last_error(w->ctx));
    unlock(w);
    return r == VKATTN_OK;
}

/* Runs one library call on w->ctx under the worker's lock (the comma operator takes it before `expr` runs). */
#define CALL(w, what, expr) (lock(w), call_done((w), (expr), (what)))

static vkattn_context_desc worker_desc(worker *w)
{
    vkattn_context_desc d = {0};
    d.backend = w->backend;
    d.cache_dir = w->cache_dir;
    d.log = worker_log;
    d.log_user = w;
    if (w->backend == VKATTN_BACKEND_VULKAN)
        d.flags = VKATTN_CONTEXT_VALIDATION;
    return d;
}

static bool create_context(worker *w)
{
    vkattn_context_desc d = worker_desc(w);
    vkattn_result r = vkattn_context_create(&d, &w->ctx);
    if (r != VKATTN_OK)
        return worker_fail(w, "vkattn_context_create: %s: %s", vkattn_result_name(r), vkattn_context_last_error(NULL));
    return true;
}

static bool tensor(worker *w, uint32_t ndim, const int64_t *shape, vkattn_tensor *out)
{
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = ndim};
    memcpy(d.shape, shape, ndim * sizeof shape[0]);
    return CALL(w, "vkattn_tensor_create", vkattn_tensor_create(w->ctx, &d, out));
}

static bool write_f32(worker *w, vkattn_tensor t, const float *src, size_t n)
{
    return CALL(w, "vkattn_tensor_write", vkattn_tensor_write(w->ctx, t, src, n * sizeof *src));
}

static bool read_f32(worker *w, vkattn_tensor t, float *dst, size_t n)
{
    return CALL(w, "vkattn_tensor_read", vkattn_tensor_read(w->ctx, t, dst, n * sizeof *dst));
}

static bool check_close(worker *w, const char *what, int it, const float *got, const double *want, size_t n)
{
    double err = vkt_max_rel_err(got, want, n, FLOOR);
    if (!(err <= TOL))
        return worker_fail(w, "iteration %d: %s differs from the float64 reference (error %g, tolerance %g)", it,
                           what, err, TOL);
    return true;
}

/* ---- float64 references (formulas of vkattn.h) ------------------------------------------------------------------- */

/* NEOX pairs (i, i + D/2) rotated by p theta_i, theta_i = 10000^(-2i/D), p = pos_offset + s. */
static void ref_rope(const float *x, int pos_offset, double *y)
{
    for (int s = 0; s < ROPE_S; s++) {
        for (int h = 0; h < ROPE_H; h++) {
            const float *xr = x + (s * ROPE_H + h) * ROPE_D;
            double *yr = y + (s * ROPE_H + h) * ROPE_D;
            for (int i = 0; i < ROPE_D / 2; i++) {
                double angle = (double)(pos_offset + s) * pow(10000.0, -2.0 * i / ROPE_D);
                double a = xr[i], b = xr[i + ROPE_D / 2];
                yr[i] = a * cos(angle) - b * sin(angle);
                yr[i + ROPE_D / 2] = b * cos(angle) + a * sin(angle);
            }
        }
    }
}

/* Softmax of scale * x over each row of n, with the keys j > q_pos of row i (q_pos = q_offset + i mod q_len)
 * masked; the rows used here always keep key 0. */
static void ref_masked_softmax(const double *v, int rows, int q_len, int n, int q_offset, double *y)
{
    for (int r = 0; r < rows; r++) {
        int q_pos = q_offset + r % q_len;
        double m = -INFINITY, sum = 0.0;
        for (int j = 0; j < n && j <= q_pos; j++)
            m = fmax(m, v[r * n + j]);
        for (int j = 0; j < n; j++) {
            y[r * n + j] = j <= q_pos ? exp(v[r * n + j] - m) : 0.0;
            sum += y[r * n + j];
        }
        for (int j = 0; j < n; j++)
            y[r * n + j] /= sum;
    }
}

static void ref_softmax(const float *x, double *y)
{
    double v[SM_N];
    for (int i = 0; i < SM_N; i++)
        v[i] = (double)SM_SCALE * x[i];
    ref_masked_softmax(v, SM_H * SM_Q, SM_Q, SM_K, SM_Q_OFFSET, y);
}

static void ref_matmul(const float *a, const float *b, double *c)
{
    for (int bt = 0; bt < MM_B; bt++)
        for (int m = 0; m < MM_M; m++)
            for (int n = 0; n < MM_N; n++) {
                double sum = 0.0;
                for (int k = 0; k < MM_K; k++)
                    sum += (double)a[(bt * MM_M + m) * MM_K + k] * b[(bt * MM_K + k) * MM_N + n];
                c[(bt * MM_M + m) * MM_N + n] = (double)MM_SCALE * sum;
            }
}

/* softmax(Q K^T / sqrt(D), causal at q_offset) V; head h reads KV head h / (H / HKV). */
static void ref_attention(const float *q, const float *k, const float *v, double *out)
{
    for (int h = 0; h < AT_H; h++) {
        int kvh = h / (AT_H / AT_HKV);
        for (int i = 0; i < AT_Q; i++) {
            double s[AT_KV], p[AT_KV];
            for (int j = 0; j < AT_KV; j++) {
                double dot = 0.0;
                for (int d = 0; d < AT_D; d++)
                    dot += (double)q[(i * AT_H + h) * AT_D + d] * k[(j * AT_HKV + kvh) * AT_D + d];
                s[j] = dot / sqrt((double)AT_D);
            }
            ref_masked_softmax(s, 1, 1, AT_KV, AT_Q_OFFSET + i, p);
            for (int d = 0; d < AT_D; d++) {
                double acc = 0.0;
                for (int j = 0; j < AT_KV; j++)
                    acc += p[j] * v[(j * AT_HKV + kvh) * AT_D + d];
                out[(i * AT_H + h) * AT_D + d] = acc;
            }
        }
    }
}

/* ---- the work of one thread -------------------------------------------------------------------------------------- */

enum { ROPE_X, ROPE_Y, SM_X, SM_Y, MM_A, MM_BT, MM_C, AT_QT, AT_KT, AT_VT, AT_OUT, N_TENSORS };

typedef struct workload {
    vkattn_tensor t[N_TENSORS];
    vkattn_cmd *cmd;
    float rope_x[ROPE_N], sm_x[SM_N], mm_a[MM_B * MM_M * MM_K], mm_b[MM_B * MM_K * MM_N];
    float at_q[AT_QN], at_k[AT_KVN], at_v[AT_KVN];
} workload;

static bool create_tensors(worker *w, workload *wl)
{
    static const int64_t rope[] = {1, ROPE_S, ROPE_H, ROPE_D}, sm[] = {1, SM_H, SM_Q, SM_K};
    static const int64_t mm_a[] = {MM_B, MM_M, MM_K}, mm_b[] = {MM_B, MM_K, MM_N}, mm_c[] = {MM_B, MM_M, MM_N};
    static const int64_t at_q[] = {1, AT_Q, AT_H, AT_D}, at_kv[] = {1, AT_KV, AT_HKV, AT_D};
    return tensor(w, 4, rope, &wl->t[ROPE_X]) && tensor(w, 4, rope, &wl->t[ROPE_Y]) &&
           tensor(w, 4, sm, &wl->t[SM_X]) && tensor(w, 4, sm, &wl->t[SM_Y]) && tensor(w, 3, mm_a, &wl->t[MM_A]) &&
           tensor(w, 3, mm_b, &wl->t[MM_BT]) && tensor(w, 3, mm_c, &wl->t[MM_C]) &&
           tensor(w, 4, at_q, &wl->t[AT_QT]) && tensor(w, 4, at_kv, &wl->t[AT_KT]) &&
           tensor(w, 4, at_kv, &wl->t[AT_VT]) && tensor(w, 4, at_q, &wl->t[AT_OUT]);
}

/* Fresh inputs for each thread and iteration, so that a result computed from another thread's data is caught. */
static bool write_inputs(worker *w, workload *wl, int it)
{
    uint32_t seed = (uint32_t)(w->id * 7919 + it * 104729 + 1);
    vkt_fill_uniform(wl->rope_x, ROPE_N, seed, -1.0f, 1.0f);
    vkt_fill_uniform(wl->sm_x, SM_N, seed + 1, -4.0f, 4.0f);
    vkt_fill_uniform(wl->mm_a, sizeof wl->mm_a / sizeof wl->mm_a[0], seed + 2, -1.0f, 1.0f);
    vkt_fill_uniform(wl->mm_b, sizeof wl->mm_b / sizeof wl->mm_b[0], seed + 3, -1.0f, 1.0f);
    vkt_fill_uniform(wl->at_q, AT_QN, seed + 4, -1.0f, 1.0f);
    vkt_fill_uniform(wl->at_k, AT_KVN, seed + 5, -1.0f, 1.0f);
    vkt_fill_uniform(wl->at_v, AT_KVN, seed + 6, -1.0f, 1.0f);
    return write_f32(w, wl->t[ROPE_X], wl->rope_x, ROPE_N) && write_f32(w, wl->t[SM_X], wl->sm_x, SM_N) &&
           write_f32(w, wl->t[MM_A], wl->mm_a, sizeof wl->mm_a / sizeof wl->mm_a[0]) &&
           write_f32(w, wl->t[MM_BT], wl->mm_b, sizeof wl->mm_b / sizeof wl->mm_b[0]) &&
           write_f32(w, wl->t[AT_QT], wl->at_q, AT_QN) && write_f32(w, wl->t[AT_KT], wl->at_k, AT_KVN) &&
           write_f32(w, wl->t[AT_VT], wl->at_v, AT_KVN);
}

static int rope_offset(const worker *w, int it)
{
    return w->id * 1000 + it * 17;
}

/* The four ops, recorded into cmd (NULL: immediate). */
static bool run_ops(worker *w, workload *wl, vkattn_cmd *cmd, int it)
{
    vkattn_rope_desc rope = {.pos_offset = rope_offset(w, it)};
    vkattn_softmax_desc sm = {.scale = SM_SCALE, .causal = true, .q_offset = SM_Q_OFFSET};
    vkattn_matmul_desc mm = {.scale = MM_SCALE};
    vkattn_attention_desc at = {.causal = true, .q_offset = AT_Q_OFFSET};
    vkattn_context *ctx = w->ctx;
    const vkattn_tensor *t = wl->t;
    return CALL(w, "vkattn_rope", vkattn_rope(ctx, cmd, &rope, t[ROPE_X], (vkattn_tensor){0}, t[ROPE_Y])) &&
           CALL(w, "vkattn_softmax", vkattn_softmax(ctx, cmd, &sm, t[SM_X], t[SM_Y])) &&
           CALL(w, "vkattn_matmul", vkattn_matmul(ctx, cmd, &mm, t[MM_A], t[MM_BT], t[MM_C])) &&
           CALL(w, "vkattn_attention", vkattn_attention(ctx, cmd, &at, t[AT_QT], t[AT_KT], t[AT_VT], t[AT_OUT]));
}

static bool check_outputs(worker *w, workload *wl, int it)
{
    float got[AT_QN > ROPE_N ? AT_QN : ROPE_N];
    double want[sizeof got / sizeof got[0]];
    if (!read_f32(w, wl->t[ROPE_Y], got, ROPE_N))
        return false;
    ref_rope(wl->rope_x, rope_offset(w, it), want);
    if (!check_close(w, "rope", it, got, want, ROPE_N) || !read_f32(w, wl->t[SM_Y], got, SM_N))
        return false;
    ref_softmax(wl->sm_x, want);
    if (!check_close(w, "softmax", it, got, want, SM_N) || !read_f32(w, wl->t[MM_C], got, MM_B * MM_M * MM_N))
        return false;
    ref_matmul(wl->mm_a, wl->mm_b, want);
    if (!check_close(w, "matmul", it, got, want, MM_B * MM_M * MM_N) || !read_f32(w, wl->t[AT_OUT], got, AT_QN))
        return false;
    ref_attention(wl->at_q, wl->at_k, wl->at_v, want);
    return check_close(w, "attention", it, got, want, AT_QN);
}

/* Even iterations record the ops into the worker's command list (one submission), odd ones run them immediately. */
static bool iteration(worker *w, workload *wl, int it)
{
    if (!write_inputs(w, wl, it))
        return false;
    if (it % 2 == 0) {
        vkattn_cmd *cmd = wl->cmd;
        if (!run_ops(w, wl, cmd, it) || !CALL(w, "vkattn_cmd_submit", vkattn_cmd_submit(cmd)) ||
            !CALL(w, "vkattn_cmd_wait", vkattn_cmd_wait(cmd, UINT64_MAX)))
            return false;
        if (!check_outputs(w, wl, it))
            return false;
        return CALL(w, "vkattn_cmd_reset", vkattn_cmd_reset(cmd));
    }
    return run_ops(w, wl, NULL, it) && check_outputs(w, wl, it);
}

/* Runs the iterations on w->ctx, then destroys what it made (a tensor of its own per iteration too, so the handle
 * pool changes while other threads use theirs). */
static bool workload_run(worker *w)
{
    workload *wl = calloc(1, sizeof *wl);
    if (!wl)
        return worker_fail(w, "out of memory");
    bool ok = create_tensors(w, wl) && CALL(w, "vkattn_cmd_create", vkattn_cmd_create(w->ctx, NULL, &wl->cmd));
    for (int it = 0; ok && it < w->iterations; it++) {
        static const int64_t shape[] = {3, 5};
        vkattn_tensor extra = {0};
        ok = tensor(w, 2, shape, &extra) && iteration(w, wl, it);
        lock(w);
        vkattn_tensor_destroy(w->ctx, extra);
        unlock(w);
    }
    lock(w);
    vkattn_cmd_destroy(wl->cmd);
    for (int i = 0; i < N_TENSORS; i++)
        vkattn_tensor_destroy(w->ctx, wl->t[i]);
    unlock(w);
    free(wl);
    return ok;
}

/* ---- running workers --------------------------------------------------------------------------------------------- */

static const char *shared_cache_dir(void)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/threads-cache", vkt_tmpdir());
    mkdir(path, 0700);
    return path;
}

/* Whether the backend can run here: the caller returns when not (vkt_context prints why, and fails under CI when
 * Vulkan is missing). */
static bool backend_available(vkattn_backend b)
{
    vkattn_context *probe = vkt_context(b);
    if (!probe)
        return false;
    vkt_context_destroy(probe);
    return true;
}

static void init_workers(worker *w, int n, vkattn_backend b, int iterations)
{
    const char *cache = shared_cache_dir();
    for (int i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].backend = b;
        w[i].cache_dir = cache;
        w[i].iterations = iterations;
        atomic_init(&w[i].validation_messages, 0u);
    }
}

static void run_workers(worker *w, int n, void *(*fn)(void *))
{
    pthread_t threads[N_LIFECYCLE_THREADS];
    ck_assert_int_le(n, N_LIFECYCLE_THREADS);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, fn, &w[i]), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(!w[i].failed, "%s", w[i].msg);
        ck_assert_msg(atomic_load(&w[i].validation_messages) == 0,
                      "thread %d: the validation layer reported %u message(s)", i,
                      atomic_load(&w[i].validation_messages));
    }
}

/* Fewer iterations on Vulkan: every context builds its pipelines, which lavapipe compiles with LLVM. */
static int iterations_for(vkattn_backend b)
{
    return b == VKATTN_BACKEND_CPU ? 40 : 4;
}

/* ---- (a) one context per thread ---------------------------------------------------------------------------------- */

static void *own_context_thread(void *arg)
{
    worker *w = arg;
    if (create_context(w)) {
        workload_run(w);
        vkattn_context_destroy(w->ctx);
    }
    return NULL;
}

START_TEST(test_context_per_thread)
{
    vkattn_backend b = vkt_backend(_i);
    if (!backend_available(b))
        return;
    worker w[N_THREADS];
    init_workers(w, N_THREADS, b, iterations_for(b));
    run_workers(w, N_THREADS, own_context_thread);
}
END_TEST

/* ---- (b) one context shared under a caller-held mutex ------------------------------------------------------------ */

static void *shared_context_thread(void *arg)
{
    workload_run(arg);
    return NULL;
}

START_TEST(test_shared_context_with_lock)
{
    vkattn_backend b = vkt_backend(_i);
    vkattn_context *ctx = vkt_context(b);
    if (!ctx)
        return;
    pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER;
    worker w[N_THREADS];
    init_workers(w, N_THREADS, b, iterations_for(b));
    for (int i = 0; i < N_THREADS; i++) {
        w[i].ctx = ctx;
        w[i].lock = &lock_;
    }
    run_workers(w, N_THREADS, shared_context_thread);

    /* Every thread destroyed what it made: nothing is left alive on the shared context. */
    vkattn_context_stats stats;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &stats), VKATTN_OK);
    ck_assert_uint_eq(stats.tensors_alive, 0);
    vkt_context_destroy(ctx);
    pthread_mutex_destroy(&lock_);
}
END_TEST

/* ---- (c) concurrent creation and destruction, per-thread last error ---------------------------------------------- */

/* The thread's message must be the one its own last failure wrote, whatever the other threads did since. */
static bool expect_thread_error(worker *w, const char *want, const char *after)
{
    const char *got = vkattn_context_last_error(NULL);
    if (!strstr(got, want))
        return worker_fail(w, "after %s, vkattn_context_last_error(NULL) is \"%s\", expected it to contain \"%s\"",
                           after, got, want);
    return true;
}

/* A failing create (a backend value unique to this thread and round), then a good context that runs a small op and
 * is destroyed, then a failing vkattn_enumerate_devices with a capacity unique to the thread and round. */
static bool lifecycle_round(worker *w, int round)
{
    char want[128];
    vkattn_context_desc bad = worker_desc(w);
    bad.backend = (vkattn_backend)(100000 + w->id * 1000 + round);
    vkattn_context *ctx = (vkattn_context *)&bad; /* must be overwritten with NULL */
    vkattn_result r = vkattn_context_create(&bad, &ctx);
    if (r != VKATTN_ERROR_INVALID_ARGUMENT || ctx != NULL)
        return worker_fail(w, "round %d: create with backend %d gave %s (ctx %p)", round, (int)bad.backend,
                           vkattn_result_name(r), (void *)ctx);
    snprintf(want, sizeof want, "desc->backend is %d,", (int)bad.backend);
    if (!expect_thread_error(w, want, "a failed vkattn_context_create"))
        return false;

    if (!create_context(w))
        return false;
    /* A successful create leaves the thread's message as it was. */
    bool ok = expect_thread_error(w, want, "a successful vkattn_context_create");
    float x[SM_K], y[SM_K];
    double ref[SM_K];
    vkattn_tensor t = {0};
    static const int64_t shape[] = {SM_K};
    vkt_fill_uniform(x, SM_K, (uint32_t)(w->id * 31 + round + 1), -3.0f, 3.0f);
    ok = ok && tensor(w, 1, shape, &t) && write_f32(w, t, x, SM_K) &&
         CALL(w, "vkattn_softmax", vkattn_softmax(w->ctx, NULL, NULL, t, t)) && read_f32(w, t, y, SM_K);
    if (ok) {
        double v[SM_K];
        for (int i = 0; i < SM_K; i++)
            v[i] = x[i];
        ref_masked_softmax(v, 1, 1, SM_K, SM_K, ref);
        ok = check_close(w, "softmax", round, y, ref, SM_K);
    }
    vkattn_context_destroy(w->ctx);
    w->ctx = NULL;
    if (!ok)
        return false;

    uint32_t count = 12345, capacity = (uint32_t)(w->id * 1000 + round + 1);
    r = vkattn_enumerate_devices(NULL, capacity, &count);
    if (r != VKATTN_ERROR_INVALID_ARGUMENT || count != 0)
        return worker_fail(w, "round %d: vkattn_enumerate_devices(NULL, %u) gave %s, count %u", round, capacity,
                           vkattn_result_name(r), count);
    snprintf(want, sizeof want, "out is NULL with capacity %u", capacity);
    return expect_thread_error(w, want, "a failed vkattn_enumerate_devices");
}

static void *lifecycle_thread(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < w->iterations && lifecycle_round(w, round); round++)
        continue;
    return NULL;
}

START_TEST(test_concurrent_lifecycle)
{
    vkattn_backend b = vkt_backend(_i);
    if (!backend_available(b))
        return;
    worker w[N_LIFECYCLE_THREADS];
    init_workers(w, N_LIFECYCLE_THREADS, b, b == VKATTN_BACKEND_CPU ? 40 : 2);
    run_workers(w, N_LIFECYCLE_THREADS, lifecycle_thread);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_context_per_thread, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_shared_context_with_lock, 0, VKT_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_concurrent_lifecycle, 0, VKT_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return vkt_run_suite(s);
}
