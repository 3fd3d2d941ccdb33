#!/usr/bin/env bash
# The project's test command: installs dependencies, builds build/ with warnings as errors, runs every ctest suite,
# then runs the Vulkan side of every suite again under the phone profile (VKATTN_PROFILE=phone: the limits of a
# conservative phone GPU, see README "Portability and robustness").
# Environment: VKATTN_TEST_BACKENDS (default "cpu,vulkan"), CI=true makes a missing Vulkan device a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DVKATTN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
# The CPU backend ignores the profile, so only the Vulkan side runs again; test_report only renders files.
if [ "${VKATTN_TEST_BACKENDS:-cpu,vulkan}" != cpu ]; then
  echo "test.sh: the suite again under VKATTN_PROFILE=phone"
  VKATTN_PROFILE=phone VKATTN_TEST_BACKENDS=vulkan ctest --test-dir build --output-on-failure -j2 -E '^test_report$'
fi
