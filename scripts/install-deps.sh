#!/usr/bin/env bash
# Installs everything vkattn needs to build, test and run on Debian 12: compiler and CMake, Check, the Vulkan headers
# and volk (the library loads libvulkan at run time), glslc and spirv-val for the shaders, lavapipe (a CPU Vulkan
# device, so the Vulkan backend runs with no GPU), the validation layers, valgrind (CI), g++ (the header is compiled
# as C++17 in a test; the library has no C++) and python3 with numpy (the ctypes binding's tests).
# --tools adds what CI's fuzzing needs: clang with its libFuzzer and sanitizer runtimes (libclang-rt-14-dev is only a
# Recommends of clang, which --no-install-recommends skips) and llvm for llvm-symbolizer (readable stack traces).
set -euo pipefail

packages=(
  cmake gcc make libc6-dev pkg-config check
  libvulkan-dev libvulkan-volk-dev glslc spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers valgrind
  g++ python3 python3-numpy binutils
)
tools=0
for arg in "$@"; do
  case "$arg" in
    --tools) tools=1 ;;
    *) echo "install-deps.sh: unknown argument $arg (only --tools)" >&2; exit 2 ;;
  esac
done
if [ "$tools" -eq 1 ]; then
  packages+=(clang libclang-rt-14-dev llvm)
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps.sh: not root and sudo is missing; run as root: apt-get install ${packages[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

missing=0
need() {
  if ! "$@" >/dev/null 2>&1; then
    echo "install-deps.sh: after installing, still missing: ${*: -1}" >&2
    missing=1
  fi
}
need command -v glslc
need command -v spirv-val
need test -f /usr/include/volk.c
if [ "$tools" -eq 1 ]; then
  need command -v clang
fi
# lavapipe's ICD manifest is named after the architecture (lvp_icd.x86_64.json, lvp_icd.aarch64.json, ...).
need compgen -G '/usr/share/vulkan/icd.d/lvp_icd.*.json'
if [ "$missing" -ne 0 ]; then
  exit 1
fi
echo "install-deps.sh: all build and test dependencies are installed"
