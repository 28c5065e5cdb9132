"""MDT LiteTouch: variables in VARIABLES.DAT, and a winpeshl.ini that runs the agent before bddrun."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path

from agent import files, safexml
from agent.errors import DataError, InputError, SourceUnavailable
from agent.log import get_logger
from hooks import power
from hooks.base import (
    Glue,
    GlueRequest,
    VariableStore,
    check_commit,
    stale_array_entries,
    without_winpe_names,
)
from hooks.common import PAYLOAD_DIR, WINPESHL_PATH, WPEINIT, agent_args, launch_line, windows_command, windows_ini

log = get_logger("prestart.hooks.mdt")

VARIABLES_DAT = "MININT/SMSOSD/OSDLOGS/VARIABLES.DAT"  # under the WinPE root (X:\)
MDT_VERSION = "4.00.5345.0000"  # the Version attribute MDT writes on <MediaVarList>
BDDRUN = r"%SYSTEMROOT%\System32\bddrun.exe,/bootstrap"  # MDT's own winpeshl.ini line, unchanged
LOCK_WAIT_SECONDS = 10.0
# A writer holds the lock for milliseconds; one older than this was left by a killed process.
STALE_LOCK_SECONDS = 60.0
_LOCK_MARK = b"prestart pid "


def xml_char_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be stored in an XML 1.0 document, or None."""
    bad = sorted(
        {
            f"U+{ord(c):04X}"
            for c in value
            if not (c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000)
        }
    )
    return f"value of {name} holds characters XML cannot carry ({', '.join(bad)})" if bad else None


def cdata(value: str) -> str:
    """`value` as CDATA sections, exactly: `]]>` is split across two sections, CR kept as a reference.

    A CDATA section ends at the first `]]>`, so `a]]>b` becomes `<![CDATA[a]]]]><![CDATA[>b]]>`; XML
    parsers turn a raw CR into LF, so a CR goes between sections as `&#13;`.
    """
    pieces = ["<![CDATA[" + part.replace("]]>", "]]]]><![CDATA[>") + "]]>" for part in value.split("\r")]
    return "&#13;".join(pieces)


def render_variables_dat(variables: Mapping[str, str]) -> bytes:
    """A VARIABLES.DAT document: upper-cased names, values in CDATA, UTF-8 (what MSXML's Save writes)."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f'<MediaVarList Version="{MDT_VERSION}">']
    lines += [f'<var name="{name.upper()}">{cdata(value)}</var>' for name, value in variables.items()]
    lines.append("</MediaVarList>")
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def parse_variables_dat(data: bytes, where: str) -> dict[str, str]:
    """Every variable in a VARIABLES.DAT document, names upper-cased as MDT keeps them."""
    # MDT never writes a DTD; refusing one keeps entity expansion ("billion laughs") out of the agent. A value
    # that merely mentions `<!ENTITY` in its CDATA is not a DTD, and reads back as written.
    try:
        root = safexml.fromstring(data, forbid_dtd=True)
    except safexml.UnsafeXml as exc:
        raise DataError(
            f"{where}: VARIABLES.DAT carries a DTD ({exc.kind}), which MDT never writes", "delete the file"
        ) from exc
    except (ET.ParseError, LookupError, ValueError) as exc:
        raise DataError(
            f"{where}: not a readable VARIABLES.DAT: {exc}", "delete the file, or restore it from MDT's logs"
        ) from exc
    if root.tag != "MediaVarList":
        raise DataError(f"{where}: root element is <{root.tag}>, expected <MediaVarList>", "point at MDT's file")
    out: dict[str, str] = {}
    for var in root.iter("var"):
        name = var.get("name", "")
        if name:
            out[name.upper()] = "".join(var.itertext())
    return out


class VariablesDatStore:
    """MDT's VARIABLES.DAT (also the `mdt:` sink): merged under its .LOCK file, replaced atomically."""

    name = "mdt"

    def __init__(self, path: str | Path, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".LOCK")
        self.lock_wait = lock_wait

    def _read_raw(self) -> dict[str, str]:
        from agent import limits

        try:
            data = limits.read_bytes(self.path, limits.VARIABLES_DAT_BYTES, "VARIABLES.DAT")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SourceUnavailable(f"{self.path}: cannot read: {exc}", "check the file's permissions") from exc
        return parse_variables_dat(data, str(self.path))

    def read_all(self) -> dict[str, str]:
        return without_winpe_names(self._read_raw())

    def commit(self, variables: Mapping[str, str]) -> None:
        check_commit(variables)
        problems = [p for name, value in variables.items() if (p := xml_char_problem(name, value))]
        if problems:
            raise InputError("cannot write VARIABLES.DAT: " + "; ".join(problems), "fix the profile's values")
        with self._locked():
            merged = self._read_raw()
            for name in stale_array_entries(variables, merged):
                del merged[name]
            for name, value in variables.items():
                if value:
                    merged[name.upper()] = value
                else:
                    merged.pop(name.upper(), None)  # setting "" deletes, as in a task sequence
            files.write_bytes(self.path, render_variables_dat(merged))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                files.create_private(self.lock_path, _LOCK_MARK + str(os.getpid()).encode("ascii"))
                break
            except FileExistsError:
                if _clear_if_stale(self.lock_path):
                    continue
                if time.monotonic() >= deadline:
                    raise SourceUnavailable(
                        f"{self.lock_path} exists: another program is writing {self.path.name}",
                        "wait for it to finish; if nothing else runs, delete the .LOCK file and try again",
                    ) from None
                time.sleep(0.1)
            except OSError as exc:
                raise SourceUnavailable(f"{self.lock_path}: cannot create: {exc}", "check the folder") from exc
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()


def _clear_if_stale(lock: Path) -> bool:
    """Remove `lock` when a killed writer left it: ours with a process that is gone, or older than
    STALE_LOCK_SECONDS. The lock is renamed aside first and checked to be the file judged stale, so two
    agents clearing at once cannot remove a lock a third has just taken."""
    try:
        before = lock.stat()
        content = lock.read_bytes()[:64]
    except OSError:
        return True  # released meanwhile: try again
    stale = time.time() - before.st_mtime > STALE_LOCK_SECONDS
    if not stale and content.startswith(_LOCK_MARK):
        stale = not _alive(int(content[len(_LOCK_MARK):] or b"0"))
    if not stale:
        return False
    aside = lock.with_name(f"{lock.name}.stale-{os.getpid()}")
    try:
        os.replace(lock, aside)
    except OSError:
        return True  # another agent cleared it first: try again
    moved = aside.stat()
    if (moved.st_ino, moved.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
        with contextlib.suppress(OSError):  # not the file we judged: a fresh lock; give it back
            os.replace(aside, lock)
        return False
    with contextlib.suppress(OSError):
        aside.unlink()
    log.warning("removed a stale %s (left by a process that is gone)", lock.name)
    return True


def _alive(pid: int) -> bool:
    """True when process `pid` exists (POSIX); on Windows only the lock's age says it is stale."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def glue(req: GlueRequest) -> Glue:
    """winpeshl.ini: wpeinit (network), the agent, then MDT's own `bddrun.exe,/bootstrap`."""
    args = agent_args(req, "mdt")
    ini = windows_ini([("LaunchApps", [launch_line(WPEINIT), launch_line(args[0], args[1:]), BDDRUN])])
    return Glue(payload_dir=PAYLOAD_DIR, files={WINPESHL_PATH: ini}, command_line=windows_command(args))


class MdtHook:
    """MDT LiteTouch boot media: variables go to VARIABLES.DAT before bddrun starts LiteTouch."""

    name = "mdt"

    # Any of these marks an MDT boot image or a LiteTouch run in progress.
    MARKERS = (VARIABLES_DAT, "Windows/System32/bddrun.exe", "Deploy/Scripts/LiteTouch.wsf")

    def __init__(self, root: Path, *, real: bool = False) -> None:
        self.root = root
        self.real = real

    def detect(self) -> bool:
        if self.real and sys.platform != "win32":
            return False
        return any((self.root / marker).is_file() for marker in self.MARKERS)

    def store(self) -> VariableStore:
        return VariablesDatStore(self.root / VARIABLES_DAT)

    def prepare_ui(self) -> None:
        return None  # we run before bddrun: no MDT window exists yet

    def log_dir(self) -> Path | None:
        return (self.root / VARIABLES_DAT).parent

    def facts(self) -> dict[str, str]:
        return {}

    def power(self, action: str, *, dry_run: bool = False) -> list[str]:
        return power.power_action(action, dry_run=dry_run)


def create_hook(root: Path | None = None) -> MdtHook:
    """The MDT hook; `root` stands in for X:\\ in tests."""
    return MdtHook(root, real=False) if root is not None else MdtHook(Path("X:/"), real=True)
