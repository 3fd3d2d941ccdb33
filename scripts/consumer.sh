#!/usr/bin/env bash
# Installs build/ (from scripts/test.sh) into build/install-root with `cmake --install`, then builds the consumer
# program examples/consumer against that installed copy twice, through find_package(vkattn) and through pkg-config,
# with warnings as errors, and runs both (each checks RoPE + causal attention against its own float64 computation).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/CMakeCache.txt ]; then
  echo "consumer.sh: no build/; run scripts/test.sh first" >&2
  exit 1
fi
# Reconfigure and build so that build/ has the install rules of this checkout (a no-op after scripts/test.sh).
cmake -S . -B build >/dev/null
cmake --build build -j2
prefix="$PWD/build/install-root"
rm -rf "$prefix" build/consumer-cmake build/consumer-pkgconfig
cmake --install build --prefix "$prefix"
export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name vkattn.pc)")"
libdir="$(pkg-config --variable=libdir vkattn)"

echo "consumer.sh: find_package(vkattn)"
cmake -S examples/consumer -B build/consumer-cmake -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/consumer-cmake
LD_LIBRARY_PATH="$libdir" build/consumer-cmake/consumer

echo "consumer.sh: pkg-config --cflags --libs vkattn"
mkdir -p build/consumer-pkgconfig
# shellcheck disable=SC2046 # pkg-config's flags are meant to split into words
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 examples/consumer/main.c $(pkg-config --cflags --libs vkattn) -lm \
  -o build/consumer-pkgconfig/consumer
LD_LIBRARY_PATH="$libdir" build/consumer-pkgconfig/consumer
