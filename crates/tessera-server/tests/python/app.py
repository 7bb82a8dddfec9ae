"""A FastAPI app on supertokens-python 0.31.4 whose core is `tessera serve`.

Session recipe only, cookie mode. Configured from the environment:
TESSERA_URL (the connection URI), TESSERA_API_KEY, APP_URL (this app's own
origin). The routes are what a real app would write; the test driver
(test_compat.py) calls them with a cookie-keeping client.
"""

import os

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from supertokens_python import InputAppInfo, SupertokensConfig, init
from supertokens_python.framework.fastapi import get_middleware
from supertokens_python.recipe import session
from supertokens_python.recipe.session import SessionContainer
from supertokens_python.recipe.session.asyncio import (
    create_new_session,
    get_all_session_handles_for_user,
    get_session_information,
    revoke_all_sessions_for_user,
)
from supertokens_python.recipe.session.claims import PrimitiveClaim
from supertokens_python.recipe.session.framework.fastapi import verify_session
from supertokens_python.types import RecipeUserId

APP_URL = os.environ["APP_URL"]

init(
    app_info=InputAppInfo(
        app_name="tessera-compat",
        api_domain=APP_URL,
        website_domain=APP_URL,
        api_base_path="/auth",
    ),
    supertokens_config=SupertokensConfig(
        connection_uri=os.environ["TESSERA_URL"],
        api_key=os.environ.get("TESSERA_API_KEY") or None,
    ),
    framework="fastapi",
    recipe_list=[
        session.init(
            anti_csrf="NONE",
            get_token_transfer_method=lambda _req, _create, _ctx: "cookie",
        )
    ],
    mode="asgi",
)

# A custom claim, as apps write them: fetched from "the database" (here a
# constant), set directly, checked by a validator. Every write goes through
# merge_into_access_token_payload, i.e. tessera's regenerate.
PlanClaim = PrimitiveClaim(
    key="st-plan",
    fetch_value=lambda _user_id, _recipe_user_id, _tenant_id, _payload, _ctx: "pro",
)


def needs_plan(plan: str):
    """verify_session() that also requires the plan claim to equal `plan`
    (the SDK fetches the claim inside verify_session when it is missing)."""
    return verify_session(
        override_global_claim_validators=lambda validators, _s, _ctx: [
            *validators,
            PlanClaim.validators.has_value(plan),
        ]
    )


app = FastAPI()
app.add_middleware(get_middleware())


@app.post("/login")
async def login(request: Request):
    """Signs a user in (no password: this is a session test)."""
    body = await request.json()
    created = await create_new_session(
        request,
        "public",
        RecipeUserId(body["userId"]),
        {"role": "reader"},
        {"visits": 0},
    )
    return {"handle": created.get_handle(), "userId": created.get_user_id()}


@app.get("/me")
async def me(s: SessionContainer = Depends(verify_session())):
    """A plain verify_session(): the SDK verifies tessera's access token
    locally, except the first one after a refresh (it carries
    parentRefreshTokenHash1: the SDK asks tessera's verify, which promotes
    the child refresh token and answers a new access token)."""
    return {
        "userId": s.get_user_id(),
        "handle": s.get_handle(),
        "payload": s.get_access_token_payload(),
    }


@app.get("/me/checked")
async def me_checked(s: SessionContainer = Depends(verify_session(check_database=True))):
    """verify_session(check_database=True): asks tessera's verify endpoint."""
    return {"userId": s.get_user_id(), "handle": s.get_handle()}


@app.post("/seed")
async def seed(s: SessionContainer = Depends(verify_session())):
    """The seed handler: read and overwrite the session data, merge into the
    access-token payload, revoke."""
    user_id = s.get_user_id()
    data = await s.get_session_data_from_database()
    before = dict(data)
    data["newKey"] = "newVal"
    await s.update_session_data_in_database(data)
    after = await s.get_session_data_from_database()
    await s.merge_into_access_token_payload({"newKey": "newVal"})
    payload = s.get_access_token_payload()
    await s.revoke_session()
    return {
        "status": "ok",
        "user": user_id,
        "dataBefore": before,
        "dataAfter": after,
        "payload": payload,
    }


@app.post("/merge")
async def merge(request: Request, s: SessionContainer = Depends(verify_session())):
    """Merges the request body into the access-token payload."""
    await s.merge_into_access_token_payload(await request.json())
    return {"payload": s.get_access_token_payload()}


@app.post("/claims/fetch")
async def claims_fetch(s: SessionContainer = Depends(verify_session())):
    """fetch_and_set_claim: the claim's fetch_value, merged into the payload."""
    await s.fetch_and_set_claim(PlanClaim)
    return {"plan": await s.get_claim_value(PlanClaim), "payload": s.get_access_token_payload()}


@app.post("/claims/set")
async def claims_set(request: Request, s: SessionContainer = Depends(verify_session())):
    """set_claim_value with the value in the request body."""
    await s.set_claim_value(PlanClaim, (await request.json())["value"])
    return {"plan": await s.get_claim_value(PlanClaim), "payload": s.get_access_token_payload()}


@app.get("/claims/needs-pro")
async def claims_needs_pro(s: SessionContainer = Depends(needs_plan("pro"))):
    """Only for sessions whose plan claim is "pro"."""
    return {"payload": s.get_access_token_payload()}


@app.get("/claims/needs-enterprise")
async def claims_needs_enterprise(s: SessionContainer = Depends(needs_plan("enterprise"))):
    """Only for sessions whose plan claim is "enterprise"."""
    return {"payload": s.get_access_token_payload()}


@app.get("/users/{user_id}/sessions")
async def list_sessions(user_id: str):
    """Handles of a user's sessions."""
    return {"handles": await get_all_session_handles_for_user(user_id)}


@app.post("/users/{user_id}/sessions/revoke")
async def revoke_sessions(user_id: str):
    """Revokes every session of a user."""
    return {"revoked": await revoke_all_sessions_for_user(user_id)}


@app.get("/sessions/{handle}")
async def session_information(handle: str):
    """What the core knows of a session, or exists: false."""
    info = await get_session_information(handle)
    if info is None:
        return {"exists": False}
    return {
        "exists": True,
        "userId": info.user_id,
        "sessionDataInDatabase": info.session_data_in_database,
        "customClaimsInAccessTokenPayload": info.custom_claims_in_access_token_payload,
        "tenantId": info.tenant_id,
    }


@app.exception_handler(Exception)
async def unexpected(_request: Request, exc: Exception):
    """Shows the SDK's exception (e.g. a core error) to the test."""
    return JSONResponse(status_code=500, content={"error": repr(exc)})
