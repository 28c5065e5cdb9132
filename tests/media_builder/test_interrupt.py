"""An interrupted build (Ctrl+C) leaves no partial output: each output is complete or absent, no temp folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.media_builder.conftest import make_workspace

REPO = Path(__file__).resolve().parents[2]


def test_ctrl_c_mid_build_leaves_only_complete_outputs(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1767225600"}
    build = subprocess.Popen(
        [sys.executable, "-m", "media_builder.cli", "build", str(ws.media_yaml), "-o", str(out)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    image = out / "winpe-x64"
    deadline = time.monotonic() + 30
    # Wait until the build is inside a boot image's work (its temp folder exists), then interrupt it.
    while time.monotonic() < deadline and build.poll() is None:
        if image.is_dir() and any(p.name.startswith(".") for p in image.iterdir()):
            break
        time.sleep(0.005)
    build.send_signal(signal.SIGINT)
    _, err = build.communicate(timeout=60)
    cancelled = 1223 & 0xFF if os.name == "posix" else 1223  # POSIX keeps the low 8 bits of an exit status
    assert build.returncode in (0, cancelled), err
    if build.returncode == cancelled:
        assert "interrupted" in err or "cancelled" in err
        assert not (out / "manifest.json").exists()
    leftovers = [p.name for p in image.iterdir() if p.name.startswith(".")] if image.is_dir() else []
    assert leftovers == []
    # Whatever is there is complete: every output present verifies against a fresh build of the same inputs.
    reference = tmp_path / "ref"
    done = subprocess.run(
        [sys.executable, "-m", "media_builder.cli", "build", str(ws.media_yaml), "-o", str(reference), "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    if image.is_dir():
        for output in image.iterdir():
            for file in output.rglob("*"):
                if file.is_file():
                    twin = reference / file.relative_to(out)
                    assert file.read_bytes() == twin.read_bytes(), file
