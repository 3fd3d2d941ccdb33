#!/usr/bin/env bash
# Runs the ctypes binding's tests (python/test_vkattn.py) against build/ (from scripts/test.sh): every op on the CPU
# backend and on Vulkan with the validation layer, against float64 numpy references, and against `build/vkattn run`
# bitwise. Under CI=true a missing Vulkan device or CLI fails instead of skipping. Uses Debian's python3 and
# python3-numpy (scripts/install-deps.sh); $PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/libvkattn.so ] || [ ! -x build/vkattn ]; then
  echo "python.sh: no build/libvkattn.so or build/vkattn; run scripts/test.sh first" >&2
  exit 1
fi
# Prefer the system interpreter: python3-numpy is installed for it, not for a python3 earlier in PATH (pyenv ...).
python="${PYTHON:-}"
if [ -z "$python" ]; then
  python=python3
  [ -x /usr/bin/python3 ] && python=/usr/bin/python3
fi
export VKATTN_LIBRARY="$PWD/build/libvkattn.so" VKATTN_CLI="$PWD/build/vkattn"
echo "python.sh: $("$python" --version 2>&1), numpy $("$python" -c 'import numpy; print(numpy.__version__)')"
"$python" -m unittest discover -s python -v
