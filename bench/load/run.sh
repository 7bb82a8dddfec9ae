#!/usr/bin/env bash
# The load benchmark, in one command:
#
#   bench/load/run.sh            # full run (3 rounds × 10 s, ~16 min quiet), writes BENCHMARKS.md
#   bench/load/run.sh --quick    # smoke run (1 round × 3 s), writes target/bench-load/BENCHMARKS.quick.md
#
# Builds tessera-bench-load and `tessera serve` (release), installs
# python/requirements.txt into a virtualenv (unless the interpreter already
# has them) and a release wheel of bindings/python (tessera.fastapi; set
# TESSERA_BENCH_SKIP_WHEEL=1 to keep the installed one), then runs `tessera-bench-load all` with every argument given
# here (see `--help`). Not part of scripts/test: it measures, it asserts
# nothing.
#
# Environment:
#   TESSERA_BENCH_VENV  virtualenv to use/create (default: <target>/bench-load/venv)
#   PYTHON              interpreter for the virtualenv (default: python3)
#   CARGO_TARGET_DIR    honoured
#   TESSERA_BENCH_POSTGRES_URL  PostgreSQL for the tessera-pg systems
#                       (default postgres://postgres@127.0.0.1:5432/test;
#                       unreachable: those systems are skipped, the report says why)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${TESSERA_BENCH_VENV:-$target/bench-load/venv}"

echo "== building (release): tessera-bench-load, tessera serve" >&2
# bench/load is its own workspace (own Cargo.lock); both builds share $target.
(cd "$root" && cargo build --release --locked --quiet -p tessera-server)
CARGO_TARGET_DIR="$target" cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"

requirements="$here/python/requirements.txt"
has_requirements() {
    "$1" - "$requirements" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            sys.exit(1)
PY
}
if [ ! -x "$venv/bin/python" ]; then
    echo "== python virtualenv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi
if ! has_requirements "$venv/bin/python"; then
    echo "== installing $requirements" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
fi

# tessera.fastapi (bindings/python) for the FastAPI + tessera system: a
# release wheel of that crate alone, installed into the same virtualenv.
if [ -z "${TESSERA_BENCH_SKIP_WHEEL:-}" ]; then
    echo "== building the tessera Python wheel (release, maturin from PyPI)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
    rm -rf "$target/bench-load/wheels"
    (cd "$root/bindings/python" && CARGO_TARGET_DIR="$target" "$venv/bin/maturin" build --release --quiet \
        --interpreter "$venv/bin/python" --out "$target/bench-load/wheels")
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
        "$target"/bench-load/wheels/tessera_session-*.whl
fi

cd "$root"
BENCH_LOAD_COMMAND="bench/load/run.sh${*:+ $*}" exec "$target/release/tessera-bench-load" all \
    --tessera-bin "$target/release/tessera" --python "$venv/bin/python" "$@"
