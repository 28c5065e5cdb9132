"""Loading catalogs: signed by the trusted key or refused with 13; never a warning and carry on."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.catalog.verify import load_catalog
from agent.errors import DataError, ExitCode, ValidationFailed
from media_builder import signing
from tests.agent.catalog.conftest import catalog_doc

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_signed_snapshot_with_trusted_key(tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]) -> None:
    snap = write(tmp_path / "catalog.json", sign(catalog_doc()))
    loaded = load_catalog(snap, trust_key=keys[1], now=NOW)
    assert loaded.signed and loaded.origin == "offline snapshot"
    assert loaded.key_id == signing.load_private_key(keys[0]).public().key_id
    assert loaded.catalog.items("deployments")[0].attr("advertisement_id") == "CM120045"


def test_plain_catalog_without_a_key_is_accepted(spec_dir: Path) -> None:
    loaded = load_catalog(spec_dir / "catalog.json", trust_key=None, now=NOW)
    assert not loaded.signed and loaded.origin == "file" and loaded.catalog.serial == 7


def refused(path: Path, key: Path | None) -> DataError:
    with pytest.raises(DataError) as caught:
        load_catalog(path, trust_key=key, now=NOW)
    assert caught.value.code == ExitCode.INVALID_DATA == 13
    assert str(path) in caught.value.message or str(key) in caught.value.message
    assert caught.value.hint
    return caught.value


def test_unsigned_catalog_is_refused_when_a_key_is_trusted(spec_dir: Path, keys: tuple[Path, Path]) -> None:
    assert "not signed" in refused(spec_dir / "catalog.json", keys[1]).message


def test_changed_payload_is_a_bad_signature(
    tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]
) -> None:
    envelope = json.loads(sign(catalog_doc()))
    payload = base64.b64decode(envelope["payload"]).replace(b"CM120045", b"CM666666")
    envelope["payload"] = base64.b64encode(payload).decode()
    bad = write(tmp_path / "catalog.json", json.dumps(envelope).encode())
    assert "signature is not valid" in refused(bad, keys[1]).message


def test_catalog_signed_by_another_key(tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]) -> None:
    other_key, _ = signing.keygen(tmp_path / "other")
    snap = write(tmp_path / "catalog.json", sign(catalog_doc(), other_key))
    assert "not by the trusted key" in refused(snap, keys[1]).message
    # A forged key_id does not help: the signature is checked with the trusted key.
    envelope = json.loads(snap.read_bytes())
    envelope["key_id"] = signing.load_private_key(keys[0]).public().key_id
    forged = write(tmp_path / "forged.json", json.dumps(envelope).encode())
    assert "signature is not valid" in refused(forged, keys[1]).message


def test_expired_catalog_is_refused_even_if_signed(
    tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]
) -> None:
    snap = write(tmp_path / "catalog.json", sign(catalog_doc(not_after="2026-11-21T00:00:00Z")))
    assert "expired" in refused(snap, keys[1]).message
    assert load_catalog(snap, trust_key=keys[1], now=datetime(2026, 11, 20, tzinfo=UTC)).signed


def test_private_key_as_trust_key_is_refused(
    tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]
) -> None:
    snap = write(tmp_path / "catalog.json", sign(catalog_doc()))
    assert "PRIVATE" in refused(snap, keys[0]).message


def test_signed_payload_with_schema_problem_lists_them(
    tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]
) -> None:
    snap = write(tmp_path / "catalog.json", sign(catalog_doc(serial=-3)))
    with pytest.raises(ValidationFailed) as caught:
        load_catalog(snap, trust_key=keys[1], now=NOW)
    assert caught.value.code == 13 and caught.value.problems[0].path == "serial"


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: e.update(signature="not base64!"),
        lambda e: e.update(payload=12),
        lambda e: e.update(prestart_signed_catalog=9),
        lambda e: e.update(algorithm="rsa"),
    ],
)
def test_damaged_envelope(tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes], damage) -> None:  # type: ignore[no-untyped-def]
    envelope = json.loads(sign(catalog_doc()))
    damage(envelope)
    refused(write(tmp_path / "catalog.json", json.dumps(envelope).encode()), keys[1])


def test_truncated_file(tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]) -> None:
    data = sign(catalog_doc())
    err = refused(write(tmp_path / "catalog.json", data[: len(data) // 2]), keys[1])
    assert "not valid JSON" in err.message and "catalog.json:" in err.message
