"""Shared benchmark helpers: run a command N times, take the median, print a Markdown row."""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent import proc

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "examples" / "reference"  # the bundled example: the figures need nothing beside the clone
RUNS = int(os.environ.get("PRESTART_BENCH_RUNS", "5"))


def time_command(argv: Sequence[str], *, runs: int = RUNS, env: dict[str, str] | None = None, expect: int = 0) -> float:
    """Median wall time in seconds of `argv` over `runs` runs (after one warm-up run)."""
    return time_commands([argv], runs=runs, env=env, expect=expect)[0]


def time_commands(
    argvs: Sequence[Sequence[str]], *, runs: int = RUNS, env: dict[str, str] | None = None, expect: int = 0
) -> list[float]:
    """Median wall time of each command, run in turns (a, b, a, b, ...) so that a noisy neighbour slows
    every command alike and the ratios between them hold. One warm-up round first."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    samples: list[list[float]] = [[] for _ in argvs]
    for index in range(runs + 1):
        for argv, kept in zip(argvs, samples, strict=True):
            start = time.perf_counter()
            done = subprocess.run(list(argv), capture_output=True, env=full_env, cwd=REPO)
            elapsed = time.perf_counter() - start
            if done.returncode != expect:
                raise SystemExit(
                    f"benchmark command failed ({done.returncode}): {shlex.join(argv)}\n"
                    f"{done.stderr.decode(errors='replace')}"
                )
            if index:  # the first round warms the page cache
                kept.append(elapsed)
    return [statistics.median(kept) for kept in samples]


def time_call(fn: Callable[[], object], *, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def python() -> str:
    return sys.executable


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def first_draw(argv: list[str], env: dict[str, str], *, cwd: Path | None = None) -> float:
    """Seconds from spawning `argv` to its `drawn` trace line (the first page, or the floor's first frame).

    Both the agent (PRESTART_UI_TRACE) and the Tk floors write that line once their window is mapped and idle.
    """
    with tempfile.TemporaryDirectory(prefix="prestart-bench-trace-") as tmp:
        trace = Path(tmp) / "trace"
        started = time.time()
        process = subprocess.Popen(
            argv,
            env={**env, "PRESTART_UI_TRACE": str(trace)},
            cwd=cwd or tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if trace.exists():
                    for line in trace.read_text(encoding="utf-8").splitlines():
                        stamp, _, event = line.partition(" ")
                        if event == "drawn":
                            return float(stamp) - started
                if process.poll() is not None:
                    raise SystemExit(
                        f"{argv[0]} exited {process.returncode} before drawing: "
                        f"{process.stderr.read().decode(errors='replace') if process.stderr else ''}"
                    )
                time.sleep(0.002)
            raise SystemExit(f"no first draw from {argv}")
        finally:
            # SIGTERM, not SIGKILL: a onefile bootloader passes it on to its child and then deletes the
            # folder it unpacked into; SIGKILL left a 30 MB _MEI folder in /tmp per run.
            proc.stop(process)
