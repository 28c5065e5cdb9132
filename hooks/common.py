"""What the engine hooks share: the WinPE layout, Windows INI files and command lines, the agent's launch line."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import PureWindowsPath

from agent.errors import InputError
from hooks.base import GlueRequest

# WinPE always runs from the X: RAM disk; the payload sits in a folder at its root.
PAYLOAD_DIR = "Prestart"
WINPE_ROOT = PureWindowsPath("X:/")
WINPESHL_PATH = "Windows/System32/winpeshl.ini"  # inside the image
WPEINIT = r"%SYSTEMROOT%\System32\wpeinit.exe"
MAX_LAUNCH_LINE = 250  # winpeshl.ini ignores longer commands (Microsoft's Winpeshl.ini reference)


# --- Windows INI files (winpeshl.ini, TSCONFIG.INI) --------------------------------------------


def windows_ini(sections: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """An INI file the way Windows reads it: CRLF lines; ASCII, or UTF-16LE with a BOM when it must be.

    Windows reads INI files with the profile API, which takes the ANSI code page unless the file starts
    with a UTF-16LE BOM; ASCII is the same in every code page, so only non-ASCII text needs UTF-16.
    """
    lines: list[str] = []
    for name, entries in sections:
        lines.append(f"[{name}]")
        lines.extend(entries)
    for line in lines:
        if "\r" in line or "\n" in line:
            raise InputError(f"INI line {line!r} holds a line break", "give commands and paths on one line")
    text = "".join(line + "\r\n" for line in lines)
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        return b"\xff\xfe" + text.encode("utf-16-le")


def windows_command(args: Sequence[str]) -> str:
    """Arguments joined the way the Microsoft C runtime splits them again (quotes where needed)."""
    return subprocess.list2cmdline(list(args))


def launch_line(program: str, args: Sequence[str] = ()) -> str:
    """One winpeshl.ini [LaunchApps] line: `program, options` (the comma separates the options)."""
    line = f"{program}, {windows_command(args)}" if args else program
    if len(line) > MAX_LAUNCH_LINE:
        raise InputError(
            f"winpeshl.ini command is {len(line)} characters; WinPE ignores commands over {MAX_LAUNCH_LINE}: {line}",
            "shorten the payload paths or the extra arguments",
        )
    return line


def payload_path(req: GlueRequest, relative: str) -> str:
    """`relative` (a payload path with forward slashes) as an absolute path inside the running WinPE."""
    if not relative or relative.startswith(("/", "\\")) or ".." in PureWindowsPath(relative).parts:
        raise InputError(f"payload path {relative!r} must be relative to the payload folder", "e.g. prestart.exe")
    return str(WINPE_ROOT / PAYLOAD_DIR / PureWindowsPath(relative))


def agent_args(req: GlueRequest, hook: str) -> list[str]:
    """The agent's command line (program first) for the winpeshl.ini-based engines."""
    return [
        payload_path(req, req.agent_exe),
        "run",
        "--profile",
        payload_path(req, req.profile),
        "--hook",
        hook,
        *req.extra_args,
    ]
