"""The kiosk escape review (docs/security.md) on a real X server: window switching, dialogs, links, a USB
keyboard's special keys, and secrets on screen after entry."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path
from tkinter import ttk
from typing import Any

import pytest
import yaml

from agent.errors import Cancelled
from agent.facts import load_facts_file
from agent.flow import Flow
from agent.profile import load_profile
from tests.ui.conftest import UiRun
from ui.app import App

pytestmark = pytest.mark.x11

Start = Callable[..., UiRun]
KIOSK_TITLE = "Reset this lab computer"
OWN_DIALOGS = {KIOSK_TITLE, "Technician unlock", "Cancel"}  # the kiosk window and the dialogs ui/app.py opens
URL = "https://example.invalid/"
SCREEN = (1024, 768)  # tests/ui/conftest.py starts Xvfb with this screen


def _kiosk(ui: Start, spec: Path, tmp: Path, profile: Path | None = None) -> UiRun:
    args = ["run", "--profile", str(profile or spec / "kiosk.yaml"), "--catalog", str(spec / "catalog.json"),
            "--facts", str(spec / "facts" / "laptop.json"), "--sink", f"json:{tmp / 'out.json'}",
            "--log-dir", str(tmp / "logs")]
    run = ui(*args, title=KIOSK_TITLE)
    run.ready("welcome")
    return run


def _kiosk_state(run: UiRun) -> dict[str, Any]:
    """What a person sees of the kiosk window: the active window, keyboard focus, full screen, on top."""
    window = int(run.window())
    active = run.xdo("getactivewindow").stdout.strip()
    focus = run.xdo("getwindowfocus").stdout.strip()
    state = subprocess.run(["xprop", "-id", str(window), "_NET_WM_STATE"], env=run.env, capture_output=True,
                           text=True).stdout
    stacking = subprocess.run(["xprop", "-root", "_NET_CLIENT_LIST_STACKING"], env=run.env, capture_output=True,
                              text=True).stdout
    geometry = dict(line.split("=", 1) for line in run.xdo("getwindowgeometry", "--shell", str(window))
                    .stdout.split())
    on_top = stacking.rsplit("#", 1)[-1].split(",")[-1].strip()
    return {"active": active == str(window), "focused": focus == str(window),
            "fullscreen": "_NET_WM_STATE_FULLSCREEN" in state,
            "geometry": (int(geometry["X"]), int(geometry["Y"]), int(geometry["WIDTH"]), int(geometry["HEIGHT"])),
            "on top": bool(on_top) and int(on_top, 16) == window}


KIOSK_UP = {"active": True, "focused": True, "fullscreen": True, "geometry": (0, 0, *SCREEN), "on top": True}


def _settles_up(run: UiRun, timeout: float = 2.0) -> dict[str, Any]:
    """The kiosk's state once it has had the time to take the focus back (ui.app polls every 300 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        state = _kiosk_state(run)
        if state == KIOSK_UP or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _strays(run: UiRun) -> list[str]:
    """Processes the agent started: its children (any depth), and anything carrying its environment (a
    browser or helper that daemonised itself and was re-parented to init)."""
    pid = run.process.pid
    found: set[int] = set()
    todo = [pid]
    while todo:
        for children in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = [int(x) for x in children.read_text().split()]
            except OSError:
                continue
            found.update(kids)
            todo.extend(kids)
    marker = f"PRESTART_UI_TRACE={run.trace_file}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == pid:
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    described = []
    for stray in sorted(found):
        try:
            described.append(f"{stray}: {(Path('/proc') / str(stray) / 'cmdline').read_bytes()!r}")
        except OSError:
            described.append(str(stray))
    return described


def _windows(run: UiRun) -> set[str]:
    """Titles of every window the agent has mapped so far (ui.app traces each one)."""
    return {event.removeprefix("window ") for event in run.events() if event.startswith("window ")}


@pytest.fixture
def other_window(display: str) -> Iterator[str]:
    """An ordinary window of another program on the same screen: something to switch to."""
    env = {k: v for k, v in os.environ.items() if k != "PRESTART_UI_TRACE"}
    env["DISPLAY"] = display
    title = "Some other program"
    code = f"import tkinter as tk; r = tk.Tk(); r.title({title!r}); r.geometry('240x120+40+40'); r.mainloop()"
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{title}$"], env=env,
                           capture_output=True, text=True, timeout=10).stdout.split()
    assert found, "the other window did not appear"
    yield found[0]
    process.kill()
    process.wait()


def test_window_switching_keys_and_other_windows_leave_the_kiosk_up_and_focused(
        ui: Start, spec_dir: Path, tmp_path: Path, other_window: str) -> None:
    run = _kiosk(ui, spec_dir, tmp_path)
    assert _settles_up(run) == KIOSK_UP  # the other window was there first; the kiosk is on top of it
    for keys in (["alt+Tab"], ["alt+shift+Tab"], ["Super_L"], ["super+Tab"], ["ctrl+Escape"], ["alt+Escape"]):
        run.key(*keys)
        assert _settles_up(run) == KIOSK_UP, keys
    # Another program that grabs the focus for itself (xdotool does what its own code could do).
    run.xdo("windowactivate", other_window)
    assert _settles_up(run) == KIOSK_UP
    # The window manager's menu (Alt+Space) offers Iconify; a taskbar would too: the kiosk comes back.
    run.key("alt+space", "Escape")
    assert _settles_up(run) == KIOSK_UP
    run.xdo("windowminimize", "--sync", run.window())
    assert _settles_up(run) == KIOSK_UP
    run.shot("kiosk-escape-1-switching")
    assert [e for e in run.quiet(0.2) if e.startswith(("page", "exit"))] == []  # still on the first page
    assert _windows(run) == {KIOSK_TITLE}
    run.key("Return")  # and it still takes keys
    run.wait("page choose")
    assert run.alive() and _strays(run) == []


# Alt+Space is left out: it opens openbox's own window menu (no such thing in WinPE); what that menu can do to
# the kiosk (iconify) is in the window switching test.
PROBES = ("F1", "F10", "shift+F10", "Menu", "ctrl+o", "ctrl+p", "ctrl+s")


def _probe_for_dialogs(run: UiRun) -> None:
    """Keys and buttons that open help, menus, file or print dialogs in other programs."""
    run.key(*PROBES)
    width, height = SCREEN
    run.xdo("mousemove", str(width // 2), str(height // 3), "click", "3", "click", "2",
            "mousemove", str(width // 4), str(height // 5), "click", "3")


def _click_pin_box(run: UiRun) -> None:
    """A left click in the middle of the PIN dialog's text box (ui/app.py traces where it is)."""
    where = [event.split()[2:] for event in run.events() if event.startswith("pin box ")]
    assert where, "the PIN dialog did not say where its box is"
    run.xdo("mousemove", *where[-1], "click", "1")


def test_walking_every_kiosk_page_opens_no_window_but_its_own(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    run = _kiosk(ui, spec_dir, tmp_path)
    _probe_for_dialogs(run)
    run.key("ctrl+alt+shift+t")
    run.wait("unlock dialog")
    _probe_for_dialogs(run)
    # After all that poking, the person clicks into the PIN box before typing, as anyone would: where
    # the probes left the focus inside the dialog is not what this test is about.
    _click_pin_box(run)
    run.type("111111")
    run.key("Return")
    run.wait("unlock wrong")
    run.key("Escape")  # closes the PIN dialog
    run.key("Tab", "Return")  # Next has the focus; Tab goes round to Cancel, which asks first
    run.wait("dialog Cancel")
    run.key("Return")  # "No" has the focus
    time.sleep(0.3)
    assert _settles_up(run) == KIOSK_UP
    run.key("Return")
    run.wait("page choose")
    _probe_for_dialogs(run)
    run.key("Down", "Return")
    run.wait("page confirm")
    _probe_for_dialogs(run)
    run.key("ctrl+alt+shift+t")
    run.wait("unlock dialog")
    run.key("Escape")
    time.sleep(0.3)
    run.shot("kiosk-escape-2-dialogs")
    assert run.alive()
    # Every window the agent mapped, from its own trace and as the window manager sees it.
    assert _windows(run) == OWN_DIALOGS
    clients = subprocess.run(["wmctrl", "-l"], env=run.env, capture_output=True, text=True).stdout.splitlines()
    assert [line.split(None, 3)[-1] for line in clients] == [KIOSK_TITLE]  # the dialogs are gone again
    assert _strays(run) == []
    run.type("2HL3")  # the laptop's serial ends in 2HL3
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr


def _profile_with_links(spec: Path, tmp: Path) -> Path:
    data = yaml.safe_load((spec / "kiosk.yaml").read_text(encoding="utf-8"))
    pages = {page["id"]: page for page in data["pages"]}
    pages["welcome"]["text"] = f"{URL} Help and terms: {URL}help?from=kiosk. " + pages["welcome"]["text"]
    pages["choose"]["fields"][0]["help"] = f"Which image? See {URL}images"
    path = tmp / "kiosk-links.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _click_everywhere(run: UiRun, top: int, bottom: int) -> None:
    """Single clicks on a grid over the page's text (20 px or more apart: never a double click), then double and
    triple clicks and a middle and right click on the first lines, where the URL is."""
    args: list[str] = []
    for y in range(top, bottom, 20):
        for x in range(30, 700, 110):
            args += ["mousemove", str(x), str(y), "click", "1"]
    for y in range(top + 10, top + 50, 20):
        args += ["mousemove", "60", str(y), "click", "--repeat", "2", "--delay", "60", "1",
                 "click", "--repeat", "3", "--delay", "60", "1",
                 "click", "2", "click", "3", "keydown", "ctrl", "click", "1", "keyup", "ctrl"]
    run.xdo(*args)


def test_a_url_in_info_and_help_text_opens_nothing(ui: Start, spec_dir: Path, tmp_path: Path) -> None:
    run = _kiosk(ui, spec_dir, tmp_path, _profile_with_links(spec_dir, tmp_path))
    run.shot("kiosk-escape-3-links")
    _click_everywhere(run, 80, 200)
    assert run.quiet(0.5) == []
    run.key("Return")  # the text is a label: the clicks took neither the focus nor the Return
    run.wait("page choose")
    _click_everywhere(run, 80, 200)
    assert [e for e in run.quiet(0.5) if e.startswith(("page", "window", "exit"))] == []
    assert run.alive() and _windows(run) == {KIOSK_TITLE}
    assert _strays(run) == []
    assert _settles_up(run) == KIOSK_UP


SPECIAL_KEYS = ("XF86WWW", "XF86Mail", "XF86Calculator", "XF86Search", "XF86Explorer", "XF86HomePage",
                "XF86Favorites", "XF86Tools", "XF86AudioMedia", "XF86MyComputer", "XF86PowerOff", "XF86Sleep",
                "XF86Suspend", "XF86Launch0", "XF86LaunchA")


@pytest.mark.parametrize("page", ["welcome", "choose"])
def test_a_usb_keyboards_special_keys_do_nothing(ui: Start, spec_dir: Path, tmp_path: Path, page: str) -> None:
    run = _kiosk(ui, spec_dir, tmp_path)
    if page == "choose":
        run.key("Return")
        run.wait("page choose")
    for key in SPECIAL_KEYS:
        assert run.xdo("key", key).returncode == 0, key
    assert [e for e in run.quiet(0.5) if e.startswith(("page", "window", "exit", "idle"))] == []
    assert run.alive() and _strays(run) == []
    assert _settles_up(run) == KIOSK_UP
    run.key("ctrl+alt+shift+t")  # the keyboard still reaches the kiosk, on the same page
    run.wait("unlock dialog")
    assert _windows(run) == {KIOSK_TITLE, "Technician unlock"}


# -- secrets on screen after entry (in this process, reading what the widgets show) ----------------------------

CANARY = "Canary-Secret-b41d2e"


def _shown(widget: tk.Misc) -> list[str]:
    """Every text a person could read in `widget` and below it."""
    texts: list[str] = []
    if isinstance(widget, ttk.Treeview):
        todo = list(widget.get_children(""))
        while todo:
            item = todo.pop()
            texts.append(str(widget.item(item, "text")))
            texts += [str(v) for v in widget.item(item, "values")]
            todo += widget.get_children(item)
    elif isinstance(widget, ttk.Entry | tk.Entry):
        show = str(widget.cget("show"))
        texts.append(show * len(widget.get()) if show else widget.get())
    elif isinstance(widget, tk.Listbox):
        texts += [str(x) for x in widget.get(0, "end")]
    else:
        with contextlib.suppress(tk.TclError):
            texts.append(str(widget.cget("text")))
    for child in widget.winfo_children():
        texts += _shown(child)
    return texts


def _entries(widget: tk.Misc) -> list[ttk.Entry]:
    found = [widget] if isinstance(widget, ttk.Entry) else []
    for child in widget.winfo_children():
        found += _entries(child)
    return found


def test_a_password_never_shows_again_after_entry(display: str, spec_dir: Path, tmp_path: Path) -> None:
    from agent.catalog.verify import load_catalog

    profile_path = tmp_path / "secret.yaml"
    profile_path.write_text(yaml.safe_dump({
        "version": 1, "title": "Join the domain",
        "pages": [
            {"id": "join", "fields": [{"id": "name", "type": "text", "label": "Account",
                                       "variable": "PrestartJoinAccount"},
                                      {"id": "join_password", "type": "password", "label": "Password",
                                       "variable": "PrestartJoinPassword"}]},
            {"id": "confirm", "type": "confirm", "text": "Join with these?"},
        ]}), encoding="utf-8")
    profile = load_profile(profile_path)
    catalog = load_catalog(spec_dir / "catalog.json", trust_key=None).catalog
    flow = Flow(profile, catalog, load_facts_file(spec_dir / "facts" / "laptop.json"), catalog_note="file")
    app = App(flow, preview=True)
    seen: dict[str, Any] = {}

    def fill() -> None:
        entries = _entries(app.body)
        assert len(entries) == 2
        entries[0].insert(0, "lab-join")
        entries[1].insert(0, CANARY)  # what typing does to the entry
        app.root.update_idletasks()
        seen["form"] = _shown(app.root)
        seen["shows"] = str(entries[1].cget("show"))
        app.next()
        app.root.after(100, confirm)

    def confirm() -> None:
        seen["confirm page"] = type(app.view).__name__
        seen["confirm"] = _shown(app.root)
        app.back()
        app.root.after(100, back)

    def back() -> None:
        entries = _entries(app.body)
        seen["back"] = _shown(app.root)
        seen["shows again"] = str(entries[1].cget("show"))
        # A copy of the entry's selection (X PRIMARY, what a middle click pastes) gives the bullets too.
        entries[1].selection_range(0, "end")
        seen["selection"] = app.root.selection_get()
        app.fail(Cancelled("test over"))

    app.root.after(100, fill)
    with pytest.raises(Cancelled):
        app.run()
    assert flow.answers["join_password"] == CANARY  # the value is kept (Back keeps answers) ...
    assert seen["shows"] == seen["shows again"] == "•"  # ... and only ever shown as bullets
    assert seen["confirm page"] == "ConfirmView"
    for where in ("form", "confirm", "back"):
        assert not [text for text in seen[where] if CANARY in text], where
    assert "lab-join" in seen["confirm"] and "********" in seen["confirm"]  # the summary masks the secret row
    assert "•" * len(CANARY) in seen["back"]
    assert CANARY not in seen["selection"]
