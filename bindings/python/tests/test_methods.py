"""The six methods of the session and their database costs, the seed
page's handler, and the admin functions."""

from conftest import Server, decode_front_token, is_clearing, set_cookies, tokens


def test_session_methods_cost_0_0_1_1_1_1_database_calls(server: Server) -> None:
    server.login_cookie("alice")
    costs = {}
    for path, body in [
        ("/user", None),
        ("/payload", None),
        ("/merge", {"k": "v"}),
        ("/data", None),
        ("/update-data", {"cart": [3]}),
        ("/revoke", None),
    ]:
        before = server.calls()
        r = server.client.post(path, json=body)
        assert r.status_code == 200, (path, r.text)
        costs[path] = server.calls() - before
    assert costs == {
        "/user": 0,
        "/payload": 0,
        "/merge": 1,
        "/data": 1,
        "/update-data": 1,
        "/revoke": 1,
    }


def test_merge_sends_a_new_access_token_and_front_token_on_this_response(server: Server) -> None:
    server.login_cookie("bob")
    r = server.client.post("/merge", json={"k": "v", "role": None})
    assert r.status_code == 200
    assert r.json() == {"k": "v"}
    assert len(set_cookies(r, "sAccessToken")) == 1
    front = decode_front_token(r.headers["front-token"])
    assert front["uid"] == "bob" and front["up"]["k"] == "v" and "role" not in front["up"]
    # The next request carries the new token.
    assert server.client.post("/payload").json() == {"k": "v"}


def test_seed_handler_changes_data_and_payload_then_revokes_and_the_next_call_is_401(server: Server) -> None:
    login = server.login_cookie("carol")
    handle = login.json()["handle"]
    before = server.calls()
    r = server.client.post("/test")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "user": "carol"}
    assert server.calls() - before == 4
    assert r.headers["front-token"] == "remove"
    assert is_clearing(set_cookies(r, "sAccessToken")[-1])
    assert is_clearing(set_cookies(r, "sRefreshToken")[-1])
    assert server.client.get(f"/admin/carol").json()["handles"] == []
    again = server.client.post("/test")
    assert again.status_code == 401
    assert again.json() == {"message": "unauthorised"}
    assert handle


def test_the_issue_example_runs_in_header_mode(server: Server) -> None:
    t = server.login_header("dave")
    r = server.bare().post("/like_comment", headers={"authorization": f"Bearer {t['access']}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"user": "dave", "payload": {"role": "reader"}, "data": {"cart": [1, 2]}}
    # Revoked: the header tokens are cleared.
    assert r.headers["front-token"] == "remove"
    assert r.headers["st-access-token"] == ""
    assert r.headers["st-refresh-token"] == ""


def test_admin_functions_list_and_revoke_a_users_sessions(server: Server) -> None:
    a = server.login_header("erin")
    server.login_header("erin")
    listed = server.client.get("/admin/erin").json()
    assert len(listed["handles"]) == 2 and listed["users"] == ["erin", "erin"]
    revoked = server.client.post("/admin/erin/revoke-all").json()["revoked"]
    assert sorted(revoked) == sorted(listed["handles"])
    assert server.client.get("/admin/erin").json()["handles"] == []
    # Without blacklisting the access token works until it expires, but a
    # database-checked route refuses it and clears.
    r = server.bare().post("/check-db", headers={"authorization": f"Bearer {a['access']}"})
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert r.headers["front-token"] == "remove"


def test_optional_session_is_none_without_a_token_but_an_expired_token_is_still_an_error(server: Server) -> None:
    assert server.bare().post("/optional").json() == {"user": None}
    t = server.login_header("fay")
    auth = {"authorization": f"Bearer {t['access']}"}
    assert server.bare().post("/optional", headers=auth).json() == {"user": "fay"}
    server.advance(3601)
    r = server.bare().post("/optional", headers=auth)
    assert r.status_code == 401 and r.json() == {"message": "try refresh token"}


def test_a_protected_claim_in_the_payload_is_400_and_a_caught_error_clears_nothing(server: Server) -> None:
    r = server.bare().post("/login-payload/gus", json={"sub": "mallory"})
    assert r.status_code == 400
    assert "message" in r.json()
    t = server.login_header("gus")
    r = server.bare().post("/catch", headers={"authorization": f"Bearer {t['access']}"})
    assert r.status_code == 200
    assert r.json() == {"caught": "InvalidInputError", "status": 400}
    assert "front-token" not in r.headers


def test_blacklisting_refuses_a_revoked_sessions_access_token_at_once(start) -> None:  # type: ignore[no-untyped-def]
    server = start(blacklisting=True)
    t = server.login_header("hal")
    auth = {"authorization": f"Bearer {t['access']}"}
    assert server.bare().post("/user", headers=auth).status_code == 200
    server.client.post("/admin/hal/revoke-all")
    r = server.bare().post("/user", headers=auth)
    assert r.status_code == 401 and r.json() == {"message": "unauthorised"}
    assert tokens(r)["front"] == "remove"
