#!/usr/bin/env bash
# Fuzzing with libFuzzer: builds fuzz_npy (the CLI's .npy reader) and fuzz_desc (op descs, tensor shapes, strides and
# dtypes on the CPU backend) with clang in build-fuzz (cmake/VkattnFuzz.cmake: ASan + UBSan, any UBSan report is
# fatal), then runs each from its committed corpus fuzz/corpus/<name>/ for FUZZ_SECONDS (default 60) seconds. Any
# crash, sanitizer report or leak fails the run; libFuzzer saves the input as build-fuzz/artifacts/<name>/crash-*.
# Inputs found during the run go to build-fuzz/corpus/<name>/, never to the source tree.
# Installs nothing: needs clang and its libFuzzer runtime (`bash scripts/install-deps.sh --tools` installs them).
# FUZZ_MERGE=1 then merges the new inputs into fuzz/corpus/<name>/ (libFuzzer's set-cover variant of -merge=1), for
# committing a refreshed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds="${FUZZ_SECONDS:-60}"
cc="${FUZZ_CC:-clang}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "fuzz.sh: $cc is not installed (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DVKATTN_FUZZ=ON -DVKATTN_BUILD_TESTS=OFF -DVKATTN_BUILD_CLI=OFF \
      -DVKATTN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j2 --target fuzz_npy fuzz_desc

for name in npy desc; do
  found="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  mkdir -p "$found" "$artifacts"
  echo "fuzz.sh: fuzz_$name for ${seconds}s"
  "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$found" "fuzz/corpus/$name"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    # Adds to the committed corpus only the new inputs that reach code it does not (edges, not hit counts, so the
    # corpus stays small); the committed files are all kept.
    "$build/fuzz/fuzz_$name" -set_cover_merge=1 -use_counters=0 "fuzz/corpus/$name" "$found"
    echo "fuzz.sh: fuzz/corpus/$name now holds $(ls "fuzz/corpus/$name" | wc -l) inputs"
  fi
done
