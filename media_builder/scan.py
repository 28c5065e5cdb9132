"""Secret scan of a staged payload: nothing secret may reach a boot image, which anyone on the network can read."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.catalog.verify import PRIVATE_PREFIX
from agent.errors import InputError

_PEM_PRIVATE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# Our signing key file format (media_builder.signing): a line starting with this marker.
# A key file's line: the prefix, then the seed's base64. The prefix alone is no key: the agent's own code
# holds it (agent/catalog/verify.py), and a onedir agent carries that code as a loose .pyc.
_OUR_PRIVATE = re.compile(re.escape(PRIVATE_PREFIX.encode("ascii")) + rb"[ \t]+[A-Za-z0-9+/]{42,44}={0,2}")
_AWS_ACCESS_KEY = re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
# `password: x`, `"client_secret": "x"`, `Token=x`: a secret-like key with a value. `password_env:` names a
# variable rather than holding a secret, so the key must end at a word boundary. A commented-out secret
# is still on the media, so comment markers before the key do not hide it.
# Keys are found at a line start or, in compact JSON (the compiled profile), after `{` or `,`; camelCase
# names such as DomainJoinPassword count too.
_SECRET_KEY = re.compile(
    rb"""(?im)(?:^|[{,])[ \t#;/]*["']?(?P<key>[\w.-]*?(?P<kind>password|passwd|pwd|secret|client_secret|"""
    rb"""api[_-]?key|token|aws_secret_access_key))["']?[ \t]*[:=][ \t]*"""
    rb"""(?P<value>"[^"\r\n]*"|'[^'\r\n]*'|[^\r\n#,}]*)"""
)
# Words that make a catalog attribute or variable name look secret (`join_password`, `ApiToken`, `product-key`).
SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "key", "credential", "credentials",
                          "apikey", "passphrase"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Values that say "nothing here" rather than hold a secret.
_EMPTY_VALUES = {b"", b'""', b"''", b"null", b"~", b"none", b"[]", b"{}", b'"",', b"'',", b"null,"}
# Config-like files get the key/value rule; binaries (the agent, its libraries) would only give false alarms.
_TEXT_SUFFIXES = {".yaml", ".yml", ".json", ".ini", ".cmd", ".bat", ".txt", ".xml", ".ps1", ".cfg", ".conf", ".inf"}
_MIN_ENV_VALUE = 4  # shorter values match by accident everywhere


@dataclass(frozen=True)
class Finding:
    """A secret found in the payload: which file (in-image path) and what kind; never the secret itself."""

    file: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


def secret_like(name: str) -> bool:
    """True when a name, split into words (snake, kebab or camel case), holds a word like `password` or `key`."""
    return any(word.lower() in SECRET_WORDS for word in _WORD.findall(name))


def scan_bytes(
    name: str,
    data: bytes,
    *,
    env_values: Mapping[str, str],
    key_blobs: Iterable[bytes] = (),
    allowed: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every kind of secret found in one file's content; a signed catalog is opened and its content scanned.

    `allowed`: folded names the media definition lets through (`catalog.allow_secrets`), with the reason.
    """
    allowed = allowed or {}
    found: list[Finding] = []
    inner = _signed_payload(data)
    if inner is not None:
        found += scan_bytes(f"{name} (signed content)", inner, env_values=env_values, key_blobs=key_blobs,
                            allowed=allowed)
    if _PEM_PRIVATE.search(data):
        found.append(Finding(name, "a PEM private key"))
    if _OUR_PRIVATE.search(data):
        found.append(Finding(name, "an Ed25519 signing key (the catalog's private key)"))
    for blob in key_blobs:
        if blob and blob in data:
            found.append(Finding(name, "the content of the catalog signing key"))
    if _AWS_ACCESS_KEY.search(data):
        found.append(Finding(name, "an AWS-style access key ID"))
    for var, value in env_values.items():
        if len(value) < _MIN_ENV_VALUE:
            continue
        if value.encode("utf-8") in data or value.encode("utf-16-le") in data:
            found.append(Finding(name, f"the value of the environment variable {var}"))
    if Path(name).suffix.lower() in _TEXT_SUFFIXES:
        for match in _SECRET_KEY.finditer(data):
            if match.group("key").decode("utf-8", "replace").casefold() in allowed:
                continue
            if match.group("value").strip().lower() not in _EMPTY_VALUES:
                key = match.group("kind").decode("ascii", "replace")
                line = data.count(b"\n", 0, match.start()) + 1
                found.append(Finding(name, f"line {line}: a {key}-like key with a value"))
    return found


def _signed_payload(data: bytes) -> bytes | None:
    """The catalog inside a signed envelope (base64, so no other rule could see it), or None."""
    if not data.lstrip().startswith(b"{") or b'"payload"' not in data:
        return None
    import base64
    import binascii
    import json

    try:
        doc = json.loads(data)
        payload = doc.get("payload") if isinstance(doc, dict) else None
        return base64.b64decode(payload, validate=True) if isinstance(payload, str) else None
    except (ValueError, binascii.Error):
        return None


def scan_catalog(
    catalog: Any,
    *,
    env_names: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    key_files: Iterable[Path] = (),
    allowed: Mapping[str, str] | None = None,
) -> list[Finding]:
    """What is about to be signed: its text (credentials from the environment, keys), every item's attributes
    whose names look secret, and every embedded task sequence's `hidden="true"` variables with a value."""
    allowed = allowed or {}
    env_values, blobs = _env_values(env_names, environ), _key_blobs(key_files)
    # Named without a suffix: the line-based key rule is for config files; attributes are checked by name below.
    found = scan_bytes("catalog", catalog.to_json(), env_values=env_values, key_blobs=blobs, allowed=allowed)
    for list_name, items in catalog.lists.items():
        for index, item in enumerate(items):
            where = f"catalog list {list_name!r} item {item.id or index + 1}"
            for attr, value in item.attrs.items():
                if value in (None, "", False):
                    continue
                if secret_like(attr) and attr.casefold() not in allowed:
                    found.append(Finding(where, f"attribute {attr!r} looks secret"))
                if isinstance(value, str) and "<" in value and "hidden" in value:
                    found += _hidden_variables(f"{where}, attribute {attr!r}", value, allowed)
    return found


def _hidden_variables(where: str, xml: str, allowed: Mapping[str, str]) -> list[Finding]:
    """Task sequence variables marked hidden="true" (ConfigMgr's own mark for a secret) that carry a value."""
    from agent import safexml

    try:
        root = safexml.fromstring(xml)
    except Exception:  # not XML after all, or refused: the agent will say so; nothing hidden to find here
        return []
    found = []
    for element in root.iter("variable"):
        name = element.get("name", "")
        hidden = (element.get("hidden") or "").lower() == "true" and (element.text or "").strip()
        if hidden and name.casefold() not in allowed:
            found.append(Finding(where, f"task sequence variable {name!r} is marked hidden (a secret) and set"))
    return found


def _env_values(env_names: Iterable[str], environ: Mapping[str, str] | None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {name: env[name] for name in env_names if env.get(name)}


def _key_blobs(key_files: Iterable[Path]) -> list[bytes]:
    blobs: list[bytes] = []
    for key in key_files:
        try:
            # Each long token of the key file (its base64 seed), so a copy without the marker is still caught.
            blobs += [token for token in key.read_bytes().split() if len(token) >= 32]
        except OSError:
            continue
    return blobs


def scan_files(
    files: Mapping[str, Path],
    *,
    env_names: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    key_files: Iterable[Path] = (),
    allowed: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Scan every staged file (in-image path -> file) for private keys, credentials from the environment
    (the variables the definition's `*_env` keys name) and password-like values."""
    env_values, blobs = _env_values(env_names, environ), _key_blobs(key_files)
    found: list[Finding] = []
    for name, path in sorted(files.items()):
        found += scan_bytes(name, path.read_bytes(), env_values=env_values, key_blobs=blobs, allowed=allowed)
    return found


def require_clean(findings: list[Finding], *, where: str) -> None:
    """Stop the build before anything is written when the payload holds a secret."""
    if findings:
        listed = "; ".join(str(f) for f in findings)
        raise InputError(
            f"{where}: the payload would carry secrets: {listed}",
            "boot media are readable by anyone on the network: remove the secret from the profile, catalog or "
            "agent folder, and pass credentials through the environment at build time only",
        )
