"""The `configmgr-prestart` output: the prestart folder and exact command for a ConfigMgr-managed boot image."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.files import write_bytes
from hooks.base import GlueRequest
from media_builder.outputs import OutputContext, copy_file, media_files
from media_builder.stage import AGENT_EXE, PROFILE


class ConfigMgrPrestartOutput:
    kind = "configmgr-prestart"

    def write(self, ctx: OutputContext, dest: Path) -> None:
        # ConfigMgr regenerates its own boot images, so it gets the payload folder and the command, not a WIM.
        for rel, src in sorted(ctx.staged.payload_only().items()):
            copy_file(src, dest / rel, ctx.epoch)
        configmgr = importlib.import_module("hooks.configmgr")
        request = GlueRequest(
            arch=ctx.image.arch, agent_exe=AGENT_EXE, profile=PROFILE, package_id=ctx.image.package_id
        )
        extra: dict[str, bytes] = configmgr.prestart_folder(request, boot_image_id="", media_hint="")
        for rel, data in sorted(extra.items()):
            write_bytes(dest / rel, data)
        ctx.progress("configmgr-prestart", 1.0)

    def verify(self, folder: Path, image: Mapping[str, Any]) -> list[str]:
        payload_dir = str(image.get("payload_dir", "")).rstrip("/") + "/"
        problems: list[str] = []
        for path, digest in sorted(dict(image.get("payload", {})).items()):
            if not path.startswith(payload_dir):
                continue
            local = folder / path[len(payload_dir) :]
            if not local.is_file():
                problems.append(f"{local}: missing")
            elif hashlib.sha256(local.read_bytes()).hexdigest() != digest:
                problems.append(f"{local}: differs from the built payload")
        return problems

    def describe(self, folder: Path) -> list[str]:
        files = media_files(folder)
        return [f"{folder}: prestart folder with {len(files)} files"] + [f"  {rel}" for rel, _ in files[:20]]


OUTPUT = ConfigMgrPrestartOutput()
