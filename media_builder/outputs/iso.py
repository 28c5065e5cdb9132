"""The `iso` output: ADK media layout with our boot.wim, BIOS and UEFI El Torito entries, read back after writing."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from media_builder import iso as isolib
from media_builder.outputs import OutputContext, media_tree


class _HashWriter:
    """A file-like sink that only hashes, so a multi-GB WIM is checked without a copy on disk."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return len(data)


def wim_sha256_in_iso(iso: Path) -> str | None:
    """SHA-256 of /sources/boot.wim inside `iso` (UDF, Joliet or ISO 9660 name), or None when absent."""
    import pycdlib

    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        attempts: list[dict[str, str]] = [
            {"udf_path": "/sources/boot.wim"},
            {"joliet_path": "/sources/boot.wim"},
            {"rr_path": "/sources/boot.wim"},
            {"iso_path": "/SOURCES/BOOT.WIM;1"},
        ]
        for kwargs in attempts:
            sink = _HashWriter()
            try:
                reader.get_file_from_iso_fp(cast(BinaryIO, sink), **kwargs)
            except Exception:  # pycdlib raises its own errors for a missing name or namespace; try the next one
                continue
            return sink.hash.hexdigest()
        return None
    finally:
        reader.close()


def iso_path(folder: Path) -> Path | None:
    found = sorted(folder.glob("*.iso"))
    return found[0] if found else None


class IsoOutput:
    kind = "iso"

    def write(self, ctx: OutputContext, dest: Path) -> None:
        assert ctx.image.media is not None
        # CA 2023 media boot UEFI from the image's efisys_EX.bin; an explicit `efisys:` chooses the 2011 image.
        efisys = ctx.boot.efisys if ctx.boot is not None and ctx.boot.efisys is not None else ctx.image.efisys
        boot = isolib.find_boot_files(ctx.image.media, etfsboot=ctx.image.etfsboot, efisys=efisys)
        # The tree lives beside the output (same disk) and goes away with it.
        tree = Path(tempfile.mkdtemp(prefix=".tree-", dir=dest.parent))
        try:
            media_tree(ctx, tree, progress_label="iso: staging media")
            isolib.write_iso(
                tree,
                dest / f"{ctx.image.name}{ctx.boot.suffix if ctx.boot else ''}.iso",
                boot=boot,
                label=ctx.image.volume_label,
                epoch=ctx.epoch,
                progress=ctx.progress,
            )
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        iso = iso_path(folder)
        if iso is None:
            return [f"{folder}: no .iso file"]
        problems: list[str] = []
        entries = isolib.read_boot_catalog(iso)
        platforms = {_platform(e) for e in entries}
        if 0x00 not in platforms:
            problems.append(f"{iso}: no BIOS El Torito entry")
        if 0xEF not in platforms:
            problems.append(f"{iso}: no UEFI El Torito entry (platform 0xEF)")
        digest = wim_sha256_in_iso(iso)
        if digest is None:
            problems.append(f"{iso}: /sources/boot.wim is missing")
        elif image.get("wim_sha256") and digest != image["wim_sha256"]:
            problems.append(f"{iso}: /sources/boot.wim differs from the built boot image")
        return problems

    def describe(self, folder: Path) -> list[str]:
        iso = iso_path(folder)
        if iso is None:
            return [f"{folder}: no .iso file"]
        lines = [f"{iso}: {iso.stat().st_size} bytes"]
        lines += [f"  El Torito: {entry}" for entry in isolib.read_boot_catalog(iso)]
        lines.append(f"  /sources/boot.wim sha256 {wim_sha256_in_iso(iso)}")
        return lines


def _platform(entry: Any) -> int:
    value = getattr(entry, "platform", getattr(entry, "platform_id", None))
    if isinstance(value, str):
        return 0xEF if value.lower() in {"efi", "uefi", "0xef"} else 0x00
    return int(value or 0)


OUTPUT = IsoOutput()
