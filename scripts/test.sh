#!/usr/bin/env bash
# The project's test command: installs dependencies, builds build/ with warnings as errors, runs every ctest suite.
# Environment: VKATTN_TEST_BACKENDS (default "cpu,vulkan"), CI=true makes a missing Vulkan device a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DVKATTN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
