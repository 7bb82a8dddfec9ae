"""The test app: the seed handler, one route per session method, login
routes, claim and CORS probes, on tessera.fastapi (the same probes as the
Rust adapters' harness). The seed *page's* example, as the page wrote it,
is tests/seed_page.py."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import Depends, FastAPI, Request

from tessera import Engine
from tessera.fastapi import (
    SessionClaimValidator,
    SessionContainer,
    cors,
    create_new_session,
    has_value,
    includes,
    get_all_session_handles_for_user,
    get_session_information,
    init,
    revoke_all_sessions_for_user,
    verify_session,
)


def make_app(engine: Engine) -> FastAPI:
    app = FastAPI()
    init(app, engine=engine)
    cors(app, ["http://web.example:3000"])

    @app.post("/login/{user}")
    async def login(user: str, request: Request) -> Dict[str, Any]:
        session = await create_new_session(request, user, {"role": "reader"}, {"cart": [1, 2]})
        return {"handle": session.get_handle()}

    @app.post("/login-payload/{user}")
    async def login_payload(user: str, request: Request) -> Dict[str, Any]:
        payload = await request.json()
        session = await create_new_session(request, user, payload, {})
        return {"handle": session.get_handle()}

    # The README's seed handler (the Rust seed's, in Python).
    @app.post("/test")
    async def test(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        user_id = session.get_user_id()
        session_data = await session.get_session_data()
        session_data["newKey"] = "newVal"
        await session.update_session_data(session_data)
        jwt_payload = session.get_jwt_payload()
        jwt_payload["newKey"] = "newVal"
        await session.update_jwt_payload(jwt_payload)
        await session.revoke_session()
        return {"status": "ok", "user": user_id}

    # The example with the current names.
    @app.post("/like_comment")
    async def like_comment(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        user_id = session.get_user_id()
        payload = session.get_access_token_payload()
        await session.merge_into_access_token_payload({"k": "v"})
        data = await session.get_session_data_from_database()
        await session.update_session_data_in_database({**data, "k": "v"})
        await session.revoke_session()
        return {"user": user_id, "payload": payload, "data": data}

    @app.api_route("/user", methods=["GET", "POST", "HEAD"])
    async def user(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        return {"user": session.get_user_id()}

    @app.post("/payload")
    async def payload(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        return session.get_access_token_payload()

    @app.post("/merge")
    async def merge(request: Request, session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.merge_into_access_token_payload(await request.json())
        return session.get_access_token_payload()

    @app.post("/data")
    async def data(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        return await session.get_session_data_from_database()

    @app.post("/update-data")
    async def update_data(request: Request, session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.update_session_data_in_database(await request.json())
        return {}

    @app.post("/revoke")
    async def revoke(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.revoke_session()
        return {}

    @app.post("/optional")
    async def optional(
        session: Optional[SessionContainer] = Depends(verify_session(session_required=False)),
    ) -> Dict[str, Any]:
        return {"user": None if session is None else session.get_user_id()}

    @app.post("/no-csrf")
    async def no_csrf(session: SessionContainer = Depends(verify_session(anti_csrf_check=False))) -> Dict[str, Any]:
        return {"user": session.get_user_id()}

    @app.post("/check-db")
    async def check_db(session: SessionContainer = Depends(verify_session(check_database=True))) -> Dict[str, Any]:
        return {"user": session.get_user_id()}

    @app.post("/catch")
    async def catch(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        # A handler may catch tessera's error itself: nothing is cleared then.
        from tessera import TesseraError

        try:
            await session.merge_into_access_token_payload({"sub": "someone-else"})
        except TesseraError as e:
            return {"caught": type(e).__name__, "status": e.status}
        return {"caught": None}

    def admin_too(
        global_validators: List[SessionClaimValidator], session: SessionContainer, user_context: Dict[str, Any]
    ) -> List[SessionClaimValidator]:
        return [*global_validators, has_value("role", "admin")]

    async def none_at_all(
        global_validators: List[SessionClaimValidator], session: SessionContainer, user_context: Dict[str, Any]
    ) -> List[SessionClaimValidator]:
        return []

    @app.post("/claims/admin")
    async def claims_admin(
        session: SessionContainer = Depends(verify_session(override_global_claim_validators=admin_too)),
    ) -> Dict[str, Any]:
        return {"user": session.get_user_id()}

    @app.post("/claims/none")
    async def claims_none(
        session: SessionContainer = Depends(verify_session(override_global_claim_validators=none_at_all)),
    ) -> Dict[str, Any]:
        return {"user": session.get_user_id()}

    @app.post("/claims/assert")
    async def claims_assert(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        session.assert_claims([includes("perms", "write")])
        return {"user": session.get_user_id()}

    @app.get("/admin/{user}")
    async def admin(user: str) -> Dict[str, Any]:
        handles = await get_all_session_handles_for_user(user)
        infos = [await get_session_information(h) for h in handles]
        return {"handles": handles, "users": [i.user_id for i in infos if i is not None]}

    @app.post("/admin/{user}/revoke-all")
    async def admin_revoke(user: str) -> Dict[str, Any]:
        return {"revoked": await revoke_all_sessions_for_user(user)}

    return app
