"""Facts every platform computes the same way: Architecture, HostName, and the True/False spelling."""

from __future__ import annotations

import os
import platform
import socket

# platform.machine() spellings (Windows: AMD64/x86/ARM64; Linux: x86_64/i686/aarch64) -> MDT's names.
_ARCH = {
    "amd64": "X64",
    "x86_64": "X64",
    "x64": "X64",
    "x86": "X86",
    "i386": "X86",
    "i486": "X86",
    "i586": "X86",
    "i686": "X86",
    "arm64": "ARM64",
    "aarch64": "ARM64",
    "armv8l": "ARM64",
}


def architecture(machine: str | None = None) -> str:
    """X64, X86 or ARM64 from platform.machine(); an unknown machine is returned upper-cased."""
    if machine is None:
        # A 32-bit process on 64-bit Windows sees x86; WOW64 keeps the real one here.
        machine = os.environ.get("PROCESSOR_ARCHITEW6432") or platform.machine()
    return _ARCH.get(machine.strip().lower(), machine.strip().upper())


def hostname() -> str:
    """The machine's current name (MININT-... in WinPE)."""
    return socket.gethostname()


def as_bool(value: bool) -> str:
    """MDT spells booleans True/False."""
    return "True" if value else "False"
