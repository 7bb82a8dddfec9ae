#!/usr/bin/env bash
# supertokens-node 24.0.3 against `tessera serve` (memory store, an API key).
# Installs package.json into <target>/node-compat, starts tessera on a free
# port, runs every *.js here (smoke.js, apps.js, ...), stops tessera. Exits non-zero on failure.
# TESSERA_BIN: a tessera binary to use instead of building one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
prefix="$target/node-compat"
key="node-compat-key-0123456789"
work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-node-compat.XXXXXX")"
pid=""
cleanup() {
    local status=$?
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ "$status" -ne 0 ] && tail -n 40 "$work/tessera.log" >&2
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

bin="${TESSERA_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --quiet -p tessera-server --bin tessera)
    bin="$target/debug/tessera"
fi
mkdir -p "$prefix"
cp "$here/package.json" "$here/package-lock.json" "$prefix/"
(cd "$prefix" && npm ci --silent --no-audit --no-fund >/dev/null)

"$bin" serve --bind 127.0.0.1:0 --database memory: --api-keys "$key" >"$work/tessera.out" 2>"$work/tessera.log" &
pid=$!
url=""
for _ in $(seq 1 300); do
    url="$(grep -o 'http://[0-9.]*:[0-9]*' "$work/tessera.out" 2>/dev/null | head -n 1 || true)"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "tessera did not start" >&2; exit 1; }
for script in "$here"/*.js; do
    NODE_PATH="$prefix/node_modules" TESSERA_URL="$url" KEY="$key" node "$script"
done
