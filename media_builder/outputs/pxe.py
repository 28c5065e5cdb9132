"""The `pxe` output: boot.wim, boot.sdi, BCD and an iPXE script for wimboot (https://ipxe.org/wimboot)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.files import write_text
from media_builder.outputs import OutputContext, copy_file, find_ci

SCRIPT = "boot.ipxe"
# wimboot finds these by the names iPXE gives them (`initrd --name NAME URI`), whatever the server calls them.
FILES = ("BCD", "boot.sdi", "boot.wim")


def ipxe_script(name: str, arch: str, boot_manager: bool = False) -> str:
    """The iPXE script: URIs are relative to the script, so the folder can sit anywhere on an HTTP/TFTP server.

    With `boot_manager`, wimboot gets bootmgfw.efi beside the WIM (CA 2023: the image's bootmgfw_EX.efi) instead
    of taking the 2011-signed one out of the WIM."""
    served = ("bootmgfw.efi", *FILES) if boot_manager else FILES
    lines = [
        "#!ipxe",
        f"# {name} ({arch}), built by prestart-media. Put wimboot (https://ipxe.org/wimboot) beside this script.",
        "kernel wimboot",
        *(f"initrd --name {f} {f}" for f in served),
        "boot",
    ]
    return "\n".join(lines) + "\n"


class PxeOutput:
    kind = "pxe"

    def write(self, ctx: OutputContext, dest: Path) -> None:
        assert ctx.image.media is not None
        sources = {"BCD": find_ci(ctx.image.media, "boot/bcd"), "boot.sdi": find_ci(ctx.image.media, "boot/boot.sdi")}
        missing = [f"boot/{k.lower() if k == 'BCD' else k}" for k, v in sources.items() if v is None]
        if missing:
            raise InputError(
                f"boot image {ctx.image.name}: {ctx.image.media} has no {', '.join(missing)}",
                "point `media:` at an ADK media folder (copype creates it)",
            )
        for name, src in sources.items():
            assert src is not None
            copy_file(src, dest / name, ctx.epoch)
        copy_file(ctx.wim, dest / "boot.wim", ctx.epoch)
        # CA 2023: wimboot serves bootmgfw_EX as bootmgfw.efi; WDS serves wdsmgfw_EX as wdsmgfw.efi.
        served = dict(ctx.boot.pxe) if ctx.boot is not None else {}
        for name, src in sorted(served.items()):
            copy_file(src, dest / name, ctx.epoch)
        write_text(dest / SCRIPT, ipxe_script(ctx.image.name, ctx.image.arch, "bootmgfw.efi" in served))
        ctx.progress("pxe", 1.0)

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        problems = [f"{folder / f}: missing" for f in (*FILES, SCRIPT) if not (folder / f).is_file()]
        script = folder / SCRIPT
        if script.is_file():
            text = script.read_text(encoding="utf-8")
            problems += [f"{script}: does not load {f}" for f in FILES if f"--name {f} " not in text]
        wim = folder / "boot.wim"
        digest = image.get("wim_sha256")
        if wim.is_file() and digest and hashlib.sha256(wim.read_bytes()).hexdigest() != digest:
            problems.append(f"{wim}: differs from the built boot image")
        return problems

    def describe(self, folder: Path) -> list[str]:
        lines = [f"{folder}: serve this folder over HTTP or TFTP with wimboot beside {SCRIPT}"]
        lines += [f"  {p.name}: {p.stat().st_size} bytes" for p in sorted(folder.iterdir()) if p.is_file()]
        return lines


OUTPUT = PxeOutput()
