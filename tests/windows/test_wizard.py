"""The wizard of the frozen prestart.exe under wine, on an X server with no window manager (as in WinPE),
driven by real key and mouse events; a screenshot of each page goes to artifacts/windows/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from media_builder.winefreeze import Wine
from tests.conftest import SPEC
from tests.windows.conftest import WineUi, drive_x, run_args, win, winpe_registry

Start = Callable[..., WineUi]
TECH_TITLE = "Contoso Imaging"
KIOSK_TITLE = "Reset this lab computer"
TECHNICIAN = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
KIOSK = json.loads((SPEC / "expected" / "kiosk-laptop.json").read_text(encoding="utf-8"))
# The first row of the deployment list, near the window's top left corner (its place does not depend on the
# screen's size; the buttons' places do: the wizard traces them, WineUi.button reads them).
FIRST_ITEM = (96, 89)


def test_technician_finishes_with_mouse_and_keys(wine_ui: Start, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("page deployment")
    run.wait("drawn")
    run.focus()
    run.shot("technician-1-deployment")
    run.click(*run.button("Next"))  # nothing chosen yet: Next refuses and marks the field
    run.wait("invalid deployment")
    assert "page options" not in run.quiet()
    run.click(*FIRST_ITEM)  # Windows 11 24H2 – Lab
    run.key("Return")
    run.wait("page options")
    # as tests/ui/test_wizard.py: Deutsch, then Tab to BitLocker, the filter box and the app checklist
    run.key("Down", "Tab", "Tab", "Tab", "Down", "Down", "space", "Down", "Down", "space")
    run.shot("technician-2-options")
    run.key("Return")
    run.wait("page confirm")
    run.key("Return")  # the focus is on the table: Enter does not finish, it says how to
    run.wait("notice Nothing is changed until you press Finish itself (Tab to it, or click it).")
    assert "finish" not in run.quiet(0.3) and not out.exists()
    run.key("Tab", "Tab", "Tab")  # table -> Cancel -> Back -> Finish, drawn as the default once it has the focus
    run.wait("default Finish")
    run.shot("technician-3-confirm")
    run.key("Return")
    run.wait("finish")
    assert run.finish() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in TECHNICIAN["variables"].items():
        assert got.get(name) == value, name
    assert all(name in TECHNICIAN["variables"] or name.startswith("Prestart") for name in got)


def test_technician_finish_is_a_click(wine_ui: Start, tmp_path: Path) -> None:
    """A click on Finish commits: the mouse's deliberate act, as Tab then Enter is the keyboard's."""
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("drawn")
    run.focus()
    run.click(*FIRST_ITEM)
    run.click(*run.button("Next"))
    run.wait("page options")
    run.click(*run.button("Next"))
    run.wait("page confirm")
    run.click(*run.button("Next"))  # Finish, in Next's place
    run.wait("finish")
    assert run.finish() == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"] == TECHNICIAN["variables"]["OSDComputerName"]


def test_technician_cancel_asks_then_exits_1223(wine_ui: Start, tmp_path: Path) -> None:
    """Cancel asks; the safe answer, No, has the focus (Enter keeps the wizard); Yes ends with 1223."""
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("drawn")
    run.focus()
    run.click(*run.button("Cancel"))
    run.wait("default No")  # the safe answer has the focus and is drawn as the default
    run.wait("dialog Cancel")
    run.shot("technician-cancel-dialog")
    run.press("Return", "dialog closed")  # No: the wizard stays
    assert "finish" not in run.quiet(0.5) and run.alive()
    run.click(*run.button("Cancel"))
    run.wait("dialog Cancel")
    _move_default_to(run, "Yes")  # "Yes" is before "No"
    run.key("Return")
    assert run.finish() == 1223, run.stderr
    assert not out.exists()


@pytest.mark.parametrize("how", ["alt-f4", "wm-close"])
def test_technician_close_request_is_a_cancel(wine_ui: Start, tmp_path: Path, how: str) -> None:
    """The control for the kiosk test below: Alt+F4 and WM_CLOSE (the close button, `taskkill`) ask the Cancel
    question in an ordinary window; No keeps it, Yes closes it with 1223 and nothing written."""
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("drawn")
    run.focus()

    def close() -> None:
        if how == "alt-f4":
            run.press("alt+F4", "dialog Cancel")
        else:
            run.close_request()
            run.wait("dialog Cancel")

    close()
    assert [e for e in run.events() if e.startswith("default ")][-1] == "default No"  # the safe answer
    run.press("Return", "dialog closed")  # No
    assert "finish" not in run.quiet(0.5) and run.alive() and run.window()
    close()
    _move_default_to(run, "Yes")
    run.key("Return")
    assert run.finish() == 1223, run.stderr
    assert not out.exists()


def _move_default_to(run: WineUi, button: str, tries: int = 4) -> None:
    """Shift+Tab until `button` is the default. Under a loaded machine wine's event loop can drop a key sent
    while the dialog is still taking the focus: the key is sent again, never the answer assumed."""
    for _ in range(tries):
        run.key("shift+Tab")
        seen = run.quiet(1.5)
        if f"default {button}" in seen:
            return
    raise AssertionError(f"{button} never became the default after {tries} Shift+Tab")


def winpe_root(tmp: Path) -> Path:
    """A plain WinPE X: drive: winpeshl.ini started us, the payload folder takes the variables."""
    root = tmp / "X"
    (root / "Windows" / "System32").mkdir(parents=True)
    (root / "Windows" / "System32" / "winpeshl.ini").write_bytes(b"[LaunchApps]\r\n")
    (root / "Prestart").mkdir()
    return root


def test_kiosk_survives_every_escape_key_then_finishes(wine: Wine, wine_ui: Start, tmp_path: Path) -> None:
    root = winpe_root(tmp_path)
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(SPEC / "kiosk.yaml", None, tmp_path), title=KIOSK_TITLE)
        run.wait("page welcome")
        run.wait("drawn")
        run.focus()
        run.shot("kiosk-1-welcome")
        for keys in (["alt+F4"], ["Escape"], ["alt+Tab"], ["ctrl+Escape"], ["super+Tab"]):
            run.key(*keys)
            run.quiet(0.5)
            assert run.alive(), keys
        run.close_request()  # WM_CLOSE, as a close button or `taskkill` would send
        run.wait("close ignored")
        assert run.alive() and run.window()
        run.key("Return")
        run.wait("page choose")
        run.key("Down")
        run.shot("kiosk-2-choose")
        run.key("Return")
        run.wait("page confirm")
        run.type(str(KIOSK["variables"]["OSDComputerName"])[-4:])  # the serial's last four: 2HL3
        run.shot("kiosk-3-confirm")
        run.key("Return")
        run.wait("finish")
        assert run.finish() == 0, run.stderr
    written = json.loads((root / "Prestart" / "variables.json").read_text(encoding="utf-8"))
    for name, value in KIOSK["variables"].items():
        assert written.get(name) == value, name


def _kiosk_profile(tmp_path: Path, *, countdown: int | None = None, idle_reset: int | None = None) -> Path:
    data = yaml.safe_load((SPEC / "kiosk.yaml").read_text(encoding="utf-8"))
    if countdown is not None:
        next(p for p in data["pages"] if p["id"] == "confirm")["countdown"] = {
            "seconds": countdown, "on_timeout": "cancel"
        }
    if idle_reset is not None:
        data["kiosk"]["idle_reset_seconds"] = idle_reset
    profile = tmp_path / "kiosk.yaml"
    profile.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return profile


def _to_kiosk_confirm(run: WineUi) -> None:
    """From the kiosk's first page to its confirm page, with the first deployment chosen."""
    run.wait("drawn")
    run.focus()
    run.key("Return")
    run.wait("page choose")
    run.key("Down", "Return")
    run.wait("page confirm")


def test_kiosk_countdown_cancels_and_winpe_reboots(
    wine: Wine, wine_ui: Start, fake_wpeutil: Path, tmp_path: Path
) -> None:
    """A wrong confirmation, then the countdown: 1223, no variable, and on_cancel's reboot through wpeutil
    because the MiniNT key says this is WinPE."""
    root = winpe_root(tmp_path)
    profile = _kiosk_profile(tmp_path, countdown=4)
    calls = tmp_path / "wpeutil.txt"
    env = {"WINEPATH": win(fake_wpeutil), "PRESTART_TEST_WPEUTIL_LOG": win(calls)}
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(profile, None, tmp_path), title=KIOSK_TITLE, env=env)
        _to_kiosk_confirm(run)
        run.type("XXXX")
        run.key("Return")  # Finish stays disabled
        assert "finish" not in run.quiet(0.5)
        run.shot("kiosk-3-confirm-wrong")
        assert run.finish() == 1223, run.stderr
    assert calls.read_text().split() == ["reboot"]
    assert list((root / "Prestart").iterdir()) == []


def test_kiosk_countdown_waits_while_the_cancel_question_is_open(
    wine: Wine, wine_ui: Start, fake_wpeutil: Path, tmp_path: Path
) -> None:
    """The restart countdown stops counting while a student reads the Cancel question: open longer than
    the countdown, the run is still there; after No the countdown goes on, and runs out into 1223 and the
    reboot."""
    root = winpe_root(tmp_path)
    profile = _kiosk_profile(tmp_path, countdown=6)
    calls = tmp_path / "wpeutil.txt"
    env = {"WINEPATH": win(fake_wpeutil), "PRESTART_TEST_WPEUTIL_LOG": win(calls)}
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(profile, None, tmp_path), title=KIOSK_TITLE, env=env)
        _to_kiosk_confirm(run)  # its countdown is running
        run.click(*run.button("Cancel"))
        run.wait("dialog Cancel")
        run.wait("countdown paused")
        run.shot("kiosk-countdown-paused")
        quiet = run.quiet(7.0)  # longer than the whole countdown
        assert run.alive(), "the countdown ran out behind the open question"
        assert not [e for e in quiet if e.startswith(("countdown 1", "exit", "finish"))], quiet
        run.press("Return", "dialog closed")  # No: the default answer
        run.wait("countdown 1", timeout=15)
        assert run.finish() == 1223, run.stderr
    assert calls.read_text().split() == ["reboot"]
    assert list((root / "Prestart").iterdir()) == []


def test_kiosk_idle_reset_closes_an_open_question_and_starts_over(
    wine: Wine, wine_ui: Start, tmp_path: Path
) -> None:
    """A student who walks away from the Cancel question: the idle reset closes it and goes back to the
    first page, whose keys work again (the next student is not met by a dialog)."""
    root = winpe_root(tmp_path)
    profile = _kiosk_profile(tmp_path, idle_reset=10)  # the profile's minimum
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(profile, None, tmp_path), title=KIOSK_TITLE)
        run.wait("drawn")
        run.focus()
        run.key("Return")
        run.wait("page choose")
        run.click(*run.button("Cancel"))
        run.wait("dialog Cancel")
        # The idle reset closes the question, then shows the first page again (the question's own No
        # would close it too, but leave the page where it was).
        run.wait("dialog closed", timeout=30)
        run.wait("idle reset")
        run.wait("page welcome")
        run.shot("kiosk-after-idle-reset")
        run.key("Return")  # the first page's Next: the keys are the page's again
        run.wait("page choose", timeout=15)
        assert run.alive()
        run.stop()


def test_kiosk_cancel_asks_and_no_gives_the_keys_back(
    wine: Wine, wine_ui: Start, fake_wpeutil: Path, tmp_path: Path
) -> None:
    """The kiosk's own Cancel asks the same question in a frameless dialog that takes the keys; No gives them
    back to the page; Yes ends with 1223, nothing written, and on_cancel's reboot through wpeutil."""
    root = winpe_root(tmp_path)
    calls = tmp_path / "wpeutil.txt"
    env = {"WINEPATH": win(fake_wpeutil), "PRESTART_TEST_WPEUTIL_LOG": win(calls)}
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(SPEC / "kiosk.yaml", None, tmp_path), title=KIOSK_TITLE, env=env)
        run.wait("drawn")
        run.focus()
        run.click(*run.button("Cancel"))
        run.wait("default No")
        run.wait("dialog Cancel")
        run.shot("kiosk-cancel-dialog")
        run.close_request()  # the kiosk ignores it, dialog or not
        run.wait("close ignored")
        run.press("Return", "dialog closed")  # No
        assert "finish" not in run.quiet(0.5) and run.alive()
        run.press("Return", "page choose")  # the page has the keys again: Enter is its Next
        run.click(*run.button("Cancel"))
        run.wait("dialog Cancel")
        _move_default_to(run, "Yes")
        run.key("Return")
        assert run.finish() == 1223, run.stderr
    assert calls.read_text().split() == ["reboot"]
    assert list((root / "Prestart").iterdir()) == []


DESKTOP = r"HKCU\Control Panel\Desktop"  # LogPixels: the screen's DPI as Windows (and wine) report it


def _text_pixels(run: WineUi) -> int:
    """The wizard's body text line height in pixels, from its `size WxH text Npx` trace line."""
    line = run.wait_for(lambda e: e.startswith("size "), "its size")  # traced just after "drawn", not with it
    return int(line.rsplit(" ", 1)[1].removesuffix("px"))


def test_text_follows_the_screens_dpi(wine: Wine, wine_ui: Start, tmp_path: Path) -> None:
    """At 144 dpi (LogPixels, as Windows' display settings set it) the wizard's text is half as tall again as at
    96: the exe declares itself DPI-aware (ui/window.py) and ui.theme scales by the DPI it is told."""
    preview = ["preview", SPEC / "technician.yaml", "--facts", SPEC / "facts" / "laptop.json",
               "--catalog", SPEC / "catalog.json"]
    at_96 = wine_ui(*preview, title=TECH_TITLE)
    normal = _text_pixels(at_96)
    at_96.shot("technician-dpi-96")
    at_96.stop()
    wine.run(["reg", "add", DESKTOP, "/v", "LogPixels", "/t", "REG_DWORD", "/d", "144", "/f"], check=True)
    try:
        at_144 = wine_ui(*preview, title=TECH_TITLE)
        large = _text_pixels(at_144)
        at_144.shot("technician-dpi-144")
        at_144.stop()
    finally:
        wine.run(["reg", "add", DESKTOP, "/v", "LogPixels", "/t", "REG_DWORD", "/d", "96", "/f"], check=True)
    assert large >= normal * 1.4, (normal, large)
