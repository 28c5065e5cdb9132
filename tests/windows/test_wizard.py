"""The wizard of the frozen prestart.exe under wine, on an X server with no window manager (as in WinPE),
driven by real key and mouse events; a screenshot of each page goes to artifacts/windows/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from media_builder.winefreeze import Wine
from tests.conftest import SPEC
from tests.windows.conftest import WineUi, drive_x, win, winpe_registry

Start = Callable[..., WineUi]
TECH_TITLE = "Contoso Imaging"
KIOSK_TITLE = "Reset this lab computer"
TECHNICIAN = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
KIOSK = json.loads((SPEC / "expected" / "kiosk-laptop.json").read_text(encoding="utf-8"))
# Where the wizard's controls are inside its window (800x600, the layout ui/theme.py draws at 96 dpi)
CANCEL, NEXT, FIRST_ITEM = (74, 548), (724, 548), (96, 89)


def run_args(profile: Path, sink: Path | None, tmp: Path) -> list[str | Path]:
    args: list[str | Path] = ["run", "--profile", profile, "--catalog", SPEC / "catalog.json",
                              "--facts", SPEC / "facts" / "laptop.json"]
    if sink is not None:
        args += ["--sink", f"json:{win(sink)}", "--log-dir", tmp / "logs"]
    return args


def test_technician_finishes_with_mouse_and_keys(wine_ui: Start, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("page deployment")
    run.wait("drawn")
    run.focus()
    run.shot("technician-1-deployment")
    run.click(*NEXT)  # nothing chosen yet: Next refuses
    assert "page options" not in run.quiet()
    run.click(*FIRST_ITEM)  # Windows 11 24H2 – Lab
    run.key("Return")
    run.wait("page options")
    # as tests/ui/test_wizard.py: Deutsch, then Tab to BitLocker, the filter box and the app checklist
    run.key("Down", "Tab", "Tab", "Tab", "Down", "Down", "space", "Down", "Down", "space")
    run.shot("technician-2-options")
    run.key("Return")
    run.wait("page confirm")
    run.shot("technician-3-confirm")
    run.click(*NEXT)  # Finish
    run.wait("finish")
    assert run.finish() == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in TECHNICIAN["variables"].items():
        assert got.get(name) == value, name
    assert all(name in TECHNICIAN["variables"] or name.startswith("Prestart") for name in got)


def test_technician_cancel_asks_then_exits_1223(wine_ui: Start, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("drawn")
    run.focus()
    run.click(*CANCEL)
    run.wait("dialog Cancel")
    run.shot("technician-cancel-dialog")
    run.key("shift+Tab", "Return")  # "No" has the focus; "Yes" is before it
    assert run.finish() == 1223, run.stderr
    assert not out.exists()


def test_technician_close_request_is_a_cancel(wine_ui: Start, tmp_path: Path) -> None:
    """The control for the kiosk test below: WM_CLOSE (the close button, `taskkill`) closes an ordinary
    window with 1223 and nothing written."""
    out = tmp_path / "out.json"
    run = wine_ui(*run_args(SPEC / "technician.yaml", out, tmp_path), title=TECH_TITLE)
    run.wait("drawn")
    run.close_request()
    assert run.finish() == 1223, run.stderr
    assert not out.exists()


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


def test_kiosk_countdown_cancels_and_winpe_reboots(
    wine: Wine, wine_ui: Start, fake_wpeutil: Path, tmp_path: Path
) -> None:
    """A wrong confirmation, then the countdown: 1223, no variable, and on_cancel's reboot through wpeutil
    because the MiniNT key says this is WinPE."""
    root = winpe_root(tmp_path)
    data = yaml.safe_load((SPEC / "kiosk.yaml").read_text(encoding="utf-8"))
    next(p for p in data["pages"] if p["id"] == "confirm")["countdown"] = {"seconds": 4, "on_timeout": "cancel"}
    profile = tmp_path / "kiosk.yaml"
    profile.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    calls = tmp_path / "wpeutil.txt"
    env = {"WINEPATH": win(fake_wpeutil), "PRESTART_TEST_WPEUTIL_LOG": win(calls)}
    with drive_x(wine, root), winpe_registry(wine):
        run = wine_ui(*run_args(profile, None, tmp_path), title=KIOSK_TITLE, env=env)
        run.wait("drawn")
        run.focus()
        run.key("Return")
        run.wait("page choose")
        run.key("Down", "Return")
        run.wait("page confirm")
        run.type("XXXX")
        run.key("Return")  # Finish stays disabled
        assert "finish" not in run.quiet(0.5)
        run.shot("kiosk-3-confirm-wrong")
        assert run.finish() == 1223, run.stderr
    assert calls.read_text().split() == ["reboot"]
    assert list((root / "Prestart").iterdir()) == []
