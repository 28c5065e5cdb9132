"""Build SMBIOS tables from DSP0134 and write them as `dmidecode --dump-bin` files (2.x and 3.x)."""

from __future__ import annotations

import struct
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TABLE_OFFSET = 0x20  # dmidecode --dump-bin puts the table here and patches the entry point to say so


class Strings:
    """The string set of one structure: add() returns the 1-based index, 0 for a missing string."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def add(self, text: str | None) -> int:
        if text is None:
            return 0
        self.items.append(text.encode("utf-8"))
        return len(self.items)

    def pack(self) -> bytes:
        if not self.items:
            return b"\0\0"
        return b"\0".join(self.items) + b"\0\0"


def structure(kind: int, handle: int, body: bytes, strings: Strings) -> bytes:
    """Header (type, length, handle) + formatted area + string set."""
    return struct.pack("<BBH", kind, 4 + len(body), handle) + body + strings.pack()


def bios(handle: int, vendor: str | None = "American Megatrends Inc.", version: str | None = "1.2.3",
         date: str | None = "01/02/2023") -> bytes:
    """Type 0, BIOS Information (2.4+ layout, 0x18 bytes)."""
    s = Strings()
    body = struct.pack("<BBHBBQBBBBBB", s.add(vendor), s.add(version), 0xE800, s.add(date), 0xFF,
                       0x08, 0x03, 0x0D, 1, 2, 0xFF, 0xFF)
    return structure(0, handle, body, s)


def system(handle: int, manufacturer: str | None, product: str | None, version: str | None = None,
           serial: str | None = None, uuid_raw: bytes = b"\xff" * 16, sku: str | None = None,
           family: str | None = None, short: bool = False) -> bytes:
    """Type 1, System Information: 0x1B bytes, or 0x19 (no SKU/family, as 2.1-2.3) when `short`."""
    s = Strings()
    body = struct.pack("<BBBB", s.add(manufacturer), s.add(product), s.add(version), s.add(serial))
    body += uuid_raw + bytes([6])  # wake-up type: power switch
    if not short:
        body += bytes([s.add(sku), s.add(family)])
    return structure(1, handle, body, s)


def baseboard(handle: int, manufacturer: str | None, product: str | None, serial: str | None = None,
              asset: str | None = None, chassis_handle: int = 0x0300) -> bytes:
    """Type 2, Baseboard Information, no contained handles (0x0F bytes)."""
    s = Strings()
    body = struct.pack("<BBBBBBBHBB", s.add(manufacturer), s.add(product), s.add("1.0"), s.add(serial),
                       s.add(asset), 0x09, s.add("Part Component"), chassis_handle, 0x0A, 0)
    return structure(2, handle, body, s)


def chassis(handle: int, kind: int, manufacturer: str | None = "Chassis Maker", serial: str | None = None,
            asset: str | None = None, locked: bool = False) -> bytes:
    """Type 3, System Enclosure (2.7 layout with SKU, 0x16 bytes); bit 7 of the type is the lock."""
    s = Strings()
    body = struct.pack("<BBBBBBBBBIBBBBB", s.add(manufacturer), kind | (0x80 if locked else 0), s.add(None),
                       s.add(serial), s.add(asset), 3, 3, 3, 3, 0, 0, 1, 0, 0, s.add(None))
    return structure(3, handle, body, s)


def processor(handle: int, version: str = "Example CPU @ 2.40GHz") -> bytes:
    """Type 4, Processor Information (2.6 layout, 0x2A bytes)."""
    s = Strings()
    body = struct.pack("<BBBBQBBHHHBBHHHBBBBBBHH", s.add("CPU0"), 3, 0xFE, s.add("Example Corp"),
                       0x000906EA, s.add(version), 0x8A, 100, 4800, 2400, 0x41, 0x3F,
                       0xFFFF, 0xFFFF, 0xFFFF, s.add(None), s.add(None), s.add(None), 4, 4, 8, 0x00FC, 0xC6)
    return structure(4, handle, body, s)


def memory_array(handle: int, capacity_kb: int, devices: int) -> bytes:
    """Type 16, Physical Memory Array (2.7 layout); capacities over 2 TB go in the extended field."""
    s = Strings()
    if capacity_kb >= 0x80000000:
        maximum, extended = 0x80000000, capacity_kb * 1024
    else:
        maximum, extended = capacity_kb, 0
    body = struct.pack("<BBBIHHQ", 3, 3, 3, maximum, 0xFFFE, devices, extended)
    return structure(16, handle, body, s)


def memory_device(handle: int, size_word: int, extended_mb: int = 0, locator: str = "DIMM 0",
                  array_handle: int = 0x1000) -> bytes:
    """Type 17, Memory Device (2.8 layout, 0x28 bytes); `size_word` is written as is (0x7FFF, bit 15...)."""
    s = Strings()
    body = struct.pack("<HHHHHBBBBBHHBBBBBIHHHH", array_handle, 0xFFFE, 64, 64, size_word, 0x09, 0,
                       s.add(locator), s.add("BANK 0"), 0x1A, 0x0080, 3200, s.add("Example RAM"),
                       s.add("0000ABCD"), s.add(None), s.add("EX-PART"), 1, extended_mb, 3200, 1200, 1200, 1200)
    return structure(17, handle, body, s)


def size_word_mb(mb: int) -> int:
    """The Size field for a device of `mb` MB, 0x7FFF when it needs Extended Size (32 GB and up)."""
    return 0x7FFF if mb >= 0x7FFF else mb


def mapped_range(handle: int, start_kb: int, size_kb: int, array_handle: int = 0x1000) -> bytes:
    """Type 19, Memory Array Mapped Address (2.7 layout, 0x1F bytes)."""
    s = Strings()
    end_kb = start_kb + size_kb - 1
    if end_kb >= 0xFFFFFFFF:
        body = struct.pack("<IIHBQQ", 0xFFFFFFFF, 0xFFFFFFFF, array_handle, 1, start_kb * 1024,
                           (end_kb + 1) * 1024 - 1)
    else:
        body = struct.pack("<IIHBQQ", start_kb, end_kb, array_handle, 1, 0, 0)
    return structure(19, handle, body, s)


def end_of_table(handle: int = 0xFEFF) -> bytes:
    """Type 127, End-of-Table."""
    return structure(127, handle, b"", Strings())


def uuid_bytes(text: str, version: tuple[int, int]) -> bytes:
    """The 16 bytes firmware of `version` stores for the UUID `text` (little-endian fields from 2.6)."""
    u = uuidlib.UUID(text)
    return u.bytes_le if version >= (2, 6) else u.bytes


@dataclass
class Machine:
    """A whole machine's SMBIOS, with defaults a test overrides field by field."""

    version: tuple[int, int] = (3, 4)
    manufacturer: str | None = "Dell Inc."
    product: str | None = "Latitude 7440"
    sys_version: str | None = "Not Specified"
    serial: str | None = "8XK2HL3"
    uuid: str | None = "4C4C4544-0058-4B10-8032-B8C04F484C33"
    uuid_raw: bytes | None = None  # wins over `uuid` (all-FF, all-zero, odd bytes)
    bios_vendor: str | None = "Dell Inc."
    board_manufacturer: str | None = "Dell Inc."
    board_product: str | None = "0C5V9R"
    chassis_types: Sequence[int] = (10,)
    chassis_serial: str | None = None
    asset_tag: str | None = "CT-10442"
    locked: bool = False
    # Type 17 Size words and their Extended Size values (MB); defaults: 2 x 8 GB.
    dimms: Sequence[tuple[int, int]] = ((8192, 0), (8192, 0))
    ranges_kb: Sequence[int] = ()  # type 19 ranges, used when `dimms` is empty
    array_capacity_kb: int = 64 * 1024 * 1024
    extra: list[bytes] = field(default_factory=list)

    def table(self) -> bytes:
        """The raw structure table, ending with type 127."""
        raw = self.uuid_raw
        if raw is None:
            raw = uuid_bytes(self.uuid, self.version) if self.uuid else b"\0" * 16
        parts = [
            bios(0x0000, vendor=self.bios_vendor),
            system(0x0100, self.manufacturer, self.product, self.sys_version, self.serial, raw,
                   sku="SKU-1", family="Family", short=self.version < (2, 4)),
            baseboard(0x0200, self.board_manufacturer, self.board_product, serial="/BOARD01/"),
        ]
        for i, kind in enumerate(self.chassis_types):
            parts.append(chassis(0x0300 + i, kind, self.manufacturer, self.chassis_serial, self.asset_tag,
                                 self.locked))
        parts.append(processor(0x0400))
        parts.append(memory_array(0x1000, self.array_capacity_kb, max(len(self.dimms), 1)))
        for i, (word, extended) in enumerate(self.dimms):
            parts.append(memory_device(0x1100 + i, word, extended, locator=f"DIMM {i}"))
        start = 0
        for i, size in enumerate(self.ranges_kb):
            parts.append(mapped_range(0x1300 + i, start, size))
            start += size
        parts.extend(self.extra)
        parts.append(end_of_table())
        return b"".join(parts)

    def dump(self, entry: str | None = None) -> bytes:
        """A `dmidecode --dump-bin` file; entry "2" (_SM_) or "3" (_SM3_), by default from the version."""
        entry = entry or ("3" if self.version >= (3, 0) else "2")
        table = self.table()
        count = table_count(table)
        return dump_3x(table, self.version) if entry == "3" else dump_2x(table, self.version, count)

    def write(self, path: Path, entry: str | None = None) -> Path:
        """Write the dump to `path` and return it."""
        path.write_bytes(self.dump(entry))
        return path


def table_count(table: bytes) -> int:
    """How many structures a well-formed table holds (for the 2.x entry point)."""
    pos = count = 0
    while pos + 4 <= len(table):
        length = table[pos + 1]
        pos = table.index(b"\0\0", pos + length) + 2
        count += 1
    return count


def _fix_checksum(buf: bytearray, at: int, start: int, end: int) -> None:
    buf[at] = 0
    buf[at] = (-sum(buf[start:end])) % 256


def entry_2x(table_len: int, version: tuple[int, int], count: int, address: int = TABLE_OFFSET) -> bytes:
    """A 31-byte `_SM_` entry point with its `_DMI_` intermediate anchor, both checksums correct."""
    ep = bytearray(0x1F)
    ep[0:4] = b"_SM_"
    ep[5] = 0x1F
    ep[6], ep[7] = version
    struct.pack_into("<H", ep, 0x08, 0x100)  # maximum structure size
    ep[0x10:0x15] = b"_DMI_"
    struct.pack_into("<HIH", ep, 0x16, table_len, address, count)
    ep[0x1E] = (version[0] << 4) | (version[1] & 0x0F)
    _fix_checksum(ep, 0x15, 0x10, 0x1F)
    _fix_checksum(ep, 0x04, 0x00, 0x1F)
    return bytes(ep)


def entry_3x(table_len: int, version: tuple[int, int], docrev: int = 0, address: int = TABLE_OFFSET) -> bytes:
    """A 24-byte `_SM3_` entry point, checksum correct."""
    ep = bytearray(0x18)
    ep[0:5] = b"_SM3_"
    ep[6] = 0x18
    ep[7], ep[8], ep[9] = version[0], version[1], docrev
    ep[0x0A] = 1  # entry point revision 3.0
    struct.pack_into("<IQ", ep, 0x0C, table_len, address)
    _fix_checksum(ep, 0x05, 0x00, 0x18)
    return bytes(ep)


def dump_2x(table: bytes, version: tuple[int, int], count: int) -> bytes:
    """Entry point at 0, zero padding, table at 0x20: the layout `dmidecode --dump-bin` writes."""
    ep = entry_2x(len(table), version, count)
    return ep + b"\0" * (TABLE_OFFSET - len(ep)) + table


def dump_3x(table: bytes, version: tuple[int, int], docrev: int = 0) -> bytes:
    """As dump_2x, with a `_SM3_` entry point."""
    ep = entry_3x(len(table), version, docrev)
    return ep + b"\0" * (TABLE_OFFSET - len(ep)) + table


def rsmb(table: bytes, version: tuple[int, int], docrev: int = 0) -> bytes:
    """The RawSMBIOSData buffer Windows' GetSystemFirmwareTable('RSMB') returns."""
    return struct.pack("<BBBBI", 0, version[0], version[1], docrev, len(table)) + table


def write_sysfs(root: Path, machine: Machine) -> Path:
    """Lay out /sys/firmware/dmi/tables: the entry point (real address, not 0x20) and DMI."""
    root.mkdir(parents=True, exist_ok=True)
    table = machine.table()
    if machine.version >= (3, 0):
        ep = entry_3x(len(table), machine.version, address=0x7AEF1000)
    else:
        ep = entry_2x(len(table), machine.version, table_count(table), address=0x000F0000)
    (root / "smbios_entry_point").write_bytes(ep)
    (root / "DMI").write_bytes(table)
    return root
