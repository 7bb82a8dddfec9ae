"""Every Rust error reaches Python as a typed exception (never a panic):
its class, status, body and rejection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import tessera
from tessera import Engine


def test_the_exception_classes_form_one_hierarchy() -> None:
    for name in [
        "UnauthorisedError",
        "TryRefreshTokenError",
        "TokenTheftDetectedError",
        "InvalidClaimError",
        "InvalidInputError",
        "InternalError",
        "ConfigError",
    ]:
        assert issubclass(getattr(tessera, name), tessera.TesseraError)
    assert issubclass(tessera.TesseraError, Exception)


def test_json_that_does_not_parse_is_invalid_input_with_a_400_and_no_rejection(tmp_path: Path) -> None:
    engine = Engine(f"sqlite://{tmp_path}/e.db")
    with pytest.raises(tessera.InvalidInputError) as err:
        engine.update_session_data("some-handle", "{not json")
    assert err.value.status == 400
    assert err.value.json == {"message": "the session data is not valid JSON"}
    assert err.value.rejection is None


def test_no_token_is_unauthorised_with_a_rejection_and_admin_calls_on_unknown_handles_are_answers(
    tmp_path: Path,
) -> None:
    engine = Engine(f"sqlite://{tmp_path}/e.db")

    async def run() -> None:
        ctx = engine.context("POST", "/x", [(b"cookie", b"other=1")])
        with pytest.raises(tessera.UnauthorisedError) as err:
            await ctx.verify()
        assert err.value.status == 401
        assert json.loads(err.value.body) == {"message": "unauthorised"}
        assert err.value.rejection is not None
        # No token: nothing to clear, so the response's headers stay as they are.
        status, headers = ctx.finish([(b"content-type", b"application/json")], err.value.rejection)
        assert status == 401 and headers == [(b"content-type", b"application/json")]
        assert await ctx.verify(session_required=False) is None
        assert await engine.revoke_session("no-such-handle") is False
        assert await engine.get_session_information("no-such-handle") is None

    asyncio.run(run())


def test_wrong_argument_types_are_type_errors(tmp_path: Path) -> None:
    engine = Engine(f"sqlite://{tmp_path}/e.db")
    with pytest.raises(TypeError):
        engine.context("GET", "/", "not a header list")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.revoke_session(42)  # type: ignore[arg-type]


def test_a_database_url_that_cannot_work_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(tessera.TesseraError):
        Engine("mysql://nowhere/db")
    with pytest.raises(tessera.TesseraError):
        Engine(f"sqlite://{tmp_path}/missing-dir/deeper/e.db")
