/*
 * test_robust.c - long command lists cut into command buffers, and a lost device.
 *
 * A lost device cannot be provoked on purpose on lavapipe, so VKATTN_TEST_DEVICE_LOST_AFTER=n makes the n-th queue
 * submission answer VK_ERROR_DEVICE_LOST as a driver does after a GPU reset; everything after must fail with
 * VKATTN_ERROR_DEVICE_LOST and say that the context must be created again, and destroying it must still work.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t command_buffers(vkattn_context *ctx)
{
    vkattn_context_stats st;
    ck_assert_int_eq(vkattn_context_stats_get(ctx, &st), VKATTN_OK);
    return st.command_buffers;
}

/* 200 ops in one list, 199 copies a -> b -> a ... and a softmax of b into a: the result is right only if every op
 * ran in order across the command buffers the list is cut into (64 ops each). */
START_TEST(test_long_list_segments)
{
    vkattn_context *ctx = vkt_context(VKATTN_BACKEND_VULKAN);
    if (!ctx)
        return;
    const int64_t shape[2] = {4, 256};
    float x[1024];
    for (int i = 0; i < 1024; i++)
        x[i] = (float)(i % 256) * 0.01f;
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 2, shape), b = vkt_tensor(ctx, VKATTN_F32, 2, shape);
    vkt_write_f32(ctx, a, x, 1024);
    vkattn_cmd *cmd = NULL;
    ck_assert_int_eq(vkattn_cmd_create(ctx, NULL, &cmd), VKATTN_OK);
    /* 199 copies alternate a -> b, b -> a; the last op is a softmax of b into a. */
    for (int i = 0; i < 199; i++) {
        vkattn_result r = i % 2 == 0 ? vkattn_copy(ctx, cmd, a, b) : vkattn_copy(ctx, cmd, b, a);
        ck_assert_int_eq(r, VKATTN_OK);
    }
    ck_assert_int_eq(vkattn_softmax(ctx, cmd, NULL, b, a), VKATTN_OK);
    ck_assert_uint_eq(vkattn_cmd_op_count(cmd), 200);
    uint64_t before = command_buffers(ctx);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    ck_assert_uint_eq(command_buffers(ctx) - before, 4); /* ceil(200 / 64) */
    float got[1024];
    vkt_read_f32(ctx, a, got, 1024);
    for (int row = 0; row < 4; row++) {
        double sum = 0.0;
        for (int j = 0; j < 256; j++)
            sum += exp(0.01 * j);
        for (int j = 0; j < 256; j += 17) {
            double want = exp(x[row * 256 + j]) / sum;
            ck_assert_msg(fabs(got[row * 256 + j] - want) <= 1e-5 * want, "row %d col %d: %g, want %g", row, j,
                          (double)got[row * 256 + j], want);
        }
    }
    /* The list runs again after a reset, with fresh segments. */
    ck_assert_int_eq(vkattn_cmd_reset(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_copy(ctx, cmd, a, b), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_submit(cmd), VKATTN_OK);
    ck_assert_int_eq(vkattn_cmd_wait(cmd, UINT64_MAX), VKATTN_OK);
    ck_assert_uint_eq(command_buffers(ctx) - before, 5);
    vkattn_cmd_destroy(cmd);
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, b);
    vkt_context_destroy(ctx);
}
END_TEST

static void expect_lost(vkattn_context *ctx, vkattn_result r, const char *what)
{
    const char *msg = vkattn_context_last_error(ctx);
    ck_assert_msg(r == VKATTN_ERROR_DEVICE_LOST, "%s after the loss: %s (%s)", what, vkattn_result_name(r), msg);
    ck_assert_msg(strstr(msg, "lost") != NULL, "%s: the message does not say the device was lost: %s", what, msg);
}

START_TEST(test_device_lost)
{
    setenv("VKATTN_TEST_DEVICE_LOST_AFTER", "3", 1);
    vkattn_context *ctx = vkt_context(VKATTN_BACKEND_VULKAN);
    unsetenv("VKATTN_TEST_DEVICE_LOST_AFTER");
    if (!ctx)
        return;
    const int64_t shape[1] = {64};
    float x[64], got[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i;
    vkattn_tensor a = vkt_tensor(ctx, VKATTN_F32, 1, shape), b = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    vkt_write_f32(ctx, a, x, 64);
    vkattn_result r = VKATTN_OK;
    int ran = 0;
    while (ran < 10 && (r = vkattn_copy(ctx, NULL, a, b)) == VKATTN_OK)
        ran++;
    ck_assert_msg(ran >= 1 && ran < 10, "copies before the loss: %d", ran);
    expect_lost(ctx, r, "the copy that met the loss");
    /* Every later call that needs the device fails the same way, and says what to do. */
    expect_lost(ctx, vkattn_copy(ctx, NULL, a, b), "vkattn_copy");
    ck_assert_ptr_nonnull(strstr(vkattn_context_last_error(ctx), "create a new one"));
    expect_lost(ctx, vkattn_softmax(ctx, NULL, NULL, a, b), "vkattn_softmax");
    expect_lost(ctx, vkattn_tensor_read(ctx, a, got, sizeof got), "vkattn_tensor_read");
    expect_lost(ctx, vkattn_tensor_write(ctx, a, x, sizeof x), "vkattn_tensor_write");
    vkattn_tensor c = {0};
    vkattn_tensor_desc d = {.dtype = VKATTN_F32, .ndim = 1, .shape = {64}};
    expect_lost(ctx, vkattn_tensor_create(ctx, &d, &c), "vkattn_tensor_create");
    ck_assert_uint_eq(c.id, 0);
    vkattn_cmd *cmd = NULL;
    expect_lost(ctx, vkattn_cmd_create(ctx, NULL, &cmd), "vkattn_cmd_create");
    ck_assert_ptr_null(cmd);
    expect_lost(ctx, vkattn_context_wait_idle(ctx, 1000000), "vkattn_context_wait_idle");
    /* Destroying the tensors and the context still works (no hang waiting on the dead device). */
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, b);
    vkt_context_destroy(ctx);
    /* A new context works. */
    ctx = vkt_context(VKATTN_BACKEND_VULKAN);
    ck_assert_ptr_nonnull(ctx);
    a = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    b = vkt_tensor(ctx, VKATTN_F32, 1, shape);
    vkt_write_f32(ctx, a, x, 64);
    ck_assert_int_eq(vkattn_copy(ctx, NULL, a, b), VKATTN_OK);
    vkt_read_f32(ctx, b, got, 64);
    ck_assert(memcmp(got, x, sizeof x) == 0);
    vkattn_tensor_destroy(ctx, a);
    vkattn_tensor_destroy(ctx, b);
    vkt_context_destroy(ctx);
}
END_TEST

static Suite *robust_suite(void)
{
    Suite *s = suite_create("robust");
    TCase *tc = tcase_create("lists and loss");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_long_list_segments);
    tcase_add_test(tc, test_device_lost);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vkt_run_suite(robust_suite());
}
