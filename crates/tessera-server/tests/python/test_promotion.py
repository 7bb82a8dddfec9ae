"""CDI 5.4's refresh model with supertokens-python 0.31.4 against `tessera serve`.

The SDK negotiates CDI 5.4, so tessera serves it the core's child-token
model: a refresh hands out a child refresh token and an access token that
carries `parentRefreshTokenHash1`; the SDK, seeing that claim, asks the
core's verify on the next request, which promotes the child and answers a
new access token (without the claim) that the SDK sets on its response.
Once promoted, the parent refresh token is theft. run.sh starts tessera and
the FastAPI app of app.py; environment as for test_compat.py.
"""

import base64
import hashlib
import json
import os
import uuid

import httpx

APP_URL = os.environ["APP_URL"]
TESSERA_URL = os.environ["TESSERA_URL"]
API_KEY = os.environ.get("TESSERA_API_KEY", "")

VERIFY_CALLS = 'tessera_http_requests_total{method="POST",endpoint="/recipe/session/verify",status="200"}'
THEFT = "tessera_token_theft_detected_total"


def new_client() -> httpx.Client:
    return httpx.Client(base_url=APP_URL, timeout=10.0)


def login(client: httpx.Client) -> str:
    r = client.post("/login", json={"userId": f"user-{uuid.uuid4()}"})
    assert r.status_code == 200, r.text
    return r.json()["handle"]


def refresh(client: httpx.Client) -> httpx.Response:
    return client.post("/auth/session/refresh")


def metric(name_and_labels: str) -> float:
    r = httpx.get(f"{TESSERA_URL}/metrics", headers={"api-key": API_KEY}, timeout=10.0)
    assert r.status_code == 200, r.text
    for line in r.text.splitlines():
        if line.startswith(name_and_labels + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def hash1(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_exists(handle: str) -> bool:
    return httpx.get(f"{APP_URL}/sessions/{handle}", timeout=10.0).json()["exists"]


def test_refresh_hands_out_a_child_and_the_next_request_promotes_it():
    client = new_client()
    handle = login(client)
    parent = client.cookies["sRefreshToken"]

    assert refresh(client).status_code == 200
    child = client.cookies["sRefreshToken"]
    assert child != parent
    claims = payload(client.cookies["sAccessToken"])
    assert claims["parentRefreshTokenHash1"] == hash1(parent)
    assert claims["refreshTokenHash1"] == hash1(child)

    # The SDK sees the parent claim and asks tessera's verify, which
    # promotes the child and answers a new access token without the claim.
    before = metric(VERIFY_CALLS)
    r = client.get("/me")
    assert r.status_code == 200, r.text
    assert r.json()["handle"] == handle
    assert metric(VERIFY_CALLS) == before + 1
    assert r.headers.get("front-token"), "the SDK sent the new access token"
    promoted = payload(client.cookies["sAccessToken"])
    assert promoted["parentRefreshTokenHash1"] is None
    assert promoted["refreshTokenHash1"] == hash1(child)

    # From now on the SDK verifies locally again.
    assert client.get("/me").status_code == 200
    assert metric(VERIFY_CALLS) == before + 1
    # The promoted child refreshes.
    assert refresh(client).status_code == 200
    assert client.get("/me").status_code == 200


def test_parent_reuse_after_promotion_is_theft_and_revokes():
    client = new_client()
    handle = login(client)
    stolen = client.cookies["sRefreshToken"]
    assert refresh(client).status_code == 200
    assert client.get("/me").status_code == 200  # promotes the child
    thefts = metric(THEFT)

    attacker = new_client()
    attacker.cookies.set("sRefreshToken", stolen)
    r = refresh(attacker)
    assert r.status_code == 401, r.text
    assert r.json() == {"message": "token theft detected"}
    assert metric(THEFT) == thefts + 1
    assert not session_exists(handle)
    assert refresh(client).status_code == 401


def test_parent_reuse_before_promotion_is_a_second_child_and_the_loser_is_theft():
    """Two tabs refresh with the same token before either uses its access
    token: both get a child (the core writes nothing at such a refresh).
    The first child promoted wins; the other child's refresh is theft."""
    first = new_client()
    handle = login(first)
    second = new_client()
    second.cookies.set("sRefreshToken", first.cookies["sRefreshToken"])

    assert refresh(first).status_code == 200
    assert refresh(second).status_code == 200
    # The second tab's jar now holds the token set by hand and the child the
    # SDK set on the refresh path; keep only the child.
    loser = new_client()
    loser.cookies.set(
        "sRefreshToken", second.cookies.get("sRefreshToken", path="/auth/session/refresh")
    )
    assert first.cookies["sRefreshToken"] != loser.cookies["sRefreshToken"]
    assert first.get("/me").status_code == 200  # promotes the first child
    assert session_exists(handle)

    r = refresh(loser)
    assert r.status_code == 401, r.text
    assert r.json() == {"message": "token theft detected"}
    assert not session_exists(handle)


def test_refresh_with_an_unused_child_promotes_it():
    client = new_client()
    login(client)
    parent = client.cookies["sRefreshToken"]
    assert refresh(client).status_code == 200
    child = client.cookies["sRefreshToken"]
    # No request in between: the child itself refreshes, and is promoted.
    assert refresh(client).status_code == 200
    claims = payload(client.cookies["sAccessToken"])
    assert claims["parentRefreshTokenHash1"] == hash1(child)
    assert client.get("/me").status_code == 200

    attacker = new_client()
    attacker.cookies.set("sRefreshToken", parent)
    assert refresh(attacker).status_code == 401
