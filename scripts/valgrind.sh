#!/usr/bin/env bash
# Runs every test program under valgrind on the CPU backend (VKATTN_TEST_BACKENDS=cpu, CK_FORK=no so the tests run in
# the process valgrind watches); any memory error or definite leak fails. Needs a build/ from scripts/test.sh.
# The valgrind_* tests are registered by cmake/VkattnTests.cmake only for `ctest -C valgrind`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/CTestTestfile.cmake ]; then
  echo "valgrind.sh: no build/ with tests; run scripts/test.sh first" >&2
  exit 1
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind.sh: valgrind is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
# Reconfigure so cmake sees valgrind even if build/ was configured before it was installed.
cmake -S . -B build >/dev/null
cmake --build build -j2
ctest --test-dir build -C valgrind -L valgrind --no-tests=error --output-on-failure -j2
