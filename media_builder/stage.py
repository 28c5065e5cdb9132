"""Staging: the payload tree one boot image carries (agent, profile, signed catalog, keys) plus its hook glue."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agent.errors import InputError

# The agent finds its files beside its own executable, under these names.
from agent.payload import AGENT_EXE, AGENT_INTERNAL, CA_BUNDLE, CATALOG, PROFILE, PUBLIC_KEY
from hooks.base import Glue, GlueRequest
from media_builder.definition import BootImage

__all__ = ["AGENT_EXE", "AGENT_INTERNAL", "CATALOG", "CA_BUNDLE", "PROFILE", "PUBLIC_KEY", "AgentBinary", "stage"]


@dataclass(frozen=True)
class AgentBinary:
    """The agent for one architecture. Onedir: the exe's folder (with _internal/) is the whole agent."""

    exe: Path
    onedir: bool

    @classmethod
    def at(cls, exe: Path) -> AgentBinary:
        """A prebuilt or frozen agent; onedir when PyInstaller's _internal/ sits beside it."""
        return cls(exe=exe, onedir=(exe.parent / AGENT_INTERNAL).is_dir())


@dataclass(frozen=True)
class Staged:
    """One boot image's staged payload: in-image path -> staged file, and what the engine runs."""

    image: str
    root: Path
    payload_dir: str  # inside the image, forward slashes
    payload: Mapping[str, Path]  # every file for the image (payload and glue), in-image path -> file
    command_line: str

    def payload_only(self) -> dict[str, Path]:
        """The files under payload_dir, relative to it (what a ConfigMgr prestart folder holds)."""
        prefix = self.payload_dir.rstrip("/") + "/"
        return {k[len(prefix) :]: v for k, v in self.payload.items() if k.startswith(prefix)}


def glue_for(image: BootImage) -> Glue:
    """The engine's glue for `image` (hooks.<hook>.glue)."""
    module = importlib.import_module(f"hooks.{image.hook}")
    request = GlueRequest(arch=image.arch, agent_exe=AGENT_EXE, profile=PROFILE, package_id=image.package_id)
    glue: Glue = module.glue(request)
    return glue


def _safe_rel(path: str) -> str:
    """An in-image path that cannot climb out of the staging folder."""
    pure = PurePosixPath(path.replace("\\", "/").lstrip("/"))
    if not pure.parts or ".." in pure.parts:
        raise InputError(f"refusing in-image path {path!r}", "hook glue paths must stay inside the image")
    return pure.as_posix()


def _put(root: Path, rel: str, *, src: Path | None = None, data: bytes | None = None, epoch: int) -> Path:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if src is not None:
        shutil.copyfile(src, target)
    else:
        target.write_bytes(data or b"")
    # Fixed timestamps, so the same inputs stage (and then inject) byte-identically.
    os.utime(target, (epoch, epoch))
    return target


def stage(
    image: BootImage,
    *,
    root: Path,
    agent: AgentBinary,
    profile: Path,
    catalog: bytes,
    public_key: Path,
    ca_bundle: Path | None,
    epoch: int,
    glue: Glue | None = None,
) -> Staged:
    """Copy everything `image` carries into `root` (a fresh folder) and list it by in-image path."""
    glue = glue or glue_for(image)
    payload_dir = _safe_rel(glue.payload_dir)
    files: dict[str, Path] = {}

    def add(rel: str, **kw: object) -> None:
        rel = _safe_rel(rel)
        files[rel] = _put(root, rel, epoch=epoch, **kw)  # type: ignore[arg-type]

    add(f"{payload_dir}/{AGENT_EXE}", src=agent.exe)
    if agent.onedir:
        internal = agent.exe.parent / AGENT_INTERNAL
        for dirpath, dirnames, filenames in os.walk(internal):
            dirnames.sort()
            for name in sorted(filenames):
                src = Path(dirpath) / name
                add(f"{payload_dir}/{AGENT_INTERNAL}/{src.relative_to(internal).as_posix()}", src=src)
    from agent.profile import compile_profile

    add(f"{payload_dir}/{PROFILE}", data=compile_profile(profile).encode("utf-8"))
    add(f"{payload_dir}/{CATALOG}", data=catalog)
    add(f"{payload_dir}/{PUBLIC_KEY}", src=public_key)
    if ca_bundle is not None:
        add(f"{payload_dir}/{CA_BUNDLE}", src=ca_bundle)
    for rel, data in sorted(glue.files.items()):
        add(rel, data=data)
    return Staged(image=image.name, root=root, payload_dir=payload_dir, payload=files, command_line=glue.command_line)
