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

    def copy_durable(src: str, dst: str) -> None:
        shutil.copy2(src, dst)
        fd = os.open(dst, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def durable() -> None:
        # The same copy, each file synced to disk as write_iso syncs the ISO: the floor with the disk in it.
        shutil.copytree(media, out / "copy", copy_function=copy_durable)

    def write() -> None:
        iso.write_iso(media, out / "a.iso", boot=boot, label="BENCH", epoch=1_700_000_000)

    def clean() -> None:
        # Outside the timing: removing the last run's output measures the file system, not the writer.
        shutil.rmtree(out / "copy", ignore_errors=True)
        (out / "a.iso").unlink(missing_ok=True)
        os.sync()

    copies, durables, writes = [], [], []
    for _ in range(args.runs):  # in turns, so a noisy neighbour slows all alike
        for fn, samples in ((copy, copies), (durable, durables), (write, writes)):
            clean()
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    t_copy, t_durable, t_iso = statistics.median(copies), statistics.median(durables), statistics.median(writes)
    setup = f"media folder {total / 1e6:.0f} MB, median of {args.runs}"
    ratio = t_iso / t_copy
    verdict = f"{ratio:.2f}x (target ≤ 2x: {'met' if ratio <= 2 else 'MISSED'})"
    setup += ", in turns, the previous output removed untimed"
    print(f"| ISO: copy the media folder (floor) | {t_copy:.2f} s | 1.00x | `shutil.copytree(media, dest)`; {setup} |")
    print(
        f"| ISO: copy the media folder, each file synced to disk | {t_durable:.2f} s | {t_durable / t_copy:.2f}x "
        "| the same `copytree`, `os.fsync` after each file: what a durable copy costs on this disk |"
    )
    print(
        f"| ISO: `write_iso` | {t_iso:.2f} s | {verdict}; {t_iso / t_durable:.2f}x the synced copy "
        "| `media_builder.iso.write_iso(media, out, ...)`: the ISO is synced to disk before its rename |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
