/*
 * error.c - the last-error message (per context, or per thread before a context exists) and logging.
 *
 * The last error is simply the message of the last failure: a successful call leaves it as it was.
 */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Failures of vkattn_context_create and vkattn_enumerate_devices have no context to keep their message. */
static _Thread_local char thread_error[VKATTN__ERROR_LEN];

static char *error_buffer(vkattn_context *ctx)
{
    return ctx ? ctx->last_error : thread_error;
}

vkattn_result vkattn__error(vkattn_context *ctx, vkattn_result r, const char *fmt, ...)
{
    char *buf = error_buffer(ctx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, VKATTN__ERROR_LEN, fmt, ap);
    va_end(ap);
    /* Logged as the very buffer text: context creation recognises its own errors in the log stream by it. */
    vkattn__log(ctx, VKATTN_LOG_ERROR, "%s", buf);
    return r;
}

void vkattn__clear_error(vkattn_context *ctx)
{
    error_buffer(ctx)[0] = '\0';
}

const char *vkattn_context_last_error(const vkattn_context *ctx)
{
    return ctx ? ctx->last_error : thread_error;
}

void vkattn__log(vkattn_context *ctx, vkattn_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vkattn__logv(ctx, level, fmt, ap);
    va_end(ap);
}

void vkattn__logv(vkattn_context *ctx, vkattn_log_level level, const char *fmt, va_list ap)
{
    if (!ctx || !ctx->desc.log || level > ctx->desc.log_level)
        return;
    char small[VKATTN__ERROR_LEN];
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    /* Validation-layer messages can be several KiB: format those again into a buffer of their size. */
    char *big = (len >= (int)sizeof small) ? malloc((size_t)len + 1) : NULL;
    if (big)
        vsnprintf(big, (size_t)len + 1, fmt, again);
    va_end(again);
    ctx->desc.log(ctx->desc.log_user, level, big ? big : small);
    free(big);
}
