#!/usr/bin/env bash
# Runs supertokens-python's own session test suites against `tessera serve`.
#
#   tests/sdk-suites/python.sh /path/to/supertokens-python [pytest args...]
#
# The checkout is a supertokens-python source tree (0.31.4) with its tests/
# folder, including tests/utils.py and tests/conftest.py (the harness that
# creates one app per test through `PUT /recipe/multitenancy/app/v2`) and
# dev-requirements.txt. Nothing of it is copied into this repository.
# Without pytest arguments the session tests run: tests/test_session.py,
# tests/sessions/ and the framework session tests (tests/Fastapi,
# tests/Flask, tests/Django, without their dashboard, user-search and
# custom-response tests); with arguments, exactly what they name. The script makes a virtualenv in the work
# directory (TESSERA_PY_SUITE_VENV to reuse one), installs the checkout
# with its dev requirements, builds `tessera` (release), starts it in test
# mode on a fresh SQLite file on TESSERA_SUITE_PORT (default 3567), points
# the suite at it (SUPERTOKENS_CORE_HOST/PORT, read by tests/utils.py) and
# prints pytest's summary. Exit status: pytest's.
set -euo pipefail

checkout=$(cd "${1:?usage: python.sh /path/to/supertokens-python [pytest args...]}" && pwd)
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
port=${TESSERA_SUITE_PORT:-3567}
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-python-suite.XXXXXX")
venv=${TESSERA_PY_SUITE_VENV:-$work/venv}

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
(cd "$checkout" && "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r dev-requirements.txt)

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
grep -qs "tessera listening" "$work/server.log" || { cat "$work/server.log"; exit 1; }

if [ "$#" -eq 0 ]; then
    # The session tests; the framework files also hold dashboard and
    # user-search tests (other recipes), left out as the node runner's
    # --grep does.
    set -- tests/test_session.py tests/sessions tests/Fastapi tests/Flask tests/Django \
        -k "not search and not custom_response and not dashboard"
fi
echo "== pytest $* (output: $work/pytest.txt)"
status=0
(cd "$checkout" && SUPERTOKENS_CORE_HOST=127.0.0.1 SUPERTOKENS_CORE_PORT=$port \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -p no:randomly "$@") \
    >"$work/pytest.txt" 2>&1 || status=$?
tail -n 3 "$work/pytest.txt"
echo "server log: $work/server.log"
exit "$status"
