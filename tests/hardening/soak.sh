#!/usr/bin/env bash
# Soak: a steady load through an axum app on tessera-axum for MINUTES
# (default 30) at RATE requests/s (default 400), on a fresh SQLite file;
# every minute the p50/p99/max latency and the app's RSS, then a summary.
# Not part of scripts/test (it takes half an hour); results go to
# SECURITY.md and BENCHMARKS.md by hand.
#
#   tests/hardening/soak.sh [MINUTES] [RATE] [DATABASE_URL]
#
# The app and the load generator are crates/tessera-axum/examples/soak.rs,
# built in release; loopback only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-30}
rate=${2:-400}
work=$(mktemp -d)
db=${3:-sqlite://$work/soak.db}
out=${SOAK_OUT:-target/soak-$(date +%Y%m%d-%H%M%S).csv}

cargo build --release -p tessera-axum --example soak
bin=target/release/examples/soak

RUST_LOG=warn "$bin" serve "$db" >"$work/app.out" 2>"$work/app.err" &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/app.out" && break
  sleep 0.1
done
addr=$(sed -n 's/^soak app listening on //p' "$work/app.out")
[ -n "$addr" ] || { cat "$work/app.err"; echo "soak: the app did not start" >&2; exit 1; }

echo "soak: app pid $app on $addr, $minutes min at $rate req/s, $db; results in $out"
"$bin" load "$addr" "$app" "$minutes" "$rate" | tee "$out"
if [ -s "$work/app.err" ]; then
  echo "soak: the app logged (warn and above):"; tail -n 20 "$work/app.err"
fi
