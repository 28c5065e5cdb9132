"""Benchmark (not a test): write_iso of a WinPE-shaped media folder vs copying the same bytes.

Run: python bench/bench_iso.py [--size-mb 300] [--runs 5] [--cache /tmp/prestart-bench]
Prints Markdown table rows `| measure | figure | ratio / target | how |` (bench/run.py collects them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.files import flush_tree
from examples.standin import make_winpe_standin
from media_builder import iso


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=200)  # make_winpe_standin: at most 255
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/prestart-bench"))
    args = ap.parse_args()
    root = args.cache / f"iso-standin-{args.size_mb}"
    if not (root / "media" / "sources" / "boot.wim").is_file():
        shutil.rmtree(root, ignore_errors=True)
        make_winpe_standin(root, size_mb=args.size_mb)
    media = root / "media"
    boot = iso.find_boot_files(media)
    out = args.cache / "work-iso"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    total = sum(p.stat().st_size for p in media.rglob("*") if p.is_file())

    def copy() -> None:
        shutil.copytree(media, out / "copy")

    def write() -> None:
        iso.write_iso(media, out / "iso" / "a.iso", boot=boot, label="BENCH", epoch=1_700_000_000)

    # The builder flushes each finished output to disk before it takes its real name (agent.files.flush_tree);
    # the same flush after each, in the same turns, shows what the disk adds to both.
    def copy_flushed() -> None:
        copy()
        flush_tree(out / "copy")

    def write_flushed() -> None:
        write()
        flush_tree(out / "iso")  # as the builder flushes the output folder that holds the ISO

    def clean() -> None:
        # Outside the timing: removing the last run's output measures the file system, not the writer.
        shutil.rmtree(out / "copy", ignore_errors=True)
        shutil.rmtree(out / "iso", ignore_errors=True)
        os.sync()

    runs: dict[str, list[float]] = {"copy": [], "write": [], "copy_flushed": [], "write_flushed": []}
    fns = {"copy": copy, "write": write, "copy_flushed": copy_flushed, "write_flushed": write_flushed}
    for _ in range(args.runs):  # in turns, so a noisy neighbour slows all alike
        for name, fn in fns.items():
            clean()
            started = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - started)
    t = {name: statistics.median(samples) for name, samples in runs.items()}
    setup = f"media folder {total / 1e6:.0f} MB, median of {args.runs}"
    ratio = t["write"] / t["copy"]
    verdict = f"{ratio:.2f}x (target ≤ 2x: {'met' if ratio <= 2 else 'MISSED'})"
    setup += ", in turns, the previous output removed untimed"
    print(
        f"| ISO: copy the media folder (floor) | {t['copy']:.2f} s | 1.00x | `shutil.copytree(media, dest)`; {setup} |"
    )
    print(
        f"| ISO: `write_iso` | {t['write']:.2f} s | {verdict} "
        "| `media_builder.iso.write_iso(media, out, ...)`: temp file, then renamed |"
    )
    print(
        f"| ISO: copy, then flushed to disk | {t['copy_flushed']:.2f} s | {t['copy_flushed'] / t['copy']:.2f}x "
        "| the same copy, then `agent.files.flush_tree` (fsync of every file and folder): what this disk adds |"
    )
    print(
        f"| ISO: `write_iso`, then flushed to disk | {t['write_flushed']:.2f} s "
        f"| {t['write_flushed'] / t['copy_flushed']:.2f}x the flushed copy "
        "| as the builder does it: each output is flushed before it is renamed into place |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
