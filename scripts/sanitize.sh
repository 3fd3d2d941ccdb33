#!/usr/bin/env bash
# Builds build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer (every target: library, CLI, bench, tests)
# and runs the whole ctest suite, CPU and Vulkan (lavapipe, validation layer on) backends; any sanitizer report fails
# its test. Needs what scripts/install-deps.sh installs (gcc brings libasan and libubsan). Environment: as
# scripts/test.sh (VKATTN_TEST_BACKENDS, CI=true); extra arguments go to ctest (e.g. -R test_rope).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# -fno-sanitize-recover=undefined: UBSan's default is to print and go on, which would let a test pass; this makes
# every UB report abort the test program. RelWithDebInfo keeps the run short and the reports readable.
cmake -S . -B build-asan -DVKATTN_SANITIZE=address,undefined -DCMAKE_C_FLAGS=-fno-sanitize-recover=undefined \
  -DVKATTN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j2

# The Vulkan loader dlopen()s the driver (lavapipe, which brings LLVM) and the validation layer, and dlclose()s them
# in vkDestroyInstance. A leak report then has "<unknown module>" frames that no suppression can match, and the
# globals of the unloaded libraries no longer count as roots, so memory they still point to shows as leaked. A
# preloaded dlclose() that does nothing keeps them loaded until exit (also a lot faster: LLVM is loaded once per
# process, not once per context). It is built here so no extra package is needed; it is not instrumented, so the
# sanitizer runtime is not first in the library list: verify_asan_link_order=0 accepts that (the runtime's malloc
# and interceptors still come before libc's, as the test programs link it).
cat >build-asan/no_dlclose.c <<'SHIM'
int dlclose(void *handle);
int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
SHIM
"${CC:-cc}" -shared -fPIC -O2 -o build-asan/no_dlclose.so build-asan/no_dlclose.c
export LD_PRELOAD="$root/build-asan/no_dlclose.so${LD_PRELOAD:+:$LD_PRELOAD}"

# ASan: stop at the first error with a non-zero status, so Check reports the test as failed (also when the test runs
# in a forked process); detect_leaks=1 runs LeakSanitizer as each process exits. The driver and the layer are not
# instrumented, but ASan replaces their malloc/new too, so their leaks are seen; scripts/lsan.supp names those
# libraries, each line with the reason. fast_unwind_on_malloc must stay at its default (1): the slow unwinder
# deadlocks when LLVM's JIT registers its unwind tables (libgcc's unwinder holds its lock and calls malloc).
# allocator_may_return_null=1: an impossible size makes malloc return NULL as libc's does, instead of aborting, so the
# tests of the library's out-of-memory paths (test_errors: a tensor too big to allocate) run as they do without ASan.
# strict_string_checks stays off: it makes every strstr scan its whole haystack, which takes test_report's checks
# of a large HTML page past their timeout (53 s instead of 17 s for the program).
asan=(verify_asan_link_order=0 halt_on_error=1 detect_leaks=1 allocator_may_return_null=1
      check_initialization_order=1 detect_stack_use_after_return=1)
ASAN_OPTIONS="$(IFS=:; echo "${asan[*]}")"
export ASAN_OPTIONS
# Every UB report with a stack, and fatal (halt_on_error also covers checks built without -fno-sanitize-recover).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Leaks: only those inside the driver, loader and layers are suppressed (scripts/lsan.supp). print_suppressions=0:
# the list of suppressions used goes to stderr, and the CLI tests require an empty stderr from a good run.
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
# Everything runs 2-4x slower under ASan, more with two cores shared by -j2; Check's per-test timeouts (hang
# detection, 4 s unless a suite sets its own) scale with this. ctest's own limit stays 600 s per program.
export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-10}"

start=$(date +%s)
ctest --test-dir build-asan --output-on-failure -j2 "$@"
echo "sanitize.sh: ctest took $(($(date +%s) - start)) s"
