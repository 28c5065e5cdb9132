"""Bootable ISO images: find the El Torito boot files, write ISO9660 + Joliet + UDF with pycdlib, read them back."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import os
import random
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from time import struct_time
from typing import Any

from agent import files
from agent.errors import DataError, InputError
from agent.files import sha256_file as _sha256

Progress = Callable[[str, float], None]

SECTOR = 2048  # ISO9660 logical block
VIRTUAL_SECTOR = 512  # El Torito counts load sizes in 512-byte virtual sectors
BIOS_LOAD_SECTORS = 8  # etfsboot.com is 4 KB, as oscdimg writes it
PLATFORM_X86 = 0x00
PLATFORM_EFI = 0xEF
_MAX_LOAD_SECTORS = 0xFFFF  # a 16-bit field: efisys.bin may be at most 32 MiB
_WRITE_BLOCK = 4 * 1024 * 1024  # pycdlib copies in Python; big blocks make it about disk speed
_LABEL = re.compile(r"^[A-Z0-9_][A-Z0-9_ -]{0,31}$")

# Where Windows media and the ADK keep the two El Torito images, relative to the media folder.
MEDIA_ETFSBOOT = "boot/etfsboot.com"
MEDIA_EFISYS = "efi/microsoft/boot/efisys.bin"
FWFILES = "../fwfiles"


@dataclass(frozen=True)
class BootFiles:
    """The BIOS and UEFI El Torito images an ISO is made bootable with."""

    etfsboot: Path  # BIOS, no emulation, loaded as 8 virtual sectors
    efisys: Path  # UEFI: a FAT image holding \EFI\BOOT\BOOT<arch>.EFI


@dataclass(frozen=True)
class BootEntry:
    """One El Torito catalog entry as read back from an ISO."""

    platform: int  # 0x00 x86 BIOS, 0xEF UEFI
    bootable: bool
    media: str  # noemul, floppy-1.2, floppy-1.44, floppy-2.88, hdd
    load_segment: int
    sector_count: int  # 512-byte virtual sectors
    load_rba: int  # 2048-byte sector where the image starts


def _first_file(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


def find_boot_files(media_dir: Path, *, etfsboot: Path | None = None, efisys: Path | None = None) -> BootFiles:
    """Find etfsboot.com and efisys.bin: explicit paths, then inside the media folder, then ADK `fwfiles/`.

    `efisys.bin` is preferred over `efisys_noprompt.bin`: the prompt ("press any key to boot from CD")
    keeps a machine that boots from a left-in disc from reimaging itself. Pass `efisys=` to choose
    the no-prompt image for unattended labs.
    """
    fw = media_dir / FWFILES
    bios = [etfsboot] if etfsboot is not None else [media_dir / MEDIA_ETFSBOOT, fw / "etfsboot.com"]
    uefi = [efisys] if efisys is not None else [media_dir / MEDIA_EFISYS, fw / "efisys.bin"]
    found_bios, found_uefi = _first_file(bios), _first_file(uefi)
    missing = []
    if found_bios is None:
        missing.append("etfsboot.com (looked at " + ", ".join(str(p) for p in bios) + ")")
    if found_uefi is None:
        missing.append("efisys.bin (looked at " + ", ".join(str(p) for p in uefi) + ")")
    if missing:
        raise InputError(
            "El Torito boot file(s) not found: " + "; ".join(missing),
            "copy them from the Windows ADK (Deployment Tools\\<arch>\\Oscdimg) or set their paths in the definition",
        )
    assert found_bios is not None and found_uefi is not None
    return BootFiles(etfsboot=found_bios, efisys=found_uefi)


class _PinnedClock:
    """Stands in for the `time` module inside pycdlib: now is `epoch`, and local time is UTC."""

    def __init__(self, epoch: int) -> None:
        self._epoch = epoch

    def time(self) -> float:
        return float(self._epoch)

    def localtime(self, secs: float | None = None) -> struct_time:
        return time.gmtime(self._epoch if secs is None else secs)

    def gmtime(self, secs: float | None = None) -> struct_time:
        return time.gmtime(self._epoch if secs is None else secs)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_clock_lock = threading.Lock()
_PYCDLIB_COPY_YIELD: Any = None  # pycdlib's own copy loop, for objects without a file descriptor
# copy_file_range refuses: e.g. the ISO on another kind of file system than the media (ext4 -> tmpfs).
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}


def _copy_data_yield(data_length: int, blocksize: int, infp: Any, outfp: Any) -> Iterator[int]:
    """pycdlib.utils.copy_data_yield, but file to file in the kernel with copy_file_range.

    pycdlib copies through Python bytes objects: a fresh multi-MB buffer per block. Same bytes, same
    yields; any object without a real file descriptor takes pycdlib's own path.
    """
    try:
        in_fd, out_fd = infp.fileno(), outfp.fileno()
    except (AttributeError, OSError, ValueError):
        in_fd = out_fd = -1
    if in_fd < 0 or not hasattr(os, "copy_file_range"):
        yield from _PYCDLIB_COPY_YIELD(data_length, blocksize, infp, outfp)
        return
    outfp.flush()  # pycdlib's metadata writes may still sit in the buffer
    src, dst = infp.tell(), outfp.tell()
    copied = done = 0
    while done < data_length:
        try:
            n = os.copy_file_range(in_fd, out_fd, min(blocksize, data_length - done), src + done, dst + done)
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
            infp.seek(src + done)
            outfp.seek(dst + done)
            yield from _PYCDLIB_COPY_YIELD(data_length - done, blocksize, infp, outfp)
            return
        if n <= 0:  # the file is shorter than pycdlib thinks: stop, as pycdlib does
            n = data_length - done
        else:
            copied += n
        done += n
        yield n
    infp.seek(src + copied)
    outfp.seek(dst + copied)


def _copy_data(data_length: int, blocksize: int, infp: Any, outfp: Any) -> None:
    for _ in _copy_data_yield(data_length, blocksize, infp, outfp):
        pass


@contextlib.contextmanager
def pinned_pycdlib_clock(epoch: int) -> Iterator[None]:
    """Make pycdlib's timestamps and its UDF volume-set "unique" value depend only on `epoch`.

    pycdlib ignores SOURCE_DATE_EPOCH and calls time.time()/time.localtime() and random.getrandbits()
    itself; swapping its modules' references (not the global `time`) leaves the rest of the process alone.
    """
    import pycdlib.dates
    import pycdlib.headervd
    import pycdlib.pycdlib
    import pycdlib.udf
    import pycdlib.utils

    global _PYCDLIB_COPY_YIELD
    _PYCDLIB_COPY_YIELD = _PYCDLIB_COPY_YIELD or pycdlib.utils.copy_data_yield
    clock = _PinnedClock(epoch)
    patched = [
        (pycdlib.dates, "time", clock),
        (pycdlib.headervd, "time", clock),
        (pycdlib.pycdlib, "time", clock),
        (pycdlib.udf, "time", clock),
        (pycdlib.utils, "time", clock),
        (pycdlib.udf, "random", random.Random(epoch)),
        (pycdlib.utils, "copy_data_yield", _copy_data_yield),
        (pycdlib.utils, "copy_data", _copy_data),
    ]
    with _clock_lock:
        saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patched]
        try:
            for mod, name, value in patched:
                setattr(mod, name, value)
            yield
        finally:
            for mod, name, value in saved:
                setattr(mod, name, value)


def _iso9660_names(names: list[str], *, is_dir: dict[str, bool]) -> dict[str, str]:
    """Interchange level 3 names (upper case d-characters, 30 characters, `;1`), unique within a folder."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(names):
        upper = re.sub(r"[^A-Z0-9_.]", "_", name.upper())
        if is_dir[name]:
            stem, ext = upper.replace(".", "_")[:31], ""
        else:
            stem, _, ext = upper.rpartition(".") if "." in upper else (upper, "", "")
            stem, ext = stem.replace(".", "_"), ext[:8]
            stem = stem[: 30 - len(ext) - 1] or "_"
        candidate, n = stem, 1
        while (candidate + "." + ext if ext else candidate) in used:
            suffix = f"~{n}"
            candidate = stem[: (31 if is_dir[name] else 30 - len(ext) - 1) - len(suffix)] + suffix
            n += 1
        full = candidate + "." + ext if ext else candidate
        used.add(full)
        out[name] = full if is_dir[name] else full + (";1" if ext else ".;1")
    return out


def _check_boot_files(boot: BootFiles) -> None:
    problems = []
    for path in (boot.etfsboot, boot.efisys):
        if not path.is_file():
            problems.append(f"{path} does not exist")
    if not problems and boot.etfsboot.stat().st_size != BIOS_LOAD_SECTORS * VIRTUAL_SECTOR:
        problems.append(f"{boot.etfsboot} is {boot.etfsboot.stat().st_size} bytes; etfsboot.com is 4096")
    if not problems and math.ceil(boot.efisys.stat().st_size / VIRTUAL_SECTOR) > _MAX_LOAD_SECTORS:
        problems.append(f"{boot.efisys} is larger than the 32 MiB an El Torito entry can load")
    if not problems and boot.efisys.stat().st_size == 0:
        problems.append(f"{boot.efisys} is empty")
    if problems:
        raise InputError("bad El Torito boot file: " + "; ".join(problems), "use the files from the Windows ADK")


def write_iso(
    tree: Path,
    out: Path,
    *,
    boot: BootFiles,
    label: str,
    epoch: int,
    progress: Progress | None = None,
) -> None:
    """Write `tree` (a media folder) to `out` as a BIOS + UEFI bootable ISO, reproducibly from `epoch`.

    ISO9660 level 3 (8.3-style upper-case names, files over 4 GiB as multi-extent), Joliet and
    UDF 2.60 (the names Windows shows); El Torito: BIOS no-emulation etfsboot.com with load size 8
    and no boot info table, and a UEFI entry (platform 0xEF) whose load size covers all of efisys.bin.
    The ISO is written to a temp file beside `out` and renamed when complete. It is not flushed to disk
    here: the builder flushes each finished output once, before it takes its real name
    (agent.files.flush_tree), as it does for every other output.
    """
    import pycdlib

    if not _LABEL.match(label):
        raise InputError(
            f"ISO volume label {label!r} is not 1-32 upper-case letters, digits, `_`, `-` or spaces",
            "e.g. CONTOSO_LAB_X64",
        )
    if not tree.is_dir():
        raise InputError(f"{tree} is not a folder", "stage the media folder first")
    _check_boot_files(boot)
    with files.replace_when_done(out) as tmp, pinned_pycdlib_clock(epoch), open(tmp, "wb") as fh:
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, vol_ident=label, joliet=3, udf="2.60", app_ident_str="PRESTART")
        found = _add_tree(iso, tree, boot)  # boot image -> the media's copy of it, to reuse
        bios_path = _boot_image_path(iso, boot.etfsboot, "/ETFSBOOT.COM;1", found)
        efi_path = _boot_image_path(iso, boot.efisys, "/EFISYS.BIN;1", found)
        # One catalog for both entries; pycdlib also names it boot.cat in Joliet.
        iso.add_eltorito(
            bios_path,
            bootcatfile="/BOOT.CAT;1",
            boot_load_size=BIOS_LOAD_SECTORS,
            platform_id=PLATFORM_X86,
            boot_info_table=False,
            media_name="noemul",
        )
        iso.add_eltorito(
            efi_path,
            bootcatfile="/BOOT.CAT;1",
            boot_load_size=math.ceil(boot.efisys.stat().st_size / VIRTUAL_SECTOR),
            platform_id=PLATFORM_EFI,
            efi=True,
            media_name="noemul",
        )

        def cb(done: int, total: int, _opaque: Any) -> None:
            if progress:
                progress("iso", done / total if total else 1.0)

        iso.write_fp(fh, blocksize=_WRITE_BLOCK, progress_cb=cb)
        iso.close()


def _add_tree(iso: Any, tree: Path, boot: BootFiles) -> dict[Path, str]:
    """Add `tree` to `iso`; return the ISO9660 path of the first file holding each boot image's bytes."""
    images = [(image, image.stat()) for image in (boot.etfsboot, boot.efisys)]
    found: dict[Path, str] = {}
    # Walk in sorted order so that the same tree always gives the same layout.
    stack: list[tuple[str, str, str]] = [(str(tree), "", "")]
    while stack:
        folder, iso_dir, rel_dir = stack.pop()
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        kinds = {e.name: e.is_dir() for e in entries}
        names = _iso9660_names([e.name for e in entries], is_dir=kinds)
        subdirs = []
        for entry in entries:
            iso_path = f"{iso_dir}/{names[entry.name]}"
            rel = f"{rel_dir}/{entry.name}"
            if kinds[entry.name]:
                iso.add_directory(iso_path=iso_path, joliet_path=rel, udf_path=rel)
                subdirs.append((entry.path, iso_path, rel))
            elif entry.is_file():
                iso.add_file(entry.path, iso_path=iso_path, joliet_path=rel, udf_path=rel)
                st = entry.stat()
                for image, image_st in images:
                    same_size = st.st_size == image_st.st_size
                    if image not in found and same_size and _same_bytes(entry.path, st, image, image_st):
                        found[image] = iso_path
        stack.extend(reversed(subdirs))
    return found


def _same_bytes(path: str, st: os.stat_result, other: Path, other_st: os.stat_result) -> bool:
    """Whether two files of the same size hold the same bytes (the same file does without reading it)."""
    if os.path.samestat(st, other_st):
        return True
    with open(path, "rb") as a, open(other, "rb") as b:
        while chunk := a.read(1024 * 1024):
            if chunk != b.read(len(chunk)):
                return False
    return True


def _boot_image_path(iso: Any, image: Path, hidden_name: str, found: dict[Path, str]) -> str:
    """The ISO9660 path of `image`: the media's own copy when it has one, else a copy only El Torito sees."""
    if image not in found:
        iso.add_file(str(image), iso_path=hidden_name)
        found[image] = hidden_name
    return found[image]


_MEDIA_TYPES = {0: "noemul", 1: "floppy-1.2", 2: "floppy-1.44", 3: "floppy-2.88", 4: "hdd"}


def read_boot_catalog(iso: Path) -> list[BootEntry]:
    """Read the El Torito boot catalog of `iso` directly from its bytes (independent of pycdlib)."""
    with open(iso, "rb") as fh:
        catalog_lba = None
        for sector in range(16, 64):  # the volume descriptor set starts at sector 16
            fh.seek(sector * SECTOR)
            vd = fh.read(SECTOR)
            if len(vd) < SECTOR or vd[1:6] != b"CD001":
                raise DataError(f"{iso} is not an ISO9660 image (no volume descriptor at sector {sector})")
            if vd[0] == 0 and vd[7:30] == b"EL TORITO SPECIFICATION":
                (catalog_lba,) = struct.unpack_from("<I", vd, 0x47)
                break
            if vd[0] == 255:  # volume descriptor set terminator
                break
        if catalog_lba is None:
            raise DataError(f"{iso} has no El Torito boot record", "it cannot boot; build it again")
        fh.seek(catalog_lba * SECTOR)
        cat = fh.read(SECTOR)
    validation = cat[0:32]
    words = struct.unpack("<16H", validation)
    if validation[0] != 1 or validation[30:32] != b"\x55\xaa" or sum(words) & 0xFFFF != 0:
        raise DataError(f"{iso}: the El Torito validation entry at sector {catalog_lba} is damaged")
    entries = [_entry(cat[32:64], validation[1])]
    offset = 64
    while offset + 32 <= len(cat):
        header = cat[offset : offset + 32]
        if header[0] not in (0x90, 0x91):
            break
        platform, (count,) = header[1], struct.unpack_from("<H", header, 2)
        offset += 32
        for _ in range(count):
            entries.append(_entry(cat[offset : offset + 32], platform))
            offset += 32
        if header[0] == 0x91:  # the final section header
            break
    return entries


def _entry(raw: bytes, platform: int) -> BootEntry:
    indicator, media, segment, _sys, _unused, count, rba = struct.unpack_from("<BBHBBHI", raw, 0)
    return BootEntry(
        platform=platform,
        bootable=indicator == 0x88,
        media=_MEDIA_TYPES.get(media & 0x0F, f"0x{media:02x}"),
        load_segment=segment,
        sector_count=count,
        load_rba=rba,
    )


def verify_iso(iso: Path, *, boot: BootFiles, files: Mapping[str, Path] | None = None) -> None:
    """Check `iso` boots both ways with exactly `boot`'s images and holds `files` (UDF path -> source) by hash."""
    import pycdlib

    entries = read_boot_catalog(iso)
    problems = []
    expected = [
        (PLATFORM_X86, boot.etfsboot, BIOS_LOAD_SECTORS),
        (PLATFORM_EFI, boot.efisys, math.ceil(boot.efisys.stat().st_size / VIRTUAL_SECTOR)),
    ]
    with open(iso, "rb") as fh:
        for platform, image, sectors in expected:
            entry = next((e for e in entries if e.platform == platform), None)
            name = "BIOS" if platform == PLATFORM_X86 else "UEFI"
            if entry is None or not entry.bootable or entry.media != "noemul":
                problems.append(f"no bootable no-emulation {name} entry")
                continue
            if entry.sector_count != sectors:
                problems.append(f"{name} entry loads {entry.sector_count} sectors, expected {sectors}")
            fh.seek(entry.load_rba * SECTOR)
            if fh.read(image.stat().st_size) != image.read_bytes():
                problems.append(f"{name} entry does not point at the bytes of {image}")
    if files:
        reader = pycdlib.PyCdlib()
        reader.open(str(iso))
        try:
            for udf_path, src in sorted(files.items()):
                h = hashlib.sha256()
                try:
                    with reader.open_file_from_iso(udf_path="/" + udf_path.lstrip("/")) as fp:
                        while chunk := fp.read(1024 * 1024):
                            h.update(chunk)
                except pycdlib.pycdlibexception.PyCdlibException:
                    problems.append(f"{udf_path} is missing")
                    continue
                if h.hexdigest() != _sha256(src):
                    problems.append(f"{udf_path} differs from {src}")
        finally:
            reader.close()
    if problems:
        raise DataError(f"{iso} failed verification: " + "; ".join(problems), "build the ISO again")
