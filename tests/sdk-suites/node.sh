#!/usr/bin/env bash
# Runs supertokens-node's own session test suites against `tessera serve`.
#
#   tests/sdk-suites/node.sh /path/to/supertokens-node [session|framework|all]
#
# The checkout must be supertokens-node v24.0.2 prepared as the issue says:
#   npm pkg delete devDependencies.mocha-split-tests
#   npm install --ignore-scripts
# (the SDK's code is never copied into this repository). The script builds
# `tessera` (release), starts it in test mode on a fresh SQLite file on a
# free loopback port (TESSERA_SUITE_PORT, default 3567), points the suite at
# it (SUPERTOKENS_CORE_HOST/PORT, which the suite's test/utils.js reads),
# runs mocha and prints the pass/fail counts; the full mocha output and the
# server log stay in the work directory it names. Exit status: mocha's.
set -euo pipefail

checkout=${1:?usage: node.sh /path/to/supertokens-node [session|framework|all]}
which=${2:-all}
repo=$(cd "$(dirname "$0")/../.." && pwd)
port=${TESSERA_SUITE_PORT:-3567}
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-node-suite.XXXXXX")

(cd "$repo" && nice cargo build --release -q -p tessera-server)
"$repo/target/release/tessera" serve --test-mode \
    --bind "127.0.0.1:$port" --database "sqlite://$work/tessera.db" \
    >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    grep -qs "tessera listening" "$work/server.log" && break
    sleep 0.1
done
grep -q "tessera listening" "$work/server.log" || { cat "$work/server.log"; exit 1; }

session=(test/session.test.js test/sessionExpress.test.js test/auth-modes.test.js
    test/sessionAccessTokenSigningKeyUpdate.test.js 'test/session/**/*.test.js')
framework=('test/framework/*.test.js' 'test/framework/crossframework/*.test.js')
outside="dashboard|tags request|search results|custom response|email verification|emailpassword|passwordless|thirdparty"

run() { # name, mocha arguments...
    local name=$1
    shift
    echo "== $name (output: $work/$name.txt)"
    (cd "$checkout" && SUPERTOKENS_CORE_HOST=127.0.0.1 SUPERTOKENS_CORE_PORT=$port \
        TEST_MODE=testing npx mocha --no-config --node-option no-experimental-fetch \
        -r test/fetch-polyfill.mjs -r test/hooks.js --timeout 40000 --exit "$@") \
        >"$work/$name.txt" 2>&1 || status=$?
    grep -E "^\s+[0-9]+ (passing|failing|pending)" "$work/$name.txt" || true
}

status=0
case $which in
session) run session "${session[@]}" ;;
framework) run framework "${framework[@]}" --grep "$outside" --invert ;;
all)
    run session "${session[@]}"
    run framework "${framework[@]}" --grep "$outside" --invert
    ;;
*) echo "unknown suite: $which" >&2; exit 2 ;;
esac
echo "server log: $work/server.log"
exit "$status"
