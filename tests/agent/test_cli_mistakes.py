"""Mistakes a user makes at the command line get an answer and an exit code, never a traceback or 1359."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, REPO, exit_status, run_prestart


def _into_a_closed_pipe(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run argv with its output going to a pipe nobody reads any more, as in `argv | head -1` once head
    has its line (the reader is closed before the start, so every write fails: no race)."""
    read, write = os.pipe()
    os.close(read)
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, timeout=60)
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "argv",
    [
        (sys.executable, "-m", "agent", "schema", "catalog"),
        (sys.executable, "-m", "agent", "schema", "profile"),
        (sys.executable, "-m", "media_builder", "--help"),
        (sys.executable, "-m", "agent", "sequence", "plan", "tests/agent/tasksequence/data/lab.xml"),
    ],
    ids=["schema-catalog", "schema-profile", "media-help", "sequence-plan"],
)
def test_a_reader_that_stops_early_is_no_error(argv: tuple[str, ...]) -> None:
    done = _into_a_closed_pipe(*argv)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_pin_hash_without_a_terminal_says_what_to_do() -> None:
    done = run_prestart("pin-hash", input="")
    assert done.returncode == exit_status(87)
    assert "Traceback" not in done.stderr and "EOFError" not in done.stderr
    assert "no terminal to type the PIN at" in done.stderr and "--stdin" in done.stderr


def test_pin_hash_with_nothing_on_stdin_says_so() -> None:
    done = run_prestart("pin-hash", "--stdin", input="")
    assert done.returncode == exit_status(87)
    assert "no PIN on standard input" in done.stderr


def test_pin_hash_from_stdin_still_works() -> None:
    done = run_prestart("pin-hash", "--stdin", input="482913\n")
    assert done.returncode == 0 and done.stdout.startswith("scrypt$")


@pytest.mark.parametrize(("option", "value"), [("--hook", "sccm"), ("--sink", "xml:out.xml")])
def test_an_unknown_hook_or_sink_is_a_command_line_mistake(option: str, value: str, tmp_path: Path) -> None:
    done = run_prestart(
        "run", "--profile", str(EXAMPLE / "technician.yaml"), "--catalog", str(EXAMPLE / "catalog.json"),
        "--facts", str(EXAMPLE / "facts" / "laptop.json"), "--answers",
        str(EXAMPLE / "answers" / "technician-laptop.yaml"), "--unattended", option, value,
        "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert done.returncode == exit_status(87), done.stderr
    assert "ERROR_INVALID_PARAMETER" in done.stderr and option in done.stderr
    assert "Traceback" not in done.stderr
