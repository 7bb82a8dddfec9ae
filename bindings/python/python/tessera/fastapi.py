"""tessera for FastAPI (and Starlette): SuperTokens' ``Session`` object on
tessera's Rust engine, in your process, with no core to run.

.. code-block:: python

    from fastapi import Depends, FastAPI
    from tessera.fastapi import SessionContainer, create_new_session, init, verify_session

    app = FastAPI()
    init(app, database_url="sqlite://tessera.db")  # middleware + /auth/session/refresh + /auth/signout

    @app.post("/like_comment")
    async def like_comment(session: SessionContainer = Depends(verify_session())):
        return {"user": session.get_user_id()}

Every protocol rule (which token to take, anti-CSRF, refresh, what to set
and clear) runs in Rust (the FDI core shared with tessera-axum and
tessera-actix); this module only hands it the request's method, path and
headers and puts its answer on the response.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Union

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import (
    Engine,
    InternalError,
    InvalidClaimError,
    InvalidInputError,
    TesseraError,
    TokenTheftDetectedError,
    TryRefreshTokenError,
    UnauthorisedError,
)
from ._tessera import CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, Context
from ._tessera import Session as _Session

__all__ = [
    "SessionContainer",
    "Session",
    "supertokens_session",
    "SessionClaimValidator",
    "ClaimValidationResult",
    "has_value",
    "includes",
    "get_all_cors_headers",
    "cors",
    "SessionInformation",
    "TesseraError",
    "UnauthorisedError",
    "TryRefreshTokenError",
    "TokenTheftDetectedError",
    "InvalidClaimError",
    "InvalidInputError",
    "InternalError",
    "init",
    "verify_session",
    "get_session",
    "create_new_session",
    "get_engine",
    "revoke_session",
    "revoke_all_sessions_for_user",
    "revoke_multiple_sessions",
    "get_all_session_handles_for_user",
    "get_session_information",
    "update_session_data_in_database",
    "merge_into_access_token_payload",
    "get_jwt_payload",
    "update_jwt_payload",
    "get_session_data",
    "update_session_data",
]

# The request's Context and the Engine, kept in the ASGI scope (a plain
# dict: cheaper than Starlette's ``request.state``).
_CONTEXT = "tessera.context"
_ENGINE = "tessera.engine"
_engine: Optional[Engine] = None


def _dumps(value: Any, what: str) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict")
    return json.dumps(value)


# -- claims


@dataclass(frozen=True)
class ClaimValidationResult:
    """What a :class:`SessionClaimValidator` says of a payload: valid, or
    not with a reason (any JSON value, or ``None``)."""

    is_valid: bool
    reason: Optional[Any] = None


class SessionClaimValidator:
    """Checks one claim of the user's access-token payload (SuperTokens'
    ``SessionClaimValidator``). Subclass it and implement :meth:`validate`,
    or use :func:`has_value` / :func:`includes`.

    ``validate`` is synchronous: it runs inside verification, which reads
    no database. The FDI core turns failures into
    ``403 {"message":"invalid claim","claimValidationErrors":[{"id":…,"reason":…}]}``
    (status from ``init(invalid_claim_status=…)``); a validator that
    raises fails its claim (the exception goes to ``sys.unraisablehook``).
    """

    def __init__(self, id: str) -> None:
        self.id = id

    def validate(self, payload: Dict[str, Any], user_context: Dict[str, Any]) -> ClaimValidationResult:
        """Judges ``payload`` (the user's payload, protected claims left out)."""
        raise NotImplementedError

    def _tessera_check(self, payload_json: str) -> Optional[str]:
        # Called from Rust: None when valid, else the reason as JSON text.
        result = self.validate(json.loads(payload_json), {})
        if not isinstance(result, ClaimValidationResult):
            raise TypeError(f"claim validator {self.id!r} must return a ClaimValidationResult")
        return None if result.is_valid else json.dumps(result.reason)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class _KeyValueValidator(SessionClaimValidator):
    """A validator of one payload key against one value (its id: the key,
    unless given)."""

    def __init__(self, key: str, value: Any, id: Optional[str]) -> None:
        super().__init__(id or key)
        self.key = key
        self.value = value


class _HasValue(_KeyValueValidator):
    def validate(self, payload: Dict[str, Any], user_context: Dict[str, Any]) -> ClaimValidationResult:
        if self.key not in payload:
            return ClaimValidationResult(False, {"message": "value does not exist", "expectedValue": self.value})
        actual = payload[self.key]
        if actual == self.value:
            return ClaimValidationResult(True)
        return ClaimValidationResult(
            False, {"message": "wrong value", "expectedValue": self.value, "actualValue": actual}
        )


class _Includes(_KeyValueValidator):
    def validate(self, payload: Dict[str, Any], user_context: Dict[str, Any]) -> ClaimValidationResult:
        if self.key not in payload:
            return ClaimValidationResult(False, {"message": "value does not exist", "expectedToInclude": self.value})
        actual = payload[self.key]
        if isinstance(actual, list) and self.value in actual:
            return ClaimValidationResult(True)
        return ClaimValidationResult(
            False, {"message": "wrong value", "expectedToInclude": self.value, "actualValue": actual}
        )


def has_value(key: str, value: Any, id: Optional[str] = None) -> SessionClaimValidator:
    """A validator that passes when ``payload[key] == value`` (id: ``key``
    unless given)."""
    return _HasValue(key, value, id)


def includes(key: str, value: Any, id: Optional[str] = None) -> SessionClaimValidator:
    """A validator that passes when ``payload[key]`` is a list holding
    ``value`` (roles, permissions)."""
    return _Includes(key, value, id)


OverrideClaimValidators = Callable[
    [List[SessionClaimValidator], "SessionContainer", Dict[str, Any]],
    Union[List[SessionClaimValidator], Awaitable[List[SessionClaimValidator]]],
]


# -- CORS


def get_all_cors_headers() -> List[str]:
    """The request headers supertokens-website sends (``rid``,
    ``fdi-version``, ``anti-csrf``, ``st-auth-mode``, ``authorization``,
    ``content-type``), for a CORS allow-list."""
    return list(CORS_ALLOWED_HEADERS)


def cors(app: Any, origins: Sequence[str], *, allow_headers: Sequence[str] = (), max_age: int = 3600) -> None:
    """Adds Starlette's ``CORSMiddleware`` for a website on other origins,
    as tessera-axum's ``cors()``: those origins only (exact match),
    credentials allowed, the headers the SDK sends (plus ``allow_headers``)
    and the ones it reads (``front-token``, ``anti-csrf``,
    ``st-access-token``, ``st-refresh-token``) exposed. Call it after
    :func:`init`, so that it is the outer middleware."""
    from starlette.middleware.cors import CORSMiddleware

    if isinstance(origins, str):
        raise TypeError("origins must be a list of origins, not one string")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        allow_headers=[*CORS_ALLOWED_HEADERS, *allow_headers],
        expose_headers=list(CORS_EXPOSED_HEADERS),
        max_age=max_age,
    )


class _Middleware:
    """Pure ASGI middleware: one FDI context per HTTP request, and the
    queued token changes (or an error's clearing) written on the response.

    Not a coroutine itself: it returns the app's awaitable, and ``send`` is
    wrapped by the context's Rust ``Sender``, which returns the server's own
    awaitable (no Python frame of its own per request or per message)."""

    def __init__(self, app: ASGIApp, engine: Engine, router: Any = None, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.engine = engine
        # Starlette builds the middleware stack when the app starts, once its
        # own routes are declared: tessera's refresh and sign-out routes move
        # to the end, so that the app's routes are not matched after them on
        # every request (a route of the app on the same path and method now
        # comes first).
        if router is not None:
            for route in routes:
                if route in router.routes:
                    router.routes.remove(route)
                    router.routes.append(route)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        client = scope.get("client")
        ctx = self.engine.context(
            scope["method"],
            scope["path"],
            scope["headers"],
            client[0] if client else None,
        )
        scope[_CONTEXT] = ctx
        scope[_ENGINE] = self.engine
        return self.app(scope, receive, ctx.sender(send))


def _context(request: Request) -> Context:
    ctx: Optional[Context] = request.scope.get(_CONTEXT)
    if ctx is None:
        raise RuntimeError("tessera.fastapi.init(app, ...) was not called for this app")
    return ctx


async def _on_error(request: Request, exc: Exception) -> Response:
    """The answer the FDI core chose for a tessera error; the middleware
    then puts on the configured status and clears the tokens."""
    if not isinstance(exc, TesseraError):  # pragma: no cover - registered for TesseraError only
        raise exc
    rejection = exc.rejection
    if rejection is not None:
        _context(request).reject(rejection)
    return Response(content=exc.body, status_code=exc.status, media_type="application/json")


async def _refresh(request: Request) -> Response:
    body = await _context(request).refresh()
    return Response(content=body, media_type="application/json")


async def _signout(request: Request) -> Response:
    body = await _context(request).signout()
    return Response(content=body, media_type="application/json")


def init(
    app: Any,
    database_url: str = "sqlite://tessera.db",
    *,
    api_base_path: str = "/auth",
    api_domain: Optional[str] = None,
    website_domain: Optional[str] = None,
    cookie_secure: Optional[bool] = None,
    cookie_same_site: Optional[str] = None,
    cookie_domain: Optional[str] = None,
    older_cookie_domain: Optional[str] = None,
    anti_csrf: Optional[str] = None,
    token_transfer_method: str = "any",
    access_token_validity: Optional[float] = None,
    refresh_token_validity: Optional[float] = None,
    refresh_grace_period: Optional[float] = None,
    blacklisting: Optional[bool] = None,
    session_expired_status: int = 401,
    invalid_claim_status: int = 403,
    claim_validators: Sequence[SessionClaimValidator] = (),
    key_encryption_key: Optional[str] = None,
    key_encryption_key_file: Optional[str] = None,
    engine: Optional[Engine] = None,
) -> Engine:
    """Sets tessera up on a FastAPI (or Starlette) app: connects the store
    (``sqlite://file.db``, ``sqlite:///abs/path.db``, ``postgres://…``),
    adds the middleware that writes token changes on responses, the
    ``POST {api_base_path}/session/refresh`` and ``POST {api_base_path}/signout``
    routes, and the handler that answers tessera's errors with
    SuperTokens' 401/403. Call it before the app starts. Returns the engine
    (also kept for the module-level admin functions).

    The refresh and sign-out routes are tried after the app's own routes
    (they move to the end of the router when the app starts), so they cost
    nothing on the app's requests; an app route on the same path and
    method takes precedence over them.

    ``anti_csrf``: ``"VIA_TOKEN"``, ``"VIA_CUSTOM_HEADER"`` or ``"NONE"``;
    ``cookie_same_site``: ``"lax"``, ``"strict"`` or ``"none"``;
    ``token_transfer_method``: ``"any"``, ``"cookie"``, ``"header"`` or
    ``"cookie_for_browsers"``; durations in seconds.

    ``claim_validators``: :class:`SessionClaimValidator` s that every
    session verification runs (``403 invalid claim`` on failure; a route
    changes them with ``verify_session(override_global_claim_validators=…)``).

    ``key_encryption_key`` (32 random bytes as base64 or hex, e.g.
    ``openssl rand -base64 32``) or ``key_encryption_key_file``: the signing
    keys are stored encrypted under it (AES-256-GCM); a database whose keys
    are sealed refuses to open without it. Without either, the
    ``TESSERA_KEY_ENCRYPTION_KEY`` / ``TESSERA_KEY_ENCRYPTION_KEY_FILE``
    environment variables are read (as ``tessera serve`` does); with none,
    keys are stored in plain text. Prefer the file or the environment: a
    Python ``str`` cannot be wiped from memory.

    Pass ``engine`` to use one made with :class:`tessera.Engine` instead
    (its own settings then apply).
    """
    global _engine
    if engine is not None and (claim_validators or key_encryption_key or key_encryption_key_file):
        raise ValueError("claim_validators and the key-encryption key go to Engine(...) when engine is given")
    if engine is None:
        engine = Engine(
            database_url,
            api_base_path=api_base_path,
            api_domain=api_domain,
            website_domain=website_domain,
            cookie_secure=cookie_secure,
            cookie_same_site=cookie_same_site,
            cookie_domain=cookie_domain,
            older_cookie_domain=older_cookie_domain,
            anti_csrf=anti_csrf,
            token_transfer_method=token_transfer_method,
            access_token_validity=access_token_validity,
            refresh_token_validity=refresh_token_validity,
            refresh_grace_period=refresh_grace_period,
            blacklisting=blacklisting,
            session_expired_status=session_expired_status,
            invalid_claim_status=invalid_claim_status,
            claim_validators=list(claim_validators),
            key_encryption_key=key_encryption_key,
            key_encryption_key_file=key_encryption_key_file,
        )
    app.add_exception_handler(TesseraError, _on_error)
    app.add_route(engine.refresh_path, _refresh, methods=["POST"], include_in_schema=False)
    app.add_route(engine.signout_path, _signout, methods=["POST"], include_in_schema=False)
    routes = list(app.router.routes[-2:])
    app.add_middleware(_Middleware, engine=engine, router=app.router, routes=routes)
    app.state.tessera_engine = engine
    _engine = engine
    return engine


def get_engine() -> Engine:
    """The engine of the last :func:`init`."""
    if _engine is None:
        raise RuntimeError("tessera.fastapi.init(app, ...) was not called")
    return _engine


@dataclass(frozen=True)
class SessionInformation:
    """What the database knows of a session (times in ms since the epoch)."""

    session_handle: str
    user_id: str
    recipe_user_id: str
    tenant_id: str
    session_data_in_database: Dict[str, Any]
    custom_claims_in_access_token_payload: Dict[str, Any]
    time_created: int
    expiry: int


def _information(text: Optional[str]) -> Optional[SessionInformation]:
    return None if text is None else SessionInformation(**json.loads(text))


class SessionContainer:
    """A verified session of the request (SuperTokens' ``SessionContainer``,
    with the seed's names as well).

    ====================================  =================
    method                                database calls
    ====================================  =================
    ``get_user_id``                       0
    ``get_access_token_payload``          0
    ``merge_into_access_token_payload``   1 (a new access token on this response)
    ``get_session_data_from_database``    1
    ``update_session_data_in_database``   1
    ``revoke_session``                    1 (the tokens are cleared on this response)
    ====================================  =================
    """

    __slots__ = ("_session", "_payload", "_payload_text")

    def __init__(self, session: _Session) -> None:
        self._session = session
        self._payload_text: Optional[str] = None
        self._payload: Dict[str, Any] = {}

    # -- 0 database calls
    def get_user_id(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The user id."""
        return self._session.get_user_id()

    def get_recipe_user_id(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The recipe user id (the user id unless accounts are linked)."""
        return self._session.get_recipe_user_id()

    def get_handle(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The session handle."""
        return self._session.get_handle()

    def get_session_handle(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The session handle (the seed's name of :meth:`get_handle`)."""
        return self._session.get_handle()

    def assert_claims(
        self, claim_validators: Sequence[SessionClaimValidator], user_context: Optional[Dict[str, Any]] = None
    ) -> None:
        """Runs ``claim_validators`` on the current payload; raises
        :class:`InvalidClaimError` (``403 invalid claim``, every failure
        listed) if any fails. 0 database calls."""
        self._session.assert_claims(list(claim_validators))

    def get_tenant_id(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The tenant."""
        return self._session.get_tenant_id()

    def get_access_token(self, user_context: Optional[Dict[str, Any]] = None) -> str:
        """The current access token (the new one after a payload update)."""
        return self._session.get_access_token()

    def get_access_token_payload(self, user_context: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The user's access-token payload (protected claims left out)."""
        text = self._session.get_access_token_payload()
        if text != self._payload_text:
            self._payload = json.loads(text)
            self._payload_text = text
        return dict(self._payload)

    def get_jwt_payload(self, user_context: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The seed's name of :meth:`get_access_token_payload`."""
        return self.get_access_token_payload()

    def get_access_token_expiry(self) -> int:
        """When the current access token expires, ms since the epoch."""
        return self._session.get_access_token_expiry()

    def get_token_transfer_method(self) -> str:
        """``"cookie"`` or ``"header"``: how this session's tokens travel."""
        return self._session.get_token_transfer_method()

    # -- 1 database call each
    async def merge_into_access_token_payload(
        self, access_token_payload_update: Dict[str, Any], user_context: Optional[Dict[str, Any]] = None
    ) -> None:
        """Merges into the payload (a key set to ``None`` is removed) and
        sends a new access token on this response."""
        merged = self.get_access_token_payload()
        for key, value in access_token_payload_update.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        await self._session.update_access_token_payload(_dumps(merged, "the access token payload"))

    async def update_jwt_payload(
        self, new_jwt_payload: Dict[str, Any], user_context: Optional[Dict[str, Any]] = None
    ) -> None:
        """Replaces the payload and sends a new access token on this response."""
        await self._session.update_access_token_payload(_dumps(new_jwt_payload, "the access token payload"))

    async def get_session_data_from_database(self, user_context: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The session data kept in the database."""
        data: Dict[str, Any] = json.loads(await self._session.get_session_data())
        return data

    async def get_session_data(self, user_context: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The seed's name of :meth:`get_session_data_from_database`."""
        return await self.get_session_data_from_database()

    async def update_session_data_in_database(
        self, new_session_data: Dict[str, Any], user_context: Optional[Dict[str, Any]] = None
    ) -> None:
        """Overwrites the session data."""
        await self._session.update_session_data(_dumps(new_session_data, "the session data"))

    async def update_session_data(
        self, new_session_data: Dict[str, Any], user_context: Optional[Dict[str, Any]] = None
    ) -> None:
        """The seed's name of :meth:`update_session_data_in_database`."""
        await self.update_session_data_in_database(new_session_data)

    async def revoke_session(self, user_context: Optional[Dict[str, Any]] = None) -> None:
        """Revokes the session and clears its tokens on this response."""
        await self._session.revoke_session()

    async def get_session_information(self, user_context: Optional[Dict[str, Any]] = None) -> SessionInformation:
        """Everything the database knows of this session."""
        info = _information(await self._session.get_session_information())
        assert info is not None
        return info

    async def get_time_created(self, user_context: Optional[Dict[str, Any]] = None) -> int:
        """When the session was created, ms since the epoch."""
        return (await self.get_session_information()).time_created

    async def get_expiry(self, user_context: Optional[Dict[str, Any]] = None) -> int:
        """When the session expires unless refreshed, ms since the epoch."""
        return (await self.get_session_information()).expiry

    def __repr__(self) -> str:
        return f"SessionContainer(user_id={self.get_user_id()!r}, handle={self.get_handle()!r})"


def verify_session(
    anti_csrf_check: Optional[bool] = None,
    session_required: bool = True,
    check_database: bool = False,
    override_global_claim_validators: Optional[OverrideClaimValidators] = None,
    user_context: Optional[Dict[str, Any]] = None,
) -> Callable[[Request], Awaitable[Optional[SessionContainer]]]:
    """A FastAPI dependency giving the request's :class:`SessionContainer`
    (SuperTokens' ``verify_session``, same parameters).

    Without a token: ``401 {"message":"unauthorised"}`` (or ``None`` with
    ``session_required=False``); an expired token:
    ``401 {"message":"try refresh token"}``. ``anti_csrf_check`` forces the
    anti-CSRF check on or off (default: every method but GET);
    ``check_database`` also checks that the session still exists (1
    database call); ``override_global_claim_validators(global_validators,
    session, user_context)`` returns the validators this route runs instead
    of the global ones (it may be async).
    """

    if override_global_claim_validators is not None:

        async def dependency_with_override(request: Request) -> Optional[SessionContainer]:
            return await get_session(
                request,
                anti_csrf_check,
                session_required,
                check_database,
                override_global_claim_validators,
                user_context,
            )

        return dependency_with_override

    # The common case, inlined (FastAPI awaits it directly: no second
    # coroutine, no lookups of the parameters above).
    async def dependency(request: Request) -> Optional[SessionContainer]:
        scope = request.scope
        ctx: Optional[Context] = scope.get(_CONTEXT)
        if ctx is None:
            raise RuntimeError("tessera.fastapi.init(app, ...) was not called for this app")
        done, value = ctx.verify_now(session_required, anti_csrf_check, check_database, True)
        session = value if done else await value
        if session is None:
            return None
        container = SessionContainer(session)
        state = scope.get("state")  # _keep(scope, container), inlined
        if state is None:
            state = scope["state"] = {}
        state["tessera_session"] = container
        return container

    return dependency


def _keep(scope: Scope, container: SessionContainer) -> None:
    # ``request.state.tessera_session``: Starlette's State reads scope["state"].
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["tessera_session"] = container


async def supertokens_session(request: Request) -> SessionContainer:
    """The dependency of the seed page (``Depends(supertokens_session)``):
    a required session, verified as by ``verify_session()``."""
    session = await get_session(request)
    assert session is not None  # a required session is never None
    return session


#: The seed page's name of :class:`SessionContainer`.
Session = SessionContainer


async def get_session(
    request: Request,
    anti_csrf_check: Optional[bool] = None,
    session_required: bool = True,
    check_database: bool = False,
    override_global_claim_validators: Optional[OverrideClaimValidators] = None,
    user_context: Optional[Dict[str, Any]] = None,
) -> Optional[SessionContainer]:
    """The request's session, as :func:`verify_session` gives it."""
    override = override_global_claim_validators
    # Ready at once unless the engine has to ask the store: no trip through
    # the event loop for the common case.
    done, value = _context(request).verify_now(session_required, anti_csrf_check, check_database, override is None)
    session = value if done else await value
    if session is None:
        return None
    container = SessionContainer(session)
    if override is not None:
        engine: Engine = request.scope[_ENGINE]
        chosen = override(list(engine.claim_validators), container, user_context if user_context is not None else {})
        if inspect.isawaitable(chosen):
            chosen = await chosen
        container.assert_claims(chosen)
    _keep(request.scope, container)
    return container


async def create_new_session(
    request: Request,
    user_id: str,
    access_token_payload: Optional[Dict[str, Any]] = None,
    session_data_in_database: Optional[Dict[str, Any]] = None,
    tenant_id: Optional[str] = None,
) -> SessionContainer:
    """Creates a session and sends its tokens on this response: as cookies
    when the request says ``st-auth-mode: cookie``, as headers otherwise.
    1 database call."""
    session = await _context(request).create_new_session(
        user_id,
        _dumps(access_token_payload, "access_token_payload"),
        _dumps(session_data_in_database, "session_data_in_database"),
        tenant_id,
    )
    return SessionContainer(session)


# -- admin functions (no request needed)


async def revoke_session(session_handle: str) -> bool:
    """Revokes one session; ``True`` if it existed."""
    return await get_engine().revoke_session(session_handle)


async def revoke_all_sessions_for_user(user_id: str) -> List[str]:
    """Revokes every session of a user; returns their handles."""
    return await get_engine().revoke_all_sessions_for_user(user_id)


async def revoke_multiple_sessions(session_handles: List[str]) -> List[str]:
    """Revokes the given sessions; returns the handles that existed."""
    return await get_engine().revoke_multiple_sessions(list(session_handles))


async def get_all_session_handles_for_user(user_id: str) -> List[str]:
    """Handles of a user's live sessions, oldest first."""
    return await get_engine().get_all_session_handles_for_user(user_id)


async def get_session_information(session_handle: str) -> Optional[SessionInformation]:
    """What the database knows of a live session, or ``None``."""
    return _information(await get_engine().get_session_information(session_handle))


async def update_session_data_in_database(session_handle: str, new_session_data: Dict[str, Any]) -> bool:
    """Overwrites a session's data; ``False`` if the session is gone."""
    return await get_engine().update_session_data(session_handle, _dumps(new_session_data, "the session data"))


async def merge_into_access_token_payload(session_handle: str, access_token_payload_update: Dict[str, Any]) -> bool:
    """Merges into a session's stored payload (``None`` removes a key); its
    client gets it with the next refresh. ``False`` if the session is gone."""
    engine = get_engine()
    info = _information(await engine.get_session_information(session_handle))
    if info is None:
        return False
    merged = dict(info.custom_claims_in_access_token_payload)
    for key, value in access_token_payload_update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return await engine.update_access_token_payload(session_handle, _dumps(merged, "the access token payload"))


# -- the seed's functions by session handle


async def get_jwt_payload(session_handle: str) -> Optional[Dict[str, Any]]:
    """The stored access-token payload of a live session, or ``None``."""
    info = _information(await get_engine().get_session_information(session_handle))
    return None if info is None else info.custom_claims_in_access_token_payload


async def update_jwt_payload(session_handle: str, new_jwt_payload: Dict[str, Any]) -> bool:
    """Replaces a session's stored payload; its client gets it with the
    next refresh. ``False`` if the session is gone."""
    return await get_engine().update_access_token_payload(
        session_handle, _dumps(new_jwt_payload, "the access token payload")
    )


async def get_session_data(session_handle: str) -> Optional[Dict[str, Any]]:
    """The session data of a live session, or ``None``."""
    text = await get_engine().get_session_data(session_handle)
    if text is None:
        return None
    data: Dict[str, Any] = json.loads(text)
    return data


async def update_session_data(session_handle: str, new_session_data: Dict[str, Any]) -> bool:
    """The seed's name of :func:`update_session_data_in_database`."""
    return await update_session_data_in_database(session_handle, new_session_data)
