/*
 * cmd.c - command lists: the state machine recording -> (submit) -> pending -> (wait) -> complete -> (reset) ->
 * recording, storage references held by recorded ops, and the context's internal list for immediate ops.
 */
#include "core/core_private.h"

#include <stdlib.h>
#include <string.h>

/* Grows an array to hold at least `need` items (doubling); the new pointer, or NULL (the old one stays valid). */
static void *grow(void *items, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return items;
    uint32_t new_cap = *cap ? *cap : 8;
    while (new_cap < need) {
        if (new_cap > UINT32_MAX / 2)
            return NULL;
        new_cap *= 2;
    }
    void *grown = realloc(items, (size_t)new_cap * size);
    if (grown)
        *cap = new_cap;
    return grown;
}

static vkattn_result cmd_alloc(vkattn_context *ctx, uint32_t flags, const char *func, vkattn_cmd **out)
{
    vkattn_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    cmd->ctx = ctx;
    cmd->flags = flags;
    vkattn_result r = ctx->backend->cmd_create(ctx, cmd);
    if (r != VKATTN_OK) {
        free(cmd);
        return r;
    }
    cmd->next = ctx->cmds;
    if (ctx->cmds)
        ctx->cmds->prev = cmd;
    ctx->cmds = cmd;
    *out = cmd;
    return VKATTN_OK;
}

static void release_held(vkattn_cmd *cmd)
{
    for (uint32_t i = 0; i < cmd->held_count; i++)
        vkattn__storage_release(cmd->ctx, cmd->held[i]);
    cmd->held_count = 0;
}

vkattn_result vkattn_cmd_create(vkattn_context *ctx, const vkattn_cmd_desc *desc, vkattn_cmd **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    if (!out)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_create: out is NULL");
    uint32_t flags = desc ? desc->flags : 0;
    if (flags & ~(uint32_t)VKATTN_CMD_TIMESTAMPS)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_create: unknown flags 0x%x",
                             flags & ~(uint32_t)VKATTN_CMD_TIMESTAMPS);
    return cmd_alloc(ctx, flags, "vkattn_cmd_create", out);
}

void vkattn_cmd_destroy(vkattn_cmd *cmd)
{
    if (!cmd)
        return;
    vkattn_context *ctx = cmd->ctx;
    /* Nothing useful can be done if the wait fails (device lost): the list is freed all the same. */
    if (cmd->state == VKATTN__CMD_PENDING)
        ctx->backend->cmd_wait(ctx, cmd, UINT64_MAX);
    ctx->backend->cmd_destroy(ctx, cmd);
    release_held(cmd);
    if (cmd->prev)
        cmd->prev->next = cmd->next;
    else
        ctx->cmds = cmd->next;
    if (cmd->next)
        cmd->next->prev = cmd->prev;
    if (ctx->immediate == cmd)
        ctx->immediate = NULL;
    free(cmd->op_names);
    free(cmd->held);
    free(cmd);
}

static const char *state_name(vkattn__cmd_state state)
{
    switch (state) {
    case VKATTN__CMD_RECORDING: return "recording";
    case VKATTN__CMD_PENDING: return "pending (submitted, not waited for)";
    case VKATTN__CMD_COMPLETE: return "complete (not reset)";
    }
    return "?";
}

static vkattn_result bad_state(const vkattn_cmd *cmd, const char *func, const char *needed)
{
    return vkattn__error(cmd->ctx, VKATTN_ERROR_BAD_STATE, "%s: the command list is %s; this needs it %s", func,
                         state_name(cmd->state), needed);
}

static vkattn_result cmd_submit(vkattn_cmd *cmd, const char *func)
{
    if (cmd->state != VKATTN__CMD_RECORDING)
        return bad_state(cmd, func, "recording (reset it first)");
    vkattn_result r = cmd->ctx->backend->cmd_submit(cmd->ctx, cmd);
    if (r == VKATTN_OK)
        cmd->state = VKATTN__CMD_PENDING;
    return r;
}

/* Backend wait of a pending list; VKATTN_ERROR_TIMEOUT is returned without a message, for the caller to word. */
static vkattn_result cmd_wait(vkattn_cmd *cmd, uint64_t timeout_ns, const char *func)
{
    if (cmd->state == VKATTN__CMD_RECORDING)
        return bad_state(cmd, func, "submitted (it was never submitted since its last reset)");
    if (cmd->state == VKATTN__CMD_COMPLETE)
        return VKATTN_OK;
    vkattn_result r = cmd->ctx->backend->cmd_wait(cmd->ctx, cmd, timeout_ns);
    if (r == VKATTN_OK)
        cmd->state = VKATTN__CMD_COMPLETE;
    return r;
}

static vkattn_result cmd_reset(vkattn_cmd *cmd, const char *func)
{
    if (cmd->state == VKATTN__CMD_PENDING)
        return bad_state(cmd, func, "complete or recording (wait for it first)");
    vkattn_result r = cmd->ctx->backend->cmd_reset(cmd->ctx, cmd);
    if (r != VKATTN_OK)
        return r;
    release_held(cmd);
    cmd->op_count = 0;
    cmd->state = VKATTN__CMD_RECORDING;
    return VKATTN_OK;
}

vkattn_result vkattn_cmd_submit(vkattn_cmd *cmd)
{
    return cmd ? cmd_submit(cmd, "vkattn_cmd_submit") : VKATTN_ERROR_INVALID_ARGUMENT;
}

vkattn_result vkattn_cmd_wait(vkattn_cmd *cmd, uint64_t timeout_ns)
{
    if (!cmd)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn_result r = cmd_wait(cmd, timeout_ns, "vkattn_cmd_wait");
    if (r == VKATTN_ERROR_TIMEOUT)
        return vkattn__error(cmd->ctx, r,
                             "vkattn_cmd_wait: the list did not finish within %llu ns; it stays pending (wait again)",
                             (unsigned long long)timeout_ns);
    return r;
}

vkattn_result vkattn_cmd_reset(vkattn_cmd *cmd)
{
    return cmd ? cmd_reset(cmd, "vkattn_cmd_reset") : VKATTN_ERROR_INVALID_ARGUMENT;
}

uint32_t vkattn_cmd_op_count(const vkattn_cmd *cmd)
{
    return cmd ? cmd->op_count : 0;
}

static vkattn_result timings_check(const vkattn_cmd *cmd, const vkattn_op_timing *out, uint32_t capacity)
{
    static const char func[] = "vkattn_cmd_timings";
    vkattn_context *ctx = cmd->ctx;
    if (!out && capacity > 0)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: out is NULL with capacity %u", func, capacity);
    if (!(cmd->flags & VKATTN_CMD_TIMESTAMPS))
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED, "%s: the list was created without VKATTN_CMD_TIMESTAMPS",
                             func);
    if (!ctx->info.timestamps)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED, "%s: the device (%s) has no compute-queue timestamps",
                             func, ctx->info.name);
    if (cmd->state != VKATTN__CMD_COMPLETE)
        return vkattn__error(ctx, VKATTN_ERROR_NOT_READY, "%s: the command list is %s; timings need it complete",
                             func, state_name(cmd->state));
    return VKATTN_OK;
}

vkattn_result vkattn_cmd_timings(const vkattn_cmd *cmd, vkattn_op_timing *out, uint32_t capacity, uint32_t *count)
{
    if (count)
        *count = 0;
    if (!cmd)
        return VKATTN_ERROR_INVALID_ARGUMENT;
    vkattn_context *ctx = cmd->ctx;
    if (!count)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "vkattn_cmd_timings: count is NULL");
    vkattn_result r = timings_check(cmd, out, capacity);
    if (r != VKATTN_OK || cmd->op_count == 0)
        return r;
    double *ms = malloc(cmd->op_count * sizeof *ms);
    if (!ms)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "vkattn_cmd_timings: out of host memory");
    r = ctx->backend->cmd_timings(ctx, cmd, ms);
    for (uint32_t i = 0; r == VKATTN_OK && i < cmd->op_count && i < capacity; i++) {
        out[i].op = cmd->op_names[i];
        out[i].ms = ms[i];
    }
    free(ms);
    if (r == VKATTN_OK)
        *count = cmd->op_count;
    return r;
}

/* The distinct storages an op uses, into `out` (room for every input and output); returns how many. */
static uint32_t op_storages(const vkattn__op *op, vkattn__storage **out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < op->n_inputs + op->n_outputs; i++) {
        vkattn__storage *s = i < op->n_inputs ? op->inputs[i].storage : op->outputs[i - op->n_inputs].storage;
        uint32_t j = 0;
        while (j < n && out[j] != s)
            j++;
        if (j == n)
            out[n++] = s;
    }
    return n;
}

/* Records an op. Room is made first, so that nothing can fail after the backend has taken the op. */
static vkattn_result cmd_record(vkattn_cmd *cmd, const vkattn__op *op, const char *func)
{
    vkattn_context *ctx = cmd->ctx;
    if (cmd->state != VKATTN__CMD_RECORDING)
        return bad_state(cmd, func, "recording");
    vkattn__storage *used[VKATTN__OP_MAX_INPUTS + VKATTN__OP_MAX_OUTPUTS];
    uint32_t n_used = op_storages(op, used);
    const char **names = grow(cmd->op_names, &cmd->op_cap, cmd->op_count + 1, sizeof *names);
    if (names)
        cmd->op_names = names;
    vkattn__storage **held = grow(cmd->held, &cmd->held_cap, cmd->held_count + n_used, sizeof *held);
    if (held)
        cmd->held = held;
    if (!names || !held)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory recording the op", func);
    vkattn_result r = ctx->backend->cmd_record(ctx, cmd, op);
    if (r != VKATTN_OK)
        return r;
    cmd->op_names[cmd->op_count++] = op->name;
    for (uint32_t i = 0; i < n_used; i++) {
        vkattn__storage_retain(used[i]);
        cmd->held[cmd->held_count++] = used[i];
    }
    return VKATTN_OK;
}

/* Waits for the immediate list and resets it. A list left pending by an earlier timeout is waited for here, before
 * the next immediate op. */
static vkattn_result immediate_finish(vkattn_cmd *imm, const char *func)
{
    uint32_t timeout_ms = imm->ctx->desc.timeout_ms;
    vkattn_result r = cmd_wait(imm, (uint64_t)timeout_ms * 1000000u, func);
    if (r == VKATTN_ERROR_TIMEOUT)
        return vkattn__error(imm->ctx, r,
                             "%s: the op did not finish within %u ms (the context's timeout_ms); it stays pending "
                             "and the next immediate op on the context waits for it",
                             func, timeout_ms);
    return r != VKATTN_OK ? r : cmd_reset(imm, func);
}

static vkattn_result run_immediate(vkattn_context *ctx, const vkattn__op *op, const char *func)
{
    vkattn_result r = VKATTN_OK;
    if (!ctx->immediate)
        r = cmd_alloc(ctx, 0, func, &ctx->immediate);
    vkattn_cmd *imm = ctx->immediate;
    if (r == VKATTN_OK && imm->state != VKATTN__CMD_RECORDING)
        r = immediate_finish(imm, func);
    if (r == VKATTN_OK)
        r = cmd_record(imm, op, func);
    if (r == VKATTN_OK) {
        r = cmd_submit(imm, func);
        if (r != VKATTN_OK)
            cmd_reset(imm, func);
    }
    return r != VKATTN_OK ? r : immediate_finish(imm, func);
}

vkattn__op vkattn__op_make(vkattn__op_kind kind, const char *name, const vkattn__tensor *inputs, uint32_t n_inputs,
                           const vkattn__tensor *outputs, uint32_t n_outputs)
{
    vkattn__op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.name = name;
    op.n_inputs = n_inputs;
    op.n_outputs = n_outputs;
    memcpy(op.inputs, inputs, n_inputs * sizeof *inputs);
    memcpy(op.outputs, outputs, n_outputs * sizeof *outputs);
    return op;
}

vkattn_result vkattn__submit_op(vkattn_context *ctx, vkattn_cmd *cmd, const vkattn__op *op, const char *func)
{
    if (!cmd)
        return run_immediate(ctx, op, func);
    if (cmd->ctx != ctx)
        return vkattn__error(ctx, VKATTN_ERROR_INVALID_ARGUMENT, "%s: cmd belongs to another context", func);
    return cmd_record(cmd, op, func);
}
