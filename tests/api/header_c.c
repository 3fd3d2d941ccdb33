/*
 * header_c.c - compiled once as C99 and once as C11 with -pedantic -Werror (cmake/VkattnApi.cmake), so a header
 * construct outside the declared language (a C11-only feature, a GNU extension) fails the build. It then runs
 * against the shared library: the version it reports, a CPU context and one tiny softmax, so that the declarations
 * also agree with what libvkattn.so exports.
 */
#include <vkattn.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

static float absf(float x)
{
    return x < 0.0f ? -x : x;
}

int main(void)
{
    vkattn_context_desc cdesc;
    vkattn_context *ctx = NULL;
    vkattn_tensor_desc tdesc;
    vkattn_tensor x = {0};
    vkattn_tensor y = {0};
    /* softmax([0, ln 3]) = [1/4, 3/4]: a value worked out by hand, not by the library. */
    const float in[2] = {0.0f, 1.0986122886681098f};
    float out[2] = {-1.0f, -1.0f};
    vkattn_result r;

    printf("vkattn_version() = %u, VKATTN_VERSION = %d (%s)\n", (unsigned)vkattn_version(), VKATTN_VERSION,
#if __STDC_VERSION__ >= 201112L
           "C11"
#else
           "C99"
#endif
    );
    check(vkattn_version() == (uint32_t)VKATTN_VERSION, "vkattn_version() == VKATTN_VERSION");
    check(strcmp(vkattn_result_name(VKATTN_ERROR_INVALID_ARGUMENT), "ERROR_INVALID_ARGUMENT") == 0,
          "vkattn_result_name");

    memset(&cdesc, 0, sizeof cdesc);
    cdesc.backend = VKATTN_BACKEND_CPU;
    cdesc.flags = VKATTN_CONTEXT_IGNORE_ENV | VKATTN_CONTEXT_NO_PIPELINE_CACHE;
    r = vkattn_context_create(&cdesc, &ctx);
    check(r == VKATTN_OK, "vkattn_context_create(CPU)");
    if (r != VKATTN_OK) {
        fprintf(stderr, "  %s: %s\n", vkattn_result_name(r), vkattn_context_last_error(NULL));
        return 1;
    }
    check(vkattn_context_backend(ctx) == VKATTN_BACKEND_CPU, "vkattn_context_backend");

    memset(&tdesc, 0, sizeof tdesc);
    tdesc.dtype = VKATTN_F32;
    tdesc.ndim = 2;
    tdesc.shape[0] = 1;
    tdesc.shape[1] = 2;
    check(vkattn_tensor_create(ctx, &tdesc, &x) == VKATTN_OK, "vkattn_tensor_create(x)");
    check(vkattn_tensor_create(ctx, &tdesc, &y) == VKATTN_OK, "vkattn_tensor_create(y)");
    check(vkattn_tensor_write(ctx, x, in, sizeof in) == VKATTN_OK, "vkattn_tensor_write");
    check(vkattn_softmax(ctx, NULL, NULL, x, y) == VKATTN_OK, "vkattn_softmax");
    check(vkattn_tensor_read(ctx, y, out, sizeof out) == VKATTN_OK, "vkattn_tensor_read");
    printf("softmax([0, ln 3]) = [%.7f, %.7f]\n", (double)out[0], (double)out[1]);
    check(absf(out[0] - 0.25f) < 1e-6f && absf(out[1] - 0.75f) < 1e-6f, "softmax([0, ln 3]) == [0.25, 0.75]");

    vkattn_tensor_destroy(ctx, x);
    vkattn_tensor_destroy(ctx, y);
    vkattn_context_destroy(ctx);
    return failures == 0 ? 0 : 1;
}
