"""ui.window: without a screen the wizard says so, with the next step and exit 13, and sets nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SPEC, run_prestart


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
