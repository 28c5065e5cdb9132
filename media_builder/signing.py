"""Catalog signing keys (Ed25519, PyNaCl): keygen, loading the private key safely, signing catalog bytes."""

# Key files (docs/catalog.md):
#   catalog.key  "prestart-ed25519-private <base64 of the 32-byte seed>"  created 0600, never copied to media
#   catalog.pub  "prestart-ed25519-public <base64 of the 32-byte public key>"  goes on media as the trust anchor
# A private key that group or others may read is refused wherever it is read: it may already have leaked, and
# silently using it would hide that.

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from agent import files
from agent.catalog.verify import (
    ALGORITHM,
    PRIVATE_PREFIX,
    SIGNED_MARKER,
    SIGNED_VERSION,
    SIGNING_CONTEXT,
    PublicKey,
    key_id,
)
from agent.errors import InputError

PRIVATE_NAME = "catalog.key"
PUBLIC_NAME = "catalog.pub"


@dataclass(frozen=True)
class PrivateKey:
    """An Ed25519 signing key (seed) and the file it came from. repr never shows the seed."""

    seed: bytes
    file: str = ""

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self.public().key_id}, file={self.file!r})"

    def public(self) -> PublicKey:
        from nacl.signing import SigningKey

        return PublicKey(bytes(SigningKey(self.seed).verify_key), self.file)

    def sign(self, message: bytes) -> bytes:
        from nacl.signing import SigningKey

        return bytes(SigningKey(self.seed).sign(SIGNING_CONTEXT + message).signature)


def keygen(directory: Path) -> tuple[Path, Path]:
    """Write DIR/catalog.key (0600 from the first byte) and DIR/catalog.pub; refuse to overwrite a key."""
    from nacl.signing import SigningKey

    directory = Path(directory)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    for existing in (private_path, public_path):
        if existing.exists():
            raise InputError(
                f"{existing} already exists; refusing to replace a signing key",
                "media already built trust the old key: move it away first if you really mean to rotate keys",
            )
    signing_key = SigningKey.generate()
    seed = bytes(signing_key)
    text = f"{PRIVATE_PREFIX} {base64.b64encode(seed).decode('ascii')}\n"
    files.create_private(private_path, text.encode("ascii"))
    public = PublicKey(bytes(signing_key.verify_key))
    files.write_text(public_path, public.text())  # public: the umask decides
    return private_path, public_path


def check_private_mode(path: Path) -> None:
    """Refuse a private key readable or writable by group or others (POSIX; Windows ACLs are not modes)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(Path(path).stat().st_mode)
    if mode & 0o077:
        raise InputError(
            f"signing key {path} is readable by others (mode {mode:04o}); refusing to use it",
            f"run: chmod 600 {path}  - and if others could read it, make a new key with prestart-media keygen",
        )


def load_private_key(path: Path) -> PrivateKey:
    """Read catalog.key after checking its permissions; errors never include key material."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"signing key {path} does not exist", "create one with: prestart-media keygen DIR")
    check_private_mode(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise InputError(f"cannot read signing key {path}", "is it the catalog.key written by keygen?") from None
    prefix, _, encoded = text.partition(" ")
    if prefix != PRIVATE_PREFIX:
        raise InputError(f"{path} is not a Prestart private key", f"expected a line starting with {PRIVATE_PREFIX}")
    try:
        seed = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise InputError(f"signing key {path} is damaged", "restore it from your backup or make a new key")
    return PrivateKey(seed, str(path))


def sign_payload(payload: bytes, key: PrivateKey) -> bytes:
    """The signed catalog file: a JSON envelope around the exact payload bytes."""
    public = key.public()
    envelope = {
        SIGNED_MARKER: SIGNED_VERSION,
        "algorithm": ALGORITHM,
        "key_id": key_id(public.raw),
        "signature": base64.b64encode(key.sign(payload)).decode("ascii"),
        "payload": base64.b64encode(payload).decode("ascii"),
    }
    return (json.dumps(envelope, indent=1) + "\n").encode("ascii")
