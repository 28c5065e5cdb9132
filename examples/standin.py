"""A small WinPE-shaped stand-in: a real boot.wim captured with wimlib-imagex and an ADK-like media folder."""

from __future__ import annotations

import functools
import os
import random
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent import proc

# WINDOWS/ARCH values in a WIM's XML (PROCESSOR_ARCHITECTURE_*), as DISM writes them.
_WIM_ARCH = {"amd64": 9, "x86": 0, "arm64": 12}
_PE_MACHINE = {"amd64": 0x8664, "x86": 0x14C, "arm64": 0xAA64}
_EFI_NAME = {"amd64": "bootx64.efi", "x86": "bootia32.efi", "arm64": "bootaa64.efi"}
STANDIN_EPOCH = 1_700_000_000  # fixed timestamps, so two stand-ins capture alike


@dataclass(frozen=True)
class StandIn:
    """Where the pieces of one stand-in live (see make_winpe_standin)."""

    root: Path
    media: Path  # ADK `copype` media folder: bootmgr, boot/, efi/, sources/boot.wim
    wim: Path
    fwfiles: Path  # the `fwfiles/` sibling of media/
    etfsboot: Path
    efisys: Path
    arch: str
    index: int = 1


def make_pe(path: Path, arch: str = "amd64", *, size: int = 4096, marker: bytes = b"prestart-agent-standin") -> Path:
    """Write a minimal MZ + PE header with `arch`'s machine type, padded to `size`.

    Not a fake of behaviour: nothing runs it. It stands in for the frozen Windows agent (which cannot be built
    on Linux) as an input whose PE machine type the builder checks and whose bytes tests find in the media.
    """
    pe_offset = 0x80
    dos = bytearray(pe_offset)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, pe_offset)
    magic = 0x20B if arch != "x86" else 0x10B  # PE32+ for 64-bit, PE32 for x86
    optional = struct.pack("<H", magic) + bytes((0xF0 if magic == 0x20B else 0xE0) - 2)
    coff = struct.pack("<HHIIIHH", _PE_MACHINE[arch], 0, 0, 0, 0, len(optional), 0x0022)
    data = bytes(dos) + b"PE\0\0" + coff + optional + marker
    data += bytes(max(size - len(data), -len(data) % 512))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def fat12_floppy(label: bytes = b"EFISECTOR  ") -> bytes:
    """An empty, valid FAT12 1.44 MB floppy image: what efisys.bin is (mkfs.fat is not always installed)."""
    sectors, spf = 2880, 9
    boot = bytearray(512)
    boot[0:3] = b"\xeb\x3c\x90"
    boot[3:11] = b"MSDOS5.0"
    # BPB: bytes/sector, sectors/cluster, reserved, FATs, root entries, sectors, media, sectors/FAT,
    # sectors/track, heads, hidden, large sectors; then the extended BPB.
    struct.pack_into("<HBHBHHBHHHII", boot, 11, 512, 1, 1, 2, 224, sectors, 0xF0, spf, 18, 2, 0, 0)
    struct.pack_into("<BBBI11s8s", boot, 36, 0, 0, 0x29, 0x12345678, label, b"FAT12   ")
    boot[510:512] = b"\x55\xaa"
    image = bytearray(sectors * 512)
    image[0:512] = boot
    for fat in range(2):
        start = 512 * (1 + fat * spf)
        image[start : start + 3] = b"\xf0\xff\xff"
    root_dir = 512 * (1 + 2 * spf)
    image[root_dir : root_dir + 11] = label
    image[root_dir + 11] = 0x08  # volume label entry
    return bytes(image)


def _pin_times(root: Path, epoch: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(Path(dirpath) / name, (epoch, epoch))
    os.utime(root, (epoch, epoch))


def standin_boot_files(arch: str = "amd64") -> dict[str, bytes]:
    """Stand-ins for what a current WinPE image carries under Windows/Boot: the 2011-signed boot managers and the
    CA 2023 `_EX` set (docs/secure-boot.md). Unsigned PE headers: tests put signed EFI applications in their place."""
    return dict(_boot_files(arch))


@functools.cache
def _boot_files(arch: str) -> tuple[tuple[str, bytes], ...]:
    # Cached: the FAT image records the time it was written, and two stand-ins of one run should capture alike.
    from media_builder.fatimage import write_image

    with tempfile.TemporaryDirectory() as work:

        def pe(marker: str) -> bytes:
            return make_pe(Path(work) / marker, arch, marker=marker.encode()).read_bytes()

        efi = _EFI_NAME[arch].upper()
        efisys_ex = write_image(Path(work) / "efisys_EX.bin", {f"/EFI/BOOT/{efi}": pe("cdboot_EX")}).read_bytes()
        files = {
            "Windows/Boot/EFI/bootmgfw.efi": pe("bootmgfw"),
            "Windows/Boot/EFI/bootmgr.efi": pe("bootmgr"),
            "Windows/Boot/EFI/boot.stl": b"stl-standin",
            "Windows/Boot/PXE/wdsmgfw.efi": pe("wdsmgfw"),
            "Windows/Boot/EFI_EX/bootmgfw_EX.efi": pe("bootmgfw_EX"),
            "Windows/Boot/EFI_EX/bootmgr_EX.efi": pe("bootmgr_EX"),
            "Windows/Boot/PXE_EX/wdsmgfw_EX.efi": pe("wdsmgfw_EX"),
            "Windows/Boot/DVD_EX/EFI/en-US/efisys_EX.bin": efisys_ex,
            "Windows/Boot/FONTS_EX/segoe_slboot_EX.ttf": b"font-standin",
        }
    return tuple(files.items())


def make_winpe_standin(
    root: Path,
    *,
    size_mb: int = 2,
    arch: str = "amd64",
    seed: int = 1,
    boot_files: Mapping[str, bytes] | None = None,
    media_files: Mapping[str, bytes] | None = None,
) -> StandIn:
    """Create root/tree (WinPE-shaped), root/media (ADK layout with sources/boot.wim) and root/fwfiles.

    `boot_files` (in-image path -> bytes) replaces standin_boot_files(); `{}` makes a source without them, as
    WinPE before ADK 10.1.26100.2454. `media_files` (media-relative path -> bytes) overrides media files."""
    rng = random.Random(seed)
    tree = root / "tree"
    sys32 = tree / "Windows" / "System32"
    for folder in (sys32 / "config", sys32 / "en-US", tree / "Windows" / "Temp", tree / "Program Files"):
        folder.mkdir(parents=True, exist_ok=True)
    for exe in ("wpeinit.exe", "wpeutil.exe", "cmd.exe", "winload.exe"):
        make_pe(sys32 / exe, arch, size=8192)
    (sys32 / "startnet.cmd").write_bytes(b"wpeinit\r\n")
    (sys32 / "config" / "SYSTEM").write_bytes(rng.randbytes(64 * 1024))
    (sys32 / "en-US" / "wpeinit.exe.mui").write_bytes(b"mui" * 100)
    # Incompressible bytes, so the WIM really has the requested size.
    (sys32 / "drivers.bin").write_bytes(rng.randbytes(size_mb * 1024 * 1024))
    for rel, data in (standin_boot_files(arch) if boot_files is None else boot_files).items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    _pin_times(tree, STANDIN_EPOCH)

    media = root / "media"
    (media / "sources").mkdir(parents=True, exist_ok=True)
    wim = media / "sources" / "boot.wim"
    proc.run(
        [
            "wimlib-imagex", "capture", str(tree), str(wim), f"Microsoft Windows PE ({arch})",
            "--compress=LZX", "--boot",
            f"--image-property=WINDOWS/ARCH={_WIM_ARCH[arch]}",
            "--image-property=WINDOWS/VERSION/MAJOR=10",
            "--image-property=WINDOWS/VERSION/BUILD=22621",
        ]
    )  # fmt: skip
    make_pe(media / "bootmgr.efi", arch)
    (media / "bootmgr").write_bytes(rng.randbytes(4096))
    (media / "boot").mkdir()
    (media / "boot" / "bcd").write_bytes(b"regf" + rng.randbytes(8188))
    (media / "boot" / "boot.sdi").write_bytes(rng.randbytes(3 * 1024 * 1024 // 4))
    etfsboot = rng.randbytes(4094) + b"\x55\xaa"
    (media / "boot" / "etfsboot.com").write_bytes(etfsboot)
    efi_boot = media / "efi" / "microsoft" / "boot"
    efi_boot.mkdir(parents=True)
    efisys = fat12_floppy()
    (efi_boot / "efisys.bin").write_bytes(efisys)
    make_pe(media / "efi" / "boot" / _EFI_NAME[arch], arch)

    for rel, data in (media_files or {}).items():
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(data)

    fwfiles = root / "fwfiles"
    fwfiles.mkdir()
    (fwfiles / "etfsboot.com").write_bytes(etfsboot)
    (fwfiles / "efisys.bin").write_bytes(efisys)
    (fwfiles / "efisys_noprompt.bin").write_bytes(fat12_floppy(b"NOPROMPT   "))
    return StandIn(
        root=root,
        media=media,
        wim=wim,
        fwfiles=fwfiles,
        etfsboot=media / "boot" / "etfsboot.com",
        efisys=efi_boot / "efisys.bin",
        arch=arch,
    )
