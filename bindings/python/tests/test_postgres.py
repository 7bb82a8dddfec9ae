"""PostgreSQL for many app servers: two FastAPI servers, each with its own
engine on the same database; a session made on one is verified, refreshed
and revoked on the other. Needs TESSERA_TEST_POSTGRES_URL (.ci/run sets it)."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import httpx
import pytest

from tessera import Engine

from conftest import _serve, tokens

URL = os.environ.get("TESSERA_TEST_POSTGRES_URL", "")


@pytest.fixture
def two_servers() -> Iterator[tuple[str, str]]:
    if not URL:
        pytest.skip("TESSERA_TEST_POSTGRES_URL is not set: the PostgreSQL test did NOT run")
    gens = [_serve(Engine(URL, cookie_secure=False)) for _ in range(2)]
    urls = [next(g) for g in gens]
    try:
        yield urls[0], urls[1]
    finally:
        for g in gens:
            for _ in g:
                pass


def test_a_session_made_on_one_app_server_works_on_the_other(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    user = f"pg-{uuid.uuid4()}"
    t = tokens(httpx.post(f"{a}/login/{user}"))
    auth = {"authorization": f"Bearer {t['access']}"}
    assert httpx.post(f"{b}/data", headers=auth).json() == {"cart": [1, 2]}
    refreshed = httpx.post(f"{b}/auth/session/refresh", headers={"authorization": f"Bearer {t['refresh']}"})
    assert refreshed.status_code == 200
    new = {"authorization": f"Bearer {tokens(refreshed)['access']}"}
    assert httpx.post(f"{a}/user", headers=new).json() == {"user": user}
    assert httpx.post(f"{a}/revoke", headers=new).status_code == 200
    gone = httpx.post(f"{b}/check-db", headers=new)
    assert gone.status_code == 401 and gone.json() == {"message": "unauthorised"}
