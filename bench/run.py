"""Run every benchmark and write docs/performance.md: each figure with the command that produced it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

from bench.common import REPO, RUNS

# (title, module, what it measures). Each module prints Markdown table rows ("| ... |") on stdout.
SUITES = [
    ("Headless runs", "bench.bench_headless", "`prestart run --unattended`, whole process, median of runs"),
    ("Catalog signature verification", "bench.bench_catalog", "Ed25519 verify + parse of the signed snapshot"),
    ("Task sequences", "bench.bench_tasksequence", "read + plan a generated 5,000-step sequence"),
    ("UI start", "bench.bench_ui_start", "process start to first page drawn vs a bare Tk label"),
    ("Frozen agent", "bench.bench_frozen", "PyInstaller builds: size in an LZX WIM, start time"),
    ("Windows agent under wine", "bench.bench_windows", "prestart.exe frozen under wine vs hello-worlds frozen alike"),
    ("Media build: WIM", "bench.bench_wim", "our update vs bare wimlib-imagex update vs extract-and-recapture"),
    ("Media build: ISO", "bench.bench_iso", "writing the ISO vs copying the same bytes"),
]


def run_suite(module: str) -> tuple[list[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not (REPO / (module.replace(".", "/") + ".py")).exists():
        return [], "not present"
    done = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True, env=env, cwd=REPO)
    rows = [line for line in done.stdout.splitlines() if line.startswith("|")]
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return rows, f"failed: {tail}"
    return rows, ""


def main(argv: list[str]) -> int:
    only = set(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpu = platform.processor() or platform.machine()
    parts = [
        "# Performance",
        "",
        "Every figure below comes from `./dev bench` (that is `python -m bench.run`), which runs the",
        f"benchmarks under `bench/` and rewrites this file. Each figure is a median of {RUNS} runs unless its row",
        "says otherwise. Run one suite alone with `python -m bench.<module>`.",
        "",
        f"Last run: {started} on {platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}),",
        f"Python {platform.python_version()}. Shared machines are noisy: compare ratios, not absolute times.",
        "",
    ]
    for title, module, what in SUITES:
        if only and module.split(".")[-1] not in only:
            continue
        print(f"== {title} ({module})", file=sys.stderr)
        rows, note = run_suite(module)
        parts += [f"## {title}", "", f"{what}. Command: `python -m {module}`.", ""]
        if rows:
            width = max(line.count("|") for line in rows) - 1
            parts += [
                "| "
                + " | ".join(["measure", "figure", "ratio / target", "how"][:width] + [""] * max(0, width - 4))
                + " |",
                "|" + "---|" * width,
            ]
            parts += rows
        if note:
            parts.append(f"\n_{note}_")
        parts.append("")
    # How the figures were reached, change by change, is contributors' history: it stays in bench/tried.md.
    parts += [
        "## Reproducing",
        "",
        "`./dev bench` runs every suite and rewrites this page; each table row says how its figure is measured.",
        "Contributors: what was tried to reach these figures, with the numbers before and after each change,",
        "is in `bench/tried.md`.",
        "",
    ]
    out = REPO / "docs" / "performance.md"
    out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
