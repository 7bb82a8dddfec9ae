#!/usr/bin/env bash
# Instructions per request of a Python app's `GET /verify`, by callgrind
# (independent of other load on the machine). Usage:
#   bench/load/callgrind/count.sh MODULE:APP [N]     e.g. app_tessera:app 300
# PYTHON: an interpreter with bench/load/python/requirements.txt and the
# tessera wheel installed (default: target/bench-load/venv/bin/python).
# Needs valgrind and gcc (with valgrind's headers).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${PYTHON:-$root/target/bench-load/venv/bin/python}"
n="${2:-300}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -o "$work/libcg.so" "$here/cg.c"
CG=1 CG_LIB="$work/libcg.so" PYTHONHASHSEED=0 TMPDIR="$work" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$work/cg.out" "$python" "$here/drive.py" "$1" "$n" >/dev/null 2>&1
ir="$(grep -h '^summary:' "$work"/cg.out.1 | awk '{print $2}')"
echo "$1: $((ir / n)) instructions/request ($n requests)"
