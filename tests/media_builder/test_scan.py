"""The secret scan: a payload carrying a key, a credential or a password never reaches an output."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import InputError
from media_builder.scan import require_clean, scan_files


def _files(tmp_path: Path, **content: bytes) -> dict[str, Path]:
    out = {}
    for name, data in content.items():
        path = tmp_path / name.replace("__", ".")
        path.write_bytes(data)
        out[f"sms/PKG/PRST0001/{path.name}"] = path
    return out


def test_finds_each_kind_of_secret_without_repeating_it(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        a__pem=b"junk\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
        b__key=b"prestart-ed25519-private c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n",
        c__yaml=b"title: x\nbackend:\n  password: hunter2-and-more\n  password_env: PRESTART_CM_PASSWORD\n",
        d__json=b'{"aws": "AKIAABCDEFGHIJKLMNOP"}',
        e__txt="token is S3cr3t-Value-From-Env".encode("utf-16-le"),
    )
    found = scan_files(
        files, env_names=["PRESTART_CM_PASSWORD"], environ={"PRESTART_CM_PASSWORD": "S3cr3t-Value-From-Env"}
    )
    kinds = {(Path(f.file).name, f.what.split(":")[0]) for f in found}
    assert ("a.pem", "a PEM private key") in kinds
    assert any(n == "b.key" and "Ed25519" in w for n, w in kinds)
    assert any(n == "c.yaml" and w.startswith("line 3") for n, w in kinds)
    assert any(n == "d.json" and "AWS" in w for n, w in kinds)
    assert any(n == "e.txt" and "PRESTART_CM_PASSWORD" in w for n, w in kinds)
    with pytest.raises(InputError) as caught:
        require_clean(found, where="boot image x")
    message = str(caught.value)
    for secret in ("hunter2", "S3cr3t", "AKIAABCD", "c2VjcmV0"):
        assert secret not in message


def test_clean_payload_and_harmless_lookalikes_pass(tmp_path: Path, spec_dir: Path) -> None:
    files = _files(
        tmp_path,
        profile__yaml=(spec_dir / "kiosk.yaml").read_bytes(),
        catalog__json=(spec_dir / "catalog.json").read_bytes(),
        fields__yaml=b"fields:\n  - id: pw\n    type: password\n    password: ''\n  password_env: X\n",
    )
    assert scan_files(files, env_names=["UNSET_VARIABLE"], environ={}) == []


def test_signing_key_content_is_caught_even_reformatted(tmp_path: Path) -> None:
    key = tmp_path / "catalog.key"
    key.write_bytes(b"prestart-ed25519-private QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=\n")
    leak = _files(tmp_path, leak__bin=b"\x00\x01" + key.read_bytes().replace(b"prestart-ed25519-private ", b""))
    found = scan_files(leak, key_files=[key])
    assert found and "signing key" in found[0].what


def test_the_agents_own_code_naming_the_key_prefix_is_no_secret(tmp_path: Path) -> None:
    """A onedir agent carries agent/catalog/verify.pyc, which holds the key file's prefix as a constant."""
    import marshal

    import agent.catalog.verify as verify

    source = Path(verify.__file__).read_text(encoding="utf-8")
    code = marshal.dumps(compile(source, "verify.py", "exec"))
    assert b"prestart-ed25519-private" in code
    assert scan_files(_files(tmp_path, verify__pyc=code), env_names=[], environ={}) == []
