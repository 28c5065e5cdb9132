"""Secret scan of a staged payload: nothing secret may reach a boot image, which anyone on the network can read."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

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
    rb"""(?im)(?:^|[{,])[ \t#;/]*["']?[\w.-]*?(password|passwd|pwd|secret|client_secret|api[_-]?key|token|"""
    rb"""aws_secret_access_key)["']?[ \t]*[:=][ \t]*(?P<value>"[^"\r\n]*"|'[^'\r\n]*'|[^\r\n#,}]*)"""
)
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


def scan_bytes(
    name: str, data: bytes, *, env_values: Mapping[str, str], key_blobs: Iterable[bytes] = ()
) -> list[Finding]:
    """Every kind of secret found in one file's content."""
    found: list[Finding] = []
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
            if match.group("value").strip().lower() not in _EMPTY_VALUES:
                key = match.group(1).decode("ascii", "replace")
                line = data.count(b"\n", 0, match.start()) + 1
                found.append(Finding(name, f"line {line}: a {key}-like key with a value"))
    return found


def scan_files(
    files: Mapping[str, Path],
    *,
    env_names: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    key_files: Iterable[Path] = (),
) -> list[Finding]:
    """Scan every staged file (in-image path -> file) for private keys, credentials from the environment
    (the variables the definition's `*_env` keys name) and password-like values."""
    env = os.environ if environ is None else environ
    env_values = {name: env[name] for name in env_names if env.get(name)}
    blobs: list[bytes] = []
    for key in key_files:
        try:
            # Each long token of the key file (its base64 seed), so a copy without the marker is still caught.
            blobs += [token for token in key.read_bytes().split() if len(token) >= 32]
        except OSError:
            continue
    found: list[Finding] = []
    for name, path in sorted(files.items()):
        found += scan_bytes(name, path.read_bytes(), env_values=env_values, key_blobs=blobs)
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
