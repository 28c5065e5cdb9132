"""The `wim` output: the boot image with the payload injected, read back and compared by hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from media_builder import wim as wimlib
from media_builder.outputs import OutputContext, copy_file

NAME = "boot.wim"


def payload_problems(wim: Path, image: Mapping[str, Any]) -> list[str]:
    """Read the recorded payload back out of `wim` and compare each file's SHA-256 with the manifest."""
    payload: Mapping[str, str] = image.get("payload", {})
    if not payload:
        return []
    index = int(image.get("index", 1))
    got = wimlib.extract_files(wim, index, sorted(payload))
    return [
        f"{wim} image {index}: {path} differs from the built payload"
        for path, digest in sorted(payload.items())
        if hashlib.sha256(got.get(path, b"")).hexdigest() != digest
    ]


class WimOutput:
    kind = "wim"

    def write(self, ctx: OutputContext, dest: Path) -> None:
        copy_file(ctx.wim, dest / NAME, ctx.epoch)
        ctx.progress("wim", 1.0)

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        wim = folder / NAME
        if not wim.is_file():
            return [f"{wim} is missing"]
        info = wimlib.wim_info(wim)
        info.image(int(image.get("index", 1)))
        return payload_problems(wim, image)

    def describe(self, folder: Path) -> list[str]:
        info = wimlib.wim_info(folder / NAME)
        lines = [f"{folder / NAME}: compression {info.compression}, boot index {info.boot_index}"]
        lines += [f"  image {i.index}: {i.name} ({i.architecture or '?'}, {i.total_bytes} bytes)" for i in info.images]
        return lines


OUTPUT = WimOutput()
