"""The supertokens-python system of the load benchmark (bench/load).

FastAPI + supertokens-python 0.31.x under uvicorn, session recipe only,
cookie mode, anti-CSRF off, with `tessera serve` as its core: the same
routes and handlers as the Rust systems in bench/load/src/servers.rs.
Configured from the environment: TESSERA_URL (the core), TESSERA_API_KEY,
APP_URL (this app's own origin).
"""

import os

from fastapi import Depends, FastAPI, Request
from supertokens_python import InputAppInfo, SupertokensConfig, init
from supertokens_python.framework.fastapi import get_middleware
from supertokens_python.recipe import session
from supertokens_python.recipe.session import SessionContainer
from supertokens_python.recipe.session.asyncio import create_new_session
from supertokens_python.recipe.session.framework.fastapi import verify_session
from supertokens_python.types import RecipeUserId

APP_URL = os.environ["APP_URL"]

init(
    app_info=InputAppInfo(
        app_name="tessera-bench-load",
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

app = FastAPI()
app.add_middleware(get_middleware())


@app.post("/login/{user_id}")
async def login(request: Request, user_id: str):
    """Creates a session (cookies on the response)."""
    await create_new_session(request, "public", RecipeUserId(user_id), {}, {"visits": 0})
    return {"user": user_id}


@app.get("/verify")
async def verify(s: SessionContainer = Depends(verify_session())):
    """verify_session(): the access token is verified locally (JWKS)."""
    return {"user": s.get_user_id()}


@app.post("/data")
async def data(s: SessionContainer = Depends(verify_session())):
    """The seed handler's database calls: read, then overwrite the session data."""
    d = await s.get_session_data_from_database()
    visits = int(d.get("visits", 0)) + 1
    d["visits"] = visits
    await s.update_session_data_in_database(d)
    return {"user": s.get_user_id(), "visits": visits}
