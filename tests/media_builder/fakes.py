"""Input files for media builder tests: a tiny valid PE32+ executable standing in for the frozen agent."""

from __future__ import annotations

import struct
from pathlib import Path

MACHINES = {"amd64": 0x8664, "x86": 0x014C, "arm64": 0xAA64}


def make_agent_exe(path: Path, arch: str = "amd64", *, marker: bytes = b"prestart-agent-standin") -> Path:
    """Write a minimal MZ + PE header with the machine type of `arch`.

    Not a fake of behaviour: nothing runs it. It is only an input file whose PE machine type the builder checks
    and whose bytes tests find again inside the built media (the real agent is frozen on Windows).
    """
    pe_offset = 0x80
    dos = bytearray(pe_offset)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, pe_offset)
    magic = 0x20B if arch != "x86" else 0x10B  # PE32+ for 64-bit, PE32 for x86
    optional = struct.pack("<H", magic) + bytes(0xF0 - 2 if magic == 0x20B else 0xE0 - 2)
    coff = struct.pack("<HHIIIHH", MACHINES[arch], 0, 0, 0, 0, len(optional), 0x0022)
    data = bytes(dos) + b"PE\0\0" + coff + optional + marker
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data + bytes(-len(data) % 512))
    return path
