"""In-process ASGI driver for counting instructions per request:
`python drive.py MODULE:APP N` sends `GET /verify` N times through the
ASGI app (uvloop, no server) with the cookie of a session made by
app_tessera. With CG=1 (under `valgrind --tool=callgrind
--instr-atstart=no`, see count.sh) only the N measured requests are
collected (libcg.so: CALLGRIND_ZERO_STATS / CALLGRIND_DUMP_STATS)."""
import asyncio, importlib, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
db = f"{os.environ.get('TMPDIR', '/tmp')}/tessera-drive-{os.getpid()}.db"
os.environ["TESSERA_DATABASE_URL"] = f"sqlite://{db}"
target, n = sys.argv[1], int(sys.argv[2])
mod, attr = target.split(":")
app = getattr(importlib.import_module(mod), attr)
tapp = None

def scope(method, path, headers):
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": headers, "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "state": {}}

async def call(a, sc):
    out = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(m):
        out.append(m)
    await a(sc, receive, send)
    return out

async def main():
    # A real session from the tessera app (its cookie goes to every system).
    import app_tessera
    msgs = await call(app_tessera.app, scope("POST", "/login/u1", [(b"host", b"127.0.0.1:8000"), (b"content-length", b"0")]))
    cookies = []
    for k, v in msgs[0]["headers"]:
        if k.lower() == b"set-cookie":
            c = v.split(b";")[0]
            if not c.startswith(b"sRefreshToken="):
                cookies.append(c)
    cookie = b"; ".join(cookies)
    headers = [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]
    first = await call(app, scope("GET", "/verify", list(headers)))
    assert first[0]["status"] == 200, first
    for _ in range(500):
        await call(app, scope("GET", "/verify", list(headers)))
    cg = None
    if os.environ.get("CG"):
        import ctypes
        cg = ctypes.CDLL(os.environ["CG_LIB"])
        cg.cg_start()
    t0 = time.process_time()
    for _ in range(n):
        await call(app, scope("GET", "/verify", list(headers)))
    t1 = time.process_time()
    if cg is not None:
        cg.cg_stop()
    if n:
        print(f"{target}: {n} requests, {(t1 - t0) / n * 1e6:.2f} us CPU/request (process_time), cookie {len(cookie)} B", file=sys.stderr)

import uvloop
uvloop.run(main())
for f in (db, db + "-wal", db + "-shm"):
    if os.path.exists(f):
        os.remove(f)
