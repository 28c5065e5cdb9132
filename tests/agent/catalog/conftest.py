"""Fixtures for catalog tests: a CA and certificates for loopback HTTPS, a signing key pair, signed catalogs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from media_builder import signing
from tests.agent.catalog.loopback import Pki, make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """(catalog.key, catalog.pub) made by the builder's keygen."""
    return signing.keygen(tmp_path / "keys")


@pytest.fixture
def sign(keys: tuple[Path, Path]) -> Callable[..., bytes]:
    """sign(catalog_dict) -> signed catalog bytes, with the `keys` pair."""

    def _sign(doc: dict[str, Any], key: Path | None = None) -> bytes:
        payload = (json.dumps(doc, indent=1) + "\n").encode("utf-8")
        return signing.sign_payload(payload, signing.load_private_key(key or keys[0]))

    return _sign


def catalog_doc(serial: int = 7, **extra: Any) -> dict[str, Any]:
    """A small valid catalog in our schema."""
    doc: dict[str, Any] = {
        "schema": 1,
        "serial": serial,
        "generated": "2026-11-20T08:00:00Z",
        "source": "test",
        "lists": {"deployments": [{"id": "win11", "label": "Windows 11", "advertisement_id": "CM120045"}]},
    }
    doc.update(extra)
    return doc
