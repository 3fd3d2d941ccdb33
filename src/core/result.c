/*
 * result.c - names and descriptions of the result codes, generated from VKATTN_RESULT_TABLE, and the version.
 */
#include "core/internal.h"

uint32_t vkattn_version(void)
{
    return VKATTN_VERSION;
}

const char *vkattn_result_str(vkattn_result r)
{
    switch (r) {
#define VKATTN__RESULT_STR(name, value, text) \
    case VKATTN_##name:                       \
        return text;
        VKATTN_RESULT_TABLE(VKATTN__RESULT_STR)
#undef VKATTN__RESULT_STR
    }
    return "unknown result";
}

const char *vkattn_result_name(vkattn_result r)
{
    switch (r) {
#define VKATTN__RESULT_NAME(name, value, text) \
    case VKATTN_##name:                        \
        return #name;
        VKATTN_RESULT_TABLE(VKATTN__RESULT_NAME)
#undef VKATTN__RESULT_NAME
    }
    return "UNKNOWN";
}
