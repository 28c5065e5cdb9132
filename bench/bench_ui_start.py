"""Benchmark: process start to the first page drawn, against a bare Tk window drawing one label (goal: <= 1.5x);
and the time one key in the filter of a 10,000-item list takes (goal: < 100 ms).

    python -m bench.bench_ui_start [--runs 61]

Prints Markdown table rows `| measure | figure | ratio / target | how |` (bench/run.py collects them).

Uses $DISPLAY, or starts its own Xvfb when there is none.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent import proc
from bench.common import REPO, SPEC, first_draw

GOAL_RATIO = 1.5

# The baseline: the same interpreter, a bare Tk window with one label, timed to the same event.
BARE_TK = """
import os, time, tkinter as tk
root = tk.Tk()
tk.Label(root, text="Hello").pack()
def drawn():
    with open(os.environ["PRESTART_UI_TRACE"], "a") as out:
        out.write(f"{time.time():.3f} drawn\\n")
root.bind("<Map>", lambda e: root.after_idle(drawn) if e.widget is root else None)
root.mainloop()
"""


def filter_times() -> dict[str, float]:
    """Median and worst milliseconds per filter key on 10,000 items (in this process)."""
    sys.path.insert(0, str(REPO))
    import tkinter as tk

    from agent.profile.model import Profile
    from ui import theme
    from ui.widgets import Entry, FilterList, GroupedChecklist

    words = ["Adobe", "Microsoft", "Mozilla", "Google", "Oracle", "VideoLAN", "Notepad", "Python", "Git", "Zoom"]
    entries = [Entry(f"app{i}", f"{words[i % 10]} Tool {i}", f"Group {i % 25}") for i in range(10_000)]
    root = tk.Tk()
    look = theme.apply(root, Profile(version=1), kiosk=False)
    out: dict[str, float] = {}
    for name, widget in (
        ("choice list", FilterList(root, look, entries, filter=True)),
        ("grouped checklist", GroupedChecklist(root, look, entries)),
    ):
        widget.pack()
        root.update()
        times = []
        for text in ["m", "mi", "mic", "micr", "micro", "micros", "", "tool 99", "tool 9999", "x", ""]:
            started = time.perf_counter()
            widget.filter_var.set(text)
            root.update_idletasks()
            times.append((time.perf_counter() - started) * 1000)
        widget.destroy()
        out[f"{name} median ms"] = statistics.median(times)
        out[f"{name} worst ms"] = max(times)
    root.destroy()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # The floor alone moves by 10 ms between runs, and the ratio of 21-run medians by 0.1x from one minute
    # to the next (1.18x-1.31x, same code, ninth session): 61 runs in turns (~20 s) halve that spread.
    # The median of the per-turn ratios is shown beside.
    parser.add_argument("--runs", type=int, default=61)
    args = parser.parse_args()
    xvfb = None
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # The frozen agent carries bytecode; a checkout with PYTHONDONTWRITEBYTECODE=1 would compile every module
    # on every start. Keep bytecode in a private cache so both sides start as a shipped build does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cache = tempfile.mkdtemp(prefix="prestart-bench-pyc-")
    env["PYTHONPYCACHEPREFIX"] = cache
    if not env.get("DISPLAY"):
        xvfb = subprocess.Popen(
            ["Xvfb", ":93", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
        env["DISPLAY"] = os.environ["DISPLAY"] = ":93"
    try:
        bare = [sys.executable, "-c", BARE_TK]
        # As on media: the builder stores the profile compiled (profile.json), which boots without PyYAML.
        compiled = Path(cache) / "profile.json"
        subprocess.run(
            [sys.executable, "-m", "agent", "compile", str(SPEC / "technician.yaml"), "-o", str(compiled)],
            env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wizard = [
            sys.executable,
            "-m",
            "agent",
            "preview",
            str(compiled),
            "--facts",
            str(SPEC / "facts" / "laptop.json"),
            "--catalog",
            str(SPEC / "catalog.json"),
        ]
        first_draw(bare, env, cwd=REPO)  # warm the file cache for both
        first_draw(wizard, env, cwd=REPO)
        bare_times, wizard_times = [], []
        for _ in range(args.runs):  # in turns, so a noisy neighbour slows both alike
            bare_times.append(first_draw(bare, env, cwd=REPO))
            wizard_times.append(first_draw(wizard, env, cwd=REPO))
        bare_ms = statistics.median(bare_times) * 1000
        wizard_ms = statistics.median(wizard_times) * 1000
        ratio = wizard_ms / bare_ms
        paired = statistics.median(w / b for w, b in zip(wizard_times, bare_times, strict=True))
        how = f"interpreter with a warm bytecode cache, under Xvfb, in turns, median of {args.runs}"
        # The verdict is the median of the per-turn ratios: each turn runs both under the same machine
        # conditions, so it does not move when the machine drifts during the run; the ratio of the two
        # medians does (1.23x and 1.29x for the same code, ninth session) and is shown beside it.
        verdict = f"{paired:.2f}x (target ≤ {GOAL_RATIO}x: {'met' if paired <= GOAL_RATIO else 'MISSED'})"
        print(f"| bare Tk label: first draw (floor) | {bare_ms:.0f} ms | 1.00x | `python -c BARE_TK`; {how} |")
        print(f"| `prestart preview`: first page | {wizard_ms:.0f} ms | {verdict} "
              f"| `python -m agent preview profile.json --facts laptop.json "
              f"--catalog catalog.json` (technician.yaml compiled, as on media); {how}; "
              f"ratio: the median of the per-turn ratios; the ratio of the medians is {ratio:.2f}x |")  # fmt: skip
        for name, value in filter_times().items():
            print(f"| 10,000-item filter, {name} | {value:.1f} ms | target < 100 ms | one key in the filter, "
                  "`update_idletasks` included |")  # fmt: skip
        return 0
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if xvfb is not None:
            proc.stop(xvfb)


if __name__ == "__main__":
    sys.exit(main())
