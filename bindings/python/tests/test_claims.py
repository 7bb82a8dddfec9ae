"""Claim validators: global ones (init/Engine claim_validators), a route's
override (verify_session(override_global_claim_validators=…)), and
SessionContainer.assert_claims; the FDI core answers every failure with
403 invalid claim and clears nothing."""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List

import pytest


from tessera.fastapi import ClaimValidationResult, SessionClaimValidator, has_value

from conftest import Server, tokens


def login(server: Server, user: str, payload: Dict[str, Any]) -> Dict[str, str]:
    r = server.bare().post(f"/login-payload/{user}", json=payload)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {tokens(r)['access']}"}


def test_a_global_validator_refuses_a_payload_with_403_and_clears_nothing(start: Callable[..., Server]) -> None:
    server = start(claim_validators=[has_value("role", "reader")])
    ok = login(server, "ann", {"role": "reader"})
    assert server.bare().post("/user", headers=ok).json() == {"user": "ann"}
    guest = login(server, "ben", {"role": "guest"})
    before = server.calls()
    r = server.bare().post("/user", headers=guest)
    assert r.status_code == 403
    assert r.json() == {
        "message": "invalid claim",
        "claimValidationErrors": [
            {"id": "role", "reason": {"message": "wrong value", "expectedValue": "reader", "actualValue": "guest"}}
        ],
    }
    assert "front-token" not in r.headers and "set-cookie" not in r.headers
    assert server.calls() == before  # validation reads no database
    # The same on a database-checked route, where the engine awaits the
    # store and the validator runs on a runtime thread.
    r = server.bare().post("/check-db", headers=guest)
    assert r.status_code == 403 and r.json()["claimValidationErrors"][0]["id"] == "role"
    assert server.bare().post("/check-db", headers=ok).json() == {"user": "ann"}


def test_a_route_override_adds_to_or_drops_the_global_validators(start: Callable[..., Server]) -> None:
    server = start(claim_validators=[has_value("role", "reader")])
    reader = login(server, "cat", {"role": "reader"})
    r = server.bare().post("/claims/admin", headers=reader)
    assert r.status_code == 403
    assert [e["id"] for e in r.json()["claimValidationErrors"]] == ["role"]
    assert r.json()["claimValidationErrors"][0]["reason"]["expectedValue"] == "admin"
    # An async override returning no validators lets a failing payload through.
    guest = login(server, "dan", {"role": "guest"})
    assert server.bare().post("/user", headers=guest).status_code == 403
    assert server.bare().post("/claims/none", headers=guest).json() == {"user": "dan"}


def test_assert_claims_in_a_handler_is_403_with_the_configured_status(start: Callable[..., Server]) -> None:
    server = start(invalid_claim_status=400)
    writer = login(server, "eve", {"perms": ["read", "write"]})
    assert server.bare().post("/claims/assert", headers=writer).json() == {"user": "eve"}
    reader = login(server, "fox", {"perms": ["read"]})
    r = server.bare().post("/claims/assert", headers=reader)
    assert r.status_code == 400
    assert r.json()["claimValidationErrors"] == [
        {"id": "perms", "reason": {"message": "wrong value", "expectedToInclude": "write", "actualValue": ["read"]}}
    ]


class Raises(SessionClaimValidator):
    def validate(self, payload: Dict[str, Any], user_context: Dict[str, Any]) -> ClaimValidationResult:
        raise RuntimeError("validator bug")


class NoReason(SessionClaimValidator):
    def validate(self, payload: Dict[str, Any], user_context: Dict[str, Any]) -> ClaimValidationResult:
        return ClaimValidationResult(payload.get("ok") is True)


def test_a_validator_that_raises_fails_its_claim_and_the_server_lives_on(
    start: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    raised: List[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: raised.append(u.exc_value))
    server = start(claim_validators=[Raises("boom"), NoReason("ok")])
    t = login(server, "gil", {"ok": False})
    r = server.bare().post("/user", headers=t)
    assert r.status_code == 403
    assert r.json()["claimValidationErrors"] == [{"id": "boom"}, {"id": "ok"}]
    # The exception went to sys.unraisablehook, not into Rust.
    assert [str(e) for e in raised] == ["validator bug"]
    # Header-less route still works: the server survived.
    assert server.bare().post("/optional").json() == {"user": None}


def test_engine_keeps_the_global_validators_as_given(start: Callable[..., Server]) -> None:
    v = has_value("role", "reader")
    server = start(claim_validators=[v])
    assert server.engine.claim_validators == [v]
