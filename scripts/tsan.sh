#!/usr/bin/env bash
# ThreadSanitizer pass: builds build-tsan with VKATTN_SANITIZE=thread and runs, on the CPU backend, test_threads (many
# contexts on many threads, one context shared under a caller lock, concurrent creation) and the suites that are cheap
# enough under TSan's slowdown. The first race report stops the test (halt_on_error=1) and fails the run.
# Not run: the CLI (not built; it adds nothing threaded), test_attention and test_matmul, whose large CPU-backend
# reference cases take minutes under TSan. Environment: TSAN_TESTS (space-separated test names) replaces the list;
# TSAN_OPTIONS is appended to the options set here.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-tsan
tests=(test_threads test_context test_cmd test_tensor test_errors test_softmax test_rope test_alibi test_sinusoidal
       test_pipeline_cache)
if [ -n "${TSAN_TESTS:-}" ]; then
  read -r -a tests <<<"$TSAN_TESTS"
fi

cmake -S . -B "$build" -DVKATTN_SANITIZE=thread -DVKATTN_BUILD_CLI=OFF -DVKATTN_WERROR=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j2 --target "${tests[@]}"

regex="^($(IFS='|'; echo "${tests[*]}"))\$"
export VKATTN_TEST_BACKENDS=cpu
# test_errors asks for absurd tensor sizes on purpose: the library must get NULL from calloc, not an abort.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1 ${TSAN_OPTIONS:-}"
ctest --test-dir "$build" -R "$regex" --no-tests=error --output-on-failure -j2
