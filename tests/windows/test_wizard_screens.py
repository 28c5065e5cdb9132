"""The frozen prestart.exe's wizard under wine at the smallest and largest screens of issue 26 (800x600 and
1920x1080, no window manager, as in WinPE), driven by real key and mouse events: a long page scrolls by wheel
and by Tab, a wrong field is marked, list filters and keys work, check boxes are drawn with glyphs a font of
this machine has, and every page uses the screen it is given. Screenshots go to artifacts/windows/."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from media_builder.winefreeze import Wine
from tests.conftest import SPEC
from tests.ui.test_wizard_screens import LONG_PROFILE
from tests.windows.conftest import WineUi, drive_x, run_args, winpe_registry
from tests.windows.test_wizard import KIOSK, KIOSK_TITLE, _move_default_to, winpe_root

Start = Callable[..., WineUi]
LONG_FIELDS = [f["id"] for f in LONG_PROFILE["pages"][0]["fields"]]

# Twelve deployments (a filter box appears from ten), the last one not offered on this machine, and a checklist
# of applications in two groups.
DEPLOYMENTS = ["Lab", "Core", "Legacy", "Kiosk", "Exam", "Library", "Studio", "Office", "Science", "Music",
               "Sports", "Server"]
LISTS_PROFILE: dict[str, Any] = {
    "version": 1,
    "title": "Lists",
    "pages": [
        {"id": "software", "title": "Software", "fields": [
            {"id": "deployment", "type": "choice", "label": "Deployment", "variable": "Deployment", "required": True,
             "choices": [{"value": f"dep-{n:03d}", "label": f"Windows 11 {name}"}
                         | ({"requires": "Memory >= 999999"} if n == 12 else {})
                         for n, name in enumerate(DEPLOYMENTS, start=1)]},
            {"id": "apps", "type": "multi", "label": "Applications", "array": {"base": "App", "digits": 2},
             "choices": [{"value": value, "label": label, "group": group} for group, value, label in [
                 ("Office", "word", "Word"), ("Office", "excel", "Excel"), ("Office", "outlook", "Outlook"),
                 ("Tools", "7zip", "7-Zip"), ("Tools", "vlc", "VLC media player"), ("Tools", "python", "Python")]]},
        ]},
        {"id": "confirm", "type": "confirm", "title": "Ready",
         "text": "This erases {Model} and installs {Deployment}."},
    ],
}


def _write(tmp: Path, data: dict[str, Any]) -> Path:
    path = tmp / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _size(run: WineUi) -> tuple[int, int]:
    """The window's size as it reported it once drawn."""
    line = run.wait_for(lambda e: e.startswith("size "), "its size")
    found = re.fullmatch(r"size (\d+)x(\d+) text \d+px", line)
    assert found, line
    return int(found[1]), int(found[2])


def _fills(run: WineUi, width: int, height: int) -> None:
    """The window uses the screen it is given: all of its width, and its height but for the title bar that
    Windows draws above a maximised window (wine with no window manager leaves that band black)."""
    window_w, window_h = _size(run)
    assert window_w == width and height - 40 <= window_h <= height, (window_w, window_h)


def _press(run: WineUi, key: str, event: str, *, after: str, tries: int = 3) -> None:
    """Press `key` until trace line `event` comes. Wine drops keys on a loaded machine: the key is sent again
    only when no line starting with `after` (what the key changes) came meanwhile, never blindly."""
    for _ in range(tries):
        run.key(key)
        try:
            line = run.wait_for(lambda e: e == event or e.startswith(after), repr(event), timeout=6)
        except AssertionError:
            continue  # nothing came: the key was dropped
        assert line == event, f"{key} gave {line!r}, not {event!r}"
        return
    raise AssertionError(f"{key} never gave {event!r}: {run.events()[-10:]}")


def _retype(run: WineUi, text: str, event: str) -> None:
    """Replace the focused entry's text with `text` (Ctrl+A is select-all on Windows) until `event` comes."""
    for _ in range(3):
        run.key("ctrl+a", "BackSpace")
        run.type(text)
        try:
            run.wait(event, timeout=8)
            return
        except AssertionError:
            continue  # a dropped key left other text: select it all and type again
    raise AssertionError(f"typing {text!r} never gave {event!r}: {run.events()[-10:]}")


def _wheel(run: WineUi, button: str, done: Callable[[str], bool], what: str) -> None:
    """Turn the mouse wheel over the page (X buttons 4 and 5, WM_MOUSEWHEEL to wine) until the page says so."""
    for _ in range(3):
        run.xdo("click", "--repeat", "3", "--delay", "100", button)
        try:
            run.wait_for(done, what, timeout=5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the wheel never gave {what}: {run.events()[-10:]}")


def test_a_long_page_at_800x600_is_marked_scrolled_and_only_what_was_reached_is_committed(
        wine_ui: Start, small_display: str, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(_write(tmp_path, LONG_PROFILE), out, tmp_path), title="Long page", display=small_display)
    run.wait("page details")
    _fills(run, 800, 600)
    run.focus()
    run.wait("focus computer_name shown")
    # An emptied computer name (validate: netbios) is marked at once; Next refuses, names it and keeps the page.
    for _ in range(20):
        run.key("End", "BackSpace")
        if "answer computer_name " in run.quiet(0.3):
            break
    _press(run, "Return", "invalid computer_name", after="page ")
    run.shot("technician-800x600-invalid-name")
    assert "page confirm" not in run.quiet(0.3)
    _retype(run, "PC-7", "answer computer_name PC-7")
    assert "notice cleared" in run.events()  # fixed: the mark and the message are gone
    # The wheel over the page scrolls it down, and back to the top.
    run.xdo("mousemove", "--window", run.window(), "400", "300")
    _wheel(run, "5", lambda e: bool(re.fullmatch(r"scroll 0\.(?!00)\d+", e)), "a scroll down")
    _wheel(run, "4", lambda e: e == "scroll 0.00", "the top again")
    # Tab reaches every field, and each one is scrolled into view as it gets the focus.
    for field in LONG_FIELDS[1:]:
        _press(run, "Tab", f"focus {field} shown", after="focus ")
    run.shot("technician-800x600-long-page")
    _press(run, "space", "answer bitlocker False", after="answer bitlocker")  # the last field, reached and changed
    _press(run, "Return", "page confirm", after="page ")
    run.shot("technician-800x600-confirm")
    _move_default_to(run, "Finish")
    run.key("Return")
    run.wait("finish")
    assert run.finish() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert (got["OSDComputerName"], got["OSDBitLocker"], got["JoinDomain"]) == ("PC-7", "False", "True")


def _fonts_with(*characters: str) -> set[str]:
    """The families on this machine (fontconfig's, which wine offers to Windows programs) with every one of
    `characters`."""
    charset = " ".join(f"{ord(c):x}" for c in characters)
    listed = subprocess.run(["fc-list", f":charset={charset}", "family"], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    return {name.strip() for line in listed.splitlines() for name in line.split(",")}


def test_lists_at_1920x1080_filter_by_words_move_by_keys_and_check_with_boxes_a_font_has(
        wine_ui: Start, large_display: str, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(_write(tmp_path, LISTS_PROFILE), out, tmp_path), title="Lists", display=large_display)
    # The checklist's marks: ☐ ☑ from an installed font that has both (checked with fontconfig here), else □ ■.
    marks = run.wait_for(lambda e: e.startswith("check marks "), "the check marks")
    unchecked, checked, font = re.fullmatch(r"check marks (\S+) (\S+) from (.+)", marks).groups()  # type: ignore[union-attr]
    if (unchecked, checked) == ("\u2610", "\u2611"):
        assert font in _fonts_with(unchecked, checked), (font, _fonts_with(unchecked, checked))
    else:
        assert not _fonts_with("\u2610", "\u2611") and (unchecked, checked) == ("\u25a1", "\u25a0"), marks
    run.wait("page software")  # the page is built, its marks chosen, before it is shown
    _fills(run, 1920, 1080)
    run.focus()
    run.wait("focus deployment shown")  # the filter box above the list
    # Words in any order; the one row left is the one Down picks.
    _retype(run, "003 dep", "filtered deployment 1: 003 dep")
    _press(run, "Down", "answer deployment dep-003", after="answer deployment")
    _retype(run, "lab kiosk", "filtered deployment 0: lab kiosk")  # nothing matches: the list says so
    run.shot("technician-1920x1080-filter-nothing")
    _retype(run, "", "filtered deployment 12: ")
    _press(run, "Tab", "focus deployment shown", after="focus ")  # the list itself
    # Home / End: the first and last usable rows (dep-012 is not offered); Page Down / Up: a list's height (7).
    for key, chosen in (("Home", "dep-001"), ("Next", "dep-008"), ("End", "dep-011"), ("Prior", "dep-004")):
        _press(run, key, f"answer deployment {chosen}", after="answer deployment")
    _press(run, "Tab", "focus apps shown", after="focus ")  # the checklist's filter box
    _press(run, "Tab", "focus apps shown", after="focus ")  # the checklist
    run.key("Home", "Home")  # the Office group's row (twice: the same row even if wine drops one)
    _press(run, "space", "answer apps word,excel,outlook", after="answer apps")  # Space on a group: all of it
    run.key("End", "End")  # Python, the last row
    _press(run, "space", "answer apps word,excel,outlook,python", after="answer apps")
    run.shot("technician-1920x1080-lists")
    _press(run, "Return", "page confirm", after="page ")
    run.shot("technician-1920x1080-confirm")
    _move_default_to(run, "Finish")
    run.key("Return")
    run.wait("finish")
    assert run.finish() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["Deployment"] == "dep-004"
    assert [got.get(f"App{n:02d}") for n in range(1, 6)] == ["word", "excel", "outlook", "python", None]


def test_the_kiosk_fills_800x600_and_1920x1080_and_finishes_on_the_typed_code(
        wine: Wine, wine_ui: Start, small_display: str, large_display: str, tmp_path: Path) -> None:
    """One kiosk run per screen: the whole screen, exactly, and each page on it (the screenshots show them)."""
    for display, (width, height) in ((small_display, (800, 600)), (large_display, (1920, 1080))):
        root = winpe_root(tmp_path / f"{width}")
        with drive_x(wine, root), winpe_registry(wine):
            run = wine_ui(*run_args(SPEC / "kiosk.yaml", None, tmp_path), title=KIOSK_TITLE, display=display)
            run.wait("page welcome")
            assert _size(run) == (width, height)
            run.focus()
            run.shot(f"kiosk-{width}x{height}-welcome")
            _press(run, "Return", "page choose", after="page ")
            _press(run, "Down", "answer deployment win11-lab", after="answer deployment")
            run.shot(f"kiosk-{width}x{height}-choose")
            _press(run, "Return", "page confirm", after="page ")
            run.type(str(KIOSK["variables"]["OSDComputerName"])[-4:])  # the serial's last four: 2HL3
            run.shot(f"kiosk-{width}x{height}-confirm")
            run.key("Return")
            run.wait("finish")
            assert run.finish() == 0, run.stderr
        written = json.loads((root / "Prestart" / "variables.json").read_text(encoding="utf-8"))
        assert written["SMSTSPreferredAdvertID"] == KIOSK["variables"]["SMSTSPreferredAdvertID"]


# Wine lists the host's fonts (fontconfig's) in the registry, as Windows lists installed fonts, and loads them from
# there at the next start. This forgets them, so that a run lists the fonts its own fontconfig offers afresh.
FORGET_HOST_FONTS = r"""
import winreg
for root, key in ((winreg.HKEY_LOCAL_MACHINE, r"Software\Microsoft\Windows NT\CurrentVersion\Fonts"),
                  (winreg.HKEY_LOCAL_MACHINE, r"Software\Microsoft\Windows\CurrentVersion\Fonts")):
    with winreg.OpenKey(root, key, 0, winreg.KEY_ALL_ACCESS) as fonts:
        values = [winreg.EnumValue(fonts, i) for i in range(winreg.QueryInfoKey(fonts)[1])]
        for name, path, _ in values:
            if str(path).upper().startswith("Z:\\"):
                winreg.DeleteValue(fonts, name)
try:
    winreg.DeleteKey(winreg.HKEY_CURRENT_USER, r"Software\Wine\Fonts\External Fonts")
except FileNotFoundError:
    pass
"""


def test_with_few_fonts_the_checklist_draws_boxes_every_windows_font_has(
        wine: Wine, wine_ui: Start, tmp_path: Path) -> None:
    """As in a WinPE whose fonts lack ☐ ☑: the only fonts are wine's own and URW's (□ ■, no ☐ ☑), so the
    checklist uses □ ■ rather than two identical missing-glyph boxes."""
    fonts = Path("/usr/share/fonts/opentype/urw-base35")
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                      f"  <dir>{fonts}</dir>\n  <cachedir>{tmp_path / 'fc-cache'}</cachedir>\n</fontconfig>\n")
    env = {"FONTCONFIG_FILE": str(config)}
    few = subprocess.run(["fc-list", ":charset=25a0 25a1", "family"], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout.split("\n")
    assert any(few) and not subprocess.run(["fc-list", ":charset=2610 2611", "family"], env=env,
                                           capture_output=True, text=True, timeout=60).stdout.strip()
    preview = ["preview", _write(tmp_path, LISTS_PROFILE), "--facts", SPEC / "facts" / "laptop.json"]
    forget = tmp_path / "forget_host_fonts.py"
    forget.write_text(FORGET_HOST_FONTS, encoding="utf-8")
    wine.run([wine.python, forget], check=True)
    try:
        run = wine_ui(*preview, title="Lists", env=env)
        marks = run.wait_for(lambda e: e.startswith("check marks "), "the check marks")
        run.stop()  # (no screenshot: with only URW's fonts wine draws the text itself in a dingbat font)
    finally:  # the next run lists every host font again
        wine.run([wine.python, forget], check=True)
    unchecked, checked, font = re.fullmatch(r"check marks (\S+) (\S+) from (.+)", marks).groups()  # type: ignore[union-attr]
    assert (unchecked, checked) == ("\u25a1", "\u25a0"), marks
    assert font in {name.strip() for line in few for name in line.split(",")}, (font, few)
