"""Benchmark (not a test): update_copy vs a bare `wimlib-imagex update` vs extract-and-recapture of a ~300 MB WIM.

Run: python bench/bench_wim.py [--size-mb 300] [--runs 5] [--cache /tmp/prestart-bench]
Prints Markdown table rows `| measure | figure | ratio / target | how |` (bench/run.py collects them).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import time_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media_builder import wim

ENV = {**os.environ, "WIMLIB_IMAGEX_IGNORE_CASE": "1"}


def base_wim(cache: Path, size_mb: int) -> Path:
    """A WinPE-shaped image of about size_mb (half incompressible, half text-like), built once."""
    out = cache / f"base-{size_mb}.wim"
    if out.is_file():
        return out
    rng = random.Random(7)
    tree = cache / f"tree-{size_mb}"
    shutil.rmtree(tree, ignore_errors=True)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(8)) for _ in range(500)]
    per_file = 4 * 1024 * 1024
    for i in range(size_mb * 1024 * 1024 // per_file):
        folder = tree / "Windows" / "System32" / f"d{i % 16:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 2:
            data = rng.randbytes(per_file)
        else:
            data = b" ".join(rng.choice(words) for _ in range(per_file // 9))[:per_file]
        (folder / f"f{i:04d}.dll").write_bytes(data)
    capture = ["wimlib-imagex", "capture", str(tree), str(out), "WinPE", "--compress=LZX"]
    subprocess.run(capture, check=True, env=ENV, capture_output=True)
    shutil.rmtree(tree)
    return out


def payload(cache: Path) -> dict[str, Path]:
    """About 15 MB in 40 files, like a onedir agent."""
    root = cache / "payload"
    rng = random.Random(3)
    files = {}
    for i in range(40):
        p = root / "sms" / "bin" / ("_internal" if i else "") / f"lib{i:02d}.bin"
        if not p.is_file():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(rng.randbytes(15 * 1024 * 1024 // 40))
        files[p.relative_to(root).as_posix()] = p
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/prestart-bench"))
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    src = base_wim(args.cache, args.size_mb)
    files = payload(args.cache)
    work = args.cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    # The bare update gets the same staged tree our tool builds, so only the tool's own overhead differs.
    staged = args.cache / "staged"
    shutil.rmtree(staged, ignore_errors=True)
    for key, p in files.items():
        (staged / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, staged / key)
    cmds = f"add '{staged}' '/'\n".encode()

    def ours() -> None:
        wim.update_copy(src, work / "ours.wim", 1, files, epoch=1_700_000_000)

    def bare() -> None:
        shutil.copyfile(src, work / "bare.wim")
        subprocess.run(["wimlib-imagex", "update", str(work / "bare.wim"), "1"], input=cmds, check=True, env=ENV,
                       capture_output=True)  # fmt: skip

    def recapture() -> None:
        tree = work / "applied"
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["wimlib-imagex", "apply", str(src), "1", str(tree)], check=True, env=ENV, capture_output=True)
        shutil.copytree(staged, tree, dirs_exist_ok=True)
        subprocess.run(["wimlib-imagex", "capture", str(tree), str(work / "re.wim"), "WinPE", "--compress=LZX"],
                       check=True, env=ENV, capture_output=True)  # fmt: skip

    t_bare = time_call(bare, runs=args.runs)
    t_ours = time_call(ours, runs=args.runs)
    t_re = time_call(recapture, runs=args.runs)
    size = src.stat().st_size / 1e6
    setup = f"{size:.0f} MB LZX base, 15 MB payload in 40 files, median of {args.runs}"
    ratio = t_ours / t_bare
    verdict = f"{ratio:.2f}x (target ≤ 1.2x: {'met' if ratio <= 1.2 else 'MISSED'})"
    print(
        f"| WIM: bare `wimlib-imagex update` (floor) | {t_bare:.2f} s | 1.00x "
        f"| `cp base.wim t.wim && wimlib-imagex update t.wim 1 < cmds`; {setup} |"
    )
    print(
        f"| WIM: media builder `update_copy` | {t_ours:.2f} s | {verdict} "
        "| `media_builder.wim.update_copy(base, out, 1, payload, epoch=...)`: stage, copy, update, pin time |"
    )
    print(
        f"| WIM: extract + recapture | {t_re:.2f} s | {t_re / t_bare:.2f}x (update_copy {t_re / t_ours:.1f}x faster) "
        "| `wimlib-imagex apply` + copy + `wimlib-imagex capture --compress=LZX` |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
