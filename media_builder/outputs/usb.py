"""The `usb` output: a folder tree to copy onto a FAT32 stick (files over 4 GiB refused before anything is written)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.files import sha256_file as _sha256
from media_builder.outputs import FAT32_MAX_FILE, OutputContext, find_ci, media_files, media_tree


class UsbOutput:
    kind = "usb"

    def write(self, ctx: OutputContext, dest: Path) -> None:
        assert ctx.image.media is not None
        sizes = [(rel, path.stat().st_size) for rel, path in media_files(ctx.image.media)]
        sizes = [(rel, size) for rel, size in sizes if rel.casefold() != "sources/boot.wim"]
        sizes.append(("sources/boot.wim", ctx.wim.stat().st_size))
        too_big = [f"{rel} ({size / 1024**3:.2f} GiB)" for rel, size in sizes if size > FAT32_MAX_FILE]
        if too_big:
            raise InputError(
                f"boot image {ctx.image.name}: FAT32 cannot hold files of 4 GiB or more: {', '.join(too_big)}",
                "use the iso output, shrink the boot image (remove optional components or drivers), or "
                "split it with `wimlib-imagex split` onto an NTFS data partition beside a small FAT32 boot partition",
            )
        media_tree(ctx, dest, progress_label="usb")

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        problems = [
            f"{path}: over 4 GiB, too big for FAT32"
            for _, path in media_files(folder)
            if path.stat().st_size > FAT32_MAX_FILE
        ]
        wim = find_ci(folder, "sources/boot.wim")
        if wim is None:
            problems.append(f"{folder}: sources/boot.wim is missing")
        elif image.get("wim_sha256") and _sha256(wim) != image["wim_sha256"]:
            problems.append(f"{wim}: differs from the built boot image")
        for needed in ("bootmgr", "boot/bcd", "boot/boot.sdi"):
            if find_ci(folder, needed) is None:
                problems.append(f"{folder}: {needed} is missing, the stick would not boot")
        return problems

    def describe(self, folder: Path) -> list[str]:
        files = media_files(folder)
        total = sum(p.stat().st_size for _, p in files)
        return [f"{folder}: {len(files)} files, {total} bytes (copy the contents onto a FAT32 stick)"]


OUTPUT = UsbOutput()
