"""The browser demo on FastAPI + tessera.fastapi: the same routes, page and
command line as examples/demo (axum), so tests/browser/session.test.mjs runs
supertokens-website in Chromium against it unchanged.

    python bindings/python/demo/app.py --database-url sqlite://demo.db --access-token-validity 30

| route | what |
|---|---|
| `GET /` | the page (examples/demo/src/page.html) |
| `GET /static/supertokens.js` | the SDK bundle (examples/demo/web/build.sh) |
| `GET /api/config` | `{accessTokenValidity, antiCsrf, blacklisting}` |
| `POST /api/login` `{"userId"}` | creates a session |
| `GET /api/session` | the session, its data and times |
| `PUT /api/session/data` `{"data"}` | overwrites the session data |
| `PUT /api/session/payload` `{"payload"}` | replaces the access-token payload |
| `POST /api/session/revoke` | revokes the caller's session |
| `GET /api/sessions` | the handles of the caller's user's sessions |
| `POST /api/admin/revoke/{handle}` | revokes any session (**demo only**: no authentication) |
| `POST /auth/session/refresh`, `POST /auth/signout` | tessera.fastapi.init |
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any, Dict, List, Optional

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from tessera import InvalidInputError
from tessera.fastapi import (
    SessionContainer,
    create_new_session,
    get_all_session_handles_for_user,
    init,
    revoke_session,
    verify_session,
)

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "examples" / "demo" / "src" / "page.html"
DEFAULT_STATIC = ROOT / "examples" / "demo" / "static"


class LoginRequest(BaseModel):
    userId: str


class DataRequest(BaseModel):
    data: Dict[str, Any]


class PayloadRequest(BaseModel):
    payload: Dict[str, Any]


def make_app(
    database_url: str,
    access_token_validity: float,
    anti_csrf: str,
    blacklisting: bool,
    cookie_secure: bool,
    static_dir: Path,
) -> FastAPI:
    app = FastAPI()
    init(
        app,
        database_url=database_url,
        access_token_validity=access_token_validity,
        anti_csrf=anti_csrf.upper().replace("-", "_"),
        blacklisting=blacklisting,
        cookie_secure=cookie_secure,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"message": "the request body does not have the expected shape"}, status_code=422)

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(), headers={"cache-control": "no-cache"})

    @app.get("/static/supertokens.js")
    async def sdk_bundle() -> Response:
        path = static_dir / "supertokens.js"
        try:
            body = path.read_bytes()
        except OSError as e:
            return PlainTextResponse(
                f"{path} is missing ({e}). Build it with examples/demo/web/build.sh "
                "(scripts/demo does), or point --static-dir at its directory.\n",
                status_code=404,
            )
        return Response(body, media_type="text/javascript; charset=utf-8", headers={"cache-control": "no-cache"})

    @app.get("/api/config")
    async def config() -> Dict[str, Any]:
        return {"accessTokenValidity": access_token_validity, "antiCsrf": anti_csrf, "blacklisting": blacklisting}

    @app.post("/api/login")
    async def login(req: LoginRequest, request: Request) -> Dict[str, Any]:
        user_id = req.userId.strip()
        if not user_id:
            raise InvalidInputError("empty user id", 400, '{"message":"userId must not be empty"}', None)
        session = await create_new_session(
            request, user_id, {"role": "demo"}, {"visits": 0, "notes": "hello from the session data"}
        )
        return {
            "userId": session.get_user_id(),
            "handle": session.get_handle(),
            "transferMethod": session.get_token_transfer_method(),
        }

    @app.get("/api/session")
    async def get_session(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        info = await session.get_session_information()
        return {
            "userId": session.get_user_id(),
            "handle": session.get_handle(),
            "tenantId": session.get_tenant_id(),
            "payload": session.get_access_token_payload(),
            "data": info.session_data_in_database,
            "expiry": info.expiry,
            "timeCreated": info.time_created,
            "accessTokenExpiry": session.get_access_token_expiry(),
            "transferMethod": session.get_token_transfer_method(),
        }

    @app.put("/api/session/data")
    async def put_data(req: DataRequest, session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.update_session_data_in_database(req.data)
        return {"data": req.data}

    @app.put("/api/session/payload")
    async def put_payload(req: PayloadRequest, session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.update_jwt_payload(req.payload)
        return {"payload": session.get_access_token_payload()}

    @app.post("/api/session/revoke")
    async def revoke_own(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        await session.revoke_session()
        return {"status": "OK"}

    @app.get("/api/sessions")
    async def list_sessions(session: SessionContainer = Depends(verify_session())) -> Dict[str, Any]:
        handles: List[str] = await get_all_session_handles_for_user(session.get_user_id())
        return {"handles": handles, "current": session.get_handle()}

    @app.post("/api/admin/revoke/{handle}")
    async def admin_revoke(handle: str) -> Dict[str, Any]:
        return {"revoked": await revoke_session(handle)}

    return app


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description="tessera demo on FastAPI")
    p.add_argument("--addr", default="127.0.0.1:3000")
    p.add_argument("--database-url", default="sqlite://tessera-demo.db")
    p.add_argument("--access-token-validity", type=float, default=30)
    p.add_argument("--anti-csrf", choices=["none", "via-token", "via-custom-header"], default="none")
    p.add_argument("--blacklisting", action="store_true")
    p.add_argument("--cookie-secure", action="store_true")
    p.add_argument("--static-dir", type=Path, default=DEFAULT_STATIC)
    args = p.parse_args(argv)
    host, port = args.addr.rsplit(":", 1)
    # Listening before the "ready" line: a client that reads it can connect.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(128)
    app = make_app(
        args.database_url,
        args.access_token_validity,
        args.anti_csrf,
        args.blacklisting,
        args.cookie_secure,
        args.static_dir,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    print(
        f"tessera demo ready: open http://{args.addr} (FastAPI; sessions in {args.database_url}, "
        f"access tokens {args.access_token_validity:g} s, anti-csrf {args.anti_csrf}, "
        f"blacklisting {'on' if args.blacklisting else 'off'}; Ctrl-C stops)",
        flush=True,
    )
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
