"""Read one value from an offline registry hive file (regf), as an installed Windows leaves it for WinPE to read."""

from __future__ import annotations

import struct
from pathlib import Path

from agent.log import get_logger

log = get_logger("prestart.facts.regf")

_BINS = 0x1000  # cell offsets count from the first hive bin, right after the 4 KB header
REG_SZ, REG_EXPAND_SZ, REG_DWORD = 1, 2, 4
_NK_ASCII_NAME = 0x20  # KEY_COMP_NAME: the key name is Latin-1, not UTF-16
_VK_ASCII_NAME = 0x1


class HiveError(ValueError):
    """The file is not a hive, or a cell points outside it."""


class Hive:
    """A regf file held in memory (SYSTEM hives are a few MB); only reading, only what values need."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _BINS + 0x20 or data[:4] != b"regf" or data[_BINS : _BINS + 4] != b"hbin":
            raise HiveError("not a registry hive (no regf header or first hive bin)")
        self.data = data
        (self.root,) = struct.unpack_from("<I", data, 0x24)

    def cell(self, offset: int) -> bytes:
        start = _BINS + offset
        if offset in (0, 0xFFFFFFFF) or start + 4 > len(self.data):
            raise HiveError(f"cell offset {offset:#x} is outside the hive")
        (size,) = struct.unpack_from("<i", self.data, start)
        size = abs(size)
        if size < 8 or start + size > len(self.data):
            raise HiveError(f"cell at {offset:#x} has a bad size {size}")
        return self.data[start + 4 : start + size]

    def _name(self, raw: bytes, ascii_name: bool) -> str:
        return raw.decode("latin-1") if ascii_name else raw.decode("utf-16-le", errors="replace")

    def _key_name(self, nk: bytes) -> str:
        (flags,) = struct.unpack_from("<H", nk, 2)
        (length,) = struct.unpack_from("<H", nk, 0x48)
        return self._name(nk[0x4C : 0x4C + length], bool(flags & _NK_ASCII_NAME))

    def _subkeys(self, nk: bytes) -> list[int]:
        count, list_offset = struct.unpack_from("<I", nk, 0x14)[0], struct.unpack_from("<I", nk, 0x1C)[0]
        return self._list(list_offset) if count else []

    def _list(self, offset: int) -> list[int]:
        cell = self.cell(offset)
        kind, (count,) = cell[:2], struct.unpack_from("<H", cell, 2)
        if kind in (b"lf", b"lh"):  # (offset, name hash) pairs
            return [struct.unpack_from("<I", cell, 4 + 8 * i)[0] for i in range(count)]
        if kind == b"li":
            return [struct.unpack_from("<I", cell, 4 + 4 * i)[0] for i in range(count)]
        if kind == b"ri":  # a list of lists, in big keys
            return [o for i in range(count) for o in self._list(struct.unpack_from("<I", cell, 4 + 4 * i)[0])]
        raise HiveError(f"unknown subkey list {kind!r} at {offset:#x}")

    def key(self, path: str) -> bytes | None:
        """The nk record of `path` (backslashes, case-insensitive, from the hive's root), or None."""
        nk = self.cell(self.root)
        for part in [p for p in path.split("\\") if p]:
            for offset in self._subkeys(nk):
                child = self.cell(offset)
                if child[:2] == b"nk" and self._key_name(child).casefold() == part.casefold():
                    nk = child
                    break
            else:
                return None
        return nk

    def value(self, path: str, name: str) -> str | int | bytes | None:
        """A value of key `path`: REG_SZ/REG_EXPAND_SZ as text, REG_DWORD as int, anything else as bytes."""
        nk = self.key(path)
        if nk is None:
            return None
        count, list_offset = struct.unpack_from("<I", nk, 0x24)[0], struct.unpack_from("<I", nk, 0x28)[0]
        if not count:
            return None
        offsets = self.cell(list_offset)
        for i in range(count):
            vk = self.cell(struct.unpack_from("<I", offsets, 4 * i)[0])
            if vk[:2] != b"vk":
                continue
            name_len, size, data_offset, kind, flags = struct.unpack_from("<HIIIH", vk, 2)
            if self._name(vk[0x14 : 0x14 + name_len], bool(flags & _VK_ASCII_NAME)).casefold() != name.casefold():
                continue
            if size & 0x80000000:  # small data lives in the offset field itself
                raw = struct.pack("<I", data_offset)[: size & 0x7FFFFFFF]
            else:
                raw = self.cell(data_offset)[:size]
            if kind in (REG_SZ, REG_EXPAND_SZ):
                return raw.decode("utf-16-le", errors="replace").split("\0", 1)[0]
            if kind == REG_DWORD and len(raw) >= 4:
                return int(struct.unpack_from("<I", raw)[0])
            return raw
        return None


def read_value(hive: Path, path: str, name: str) -> str | int | bytes | None:
    """One value from the hive file `hive`; None when the file, key or value is missing or the file is damaged."""
    try:
        return Hive(hive.read_bytes()).value(path, name)
    except OSError as exc:
        log.info("cannot read %s: %s", hive, exc.strerror)
    except (HiveError, struct.error, RecursionError) as exc:  # RecursionError: a subkey list that lists itself
        log.warning("%s: damaged registry hive: %s", hive, exc)
    return None


def current_control_set(hive: Path) -> str:
    """`ControlSet00N` that `Select\\Current` names in an offline SYSTEM hive (what CurrentControlSet links to)."""
    current = read_value(hive, "Select", "Current")
    return f"ControlSet{current:03d}" if isinstance(current, int) and current > 0 else "ControlSet001"
