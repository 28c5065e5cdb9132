"""SHA-256 on the boot path without loading OpenSSL: importing hashlib loads it, ~3 ms of every start."""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _builtin_sha256() -> Callable[[bytes], Any]:
    # CPython's own implementation, which hashlib falls back to without OpenSSL: `_sha2` (HACL*) from
    # 3.12, `_sha256` in 3.11. Any other interpreter gets hashlib's.
    for module in ("_sha2", "_sha256"):
        try:
            found: Callable[[bytes], Any] = __import__(module).sha256
            return found
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256

    return sha256


sha256 = _builtin_sha256()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data` as 64 lower-case hex digits, exactly as hashlib.sha256(data).hexdigest()."""
    return str(sha256(data).hexdigest())
