"""Signing keys encrypted at rest under a key-encryption key (KEK): the
key rows are sealed, the database refuses to open without the KEK or with
another one, and with the KEK (given as text, a file, or the environment)
the sessions made before work again."""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

import httpx
import pytest

from tessera import Engine, TesseraError

from conftest import _serve, tokens

KEK = base64.b64encode(bytes(range(32))).decode()
OTHER = base64.b64encode(bytes(range(1, 33))).decode()


def key_secrets(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT secret FROM tessera_keys")]


def test_keys_are_sealed_and_reopen_only_with_the_same_kek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESSERA_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("TESSERA_KEY_ENCRYPTION_KEY_FILE", raising=False)
    db = tmp_path / "kek.db"
    url = f"sqlite://{db}"
    engine = Engine(url, key_encryption_key=KEK, cookie_secure=False)
    kek_id = engine.key_encryption_key_id
    assert kek_id is not None and len(kek_id) == 16 and KEK not in kek_id
    gen = _serve(engine)
    base = next(gen)
    login = httpx.post(f"{base}/login/kim")
    t = tokens(login)
    for _ in gen:
        pass

    secrets = key_secrets(db)
    assert secrets and all(s.startswith(b"\xa5TK") for s in secrets)

    with pytest.raises(TesseraError) as missing:
        Engine(url, cookie_secure=False)
    assert missing.value.status == 400
    with pytest.raises(TesseraError) as other:
        Engine(url, key_encryption_key=OTHER, cookie_secure=False)
    assert OTHER not in str(other.value)

    # The same KEK from a file: the old tokens verify and refresh.
    kek_file = tmp_path / "kek.txt"
    kek_file.write_text(KEK + "\n")
    again = Engine(url, key_encryption_key_file=str(kek_file), cookie_secure=False)
    assert again.key_encryption_key_id == kek_id
    gen = _serve(again)
    base = next(gen)
    try:
        r = httpx.post(f"{base}/user", headers={"authorization": f"Bearer {t['access']}"})
        assert r.status_code == 200 and r.json() == {"user": "kim"}
        r = httpx.post(f"{base}/auth/session/refresh", headers={"authorization": f"Bearer {t['refresh']}"})
        assert r.status_code == 200
    finally:
        for _ in gen:
            pass

    # And from the environment, as `tessera serve` reads it.
    monkeypatch.setenv("TESSERA_KEY_ENCRYPTION_KEY", KEK)
    assert Engine(url, cookie_secure=False).key_encryption_key_id == kek_id


def test_a_kek_that_is_not_32_bytes_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(TesseraError) as bad:
        Engine(f"sqlite://{tmp_path}/bad.db", key_encryption_key="not-a-key-at-all")
    assert "not-a-key-at-all" not in str(bad.value)
    with pytest.raises(TesseraError):
        Engine(f"sqlite://{tmp_path}/bad.db", key_encryption_key=KEK, key_encryption_key_file="/nonexistent")


def test_without_a_kek_keys_are_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESSERA_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("TESSERA_KEY_ENCRYPTION_KEY_FILE", raising=False)
    db = tmp_path / "plain.db"
    engine = Engine(f"sqlite://{db}")
    assert engine.key_encryption_key_id is None
    assert not any(s.startswith(b"\xa5TK") for s in key_secrets(db))
    assert os.path.exists(db)
