/*
 * env.c - environment variables, which VKATTN_CONTEXT_IGNORE_ENV switches off.
 */
#include "core/internal.h"

#include <stdlib.h>

const char *vkattn__env(const vkattn_context_desc *desc, const char *name)
{
    if (desc && (desc->flags & VKATTN_CONTEXT_IGNORE_ENV))
        return NULL;
    const char *value = getenv(name);
    return (value && value[0]) ? value : NULL;
}
