"""Reboot or shut down the machine after a cancel (on_cancel), through agent/proc.py only."""

from __future__ import annotations

import sys
from typing import Literal

from agent import proc
from agent.errors import InputError
from agent.log import get_logger

log = get_logger("prestart.power")

Action = Literal["reboot", "shutdown", "exit"]
System = Literal["winpe", "windows", "other"]

ACTIONS: tuple[str, ...] = ("reboot", "shutdown", "exit")

# wpeutil is WinPE's own tool (shutdown.exe is missing from WinPE); a full Windows has shutdown.exe.
_COMMANDS: dict[tuple[str, str], list[str]] = {
    ("winpe", "reboot"): ["wpeutil", "reboot"],
    ("winpe", "shutdown"): ["wpeutil", "shutdown"],
    ("windows", "reboot"): ["shutdown", "/r", "/t", "0"],
    ("windows", "shutdown"): ["shutdown", "/s", "/t", "0"],
}


def current_system() -> System:
    """The system we run on: winpe, windows (full Windows) or other (a Linux preview)."""
    if sys.platform != "win32":
        return "other"
    import winreg  # stdlib, Windows only

    # The MiniNT key exists only in WinPE; it is how Windows itself tells WinPE apart.
    try:
        winreg.CloseKey(winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\MiniNT"))
    except OSError:
        return "windows"
    return "winpe"


def power_command(action: str, system: System) -> list[str]:
    """The command that performs `action` on `system`; [] when there is nothing to run."""
    if action not in ACTIONS:
        raise InputError(f"unknown power action {action!r}", f"on_cancel.then must be one of: {', '.join(ACTIONS)}")
    return list(_COMMANDS.get((system, action), []))


def power_action(action: str, *, dry_run: bool, system: System | None = None) -> list[str]:
    """Reboot, shut down or do nothing ("exit"); returns the command it ran (or would run, when dry_run).

    Outside Windows nothing is ever run, whatever `system` says: a preview on a Linux workstation must
    not reboot the workstation.
    """
    where = system or current_system()
    command = power_command(action, where)
    if not command:
        if action != "exit":
            log.warning("not running %s here (%s): only WinPE and Windows are rebooted or shut down", action, where)
        return []
    if dry_run:
        log.info("dry run: would run %s", proc.pasteable(command))
        return command
    if sys.platform != "win32":
        log.warning("not running %s on %s: power actions run on Windows only", proc.pasteable(command), sys.platform)
        return []
    log.info("%s: running %s", action, proc.pasteable(command))
    proc.run(command, timeout=60.0)
    return command
