#!/usr/bin/env bash
# Renders report.html in a real browser (headless Chromium, Debian package `chromium`) and checks the screenshot:
# a PNG of the window's size that is not blank, in which the first chart colour (#1f77b4, the first line of every
# chart, bench/report_html.c) appears, so the inline SVG charts were drawn.
#
#   bench/check_report.sh [--build DIR] [REPORT.html]
#
# Without REPORT.html it makes one: a short `vkattn bench --out` run of the program in the build directory (default
# build), or, where that fails, the synthetic page of tests/test_report (VKATTN_REPORT_KEEP). Installs chromium with
# apt-get when it is missing and the script runs as root. The screenshot is left beside the report (.png).
set -euo pipefail

usage() {
  echo "usage: $0 [--build DIR] [REPORT.html]" >&2
  exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
report=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$report" ] || usage; report=$1; shift ;;
  esac
done

browser() {
  command -v chromium || command -v chromium-browser || true
}

if [ -z "$(browser)" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "check_report.sh: chromium is missing; as root: apt-get install chromium" >&2
    exit 1
  fi
  echo "check_report.sh: installing chromium" >&2
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chrome=$(browser)
[ -n "$chrome" ] || { echo "check_report.sh: chromium did not install" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A small run: the smallest preset, two short lengths, one repetition, Vulkan only.
make_report() {
  if "$build/vkattn" bench --preset phone-1b --seq 64,128 --reps 1 --no-cpu --out "$work/run" >"$work/bench.log" 2>&1 &&
     [ -f "$work/run/report.html" ]; then
    echo "$work/run/report.html"
    return
  fi
  echo "check_report.sh: vkattn bench did not make a report (see below); using the synthetic page of test_report" >&2
  tail -n 3 "$work/bench.log" >&2 || true
  VKATTN_REPORT_KEEP="$work/synthetic.html" "$build/tests/test_report" >/dev/null
  echo "$work/synthetic.html"
}

if [ -z "$report" ]; then
  report=$(make_report)
  cp "$report" "$build/check_report.html"
  report="$build/check_report.html"
fi
[ -f "$report" ] || { echo "check_report.sh: no such file: $report" >&2; exit 1; }
report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
shot="${report%.html}.png"
rm -f "$shot"

# The page must render without the network: none is needed, and none is given.
# The background-networking flags keep Chromium from reaching for Google's hosts at start-up (refused offline).
"$chrome" --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run --disable-quic \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$work/profile" \
  --screenshot="$shot" --window-size=1280,2400 "file://$report" >"$work/chromium.log" 2>&1 || {
  tail -n 20 "$work/chromium.log" >&2
  echo "check_report.sh: chromium failed" >&2
  exit 1
}

python3 - "$shot" <<'EOF'
# Decodes the PNG with the standard library (PNG spec, section 9: filter types 0-4 per row) and counts colours.
import struct, sys, zlib

path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"check_report.sh: {path} is not a PNG")
pos, idat, head = 8, [], None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        head = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    pos += 12 + length
width, height, depth, ctype, _, _, interlace = head
channels = {2: 3, 6: 4}.get(ctype)
if depth != 8 or channels is None or interlace:
    sys.exit(f"check_report.sh: unexpected PNG format (depth {depth}, colour type {ctype}, interlace {interlace})")
if (width, height) != (1280, 2400):
    sys.exit(f"check_report.sh: screenshot is {width}x{height}, not 1280x2400")

raw = zlib.decompress(b"".join(idat))
stride = width * channels
prev = bytearray(stride)
colours = set()
for y in range(height):
    kind = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if kind == 1:    # Sub: + left
        for i in range(channels, stride):
            row[i] = (row[i] + row[i - channels]) & 255
    elif kind == 2:  # Up: + above
        row = bytearray((a + b) & 255 for a, b in zip(row, prev))
    elif kind == 3:  # Average: + floor((left + above) / 2)
        for i in range(stride):
            row[i] = (row[i] + (((row[i - channels] if i >= channels else 0) + prev[i]) >> 1)) & 255
    elif kind == 4:  # Paeth: + the one of left, above, upper left nearest to left + above - upper left
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    colours.update(bytes(row[x:x + 3]) for x in range(0, stride, channels))
    prev = row
series = bytes((0x1F, 0x77, 0xB4))
print(f"check_report.sh: {path}: {width}x{height}, {len(data)} bytes, {len(colours)} distinct colours")
if len(colours) < 2:
    sys.exit("check_report.sh: the screenshot is blank")
if series not in colours:
    sys.exit("check_report.sh: no chart line (#1f77b4) in the screenshot: the SVG charts did not render")
EOF
echo "check_report.sh: ok: $report rendered to $shot"
