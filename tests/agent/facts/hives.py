"""Registry hives for tests: an empty hive, filled by hivex's own hivexsh (libhivex-bin), a real regf writer."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path


def _cell(payload: bytes) -> bytes:
    size = (4 + len(payload) + 7) // 8 * 8
    return struct.pack("<i", -size) + payload + bytes(size - 4 - len(payload))


def empty_hive(path: Path) -> Path:
    """The smallest hive hivex opens: the regf header, one hive bin with a root key and its security cell."""
    name = b"ROOT"

    def root_key(security: int) -> bytes:
        # nk: flags (hive entry, no delete, ASCII name), timestamp, then the counts and offsets; no subkeys yet.
        fields = (0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF, security, 0xFFFFFFFF, 0, 0, 0, 0, 0)
        return b"nk" + struct.pack("<HQ15IHH", 0x2C, 0, *fields, len(name), 0) + name

    security_at = 0x20 + len(_cell(root_key(0)))
    descriptor = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 0)  # self-relative, NULL DACL
    sk = b"sk" + struct.pack("<HIIII", 0, security_at, security_at, 1, len(descriptor)) + descriptor
    cells = _cell(root_key(security_at)) + _cell(sk)
    free = 0x1000 - 0x20 - len(cells)
    hbin = b"hbin" + struct.pack("<IIQQI", 0, 0x1000, 0, 0, 0) + cells + struct.pack("<i", free) + bytes(free - 4)
    header = bytearray(4096)
    struct.pack_into("<4sIIQIIIIIII", header, 0, b"regf", 1, 1, 0, 1, 5, 0, 1, 0x20, 0x1000, 1)
    checksum = 0
    for offset in range(0, 508, 4):
        checksum ^= struct.unpack_from("<I", header, offset)[0]
    struct.pack_into("<I", header, 0x1FC, checksum)
    path.write_bytes(bytes(header) + hbin)
    return path


def hivexsh(hive: Path, script: str) -> None:
    """Run hivexsh commands in write mode, then commit."""
    subprocess.run(["hivexsh", "-w", str(hive)], input=script + "\ncommit\n", text=True, check=True, timeout=60)


def system_hive(path: Path, *, current: int = 1, status: str | None = "Updated", updates: int | None = 0x5944) -> Path:
    """A SYSTEM hive with Select\\Current and, in that control set, the Secure Boot servicing values."""
    empty_hive(path)
    lines = ["add Select", "cd Select", "setval 1", "Current", f"dword:{current}", "cd .."]
    for n in sorted({1, current}):
        lines += [f"add ControlSet{n:03d}", f"cd ControlSet{n:03d}", "add Control", "cd Control", "add SecureBoot"]
        lines += ["cd SecureBoot"]
        if n == current and updates is not None:
            lines += ["setval 1", "AvailableUpdates", f"dword:{updates:#x}"]
        lines += ["add Servicing", "cd Servicing"]
        if n == current and status is not None:
            lines += ["setval 1", "UEFICA2023Status", f"string:{status}"]
        lines += ["cd ..", "cd ..", "cd ..", "cd .."]
    hivexsh(path, "\n".join(lines))
    return path
