"""supertokens-python 0.31.4 against `tessera serve`, driven over HTTP.

run.sh starts tessera (with --refresh-grace-period 1 and an API key) and the
FastAPI app in app.py, then runs this file. Environment: APP_URL,
TESSERA_URL, TESSERA_API_KEY, GRACE_SECONDS.
"""

import os
import re
import time
import uuid

import httpx
import pytest

APP_URL = os.environ["APP_URL"]
TESSERA_URL = os.environ["TESSERA_URL"]
API_KEY = os.environ.get("TESSERA_API_KEY", "")
GRACE_SECONDS = float(os.environ.get("GRACE_SECONDS", "1"))


def new_client() -> httpx.Client:
    """A browser-like client: keeps cookies, follows nothing."""
    return httpx.Client(base_url=APP_URL, timeout=10.0)


def user_id() -> str:
    return f"user-{uuid.uuid4()}"


def login(client: httpx.Client, uid: str) -> dict:
    r = client.post("/login", json={"userId": uid})
    assert r.status_code == 200, r.text
    assert "sAccessToken" in client.cookies
    assert "sRefreshToken" in client.cookies
    assert r.headers.get("front-token"), "the SDK sends a front token"
    return r.json()


def refresh(client: httpx.Client) -> httpx.Response:
    return client.post("/auth/session/refresh")


def metric(name_and_labels: str) -> float:
    """A value from tessera's /metrics (0 when the series does not exist yet)."""
    r = httpx.get(f"{TESSERA_URL}/metrics", headers={"api-key": API_KEY}, timeout=10.0)
    assert r.status_code == 200, r.text
    for line in r.text.splitlines():
        if line.startswith(name_and_labels + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


VERIFY_CALLS = 'tessera_http_requests_total{method="POST",endpoint="/recipe/session/verify",status="200"}'
JWKS_CALLS = 'tessera_http_requests_total{method="GET",endpoint="/.well-known/jwks.json",status="200"}'


def test_create_session_and_verify_it_locally_through_jwks():
    client = new_client()
    uid = user_id()
    created = login(client, uid)
    assert created["userId"] == uid

    verify_before = metric(VERIFY_CALLS)
    for _ in range(3):
        r = client.get("/me")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["userId"] == uid
        assert body["handle"] == created["handle"]
        assert body["payload"]["role"] == "reader"
        assert body["payload"]["sub"] == uid
        assert body["payload"]["tId"] == "public"
    # Three verify_session() calls, not one core verify: the SDK checked
    # tessera's RS256 signature itself with keys from tessera's JWKS.
    assert metric(VERIFY_CALLS) == verify_before
    assert metric(JWKS_CALLS) >= 1


def test_check_database_asks_tessera_verify():
    client = new_client()
    login(client, user_id())
    before = metric(VERIFY_CALLS)
    r = client.get("/me/checked")
    assert r.status_code == 200, r.text
    assert metric(VERIFY_CALLS) == before + 1


def test_seed_handler_reads_and_writes_data_merges_payload_and_revokes():
    client = new_client()
    uid = user_id()
    handle = login(client, uid)["handle"]

    r = client.post("/seed")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["user"] == uid
    assert body["dataBefore"] == {"visits": 0}
    assert body["dataAfter"] == {"visits": 0, "newKey": "newVal"}
    assert body["payload"]["newKey"] == "newVal"
    assert body["payload"]["role"] == "reader"

    # Revoked: tessera no longer knows the session, and the SDK cleared the cookies.
    info = httpx.get(f"{APP_URL}/sessions/{handle}", timeout=10.0).json()
    assert info == {"exists": False}
    assert refresh(client).status_code == 401


def test_merged_payload_is_stored_and_survives_refresh():
    client = new_client()
    handle = login(client, user_id())["handle"]
    r = client.post("/merge", json={"plan": "gold"})
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["plan"] == "gold"
    # The SDK sent the new access token at once ...
    assert client.get("/me").json()["payload"]["plan"] == "gold"
    # ... tessera stored the payload ...
    info = httpx.get(f"{APP_URL}/sessions/{handle}", timeout=10.0).json()
    assert info["exists"] is True
    assert info["customClaimsInAccessTokenPayload"]["plan"] == "gold"
    assert info["customClaimsInAccessTokenPayload"]["role"] == "reader"
    assert info["tenantId"] == "public"
    # ... and puts it in the tokens a refresh issues.
    assert refresh(client).status_code == 200
    assert client.get("/me").json()["payload"]["plan"] == "gold"
    # null removes a claim.
    client.post("/merge", json={"plan": None})
    assert "plan" not in client.get("/me").json()["payload"]


def test_custom_claim_is_fetched_set_and_validated_through_regenerate():
    """A PrimitiveClaim written by fetch_and_set_claim, set_claim_value and the
    refetch inside verify_session: each merges into the whole payload and
    regenerates the token through tessera. tessera's tokens carry the core's
    claims (no `stt`), so the payload round-trips with any SDK version."""
    client = new_client()
    handle = login(client, user_id())["handle"]
    regenerate_calls = 'tessera_http_requests_total{method="POST",endpoint="/recipe/session/regenerate",status="200"}'
    before = metric(regenerate_calls)

    # No claim yet: the validator makes verify_session fetch and set it.
    r = client.get("/claims/needs-pro")
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["st-plan"]["v"] == "pro"
    assert metric(regenerate_calls) == before + 1
    me = client.get("/me").json()["payload"]
    assert me["st-plan"]["v"] == "pro"
    assert "stt" not in me
    assert me["role"] == "reader"

    # set_claim_value: the new value is in the next token; the validator for
    # the old value now fails with the SDK's 403.
    r = client.post("/claims/set", json={"value": "enterprise"})
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "enterprise"
    r = client.get("/claims/needs-pro")
    assert r.status_code == 403, r.text
    assert r.json()["message"] == "invalid claim"
    assert client.get("/claims/needs-enterprise").status_code == 200

    # fetch_and_set_claim: fetch_value's answer replaces it again.
    r = client.post("/claims/fetch")
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "pro"
    assert client.get("/claims/needs-pro").status_code == 200
    assert client.get("/claims/needs-enterprise").status_code == 403
    assert metric(regenerate_calls) == before + 3

    # tessera stored the claim, and a refresh keeps it.
    info = httpx.get(f"{APP_URL}/sessions/{handle}", timeout=10.0).json()
    assert info["customClaimsInAccessTokenPayload"]["st-plan"]["v"] == "pro"
    assert "stt" not in info["customClaimsInAccessTokenPayload"]
    assert refresh(client).status_code == 200
    assert client.get("/claims/needs-pro").status_code == 200
    assert "stt" not in client.get("/me").json()["payload"]


def test_refresh_rotates_tokens():
    client = new_client()
    uid = user_id()
    handle = login(client, uid)["handle"]
    old_access = client.cookies["sAccessToken"]
    old_refresh = client.cookies["sRefreshToken"]

    r = refresh(client)
    assert r.status_code == 200, r.text
    assert r.headers.get("front-token")
    assert client.cookies["sAccessToken"] != old_access
    assert client.cookies["sRefreshToken"] != old_refresh, "the refresh token rotates"

    r = client.get("/me")
    assert r.status_code == 200, r.text
    assert r.json()["handle"] == handle
    # And again: the new refresh token refreshes too.
    assert refresh(client).status_code == 200
    assert client.get("/me").status_code == 200


def test_replayed_refresh_token_after_grace_is_theft_and_revokes():
    client = new_client()
    uid = user_id()
    handle = login(client, uid)["handle"]
    stolen = client.cookies["sRefreshToken"]

    assert refresh(client).status_code == 200
    # The SDK speaks CDI 5.4: its refresh handed out a child refresh token,
    # and the next request's verify promotes it. Only then is the old token
    # retired (before, reusing it is another child: test_promotion.py).
    assert client.get("/me").status_code == 200
    time.sleep(GRACE_SECONDS + 0.5)

    attacker = new_client()
    attacker.cookies.set("sRefreshToken", stolen)
    r = refresh(attacker)
    assert r.status_code == 401, r.text
    assert r.json() == {"message": "token theft detected"}

    # The session is gone: the victim's current refresh token is dead too.
    info = httpx.get(f"{APP_URL}/sessions/{handle}", timeout=10.0).json()
    assert info == {"exists": False}
    assert refresh(client).status_code == 401
    assert metric("tessera_token_theft_detected_total") >= 1


def test_sessions_of_a_user_are_listed_and_revoked():
    uid = user_id()
    clients = [new_client() for _ in range(2)]
    handles = sorted(login(c, uid)["handle"] for c in clients)

    listed = httpx.get(f"{APP_URL}/users/{uid}/sessions", timeout=10.0).json()
    assert sorted(listed["handles"]) == handles

    revoked = httpx.post(f"{APP_URL}/users/{uid}/sessions/revoke", timeout=10.0).json()
    assert sorted(revoked["revoked"]) == handles
    listed = httpx.get(f"{APP_URL}/users/{uid}/sessions", timeout=10.0).json()
    assert listed["handles"] == []
    for c in clients:
        assert c.get("/me/checked").status_code == 401
        assert refresh(c).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        # Well-formed but signed by nobody tessera knows.
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiI1Iiwia2lkIjoiZC0xIn0."
        "eyJzdWIiOiJ4In0.c2ln",
    ],
)
def test_garbage_access_token_is_401(token):
    client = new_client()
    client.cookies.set("sAccessToken", token)
    r = client.get("/me")
    assert r.status_code == 401, r.text
    assert r.json()["message"] in ("unauthorised", "try refresh token")


def test_no_session_is_401():
    r = new_client().get("/me")
    assert r.status_code == 401
    assert r.json() == {"message": "unauthorised"}


def test_tessera_enforces_its_api_key():
    r = httpx.get(f"{TESSERA_URL}/apiversion", timeout=10.0)
    assert r.status_code == 401
    r = httpx.get(f"{TESSERA_URL}/apiversion", headers={"api-key": API_KEY}, timeout=10.0)
    assert r.status_code == 200
    assert "5.4" in r.json()["versions"]
    # JWKS stays open: the SDK fetches it without any header.
    r = httpx.get(f"{TESSERA_URL}/.well-known/jwks.json", timeout=10.0)
    assert r.status_code == 200
    assert re.match(r"max-age=\d+", r.headers["cache-control"])
