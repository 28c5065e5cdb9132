"""`./dev demo`'s job (examples/demo.py): runs twice in a row, prints commands a user can paste, ends with
where the outputs are."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _demo(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "examples.demo", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def test_demo_runs_twice_and_says_what_to_open(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = _demo(out)
    assert first.returncode == 0, first.stdout + first.stderr
    second = _demo(out)  # the same folder again: a second `./dev demo`
    assert second.returncode == 0, second.stdout + second.stderr
    text = second.stdout
    steps = [line for line in text.splitlines() if line.startswith("== Step")]
    assert [s.split()[2] for s in steps] == ["1", "2", "3", "4", "5"]
    assert "What to open:" in text and str(out / "media" / "manifest.json") in text
    assert (out / "media" / "manifest.json").is_file()

    # The `$ ...` lines name the tools as installed and paths from the repository root: pasted, they work.
    commands = [shlex.split(line[2:]) for line in text.splitlines() if line.startswith("$ ")]
    assert {c[0] for c in commands} == {"prestart", "prestart-media"}
    check = next(c for c in commands if c[:2] == ["prestart", "check"])
    assert not Path(check[2]).is_absolute()
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([str(bin_dir / check[0]), *check[1:]], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
