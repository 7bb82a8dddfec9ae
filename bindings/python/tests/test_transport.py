"""Anti-CSRF modes, header and cookie mode, cookie attributes, statuses."""

from conftest import Server, decode_front_token, is_clearing, set_cookies, tokens


def test_cookies_are_httponly_samesite_lax_and_secure_by_default(start) -> None:  # type: ignore[no-untyped-def]
    server = start(cookie_secure=None)
    r = server.client.post("/login/ida", headers={"st-auth-mode": "cookie"})
    access = set_cookies(r, "sAccessToken")[0]
    refresh = set_cookies(r, "sRefreshToken")[0]
    for c in (access, refresh):
        assert "HttpOnly" in c and "SameSite=Lax" in c and "Secure" in c
    assert "Path=/;" in access + ";" or access.endswith("Path=/")
    assert "Path=/auth/session/refresh" in refresh


def test_creation_uses_cookies_only_when_st_auth_mode_says_cookie(server: Server) -> None:
    header = server.bare().post("/login/jo")
    assert tokens(header)["access"] and not header.headers.get_list("set-cookie")
    cookie = server.bare().post("/login/jo", headers={"st-auth-mode": "cookie"})
    assert set_cookies(cookie, "sAccessToken") and "st-access-token" not in cookie.headers
    assert decode_front_token(cookie.headers["front-token"])["up"]["role"] == "reader"


def test_a_forced_cookie_policy_issues_cookies_to_every_client(start) -> None:  # type: ignore[no-untyped-def]
    server = start(token_transfer_method="cookie")
    r = server.bare().post("/login/kit")
    assert set_cookies(r, "sAccessToken") and "st-access-token" not in r.headers


def test_no_token_is_401_unauthorised_and_clears_nothing(server: Server) -> None:
    r = server.bare().post("/user")
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert "front-token" not in r.headers


def test_a_forged_access_token_is_refused(server: Server) -> None:
    t = server.login_header("lee")
    head, body, sig = t["access"].split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    r = server.bare().post("/user", headers={"authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_via_token_needs_the_anti_csrf_header_on_a_cookie_post(start) -> None:  # type: ignore[no-untyped-def]
    server = start(anti_csrf="VIA_TOKEN")
    login = server.login_cookie("max")
    anti_csrf = login.headers["anti-csrf"]
    assert "anti-csrf" in login.headers["access-control-expose-headers"]
    r = server.client.post("/user")
    assert r.status_code == 401 and r.json() == {"message": "try refresh token"}
    assert server.client.post("/user", headers={"anti-csrf": anti_csrf}).status_code == 200
    assert server.client.get("/user").status_code == 200  # GET is not checked
    assert server.client.post("/no-csrf").status_code == 200  # the route turned it off
    # The refresh needs it too (a refused refresh clears the cookies).
    assert server.client.post("/auth/session/refresh", headers={"anti-csrf": anti_csrf}).status_code == 200
    refused = server.client.post("/auth/session/refresh")
    assert refused.status_code == 401 and refused.json() == {"message": "unauthorised"}
    assert is_clearing(set_cookies(refused, "sRefreshToken")[0])


def test_via_token_is_never_used_for_header_mode_sessions(start) -> None:  # type: ignore[no-untyped-def]
    server = start(anti_csrf="VIA_TOKEN")
    t = server.login_header("ned")
    assert t["anti_csrf"] == ""
    assert server.bare().post("/user", headers={"authorization": f"Bearer {t['access']}"}).status_code == 200


def test_via_custom_header_needs_rid_on_cookie_requests(start) -> None:  # type: ignore[no-untyped-def]
    server = start(anti_csrf="VIA_CUSTOM_HEADER")
    server.login_cookie("oda")
    r = server.client.post("/user")
    assert r.status_code == 401 and r.json() == {"message": "try refresh token"}
    assert server.client.post("/user", headers={"rid": "anti-csrf"}).status_code == 200
    refused = server.client.post("/auth/session/refresh")
    assert refused.status_code == 401 and refused.json() == {"message": "unauthorised"}
    assert is_clearing(set_cookies(refused, "sAccessToken")[0])


def test_same_site_none_cookies_default_to_the_custom_header_check(start) -> None:  # type: ignore[no-untyped-def]
    server = start(cookie_same_site="none", cookie_secure=True)
    r = server.bare().post("/login/pia", headers={"st-auth-mode": "cookie"})
    access = set_cookies(r, "sAccessToken")[0].split(";")[0]
    denied = server.bare().post("/user", headers={"cookie": access})
    assert denied.status_code == 401 and denied.json() == {"message": "try refresh token"}
    ok = server.bare().post("/user", headers={"cookie": access, "rid": "session"})
    assert ok.status_code == 200


def test_a_header_token_wins_over_the_cookie(server: Server) -> None:
    server.login_cookie("quin")
    t = server.login_header("rae")
    r = server.client.post("/user", headers={"authorization": f"Bearer {t['access']}"})
    assert r.json() == {"user": "rae"}


def test_status_codes_are_configurable(start) -> None:  # type: ignore[no-untyped-def]
    server = start(session_expired_status=440, invalid_claim_status=403)
    r = server.bare().post("/user")
    assert r.status_code == 440 and r.json() == {"message": "unauthorised"}


def test_bad_settings_are_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from tessera import ConfigError, Engine

    with pytest.raises(ConfigError):
        Engine(f"sqlite://{tmp_path}/x.db", anti_csrf="SOMETIMES")
    with pytest.raises(ConfigError):
        Engine(f"sqlite://{tmp_path}/x.db", session_expired_status=403, invalid_claim_status=403)


def test_options_requests_need_no_session(server: Server) -> None:
    r = server.bare().options("/user")
    assert r.status_code != 401


def test_a_cookie_that_is_not_utf8_does_not_hide_the_session(server: Server) -> None:
    # The Cookie header reaches the FDI core as bytes, as in the Rust
    # adapters: a Latin-1 cookie beside the session cookie is skipped.
    r = server.bare().post("/login/una", headers={"st-auth-mode": "cookie"})
    access = set_cookies(r, "sAccessToken")[0].split(";")[0].encode()
    ok = server.bare().post("/user", headers={"cookie": b"legacy=caf\xe9; " + access, "rid": "session"})
    assert ok.status_code == 200 and ok.json() == {"user": "una"}
    twice = server.bare().post(
        "/user", headers=[(b"cookie", access), (b"cookie", b"legacy=caf\xe9; " + access), (b"rid", b"session")]
    )
    assert twice.status_code == 401 and twice.json() == {"message": "try refresh token"}
