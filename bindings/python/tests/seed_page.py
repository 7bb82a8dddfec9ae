"""The seed page's examples on tessera.fastapi, as the pages wrote them.

The seed page is SuperTokens' FastAPI "Session Object" page,
https://supertokens.com/docs/fastapi/usage/session-object (the old
``supertokens_fastapi`` SDK); its session comes from the "User Login" page,
https://supertokens.com/docs/fastapi/usage/user-login, and the functions by
handle from https://supertokens.com/docs/fastapi/usage/session-handle.

What differs from the pages, and why:

- the imports: ``supertokens_fastapi`` -> ``tessera.fastapi``;
- ``init``: tessera's replaces SuperTokens' (no core to point at); the
  pages presume an ``app``, made here;
- the session-object page builds the new dicts with JavaScript's spread,
  ``{***session_data, newKey: "newVal"}`` and
  ``{...payload_data, newKey: "newVal"}``, which is not Python (a
  SyntaxError; ``test_seed_page.py`` checks that), so those two lines use
  ``**`` and a quoted key, which is what they mean;
- the session-handle page's calls are fragments (``for`` loops with only
  comments, a missing colon, two update calls not awaited): the route
  below makes the same calls, in order, with ``await`` on every one.

The test sets TESSERA_SEED_PAGE_DB before importing this module.
"""

import os

from fastapi import FastAPI

from tessera import Engine
from tessera.fastapi import init

app = FastAPI()
init(app, engine=Engine(os.environ["TESSERA_SEED_PAGE_DB"], cookie_secure=False, testing=True))

# ---- https://supertokens.com/docs/fastapi/usage/user-login, "Example"
from tessera.fastapi import create_new_session  # noqa: E402
from fastapi.requests import Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402


@app.post('/login')
async def login(request: Request):  # type: ignore[no-untyped-def]
    user_id = 'userId'
    jwt_payload = {'name': 'spooky action at a distance'}
    session_data = {'awesomeThings': ['programming', 'javascript', 'supertokens']}
    await create_new_session(request, user_id, jwt_payload, session_data)
    return JSONResponse(content={'userId': user_id}, status_code=200)


# ---- https://supertokens.com/docs/fastapi/usage/session-object, "Example"
from tessera.fastapi import supertokens_session, Session  # noqa: E402
from fastapi import Depends  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402,F811


@app.post('/test')
async def test_info(session: Session = Depends(supertokens_session)):  # type: ignore[no-untyped-def]
    user_id = session.get_user_id()
    # update session info
    session_data = await session.get_session_data()
    new_session_data = {**session_data, "newKey": "newVal"}  # page: {***session_data, newKey: "newVal"}
    await session.update_session_data(new_session_data)
    # update jwt payload
    payload_data = session.get_jwt_payload()
    new_payload = {**payload_data, "newKey": "newVal"}  # page: {...payload_data, newKey: "newVal"}
    await session.update_jwt_payload(new_payload)
    # revoking session
    await session.revoke_session()
    return JSONResponse(content={'status': 'ok'})


# ---- https://supertokens.com/docs/fastapi/usage/session-handle, its calls in order
import tessera.fastapi as supertokens_fastapi  # noqa: E402


@app.post('/handles/{user_id}')
async def handles(user_id: str, session: Session = Depends(supertokens_session)):  # type: ignore[no-untyped-def]
    seen = {}
    handle = session.get_session_handle()
    session_handles = await supertokens_fastapi.get_all_session_handles_for_user(user_id)
    seen["handles"] = session_handles
    session_handle = handle
    jwtPayload = await supertokens_fastapi.get_jwt_payload(session_handle)
    new_jwt_payload = {**jwtPayload, "seen": True}
    await supertokens_fastapi.update_jwt_payload(session_handle, new_jwt_payload)
    session_data = await supertokens_fastapi.get_session_data(session_handle)
    new_session_data = {**session_data, "seen": True}
    await supertokens_fastapi.update_session_data(session_handle, new_session_data)
    seen["payload"] = await supertokens_fastapi.get_jwt_payload(session_handle)
    seen["data"] = await supertokens_fastapi.get_session_data(session_handle)
    others = [h for h in session_handles if h != handle]
    revoked = await supertokens_fastapi.revoke_session(others[0])
    seen["revoked"] = revoked
    sessions_revoked = await supertokens_fastapi.revoke_multiple_sessions([others[0], others[1]])
    seen["revoked_multiple"] = sessions_revoked
    sessions_revoked = await supertokens_fastapi.revoke_all_sessions_for_user(user_id)
    seen["revoked_all"] = sessions_revoked
    return seen
