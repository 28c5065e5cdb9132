"""`./dev`, the README's entry point: it waits for another apt process instead of failing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO

FAKE_APT = """#!/bin/sh
# A stand-in for apt-get: the first two calls find the lock held, as when another apt process runs.
echo "$*" >> "{calls}"
count=$(wc -l < "{calls}")
if [ "$count" -le 2 ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  exit 100
fi
exit 0
"""


def _fake_bin(tmp_path: Path) -> tuple[Path, Path]:
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "apt-calls"
    (fake / "apt-get").write_text(FAKE_APT.format(calls=calls))
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")  # every package looks missing
    (fake / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in fake.iterdir():
        tool.chmod(0o755)
    return fake, calls


def test_setup_waits_for_the_apt_lock_with_a_message(tmp_path: Path) -> None:
    fake, calls = _fake_bin(tmp_path)
    env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}", PRESTART_APT_RETRY_SECONDS="1")
    done = subprocess.run([str(REPO / "dev"), "setup"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("holds the package lock; waiting for it") == 2
    lines = calls.read_text().splitlines()
    assert [line.split()[2] for line in lines] == ["update", "update", "update", "install"]
    assert all("DPkg::Lock::Timeout=600" in line for line in lines)  # dpkg's own lock: apt waits itself


def test_setup_gives_up_on_a_lock_held_too_long(tmp_path: Path) -> None:
    fake, _calls = _fake_bin(tmp_path)
    env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}", PRESTART_APT_RETRY_SECONDS="1",
               PRESTART_APT_WAIT_SECONDS="1")
    done = subprocess.run([str(REPO / "dev"), "setup"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert "Could not get lock" in done.stderr
