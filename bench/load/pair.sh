#!/usr/bin/env bash
# Two systems measured at the same time on the same core: a ratio that a
# host whose speed drifts from one minute to the next cannot bend.
#
#   bench/load/pair.sh [--duration S] [--repeats N] [--bin-a PATH] [--bin-b PATH] WORKLOAD A B
#
#   WORKLOAD  verify (GET /verify) or data (POST /data)
#   A, B      bare, axum-floor, tessera, ts-sqlite, ts-memory (Rust servers of
#             `tessera-bench-load serve`), fastapi-bare, fastapi-bare-depends,
#             fastapi-tessera (uvicorn apps of bench/load/python)
#   --bin-a, --bin-b  the `tessera-bench-load` binary serving A or B (Rust
#             systems; default: this checkout's release build). Two builds of
#             the same system, e.g. `--bin-b <old checkout>/target/release/
#             tessera-bench-load verify tessera tessera`, compare one version
#             with another.
#
# Both servers are pinned to CPU 0 and loaded at once, each by its own
# `tessera-bench-load hit` (32 connections, closed loop) pinned to CPU 1, so
# whatever the host does to CPU 0 during a run it does to both. Per run it
# prints each system's requests/s and server CPU per request (user + system
# time of the server process, every thread, from /proc/PID/stat, over the
# whole run), and A ÷ B by CPU per request (B's µs ÷ A's µs: above 1 means
# A is cheaper) and by requests/s. The CPU ratio is the figure to read:
# sharing one core, the two servers' requests/s also depend on how the
# scheduler splits it. Sessions: `--login` (one per connection) for systems
# that have `POST /login/{user}`; the others get a fixed cookie header of a
# real access token's size. A run with a failed request stops the script.
#
# Needs what bench/load/run.sh builds: target/release/tessera-bench-load and
# the virtualenv with the tessera wheel (TESSERA_BENCH_VENV). Measures; asserts
# nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${TESSERA_BENCH_VENV:-$target/bench-load/venv}"
bin="$target/release/tessera-bench-load"

duration=10
repeats=5
bin_a="$bin"
bin_b="$bin"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --repeats) repeats="$2"; shift 2 ;;
        --bin-a) bin_a="$2"; shift 2 ;;
        --bin-b) bin_b="$2"; shift 2 ;;
        -h|--help) sed -n 2,31p "$0"; exit 0 ;;
        *) break ;;
    esac
done
if [ $# -ne 3 ]; then
    echo "usage: $0 [--duration S] [--repeats N] [--bin-a PATH] [--bin-b PATH] verify|data A B" >&2
    exit 2
fi
workload="$1"; a="$2"; b="$3"
case "$workload" in
    verify) path=/verify; method=() ;;
    data) path=/data; method=(--post) ;;
    *) echo "unknown workload: $workload" >&2; exit 2 ;;
esac
for b_ in "$bin" "$bin_a" "$bin_b"; do
    [ -x "$b_" ] || { echo "$b_ missing: run bench/load/run.sh --quick first" >&2; exit 2; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME SERVER_BINARY TAG -> sets $server_pid and $server_port
start() {
    local name="$1" server_bin="$2" tag="$3" port
    port="$(free_port)"
    case "$name" in
        bare|axum-floor|tessera|ts-sqlite|ts-memory)
            local db="sqlite://$work/$tag.db"
            [ "$name" = ts-sqlite ] && db="$work/$tag.db"
            taskset -c 0 "$server_bin" serve "$name" --database "$db" --addr "127.0.0.1:$port" \
                >"$work/$tag.out" 2>"$work/$tag.log" &
            ;;
        fastapi-bare|fastapi-bare-depends|fastapi-tessera)
            local module=app_bare:app
            [ "$name" = fastapi-bare-depends ] && module=app_bare:app_depends
            [ "$name" = fastapi-tessera ] && module=app_tessera:app
            (cd "$here/python" && TESSERA_DATABASE_URL="sqlite://$work/$tag.db" exec taskset -c 0 \
                "$venv/bin/python" -m uvicorn "$module" --host 127.0.0.1 --port "$port" --workers 1 \
                --loop uvloop --http httptools --log-level warning --no-access-log \
                >"$work/$tag.out" 2>"$work/$tag.log") &
            ;;
        *) echo "unknown system: $name" >&2; exit 2 ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    server_port="$port"
    for _ in $(seq 1 200); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    echo "$name did not start:" >&2
    cat "$work/$tag.log" >&2
    exit 1
}

session_args() {
    case "$1" in
        tessera|ts-sqlite|ts-memory|fastapi-tessera) echo --login ;;
        *) echo "--cookie sAccessToken=$(head -c 813 /dev/zero | tr '\0' a)" ;;
    esac
}

cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# (uvicorn's subshell execs it: $! is the serving process either way)
start "$a" "$bin_a" a; a_pid="$server_pid"; a_port="$server_port"
start "$b" "$bin_b" b; b_pid="$server_pid"; b_port="$server_port"
tck="$(getconf CLK_TCK)"

echo "== $workload: $a (A) and $b (B), both on CPU 0 at once; ${repeats} runs of ${duration} s"
[ "$bin_a" = "$bin" ] || echo "   A served by $bin_a"
[ "$bin_b" = "$bin" ] || echo "   B served by $bin_b"
for run in $(seq 1 "$repeats"); do
    a0="$(cpu_ticks "$a_pid")"; b0="$(cpu_ticks "$b_pid")"
    # shellcheck disable=SC2046
    taskset -c 1 "$bin" hit --addr "127.0.0.1:$a_port" --path "$path" "${method[@]}" $(session_args "$a") \
        --duration "$duration" >"$work/a.hit" 2>&1 &
    ha=$!
    # shellcheck disable=SC2046
    taskset -c 1 "$bin" hit --addr "127.0.0.1:$b_port" --path "$path" "${method[@]}" $(session_args "$b") \
        --duration "$duration" >"$work/b.hit" 2>&1 &
    hb=$!
    ok=1
    wait "$ha" || ok=0
    wait "$hb" || ok=0
    [ "$ok" = 1 ] || { cat "$work/a.hit" "$work/b.hit" >&2; exit 1; }
    a1="$(cpu_ticks "$a_pid")"; b1="$(cpu_ticks "$b_pid")"
    python3 - "$a" "$b" "$work/a.hit" "$work/b.hit" "$((a1 - a0))" "$((b1 - b0))" "$tck" "$run" <<'PY'
import re, sys
a, b, ah, bh, at, bt, tck, run = sys.argv[1:]
def read(path):
    text = open(path).read()
    m = re.search(r"(\d+) req/s .*requests (\d+)\s+errors (\d+)", text)
    if not m:
        sys.exit(f"no result in {path}: {text}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))
(ar, an, ae), (br, bn, be) = read(ah), read(bh)
acpu = int(at) / int(tck) * 1e6 / an
bcpu = int(bt) / int(tck) * 1e6 / bn
print(f"run {run}: A {a} {ar} req/s {acpu:.2f} µs/req | B {b} {br} req/s {bcpu:.2f} µs/req | "
      f"A÷B by CPU {bcpu / acpu:.3f}, by req/s {ar / br:.3f} | errors {ae}/{be}")
if ae or be:
    sys.exit("requests failed: the run does not count")
PY
done
