"""Frozen agent vs frozen Tk and console hello-worlds: bytes added to an LZX WIM, cold and warm start, headless run.

    python -m bench.bench_frozen        (PRESTART_BENCH_RUNS=N for N runs per figure; default 5)

Builds (cached under $PRESTART_BENCH_CACHE, default /tmp/prestart-bench/frozen): the agent onedir and onefile
through media_builder.freeze (packaging/prestart.spec), and the floors of this stack with the same PyInstaller
options (stripped, no UPX, optimize=2, the PYZ stored: freeze.PYINSTALLER_ENV): a Tk window with one label, and a
console program that prints and exits.
Each floor is built twice: as PyInstaller builds it by default (the floor the targets are set against), and
"trimmed", without the run-time hook for `inspect` that packaging/prestart.spec leaves out of the agent, so that
the agent's own cost on top of a floor built exactly as it is can be read off too.
"Cold" runs follow `sync; echo 3 > /proc/sys/vm/drop_caches` (root only; otherwise the row says so).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import PyInstaller

from agent import proc
from bench.common import RUNS, SPEC, first_draw, row
from examples.display import start_xvfb
from examples.standin import make_winpe_standin
from examples.workspace import reference_case, reference_run_args
from media_builder import freeze

CACHE = Path(os.environ.get("PRESTART_BENCH_CACHE", "/tmp/prestart-bench")) / "frozen"
# Start times move by 10-20% from one minute to the next on a shared machine: five runs gave the same
# build's onedir first page as 1.33x and 1.56x its floor. Fifteen in turns, as bench_ui_start takes.
START_RUNS = max(RUNS, 15)
WIM_ENV = {**os.environ, "WIMLIB_IMAGEX_IGNORE_CASE": "1"}
# The budgets (issue 22): against the floors as PyInstaller builds them by default.
SIZE_TARGET, START_TARGET, HEADLESS_TARGET = 1.25, 1.5, 1.5

# The floor of the UI: one label, timed to the same event the agent traces when its first page is drawn.
TK_HELLO = """
import os, sys, time, tkinter as tk
root = tk.Tk()
tk.Label(root, text="Hello").pack()
def drawn():
    path = os.environ.get("PRESTART_UI_TRACE")
    if path:
        with open(path, "a") as out:
            out.write(f"{time.time():.3f} drawn\\n")
root.bind("<Map>", lambda e: root.after_idle(drawn) if e.widget is root else None)
root.mainloop()
"""
CONSOLE_HELLO = 'print("hello")\n'
# Not a floor: a console hello-world that first imports what the agent's run is asked to use (issue 22:
# the stdlib's logging, argparse, typing, datetime, hashlib, json, pathlib, and PyYAML for a YAML answers
# file), to show what those cost by themselves next to the agent's run.
STDLIB_HELLO = "import argparse, datetime, hashlib, json, logging, pathlib, typing\nimport yaml\nprint('hello')\n"

# The same options packaging/prestart.spec uses, with PyInstaller's default collection (no excludes).
FLOOR_SPEC = """
import os
ONEFILE = os.environ.get("PRESTART_ONEFILE", "") == "1"
a = Analysis([{script!r}], optimize=2, noarchive=not ONEFILE)
{trim}
pyz = PYZ(a.pure)
COMMON = dict(name={name!r}, debug=False, strip=True, upx=False, console=True)
if ONEFILE:
    exe = EXE(pyz, a.scripts, a.binaries, a.datas, [], runtime_tmpdir=None, **COMMON)
else:
    exe = EXE(pyz, a.scripts, [], exclude_binaries=True, **COMMON)
    coll = COLLECT(exe, a.binaries, a.datas, strip=True, upx=False, name={name!r})
"""
# The one run-time hook packaging/prestart.spec removes (it imports inspect, ast, dis, tokenize and zipfile).
TRIM = 'a.scripts = [entry for entry in a.scripts if entry[0] != "pyi_rth_inspect"]'


def floor_sources(
    folder: Path, name: str, source: str, spec_text: str, script_path: Callable[[Path], str] = str
) -> Path:
    """A fresh `folder` holding a hello-world's script and its spec, in which `{script}` is the script's path
    as `script_path` writes it (bench_windows: as a Windows path); returns the spec."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    script = folder / f"{name}.py"
    script.write_text(source, encoding="utf-8")
    spec = folder / f"{name}.spec"
    spec.write_text(spec_text.format(script=script_path(script), name=name), encoding="utf-8")
    return spec


def build_floor(name: str, source: str, *, onefile: bool, trimmed: bool = False) -> Path:
    """The executable of a frozen hello-world, built once per source, spec and PyInstaller version."""
    spec_text = FLOOR_SPEC.replace("{trim}", TRIM if trimmed else "")
    key = hashlib.sha256(
        f"{source}|{spec_text}|{freeze.PYINSTALLER_ENV}|{PyInstaller.__version__}|{sys.version}".encode()
    ).hexdigest()[:16]
    folder = CACHE / "floors" / f"{name}-{'onefile' if onefile else 'onedir'}{'-trimmed' if trimmed else ''}-{key}"
    exe = folder / "dist" / (name if onefile else f"{name}/{name}")
    if exe.is_file():
        return exe
    spec = floor_sources(folder, name, source, spec_text)
    env = {**os.environ, **freeze.PYINSTALLER_ENV, "PRESTART_ONEFILE": "1" if onefile else "0"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(spec),
            "--distpath",
            str(folder / "dist"),
            "--workpath",
            str(folder / "build"),
            "--noconfirm",
            "--log-level",
            "WARN",
        ],
        check=True,
        env=env,
        cwd=folder,
        capture_output=True,
    )
    shutil.rmtree(folder / "build", ignore_errors=True)
    return exe


def build_agent(*, onefile: bool) -> Path:
    return freeze.freeze(onefile=onefile, cache_dir=CACHE / "agent", arch=freeze.host_arch())


def shipped(exe: Path, *, onefile: bool) -> Path:
    """What goes on media: the file itself (onefile) or the folder it is in (onedir)."""
    return exe if onefile else exe.parent


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def base_wim() -> Path:
    wim = CACHE / "standin" / "media" / "sources" / "boot.wim"
    if not wim.is_file():
        shutil.rmtree(CACHE / "standin", ignore_errors=True)
        make_winpe_standin(CACHE / "standin", size_mb=2)
    return wim


def wim_added_bytes(path: Path) -> int:
    """Bytes that adding `path` under /sms/bin grows an LZX boot.wim by (one in-place `wimlib-imagex update`)."""
    base = base_wim()
    with tempfile.TemporaryDirectory(prefix="prestart-bench-wim-") as tmp:
        copy = Path(tmp) / "boot.wim"
        shutil.copyfile(base, copy)
        target = "/sms/bin" if path.is_dir() else f"/sms/bin/{path.name}"
        commands = f"add '{path}' '{target}'\n".encode()
        subprocess.run(
            ["wimlib-imagex", "update", str(copy), "1"], input=commands, check=True, env=WIM_ENV, capture_output=True
        )
        return copy.stat().st_size - base.stat().st_size


def can_drop_caches() -> bool:
    try:
        drop_caches()
    except OSError:
        return False
    return True


def drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as fh:
        fh.write("3\n")


Measure = Callable[[list[str], dict[str, str]], float]


def medians_in_turns(
    measure: Measure, commands: list[list[str]], env: dict[str, str], *, cold: bool, runs: int | None = None
) -> list[float]:
    """A median for each command, measured in turns so that a noisy neighbour slows them all alike."""
    runs = START_RUNS if runs is None else runs
    if not cold:
        for argv in commands:
            measure(argv, env)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, kept in zip(commands, samples, strict=True):
            if cold:
                drop_caches()
            kept.append(measure(argv, env))
    return [statistics.median(kept) for kept in samples]


def run_to_exit(argv: list[str], env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="prestart-bench-run-") as tmp:
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=tmp, capture_output=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return elapsed


def preview_args(profile: Path) -> list[str]:
    return [
        "preview",
        str(profile),
        "--facts",
        str(SPEC / "facts" / "laptop.json"),
        "--catalog",
        str(SPEC / "catalog.json"),
    ]


def run_args(profile: Path, out: Path) -> list[str]:
    """The technician-laptop reference run, with this profile."""
    return reference_run_args(reference_case(profile=profile), out, out.parent / "log")


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def ms(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x (target ≤ {target}x: {'met' if ratio <= target else 'MISSED'})"


def main() -> list[str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    builds = {}
    for onefile in (False, True):
        kind = "onefile" if onefile else "onedir"
        builds[("agent", kind, False)] = build_agent(onefile=onefile)
        for trimmed in (False, True):
            builds[("tk", kind, trimmed)] = build_floor("tkhello", TK_HELLO, onefile=onefile, trimmed=trimmed)
            builds[("console", kind, trimmed)] = build_floor("hello", CONSOLE_HELLO, onefile=onefile, trimmed=trimmed)

    # Sizes are deterministic: one measurement each.
    for kind in ("onedir", "onefile"):
        onefile = kind == "onefile"
        agent = shipped(builds[("agent", kind, False)], onefile=onefile)
        tk = shipped(builds[("tk", kind, False)], onefile=onefile)
        a_wim, t_wim = wim_added_bytes(agent), wim_added_bytes(tk)
        rows.append(
            row(
                f"frozen Tk hello-world {kind}: bytes added to LZX boot.wim (floor)",
                mb(t_wim),
                "1.00x",
                f"`wimlib-imagex update boot.wim 1` `add {kind} /sms/bin`; {mb(disk_bytes(tk))} on disk",
            )
        )
        rows.append(
            row(
                f"frozen agent {kind}: bytes added to LZX boot.wim",
                mb(a_wim),
                verdict(a_wim / t_wim, SIZE_TARGET) if kind == "onedir" else f"{a_wim / t_wim:.2f}x",
                f"same; {mb(disk_bytes(agent))} on disk; "
                "`python -m PyInstaller packaging/prestart.spec` (PRESTART_ONEFILE=1 for onefile)",
            )
        )

    cold_ok = can_drop_caches()
    cold_how = (
        f"page cache dropped before each run; in turns, median of {START_RUNS}"
        if cold_ok
        else "cannot drop caches: not measured"
    )
    xvfb, display = start_xvfb()
    # As on media: the builder stores the profile compiled (profile.json); it boots without PyYAML.
    from agent.profile import compile_profile

    compiled_dir = tempfile.mkdtemp(prefix="prestart-bench-profile-")
    profile = Path(compiled_dir) / "profile.json"
    profile.write_text(compile_profile(SPEC / "technician.yaml"), encoding="utf-8")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRESTART_UI_TRACE")}
        env["DISPLAY"] = display
        with tempfile.TemporaryDirectory(prefix="prestart-bench-out-") as tmp:
            out = Path(tmp) / "vars.json"
            # (measure, floor build, floor row, agent arguments, agent row, target)
            comparisons = [
                (
                    first_draw, "tk", "Tk hello-world {kind}, {temp}: first frame (floor)",
                    "`tkhello` under Xvfb, spawn to `<Map>`+idle", preview_args(profile),
                    "agent {kind}, {temp}: first page",
                    "`prestart preview profile.json` (technician.yaml compiled, as on media) "
                    "`--facts laptop.json --catalog catalog.json`, PRESTART_UI_TRACE `drawn`", START_TARGET,
                ),
                (
                    run_to_exit, "console", "console hello-world {kind}, {temp}: to exit (floor)",
                    "`hello` (print and exit)", run_args(profile, out), "agent {kind}, {temp}: headless run to exit",
                    "`prestart run --profile profile.json --facts laptop.json --answers "
                    "technician-laptop.yaml --unattended --sink json:OUT`", HEADLESS_TARGET,
                ),
            ]  # fmt: skip
            for measure, floor, floor_row, floor_how, agent_args, agent_row, agent_how, target in comparisons:
                for kind in ("onedir", "onefile"):
                    commands = [
                        [str(builds[(floor, kind, False)])],
                        [str(builds[(floor, kind, True)])],
                        [str(builds[("agent", kind, False)]), *agent_args],
                    ]
                    for temp, cold in (("warm", False), ("cold", True)):
                        if cold and not cold_ok:
                            continue
                        t_floor, t_trimmed, t_agent = medians_in_turns(measure, commands, env, cold=cold)
                        how = cold_how if cold else f"after one warm-up run; in turns, median of {START_RUNS}"
                        floor_name = floor_row.format(kind=kind, temp=temp)
                        rows.append(row(floor_name, ms(t_floor), "1.00x", f"{floor_how}; {how}"))
                        rows.append(
                            row(
                                floor_name.replace("(floor)", "(floor, trimmed as the agent is)"),
                                ms(t_trimmed),
                                f"{t_trimmed / t_floor:.2f}x",
                                "the same, built without PyInstaller's `inspect` run-time hook; in the same turns",
                            )
                        )
                        rows.append(
                            row(
                                agent_row.format(kind=kind, temp=temp),
                                ms(t_agent),
                                verdict(t_agent / t_floor, target),
                                f"{agent_how}; {how}; {t_agent / t_trimmed:.2f}x the trimmed floor",
                            )
                        )
    finally:
        proc.stop(xvfb)
        shutil.rmtree(compiled_dir, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for line in main():
        print(line)
    sys.exit(0)
