#!/usr/bin/env bash
# supertokens-website's own browser suite (mocha + puppeteer + Chromium)
# against tessera: examples/website-test-server (on tessera-axum or
# tessera-actix) on ports 8080 and 8082 instead of the SDK's express test
# server on supertokens-node.
#
#   tests/website-suite/run.sh [--adapter axum|actix] <supertokens-website checkout> [test files…]
#
# --adapter chooses the framework the test server runs on (default axum).
# The checkout is the SDK's repository at the tag under test (v20.1.7); it is
# prepared for an offline run in place (see README.md): its lock file is
# pointed at the npm registry only, its dependencies installed with
# puppeteer's browser download skipped, and the page's CDN scripts (axios,
# axios-mock-adapter, an `assert` module) served from the test server.
# Without test files the whole suite runs (test/*.test.js). Ends with
# "website-suite: N passed, M failed, K skipped" and the run time; the full
# mocha output is in <checkout>/test-report/website-suite.log and the JUnit
# report in <checkout>/test-report/test-results.xml.
# Env: CHROMIUM (default /usr/bin/chromium), TESSERA_WEBSITE_SERVER_BIN (a
# built server to use instead of cargo build), TESSERA_WEBSITE_SERVER_ARGS
# (more arguments for the server, e.g. "--refresh-model child-promotion").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

fail() { echo "website-suite: $*" >&2; echo "website-suite: 0 passed, 1 failed"; exit 1; }

adapter=axum
if [ "${1:-}" = "--adapter" ]; then
    [ $# -ge 2 ] || fail "--adapter needs axum or actix"
    adapter="$2"
    shift 2
fi
case "$adapter" in
    axum | actix) ;;
    *) fail "--adapter must be axum or actix, not $adapter" ;;
esac
[ $# -ge 1 ] || fail "usage: run.sh [--adapter axum|actix] <supertokens-website checkout> [test files…]"
checkout="$(cd "$1" && pwd)" || fail "no such directory: $1"
shift
[ -f "$checkout/test/server/index.js" ] || fail "$checkout is not a supertokens-website checkout"
command -v node >/dev/null 2>&1 || fail "node is not installed (Node.js 20+)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || fail "Chromium not found at $chromium: apt-get install -y chromium (or set CHROMIUM)"
for port in 8080 8082; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "port $port is in use: the suite needs 8080 and 8082"
    fi
done
started=$(date +%s)

# 1. Dependencies from the npm registry only.
node "$here/offline-lock.mjs" "$checkout"
if [ ! -x "$checkout/node_modules/.bin/mocha" ] || [ ! -d "$checkout/node_modules/puppeteer" ]; then
    (cd "$checkout" && PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
        npm ci --no-audit --no-fund) || fail "npm ci in $checkout failed"
fi

# 2. The page's CDN scripts, locally: axios, axios-mock-adapter, and the
#    `assert` package bundled as an ES module (the page imports a default).
offline="$checkout/.tessera-website-suite"
mkdir -p "$offline"
if [ ! -d "$offline/node_modules/esbuild" ]; then
    printf '{"name":"tessera-website-suite-offline","private":true}\n' > "$offline/package.json"
    (cd "$offline" && npm install --no-audit --no-fund --silent \
        axios@1 axios-mock-adapter@2 assert@2 esbuild@0.25) || fail "npm install of the page's scripts failed"
fi
static="$offline/static"
rm -rf "$static"
mkdir -p "$static/vendor"
cp "$offline/node_modules/axios/dist/axios.min.js" "$static/vendor/axios.min.js"
cp "$offline/node_modules/axios-mock-adapter/dist/axios-mock-adapter.js" "$static/vendor/axios-mock-adapter.js"
printf 'import assert from "assert";\nexport default assert;\n' > "$offline/assert-entry.mjs"
(cd "$offline" && ./node_modules/.bin/esbuild assert-entry.mjs --bundle --format=esm --platform=browser \
    --log-level=warning --define:process.env.NODE_DEBUG=false --define:global=globalThis \
    '--banner:js=const process = { env: {}, stderr: {}, nextTick: (f, ...a) => queueMicrotask(() => f(...a)) };' \
    --outfile="$static/vendor/assert.mjs") || fail "bundling assert failed"
sed -e 's#https://unpkg.com/axios/dist/axios.min.js#/vendor/axios.min.js#' \
    -e 's#https://unpkg.com/axios-mock-adapter/dist/axios-mock-adapter.js#/vendor/axios-mock-adapter.js#' \
    -e 's#https://cdn.skypack.dev/umd-assert#/vendor/assert.mjs#' \
    "$checkout/test/server/index.html" > "$static/index.html"
if grep -q 'https://' "$static/index.html"; then fail "index.html still loads a script from the internet"; fi
cp -r "$checkout/test/server/angular" "$static/angular"
version="$(node -e 'console.log(require(process.argv[1]).package_version)' "$checkout/lib/build/version.js")"

# 3. The server.
if [ -n "${TESSERA_WEBSITE_SERVER_BIN:-}" ]; then
    server="$TESSERA_WEBSITE_SERVER_BIN"
else
    (cd "$root" && cargo build --locked --quiet -p tessera-website-test-server) \
        || fail "cargo build -p tessera-website-test-server failed"
    server="$target/debug/tessera-website-test-server"
fi
mkdir -p "$checkout/test-report"
server_log="$checkout/test-report/website-test-server.log"
# shellcheck disable=SC2086 # word-split on purpose: a list of arguments
"$server" --adapter "$adapter" --static-dir "$static" --package-version "$version" ${TESSERA_WEBSITE_SERVER_ARGS:-} >"$server_log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if curl -sf -o /dev/null http://localhost:8080/ping && curl -sf -o /dev/null http://localhost:8082/ping; then
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || fail "the test server stopped; see $server_log"
    sleep 0.2
done
curl -sf -o /dev/null http://localhost:8082/ping || fail "the test server did not answer; see $server_log"

# 4. The suite, with the options of its .mocharc.yml (spec + JUnit reporters,
#    isomorphic-fetch) but only the test files asked for.
log="$checkout/test-report/website-suite.log"
rm -f "$checkout/test-report/test-results.xml"
status=0
[ $# -gt 0 ] || set -- test/*.test.js
(cd "$checkout" && TEST_MODE=testing PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 PUPPETEER_EXECUTABLE_PATH="$chromium" \
    ./node_modules/.bin/_mocha --no-config --exit --require isomorphic-fetch --timeout 500000 --slow 20000 \
    --reporter mocha-multi-reporters --reporter-options configFile=mocha-multi-reporters.json \
    "$@" 2>&1 | tee "$log" | { grep -E '^\s+([0-9]+\) |✓ )' || true; } ) || status=$?

# 5. Counts from the spec reporter's summary.
counts="$(node "$here/counts.mjs" "$log")" || fail "mocha did not finish; see $log"
elapsed=$(( $(date +%s) - started ))
echo "website-suite: adapter $adapter"
echo "website-suite: full output in $log, server log in $server_log"
echo "website-suite: run time ${elapsed}s"
echo "website-suite: $counts"
case "$counts" in
    *" 0 failed"*) [ "$status" -eq 0 ] || echo "website-suite: mocha exited $status" ;;
    *) exit 1 ;;
esac
