"""Which boot files each output gets: the CA 2023 `_EX` set from the boot image, or the 2011 set of the media folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import InputError
from media_builder import wim as wimlib

ADK_WITH_EX = "10.1.26100.2454"  # the first ADK whose WinPE carries the _EX boot files (and copype bootbins\)
BOOT_DIR = "Windows/Boot"
# Outputs whose boot files depend on the CA: they get one folder per CA when the definition asks for `both`.
BOOT_KINDS = frozenset({"iso", "usb", "pxe"})
EFI_NAMES = {"amd64": "bootx64.efi", "x86": "bootia32.efi", "arm64": "bootaa64.efi"}

# In-image paths, relative to Windows/Boot (docs/secure-boot.md lists where Microsoft puts them).
EX_BOOTMGFW = "EFI_EX/bootmgfw_EX.efi"
EX_BOOTMGR = "EFI_EX/bootmgr_EX.efi"
EX_WDSMGFW = "PXE_EX/wdsmgfw_EX.efi"
EX_EFISYS = "DVD_EX/EFI/en-US/efisys_EX.bin"
EX_FONTS = "FONTS_EX/"
BOOT_STL = "EFI/boot.stl"
REQUIRED_EX = (EX_BOOTMGFW, EX_BOOTMGR, EX_EFISYS)


@dataclass(frozen=True)
class BootSet:
    """The boot files of one CA generation for one boot image."""

    generation: str  # "2023" | "2011"
    suffix: str  # the output folder's suffix: "" for a single set; "-ca2023" / "-ca2011-legacy" for `both`
    efisys: Path | None  # the ISO's UEFI El Torito image; None: the media folder's own efisys.bin
    overlay: Mapping[str, Path] = field(default_factory=dict)  # media-relative path -> file, over the ADK media
    pxe: Mapping[str, Path] = field(default_factory=dict)  # served name -> file

    @property
    def label(self) -> str:
        return "CA 2023" if self.generation == "2023" else "CA 2011 (legacy: stops booting where PCA 2011 is revoked)"


def image_boot_files(wim: Path, index: int, dest: Path) -> dict[str, Path]:
    """The files under Windows/Boot of the boot image, keyed relative to it (`EFI_EX/bootmgfw_EX.efi`)."""
    found = wimlib.extract_tree(wim, index, BOOT_DIR, dest)
    prefix = BOOT_DIR.casefold() + "/"
    return {rel[len(prefix) :]: path for rel, path in found.items() if rel.casefold().startswith(prefix)}


def _get(files: Mapping[str, Path], rel: str) -> Path | None:
    return next((p for k, p in files.items() if k.casefold() == rel.casefold()), None)


def has_ex(files: Mapping[str, Path]) -> bool:
    return all(_get(files, rel) is not None for rel in REQUIRED_EX)


def ex_set(files: Mapping[str, Path], arch: str, suffix: str = "") -> BootSet:
    """Microsoft's mapping for CA 2023 media: bootmgfw_EX -> efi/boot/boot<arch>.efi, bootmgr_EX -> bootmgr.efi,
    the EX fonts without `_EX`, boot.stl from the same image; efisys_EX.bin is the UEFI El Torito image; PXE serves
    wdsmgfw_EX and bootmgfw_EX renamed."""
    bootmgfw, bootmgr, efisys = (_get(files, rel) for rel in REQUIRED_EX)
    assert bootmgfw is not None and bootmgr is not None and efisys is not None
    overlay: dict[str, Path] = {f"efi/boot/{EFI_NAMES[arch]}": bootmgfw, "bootmgr.efi": bootmgr}
    for rel, path in files.items():
        if rel.casefold().startswith(EX_FONTS.casefold()) and rel.casefold().endswith("_ex.ttf"):
            name = rel.rsplit("/", 1)[-1]
            overlay[f"efi/microsoft/boot/fonts/{name[: -len('_EX.ttf')]}.ttf"] = path
    overlay.update(_stl(files))
    pxe = {"bootmgfw.efi": bootmgfw}
    wds = _get(files, EX_WDSMGFW)
    if wds is not None:
        pxe["wdsmgfw.efi"] = wds
    return BootSet("2023", suffix, efisys, overlay, pxe)


def legacy_set(files: Mapping[str, Path], suffix: str = "") -> BootSet:
    """The 2011 set: the media folder's own boot files; boot.stl still refreshed from the image."""
    return BootSet("2011", suffix, None, _stl(files), {})


def _stl(files: Mapping[str, Path]) -> dict[str, Path]:
    # A boot.stl older than the image's gives 0xc0430001 and keeps the media on the 2011 CA.
    stl = _get(files, BOOT_STL)
    return {"efi/microsoft/boot/boot.stl": stl} if stl is not None else {}


def choose(choice: str, files: Mapping[str, Path], arch: str, image: str) -> tuple[list[BootSet], list[str]]:
    """The boot sets for `secure_boot: choice` ("auto", "2023", "2011", "both"), and warnings to show."""
    ex = has_ex(files)
    missing = ", ".join(f"{BOOT_DIR}/{rel}" for rel in REQUIRED_EX if _get(files, rel) is None)
    if choice == "2011":
        return [legacy_set(files)], [
            f"boot image {image}: secure_boot: 2011 builds legacy media signed by Windows Production PCA 2011, "
            "which expires in October 2026 and does not boot where it is revoked (KB5025885) or where db holds "
            "only the 2023 CA"
        ]
    if not ex:
        hint = f"WinPE from Windows ADK {ADK_WITH_EX} or later carries them"
        if choice in ("2023", "both"):
            raise InputError(
                f"boot image {image}: secure_boot: {choice} needs the CA 2023 boot files, missing from the image: "
                f"{missing}",
                f"use a boot.wim from {hint}, or set `secure_boot: 2011`",
            )
        return [legacy_set(files)], [
            f"boot image {image}: the image has no CA 2023 boot files ({missing}); building CA 2011 media, which "
            f"will not boot where PCA 2011 is revoked or db holds only the 2023 CA ({hint})"
        ]
    if choice == "both":
        return [ex_set(files, arch, "-ca2023"), legacy_set(files, "-ca2011-legacy")], []
    return [ex_set(files, arch)], []
