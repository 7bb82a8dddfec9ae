#!/usr/bin/env bash
# supertokens-website in headless Chromium against the demo app on SQLite:
# tests/browser/session.test.mjs, in cookie mode (anti-CSRF via the rid
# header and via token) and header mode, against tessera-demo (axum, every
# suite) and tessera-demo-actix (actix-web: the rid-cookie suite, to keep CI
# short; header mode on actix is in cross_origin.test.mjs); cross_origin.test.mjs (page and API on two origins
# through each adapter's cors(), cookie and header mode); form_login.test.mjs
# (examples/form-login, no SDK, in Chromium).
#
# Needs node/npm and Chromium (/usr/bin/chromium, or CHROMIUM=...). Installs
# playwright-core (npm ci) if node_modules is missing, bundles the SDK
# (examples/demo/web/build.sh), builds the demo in debug, runs the suites and
# ends with "browser: N passed, M failed". Screenshots and console logs of a
# failing step go to target/browser-artifacts/.
# TESSERA_DEMO_BIN: a tessera-demo binary to use instead of building one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
started=$(date +%s)

fail() { echo "browser: $*" >&2; echo "browser: 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null 2>&1 || fail "node is not installed (Node.js 20+ is needed)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || fail "Chromium not found at $chromium: apt-get install -y chromium (or set CHROMIUM)"

if [ ! -d "$here/node_modules/playwright-core" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --silent) || fail "npm ci in tests/browser failed"
fi
"$root/examples/demo/web/build.sh" || fail "could not bundle supertokens-website (examples/demo/web/build.sh)"
[ -f "$root/examples/demo/static/supertokens.js" ] || fail "the SDK bundle is missing after the build"

if [ -n "${TESSERA_DEMO_BIN:-}" ]; then
    TESSERA_DEMO_BIN="$(cd "$(dirname "$TESSERA_DEMO_BIN")" && pwd)/$(basename "$TESSERA_DEMO_BIN")" \
        || fail "TESSERA_DEMO_BIN: no such directory"
    export TESSERA_DEMO_BIN
else
    (cd "$root" && cargo build --locked --quiet -p tessera-demo) || fail "cargo build -p tessera-demo failed"
    export TESSERA_DEMO_BIN="$target/debug/tessera-demo"
fi
(cd "$root" && cargo build --locked --quiet -p tessera-demo-actix -p tessera-form-login-example) \
    || fail "cargo build -p tessera-demo-actix -p tessera-form-login-example failed"
actix_bin="$target/debug/tessera-demo-actix"
export TESSERA_DEMO_ACTIX_BIN="$actix_bin"
export TESSERA_FORM_LOGIN_BIN="$target/debug/tessera-form-login-example"
export CHROMIUM="$chromium"
rm -rf "$target/browser-artifacts"

tap="$(mktemp "${TMPDIR:-/tmp}/tessera-browser.XXXXXX")"
trap 'rm -f "$tap"' EXIT
status=0
passed=0
failed=0
# One node run; its counts are added to the totals.
run() {
    local s=0
    (cd "$here" && env "$@" node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" \
        "${files[@]}") || s=$?
    local p f k c
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    k=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    # A skipped step is one that did not run because an earlier one failed.
    f=$(( ${f:-0} + ${k:-0} + ${c:-0} ))
    if [ "$s" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$(( passed + ${p:-0} ))
    failed=$(( failed + f ))
    if [ "$s" -ne 0 ]; then status=$s; fi
}
files=(session.test.mjs cross_origin.test.mjs form_login.test.mjs)
run TESSERA_DEMO_FRAMEWORK=axum
files=(session.test.mjs)
run TESSERA_DEMO_FRAMEWORK=actix TESSERA_DEMO_BIN="$actix_bin" TESSERA_BROWSER_SUITES=0
if [ -d "$target/browser-artifacts" ]; then
    echo "browser: artifacts of failing steps in $target/browser-artifacts"
fi
echo "browser: took $(( $(date +%s) - started )) s"
echo "browser: ${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
