"""Output kinds (wim, iso, usb, pxe, configmgr-prestart): one module each behind a small protocol and a registry."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from media_builder.bootfiles import BootSet
from media_builder.definition import BootImage, MediaDefinition
from media_builder.stage import Staged

ProgressFn = Callable[[str, float], None]
FAT32_MAX_FILE = 4 * 1024**3 - 1  # FAT32 stores sizes in 32 bits


@dataclass(frozen=True)
class OutputContext:
    """What an output needs: the boot image, its built WIM (payload injected and verified) and staged payload."""

    definition: MediaDefinition
    image: BootImage
    wim: Path
    staged: Staged
    epoch: int
    progress: ProgressFn
    boot: BootSet | None = None  # iso, usb, pxe: the boot files of the chosen Secure Boot CA


class OutputKind(Protocol):
    """One kind of output. `write` fills an empty folder that is renamed into place only when it returns."""

    kind: str

    def write(self, ctx: OutputContext, dest: Path) -> None: ...

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        """Deep checks on a finished output (beyond the manifest's file hashes); each problem as text."""
        ...

    def describe(self, folder: Path) -> list[str]:
        """Lines for `prestart-media inspect`."""
        ...


# kind -> module; each module has OUTPUT, an OutputKind. Imported lazily so `check` needs no ISO library.
MODULES: dict[str, str] = {
    "wim": "media_builder.outputs.wim",
    "iso": "media_builder.outputs.iso",
    "usb": "media_builder.outputs.usb",
    "pxe": "media_builder.outputs.pxe",
    "configmgr-prestart": "media_builder.outputs.configmgr",
}


def get(kind: str) -> OutputKind:
    """The output called `kind`."""
    output: OutputKind = importlib.import_module(MODULES[kind]).OUTPUT
    return output


def copy_file(src: Path, dst: Path, epoch: int) -> None:
    """Copy content only (no source metadata) and pin the timestamp, so outputs are reproducible."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.utime(dst, (epoch, epoch))


def media_files(media: Path) -> list[tuple[str, Path]]:
    """Every file of an ADK media folder as (relative path with forward slashes, file), sorted."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(media):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            found.append((path.relative_to(media).as_posix(), path))
    return found


def find_ci(folder: Path, rel: str) -> Path | None:
    """`folder/rel` matched case-insensitively, as Windows media spell `Boot/BCD` and `boot/bcd` both ways."""
    current = folder
    for part in rel.split("/"):
        if not current.is_dir():
            return None
        match = next((c for c in sorted(current.iterdir()) if c.name.casefold() == part.casefold()), None)
        if match is None:
            return None
        current = match
    return current


def media_tree(ctx: OutputContext, dest: Path, *, progress_label: str) -> None:
    """The ADK media folder with our boot.wim in place of sources/boot.wim, copied to `dest`."""
    assert ctx.image.media is not None  # the definition requires media for iso, usb and pxe
    files = media_files(ctx.image.media)
    wim_rel = next((rel for rel, _ in files if rel.casefold() == "sources/boot.wim"), "sources/boot.wim")
    files = [(rel, path) for rel, path in files if rel != wim_rel] + [(wim_rel, ctx.wim)]
    if ctx.boot is not None and ctx.boot.overlay:
        # The CA's boot files replace the media folder's, whatever case the media spells them in.
        by_name = {rel.casefold(): (rel, path) for rel, path in files}
        for rel, path in ctx.boot.overlay.items():
            spelled = by_name.get(rel.casefold(), (rel, path))[0]
            by_name[rel.casefold()] = (spelled, path)
        files = sorted(by_name.values())
    total = sum(path.stat().st_size for _, path in files) or 1
    done = 0
    for rel, path in files:
        copy_file(path, dest / rel, ctx.epoch)
        done += path.stat().st_size
        ctx.progress(progress_label, done / total)
