"""A session created from Python is usable from a Rust app on the same
SQLite file, and the other way round. The Rust app is the seed example
(`tessera-seed-example`, tessera-axum) run as a process; its path comes from
TESSERA_SEED_BIN (run-tests.sh builds it)."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tessera import Engine

from conftest import _serve, tokens

SEED_BIN = os.environ.get("TESSERA_SEED_BIN", "")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if not SEED_BIN or not Path(SEED_BIN).exists():
        pytest.fail("TESSERA_SEED_BIN must name the built tessera-seed-example binary (run-tests.sh sets it)")
    db = tmp_path / "shared.db"
    # Python first: it creates the tables and the signing key.
    engine = Engine(f"sqlite://{db}", cookie_secure=False)
    gen = _serve(engine)
    py_url = next(gen)
    proc = subprocess.Popen(
        [SEED_BIN],
        env={
            **os.environ,
            "TESSERA_DATABASE_URL": f"sqlite://{db}",
            "TESSERA_ADDR": "127.0.0.1:0",
            "TESSERA_COOKIE_SECURE": "false",
            "RUST_LOG": "warn",
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        rust_url = ""
        for line in proc.stdout:  # log lines may come first
            if line.startswith("seed app on "):
                rust_url = line.split("seed app on ", 1)[1].strip()
                break
        assert rust_url, "the seed app did not start"
        # Keep draining its output so that it never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield py_url, rust_url
    finally:
        proc.terminate()
        proc.wait(10)
        for _ in gen:
            pass


def test_a_python_session_works_in_the_rust_app(shared: tuple[str, str]) -> None:
    py_url, rust_url = shared
    login = httpx.post(f"{py_url}/login/pyuser")
    t = tokens(login)
    auth = {"authorization": f"Bearer {t['access']}"}
    # The seed handler on Rust reads and writes the Python session's data
    # and payload, then revokes it.
    r = httpx.post(f"{rust_url}/test", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "user": "pyuser"}
    # Revoked in the shared database: Python's database-checked route agrees.
    gone = httpx.post(f"{py_url}/check-db", headers=auth)
    assert gone.status_code == 401


def test_a_rust_session_works_in_the_python_app_and_refreshes_there(shared: tuple[str, str]) -> None:
    py_url, rust_url = shared
    login = httpx.post(f"{rust_url}/login/rustuser")
    assert login.status_code == 200, login.text
    t = tokens(login)
    auth = {"authorization": f"Bearer {t['access']}"}
    data = httpx.post(f"{py_url}/data", headers=auth)
    assert data.status_code == 200 and data.json() == {"cart": [1, 2]}
    refreshed = httpx.post(f"{py_url}/auth/session/refresh", headers={"authorization": f"Bearer {t['refresh']}"})
    assert refreshed.status_code == 200
    new = tokens(refreshed)
    # The Rust app takes the token Python rotated.
    r = httpx.post(f"{rust_url}/test", headers={"authorization": f"Bearer {new['access']}"})
    assert r.status_code == 200 and r.json()["user"] == "rustuser"


def test_a_python_session_refreshes_in_the_rust_app_and_python_takes_the_new_tokens(
    shared: tuple[str, str],
) -> None:
    py_url, rust_url = shared
    t = tokens(httpx.post(f"{py_url}/login/both"))
    # Rust rotates the refresh token that Python issued.
    refreshed = httpx.post(f"{rust_url}/auth/session/refresh", headers={"authorization": f"Bearer {t['refresh']}"})
    assert refreshed.status_code == 200, refreshed.text
    new = tokens(refreshed)
    assert new["access"] and new["refresh"] and new["refresh"] != t["refresh"]
    # Python verifies the access token Rust signed, and reads the data it kept.
    data = httpx.post(f"{py_url}/data", headers={"authorization": f"Bearer {new['access']}"})
    assert data.status_code == 200 and data.json() == {"cart": [1, 2]}
    # Python refreshes with the token Rust rotated.
    again = httpx.post(f"{py_url}/auth/session/refresh", headers={"authorization": f"Bearer {new['refresh']}"})
    assert again.status_code == 200, again.text
    assert httpx.post(f"{py_url}/check-db", headers={"authorization": f"Bearer {tokens(again)['access']}"}).status_code == 200
