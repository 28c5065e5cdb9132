"""Benchmark (not a test): write_iso of a WinPE-shaped media folder vs copying the same bytes.

Run: python bench/bench_iso.py [--size-mb 300] [--runs 5] [--cache /tmp/prestart-bench]
Prints Markdown table rows `| measure | figure | ratio / target | how |` (bench/run.py collects them).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bench.common import time_call

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
        shutil.rmtree(out / "copy", ignore_errors=True)
        shutil.copytree(media, out / "copy")

    def write() -> None:
        iso.write_iso(media, out / "a.iso", boot=boot, label="BENCH", epoch=1_700_000_000)

    t_copy = time_call(copy, runs=args.runs)
    t_iso = time_call(write, runs=args.runs)
    setup = f"media folder {total / 1e6:.0f} MB, median of {args.runs}"
    ratio = t_iso / t_copy
    verdict = f"{ratio:.2f}x (target ≤ 2x: {'met' if ratio <= 2 else 'MISSED'})"
    print(f"| ISO: copy the media folder (floor) | {t_copy:.2f} s | 1.00x | `shutil.copytree(media, dest)`; {setup} |")
    print(f"| ISO: `write_iso` | {t_iso:.2f} s | {verdict} | `media_builder.iso.write_iso(media, out, ...)` |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
