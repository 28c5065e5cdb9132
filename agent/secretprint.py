"""A secret the run must mask everywhere but not keep: its length and a keyed digest, never the text itself."""

# Why: a directory password is needed for one bind, but the run's redactor (logs, receipt, error messages)
# must recognise it until the run ends. Keeping the text for that would keep the password in memory for the
# whole run; a SecretPrint keeps a BLAKE2b digest under a random per-secret key instead, and finds the
# secret by hashing each window of text of the same length. Texts the redactor sees are short (log records,
# a receipt of a few kilobytes), so the cost is a few thousand hashes at most.

from __future__ import annotations

import hashlib
import hmac
import os


class SecretPrint:
    """Masks a secret in text without holding it (hashable by identity; len() is the secret's length)."""

    __slots__ = ("_digest", "_key", "length")

    def __init__(self, secret: str) -> None:
        self.length = len(secret)
        self._key = os.urandom(16)
        self._digest = self._hash(secret)

    def _hash(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"SecretPrint(length={self.length})"

    def redact(self, text: str, mask: str) -> str:
        """`text` with every occurrence of the secret replaced by `mask`."""
        size = self.length
        if not size or len(text) < size:
            return text
        parts: list[str] = []
        start = position = 0
        while position <= len(text) - size:
            if hmac.compare_digest(self._hash(text[position:position + size]), self._digest):
                parts += [text[start:position], mask]
                position += size
                start = position
            else:
                position += 1
        if not parts:
            return text
        parts.append(text[start:])
        return "".join(parts)
