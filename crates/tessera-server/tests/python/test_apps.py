"""Apps of `tessera serve` through supertokens-python 0.31.4, in process.

Each test creates apps over HTTP as supertokens-python's own test harness
does (`PUT /recipe/multitenancy/app/v2` with a `coreConfig`), then points
the SDK at `<tessera>/appid-<id>` and uses its public functions: sessions
with the app's settings, the app's own API keys, sessions that stay in
their app, and `create_jwt` verified against the app's JWKS.

run.sh starts tessera (with an API key for the public app); environment:
TESSERA_URL, TESSERA_API_KEY.
"""

import asyncio
import base64
import importlib
import json
import os
import uuid

import httpx
import jwt as pyjwt
import pytest

os.environ["SUPERTOKENS_ENV"] = "testing"  # lets the tests re-init the SDK

from supertokens_python import InputAppInfo, Supertokens, SupertokensConfig, init
from supertokens_python.recipe import jwt as jwt_recipe
from supertokens_python.recipe import session
from supertokens_python.recipe.jwt.asyncio import create_jwt
from supertokens_python.post_init_callbacks import PostSTInitCallbacks
from supertokens_python.recipe.session.asyncio import (
    create_new_session_without_request_response,
    get_session_without_request_response,
)
from supertokens_python.types import RecipeUserId

TESSERA_URL = os.environ["TESSERA_URL"]
API_KEY = os.environ.get("TESSERA_API_KEY", "")
APP_API_KEY = "py-apps-key-abcdefghij0123456789"


# The recipes `init` sets up, each reset before the next `init` (as the
# SDK's own test server does).
RECIPES = [
    ("supertokens_python.recipe.session.recipe", "SessionRecipe"),
    ("supertokens_python.recipe.jwt.recipe", "JWTRecipe"),
    ("supertokens_python.recipe.openid.recipe", "OpenIdRecipe"),
    ("supertokens_python.recipe.multitenancy.recipe", "MultitenancyRecipe"),
    ("supertokens_python.recipe.accountlinking.recipe", "AccountLinkingRecipe"),
    ("supertokens_python.recipe.oauth2provider.recipe", "OAuth2ProviderRecipe"),
    ("supertokens_python.recipe.usermetadata.recipe", "UserMetadataRecipe"),
    ("supertokens_python.recipe.multifactorauth.recipe", "MultiFactorAuthRecipe"),
    ("supertokens_python.recipe.totp.recipe", "TOTPRecipe"),
    ("supertokens_python.recipe.emailverification.recipe", "EmailVerificationRecipe"),
]


def create_app(core_config: dict) -> str:
    """Creates a fresh app; returns its connection URI."""
    app_id = f"py-{uuid.uuid4()}"
    r = httpx.put(
        f"{TESSERA_URL}/recipe/multitenancy/app/v2",
        json={"appId": app_id, "coreConfig": core_config},
        headers={"api-key": API_KEY},
        timeout=10.0,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "OK", "createdNew": True}
    return f"{TESSERA_URL}/appid-{app_id}"


def use_sdk(connection_uri: str, api_key: str | None = None) -> None:
    """(Re)initialises the SDK for one app."""
    PostSTInitCallbacks.reset()
    Supertokens.reset()
    for module, name in RECIPES:
        getattr(importlib.import_module(module), name).reset()
    init(
        app_info=InputAppInfo(
            app_name="tessera-apps",
            api_domain="http://api.test",
            website_domain="http://web.test",
        ),
        framework="fastapi",
        supertokens_config=SupertokensConfig(
            connection_uri=connection_uri, api_key=api_key
        ),
        recipe_list=[session.init(), jwt_recipe.init()],
        mode="asgi",
    )


def claims_of(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def run(coro):
    return asyncio.run(coro)


def test_an_apps_access_token_validity_reaches_its_tokens():
    uri = create_app({"access_token_validity": 2})
    use_sdk(uri, API_KEY)

    async def go():
        s = await create_new_session_without_request_response(
            "public", RecipeUserId(f"user-{uuid.uuid4()}"), {}, {}, True
        )
        return s.get_all_session_tokens_dangerously()["accessToken"]

    claims = claims_of(run(go()))
    assert 1 <= claims["exp"] - claims["iat"] <= 2


def test_an_app_with_api_keys_refuses_other_keys():
    uri = create_app({"api_keys": APP_API_KEY})

    async def create():
        return await create_new_session_without_request_response(
            "public", RecipeUserId("someone"), {}, {}, True
        )

    use_sdk(uri, API_KEY)  # the public app's key is not this app's
    with pytest.raises(Exception, match="Invalid API key"):
        run(create())
    use_sdk(uri, APP_API_KEY)
    assert run(create()).get_user_id() == "someone"


def test_a_session_stays_in_its_app():
    uri_a = create_app({})
    uri_b = create_app({})
    use_sdk(uri_a, API_KEY)

    async def create():
        s = await create_new_session_without_request_response(
            "public", RecipeUserId("shared-user"), {"k": "v"}, {}, True
        )
        return s.get_all_session_tokens_dangerously()["accessToken"]

    async def verify(token: str):
        return await get_session_without_request_response(
            token, session_required=False, check_database=True
        )

    token = run(create())
    assert run(verify(token)).get_user_id() == "shared-user"
    use_sdk(uri_b, API_KEY)
    # App b's JWKS does not hold app a's key: the SDK refuses the token
    # (an error asking for a refresh, or no session).
    try:
        session_in_b = run(verify(token))
    except Exception:  # noqa: BLE001 - any refusal will do
        session_in_b = None
    assert session_in_b is None


@pytest.mark.parametrize("static", [True, False])
def test_create_jwt_is_verifiable_with_the_apps_jwks(static: bool):
    uri = create_app({})
    use_sdk(uri, API_KEY)

    async def sign():
        return await create_jwt({"sub": "service-a", "scope": "read"}, 120, static)

    result = run(sign())
    token = result.jwt
    kid = pyjwt.get_unverified_header(token)["kid"]
    assert kid.startswith("s-" if static else "d-")
    keys = pyjwt.PyJWKClient(f"{uri}/.well-known/jwks.json")
    claims = pyjwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        options={"verify_aud": False},
    )
    assert claims["sub"] == "service-a"
    assert claims["iss"] == "http://api.test"
    assert claims["exp"] - claims["iat"] == 120
    # Another app's keys do not verify it.
    other = create_app({})
    other_keys = pyjwt.PyJWKClient(f"{other}/.well-known/jwks.json")
    with pytest.raises(pyjwt.exceptions.PyJWKClientError):
        other_keys.get_signing_key_from_jwt(token)
