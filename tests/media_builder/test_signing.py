"""Signing keys: keygen writes a 0600 private key and a public key; readable private keys are refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent.catalog.verify import load_catalog_bytes, read_public_key
from agent.errors import InputError
from media_builder import signing
from tests.conftest import REPO
from tests.media_builder.conftest import MediaWorkspace


def test_keygen_modes_and_round_trip(tmp_path: Path) -> None:
    private, public = signing.keygen(tmp_path / "keys")
    assert (private.name, public.name) == ("catalog.key", "catalog.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("prestart-ed25519-public ")
    key = signing.load_private_key(private)
    trusted = read_public_key(public)
    assert key.public().raw == trusted.raw
    assert "prestart-ed25519-private" not in repr(key) and private.read_text().split()[1] not in repr(key)
    data = signing.sign_payload(b'{"schema": 1, "serial": 3, "lists": {}}', key)
    loaded = load_catalog_bytes(data, file="x", trust_key=trusted)
    assert loaded.signed and loaded.catalog.serial == 3 and loaded.key_id == trusted.key_id


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    private, _ = signing.keygen(tmp_path)
    before = private.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        signing.keygen(tmp_path)
    assert private.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_private_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    private, _ = signing.keygen(tmp_path)
    os.chmod(private, mode)
    with pytest.raises(InputError, match="readable by others") as caught:
        signing.load_private_key(private)
    assert "chmod 600" in caught.value.hint
    assert private.read_text().split()[1] not in str(caught.value)


def test_signatures_are_deterministic(tmp_path: Path) -> None:
    key = signing.load_private_key(signing.keygen(tmp_path)[0])
    assert signing.sign_payload(b"{}", key) == signing.sign_payload(b"{}", key)


def test_damaged_or_missing_key(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.key"
    bad.write_text("prestart-ed25519-private AAAA\n")
    os.chmod(bad, 0o600)
    with pytest.raises(InputError, match="damaged"):
        signing.load_private_key(bad)
    with pytest.raises(InputError, match="keygen"):
        signing.load_private_key(tmp_path / "none.key")


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_snapshots_and_public_keys_follow_the_umask_and_the_private_key_stays_private(
    workspace: MediaWorkspace, tmp_path: Path
) -> None:
    def media(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "media_builder", *args], check=True, cwd=REPO, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=lambda: os.umask(0o027))

    media("keygen", str(tmp_path / "keys"))
    media("fetch", str(workspace.media_yaml), "-o", str(tmp_path / "snapshot.json"))
    mode = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in
            ("keys/catalog.key", "keys/catalog.pub", "snapshot.json")}
    assert mode == {"keys/catalog.key": 0o600, "keys/catalog.pub": 0o640, "snapshot.json": 0o640}
