"""Catalog signatures: the signed-file format, public keys, and loading a catalog with every check applied."""

# Signed catalog (docs/catalog.md): one JSON object
#   {"prestart_signed_catalog": 1, "algorithm": "ed25519", "key_id": "<16 hex>",
#    "signature": "<base64>", "payload": "<base64 of the exact catalog JSON bytes>"}
# The signature covers SIGNING_CONTEXT + payload bytes: signing exact bytes avoids canonicalisation bugs, and the
# context keeps a catalog key's signature from meaning anything elsewhere.
# Public key file: one line "prestart-ed25519-public <base64 of 32 bytes>".

from __future__ import annotations

import binascii
import hashlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from agent.catalog.model import Catalog, catalog_from_dict, catalog_from_json, parse_json
from agent.errors import DataError, InputError

SIGNED_MARKER = "prestart_signed_catalog"
SIGNED_VERSION = 1
ALGORITHM = "ed25519"
SIGNING_CONTEXT = b"prestart signed catalog v1\n"
PUBLIC_PREFIX = "prestart-ed25519-public"
PRIVATE_PREFIX = "prestart-ed25519-private"


def key_id(public_key: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key: names a key in files and messages."""
    return hashlib.sha256(public_key).hexdigest()[:16]


class PublicKey(NamedTuple):
    """A trusted Ed25519 public key and where it came from."""

    raw: bytes
    file: str = ""

    @property
    def key_id(self) -> str:
        return key_id(self.raw)

    def text(self) -> str:
        return f"{PUBLIC_PREFIX} {binascii.b2a_base64(self.raw, newline=False).decode('ascii')}\n"


class LoadedCatalog(NamedTuple):
    """A catalog that passed every check, and how it got here."""

    catalog: Catalog
    signed: bool
    key_id: str  # "" when unsigned
    origin: str  # "offline snapshot", "file", "network", ...


def parse_public_key(text: str, *, file: str = "public key") -> PublicKey:
    """Read the one-line public key format; a private key here is refused (it must never travel on media)."""
    line = text.strip()
    if line.startswith(PRIVATE_PREFIX):
        raise DataError(
            f"{file} is a PRIVATE signing key",
            "give the agent catalog.pub; the private key stays on the build machine and never goes on media",
        )
    prefix, _, encoded = line.partition(" ")
    if prefix != PUBLIC_PREFIX:
        raise DataError(f"{file} is not a Prestart public key", f"expected a line starting with {PUBLIC_PREFIX}")
    try:
        raw = _b64decode(encoded.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise DataError(f"{file}: the public key is damaged (not 32 bytes of base64)", "copy catalog.pub again")
    return PublicKey(raw, file)


def read_public_key(path: Path) -> PublicKey:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"trusted key {path} does not exist", "check the --trust-key path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read trusted key {path}: {exc}", "copy catalog.pub again") from None
    return parse_public_key(text, file=str(path))


def is_signed(doc: Any) -> bool:
    return isinstance(doc, dict) and SIGNED_MARKER in doc


def verify_signature(public: PublicKey, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification (PyNaCl / libsodium)."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        VerifyKey(public.raw).verify(SIGNING_CONTEXT + message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def _b64decode(text: str) -> bytes:
    """base64.b64decode(text, validate=True), without importing base64 (and struct) at every boot."""
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)


def _b64(doc: dict[str, Any], key: str, file: str) -> bytes:
    value = doc.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return _b64decode(value)
    except (binascii.Error, ValueError):
        raise DataError(f"{file}: signed catalog field {key!r} is not base64", "fetch the catalog again") from None


def open_envelope(doc: dict[str, Any], public: PublicKey | None, *, file: str) -> tuple[bytes, str]:
    """Check a signed envelope and return (payload bytes, signer key id). Without a key only the form is checked."""
    version = doc.get(SIGNED_MARKER)
    if version != SIGNED_VERSION:
        raise DataError(
            f"{file}: signed catalog format {version!r} is not supported (this agent reads {SIGNED_VERSION})",
            "build the media with a matching prestart-media",
        )
    if doc.get("algorithm", ALGORITHM) != ALGORITHM:
        raise DataError(f"{file}: signature algorithm {doc.get('algorithm')!r} is not supported", "use ed25519")
    payload = _b64(doc, "payload", file)
    signature = _b64(doc, "signature", file)
    signer = str(doc.get("key_id", ""))
    if public is None:
        return payload, signer
    if signer and signer != public.key_id:
        raise DataError(
            f"{file} is signed by key {signer}, not by the trusted key {public.key_id}",
            "the media's catalog.pub must match the key that signed the catalog; rebuild the media or publish "
            "with the right key",
        )
    if len(signature) != 64 or not verify_signature(public, payload, signature):
        raise DataError(
            f"{file}: the catalog signature is not valid for key {public.key_id}",
            "the file was changed after signing, or signed with another key; fetch or publish it again",
        )
    return payload, public.key_id


def load_catalog_bytes(
    data: bytes,
    *,
    file: str,
    trust_key: PublicKey | None,
    now: datetime | None = None,
    origin: str = "file",
) -> LoadedCatalog:
    """Parse, verify and check expiry of catalog bytes (signed or plain); DataError/ValidationFailed (13) if bad."""
    doc = parse_json(data, file=file)
    signed = is_signed(doc)
    if signed:
        assert isinstance(doc, dict)
        payload, signer = open_envelope(doc, trust_key, file=file)
        catalog = catalog_from_json(payload, file=file)
    else:
        if trust_key is not None:
            raise DataError(
                f"{file} is not signed, but key {trust_key.key_id} is trusted",
                "use the signed catalog written by prestart-media fetch or publish",
            )
        catalog = catalog_from_dict(doc, file=file)  # parsed once: 10,000 items are ~1.4 MB of JSON
        signer = ""
    moment = time.time() if now is None else now.timestamp()
    if catalog.expired(moment):
        raise DataError(
            f"{file}: the catalog expired at {catalog.not_after} (serial {catalog.serial})",
            "build new media or publish a fresh catalog (prestart-media fetch / publish); check the machine's clock",
        )
    return LoadedCatalog(catalog, signed and trust_key is not None, signer if trust_key is not None else "", origin)


def load_catalog(
    path: Path, *, trust_key: Path | None, now: datetime | None = None, origin: str | None = None
) -> LoadedCatalog:
    """Load a catalog file. With a trusted key it must be signed by that key; without one a plain catalog is fine.

    A signed file read without a trusted key is accepted unverified (`signed` is False): only a key makes trust.
    """
    public = read_public_key(trust_key) if trust_key is not None else None
    from agent import limits

    try:
        data = limits.read_bytes(path, limits.CATALOG_BYTES, "a catalog")
    except FileNotFoundError:
        raise InputError(f"catalog {path} does not exist", "check the --catalog path or the media") from None
    except OSError as exc:
        raise DataError(f"cannot read catalog {path}: {exc.strerror}", "check the media") from None
    where = origin or ("offline snapshot" if public is not None else "file")
    return load_catalog_bytes(data, file=str(path), trust_key=public, now=now, origin=where)
