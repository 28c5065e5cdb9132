"""The protocols every boot engine implements, and the registry that finds them."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from agent.errors import InputError, SourceUnavailable, UsageError
from agent.payload import PROFILE as PAYLOAD_PROFILE
from agent.variables import name_problem, value_problem


class VariableStore(Protocol):
    """Where task sequence variables are read from and committed to."""

    name: str

    def read_all(self) -> dict[str, str]:
        """Every variable the engine already has (read before rules run)."""
        ...

    def commit(self, variables: Mapping[str, str]) -> None:
        """Write all `variables` at once, or none of them."""
        ...

class Hook(Protocol):
    """A boot engine at run time: variables, what to do before our window shows, logs."""

    name: str

    def detect(self) -> bool:
        """True when this engine is the one that started us."""
        ...

    def store(self) -> VariableStore: ...

    def prepare_ui(self) -> None:
        """Whatever must happen before our window appears (close the engine's progress dialog)."""
        ...

    def log_dir(self) -> Path | None:
        """Where the engine wants logs, or None for the default."""
        ...

    def facts(self) -> dict[str, str]:
        """Read-only engine facts worth exposing to rules (_SMSTSLaunchMode, ...)."""
        ...

    def power(self, action: str, *, dry_run: bool = False) -> list[str]:
        """Reboot, shut down or just exit (on_cancel); returns the command run (hooks/power.py)."""
        ...

def check_commit(variables: Mapping[str, str]) -> None:
    """Refuse the whole set when any name or value breaks ConfigMgr's rules; nothing is written."""
    problems = []
    for name, value in variables.items():
        why = name_problem(name) or value_problem(name, value)
        if why:
            problems.append(why)
    if problems:
        raise InputError(
            "cannot commit variables: " + "; ".join(problems), "fix the profile's variable names or values"
        )


# WinPE names itself MININT-xxxx (MINWIN-xxxx on newer builds); such a name must never be kept as the
# computer name, or the new Windows would be called that.
WINPE_DEFAULT_NAME_PREFIXES = ("MININT-", "MINWIN-")
COMPUTER_NAME_VARIABLES = frozenset({"osdcomputername", "computername", "_smstsmachinename"})


def is_winpe_default_name(value: str) -> bool:
    """True when `value` is a name WinPE made up for itself (MININT-..., MINWIN-...)."""
    return value.strip().upper().startswith(WINPE_DEFAULT_NAME_PREFIXES)


def without_winpe_names(variables: Mapping[str, str]) -> dict[str, str]:
    """`variables` minus computer-name variables that hold a WinPE default name."""
    return {
        name: value
        for name, value in variables.items()
        if not (name.casefold() in COMPUTER_NAME_VARIABLES and is_winpe_default_name(value))
    }


_ARRAY_ITEM = re.compile(r"(?P<base>[A-Za-z][A-Za-z0-9_-]*?)(?P<index>[0-9]{2,3})")


def stale_array_entries(new: Mapping[str, str], existing: Iterable[str]) -> list[str]:
    """Existing array entries past the end of an array we are committing (they must be deleted).

    An array is `<base>01`, `<base>02`, ... (or 001, ...); the engine reads it until the first gap, so
    committing two applications over an existing list of five would still install the old last three.
    """
    indexes: dict[tuple[str, int], set[int]] = {}  # (base folded, digit count) -> indexes we commit
    for name, value in new.items():
        m = _ARRAY_ITEM.fullmatch(name)
        if m and value:
            indexes.setdefault((m["base"].casefold(), len(m["index"])), set()).add(int(m["index"]))
    # Only a list that starts at 1 is an array; `Port80` alone is just a name that ends in digits.
    lengths = {key: max(found) for key, found in indexes.items() if 1 in found}
    stale = []
    new_folded = {n.casefold() for n in new}
    for name in existing:
        m = _ARRAY_ITEM.fullmatch(name)
        if not m or name.casefold() in new_folded:
            continue
        count = lengths.get((m["base"].casefold(), len(m["index"])))
        if count is not None and int(m["index"]) > count:
            stale.append(name)
    return stale


class HookEntry(NamedTuple):
    """A registered engine: its name and where its module lives (imported lazily)."""

    name: str
    module: str
    description: str


# Detection order matters: TSEnvironment present, then MDT, then plain WinPE.
REGISTRY: tuple[HookEntry, ...] = (
    HookEntry("configmgr", "hooks.configmgr", "ConfigMgr task sequence (Microsoft.SMS.TSEnvironment)"),
    HookEntry("mdt", "hooks.mdt", "MDT LiteTouch (VARIABLES.DAT)"),
    HookEntry("winpe", "hooks.winpe", "plain WinPE (winpeshl.ini; variables as JSON and .cmd)"),
)


def load_hook(name: str) -> Hook:
    """The hook called `name` (`--hook NAME`); an unknown name is a command-line mistake listing ours."""
    for entry in REGISTRY:
        if entry.name == name:
            module = importlib.import_module(entry.module)
            factory: Callable[[], Hook] = module.create_hook
            return factory()
    known = ", ".join(e.name for e in REGISTRY)
    raise UsageError(f"unknown hook {name!r} (--hook)", f"choose one of: {known}")


def detect_hook() -> Hook:
    """The first registered engine that says it started us; the error lists everything tried."""
    tried = []
    for entry in REGISTRY:
        try:
            hook = load_hook(entry.name)
            if hook.detect():
                return hook
            tried.append(f"{entry.name}: not detected")
        except Exception as exc:  # a broken engine must not hide the others
            tried.append(f"{entry.name}: {exc}")
    raise SourceUnavailable(
        "no boot engine detected (" + "; ".join(tried) + ")",
        "pass --hook NAME, or --sink json:PATH to write the variables to a file",
    )


# Sinks: `--sink SCHEME:PATH` writes variables to a file instead of an engine.
SINKS: dict[str, tuple[str, str, str]] = {
    "json": ("hooks.file", "JsonFileStore", "one JSON object of name to value"),
    "mdt": ("hooks.mdt", "VariablesDatStore", "MDT's VARIABLES.DAT"),
    "cmd": ("hooks.winpe", "CmdFileStore", "a .cmd file of `set` lines"),
}


def open_sink(spec: str) -> VariableStore:
    """The store for `SCHEME:PATH` (`--sink`); an unknown scheme is a command-line mistake listing ours."""
    scheme, sep, path = spec.partition(":")
    if not sep or not path or scheme not in SINKS:
        known = ", ".join(f"{k}:PATH ({v[2]})" for k, v in SINKS.items())
        raise UsageError(f"bad sink {spec!r} (--sink)", f"use one of {known}")
    module_name, class_name, _ = SINKS[scheme]
    module = importlib.import_module(module_name)
    store: VariableStore = getattr(module, class_name)(Path(path))
    return store


class GlueRequest(NamedTuple):
    """What the builder tells an engine's glue about the payload it is about to inject."""

    arch: str  # amd64 | x86 | arm64
    agent_exe: str  # the agent's path relative to the payload folder, e.g. "prestart.exe"
    profile: str = PAYLOAD_PROFILE  # relative to the payload folder: the compiled profile.json
    package_id: str = "PRST0001"  # ConfigMgr: the folder under X:\sms\PKG
    next_program: str = ""  # plain WinPE: what runs after the agent ("" = startnet.cmd)
    extra_args: tuple[str, ...] = ()


class Glue(NamedTuple):
    """What an engine needs in the image: where the payload goes, extra files, the command."""

    payload_dir: str  # inside the image, forward slashes, no leading slash, e.g. "sms/PKG/PRST0001"
    files: Mapping[str, bytes]  # extra files for the image: path (forward slashes) -> content
    command_line: str  # the exact command the engine runs (Windows syntax)
