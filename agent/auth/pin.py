"""Technician PIN: salted scrypt hashes (`scrypt$N$r$p$salt$hash`), constant-time checks, attempt lockout."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

KEY_LENGTH = 32
SALT_LENGTH = 16
# scrypt needs about 128 * N * r bytes; leave headroom above OpenSSL's 32 MB default for N up to 2**17.
_MAXMEM = 256 * 1024 * 1024


class PinFormatError(ValueError):
    """The stored hash is not `scrypt$N$r$p$<salt b64>$<hash b64>`."""


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = 16384, r: int = 8, p: int = 1) -> str:
    """Hash a PIN for kiosk.technician_unlock.pin_hash: scrypt, 32-byte key, standard base64 fields."""
    if salt is None:
        salt = os.urandom(SALT_LENGTH)
    key = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_LENGTH)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode('ascii')}${b64(key).decode('ascii')}"


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """Split an encoded hash into (N, r, p, salt, key); PinFormatError names what is wrong."""
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PinFormatError("expected scrypt$N$r$p$<salt base64>$<hash base64> (make one with `prestart pin-hash`)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise PinFormatError(f"a field of the PIN hash is not a number or base64: {exc}") from exc
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or not key:
        raise PinFormatError("N must be a power of two above 1, r and p at least 1, salt and hash non-empty")
    return n, r, p, salt, key


def verify_pin(pin: str, encoded: str) -> bool:
    """True when `pin` matches the encoded hash; the comparison takes the same time however it differs."""
    n, r, p, salt, key = parse_hash(encoded)
    candidate = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(key))
    return hmac.compare_digest(candidate, key)


@dataclass
class PinGate:
    """Runtime state of one unlock: counts wrong PINs and locks out after `max_attempts` (not configuration)."""

    encoded: str
    max_attempts: int = 5
    failures: int = 0

    @property
    def locked_out(self) -> bool:
        return self.failures >= self.max_attempts

    @property
    def remaining(self) -> int:
        return max(0, self.max_attempts - self.failures)

    def try_pin(self, pin: str) -> bool:
        """Check one attempt; after lockout every attempt fails without hashing."""
        if self.locked_out:
            return False
        if verify_pin(pin, self.encoded):
            self.failures = 0
            return True
        self.failures += 1
        return False
