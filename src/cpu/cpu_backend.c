/*
 * cpu_backend.c - the CPU backend: host memory, and command lists that keep a copy of each op and run them in
 * order at submit, so a submitted list is already finished and waits return at once. Each op spreads its rows over
 * the context's thread pool (cpu_pool.c), the only per-context state.
 */
#include "cpu/cpu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

typedef struct cpu_op {
    vkattn__op op;
    double ms; /* wall-clock time of the last run, with VKATTN_CMD_TIMESTAMPS */
} cpu_op;

typedef struct cpu_cmd {
    cpu_op *ops;
    uint32_t count;
    uint32_t cap;
} cpu_cmd;

/* ctx->impl is the context's pool. */
static void cpu_destroy(vkattn_context *ctx)
{
    vkattn__cpu_pool_destroy(ctx->impl);
    ctx->impl = NULL;
}

static vkattn_result cpu_wait_idle(vkattn_context *ctx, uint64_t timeout_ns)
{
    (void)ctx;
    (void)timeout_ns;
    return VKATTN_OK;
}

static vkattn_result cpu_buffer_create(vkattn_context *ctx, uint64_t bytes, void **out)
{
    *out = NULL;
    vkattn__cpu_buffer *buf = calloc(1, sizeof *buf);
    /* Zeroed memory: a tensor read before it is written gives zeros, not whatever the heap held. */
    unsigned char *data = (buf && bytes <= SIZE_MAX) ? calloc(1, (size_t)bytes) : NULL;
    if (!data) {
        free(buf);
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY,
                             "vkattn_tensor_create: out of host memory for %llu bytes", (unsigned long long)bytes);
    }
    buf->data = data;
    buf->bytes = bytes;
    ctx->stats.memory_blocks++;
    *out = buf;
    return VKATTN_OK;
}

static void cpu_buffer_destroy(vkattn_context *ctx, void *buf)
{
    vkattn__cpu_buffer *b = buf;
    free(b->data);
    free(b);
    ctx->stats.memory_blocks--;
}

/* The core only transfers inside a storage; a range outside the buffer is a bug, reported instead of followed. */
static unsigned char *buffer_range(vkattn_context *ctx, void *buf, uint64_t offset, uint64_t bytes)
{
    vkattn__cpu_buffer *b = buf;
    if (offset > b->bytes || bytes > b->bytes - offset) {
        vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "cpu backend: transfer of %llu bytes at %llu outside a %llu-byte "
                      "buffer", (unsigned long long)bytes, (unsigned long long)offset, (unsigned long long)b->bytes);
        return NULL;
    }
    return b->data + offset;
}

static vkattn_result cpu_buffer_write(vkattn_context *ctx, void *buf, uint64_t offset, const void *src,
                                      uint64_t bytes)
{
    unsigned char *dst = buffer_range(ctx, buf, offset, bytes);
    if (!dst)
        return VKATTN_ERROR_INTERNAL;
    memcpy(dst, src, (size_t)bytes);
    return VKATTN_OK;
}

static vkattn_result cpu_buffer_read(vkattn_context *ctx, void *buf, uint64_t offset, void *dst, uint64_t bytes)
{
    const unsigned char *src = buffer_range(ctx, buf, offset, bytes);
    if (!src)
        return VKATTN_ERROR_INTERNAL;
    memcpy(dst, src, (size_t)bytes);
    return VKATTN_OK;
}

static vkattn_result cpu_cmd_create(vkattn_context *ctx, vkattn_cmd *cmd)
{
    cmd->impl = calloc(1, sizeof(cpu_cmd));
    if (!cmd->impl)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_cmd_create: out of host memory");
    return VKATTN_OK;
}

static void cpu_cmd_destroy(vkattn_context *ctx, vkattn_cmd *cmd)
{
    (void)ctx;
    cpu_cmd *c = cmd->impl;
    free(c->ops);
    free(c);
    cmd->impl = NULL;
}

static vkattn_result cpu_cmd_record(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op)
{
    cpu_cmd *c = cmd->impl;
    if (c->count == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 8;
        cpu_op *ops = cap > c->cap ? realloc(c->ops, (size_t)cap * sizeof *ops) : NULL;
        if (!ops)
            return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_%s: out of host memory recording "
                                 "the op", op->name);
        c->ops = ops;
        c->cap = cap;
    }
    c->ops[c->count].op = *op;
    c->ops[c->count].ms = 0.0;
    c->count++;
    return VKATTN_OK;
}

static void run_op(vkattn__cpu_pool *pool, const vkattn__op *op)
{
    switch (op->kind) {
    case VKATTN__OP_COPY: vkattn__cpu_copy(pool, op); return;
    case VKATTN__OP_SOFTMAX: vkattn__cpu_softmax(pool, op); return;
    case VKATTN__OP_ROPE: vkattn__cpu_rope(pool, op); return;
    case VKATTN__OP_SINUSOIDAL: vkattn__cpu_sinusoidal(pool, op); return;
    case VKATTN__OP_ALIBI: vkattn__cpu_alibi(pool, op); return;
    case VKATTN__OP_MATMUL: vkattn__cpu_matmul(pool, op); return;
    case VKATTN__OP_ATTENTION: vkattn__cpu_attention(pool, op); return;
    case VKATTN__OP_COPY_BUFFER: vkattn__cpu_copy_buffer(pool, op); return;
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static vkattn_result cpu_cmd_submit(vkattn_context *ctx, vkattn_cmd *cmd)
{
    cpu_cmd *c = cmd->impl;
    bool timed = cmd->flags & VKATTN_CMD_TIMESTAMPS;
    for (uint32_t i = 0; i < c->count; i++) {
        double start = timed ? now_ms() : 0.0;
        run_op(ctx->impl, &c->ops[i].op);
        c->ops[i].ms = timed ? now_ms() - start : 0.0;
    }
    ctx->stats.submissions++;
    return VKATTN_OK;
}

static vkattn_result cpu_cmd_wait(vkattn_context *ctx, vkattn_cmd *cmd, uint64_t timeout_ns)
{
    (void)ctx;
    (void)cmd;
    (void)timeout_ns;
    return VKATTN_OK;
}

static vkattn_result cpu_cmd_reset(vkattn_context *ctx, vkattn_cmd *cmd)
{
    (void)ctx;
    ((cpu_cmd *)cmd->impl)->count = 0;
    return VKATTN_OK;
}

static vkattn_result cpu_cmd_timings(vkattn_context *ctx, const vkattn_cmd *cmd, double *ms)
{
    (void)ctx;
    const cpu_cmd *c = cmd->impl;
    for (uint32_t i = 0; i < c->count; i++)
        ms[i] = c->ops[i].ms;
    return VKATTN_OK;
}

static const vkattn__backend cpu_backend = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .wait_idle = cpu_wait_idle,
    .buffer_create = cpu_buffer_create,
    .buffer_destroy = cpu_buffer_destroy,
    .buffer_write = cpu_buffer_write,
    .buffer_read = cpu_buffer_read,
    .cmd_create = cpu_cmd_create,
    .cmd_destroy = cpu_cmd_destroy,
    .cmd_record = cpu_cmd_record,
    .cmd_submit = cpu_cmd_submit,
    .cmd_wait = cpu_cmd_wait,
    .cmd_reset = cpu_cmd_reset,
    .cmd_timings = cpu_cmd_timings,
};

/* Threads for the context's pool: VKATTN_CPU_THREADS (1..VKATTN__CPU_MAX_THREADS), else the online cores. */
static vkattn_result thread_count(vkattn_context *ctx, uint32_t *out)
{
    const char *env = vkattn__env(&ctx->desc, "VKATTN_CPU_THREADS");
    *out = vkattn__cpu_online_cores();
    if (!env)
        return VKATTN_OK;
    char *end;
    errno = 0;
    long n = strtol(env, &end, 10);
    if (errno || end == env || *end || n < 1 || n > VKATTN__CPU_MAX_THREADS)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_context_create: VKATTN_CPU_THREADS=\"%s\" "
                             "is not a thread count from 1 to %d", env, VKATTN__CPU_MAX_THREADS);
    *out = (uint32_t)n;
    return VKATTN_OK;
}

vkattn_result vkattn__cpu_init(vkattn_context *ctx)
{
    uint32_t threads;
    vkattn_result r = thread_count(ctx, &threads);
    if (r != VKATTN_OK)
        return r;
    vkattn__cpu_pool *pool = vkattn__cpu_pool_create(threads);
    if (!pool)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_context_create: out of host memory");
    ctx->backend = &cpu_backend;
    ctx->impl = pool;
    vkattn__cpu_device_info(&ctx->info);
    vkattn__log(ctx, VKATTN_LOG_INFO, "vkattn_context_create: CPU backend on %s, %u threads", ctx->info.name,
                threads);
    return VKATTN_OK;
}
