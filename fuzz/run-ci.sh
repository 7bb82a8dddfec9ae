#!/usr/bin/env bash
# CI: builds every fuzz target and runs each from its committed seeds for a
# short time (FUZZ_SECONDS, default 25), so a regression that makes any of
# them crash, panic, hang or allocate without bound fails CI.
#
# The CI build is `run.sh ci-build`: plain `cargo build` with libFuzzer's
# coverage instrumentation, no cargo-fuzz (nothing to install) and no
# AddressSanitizer, at opt-level 1. What that costs in coverage, and how to
# run the full ASan build, is in fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-25}
export FUZZ_PROFILE=fuzz-ci

t0=$SECONDS
./run.sh ci-build
echo "fuzz: built every target in $((SECONDS - t0)) s"
mkdir -p target/ci-logs
for t in $(./run.sh list); do
  log="target/ci-logs/$t.log"
  echo "==> fuzz $t for ${secs}s"
  if ! ./run.sh time "$t" "$secs" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^Done ' "$log" || true
done
echo "fuzz: every target ran ${secs}s without a crash"
