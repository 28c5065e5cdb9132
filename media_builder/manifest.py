"""The build manifest: inputs with hashes, tool versions, outputs with sizes and hashes, timings."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from agent import proc
from agent.errors import DataError, InputError
from agent.files import sha256_file, write_text

MANIFEST = "manifest.json"
FORMAT = 1


def file_record(path: Path, root: Path) -> dict[str, Any]:
    """One file: path relative to `root` (forward slashes), size, SHA-256."""
    return {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size, "sha256": sha256_file(path)}


def tree_records(folder: Path, root: Path) -> list[dict[str, Any]]:
    """Every file under `folder`, sorted, relative to `root`."""
    records = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            records.append(file_record(Path(dirpath) / name, root))
    return records


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def tool_versions(*, freeze: bool = False) -> dict[str, str]:
    """The versions of every tool that shaped the outputs, so a build can be reproduced."""
    from agent import __version__

    try:
        wimlib = proc.run(["wimlib-imagex", "--version"], timeout=30).stdout.decode("utf-8", "replace")
        wimlib_version = wimlib.splitlines()[0].strip() if wimlib else "unknown"
    except proc.CommandFailed:
        wimlib_version = "not installed"
    tools = {
        "prestart": str(__version__),
        "python": platform.python_version(),
        "wimlib-imagex": wimlib_version,
        "pycdlib": _version("pycdlib"),
        "PyYAML": _version("PyYAML"),
        "PyNaCl": _version("PyNaCl"),
        # The Secure Boot report (media_builder.efi, bootcheck) reads EFI files and FAT images with these.
        "pefile": _version("pefile"),
        "asn1crypto": _version("asn1crypto"),
        "cryptography": _version("cryptography"),
        "pyfatfs": _version("pyfatfs"),
        "virt-firmware": _version("virt-firmware"),  # Microsoft's CA certificates: the default trust anchors
    }
    if freeze:
        tools["pyinstaller"] = _version("pyinstaller")
    return tools


def write_manifest(out_dir: Path, data: dict[str, Any]) -> Path:
    """Write `out_dir/manifest.json` atomically (sorted keys, so diffs between builds read well)."""
    target = out_dir / MANIFEST
    write_text(target, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return target


def find_manifest(path: Path) -> Path:
    """The manifest.json of the build that produced `path` (an output folder, a file in it, or the build folder)."""
    probe = path.resolve()
    for folder in [probe, *probe.parents] if probe.is_dir() else list(probe.parents):
        candidate = folder / MANIFEST
        if candidate.is_file():
            return candidate
    raise InputError(
        f"{path}: no {MANIFEST} found here or in a parent folder", "give a folder made by `prestart-media build`"
    )


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the manifest: {exc}", "build again to recreate it") from exc
    if not isinstance(data, dict) or data.get("manifest") != FORMAT:
        raise DataError(f"{path}: not a prestart-media manifest (format {FORMAT})", "build again to recreate it")
    return data
