"""What the pages show, read back from the widgets on a real X server: the kiosk's plain summary at 800x600,
the technician's sources, the step indicator, lists with descriptions, word filters and their keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from tkinter import ttk

import pytest

from agent.errors import Cancelled
from agent.facts import load_facts_file
from agent.flow import Flow
from agent.profile import load_profile
from agent.profile.model import Profile
from tests.ui.conftest import REPO, sized_screen
from ui import pages, theme
from ui.app import App
from ui.widgets import CHECKED, UNCHECKED, Entry, FilterList, GroupedChecklist

pytestmark = pytest.mark.x11

VARIABLE_WORDS = ("OSD", "SMSTS", "Prestart", "rules[", "AdvertID")


@pytest.fixture(scope="module")
def small_screen() -> Iterator[str]:
    with sized_screen(800, 600, 96) as name:
        yield name


def _flow(spec: Path, profile: Profile) -> Flow:
    from agent.catalog.verify import load_catalog

    catalog = load_catalog(spec / "catalog.json", trust_key=None).catalog
    return Flow(profile, catalog, load_facts_file(spec / "facts" / "laptop.json"), catalog_note="file")


def _texts(widget: tk.Misc) -> list[str]:
    """Every text a person can read inside `widget`: labels, buttons, tree rows."""
    out: list[str] = []
    if isinstance(widget, ttk.Label | ttk.Button | ttk.Checkbutton):
        out.append(str(widget.cget("text")))
    if isinstance(widget, ttk.Treeview):
        for row in widget.get_children():
            out.append(str(widget.item(row, "text")))
            out.extend(str(v) for v in widget.item(row, "values"))
    for child in widget.winfo_children():
        out.extend(_texts(child))
    return out


def _widgets(widget: tk.Misc) -> Iterator[tk.Misc]:
    yield widget
    for child in widget.winfo_children():
        yield from _widgets(child)


def _at_confirm(app: App, check: object) -> None:
    app.flow.answers["deployment"] = "win11-lab"
    app.show(len(app.profile.pages) - 1)
    app.root.update()
    app.root.after(300, check)  # type: ignore[arg-type]


def kiosk_summary_at_confirm(spec: Path) -> dict[str, object]:
    """The kiosk's confirm page in this process on $DISPLAY: its texts, step, right edge and whether the
    countdown pauses while a question is open. Run in a child process by the test below."""
    app = App(_flow(spec, load_profile(spec / "kiosk.yaml")), preview=False)
    seen: dict[str, object] = {}

    def check() -> None:
        seen["texts"] = _texts(app.root)
        seen["step"] = app.step.cget("text")
        seen["right"] = max(w.winfo_rootx() + w.winfo_width() for w in _widgets(app.root) if w.winfo_ismapped())
        app.ask_cancel()  # the countdown waits while the question is open
        left = app._countdown_left
        app.root.after(2500, lambda: finish(left))

    def finish(left: int) -> None:
        seen["paused"] = app._countdown_left == left
        app.fail(Cancelled("test over"))

    _at_confirm(app, check)
    with pytest.raises(Cancelled):
        app.run()
    return seen


def test_the_kiosk_summary_speaks_plainly_and_fits_800x600(small_screen: str, spec_dir: Path) -> None:
    # In a child process: Tk keeps a display connection open until the process exits, and Xlib ends a process
    # whose X server went away (as this 800x600 one does after this module) at its next event.
    env = dict(os.environ, DISPLAY=small_screen, PYTHONPATH=str(REPO))
    env.pop("PRESTART_KIOSK_WINDOWED", None)
    code = ("import json, sys; from pathlib import Path; from tests.ui.test_pages import kiosk_summary_at_confirm; "
            "print(json.dumps(kiosk_summary_at_confirm(Path(sys.argv[1]))))")
    child = subprocess.run([sys.executable, "-c", code, str(spec_dir)], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.splitlines()[-1])
    texts = [str(t) for t in seen["texts"]]
    joined = "\n".join(texts)
    assert not [t for t in texts if any(word in t for word in VARIABLE_WORDS)], texts
    # The field's label, then the catalog item's label and description: what the person chose, in words.
    profile = load_profile(spec_dir / "kiosk.yaml")
    label = next(f.label for p in profile.pages for f in p.fields if f.id == "deployment")
    catalog = json.loads((spec_dir / "catalog.json").read_text(encoding="utf-8"))
    item = next(i for i in catalog["lists"]["deployments"] if i["id"] == "win11-lab")
    assert f"{label}: {item['label']} ({item['description']})" in joined
    assert "this computer will restart" in joined
    assert seen["step"] == "Step 3 of 3"
    assert int(seen["right"]) <= 800
    assert seen["paused"] is True


def test_the_technician_confirm_page_keeps_the_table_with_readable_sources(display: str, spec_dir: Path) -> None:
    app = App(_flow(spec_dir, load_profile(spec_dir / "technician.yaml")), preview=True)
    seen: dict[str, object] = {}

    def check() -> None:
        view = app.view
        assert isinstance(view, pages.ConfirmView)
        tree = view.table
        seen["rows"] = {tree.item(r, "text"): tree.item(r, "values")[1] for r in tree.get_children()}
        seen["focus"] = app.root.focus_get() is tree
        app.fail(Cancelled("test over"))

    _at_confirm(app, check)
    with pytest.raises(Cancelled):
        app.run()
    rows = seen["rows"]
    assert rows == {**rows, "SMSTSPreferredAdvertID": "you chose (Task sequence)",  # type: ignore[dict-item]
                    "OSDUILanguage": "default (Language)", "OSDTimeZone": "rule 1 (always)",
                    "DriverPack": 'rule 3 (when Model like "%Latitude%")',
                    "OSDComputerName": "rule 4 (catalog list machines where uuid = UUID)"}
    assert seen["focus"] is True  # something harmless has the focus, not Finish


@pytest.fixture
def root(display: str) -> Iterator[tk.Tk]:
    window = tk.Tk()
    window.title("prestart list test")
    window.geometry("700x500")
    yield window
    window.destroy()


def _key(widget: tk.Misc, keysym: str) -> None:
    """A real key press (XTEST, through xdotool) to `widget`, which gets the keyboard focus first."""
    root = widget.winfo_toplevel()
    root.update()
    found = subprocess.run(["xdotool", "search", "--name", "^prestart list test$"], capture_output=True, text=True)
    subprocess.run(["xdotool", "windowactivate", "--sync", found.stdout.split()[0]], capture_output=True, timeout=10)
    widget.focus_force()
    root.update()
    subprocess.run(["xdotool", "key", keysym], check=True, timeout=10)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # let the key arrive and its binding run
        root.update()
        time.sleep(0.01)


DEPLOYMENTS = [
    Entry("dep-001", "Windows 11 Lab", description="Standard lab image."),
    Entry("dep-002", "Windows 11 Core", description="Operating system only."),
    Entry("dep-003", "Windows 10 Legacy", enabled=False,
          reason="requires Memory >= 4096 — this computer has 2048 MB, too little for the legacy image"),
    Entry("dep-004", "Windows 11 Kiosk", description="Locked-down kiosk image."),
]


def test_a_choice_list_filters_by_every_word_and_says_when_nothing_matches(root: tk.Tk) -> None:
    look = theme.apply(root, Profile(version=1), kiosk=False)
    chosen: list[str] = []
    widget = FilterList(root, look, DEPLOYMENTS, filter=True, on_change=chosen.append)
    widget.pack(fill="both", expand=True)
    root.update()
    assert "Standard lab image." in widget.listbox.get(0)  # the description beside the label
    widget.filter_var.set("003 dep")  # both words, in any order
    assert [widget.entries[i].id for i in widget.shown] == ["dep-003"]
    widget.filter_var.set("lab kiosk")
    assert widget.shown == [] and "Nothing matches" in widget.detail.cget("text")
    widget.filter_var.set("")
    box = widget.listbox
    _key(box, "End")  # the last enabled row, not the first
    assert chosen[-1] == "dep-004"
    _key(box, "Home")
    assert chosen[-1] == "dep-001"
    _key(box, "Next")  # Page Down: as far as a page goes, then the last enabled row
    assert chosen[-1] == "dep-004"
    _key(box, "Prior")
    assert chosen[-1] == "dep-001"
    widget._choose_row(2)  # a click on the disabled row: the whole reason shows under the list
    assert widget.detail.cget("text").endswith("too little for the legacy image")
    assert chosen[-1] == "dep-001"


def test_a_checklist_uses_check_boxes_and_its_keys(root: tk.Tk) -> None:
    look = theme.apply(root, Profile(version=1), kiosk=False)
    entries = [Entry(f"app{i}", f"App {i}", group=f"Group {i % 2}") for i in range(12)]
    widget = GroupedChecklist(root, look, entries)
    widget.pack(fill="both", expand=True)
    root.update()
    box = widget.listbox
    _key(box, "End")
    assert int(box.curselection()[0]) == len(widget.rows) - 1
    _key(box, "space")
    assert CHECKED in box.get(len(widget.rows) - 1)
    _key(box, "Home")
    assert int(box.curselection()[0]) == 0
    _key(box, "Next")
    assert int(box.curselection()[0]) > 1
    assert UNCHECKED in box.get(1)
    widget.filter_var.set("app 11 group")
    assert [k for kind, k in widget.rows if kind == "item"] == [11]


@pytest.mark.parametrize(("accent", "ring"), [("#0067b8", "white"), ("#ffd800", "black")])
def test_focus_is_drawn_on_plain_and_accent_buttons_in_any_theme(root: tk.Tk, accent: str, ring: str) -> None:
    from agent.profile.model import Theme

    look = theme.apply(root, Profile(version=1, theme=Theme(accent=accent)), kiosk=False)
    style = ttk.Style(root)
    assert look.accent_text == ring  # the ring inside an accent button has the colour of its text
    assert style.lookup("Accent.TButton", "focuscolor") == ring
    assert style.lookup("TButton", "focuscolor") == theme.FOCUS_RING
    assert int(style.lookup("TButton", "focusthickness")) >= 2
    assert int(style.lookup("Accent.TButton", "focusthickness")) >= 2
    assert accent in str(style.map("TEntry", "bordercolor"))  # a focused entry has an accent border
