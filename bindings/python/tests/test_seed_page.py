"""The seed page's examples (tests/seed_page.py: SuperTokens' FastAPI
"Session Object" page, https://supertokens.com/docs/fastapi/usage/session-object,
with the "User Login" and "Session Handle" pages) served by uvicorn and
driven over HTTP, in cookie mode as supertokens-website uses them."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator, Tuple

import httpx
import pytest

from conftest import is_clearing, serve_app, set_cookies


@pytest.fixture
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tuple[ModuleType, httpx.Client]]:
    monkeypatch.setenv("TESSERA_SEED_PAGE_DB", f"sqlite://{tmp_path}/seed-page.db")
    sys.modules.pop("seed_page", None)
    module = importlib.import_module("seed_page")
    gen = serve_app(module.app)
    url = next(gen)
    try:
        yield module, httpx.Client(base_url=url, headers={"st-auth-mode": "cookie"})
    finally:
        for _ in gen:
            pass


def test_the_pages_spread_lines_are_not_python_so_two_lines_differ() -> None:
    # The page's lines, as written (JavaScript's spread in a Python page).
    for line in ('{***session_data, newKey: "newVal"}', '{...payload_data, newKey: "newVal"}'):
        with pytest.raises(SyntaxError):
            compile(line, "<seed page>", "eval")


def test_seed_page_example_reads_and_writes_then_revokes_with_4_database_calls(
    page: Tuple[ModuleType, httpx.Client],
) -> None:
    module, client = page
    engine = module.app.state.tessera_engine
    login = client.post("/login")
    assert login.status_code == 200 and login.json() == {"userId": "userId"}
    assert set_cookies(login, "sAccessToken") and set_cookies(login, "sRefreshToken")

    before = engine.session_calls()
    r = client.post("/test")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}
    # get_session_data, update_session_data, update_jwt_payload, revoke_session.
    assert engine.session_calls() - before == 4
    writes = json.loads(engine.store_writes())
    assert writes["data"] == [
        {"awesomeThings": ["programming", "javascript", "supertokens"], "newKey": "newVal"}
    ]
    assert writes["payload"] == [{"name": "spooky action at a distance", "newKey": "newVal"}]
    # Revoked: the cookies are cleared on this response and the next call is 401.
    assert r.headers["front-token"] == "remove"
    assert is_clearing(set_cookies(r, "sAccessToken")[-1])
    assert is_clearing(set_cookies(r, "sRefreshToken")[-1])
    again = client.post("/test")
    assert again.status_code == 401 and again.json() == {"message": "unauthorised"}


def test_seed_page_without_a_session_is_401(page: Tuple[ModuleType, httpx.Client]) -> None:
    _, client = page
    r = client.post("/test")
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}


def test_session_handle_page_functions_by_handle(page: Tuple[ModuleType, httpx.Client]) -> None:
    _, client = page
    base = str(client.base_url)
    for _ in range(3):  # two other sessions of the same user
        assert httpx.post(f"{base}/login", headers={"st-auth-mode": "cookie"}).status_code == 200
    assert client.post("/login").status_code == 200
    r = client.post("/handles/userId")
    assert r.status_code == 200, r.text
    seen = r.json()
    assert len(seen["handles"]) == 4
    assert seen["payload"] == {"name": "spooky action at a distance", "seen": True}
    assert seen["data"] == {"awesomeThings": ["programming", "javascript", "supertokens"], "seen": True}
    assert seen["revoked"] is True
    # The first was already revoked: only the second is reported.
    assert len(seen["revoked_multiple"]) == 1
    # The rest: this request's session and the last other one.
    assert len(seen["revoked_all"]) == 2
    assert client.post("/test").status_code == 401
