"""The Tk wizard and the kiosk screen on a real X server, driven by real key events (xdotool) under openbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import exit_status
from tests.ui.conftest import UiRun

pytestmark = pytest.mark.x11

Start = Callable[..., UiRun]
TECH_TITLE = "Contoso Imaging"
KIOSK_TITLE = "Reset this lab computer"


def _run_args(spec: Path, profile: Path, out: Path, tmp: Path, facts: str = "laptop.json") -> list[str]:
    return ["run", "--profile", str(profile), "--catalog", str(spec / "catalog.json"),
            "--facts", str(spec / "facts" / facts), "--sink", f"json:{out}", "--log-dir", str(tmp / "logs")]


def _kiosk_copy(spec: Path, tmp: Path, **changes: Any) -> Path:
    """kiosk.yaml with a different countdown."""
    data = yaml.safe_load((spec / "kiosk.yaml").read_text(encoding="utf-8"))
    if "countdown" in changes:
        next(p for p in data["pages"] if p["id"] == "confirm")["countdown"] = changes["countdown"]
    path = tmp / "kiosk.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_technician_flow_with_the_keyboard_alone(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, spec_dir / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.ready("deployment")
    run.focus()
    run.shot("technician-1-deployment-empty")
    run.key("Return")  # nothing chosen yet: Next refuses, marks the field and says why
    run.wait("notice Task sequence needs attention: see the marked field.")
    run.wait("invalid deployment")
    run.key("Down")  # the first deployment: win11-lab
    run.shot("technician-1-deployment")
    run.key("Return")
    run.wait("page options")
    # language: English is the default, one down is Deutsch; Tab to BitLocker, filter box, app checklist.
    run.key("Down", "Tab", "Tab", "Tab", "Down", "Down", "space", "Down", "Down", "space")
    run.shot("technician-2-options")
    run.key("Escape")  # Escape = Back, and the answers are kept
    run.wait("page deployment")
    run.key("Return")
    run.wait("page options")
    run.key("Return")
    run.wait("page confirm")
    run.shot("technician-3-confirm")
    run.key("Return")  # the focus is on the table: Enter does not finish, it says how to
    run.wait("notice Nothing is changed until you press Finish itself (Tab to it, or click it).")
    run.key("Tab", "Tab", "Tab")  # table -> Cancel -> Back -> Finish, drawn as the default once it has the focus
    run.wait("default Finish")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    expected = json.loads((spec_dir / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in expected["variables"].items():
        assert got.get(name) == value, name
    assert all(name in expected["variables"] or name.startswith("Prestart") for name in got)


@pytest.mark.parametrize("how", ["alt-f4", "close-button"])
def test_an_ordinary_window_asks_before_it_closes(ui: Start, spec_dir: Path, tmp_path: Path, how: str) -> None:
    """The control for the kiosk test: Alt+F4 and the close button ask the Cancel question, whose safe
    answer is the default; "Yes" closes the window (exit 1223, nothing written)."""
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, spec_dir / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.ready("deployment")
    run.focus()

    def close() -> None:
        if how == "alt-f4":
            run.key("alt+F4")
        else:
            assert run.wmctrl_close() == 0

    close()
    run.wait("default No")  # the safe answer has the focus and is drawn as the default
    run.wait("dialog Cancel")
    run.key("Return")  # No: the wizard stays
    assert "finish" not in run.quiet(0.5) and run.alive()
    close()
    run.wait("dialog Cancel")
    run.key("shift+Tab")
    run.wait("default Yes")  # Enter now means Yes, and Yes is drawn as the default
    run.key("Return")
    assert run.communicate() == exit_status(1223)
    assert not out.exists()


def test_kiosk_ignores_close_and_escape_and_wrong_confirmation_then_times_out(
        ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    profile = _kiosk_copy(spec_dir, tmp_path, countdown={"seconds": 3, "on_timeout": "cancel"})
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, profile, out, tmp_path), title=KIOSK_TITLE)
    run.ready("welcome")
    run.shot("kiosk-1-welcome")
    run.key("alt+F4")
    run.wait("close ignored")
    assert run.wmctrl_close() == 0  # the window manager knows the window and asks it to close
    run.wait("close ignored")
    assert run.alive() and run.window()
    run.key("Return")
    run.wait("page choose")
    run.key("Escape")  # kiosk: Escape is not even Back
    assert run.quiet() == []
    run.key("Down")
    run.shot("kiosk-2-choose")
    run.key("Return")
    run.wait("page confirm")
    run.type("XXXX")
    run.key("Return")  # Finish stays disabled
    assert "finish" not in run.quiet(0.3)
    run.shot("kiosk-3-confirm-wrong")
    assert run.communicate() == exit_status(1223)  # the countdown ran out
    assert not out.exists()
    assert "exit 1223" in run.events()


def test_kiosk_pin_unlock_switches_the_role(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, spec_dir / "kiosk.yaml", out, tmp_path), title=KIOSK_TITLE)
    run.ready("welcome")
    run.key("ctrl+alt+shift+t")
    run.wait("unlock dialog")
    run.type("111111")
    run.key("Return")
    run.wait("unlock wrong")
    run.shot("kiosk-4-unlock-wrong")
    run.type("482913")
    run.key("Return")
    run.wait("unlock ok")
    run.key("Return")
    run.wait("page choose")
    run.key("Down", "Down")  # a technician also sees win11-core
    run.shot("kiosk-5-unlocked-choose")
    run.key("Return")
    run.wait("page confirm")
    run.type("2HL3")
    run.shot("kiosk-6-confirm")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["PrestartRole"] == "technician"
    assert got["SMSTSPreferredAdvertID"] == "CM120046"


def test_kiosk_pin_locks_out(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, spec_dir / "kiosk.yaml", out, tmp_path), title=KIOSK_TITLE)
    run.ready("welcome")
    run.key("ctrl+alt+shift+t")
    run.wait("unlock dialog")
    for _ in range(4):
        run.type("000000")
        run.key("Return")
        run.wait("unlock wrong")
    run.type("000000")
    run.key("Return")
    run.wait("unlock lockout")
    run.shot("kiosk-7-locked-out")
    run.key("ctrl+alt+shift+t")  # the unlock is gone, even with the right PIN
    assert "unlock dialog" not in run.quiet()
    run.type("482913")
    run.key("Return")
    run.wait("page choose")
    run.key("Down", "Down")  # only the kiosk's one deployment is offered
    run.key("Return")
    run.wait("page confirm")
    run.type("2HL3")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["PrestartRole"] == "kiosk"
    assert got["SMSTSPreferredAdvertID"] == "CM120045"


def test_failed_preflight_shows_its_page_and_cancel_exits_21(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = ui(*_run_args(spec_dir, spec_dir / "technician.yaml", out, tmp_path, facts="laptop-on-battery.json"),
             title=TECH_TITLE)
    run.ready("preflight")
    run.focus()
    run.shot("technician-0-preflight")
    run.key("Return")  # Retry has the focus: the check still fails
    run.wait("page preflight")
    run.key("Tab", "Return")  # Back and Next are disabled; Tab goes from Retry to Cancel
    run.wait("dialog Cancel")
    run.shot("technician-0-cancel-dialog")
    run.key("shift+Tab", "Return")  # the dialog gives "No" the focus; Yes is one step back
    assert run.communicate() == exit_status(21), run.stderr  # ERROR_NOT_READY: the machine failed a check
    assert not out.exists()


def test_preview_prints_the_variables_and_commits_nothing(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    run = ui("preview", str(spec_dir / "technician.yaml"), "--facts", str(spec_dir / "facts" / "laptop.json"),
             "--catalog", str(spec_dir / "catalog.json"), title=TECH_TITLE)
    run.ready("deployment")
    run.focus()
    run.key("Down", "Return")
    run.wait("page options")
    run.key("Return")
    run.wait("page confirm")
    run.key("shift+Tab", "Return")  # from the table back to Finish itself
    assert run.communicate() == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["SMSTSPreferredAdvertID"] == "CM120045"
    assert printed["OSDUILanguage"] == "en-US"
    assert not (Path.cwd() / "prestart-receipt.json").exists()
