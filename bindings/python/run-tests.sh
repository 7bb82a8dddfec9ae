#!/usr/bin/env bash
# tessera for FastAPI (bindings/python): builds the wheel with maturin from
# PyPI, installs it into a fresh virtualenv under the target directory, and
# runs the pytest suite (a real uvicorn server on loopback, and the Rust
# seed app on the same SQLite file for the interop test).
#
# The wheel is a debug build (cargo's dev profile, the workspace target
# directory, so the engine's dependencies are the ones `cargo test` already
# built) with the `testing` feature (a manual clock and a counting store
# for the behaviour table; `Engine(testing=True)`). A release wheel:
# `maturin build --release` in this directory.
#
# Environment:
#   PYTHON            interpreter for the virtualenvs (default: python3, >= 3.9)
#   TESSERA_SEED_BIN  a built tessera-seed-example to use instead of building one
#   PYTEST_ARGS       extra pytest arguments
#   TESSERA_PY_BROWSER_SUITES  suites of tests/browser/session.test.mjs to run
#                     against the FastAPI demo (default "0,2": cookie mode
#                     with rid, header mode; "" for none)
#
# The browser step (supertokens-website in headless Chromium against
# bindings/python/demo, the demo's page and routes on FastAPI) uses what
# tests/browser/run.sh set up (playwright-core, the SDK bundle); scripts/test
# runs that first. Without them it is skipped with a message, except under
# CI=true, where it fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
work="$CARGO_TARGET_DIR/python-bindings"
python="${PYTHON:-python3}"
mkdir -p "$work"

# maturin from PyPI, in a tools virtualenv kept between runs.
if [ ! -x "$work/tools/bin/maturin" ]; then
    echo "== maturin (PyPI)"
    "$python" -m venv "$work/tools"
    "$work/tools/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
fi

echo "== maturin build (dev profile, --features testing)"
rm -rf "$work/wheels"
(cd "$here" && nice "$work/tools/bin/maturin" build --quiet --features testing \
    --interpreter "$python" --out "$work/wheels")
wheel="$(ls "$work"/wheels/tessera_session-*.whl)"
echo "   $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

# The Rust app of the interop test.
seed="${TESSERA_SEED_BIN:-}"
if [ -z "$seed" ]; then
    echo "== tessera-seed-example"
    (cd "$root" && nice cargo build --quiet -p tessera-seed-example)
    seed="$CARGO_TARGET_DIR/debug/tessera-seed-example"
fi

# A fresh virtualenv every run: `pip install` of the wheel is part of the test.
echo "== pip install the wheel into a fresh virtualenv"
rm -rf "$work/venv"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel[test]"

echo "== mypy --strict on the installed package (stubs and py.typed)"
(cd "$work" && "$work/venv/bin/python" -m mypy --strict --no-incremental --cache-dir=/dev/null -p tessera)

echo "== pytest"
(cd "$here/tests" && TESSERA_SEED_BIN="$seed" "$work/venv/bin/python" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-})

suites="${TESSERA_PY_BROWSER_SUITES-0,2}"
[ -n "$suites" ] || exit 0
browser="$root/tests/browser"
if [ ! -d "$browser/node_modules/playwright-core" ] || [ ! -f "$root/examples/demo/static/supertokens.js" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "python browser: tests/browser/node_modules or the SDK bundle is missing (run tests/browser/run.sh first)" >&2
        exit 1
    fi
    echo "== SKIPPED: the FastAPI browser suites (run tests/browser/run.sh once to set them up)"
    exit 0
fi
echo "== supertokens-website in Chromium against the FastAPI demo (suites $suites)"
(cd "$browser" && TESSERA_PY="$work/venv/bin/python" TESSERA_DEMO_FRAMEWORK=fastapi \
    TESSERA_DEMO_BIN="$here/demo/tessera-demo-fastapi" TESSERA_BROWSER_SUITES="$suites" \
    CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node --test --test-reporter=spec session.test.mjs)
