"""FastAPI + tessera.fastapi (bindings/python) for the load benchmark: the
same routes and handlers as app.py (supertokens-python) and the Rust
systems, with tessera's engine in the process (SQLite, cookie mode,
anti-CSRF off). TESSERA_DATABASE_URL names the database."""

import os

from fastapi import Depends, FastAPI, Request

from tessera.fastapi import SessionContainer, create_new_session, init, verify_session

app = FastAPI()
init(
    app,
    database_url=os.environ["TESSERA_DATABASE_URL"],
    token_transfer_method="cookie",
    anti_csrf="NONE",
    cookie_secure=False,
)


# /verify is the first route, as in app_bare.py: Starlette tries routes in
# order, and the comparison is of the session layer, not of route position.
@app.get("/verify")
async def verify(s: SessionContainer = Depends(verify_session())):
    """verify_session(): the access token is verified in the process."""
    return {"user": s.get_user_id()}


@app.post("/login/{user_id}")
async def login(request: Request, user_id: str):
    """Creates a session (cookies on the response)."""
    await create_new_session(request, user_id, {}, {"visits": 0})
    return {"user": user_id}


@app.post("/data")
async def data(s: SessionContainer = Depends(verify_session())):
    """The seed handler's database calls: read, then overwrite the session data."""
    d = await s.get_session_data_from_database()
    visits = int(d.get("visits", 0)) + 1
    d["visits"] = visits
    await s.update_session_data_in_database(d)
    return {"user": s.get_user_id(), "visits": visits}
