/*
 * cpu_info.c - the device info of the CPU backend: the host's CPU model and memory, read from /proc where it
 * exists (Linux), with plain fallbacks elsewhere.
 */
#include "cpu/cpu_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* The value of the first "key<blanks>: value" line of a /proc file, trimmed; false if the file or key is missing. */
static bool proc_field(const char *path, const char *key, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    size_t key_len = strlen(key);
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line + key_len;
        if (strncmp(line, key, key_len) != 0)
            continue;
        p += strspn(p, " \t");
        if (*p != ':')
            continue;
        p += 1 + strspn(p + 1, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        found = *p != '\0';
        if (found)
            snprintf(out, len, "%s", p);
    }
    fclose(f);
    return found;
}

void vkattn__cpu_device_info(vkattn_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->backend = VKATTN_BACKEND_CPU;
    info->profile = VKATTN_PROFILE_DEVICE;
    info->type = VKATTN_DEVICE_CPU;
    if (!proc_field("/proc/cpuinfo", "model name", info->name, sizeof info->name))
        snprintf(info->name, sizeof info->name, "CPU");
    snprintf(info->vendor, sizeof info->vendor, "CPU");
    snprintf(info->driver_name, sizeof info->driver_name, "vkattn CPU backend");
    snprintf(info->driver_info, sizeof info->driver_info, "float64 reference kernels");
    info->fp16_storage = true;
    info->unified_memory = true;
    info->timestamps = true;
    info->timestamp_period_ns = 1.0;
    info->max_storage_buffer_range = UINT64_MAX;
    info->min_storage_buffer_offset_alignment = 1;
    info->max_allocation_count = UINT64_MAX;
    char mem[64]; /* "MemTotal:  16318056 kB" */
    if (proc_field("/proc/meminfo", "MemTotal", mem, sizeof mem))
        info->device_local_bytes = strtoull(mem, NULL, 10) * 1024u;
}
