"""A real uvicorn server on 127.0.0.1 (a port the OS picks), serving the
test app over a SQLite file in a temp directory; the engine runs on a
manual clock and counts its session-table calls (Engine(testing=True)):
tests move the clock, never sleep."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import httpx
import pytest
import uvicorn

from tessera import Engine, _tessera

from app import make_app

if not _tessera.TESTING:  # pragma: no cover
    raise RuntimeError("the tests need a wheel built with --features testing (run-tests.sh does it)")


class Server:
    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.client = httpx.Client(base_url=url)

    def bare(self) -> httpx.Client:
        """A client without the shared cookie jar."""
        return httpx.Client(base_url=self.url)

    def calls(self) -> int:
        return self.engine.session_calls()

    def advance(self, seconds: float) -> None:
        self.engine.advance_clock(seconds)

    def login_cookie(self, user: str) -> httpx.Response:
        r = self.client.post(f"/login/{user}", headers={"st-auth-mode": "cookie"})
        assert r.status_code == 200, r.text
        return r

    def login_header(self, user: str) -> Dict[str, str]:
        r = self.bare().post(f"/login/{user}")
        assert r.status_code == 200, r.text
        return tokens(r)


def tokens(r: httpx.Response) -> Dict[str, str]:
    return {
        "access": r.headers.get("st-access-token", ""),
        "refresh": r.headers.get("st-refresh-token", ""),
        "front": r.headers.get("front-token", ""),
        "anti_csrf": r.headers.get("anti-csrf", ""),
    }


def decode_front_token(front: str) -> Any:
    return json.loads(base64.b64decode(front + "=" * (-len(front) % 4)))


def set_cookies(r: httpx.Response, name: str) -> List[str]:
    return [c for c in r.headers.get_list("set-cookie") if c.startswith(name + "=")]


def is_clearing(cookie: str) -> bool:
    return cookie.split(";")[0].endswith("=") and "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in cookie


def _serve(engine: Engine) -> Iterator[str]:
    return serve_app(make_app(engine))


def serve_app(app: Any) -> Iterator[str]:
    """Serves `app` on 127.0.0.1 (a port the OS picks) until the generator
    is resumed: yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts a server with Engine settings (cookie_secure=False, a manual
    clock and a counting store unless told otherwise)."""
    stack: List[Iterator[str]] = []

    def run(**settings: Any) -> Server:
        settings.setdefault("cookie_secure", False)
        settings.setdefault("testing", True)
        settings.setdefault("refresh_grace_period", 30)
        engine = Engine(f"sqlite://{tmp_path}/tessera-{len(stack)}.db", **settings)
        gen = _serve(engine)
        url = next(gen)
        stack.append(gen)
        return Server(engine, url)

    yield run
    for gen in stack:
        for _ in gen:
            pass


@pytest.fixture
def server(start: Callable[..., Server]) -> Server:
    return start()
