#!/usr/bin/env bash
# Fuzzing tessera (cargo-fuzz, libFuzzer). Run from anywhere:
#
#   fuzz/run.sh build                 build every target (cargo-fuzz: release, ASan)
#   fuzz/run.sh ci-build              build every target without cargo-fuzz and
#                                     without ASan (profile fuzz-ci, opt-level 1);
#                                     then run/time with FUZZ_PROFILE=fuzz-ci
#   fuzz/run.sh seeds                 regenerate fuzz/seeds/<target>/ from the harness
#   fuzz/run.sh run TARGET [RUNS]     run TARGET from its seeds for RUNS executions
#                                     (default 1,000,000); prints the count
#   fuzz/run.sh time TARGET SECONDS   run TARGET for SECONDS
#
# Seeds are committed under fuzz/seeds/<target>/ and copied into the
# (ignored) corpus directory fuzz/corpus/<target>/ before each run, with
# fuzz/regressions/<target>/ (inputs that once crashed). A crash leaves its
# input in fuzz/artifacts/<target>/; copy it into regressions/ before fixing.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
triple=x86_64-unknown-linux-gnu
profile=${FUZZ_PROFILE:-release}

targets() { sed -n '/^\[\[bin\]\]$/{n;s/^name = "\(.*\)"$/\1/p;}' Cargo.toml; }
bin() { echo "target/$triple/$profile/$1"; }

# The instrumentation cargo-fuzz adds (libFuzzer's coverage feedback:
# 8-bit edge counters, PC table, comparison tracing, `cfg(fuzzing)`), minus
# -Zsanitizer=address: stable rustc flags, no cargo-fuzz needed. With
# --target, RUSTFLAGS reach only the target's code, not build scripts.
SANCOV_FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"

# Bounds every run: a 10 s input is a hang, 2 GiB resident is a runaway
# allocation; HTTP requests with real tokens need a few KiB.
FLAGS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=16384 -print_final_stats=1)

prepare() {
  mkdir -p "corpus/$1" "artifacts/$1"
  if [ -d "seeds/$1" ]; then cp -n "seeds/$1"/* "corpus/$1/" 2>/dev/null || true; fi
  # Inputs that once crashed a target, replayed by every run (kept apart
  # from seeds/, which `seeds` regenerates).
  if [ -d "regressions/$1" ]; then cp -n "regressions/$1"/* "corpus/$1/" 2>/dev/null || true; fi
}

case "${1:-}" in
  build)
    cargo fuzz build -O
    ;;
  ci-build)
    RUSTC_BOOTSTRAP= RUSTFLAGS="$SANCOV_FLAGS" cargo build --locked --profile fuzz-ci --target "$triple" --bins
    ;;
  seeds)
    for t in $(targets); do
      rm -rf "seeds/$t"
      TESSERA_FUZZ_WRITE_SEEDS="seeds/$t" "$(bin "$t")" -runs=1 >/dev/null 2>&1
      echo "$t: $(ls "seeds/$t" | wc -l) seeds"
    done
    ;;
  run)
    t=$2; runs=${3:-1000000}
    prepare "$t"
    "$(bin "$t")" "corpus/$t" "${FLAGS[@]}" -artifact_prefix="artifacts/$t/" -runs="$runs"
    ;;
  time)
    t=$2; secs=$3
    prepare "$t"
    "$(bin "$t")" "corpus/$t" "${FLAGS[@]}" -artifact_prefix="artifacts/$t/" -max_total_time="$secs"
    ;;
  list)
    targets
    ;;
  *)
    sed -n '2,17p' "$0"; exit 2
    ;;
esac
