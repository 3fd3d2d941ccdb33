// header_cxx.cpp - the header as C++17 (-pedantic -Werror, cmake/VkattnApi.cmake). Linking against libvkattn.so
// also checks the extern "C" block: without it the calls below would name C++-mangled symbols and fail to link.
// The library itself has no C++; only this test enables the language.
#include <vkattn.h>

#include <cmath>
#include <cstdio>
#include <cstring>

static int failures;

static void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

int main()
{
    std::printf("vkattn_version() = %u, VKATTN_VERSION = %d (C++%ld)\n", static_cast<unsigned>(vkattn_version()),
                VKATTN_VERSION, static_cast<long>(__cplusplus));
    check(vkattn_version() == static_cast<uint32_t>(VKATTN_VERSION), "vkattn_version() == VKATTN_VERSION");
    check(std::strcmp(vkattn_result_name(VKATTN_ERROR_SHAPE_MISMATCH), "ERROR_SHAPE_MISMATCH") == 0,
          "vkattn_result_name");

    vkattn_context_desc cdesc{};
    cdesc.backend = VKATTN_BACKEND_CPU;
    cdesc.flags = VKATTN_CONTEXT_IGNORE_ENV | VKATTN_CONTEXT_NO_PIPELINE_CACHE;
    vkattn_context *ctx = nullptr;
    vkattn_result r = vkattn_context_create(&cdesc, &ctx);
    if (r != VKATTN_OK) {
        std::fprintf(stderr, "FAIL: vkattn_context_create(CPU): %s: %s\n", vkattn_result_name(r),
                     vkattn_context_last_error(nullptr));
        return 1;
    }

    vkattn_tensor_desc tdesc{};
    tdesc.dtype = VKATTN_F32;
    tdesc.ndim = 1;
    tdesc.shape[0] = 3;
    vkattn_tensor x{};
    vkattn_tensor y{};
    // softmax([1, 1, 1]) = 1/3 each, whatever the common value: worked out by hand, not by the library.
    const float in[3] = {1.0f, 1.0f, 1.0f};
    float out[3] = {-1.0f, -1.0f, -1.0f};
    check(vkattn_tensor_create(ctx, &tdesc, &x) == VKATTN_OK, "vkattn_tensor_create(x)");
    check(vkattn_tensor_create(ctx, &tdesc, &y) == VKATTN_OK, "vkattn_tensor_create(y)");
    check(vkattn_tensor_write(ctx, x, in, sizeof in) == VKATTN_OK, "vkattn_tensor_write");
    vkattn_softmax_desc sdesc{};
    sdesc.scale = 2.0f; // scale must not change a uniform row
    check(vkattn_softmax(ctx, nullptr, &sdesc, x, y) == VKATTN_OK, "vkattn_softmax");
    check(vkattn_tensor_read(ctx, y, out, sizeof out) == VKATTN_OK, "vkattn_tensor_read");
    std::printf("softmax(2 * [1, 1, 1]) = [%.7f, %.7f, %.7f]\n", static_cast<double>(out[0]),
                static_cast<double>(out[1]), static_cast<double>(out[2]));
    for (float v : out) {
        check(std::fabs(v - 1.0f / 3.0f) < 1e-6f, "softmax(2 * [1, 1, 1]) == 1/3 each");
    }

    vkattn_tensor_destroy(ctx, x);
    vkattn_tensor_destroy(ctx, y);
    vkattn_context_destroy(ctx);
    return failures == 0 ? 0 : 1;
}
