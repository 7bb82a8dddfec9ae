#!/usr/bin/env bash
# supertokens-python 0.31.4 against `tessera serve`.
#
# Builds the tessera binary, installs requirements.txt (into a virtualenv
# unless the interpreter already has them),
# starts tessera on a free port (SQLite in a temp dir, an API key, refresh
# grace period 1 s), starts the FastAPI app of app.py on a free port with
# tessera as its connection_uri, runs pytest on test_compat.py and
# test_promotion.py, and tears
# everything down. Exits with pytest's status.
#
# Environment:
#   TESSERA_PY_VENV       virtualenv to use/create (default: <target>/python-compat-venv,
#                         unless $PYTHON already has requirements.txt installed)
#   TESSERA_TEST_DATABASE store URL for tessera (default: sqlite://<tmp>/tessera.db)
#   PYTHON                interpreter for the virtualenv (default: python3)
#   TESSERA_BIN           a tessera binary to use instead of building one
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${TESSERA_PY_VENV:-$target/python-compat-venv}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-py-compat.XXXXXX")"
api_key="compat-test-api-key-0123456789"
grace=1
pids=()

cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do
            [ -f "$log" ] || continue
            echo "----- $(basename "$log") (last 40 lines) -----" >&2
            tail -n 40 "$log" >&2
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

bin="${TESSERA_BIN:-}"
if [ -z "$bin" ]; then
    echo "== building tessera"
    (cd "$root" && cargo build --quiet -p tessera-server --bin tessera)
    bin="$target/debug/tessera"
fi

# The interpreter: one that already has requirements.txt installed (as
# .ci/run does), else a virtualenv made for this test.
has_requirements() {
    "$1" - "$here/requirements.txt" <<'PY' 2>/dev/null
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
python="${PYTHON:-python3}"
if [ -z "${TESSERA_PY_VENV:-}" ] && has_requirements "$python"; then
    echo "== python environment ($(command -v "$python"), requirements present)"
else
    echo "== python environment ($venv)"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    python="$venv/bin/python"
    "$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # url, seconds
    local deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "timed out waiting for $1" >&2
            return 1
        fi
        sleep 0.1
    done
}

echo "== starting tessera"
database="${TESSERA_TEST_DATABASE:-sqlite://$work/tessera.db}"
TESSERA_API_KEYS="$api_key" RUST_LOG="${RUST_LOG:-info}" \
    "$bin" serve --bind 127.0.0.1:0 --database "$database" --refresh-grace-period "$grace" \
    >"$work/tessera.out" 2>"$work/tessera.log" &
pids+=($!)
tessera_url=""
for _ in $(seq 1 300); do
    tessera_url="$(grep -o 'http://[0-9.]*:[0-9]*' "$work/tessera.out" 2>/dev/null | head -n 1 || true)"
    [ -n "$tessera_url" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "tessera exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$tessera_url" ] || { echo "tessera did not start" >&2; exit 1; }
wait_for "$tessera_url/hello" 30
echo "   tessera at $tessera_url ($database)"

echo "== starting the FastAPI app"
app_port="$(free_port)"
app_url="http://127.0.0.1:$app_port"
(
    cd "$here"
    APP_URL="$app_url" TESSERA_URL="$tessera_url" TESSERA_API_KEY="$api_key" \
        exec "$python" -m uvicorn app:app --host 127.0.0.1 --port "$app_port" --log-level warning
) >"$work/app.log" 2>&1 &
pids+=($!)
# Any path will do: a 401 from the app still proves it is up.
deadline=$((SECONDS + 60))
until curl -sS -o /dev/null "$app_url/me" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "the app did not start" >&2; exit 1; fi
    sleep 0.2
done
echo "   app at $app_url"

echo "== pytest"
cd "$here"
APP_URL="$app_url" TESSERA_URL="$tessera_url" TESSERA_API_KEY="$api_key" GRACE_SECONDS="$grace" \
    "$python" -m pytest -q -p no:cacheprovider test_*.py
