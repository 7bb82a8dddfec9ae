#!/usr/bin/env bash
# Bundles supertokens-website (exact version in package-lock.json) into one
# browser script, examples/demo/static/supertokens.js, with esbuild. Runs
# `npm ci` first when node_modules is missing or older than the lock file;
# skips the bundling when the bundle is newer than its inputs.
# Used by scripts/demo and tests/browser/run.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
out="../static/supertokens.js"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "examples/demo/web/build.sh: node and npm are needed to bundle supertokens-website for the demo page (install Node.js 20+)" >&2
    exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "examples/demo/web: npm ci" >&2
    npm ci --no-audit --no-fund --silent
fi
if [ -f "$out" ] && [ "$out" -nt entry.js ] && [ "$out" -nt node_modules/.package-lock.json ] && [ "$out" -nt build.sh ]; then
    exit 0
fi
version="$(node -p 'require("supertokens-website/package.json").version')"
mkdir -p "$(dirname "$out")"
node_modules/.bin/esbuild entry.js --bundle --format=iife --target=es2019 \
    --log-level=warning \
    --banner:js="/* supertokens-website ${version} (Apache-2.0, github.com/supertokens/supertokens-website) and its dependencies, bundled by examples/demo/web/build.sh with esbuild. Generated: do not edit. */" \
    --outfile="$out"
echo "examples/demo/web: built $(cd "$(dirname "$out")" && pwd)/$(basename "$out") (supertokens-website ${version})" >&2
