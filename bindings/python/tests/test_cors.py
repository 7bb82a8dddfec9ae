"""tessera.fastapi.cors(): Starlette's CORSMiddleware with the headers the
FDI core lists (the test app allows http://web.example:3000)."""

from __future__ import annotations

from tessera.fastapi import get_all_cors_headers

from conftest import Server

WEB = "http://web.example:3000"
SDK_HEADERS = "rid,fdi-version,anti-csrf,st-auth-mode,authorization,content-type"


def test_preflight_from_the_website_allows_the_sdks_headers_with_credentials(server: Server) -> None:
    r = server.bare().options(
        "/auth/session/refresh",
        headers={"origin": WEB, "access-control-request-method": "POST", "access-control-request-headers": SDK_HEADERS},
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == WEB
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert set(SDK_HEADERS.split(",")) <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]


def test_preflight_from_another_origin_is_refused(server: Server) -> None:
    r = server.bare().options(
        "/user", headers={"origin": "http://evil.example", "access-control-request-method": "POST"}
    )
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


def test_a_cross_origin_login_exposes_the_token_headers(server: Server) -> None:
    r = server.bare().post("/login/ivy", headers={"origin": WEB})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == WEB
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"front-token", "st-access-token", "st-refresh-token", "anti-csrf"} <= exposed
    assert r.headers["st-access-token"]


def test_get_all_cors_headers_lists_what_the_sdk_sends() -> None:
    assert set(get_all_cors_headers()) == set(SDK_HEADERS.split(","))
