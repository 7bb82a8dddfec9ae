"""Refresh with rotation, the grace window, theft, and sign-out."""

from conftest import Server, decode_front_token, is_clearing, set_cookies, tokens


def refresh_header(server: Server, refresh: str):  # type: ignore[no-untyped-def]
    return server.bare().post("/auth/session/refresh", headers={"authorization": f"Bearer {refresh}"})


def test_refresh_in_cookie_mode_rotates_both_cookies_and_sends_a_front_token(server: Server) -> None:
    login = server.login_cookie("ann")
    old_refresh = set_cookies(login, "sRefreshToken")[0]
    assert "Path=/auth/session/refresh" in old_refresh and "HttpOnly" in old_refresh
    r = server.client.post("/auth/session/refresh", headers={"rid": "session"})
    assert r.status_code == 200 and r.json() == {}
    new_refresh = set_cookies(r, "sRefreshToken")[0]
    assert new_refresh.split(";")[0] != old_refresh.split(";")[0]
    assert len(set_cookies(r, "sAccessToken")) == 1
    assert decode_front_token(r.headers["front-token"])["uid"] == "ann"
    assert r.headers["cache-control"] == "no-store"


def test_an_expired_access_token_is_try_refresh_token_and_a_refresh_recovers(server: Server) -> None:
    server.login_cookie("ben")
    server.advance(3601)
    r = server.client.post("/user")
    assert r.status_code == 401 and r.json() == {"message": "try refresh token"}
    assert "front-token" not in r.headers  # nothing cleared
    assert server.client.post("/auth/session/refresh").status_code == 200
    assert server.client.post("/user").json() == {"user": "ben"}


def test_refresh_in_header_mode_returns_new_tokens_in_headers(server: Server) -> None:
    t = server.login_header("cat")
    r = refresh_header(server, t["refresh"])
    assert r.status_code == 200
    new = tokens(r)
    assert new["access"] and new["refresh"] and new["refresh"] != t["refresh"]
    assert "st-refresh-token" in r.headers["access-control-expose-headers"]
    ok = server.bare().post("/user", headers={"authorization": f"Bearer {new['access']}"})
    assert ok.json() == {"user": "cat"}


def test_refresh_without_a_token_is_401_unauthorised_and_clears_both_methods(server: Server) -> None:
    r = server.bare().post("/auth/session/refresh")
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert r.headers["front-token"] == "remove"
    assert r.headers["st-access-token"] == "" and r.headers["st-refresh-token"] == ""
    assert is_clearing(set_cookies(r, "sRefreshToken")[0])


def test_replaying_the_previous_refresh_token_within_the_grace_window_is_a_normal_refresh(server: Server) -> None:
    first = server.login_header("dan")
    second = tokens(refresh_header(server, first["refresh"]))
    server.advance(10)
    retry = refresh_header(server, first["refresh"])
    assert retry.status_code == 200
    assert tokens(retry)["refresh"] == second["refresh"]
    assert decode_front_token(tokens(retry)["front"])["uid"] == "dan"


def test_replaying_a_retired_refresh_token_after_the_grace_window_is_theft_and_revokes_the_session(
    server: Server,
) -> None:
    first = server.login_header("eve-victim")
    handle = decode_front_token(first["front"])["up"]["sessionHandle"]
    second = tokens(refresh_header(server, first["refresh"]))
    server.advance(31)
    replay = refresh_header(server, first["refresh"])
    assert replay.status_code == 401
    assert replay.json() == {"message": "token theft detected"}
    assert replay.headers["front-token"] == "remove"
    assert is_clearing(set_cookies(replay, "sRefreshToken")[0])
    assert handle not in server.client.get("/admin/eve-victim").json()["handles"]
    legit = refresh_header(server, second["refresh"])
    assert legit.status_code == 401 and legit.json() == {"message": "unauthorised"}


def test_theft_in_cookie_mode_clears_the_cookies(server: Server) -> None:
    login = server.login_cookie("fred")
    original = set_cookies(login, "sRefreshToken")[0].split(";")[0]
    assert server.client.post("/auth/session/refresh").status_code == 200
    server.advance(31)
    replay = server.bare().post("/auth/session/refresh", headers={"cookie": original})
    assert replay.status_code == 401 and replay.json() == {"message": "token theft detected"}
    assert is_clearing(set_cookies(replay, "sAccessToken")[0])
    assert is_clearing(set_cookies(replay, "sRefreshToken")[0])


def test_a_forged_refresh_token_is_401_unauthorised_and_clears(server: Server) -> None:
    r = refresh_header(server, "AQAAAAAAAAAAforged")
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert r.headers["front-token"] == "remove"


def test_signout_revokes_the_session_and_clears_the_method_in_use(server: Server) -> None:
    server.login_cookie("gil")
    r = server.client.post("/auth/signout")
    assert r.status_code == 200 and r.json() == {"status": "OK"}
    assert r.headers["front-token"] == "remove"
    assert is_clearing(set_cookies(r, "sAccessToken")[0])
    assert "st-access-token" not in r.headers  # only the method in use
    assert server.client.get("/admin/gil").json()["handles"] == []


def test_signout_without_a_session_is_401_and_clears_nothing(server: Server) -> None:
    r = server.bare().post("/auth/signout")
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert "front-token" not in r.headers and not r.headers.get_list("set-cookie")
