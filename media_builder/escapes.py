"""Build-time checks for kiosk media: ways out of the agent that live in the boot image, not in our window."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from agent import proc
from media_builder.wim import extract_files

# ConfigMgr's "Enable command support (testing only)" writes DebugShell=true into TsBootShell.ini in the
# boot image; then F8 opens cmd.exe over any window, ours included. Kiosk media must not have it.
_SHELL_INI = "tsbootshell.ini"


def _image_files(wim: Path, index: int) -> list[str]:
    env = {**os.environ, "WIMLIB_IMAGEX_IGNORE_CASE": "1"}
    done = proc.run(["wimlib-imagex", "dir", str(wim), str(index)], env=env, timeout=300)
    return [line.strip().lstrip("/") for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]


def f8_enabled(wim: Path, index: int) -> list[str]:
    """In-image paths of TsBootShell.ini files that turn F8 command support on."""
    found = [p for p in _image_files(wim, index) if p.rsplit("/", 1)[-1].casefold() == _SHELL_INI]
    if not found:
        return []
    on = []
    for path, data in extract_files(wim, index, found).items():
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string(data.decode("utf-8-sig", "replace").replace("\x00", ""))
        except configparser.Error:
            continue
        for section in parser.sections():
            if parser.get(section, "DebugShell", fallback="").strip().casefold() in ("true", "1", "yes"):
                on.append(path)
    return on


def kiosk_warnings(image_name: str, wim: Path, index: int) -> list[str]:
    """Warnings for a kiosk profile's boot image (the build goes on: the team may know what it does)."""
    return [
        f"boot image {image_name}: F8 command support is on ({path}: DebugShell=true): a kiosk user can press "
        "F8 for a command prompt over the kiosk window; turn it off (Set-CMBootImage -EnableCommandSupport $false)"
        for path in f8_enabled(wim, index)
    ]
