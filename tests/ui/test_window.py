"""ui.window: without a screen the wizard says so, with the next step and exit 13, and sets nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SPEC, run_prestart


def test_preview_without_a_display_is_a_clear_error() -> None:
    done = run_prestart(
        "preview", str(SPEC / "technician.yaml"), "--facts", str(SPEC / "facts/laptop.json"),
        "--catalog", str(SPEC / "catalog.json"),
        env={"DISPLAY": ""},
    )  # fmt: skip
    assert done.returncode == 13, done.stderr
    assert "cannot open the wizard's window" in done.stderr
    assert "hint: run it where there is a screen" in done.stderr and "--answers" in done.stderr
    assert done.stdout == ""  # no variables printed
    assert "Traceback" not in done.stderr


def test_an_interactive_run_without_a_display_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = run_prestart(
        "run", "--profile", str(SPEC / "technician.yaml"), "--catalog", str(SPEC / "catalog.json"),
        "--facts", str(SPEC / "facts/laptop.json"), "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
        env={"DISPLAY": ""},
    )  # fmt: skip
    assert done.returncode == 13, done.stderr
    assert "cannot open the wizard's window" in done.stderr
    assert not out.exists() and list(tmp_path.glob("out.json*")) == []


_FIRST_PAGE_MODULES = """
import os, sys
import ui.app
def tracer():
    def trace(text):
        if text == "drawn":
            print(",".join(sorted(sys.modules)), flush=True)
            os._exit(0)
    return trace
ui.app._tracer = tracer
from agent.cli import main
main(sys.argv[1:])
"""


def test_the_first_page_from_media_inputs_loads_only_what_it_uses(display: str, tmp_path: Path) -> None:
    """What the wizard imports before its first page is drawn is start time (docs/performance.md)."""
    compiled = tmp_path / "profile.json"
    assert run_prestart("compile", str(SPEC / "technician.yaml"), "-o", str(compiled)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_PAGE_MODULES, "preview", str(compiled),
         "--facts", str(SPEC / "facts/laptop.json"), "--catalog", str(SPEC / "catalog.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=dict(os.environ, DISPLAY=display),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.strip().split(","))
    assert {"tkinter", "ui.pages", "agent.flow"} <= loaded  # the page was really built
    heavy = {"yaml", "hashlib", "dataclasses", "inspect", "tempfile", "shutil", "decimal", "typing", "logging",
             "base64", "queue", "threading", "locale", "datetime", "agent.profile.schema"}  # fmt: skip
    assert sorted(loaded & heavy) == []
