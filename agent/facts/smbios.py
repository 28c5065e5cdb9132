"""One SMBIOS table parser (Windows RSMB, Linux sysfs, dmidecode dumps) and the MDT facts it yields."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from agent.errors import DataError, SourceUnavailable
from agent.log import get_logger

log = get_logger("prestart.facts.smbios")

SYSFS_TABLES = Path("/sys/firmware/dmi/tables")

# SMBIOS limits that keep a hostile buffer from costing time or memory (DSP0134: a 3.x
# table may be up to 4 GiB, but no real firmware comes close to 1 MiB).
MAX_TABLE = 16 * 1024 * 1024
END_OF_TABLE = 127

_HINT = "the SMBIOS data is damaged; capture it again with `dmidecode --dump-bin FILE` and attach it to the issue"


class Structure(NamedTuple):
    """One SMBIOS structure: its formatted area (header included) and its string set."""

    type: int
    handle: int
    offset: int  # where the structure starts inside the table, for messages
    data: bytes
    strings: tuple[str, ...]

    def byte(self, off: int) -> int | None:
        """The byte at `off` of the formatted area, or None when the structure is too short."""
        return self.data[off] if off < len(self.data) else None

    def word(self, off: int) -> int | None:
        """The little-endian WORD at `off`, or None when the structure is too short."""
        return int.from_bytes(self.data[off : off + 2], "little") if off + 2 <= len(self.data) else None

    def dword(self, off: int) -> int | None:
        """The little-endian DWORD at `off`, or None when the structure is too short."""
        return int.from_bytes(self.data[off : off + 4], "little") if off + 4 <= len(self.data) else None

    def qword(self, off: int) -> int | None:
        """The little-endian QWORD at `off`, or None when the structure is too short."""
        return int.from_bytes(self.data[off : off + 8], "little") if off + 8 <= len(self.data) else None

    def string(self, off: int) -> str:
        """The string whose 1-based index sits at `off`; "" when absent (index 0, short structure, bad index)."""
        index = self.byte(off)
        if not index or index > len(self.strings):
            return ""
        return self.strings[index - 1]


class SmbiosTable(NamedTuple):
    """A parsed structure table and the SMBIOS version that governs how to read it."""

    major: int
    minor: int
    structures: tuple[Structure, ...]
    source: str = ""
    docrev: int = 0

    @property
    def version(self) -> tuple[int, int]:
        """(major, minor), for comparisons such as `table.version >= (2, 6)`."""
        return (self.major, self.minor)

    def of_type(self, kind: int) -> Iterator[Structure]:
        """Every structure of one type, in table order."""
        return (s for s in self.structures if s.type == kind)

    def first(self, kind: int) -> Structure | None:
        """The first structure of one type, or None."""
        return next(self.of_type(kind), None)


def _decode(raw: bytes) -> str:
    # DSP0134 3.x strings are UTF-8; older firmware writes Latin-1 or code-page text.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip()


def parse_table(
    data: bytes, major: int, minor: int, *, source: str, count: int = 0, docrev: int = 0, base: int = 0
) -> SmbiosTable:
    """Split a raw structure table into structures; `count` > 0 stops after that many (2.x entry points).

    `base` is the table's offset inside `source`, so that errors point at the byte in the file.
    """
    if len(data) > MAX_TABLE:
        raise DataError(f"{source}: SMBIOS table is {len(data)} bytes, larger than any real one", _HINT)
    structures: list[Structure] = []
    pos = 0
    ended = False
    while pos < len(data) and (count == 0 or len(structures) < count):
        where = f"{source}: offset {base + pos:#x}"
        if not any(data[pos:]):
            break  # zero padding after the last structure (3.x gives only a maximum length)
        if pos + 4 > len(data):
            raise DataError(f"{where}: {len(data) - pos} stray bytes where a structure header should be", _HINT)
        kind, length, handle = struct.unpack_from("<BBH", data, pos)
        if length < 4:
            raise DataError(f"{where}: structure type {kind} claims length {length}, under its 4-byte header", _HINT)
        if pos + length > len(data):
            raise DataError(f"{where}: structure type {kind} of {length} bytes runs past the end of the table", _HINT)
        # The string set follows the formatted area and ends with two NULs (an empty set is just "\0\0").
        end = data.find(b"\0\0", pos + length)
        if end < 0:
            raise DataError(f"{where}: structure type {kind} has no double-NUL end of its string set", _HINT)
        area = data[pos + length : end]
        strings = tuple(_decode(s) for s in area.split(b"\0")) if area else ()
        structures.append(Structure(kind, handle, base + pos, bytes(data[pos : pos + length]), strings))
        pos = end + 2
        if kind == END_OF_TABLE:
            ended = True
            break
    if not ended and not structures and count:
        raise DataError(f"{source}: offset {base:#x}: the table holds no structure", _HINT)
    return SmbiosTable(major, minor, tuple(structures), source, docrev)


class EntryPoint(NamedTuple):
    """What an SMBIOS entry point says about its table."""

    major: int
    minor: int
    docrev: int
    table_address: int
    table_length: int  # exact for 2.x, a maximum for 3.x
    structure_count: int  # number of structures for 2.x, 0 when unknown (3.x)
    size: int  # bytes taken by the entry point itself


def _checksum_ok(buf: bytes) -> bool:
    return sum(buf) % 256 == 0


def _fix_version(major: int, minor: int) -> tuple[int, int]:
    # Some BIOSes report impossible 2.x versions; dmidecode maps them the same way.
    return {(2, 0x1F): (2, 3), (2, 0x21): (2, 3), (2, 0x33): (2, 6)}.get((major, minor), (major, minor))


def parse_entry_point(buf: bytes, source: str) -> EntryPoint:
    """Read a `_SM3_`, `_SM_` or legacy `_DMI_` entry point at the start of `buf`."""
    if buf[:5] == b"_SM3_":
        if len(buf) < 0x18 or buf[6] < 0x18 or len(buf) < buf[6]:
            raise DataError(f"{source}: offset 0x0: the _SM3_ entry point is truncated", _HINT)
        if not _checksum_ok(buf[: buf[6]]):
            raise DataError(f"{source}: offset 0x5: the _SM3_ entry point checksum is wrong", _HINT)
        major, minor, docrev = buf[7], buf[8], buf[9]
        (maximum,) = struct.unpack_from("<I", buf, 0x0C)
        (address,) = struct.unpack_from("<Q", buf, 0x10)
        return EntryPoint(major, minor, docrev, address, maximum, 0, buf[6])
    if buf[:4] == b"_SM_":
        if len(buf) < 0x1F or buf[5] < 0x1E or len(buf) < buf[5]:
            raise DataError(f"{source}: offset 0x0: the _SM_ entry point is truncated", _HINT)
        # Length 0x1E is a known firmware bug (2.1 said 0x1F); dmidecode accepts it too.
        if not _checksum_ok(buf[: buf[5]]):
            raise DataError(f"{source}: offset 0x4: the _SM_ entry point checksum is wrong", _HINT)
        if buf[0x10:0x15] != b"_DMI_" or not _checksum_ok(buf[0x10:0x1F]):
            raise DataError(f"{source}: offset 0x10: the _DMI_ intermediate anchor or its checksum is wrong", _HINT)
        major, minor = _fix_version(buf[6], buf[7])
        length, address, count = struct.unpack_from("<HIH", buf, 0x16)
        return EntryPoint(major, minor, 0, address, length, count, 0x1F)
    if buf[:5] == b"_DMI_":
        if len(buf) < 0x0F:
            raise DataError(f"{source}: offset 0x0: the _DMI_ entry point is truncated", _HINT)
        if not _checksum_ok(buf[:0x0F]):
            raise DataError(f"{source}: offset 0x5: the _DMI_ entry point checksum is wrong", _HINT)
        length, address, count = struct.unpack_from("<HIH", buf, 0x06)
        bcd = buf[0x0E]
        return EntryPoint(bcd >> 4, bcd & 0x0F, 0, address, length, count, 0x0F)
    raise DataError(
        f"{source}: offset 0x0: no SMBIOS entry point (_SM3_, _SM_ or _DMI_) found",
        "give a file written by `dmidecode --dump-bin FILE`",
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceUnavailable(f"{path}: file not found", "check the path") from exc
    except OSError as exc:
        raise SourceUnavailable(f"{path}: cannot read: {exc.strerror}", "run as root (the table is root-only)") from exc


def parse_dump(buf: bytes, source: str) -> SmbiosTable:
    """Parse the bytes of a `dmidecode --dump-bin` file (entry point at 0, table where it points)."""
    ep = parse_entry_point(buf, source)
    start = ep.table_address
    if start < ep.size or start > len(buf):
        raise DataError(f"{source}: offset {start:#x}: the entry point puts the table outside the file", _HINT)
    end = start + ep.table_length
    if ep.structure_count and end > len(buf):
        # A 2.x entry point gives the exact length: a shorter file is a truncated dump.
        raise DataError(f"{source}: offset {len(buf):#x}: table truncated ({ep.table_length} bytes expected)", _HINT)
    count, docrev = ep.structure_count, ep.docrev
    return parse_table(buf[start:end], ep.major, ep.minor, source=source, count=count, docrev=docrev, base=start)


def read_dump(path: Path | str) -> SmbiosTable:
    """Read a file written by `dmidecode --dump-bin FILE`."""
    path = Path(path)
    return parse_dump(_read(path), str(path))


def from_rsmb(buf: bytes, source: str = "GetSystemFirmwareTable('RSMB')") -> SmbiosTable:
    """Parse the RawSMBIOSData buffer Windows returns for GetSystemFirmwareTable('RSMB')."""
    if len(buf) < 8:
        raise DataError(f"{source}: offset 0x0: the RawSMBIOSData header needs 8 bytes, got {len(buf)}", _HINT)
    _calling, major, minor, docrev, length = struct.unpack_from("<BBBBI", buf, 0)
    if 8 + length > len(buf):
        raise DataError(f"{source}: offset 0x4: header says {length} table bytes, only {len(buf) - 8} follow", _HINT)
    return parse_table(buf[8 : 8 + length], major, minor, source=source, docrev=docrev, base=8)


def read_sysfs(root: Path = SYSFS_TABLES) -> SmbiosTable:
    """Read Linux's copy: `smbios_entry_point` (version, count) and `DMI` (the table itself)."""
    entry = root / "smbios_entry_point"
    ep = parse_entry_point(_read(entry), str(entry))
    table = root / "DMI"
    data = _read(table)
    if ep.structure_count and len(data) < ep.table_length:
        raise DataError(f"{table}: offset {len(data):#x}: table truncated ({ep.table_length} bytes expected)", _HINT)
    limit = ep.table_length if ep.structure_count else len(data)
    return parse_table(data[:limit], ep.major, ep.minor, source=str(table), count=ep.structure_count, docrev=ep.docrev)


# --- facts -----------------------------------------------------------------------------------------
#
# MDT's Gather (ZTIGather.wsf 6.3.8456) reads WMI, and WMI reads these structures. Facts carry the same values,
# not improved ones: rules written against MDT match them, placeholders such as "To Be Filled By O.E.M." included.
#   Make          Win32_ComputerSystem.Manufacturer       type 1 Manufacturer
#   Model         Win32_ComputerSystem.Model              type 1 Product Name (on Lenovo the machine type model)
#   Product       Win32_BaseBoard.Product                 type 2 Product
#   SerialNumber  Win32_BIOS.SerialNumber                 type 1 Serial Number
#   AssetTag      Win32_SystemEnclosure.SMBIOSAssetTag    type 3 Asset Tag (the last enclosure, docks ignored)
#   UUID          Win32_ComputerSystemProduct.UUID        type 1 UUID
#   SystemSKU     Win32_ComputerSystem.SystemSKUNumber    type 1 SKU Number
#   ProcessorSpeed Win32_Processor.MaxClockSpeed (MHz)    type 4 Current Speed of the first processor
# Each is trimmed, as Gather trims. Two facts MDT lacks sit beside them: SystemVersion (type 1 Version,
# Win32_ComputerSystemProduct.Version: a Lenovo's marketing name) and MachineType (a Lenovo's four-character
# machine type, the start of its Model).

# ZTIGather reads Win32_SystemEnclosure.ChassisTypes(0) and ignores enclosures whose first type is a docking
# station (12) or a peripheral chassis (21), so those two never set IsLaptop.
LAPTOP_CHASSIS = frozenset({8, 9, 10, 11, 12, 14, 18, 21, 30, 31, 32})
DESKTOP_CHASSIS = frozenset({3, 4, 5, 6, 7, 13, 15, 16, 35, 36})
SERVER_CHASSIS = frozenset({23, 28})
DOCKING_CHASSIS = frozenset({12, 21})


def format_uuid(raw: bytes, version: tuple[int, int]) -> str:
    """Uppercase 8-4-4-4-12, as Windows shows it (all-FF and all-zero too: Gather keeps them); "" if absent.

    SMBIOS 2.6 and later store the first three fields little-endian (as Windows shows them);
    earlier versions stored them as read, and dmidecode honours the same cut.
    """
    if len(raw) != 16:
        return ""
    if version >= (2, 6):
        raw = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    h = raw.hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _device_kb(dev: Structure) -> int:
    size = dev.word(0x0C)
    if size is None or size in (0, 0xFFFF):  # no module installed, or size unknown
        return 0
    if size == 0x7FFF:
        extended = dev.dword(0x1C)
        return ((extended or 0) & 0x7FFFFFFF) * 1024  # Extended Size: bits 30:0 in MB
    if size & 0x8000:
        return size & 0x7FFF  # granularity bit set: the value is in KB
    return size * 1024


def memory_mb(table: SmbiosTable) -> int:
    """Installed memory in MB: type 17 devices, else type 19 mapped ranges, else type 16 capacity."""
    devices = list(table.of_type(17))
    if devices:
        return sum(_device_kb(d) for d in devices) // 1024
    total_kb = 0
    for rng in table.of_type(19):
        start, end = rng.dword(0x04), rng.dword(0x08)
        if start is None or end is None:
            continue
        if start == 0xFFFFFFFF:
            xstart, xend = rng.qword(0x0F), rng.qword(0x17)
            if xstart is not None and xend is not None and xend >= xstart:
                total_kb += (xend - xstart + 1) // 1024  # extended addresses are in bytes
        elif end >= start:
            total_kb += end - start + 1
    if total_kb:
        return total_kb // 1024
    for array in table.of_type(16):
        capacity = array.dword(0x07)
        if capacity == 0x80000000:
            total_kb += (array.qword(0x0F) or 0) // 1024
        elif capacity is not None:
            total_kb += capacity
    return total_kb // 1024


def chassis_types(table: SmbiosTable) -> list[int]:
    """The chassis type of every type 3 structure, lock bit 7 masked."""
    return [b & 0x7F for s in table.of_type(3) if (b := s.byte(0x05)) is not None]


def vm_platform(make: str, model: str) -> str:
    """VMPlatform as ZTIGather's GetVirtualizationInfo decides it, from Make and Model only; "" otherwise.

    Gather knows Hyper-V, VMware, VirtualBox, Xen and Parallels; a KVM/QEMU guest is not a VM to it, and the
    comparisons are case-sensitive as VBScript's `=` is.
    """
    if model == "Virtual Machine":
        return "Hyper-V"
    if "VMWARE" in make.upper() or "VMWARE" in model.upper():
        return "VMware"
    if model == "VirtualBox":
        return "VirtualBox"
    if make == "Xen":
        return "Xen"
    if "PARALLELS" in make.upper():
        return "Parallels"
    return ""


def _bool(value: bool) -> str:
    return "True" if value else "False"


def facts_from_smbios(table: SmbiosTable) -> dict[str, str]:
    """MDT-named facts from a parsed table, with Gather's values; absent data gives "" or "False"."""
    system = table.first(1)
    board = table.first(2)
    cpu = table.first(4)
    make = system.string(0x04).strip() if system else ""
    model = system.string(0x05).strip() if system else ""
    asset = ""
    laptop = desktop = server = False
    for enclosure in table.of_type(3):
        kind = (enclosure.byte(0x05) or 0) & 0x7F
        if kind in DOCKING_CHASSIS:
            continue
        if enclosure.byte(0x08):  # WMI gives Null for no string, which Gather skips
            asset = enclosure.string(0x08).strip()  # Gather keeps the last enclosure's tag
        laptop |= kind in LAPTOP_CHASSIS
        desktop |= kind in DESKTOP_CHASSIS
        server |= kind in SERVER_CHASSIS

    uuid = ""
    if system is not None and len(system.data) >= 0x18:
        uuid = format_uuid(system.data[0x08:0x18], table.version)
    speed = cpu.word(0x16) if cpu is not None else None
    memory = memory_mb(table)
    platform = vm_platform(make, model)
    return {
        "Make": make,
        "Model": model,
        "Product": board.string(0x05).strip() if board else "",
        "SerialNumber": system.string(0x07).strip() if system else "",
        "AssetTag": asset,
        "UUID": uuid,
        "SystemSKU": system.string(0x19).strip() if system else "",
        "SystemVersion": system.string(0x06).strip() if system else "",
        "MachineType": model[:4] if make.upper() == "LENOVO" and len(model) >= 4 else "",
        "ProcessorSpeed": str(speed) if speed else "",
        "Memory": str(memory) if memory else "",
        "IsLaptop": _bool(laptop),
        "IsDesktop": _bool(desktop),
        "IsServer": _bool(server),
        "IsVM": _bool(bool(platform)),
        "VMPlatform": platform,
    }
