/*
 * cmd_devices.c - `vkattn devices`: every Vulkan device with what vkattn reads from it, then the CPU backend.
 *
 * A machine without a Vulkan loader or device is a normal case here (the CPU backend still works), so it is
 * reported on stdout and the command succeeds.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEVICES_NO_DEFAULT UINT32_MAX
#define DEVICES_VENDOR_NVIDIA 0x10de

static const char *devices_type_name(vkattn_device_type type)
{
    switch (type) {
    case VKATTN_DEVICE_DISCRETE: return "discrete GPU";
    case VKATTN_DEVICE_INTEGRATED: return "integrated GPU";
    case VKATTN_DEVICE_VIRTUAL: return "virtual GPU";
    case VKATTN_DEVICE_CPU: return "CPU";
    case VKATTN_DEVICE_OTHER: break;
    }
    return "other";
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static void field(const char *key, const char *fmt, ...) CLI_PRINTF(2, 3);

/* One aligned "key: value" line of a device block. */
static void field(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %-27s ", key);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* Bytes with a binary-unit reading beside them: "134217728 (128.0 MiB)". UINT64_MAX is the CPU backend's "no
 * limit". */
static void field_bytes(const char *key, uint64_t bytes)
{
    if (bytes == UINT64_MAX) {
        field(key, "no limit");
        return;
    }
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    field(key, "%" PRIu64 " (%.1f %s)", bytes, v, units[u]);
}

/* A count limit; the CPU backend reports 0 or UINT64_MAX for "no limit". */
static void field_limit(const char *key, uint64_t value)
{
    if (value == 0 || value == UINT64_MAX)
        field(key, "no limit");
    else
        field(key, "%" PRIu64, value);
}

static void field_limit3(const char *key, const uint32_t v[3])
{
    if (v[0] == 0 && v[1] == 0 && v[2] == 0)
        field(key, "no limit");
    else
        field(key, "%u x %u x %u", v[0], v[1], v[2]);
}

/* Driver versions are vendor-encoded: NVIDIA packs 10.8.8.6 bits, the others follow VK_MAKE_API_VERSION. */
static void field_driver_version(uint32_t vendor_id, uint32_t v)
{
    if (vendor_id == DEVICES_VENDOR_NVIDIA)
        field("driver version:", "%u.%u.%u.%u (0x%08x)", v >> 22, (v >> 14) & 0xffu, (v >> 6) & 0xffu, v & 0x3fu, v);
    else
        field("driver version:", "%u.%u.%u (0x%08x)", (v >> 22) & 0x7fu, (v >> 12) & 0x3ffu, v & 0xfffu, v);
}

static void print_vulkan_fields(const vkattn_device_info *d)
{
    field("vendor:", "%s (vendor id 0x%04x, device id 0x%04x)", d->vendor, d->vendor_id, d->device_id);
    field("driver:", "%s", d->driver_name[0] ? d->driver_name : "unknown");
    field("driver info:", "%s", d->driver_info[0] ? d->driver_info : "unknown");
    field_driver_version(d->vendor_id, d->driver_version);
    field("API version:", "%u.%u.%u", (d->api_version >> 22) & 0x7fu, (d->api_version >> 12) & 0x3ffu,
          d->api_version & 0xfffu);
    if (d->subgroup_size)
        field("subgroup size:", "%u", d->subgroup_size);
    else
        field("subgroup size:", "unknown");
    field("subgroup arithmetic:", "%s", yes_no(d->subgroup_arithmetic));
    field("fp16 storage:", "%s", yes_no(d->fp16_storage));
    field("fp16 arithmetic:", "%s", yes_no(d->fp16_arithmetic));
    field("cooperative matrix (NV):", "%s", yes_no(d->cooperative_matrix_nv));
}

static void print_limits(const vkattn_device_info *d)
{
    field("unified memory:", "%s", yes_no(d->unified_memory));
    if (d->timestamps)
        field("timestamps:", "yes (%.3f ns per tick)", d->timestamp_period_ns);
    else
        field("timestamps:", "no");
    field_limit("max workgroup invocations:", d->max_workgroup_invocations);
    field_limit3("max workgroup size:", d->max_workgroup_size);
    field_limit3("max workgroup count:", d->max_workgroup_count);
    if (d->max_shared_memory)
        field_bytes("shared memory:", d->max_shared_memory);
    else
        field("shared memory:", "no limit");
    field_bytes("max storage buffer range:", d->max_storage_buffer_range);
    field_limit("max allocations:", d->max_allocation_count);
    if (d->max_allocation_size)
        field_bytes("max allocation size:", d->max_allocation_size);
    else
        field("max allocation size:", "unknown");
    field_bytes("device-local memory:", d->device_local_bytes);
}

static void print_vulkan_device(const vkattn_device_info *d, bool is_default)
{
    printf("\nVulkan device %u%s\n", d->index, is_default ? " (default)" : "");
    field("name:", "%s", d->name);
    field("type:", "%s", devices_type_name(d->type));
    print_vulkan_fields(d);
    print_limits(d);
}

/* The index of the device a Vulkan context picks with no selector (honouring VKATTN_DEVICE as contexts do), or
 * DEVICES_NO_DEFAULT when no Vulkan context can be made. */
static uint32_t default_device_index(void)
{
    vkattn_context_desc desc = cli_context_desc(VKATTN_BACKEND_VULKAN, NULL);
    vkattn_context *ctx = NULL;
    vkattn_device_info info;
    uint32_t index = DEVICES_NO_DEFAULT;
    if (vkattn_context_create(&desc, &ctx) == VKATTN_OK && vkattn_context_device_info(ctx, &info) == VKATTN_OK)
        index = info.index;
    vkattn_context_destroy(ctx);
    return index;
}

/* Lists the Vulkan devices; a missing loader, no device or a failing driver is reported, not an error. */
static void list_vulkan(void)
{
    uint32_t count = 0;
    vkattn_result r = vkattn_enumerate_devices(NULL, 0, &count);
    if (r != VKATTN_OK || count == 0) {
        const char *why = r == VKATTN_OK ? "no Vulkan device found" : vkattn_context_last_error(NULL);
        printf("Vulkan: not available: %s\n", why && why[0] ? why : vkattn_result_str(r));
        return;
    }
    vkattn_device_info *infos = calloc(count, sizeof *infos);
    if (!infos) {
        printf("Vulkan: %u devices (out of memory listing them)\n", count);
        return;
    }
    r = vkattn_enumerate_devices(infos, count, &count);
    if (r != VKATTN_OK) {
        printf("Vulkan: listing the devices failed: %s\n", vkattn_context_last_error(NULL));
        free(infos);
        return;
    }
    uint32_t default_index = default_device_index();
    printf("Vulkan: %u device%s\n", count, count == 1 ? "" : "s");
    for (uint32_t i = 0; i < count; i++)
        print_vulkan_device(&infos[i], infos[i].index == default_index);
    free(infos);
}

static int list_cpu(void)
{
    vkattn_context_desc desc = cli_context_desc(VKATTN_BACKEND_CPU, NULL);
    vkattn_context *ctx = NULL;
    vkattn_result r = vkattn_context_create(&desc, &ctx);
    if (r != VKATTN_OK)
        return cli_library_error(NULL, r);
    vkattn_device_info d;
    r = vkattn_context_device_info(ctx, &d);
    if (r != VKATTN_OK) {
        int status = cli_library_error(ctx, r);
        vkattn_context_destroy(ctx);
        return status;
    }
    printf("\nCPU backend\n");
    field("name:", "%s", d.name);
    field("type:", "%s", devices_type_name(d.type));
    print_limits(&d);
    vkattn_context_destroy(ctx);
    return CLI_EXIT_OK;
}

int cli_cmd_devices(int argc, char **argv)
{
    if (argc > 1)
        return cli_error("'devices' takes no arguments (got '%s')", argv[1]);
    list_vulkan();
    int status = list_cpu();
    if (fflush(stdout) != 0)
        return cli_error("cannot write the device list to stdout");
    return status;
}
