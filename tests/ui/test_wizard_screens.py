"""The wizard at every screen size issue 26 was tried on (800x600 to 1920x1080, 96 to 144 dpi), driven by real
key and mouse events (xdotool): long pages scroll, Enter-mashing never commits, countdowns say what they do."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import exit_status
from tests.ui.conftest import UiRun

pytestmark = pytest.mark.x11

Start = Callable[..., UiRun]
Screen = tuple[str, int, int, int]
TITLE = "Long page"

# Seven fields on one page: more than fit at 800x600, the page of the first complaint.
LONG_PROFILE: dict[str, Any] = {
    "version": 1,
    "title": TITLE,
    "pages": [
        {"id": "details", "title": "Details", "fields": [
            {"id": "computer_name", "type": "text", "label": "Computer name", "variable": "OSDComputerName",
             "default": "PC-{SerialNumber}", "validate": "netbios"},
            {"id": "department", "type": "choice", "label": "Department", "variable": "Department", "default": "it",
             "choices": [{"value": "it", "label": "IT"}, {"value": "hr", "label": "HR"},
                         {"value": "lab", "label": "Lab"}]},
            {"id": "owner", "type": "text", "label": "Owner", "variable": "Owner", "default": "nobody"},
            {"id": "asset", "type": "text", "label": "Asset tag", "variable": "Asset", "default": "{AssetTag}",
             "help": "As printed on the sticker under the machine."},
            {"id": "notes", "type": "text", "label": "Notes", "variable": "Notes", "default": "none"},
            {"id": "join_domain", "type": "checkbox", "label": "Join the domain", "variable": "JoinDomain",
             "default": True},
            {"id": "bitlocker", "type": "checkbox", "label": "Turn on BitLocker", "variable": "OSDBitLocker",
             "default": True},
        ]},
        {"id": "confirm", "type": "confirm", "title": "Ready", "text": "This erases {Model} and installs Windows."},
    ],
}
FIELDS = [f["id"] for f in LONG_PROFILE["pages"][0]["fields"]]


def _write(tmp: Path, data: dict[str, Any], name: str = "profile.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _args(spec: Path, profile: Path, out: Path, tmp: Path) -> list[str]:
    return ["run", "--profile", str(profile), "--catalog", str(spec / "catalog.json"), "--facts",
            str(spec / "facts" / "laptop.json"), "--sink", f"json:{out}", "--log-dir", str(tmp / "logs")]


def _size(run: UiRun) -> tuple[int, int, int]:
    """(window width, height, text line height in pixels) as the window reported them once drawn."""
    for line in run.events():
        found = re.fullmatch(r"size (\d+)x(\d+) text (\d+)px", line)
        if found:
            return int(found[1]), int(found[2]), int(found[3])
    raise AssertionError(f"no size line in {run.events()}")


def _tech(spec: Path, tmp: Path, **top: Any) -> Path:
    data = yaml.safe_load((spec / "technician.yaml").read_text(encoding="utf-8"))
    data.pop("catalog", None)  # no refresh from the network in these runs
    data.update(top)
    return _write(tmp, data, "technician.yaml")


def test_a_long_page_scrolls_and_every_field_is_seen_and_reached(
        ui_on: Start, screen: Screen, spec_dir: Path, tmp_path: Path) -> None:
    display, width, height, dpi = screen
    out = tmp_path / "out.json"
    run = ui_on(display, *_args(spec_dir, _write(tmp_path, LONG_PROFILE), out, tmp_path), title=TITLE)
    run.ready("details")
    run.focus()
    # The window uses the screen it is given, and text grows with the DPI (and with a large screen).
    window_w, window_h, line = _size(run)
    assert window_w == width and window_h >= height - 60, (window_w, window_h)
    assert line >= 0.15 * dpi, line
    if width * 96 / dpi >= 1920:  # a large screen, not just a dense one: a full-screen wizard's text grows
        assert line >= 0.2 * dpi, line
    run.wait(f"focus {FIELDS[0]} shown")
    run.shot(f"long-page-{width}x{height}-{dpi}-top")
    long_page = width == 800
    if long_page:
        # The mouse wheel over the page scrolls it.
        run.xdo("mousemove", "--window", run.window(), str(window_w // 2), str(window_h // 2))
        run.xdo("click", "--repeat", "3", "5")
        run.wait_match(r"scroll 0\.[0-9]*[1-9][0-9]*")
        run.xdo("click", "--repeat", "6", "4")
        run.wait("scroll 0.00")
    for field in FIELDS[1:]:  # Tab reaches every field, and each one is scrolled into view
        run.key("Tab")
        run.wait(f"focus {field} shown")
    run.shot(f"long-page-{width}x{height}-{dpi}-bottom")
    run.key("space")  # BitLocker off: the last field was reached and changed
    run.key("Return")
    run.wait("page confirm")
    run.key("shift+Tab", "Return")  # Finish itself
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["OSDBitLocker"] == "False" and got["JoinDomain"] == "True"


def test_enter_mashing_on_the_confirm_page_commits_nothing(
        ui_on: Start, screen: Screen, spec_dir: Path, tmp_path: Path) -> None:
    display, width, height, dpi = screen
    out = tmp_path / "out.json"
    run = ui_on(display, *_args(spec_dir, _tech(spec_dir, tmp_path), out, tmp_path), title="Contoso Imaging")
    run.ready("deployment")
    run.focus()
    # Faster than key repeat (about 30 a second): Down, then Enter six times in 0.2 s.
    run.xdo("key", "--delay", "25", "Down", "Return", "Return", "Return", "Return", "Return", "Return")
    run.wait("page confirm")
    # Nothing counts down: this profile does not allow an unattended commit (allow_unattended_commit).
    assert not [e for e in run.quiet(1.5) if e.startswith(("finish", "countdown ", "exit"))]
    assert run.alive() and not out.exists()
    run.shot(f"technician-confirm-{width}x{height}-{dpi}")
    run.key("Tab", "Tab", "Tab")  # the table, Cancel, Back, then Finish: drawn as the default only now
    run.wait("default Finish")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["SMSTSPreferredAdvertID"] == "CM120045"


def test_the_kiosk_at_every_size_asks_for_the_typed_code_and_enter_there_finishes(
        ui_on: Start, screen: Screen, spec_dir: Path, tmp_path: Path) -> None:
    display, width, height, dpi = screen
    out = tmp_path / "out.json"
    run = ui_on(display, *_args(spec_dir, spec_dir / "kiosk.yaml", out, tmp_path), title="Reset this lab computer")
    run.ready("welcome")
    window_w, window_h, _line = _size(run)
    assert (window_w, window_h) == (width, height)  # the whole screen
    run.key("Return")
    run.wait("page choose")
    run.key("Down", "Return")
    run.wait("page confirm")
    run.key("Return", "Return")  # nothing typed yet: Enter does nothing
    run.type("2HL")
    run.shot(f"kiosk-confirm-{width}x{height}-{dpi}")
    run.key("Return")
    assert "finish" not in run.quiet(0.5)
    run.type("3")
    run.key("Return")  # the right code, then Enter in its box: a deliberate act
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["SMSTSPreferredAdvertID"] == "CM120045"


@pytest.mark.parametrize("touched", [False, True])
def test_an_allowed_countdown_says_it_will_finish_and_any_key_stops_it(
        ui: Start, spec_dir: Path, tmp_path: Path, touched: bool) -> None:
    data = yaml.safe_load(_tech(spec_dir, tmp_path, allow_unattended_commit=True).read_text(encoding="utf-8"))
    next(p for p in data["pages"] if p["id"] == "confirm")["countdown"] = {"seconds": 3, "on_timeout": "continue"}
    out = tmp_path / "out.json"
    run = ui(*_args(spec_dir, _write(tmp_path, data), out, tmp_path), title="Contoso Imaging")
    run.ready("deployment")
    run.focus()
    run.key("Down", "Return")
    run.wait("page options")
    run.key("Return")
    run.wait("countdown 3")
    run.shot("technician-countdown")
    if not touched:
        run.wait("finish", timeout=8)  # nobody there, and the profile allows it
        assert run.communicate() == 0, run.stderr
        assert out.exists()
        return
    run.key("shift")
    run.wait("countdown stopped")
    assert "finish" not in run.quiet(4)
    assert run.alive() and not out.exists()


def test_a_cleared_computer_name_blocks_next_until_fixed(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(_tech(spec_dir, tmp_path).read_text(encoding="utf-8"))
    data["rules"] = [r for r in data["rules"] if "lookup" not in r]  # the name is not locked by the catalog
    out = tmp_path / "out.json"
    run = ui(*_args(spec_dir, _write(tmp_path, data), out, tmp_path), title="Contoso Imaging")
    run.ready("deployment")
    run.focus()
    run.key("Down", "Tab")
    run.wait("focus computer_name shown")
    run.key("End", "shift+Home", "BackSpace", "Return")
    run.wait("notice Computer name needs attention: see the marked field.")
    run.wait("invalid computer_name")
    run.shot("technician-1-invalid-name")
    run.type("PC-7")
    run.wait("notice cleared")  # fixed: the message goes away
    run.key("Return")
    run.wait("page options")
    assert not [e for e in run.quiet(0.3) if e.startswith("notice ")]  # nothing stale on the next page
    run.key("Return")
    run.wait("page confirm")
    run.key("shift+Tab", "Return")
    assert run.communicate() == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"] == "PC-7"


def test_kiosk_countdown_says_it_restarts_and_waits_while_the_pin_dialog_is_open(
        ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    data = yaml.safe_load((spec_dir / "kiosk.yaml").read_text(encoding="utf-8"))
    next(p for p in data["pages"] if p["id"] == "confirm")["countdown"] = {"seconds": 3, "on_timeout": "cancel"}
    out = tmp_path / "out.json"
    run = ui(*_args(spec_dir, _write(tmp_path, data), out, tmp_path), title="Reset this lab computer")
    run.ready("welcome")
    run.key("Return")
    run.wait("page choose")
    run.key("Down", "Return")
    run.wait("page confirm")
    run.key("ctrl+alt+shift+t")
    run.wait("unlock dialog")
    run.wait("countdown paused")
    run.quiet(4)  # longer than the countdown: it waits for the dialog
    assert run.alive()
    run.key("Escape")  # the dialog closes; the countdown goes on and cancels
    assert run.communicate() == exit_status(1223)
    assert not out.exists()
