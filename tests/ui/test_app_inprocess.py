"""The wizard's shell in this process on the session's Xvfb: list filtering speed, idle reset, background jobs."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import tkinter as tk
from pathlib import Path

import pytest

from agent.catalog.model import Catalog
from agent.errors import Cancelled
from agent.facts import load_facts_file
from agent.flow import Flow
from agent.profile import load_profile
from agent.profile.model import KioskSettings, Profile
from ui import theme
from ui.app import PREFLIGHT, App
from ui.widgets import Entry, FilterList, GroupedChecklist

pytestmark = pytest.mark.x11

WORDS = ["Adobe", "Microsoft", "Mozilla", "Google", "Oracle", "VideoLAN", "Notepad", "Python", "Git", "Zoom"]


def _entries(count: int) -> list[Entry]:
    return [Entry(f"app{i}", f"{WORDS[i % 10]} Tool {i}", f"Group {i % 25}", enabled=i % 97 != 0,
                  reason="requires Memory >= 8192") for i in range(count)]


def _key_times(root: tk.Tk, var: tk.StringVar, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        started = time.perf_counter()
        var.set(text)  # what one key in the filter box does
        root.update_idletasks()  # ...and the redraw that follows it
        times.append(time.perf_counter() - started)
    return times


@pytest.mark.parametrize("kind", ["choice", "multi"])
def test_a_10000_item_list_filters_within_100_ms_of_a_key(display: str, kind: str) -> None:
    root = tk.Tk()
    try:
        look = theme.apply(root, Profile(version=1), kiosk=False)
        entries = _entries(10_000)
        widget: FilterList | GroupedChecklist
        if kind == "choice":
            widget = FilterList(root, look, entries, filter=True)
        else:
            widget = GroupedChecklist(root, look, entries)
        widget.pack(fill="both", expand=True)
        root.update()
        texts = ["m", "mi", "mic", "micr", "micro", "micros", "micro", "micr", "mic", "mi", "m", "", "tool 99",
                 "tool 9999", "x", ""]
        times = _key_times(root, widget.filter_var, texts)
        assert widget.listbox.size() > 10_000 - 1  # back to everything after the last key
        # The budget is 100 ms; the bound leaves room for a busy CI machine, the median must meet it.
        assert statistics.median(times) < 0.1, times
        assert max(times) < 0.3, times
    finally:
        root.destroy()


def _flow(spec: Path, profile: Profile) -> Flow:
    from agent.catalog.verify import load_catalog

    catalog = load_catalog(spec / "catalog.json", trust_key=None).catalog
    return Flow(profile, catalog, load_facts_file(spec / "facts" / "laptop.json"), catalog_note="file from 2026-11-20")


def test_kiosk_idle_reset_goes_back_to_the_first_page_and_the_kiosk_role(display: str, spec_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESTART_KIOSK_WINDOWED", "1")
    profile = load_profile(spec_dir / "kiosk.yaml")
    # The schema asks for at least 10 s; the shell itself takes any value.
    profile = profile._replace(kiosk=profile.kiosk._replace(idle_reset_seconds=1))
    flow = _flow(spec_dir, profile)
    app = App(flow, preview=True)
    seen: dict[str, object] = {}

    def act() -> None:
        app.next()  # welcome -> choose
        flow.role = "technician"  # as after an unlock
        flow.user = "alice@example.test"  # as after a sign-in on a login page
        flow.answers["deployment"] = "win11-core"
        seen["before"] = app.pos
        app.ask_cancel()  # a question left open: the reset closes it too

    def check() -> None:
        seen["after"] = app.pos
        seen["role"] = flow.role
        seen["user"] = flow.user
        seen["answers"] = dict(flow.answers)
        seen["dialog"] = app.dialog
        app.fail(Cancelled("test over"))

    app.root.after(100, act)
    app.root.after(2600, check)
    with pytest.raises(Cancelled):
        app.run()
    assert seen == {"before": 1, "after": 0, "role": "kiosk", "user": "", "answers": {}, "dialog": None}


def test_background_jobs_run_off_the_tk_thread_and_apply_on_it(display: str, spec_dir: Path) -> None:
    profile = load_profile(spec_dir / "technician.yaml")
    assert isinstance(profile.kiosk, KioskSettings)
    flow = _flow(spec_dir, profile)
    threads: dict[str, str] = {}
    ticks: list[float] = []
    status: list[str] = []

    def refresh():  # type: ignore[no-untyped-def]
        threads["job"] = threading.current_thread().name
        time.sleep(0.6)  # a slow network: the window must keep drawing meanwhile
        newer = Catalog(serial=8, generated=flow.catalog.generated, lists=dict(flow.catalog.lists))

        def apply() -> None:
            threads["apply"] = threading.current_thread().name
            flow.reload_catalog(newer, "network (serial 8)")

        return apply

    app = App(flow, preview=True, background=[refresh])

    def tick() -> None:
        ticks.append(time.monotonic())
        status.append(str(app.status.cget("text")))
        if len(ticks) < 20:
            app.root.after(50, tick)
        else:
            app.fail(Cancelled("test over"))

    app.root.after(0, tick)
    with pytest.raises(Cancelled):
        app.run()
    assert threads == {"job": "prestart-ui-job", "apply": threading.main_thread().name}
    assert any("refreshing catalog…" in s for s in status[:5])
    assert "catalog: network (serial 8)" in status[-1]
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.25  # never frozen
    assert flow.catalog.serial == 8 and app.pos != PREFLIGHT


def test_a_catastrophic_validation_pattern_keeps_every_key_quick(display: str, spec_dir: Path) -> None:
    """A kiosk text field validated by `(a|aa)+b`: each of 40 keys is answered within the pattern's time limit,
    so the window keeps drawing and the idle reset keeps firing (issue 19: it froze at 30 characters)."""
    from agent.patterns import REGEX_TIMEOUT
    from agent.profile.model import Field, Validation
    from ui.widgets import ValidatedEntry

    profile = load_profile(spec_dir / "kiosk.yaml")
    flow = _flow(spec_dir, profile)
    fld = Field(id="owner", type="text", variable="PrestartOwner", validate=Validation(regex="(a|aa)+b"))
    root = tk.Tk()
    try:
        look = theme.apply(root, Profile(version=1), kiosk=True)
        widget = ValidatedEntry(root, look, check=lambda text: flow.text_problem(fld, text))
        widget.pack()
        root.update()
        times = _key_times(root, widget.var, ["a" * n for n in range(1, 41)])
        assert max(times) < REGEX_TIMEOUT + 0.3, times
        assert widget.message.cget("text")  # the long value is refused, not waited for
    finally:
        root.destroy()
