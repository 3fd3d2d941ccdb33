/*
 * common.h - helpers shared by the Check suites (tests/common.c).
 *
 * Every suite runs its backend-dependent cases once per backend with Check's loop tests:
 *     tcase_add_loop_test(tc, test_fn, 0, VKT_BACKEND_COUNT);
 * and inside the test:
 *     vkattn_context *ctx = vkt_context(vkt_backend(_i));
 *     if (!ctx) return;          // backend disabled, or no Vulkan device outside CI
 *     ...
 *     vkt_context_destroy(ctx);  // fails the test if a validation message was logged
 */
#ifndef VKATTN_TESTS_COMMON_H
#define VKATTN_TESTS_COMMON_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkattn.h"

#define VKT_BACKEND_COUNT 2

/* Loop index -> backend: 0 = VKATTN_BACKEND_CPU, 1 = VKATTN_BACKEND_VULKAN. */
vkattn_backend vkt_backend(int i);
const char *vkt_backend_name(vkattn_backend b);
/* Whether VKATTN_TEST_BACKENDS (comma list of "cpu", "vulkan"; unset = both) enables the backend. */
bool vkt_backend_enabled(vkattn_backend b);
/* Whether CI=true is set (a missing Vulkan device is then a failure, never a skip). */
bool vkt_in_ci(void);

/* Creates a context for the backend with extra flags. Vulkan contexts: validation layer on, the default device
 * selection (VKATTN_DEVICE is honoured), a logger that records every message. Returns NULL (after printing
 * "skipped: ..." to stderr) when the backend is disabled, or when Vulkan has no device and CI is not set; fails the
 * test when Vulkan has no device under CI. The pipeline cache goes to a per-process temporary directory unless
 * the caller gives desc->cache_dir via vkt_context_desc. */
vkattn_context *vkt_context(vkattn_backend b);
vkattn_context *vkt_context_flags(vkattn_backend b, uint32_t extra_flags);
/* Same with a caller desc (backend field overwritten by b, validation flag and logger added for Vulkan). */
vkattn_context *vkt_context_desc(vkattn_backend b, const vkattn_context_desc *desc);
/* Destroys the context; fails the test if the validation layer reported anything (stats.validation_messages > 0
 * or a "validation: " message reached the logger). NULL is a no-op. */
void vkt_context_destroy(vkattn_context *ctx);
/* Whether backend b's default context runs the subgroup kernels (a Vulkan device with subgroup arithmetic and a
 * power-of-two subgroup size of at least 4, as the backend requires); *skip is set when the backend is unavailable
 * (the test should return). */
bool vkt_subgroup_kernels(vkattn_backend b, bool *skip);
/* The messages logged so far on any vkt context of this process (newline-separated), and a reset. */
const char *vkt_log_text(void);
void vkt_log_clear(void);

/* A private temporary directory for this process (created on first call, under $TMPDIR or /tmp). */
const char *vkt_tmpdir(void);

/* Runs the program `path` with argv (NULL-terminated, argv[0] included) and envp (NULL-terminated; NULL = this
 * process's environment), its stdout and stderr written to the files out_path and err_path (created or
 * truncated). Returns its exit status, or -1 when it did not exit normally; fails the test if it cannot start. */
int vkt_spawn(const char *path, char *const *argv, char *const *envp, const char *out_path, const char *err_path);

/* Tensor helpers that fail the test on error. */
vkattn_tensor vkt_tensor(vkattn_context *ctx, vkattn_dtype dtype, uint32_t ndim, const int64_t *shape);
void vkt_write_f32(vkattn_context *ctx, vkattn_tensor t, const float *src, size_t n);
void vkt_read_f32(vkattn_context *ctx, vkattn_tensor t, float *dst, size_t n);
/* f16 tensors through f32 host arrays (converted in the test with round-to-nearest-even). */
void vkt_write_f16_from_f32(vkattn_context *ctx, vkattn_tensor t, const float *src, size_t n);
void vkt_read_f16_to_f32(vkattn_context *ctx, vkattn_tensor t, float *dst, size_t n);
float vkt_half_to_float(uint16_t h);
uint16_t vkt_float_to_half(float f);

/* Deterministic uniform values in [lo, hi) (xorshift; same seed, same values). */
void vkt_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi);

/* Error metrics against a float64 reference: max over i of |got - want| / max(|want|, floor). NaN in got or want
 * (where the other is not NaN) counts as infinite error. */
double vkt_max_rel_err(const float *got, const double *want, size_t n, double floor);

/* Runs the suite (CK_FORK as Check's default / environment) and returns the process exit code. */
int vkt_run_suite(Suite *s);

#endif /* VKATTN_TESTS_COMMON_H */
