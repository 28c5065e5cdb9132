"""The Windows agent under wine vs Tk and console hello-worlds frozen the same way under wine.

    python -m bench.bench_windows        (PRESTART_BENCH_RUNS=N for N runs per figure; default 5)

prestart.exe is the onedir build of `./dev windows` (media_builder.winefreeze). The floors are a Tk window
with one label and a console program that prints and exits, frozen by the same Windows PyInstaller under
wine with the agent's options (onedir with the PYZ archive stored, optimize=2, no UPX; not stripped: there is
no Windows strip), cached in .cache/windows/floors. Three figures, each against its floor:
bytes added to an LZX boot.wim (target 1.25x the Tk floor), process start to first page drawn under wine
on Xvfb (1.5x the Tk floor), and a headless run to its exit (1.5x the console floor). Every time includes
wine's own process start, the same for agent and floor; runs are taken in turns, agent then floor.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_frozen import (
    CONSOLE_HELLO,
    STDLIB_HELLO,
    TK_HELLO,
    floor_sources,
    mb,
    ms,
    verdict,
    wim_added_bytes,
)
from bench.common import RUNS, SPEC, first_draw, row
from examples.display import start_xvfb
from examples.workspace import reference_case
from media_builder.freeze import PYINSTALLER_ENV
from media_builder.winefreeze import CACHE, PINS, REPO, Wine, freeze, freeze_with_pyinstaller, source_key, windows_path

SIZE_TARGET, START_TARGET, HEADLESS_TARGET = 1.25, 1.5, 1.5

FLOOR_SPEC = """
a = Analysis([{script!r}], optimize=2, noarchive=False)
pyz = PYZ(a.pure)
exe = EXE(pyz, a.scripts, [], exclude_binaries=True, name={name!r}, debug=False, strip=False, upx=False, console=True)
coll = COLLECT(exe, a.binaries, a.datas, strip=False, upx=False, name={name!r})
"""


def build_floor(wine: Wine, name: str, source: str) -> Path:
    """A hello-world frozen under wine like the agent, built once per source and Windows Python pins."""
    pins = (PINS / "embed.txt").read_text() + (PINS / "wheels.txt").read_text()
    key = hashlib.sha256(f"{source}|{FLOOR_SPEC}|{PYINSTALLER_ENV}|{pins}".encode()).hexdigest()[:16]
    folder = CACHE / "floors" / f"{name}-{key}"
    exe = folder / "dist" / name / f"{name}.exe"
    if exe.is_file():
        return exe
    spec = floor_sources(folder, name, source, FLOOR_SPEC, script_path=windows_path)
    freeze_with_pyinstaller(wine, spec, folder, env=PYINSTALLER_ENV)
    shutil.rmtree(folder / "build", ignore_errors=True)
    return exe


def build_agent_with_loose_pyc(wine: Wine) -> Path:
    """The agent onedir with loose .pyc files instead of PyInstaller's PYZ archive (the spec's `noarchive`,
    as on Linux), built from a copy of the spec beside links to the sources."""
    spec = (REPO / "packaging" / "prestart.spec").read_text(encoding="utf-8")
    variant = spec.replace("noarchive=not ONEFILE and not WINDOWS,", "noarchive=not ONEFILE,")
    assert variant != spec, "packaging/prestart.spec no longer sets noarchive as this benchmark expects"
    key = hashlib.sha256(f"{variant}|{source_key(onefile=False)}".encode()).hexdigest()[:16]
    folder = CACHE / "floors" / f"prestart-loose-{key}"
    exe = folder / "dist" / "prestart" / "prestart.exe"
    if exe.is_file():
        return exe
    shutil.rmtree(folder, ignore_errors=True)
    root = folder / "root"
    (root / "packaging").mkdir(parents=True)
    for top in ("agent", "hooks", "ui", "media_builder"):
        (root / top).symlink_to(REPO / top)
    (root / "packaging" / "prestart_entry.py").symlink_to(REPO / "packaging" / "prestart_entry.py")
    (root / "packaging" / "prestart.spec").write_text(variant, encoding="utf-8")
    freeze_with_pyinstaller(wine, root / "packaging" / "prestart.spec", folder, env=PYINSTALLER_ENV)
    shutil.rmtree(folder / "build", ignore_errors=True)
    return exe


def run_to_exit(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300, check=False)
    return time.perf_counter() - started


def in_turns(*commands: list[str], measure: Callable[[list[str]], float]) -> list[float]:
    """Medians of RUNS runs of each command, taken in turns so that the machine's mood touches all alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for argv, kept in zip(commands, samples, strict=True):
            kept.append(measure(argv))
    return [statistics.median(kept) for kept in samples]


def main() -> list[str]:
    wine = Wine()
    agent = freeze()
    tk_floor = build_floor(wine, "tkhello", TK_HELLO)
    console_floor = build_floor(wine, "hello", CONSOLE_HELLO)
    stdlib_hello = build_floor(wine, "stdlibhello", STDLIB_HELLO)
    loose = build_agent_with_loose_pyc(wine)
    rows: list[str] = []
    # A running system: WinPE is up when the agent starts, so wine's own services (its "boot") stay up
    # between runs instead of starting again with each one.
    wine.restart()
    subprocess.run(["wineserver", "-p"], env=wine.env(), check=True, timeout=60)

    agent_bytes, tk_bytes = wim_added_bytes(agent.parent), wim_added_bytes(tk_floor.parent)
    ratio = agent_bytes / tk_bytes
    rows.append(row("prestart.exe onedir: bytes added to an LZX boot.wim", mb(agent_bytes),
                    f"{verdict(ratio, SIZE_TARGET)} the Tk floor ({mb(tk_bytes)})",
                    "`wimlib-imagex update` of a stand-in boot.wim"))  # fmt: skip

    # As on media, and as bench_frozen measures the Linux build: the profile compiled (profile.json).
    from agent.profile import compile_profile

    compiled_dir = Path(tempfile.mkdtemp(prefix="prestart-bench-profile-"))
    profile = compiled_dir / "profile.json"
    profile.write_text(compile_profile(SPEC / "technician.yaml"), encoding="utf-8")
    xvfb, display = start_xvfb()
    try:
        env = wine.env(display)

        def draw(argv: list[str]) -> float:
            return first_draw(argv, env)

        case = reference_case("technician-laptop")
        preview = ["preview", windows_path(profile),
                   "--facts", windows_path(SPEC / "facts" / "laptop.json"),
                   "--catalog", windows_path(SPEC / "catalog.json")]  # fmt: skip
        first_draw(["wine", str(agent), *preview], env)  # warm the page cache and wine's own start
        agent_draw, tk_draw = in_turns(["wine", str(agent), *preview], ["wine", str(tk_floor)], measure=draw)
    finally:
        xvfb.kill()
        xvfb.wait()
    ratio = agent_draw / tk_draw
    rows.append(row("prestart.exe preview profile.json: start to first page drawn under wine (Xvfb)", ms(agent_draw),
                    f"{verdict(ratio, START_TARGET)} the Tk floor ({ms(tk_draw)})",
                    f"median of {RUNS} in turns, warm"))  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="prestart-bench-win-") as tmp:
        out = windows_path(Path(tmp) / "out.json")
        run = ["run", "--unattended", "--sink", f"json:{out}"]
        run += ["--profile", windows_path(profile)]
        for flag, key in (("--catalog", "catalog"), ("--facts", "facts"), ("--answers", "answers")):
            run += [flag, windows_path(SPEC / str(case[key]))]
        quiet = wine.env()

        def to_exit(argv: list[str]) -> float:
            return run_to_exit(argv, quiet)

        to_exit(["wine", str(agent), *run])
        agent_run, hello_run, stdlib_run = in_turns(
            ["wine", str(agent), *run], ["wine", str(console_floor)], ["wine", str(stdlib_hello)], measure=to_exit
        )
        if not Path(tmp, "out.json").is_file():
            raise SystemExit("the headless run under wine wrote no variables: the figure would mean nothing")
        pyz_run, loose_run = in_turns(["wine", str(agent), *run], ["wine", str(loose), *run], measure=to_exit)
    ratio = agent_run / hello_run
    rows.append(row("prestart.exe run --unattended: start to exit under wine", ms(agent_run),
                    f"{verdict(ratio, HEADLESS_TARGET)} the console floor ({ms(hello_run)})",
                    f"median of {RUNS} in turns, warm; technician-laptop, profile.json as on media"))  # fmt: skip
    rows.append(row("console hello-world importing logging, argparse, typing, datetime, hashlib, json, pathlib, "
                    "PyYAML (not a floor)", ms(stdlib_run),
                    f"{stdlib_run / hello_run:.2f}x the console floor; "
                    f"the agent's run is {agent_run / stdlib_run:.2f}x it",
                    "in the same turns: what issue 22's stdlib costs by itself"))  # fmt: skip
    rows.append(row("the same run with loose .pyc files (the Linux build's choice) instead of the PYZ",
                    ms(loose_run), f"{loose_run / pyz_run:.2f}x the PYZ archive ({ms(pyz_run)})",
                    f"median of {RUNS} in turns; WIM {mb(wim_added_bytes(loose.parent))}"))  # fmt: skip
    subprocess.run(["wineserver", "-k"], env=wine.env(), check=False)
    shutil.rmtree(compiled_dir, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for line in main():
        print(line)
