"""Reusable widgets: a filterable list, a grouped checklist with filter and select-all, a validated entry."""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import NamedTuple

from ui.theme import Look

DISABLED_FG = "#8a8a8a"
GROUP_BG = "#e8e8e8"


class Entry(NamedTuple):
    """One row a list offers (a view of agent.flow.Option without the catalog item)."""

    id: str
    label: str
    group: str = ""
    enabled: bool = True
    reason: str = ""

    @property
    def shown(self) -> str:
        return f"{self.label}  ({self.reason})" if not self.enabled and self.reason else self.label


def _listbox(parent: tk.Misc, look: Look, height: int) -> tuple[tk.Listbox, ttk.Frame]:
    frame = ttk.Frame(parent)
    box = tk.Listbox(
        frame,
        height=height,
        exportselection=False,
        activestyle="none",
        font=look.body,
        selectbackground=look.accent,
        selectforeground=look.accent_text,
        highlightthickness=2,
        highlightcolor=look.accent,
        relief="solid",
        borderwidth=1,
    )
    bar = ttk.Scrollbar(frame, orient="vertical", command=box.yview)
    box.configure(yscrollcommand=bar.set)
    box.pack(side="left", fill="both", expand=True)
    bar.pack(side="right", fill="y")
    return box, frame


def breaking(action: Callable[[], object]) -> Callable[[tk.Event], str]:
    """An event handler that runs `action` and stops the event there (no class or window binding runs)."""

    def handler(_event: tk.Event) -> str:
        action()
        return "break"

    return handler


def _filter_row(owner: ttk.Frame, var: tk.StringVar, look: Look, refilter: Callable[[], object]) -> ttk.Entry:
    """A "Filter:" box above a list; the list is filtered again on every change."""
    row = ttk.Frame(owner)
    ttk.Label(row, text="Filter:").pack(side="left")
    entry = ttk.Entry(row, textvariable=var, font=look.body)
    entry.pack(side="left", fill="x", expand=True, padx=(look.px(6), 0))
    row.pack(fill="x", pady=(0, look.px(4)))
    var.trace_add("write", lambda *_: refilter())
    return entry


def _bind_filter_keys(entry: ttk.Entry, move: Callable[[int], object]) -> None:
    # Arrows in the filter box move through the list, as in a drop-down with type-to-filter.
    entry.bind("<Down>", breaking(lambda: move(1)))
    entry.bind("<Up>", breaking(lambda: move(-1)))


class FilterList(ttk.Frame):
    """A single-choice list; with `filter`, a box above it narrows the rows as you type.

    A plain Listbox refilled with one `insert` call keeps a 10,000-row filter within its budget per key
    (docs/performance.md); ttk.Treeview needs one detach per row.
    """

    def __init__(
        self,
        parent: tk.Misc,
        look: Look,
        entries: Sequence[Entry],
        *,
        selected: str = "",
        on_change: Callable[[str], None] | None = None,
        filter: bool = False,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.entries = list(entries)
        self.selected = selected
        self.on_change = on_change
        self.notify = notify
        self._keys = [f"{e.label} {e.id}".casefold() for e in self.entries]
        self.shown: list[int] = []
        self.filter_var = tk.StringVar(master=self)
        self.filter_entry: ttk.Entry | None = None
        if filter:
            self.filter_entry = _filter_row(self, self.filter_var, look, self.refilter)
            _bind_filter_keys(self.filter_entry, self.move)
        height = max(2, min(len(self.entries), 8 if look.kiosk else 7))
        self.listbox, frame = _listbox(self, look, height)
        frame.pack(fill="both", expand=True)
        for key, step in (("<Down>", 1), ("<Up>", -1), ("<Next>", height), ("<Prior>", -height)):
            self.listbox.bind(key, breaking(functools.partial(self.move, step)))
        self.listbox.bind("<Home>", breaking(lambda: self.move(-len(self.entries))))
        self.listbox.bind("<End>", breaking(lambda: self.move(len(self.entries))))
        self.listbox.bind("<<ListboxSelect>>", self._clicked)
        self.refilter()

    @property
    def focus_widget(self) -> tk.Misc:
        return self.listbox

    def refilter(self) -> None:
        text = self.filter_var.get().strip().casefold()
        keys = self._keys
        self.shown = [i for i, key in enumerate(keys) if text in key] if text else list(range(len(keys)))
        box = self.listbox
        box.delete(0, "end")
        if self.shown:
            box.insert("end", *(self.entries[i].shown for i in self.shown))
        for row, index in enumerate(self.shown):
            if not self.entries[index].enabled:
                box.itemconfigure(row, foreground=DISABLED_FG, selectforeground=DISABLED_FG)
        self._show_selection()

    def _row_of(self, entry_id: str) -> int | None:
        for row, index in enumerate(self.shown):
            if self.entries[index].id == entry_id:
                return row
        return None

    def _show_selection(self) -> None:
        box = self.listbox
        box.selection_clear(0, "end")
        row = self._row_of(self.selected) if self.selected else None
        if row is not None:
            box.selection_set(row)
            box.activate(row)
            box.see(row)

    def _choose_row(self, row: int) -> None:
        entry = self.entries[self.shown[row]]
        if not entry.enabled:
            if self.notify:
                self.notify(f"{entry.label} cannot be chosen: {entry.reason}")
            self._show_selection()
            return
        if entry.id != self.selected:
            self.selected = entry.id
            if self.on_change:
                self.on_change(entry.id)
        self._show_selection()

    def move(self, step: int) -> None:
        """Select the next enabled row `step` rows away (skipping disabled ones)."""
        if not self.shown:
            return
        current = self._row_of(self.selected) if self.selected else None
        if current is None:
            start = 0 if step > 0 else len(self.shown) - 1
            candidates = range(start, len(self.shown)) if step > 0 else range(start, -1, -1)
        else:
            target = max(0, min(len(self.shown) - 1, current + step))
            direction = 1 if step > 0 else -1
            candidates = range(target, len(self.shown) if direction > 0 else -1, direction)
        for row in candidates:
            if self.entries[self.shown[row]].enabled:
                self._choose_row(row)
                return

    def _clicked(self, _event: object) -> None:
        picked = self.listbox.curselection()
        if picked:
            self._choose_row(int(picked[0]))


class GroupedChecklist(ttk.Frame):
    """A multi-choice checklist grouped by the items' `group`: a filter box, and a header row per group
    that selects (or clears) every visible item of that group with Space, Enter-free, or a click."""

    def __init__(
        self,
        parent: tk.Misc,
        look: Look,
        entries: Sequence[Entry],
        *,
        checked: Sequence[str] = (),
        on_change: Callable[[list[str]], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.entries = list(entries)
        self.checked = {c for c in checked}
        self.on_change = on_change
        self.notify = notify
        self._keys = [f"{e.label} {e.id} {e.group}".casefold() for e in self.entries]
        self.groups: dict[str, list[int]] = {}
        for index, entry in enumerate(self.entries):
            self.groups.setdefault(entry.group, []).append(index)
        self.rows: list[tuple[str, str | int]] = []  # ("group", name) or ("item", entry index)
        self.filter_var = tk.StringVar(master=self)
        self.filter_entry = _filter_row(self, self.filter_var, look, self.refilter)
        self.count = ttk.Label(self, style="Help.TLabel")
        rows = len(self.entries) + (len(self.groups) if len(self.groups) > 1 else 0)
        self.listbox, frame = _listbox(self, look, max(3, min(rows, 8)))
        frame.pack(fill="both", expand=True)
        self.count.pack(anchor="w")
        box = self.listbox
        box.bind("<Down>", breaking(lambda: self.move(1)))
        box.bind("<Up>", breaking(lambda: self.move(-1)))
        box.bind("<Home>", breaking(lambda: self.move(-len(self.rows))))
        box.bind("<End>", breaking(lambda: self.move(len(self.rows))))
        box.bind("<space>", breaking(self.toggle_current))
        box.bind("<ButtonRelease-1>", self._clicked)
        box.bind("<<ListboxSelect>>", lambda _e: "break")
        _bind_filter_keys(self.filter_entry, self._move_from_filter)
        self.refilter()

    @property
    def focus_widget(self) -> tk.Misc:
        return self.listbox

    def _text(self, kind: str, key: str | int) -> str:
        if kind == "group":
            members = self.groups[str(key)]
            done = sum(1 for i in members if self.entries[i].id in self.checked)
            name = str(key) or "Other"
            return f"{name}  ({done}/{len(members)}) — select all"
        entry = self.entries[int(key)]
        mark = "[x]" if entry.id in self.checked else "[ ]"
        return f"    {mark} {entry.shown}"

    def refilter(self) -> None:
        text = self.filter_var.get().strip().casefold()
        keys = self._keys
        grouped = len(self.groups) > 1
        rows: list[tuple[str, str | int]] = []
        for name, members in self.groups.items():
            visible = [i for i in members if text in keys[i]] if text else members
            if not visible:
                continue
            if grouped:
                rows.append(("group", name))
            rows.extend(("item", i) for i in visible)
        self.rows = rows
        box = self.listbox
        current = box.curselection()
        box.delete(0, "end")
        if rows:
            box.insert("end", *(self._text(kind, key) for kind, key in rows))
        for row, (kind, key) in enumerate(rows):
            if kind == "group":
                box.itemconfigure(row, background=GROUP_BG)
            elif not self.entries[int(key)].enabled:
                box.itemconfigure(row, foreground=DISABLED_FG)
        if current and int(current[0]) < len(rows):
            self._select(int(current[0]))
        self._count()

    def _count(self) -> None:
        self.count.configure(text=f"{len(self.checked)} selected of {len(self.entries)}")

    def _select(self, row: int) -> None:
        box = self.listbox
        box.selection_clear(0, "end")
        box.selection_set(row)
        box.activate(row)
        box.see(row)

    def _move_from_filter(self, step: int) -> None:
        self.listbox.focus_set()
        self.move(step)

    def move(self, step: int) -> None:
        if not self.rows:
            return
        current = self.listbox.curselection()
        row = (0 if step > 0 else len(self.rows) - 1) if not current else int(current[0]) + step
        self._select(max(0, min(len(self.rows) - 1, row)))

    def _redraw(self, row: int) -> None:
        kind, key = self.rows[row]
        box = self.listbox
        selected = box.curselection()
        box.delete(row)
        box.insert(row, self._text(kind, key))
        if kind == "group":
            box.itemconfigure(row, background=GROUP_BG)
        elif not self.entries[int(key)].enabled:
            box.itemconfigure(row, foreground=DISABLED_FG)
        if selected:
            self._select(int(selected[0]))

    def _redraw_group(self, group: str) -> None:
        for row, (kind, key) in enumerate(self.rows):
            if kind == "group" and key == group:
                self._redraw(row)
                return

    def toggle_row(self, row: int) -> None:
        kind, key = self.rows[row]
        if kind == "group":
            # Select-all acts on the rows the filter shows, so "filter, then select all" works.
            members = [int(k) for kd, k in self.rows if kd == "item" and self.entries[int(k)].group == key]
            usable = [i for i in members if self.entries[i].enabled]
            if all(self.entries[i].id in self.checked for i in usable):
                self.checked -= {self.entries[i].id for i in usable}
            else:
                self.checked |= {self.entries[i].id for i in usable}
            for other, (kd, k) in enumerate(self.rows):
                if kd == "item" and int(k) in members:
                    self._redraw(other)
            self._redraw(row)
        else:
            entry = self.entries[int(key)]
            if not entry.enabled:
                if self.notify:
                    self.notify(f"{entry.label} cannot be chosen: {entry.reason}")
                return
            self.checked ^= {entry.id}
            self._redraw(row)
            self._redraw_group(entry.group)
        self._count()
        if self.on_change:
            self.on_change(self.value())

    def toggle_current(self) -> None:
        current = self.listbox.curselection()
        if current:
            self.toggle_row(int(current[0]))
        else:
            self.move(1)

    def _clicked(self, event: tk.Event) -> None:
        if not self.rows:
            return
        row = self.listbox.nearest(event.y)
        self._select(row)
        self.toggle_row(row)

    def value(self) -> list[str]:
        """Checked ids in catalog order (the flow orders them again; this keeps the display stable)."""
        return [e.id for e in self.entries if e.id in self.checked]


class ValidatedEntry(ttk.Frame):
    """A text entry whose problem (from `check`) shows beneath it as you type."""

    def __init__(
        self,
        parent: tk.Misc,
        look: Look,
        *,
        value: str = "",
        check: Callable[[str], str | None],
        on_change: Callable[[str], None] | None = None,
        secret: bool = False,
        locked: str = "",
    ) -> None:
        super().__init__(parent)
        self.check = check
        self.on_change = on_change
        self.var = tk.StringVar(master=self, value=value)
        self.entry = ttk.Entry(self, textvariable=self.var, font=look.body, show="•" if secret else "")
        self.entry.pack(fill="x")
        self.message = ttk.Label(self, style="Error.TLabel")
        self.message.pack(anchor="w")
        if locked:
            self.entry.state(["readonly"])
            self.message.configure(text=locked, style="Help.TLabel")
        else:
            self.var.trace_add("write", lambda *_: self._changed())

    @property
    def focus_widget(self) -> tk.Misc:
        return self.entry

    def _changed(self) -> None:
        text = self.var.get()
        self.message.configure(text=self.check(text) or "")
        if self.on_change:
            self.on_change(text)

    def show_problem(self, text: str) -> None:
        self.message.configure(text=text, style="Error.TLabel")
