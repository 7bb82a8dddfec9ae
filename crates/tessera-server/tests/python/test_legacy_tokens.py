"""SuperTokens core's older token formats through supertokens-python 0.31.4.

A create speaking an old CDI version (2.8: a v2 token, as the SDK's own
suite makes one; 3.0: a v4 token) gives a token today's SDK must verify
(locally through JWKS and with a database check), refuse once the session
is revoked, and refresh to a v5 token; a `create_jwt` token carrying the
session's claims is an access token, as to the core. run.sh starts tessera;
environment: TESSERA_URL, TESSERA_API_KEY.
"""

import base64
import json
import uuid

import httpx
import pytest

from supertokens_python.recipe.jwt.asyncio import create_jwt
from supertokens_python.recipe.session.asyncio import (
    create_new_session_without_request_response,
    get_session_without_request_response,
    refresh_session_without_request_response,
    revoke_session,
)
from supertokens_python.types import RecipeUserId

from test_apps import API_KEY, create_app, run, use_sdk

V2_HEADER = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0="


def part(token: str, i: int) -> dict:
    raw = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(raw.replace("+", "-").replace("/", "_") + "=" * (-len(raw) % 4)))


def create_as(uri: str, cdi_version: str, user: str, payload: dict) -> dict:
    r = httpx.post(
        f"{uri}/recipe/session",
        json={"userId": user, "enableAntiCsrf": False, "userDataInJWT": payload, "userDataInDatabase": {}},
        headers={"api-key": API_KEY, "cdi-version": cdi_version, "rid": "session"},
        timeout=10.0,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "OK", body
    return body


def test_a_v2_token_verifies_is_refused_once_revoked_and_refreshes_to_v5():
    uri = create_app({})
    use_sdk(uri, API_KEY)
    user = f"py-legacy-{uuid.uuid4()}"
    body = create_as(uri, "2.8", user, {"role": "reader"})
    token = body["accessToken"]["token"]
    assert token.startswith(V2_HEADER)
    for check_database in (False, True):
        s = run(get_session_without_request_response(token, check_database=check_database))
        assert s.get_user_id() == user
        assert s.get_handle() == body["session"]["handle"]
        assert s.get_access_token_payload()["role"] == "reader"

    refreshed = run(refresh_session_without_request_response(body["refreshToken"]["token"]))
    v5 = refreshed.get_all_session_tokens_dangerously()["accessToken"]
    assert part(v5, 0)["version"] == "5"
    assert part(v5, 1)["sub"] == user
    assert part(v5, 1)["role"] == "reader"

    gone = create_as(uri, "2.8", f"{user}-2", {})
    assert run(revoke_session(gone["session"]["handle"]))
    with pytest.raises(Exception):  # noqa: B017 - the SDK's UnauthorisedError
        run(get_session_without_request_response(gone["accessToken"]["token"], check_database=True))


def test_a_v4_token_has_the_v4_claims_and_verifies():
    uri = create_app({})
    use_sdk(uri, API_KEY)
    body = create_as(uri, "3.0", f"py-v4-{uuid.uuid4()}", {})
    token = body["accessToken"]["token"]
    assert part(token, 0)["version"] == "4"
    assert "rsub" not in part(token, 1) and part(token, 1)["tId"] == "public"
    s = run(get_session_without_request_response(token, check_database=True))
    assert s.get_handle() == body["session"]["handle"]


def test_a_create_jwt_token_with_the_session_claims_is_an_access_token():
    uri = create_app({})
    use_sdk(uri, API_KEY)

    async def go():
        s = await create_new_session_without_request_response(
            "public", RecipeUserId(f"py-jwt-{uuid.uuid4()}"), {}, {}, True
        )
        payload = s.get_access_token_payload()
        del payload["iat"]
        del payload["exp"]
        jwt = await create_jwt(payload, 60, use_static_signing_key=False)
        custom = await get_session_without_request_response(jwt.jwt, check_database=True)
        bare = await create_jwt({"sub": "x"}, 60, use_static_signing_key=False)
        try:
            refused = await get_session_without_request_response(
                bare.jwt, check_database=True, session_required=False
            )
        except Exception:  # noqa: BLE001 - any refusal will do
            refused = None
        return s, custom, refused

    s, custom, refused = run(go())
    assert custom.get_handle() == s.get_handle()
    assert refused is None
