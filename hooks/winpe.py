"""Plain WinPE: winpeshl.ini glue, and variables handed on as JSON and as a .cmd file of `set` lines."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from agent import files
from agent.errors import InputError
from hooks import power
from hooks.base import Glue, GlueRequest, VariableStore, check_commit
from hooks.common import (
    PAYLOAD_DIR,
    WINPESHL_PATH,
    WPEINIT,
    agent_args,
    launch_line,
    windows_command,
    windows_ini,
)
from hooks.file import render_json

STARTNET = r"%SYSTEMROOT%\System32\cmd.exe, /k %SYSTEMROOT%\System32\startnet.cmd"
MAX_CMD_LINE = 8191  # cmd.exe's longest command line


def glue(req: GlueRequest) -> Glue:
    """winpeshl.ini: wpeinit (network), then the agent, then the next program (startnet.cmd by default)."""
    args = agent_args(req, "winpe")
    next_line = req.next_program.strip() or STARTNET
    ini = windows_ini([("LaunchApps", [launch_line(WPEINIT), launch_line(args[0], args[1:]), launch_line(next_line)])])
    return Glue(payload_dir=PAYLOAD_DIR, files={WINPESHL_PATH: ini}, command_line=windows_command(args))


# --- the .cmd file of `set` lines -------------------------------------------------------------

# Outside double quotes cmd.exe treats these as operators or escapes; `^` makes them literal.
_CMD_OPERATORS = frozenset("&|<>^")


def cmd_set_line(name: str, value: str) -> str:
    """`set "NAME=value"` that gives NAME exactly `value` when the file is CALLed (delayed expansion off).

    How cmd reads it: (1) in a batch file `%%` is one `%`, everywhere, quoted or not, so every `%` is
    doubled; (2) `"` toggles quoting, and outside quotes `& | < > ^` are operators unless escaped with
    `^`. The opening quote of `set "` starts quoted, so we track the state through the value and escape
    operators only where a `"` in the value has switched quoting off; (3) `set "..."` keeps what lies
    between the first and the last quote, so quotes inside the value survive as they are. `!` is
    literal because delayed expansion is off by default (and we cannot switch it off for the caller:
    SETLOCAL would discard the variables).
    """
    out: list[str] = []
    quoted = True
    for ch in value:
        if ch == "%":
            out.append("%%")
        elif ch == '"':
            quoted = not quoted
            out.append(ch)
        elif not quoted and ch in _CMD_OPERATORS:
            out.append("^" + ch)
        else:
            out.append(ch)
    return f'set "{name}={"".join(out)}"'


def cmd_value_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be written as a `set` line, or None."""
    bad = sorted({f"U+{ord(c):04X}" for c in value if ord(c) < 0x20 and c != "\t"})
    if bad:
        return f"value of {name} holds control characters ({', '.join(bad)}); a .cmd line cannot carry them"
    if len(cmd_set_line(name, value)) > MAX_CMD_LINE:
        return f"value of {name} is too long for one cmd.exe line ({MAX_CMD_LINE} characters after escaping)"
    return None


def render_cmd(variables: Mapping[str, str]) -> bytes:
    """The whole .cmd file; refuses the set when any value cannot be represented."""
    check_commit(variables)
    problems = [p for name, value in variables.items() if (p := cmd_value_problem(name, value))]
    if problems:
        raise InputError("cannot write variables as a .cmd file: " + "; ".join(problems), "fix the profile's values")
    lines = ["@echo off", "rem Task sequence variables written by Prestart. CALL this file with delayed expansion off."]
    body = [cmd_set_line(name, value) for name, value in variables.items()]
    if any(not line.isascii() for line in body):
        # cmd reads a batch file in the console code page; switch to UTF-8 before the first non-ASCII line.
        lines.append("chcp 65001 >nul 2>&1")
    lines.extend(body)
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


class CmdFileStore:
    """Variables as a .cmd file of `set` lines (the `cmd:` sink), written atomically on commit."""

    name = "cmd"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read_all(self) -> dict[str, str]:
        # An output, like the json: sink; engine variables come from the engine.
        return {}

    def commit(self, variables: Mapping[str, str]) -> None:
        files.write_bytes(self.path, render_cmd(variables))


class WinPeStore:
    """Plain WinPE: the variables as JSON and as a .cmd file beside the payload, both or neither."""

    name = "winpe"

    def __init__(self, json_path: Path, cmd_path: Path) -> None:
        self.json_path = json_path
        self.cmd_path = cmd_path

    def read_all(self) -> dict[str, str]:
        return {}  # plain WinPE has no task sequence variables of its own

    def commit(self, variables: Mapping[str, str]) -> None:
        """Both files are written and flushed under temp names first; then two renames back to back, and if
        the second fails the first is undone (the old pair, or none, is restored). What is left is the moment
        between the two renames, which only a power cut can hit."""
        cmd_data = render_cmd(variables)  # validates everything before either file is touched
        json_data = render_json(variables)
        staged: list[Path] = []
        previous = self.json_path.with_name(self.json_path.name + ".previous")
        try:
            staged.append(files.stage_bytes(self.json_path, json_data))
            staged.append(files.stage_bytes(self.cmd_path, cmd_data))
            had_json = self.json_path.exists()
            if had_json:
                with contextlib.suppress(FileNotFoundError):
                    previous.unlink()
                os.link(self.json_path, previous)  # the old JSON, to put back if the .cmd cannot follow
            files.publish(staged[0], self.json_path)
            try:
                files.publish(staged[1], self.cmd_path)
            except BaseException:
                if had_json:
                    os.replace(previous, self.json_path)
                else:
                    self.json_path.unlink()
                raise
        finally:
            for path in [*staged, previous]:
                with contextlib.suppress(OSError):
                    path.unlink()


class WinPeHook:
    """Plain WinPE started us from winpeshl.ini."""

    name = "winpe"

    def __init__(self, root: Path, *, real: bool = False) -> None:
        self.root = root
        self.real = real  # root is the real X:\ (not a test folder)

    @property
    def payload(self) -> Path:
        return self.root / PAYLOAD_DIR

    def detect(self) -> bool:
        if self.real and sys.platform != "win32":
            return False  # "X:/..." would be a relative path here
        return (self.root / WINPESHL_PATH).is_file()

    def store(self) -> VariableStore:
        return WinPeStore(self.payload / "variables.json", self.payload / "variables.cmd")

    def prepare_ui(self) -> None:
        return None  # nothing of WinPE's own covers our window

    def log_dir(self) -> Path | None:
        return self.root / "Windows" / "Temp" / "SMSTSLog"

    def facts(self) -> dict[str, str]:
        return {}

    def power(self, action: str, *, dry_run: bool = False) -> list[str]:
        return power.power_action(action, dry_run=dry_run)


def create_hook(root: Path | None = None) -> WinPeHook:
    """The plain WinPE hook; `root` stands in for X:\\ in tests."""
    return WinPeHook(root, real=False) if root is not None else WinPeHook(Path("X:/"), real=True)
