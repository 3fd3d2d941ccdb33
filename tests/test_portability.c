/*
 * test_portability.c - the code paths for devices this machine does not have, run on made-up device lists: MoltenVK
 * (Apple GPUs through Metal: VK_KHR_portability_enumeration on the loader, VK_KHR_portability_subset on the device,
 * which must then be enabled), Android GPUs (Vulkan 1.1, no fp16 arithmetic extension below 1.2), a discrete GPU
 * beside lavapipe, a Vulkan 1.0 device. These are the pure functions the Vulkan backend calls with the lists the
 * loader returns (vk_instance.c, vk_device.c, vk_context.c), so what they decide here is what it does there.
 */
#include "common.h"

#include "vulkan/vk_internal.h"

#include <stdio.h>
#include <string.h>

static VkExtensionProperties ext(const char *name)
{
    VkExtensionProperties p;
    memset(&p, 0, sizeof p);
    snprintf(p.extensionName, sizeof p.extensionName, "%s", name);
    p.specVersion = 1;
    return p;
}

static bool listed(const char *const *list, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* The loader of a Mac with MoltenVK offers portability enumeration: the instance must ask for it, or MoltenVK's
 * devices are not listed at all. A loader without it (Linux, Android) gets neither extension nor flag. */
START_TEST(test_instance_portability_enumeration)
{
    const char *list[3];
    VkInstanceCreateFlags flags = 0xdead;
    uint32_t n = vkattn__vk_instance_extension_list(true, false, false, list, &flags);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0], "VK_KHR_portability_enumeration");
    ck_assert_uint_eq(flags, VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR);
    n = vkattn__vk_instance_extension_list(false, false, false, list, &flags);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(flags, 0);
    /* With validation: debug utils, and validation features only when the layer has them. */
    n = vkattn__vk_instance_extension_list(true, true, true, list, &flags);
    ck_assert_uint_eq(n, 3);
    ck_assert(listed(list, n, "VK_KHR_portability_enumeration") && listed(list, n, "VK_EXT_debug_utils") &&
              listed(list, n, "VK_EXT_validation_features"));
    n = vkattn__vk_instance_extension_list(false, true, false, list, &flags);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0], "VK_EXT_debug_utils");
    n = vkattn__vk_instance_extension_list(false, false, true, list, &flags); /* sync needs the layer */
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* MoltenVK's device offers VK_KHR_portability_subset (and must get it enabled); an Android GPU at 1.1 offers
 * VK_KHR_shader_float16_int8, enabled only when fp16 arithmetic is used. */
START_TEST(test_device_extensions)
{
    const VkExtensionProperties moltenvk[] = {ext("VK_KHR_portability_subset"), ext("VK_KHR_driver_properties"),
                                              ext("VK_KHR_shader_float16_int8"), ext("VK_KHR_16bit_storage")};
    vkattn__vk_device_extensions e;
    vkattn__vk_scan_device_extensions(moltenvk, 4, &e);
    ck_assert(e.portability_subset && e.driver_properties && e.float16_int8 && !e.cooperative_matrix_nv);

    const VkExtensionProperties nvidia[] = {ext("VK_NV_cooperative_matrix"), ext("VK_KHR_driver_properties")};
    vkattn__vk_scan_device_extensions(nvidia, 2, &e);
    ck_assert(!e.portability_subset && e.cooperative_matrix_nv && !e.float16_int8);
    vkattn__vk_scan_device_extensions(NULL, 0, &e);
    ck_assert(!e.portability_subset && !e.driver_properties && !e.float16_int8 && !e.cooperative_matrix_nv);

    vkattn__vk_facts f;
    memset(&f, 0, sizeof f);
    const char *list[2];
    f.ext_portability_subset = true;
    f.ext_float16_int8 = true;
    f.info.fp16_arithmetic = true;
    uint32_t n = vkattn__vk_device_extension_list(&f, list);
    ck_assert_uint_eq(n, 2);
    ck_assert(listed(list, n, "VK_KHR_portability_subset") && listed(list, n, "VK_KHR_shader_float16_int8"));
    f.info.fp16_arithmetic = false; /* the phone profile, or a device without shaderFloat16 */
    n = vkattn__vk_device_extension_list(&f, list);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0], "VK_KHR_portability_subset");
    f.ext_portability_subset = false;
    ck_assert_uint_eq(vkattn__vk_device_extension_list(&f, list), 0);
}
END_TEST

static vkattn__vk_facts fake(uint32_t index, const char *name, vkattn_device_type type, uint32_t api)
{
    vkattn__vk_facts f;
    memset(&f, 0, sizeof f);
    f.info.index = index;
    snprintf(f.info.name, sizeof f.info.name, "%s", name);
    f.info.type = type;
    f.info.api_version = api;
    f.api_version = api;
    f.has_queue = true;
    return f;
}

/* Device choice on made-up lists: the default order (discrete, integrated, virtual, CPU), selection by index and by
 * name, and the refusals (no device, a 1.0 device, no compute queue), each naming the devices there are. */
START_TEST(test_device_choice)
{
    vkattn_context *ctx = NULL;
    vkattn_context_desc d = {.backend = VKATTN_BACKEND_CPU};
    ck_assert_int_eq(vkattn_context_create(&d, &ctx), VKATTN_OK); /* only for its error messages */
    const vkattn__vk_facts *got = NULL;
    vkattn__vk_facts mac[2] = {fake(0, "llvmpipe (LLVM 15)", VKATTN_DEVICE_CPU, VK_API_VERSION_1_3),
                               fake(1, "Apple M2 Pro", VKATTN_DEVICE_INTEGRATED, VK_API_VERSION_1_2)};
    mac[1].ext_portability_subset = true;
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", mac, 2, NULL, &got), VKATTN_OK);
    ck_assert_str_eq(got->info.name, "Apple M2 Pro");
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", mac, 2, "0", &got), VKATTN_OK);
    ck_assert_str_eq(got->info.name, "llvmpipe (LLVM 15)");
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", mac, 2, "apple", &got), VKATTN_OK);
    ck_assert_uint_eq(got->info.index, 1);

    vkattn__vk_facts pc[3] = {fake(0, "Intel(R) UHD Graphics 770", VKATTN_DEVICE_INTEGRATED, VK_API_VERSION_1_3),
                              fake(1, "NVIDIA GeForce RTX 4090", VKATTN_DEVICE_DISCRETE, VK_API_VERSION_1_3),
                              fake(2, "Old GPU", VKATTN_DEVICE_DISCRETE, VK_API_VERSION_1_0)};
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 3, NULL, &got), VKATTN_OK);
    ck_assert_str_eq(got->info.name, "NVIDIA GeForce RTX 4090");
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 3, "2", &got), VKATTN_ERROR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "1.0"));
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "RTX 4090")); /* the list of devices */
    pc[1].has_queue = false;
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 3, "rtx", &got), VKATTN_ERROR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "compute queue"));
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 3, NULL, &got), VKATTN_OK); /* falls back to the usable one */
    ck_assert_str_eq(got->info.name, "Intel(R) UHD Graphics 770");
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 3, "Mali", &got), VKATTN_ERROR_NO_DEVICE);
    ck_assert_int_eq(vkattn__vk_choose(ctx, "t", pc, 0, NULL, &got), VKATTN_ERROR_NO_DEVICE);
    ck_assert_ptr_null(got);
    vkattn_context_destroy(ctx);
}
END_TEST

static Suite *portability_suite(void)
{
    Suite *s = suite_create("portability");
    TCase *tc = tcase_create("made-up devices");
    tcase_add_test(tc, test_instance_portability_enumeration);
    tcase_add_test(tc, test_device_extensions);
    tcase_add_test(tc, test_device_choice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(portability_suite());
}
