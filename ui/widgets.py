"""Reusable widgets: a scrolling page body, a default button that follows focus, a filterable list, a grouped
checklist with filter and select-all, a validated entry."""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import NamedTuple

from ui.marks import BALLOT, check_marks
from ui.theme import Look

DISABLED_FG = "#8a8a8a"
GROUP_BG = "#e8e8e8"


CHECKED, UNCHECKED = BALLOT.checked, BALLOT.unchecked  # ☑ ☐ where a font has them (ui/marks.py)
WARNING_SIGN = "\u26a0"  # ⚠ before a field's problem, beside the red border


class Entry(NamedTuple):
    """One row a list offers (a view of agent.flow.Option without the catalog item)."""

    id: str
    label: str
    group: str = ""
    enabled: bool = True
    reason: str = ""
    description: str = ""

    @property
    def shown(self) -> str:
        text = f"{self.label}  \u2014  {self.description}" if self.description else self.label
        return f"{text}  \u2014  not available: {self.reason}" if not self.enabled and self.reason else text

    @property
    def detail(self) -> str:
        """The row in full, for the line under the list (a long row is cut off at the list's edge)."""
        text = f"{self.label}: {self.description}" if self.description else self.label
        if not self.enabled:
            text += f"\nNot available: {self.reason or 'not offered here'}"
        return text


def matches(words: Sequence[str], key: str) -> bool:
    """Every word of the filter is somewhere in the row, in any order ("dep 003" finds "dep-003")."""
    return all(word in key for word in words)


def _key(entry: Entry) -> str:
    return f"{entry.label} {entry.id} {entry.group} {entry.description}".casefold()


class ScrollFrame(ttk.Frame):
    """The page body: its content scrolls when it is taller than the window (scrollbar, mouse wheel, Page
    Up/Down), and whatever gets the keyboard focus is scrolled into view with its label."""

    WHEEL_LISTS = ("Listbox", "Treeview", "Text")  # these scroll themselves under the wheel

    def __init__(self, parent: tk.Misc, *, padding: tuple[int, int]) -> None:
        super().__init__(parent)
        background = ttk.Style(self).lookup("TFrame", "background") or "#dcdad5"
        self.canvas = tk.Canvas(self, highlightthickness=0, borderwidth=0, background=background, takefocus=0)
        self.bar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self._scrolled)
        self.on_scroll: Callable[[float, float], None] | None = None
        self.inner = ttk.Frame(self.canvas, padding=padding)
        self._window = self.canvas.create_window(0, 0, window=self.inner, anchor="nw")
        self.canvas.pack(side="left", fill="both", expand=True)
        self._pending = False
        self._height = 0  # the view's height at the last layout
        self.inner.bind("<Configure>", self._later, add="+")
        self.canvas.bind("<Configure>", self._later, add="+")
        root = self.winfo_toplevel()
        for sequence in ("<MouseWheel>", "<Button-4>", "<Button-5>"):
            root.bind_all(sequence, self._wheel, add="+")
        root.bind_all("<FocusIn>", self._focus_in, add="+")

    def _scrolled(self, first: float, last: float) -> None:  # Tcl passes them as text
        self.bar.set(first, last)
        if self.on_scroll is not None:
            self.on_scroll(float(first), float(last))

    def visible(self, widget: tk.Misc) -> bool:
        """Whether all of `widget` is inside the part of the page on screen."""
        top, height = widget.winfo_rooty(), widget.winfo_height()
        view_top = self.canvas.winfo_rooty()
        screen = self.winfo_screenheight()
        return view_top <= top and top + height <= min(view_top + self.canvas.winfo_height(), screen)

    @property
    def scrolls(self) -> bool:
        return bool(self.bar.winfo_ismapped())

    def _later(self, _event: object = None) -> None:
        if not self._pending:
            self._pending = True
            self.after_idle(self.layout)

    def layout(self) -> None:
        """Fit the content to the visible width; stretch it to the visible height or scroll it."""
        self._pending = False
        canvas = self.canvas
        width, height = canvas.winfo_width(), canvas.winfo_height()
        if width <= 1:
            return
        needed = self.inner.winfo_reqheight()
        canvas.itemconfigure(self._window, width=width, height=max(height, needed))
        canvas.configure(scrollregion=(0, 0, width, max(height, needed)))
        if needed > height and not self.scrolls:
            self.bar.pack(side="right", fill="y", before=canvas)
        elif needed <= height and self.scrolls:
            self.bar.pack_forget()
            canvas.yview_moveto(0)
        grew, self._height = height > self._height, height
        if grew and self.scrolls:  # only when the view itself grew: never while the page is being used
            self._refit()

    def top(self) -> None:
        """A new page starts at its top."""
        self.canvas.yview_moveto(0)
        self._later()

    def _inside(self, widget: object) -> bool:
        return isinstance(widget, tk.Misc) and str(widget).startswith(str(self.inner) + ".")

    def scroll(self, units: int) -> None:
        if self.scrolls:
            self.canvas.yview_scroll(units, "units")

    def page(self, pages: int) -> None:
        if self.scrolls:
            self.canvas.yview_scroll(pages, "pages")

    def _wheel(self, event: tk.Event) -> None:
        widget = event.widget
        if not self._inside(widget) or widget.winfo_class() in self.WHEEL_LISTS:
            return
        if event.num == 4 or event.delta > 0:
            self.scroll(-3)
        elif event.num == 5 or event.delta < 0:
            self.scroll(3)

    def _focus_in(self, event: tk.Event) -> None:
        widget = event.widget
        if self._inside(widget):
            self.after_idle(lambda: self.show(widget))

    def _extent(self, widget: tk.Misc) -> tuple[int, int] | None:
        """Where `widget` and the field around it (its label, its problem) lie on the page: (top, bottom)."""
        try:
            field = widget
            # Pages pack one holder frame per field into the page frame, itself in `inner`.
            while field.master is not None and field.master.master is not None and \
                    field.master.master is not self.inner:
                field = field.master
            if field.master is None or field.master.master is not self.inner:
                field = widget
            top = field.winfo_rooty() - self.inner.winfo_rooty()
            bottom = top + field.winfo_height()
            wtop = widget.winfo_rooty() - self.inner.winfo_rooty()
        except tk.TclError:
            return None
        if bottom - top > self.canvas.winfo_height():  # a field taller than the view: its top, then the widget
            top, bottom = min(top, wtop), min(bottom, wtop + widget.winfo_height())
        return top, bottom

    def show(self, widget: tk.Misc) -> None:
        """Scroll so that `widget`, and the field around it (its label, its problem), can be seen."""
        if not self.scrolls:
            return
        extent = self._extent(widget)
        if extent is None:
            return
        top, bottom = extent
        total = max(1, self.inner.winfo_height())
        view_top = self.canvas.canvasy(0)
        view_height = self.canvas.winfo_height()
        if top < view_top:
            self.canvas.yview_moveto(max(0, top) / total)
        elif bottom > view_top + view_height:
            self.canvas.yview_moveto(max(0, bottom - view_height) / total)

    def _refit(self) -> None:
        """After the view grew, scroll no further than the focused field needs. The focus can arrive while the
        window still has its first, smaller size (under Windows it is maximised a moment after it is drawn):
        scrolled for that size, the page would keep its top, padding and first label, hidden for good."""
        try:
            focused = self.focus_get()
        except KeyError:  # a Tcl-only widget has it: not ours
            return
        if focused is None or not self._inside(focused):
            return
        extent = self._extent(focused)
        if extent is None:
            return
        top, bottom = extent
        needed = max(0, bottom - self.canvas.winfo_height())
        if needed < self.canvas.canvasy(0) and needed <= top:
            self.canvas.yview_moveto(needed / max(1, self.inner.winfo_height()))


class DefaultButton:
    """Of a row of buttons, the one with the keyboard focus is drawn as the default (Enter presses the
    focused button); when none has it, `default` is (None: no button is the default)."""

    def __init__(self, buttons: Sequence[ttk.Button], default: ttk.Button | None,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.buttons = list(buttons)
        self.default = default
        self.focused: ttk.Button | None = None
        self.on_change = on_change
        self._drawn: ttk.Button | None = None
        for button in self.buttons:
            button.bind("<FocusIn>", functools.partial(self._focus, button), add="+")
            button.bind("<FocusOut>", functools.partial(self._focus, None), add="+")
        self.draw()

    def _focus(self, button: ttk.Button | None, _event: object) -> None:
        self.focused = button
        self.draw()

    def set_default(self, button: ttk.Button | None) -> None:
        self.default = button
        self.draw()

    @property
    def shown(self) -> ttk.Button | None:
        """The button drawn as the default now."""
        return self.focused or self.default

    def draw(self) -> None:
        shown = self.shown
        for button in self.buttons:
            button.configure(style="Accent.TButton" if button is shown else "TButton")
        if shown is not self._drawn:
            self._drawn = shown
            if self.on_change is not None:
                self.on_change(str(shown.cget("text")) if shown is not None else "none")


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


def _detail_label(owner: ttk.Frame, look: Look) -> ttk.Label:
    """A line under a list with the current row in full: its description, or why it cannot be chosen."""
    label = ttk.Label(owner, style="Help.TLabel", justify="left")
    label.pack(anchor="w", fill="x")
    owner.bind("<Configure>", lambda e: label.configure(wraplength=max(200, e.width - look.px(8))), add="+")
    return label


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
        on_filter: Callable[[int, str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.entries = list(entries)
        self.selected = selected
        self.on_change = on_change
        self.notify = notify
        self.on_filter: Callable[[int, str], None] | None = None  # set once built: only changes are reported
        self._keys = [_key(e) for e in self.entries]
        self.shown: list[int] = []
        self.filter_var = tk.StringVar(master=self)
        self.filter_entry: ttk.Entry | None = None
        if filter:
            self.filter_entry = _filter_row(self, self.filter_var, look, self.refilter)
            _bind_filter_keys(self.filter_entry, self.move)
        height = max(2, min(len(self.entries), 8 if look.kiosk else 7))
        self.listbox, frame = _listbox(self, look, height)
        frame.pack(fill="both", expand=True)
        self.detail = _detail_label(self, look)
        for key, step in (("<Down>", 1), ("<Up>", -1), ("<Next>", height), ("<Prior>", -height)):
            self.listbox.bind(key, breaking(functools.partial(self.move, step)))
        self.listbox.bind("<Home>", breaking(lambda: self.edge(last=False)))
        self.listbox.bind("<End>", breaking(lambda: self.edge(last=True)))
        self.listbox.bind("<<ListboxSelect>>", self._clicked)
        self.refilter()
        self.on_filter = on_filter

    @property
    def focus_widget(self) -> tk.Misc:
        return self.listbox

    def refilter(self) -> None:
        words = self.filter_var.get().casefold().split()
        keys = self._keys
        self.shown = [i for i, key in enumerate(keys) if matches(words, key)] if words else list(range(len(keys)))
        box = self.listbox
        box.delete(0, "end")
        if self.shown:
            box.insert("end", *(self.entries[i].shown for i in self.shown))
        for row, index in enumerate(self.shown):
            if not self.entries[index].enabled:
                box.itemconfigure(row, foreground=DISABLED_FG, selectforeground=DISABLED_FG)
        self._show_selection()
        if not self.shown and words:
            self.detail.configure(text=f"Nothing matches \u201c{self.filter_var.get().strip()}\u201d. "
                                       "Change or clear the filter to see every item.", style="Error.TLabel")
        if self.on_filter is not None:
            self.on_filter(len(self.shown), self.filter_var.get())

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
        chosen = next((e for e in self.entries if e.id == self.selected), None) if self.selected else None
        self.detail.configure(text=chosen.detail if chosen is not None else "", style="Help.TLabel")

    def _choose_row(self, row: int) -> None:
        entry = self.entries[self.shown[row]]
        if not entry.enabled:
            self._show_selection()
            # The reason in full under the list (the row itself may be cut off at the list's edge).
            self.detail.configure(text=entry.detail, style="Error.TLabel")
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

    def edge(self, *, last: bool) -> None:
        """Home / End: the first or the last enabled row."""
        rows = range(len(self.shown) - 1, -1, -1) if last else range(len(self.shown))
        for row in rows:
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
        on_filter: Callable[[int, str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.entries = list(entries)
        self.checked = {c for c in checked}
        self.on_change = on_change
        self.notify = notify
        self.on_filter: Callable[[int, str], None] | None = None  # set once built: only changes are reported
        self.marks = check_marks(self, look.body.actual("family"))
        self._keys = [_key(e) for e in self.entries]
        self.groups: dict[str, list[int]] = {}
        for index, entry in enumerate(self.entries):
            self.groups.setdefault(entry.group, []).append(index)
        self.rows: list[tuple[str, str | int]] = []  # ("group", name) or ("item", entry index)
        self.filter_var = tk.StringVar(master=self)
        self.filter_entry = _filter_row(self, self.filter_var, look, self.refilter)
        self.count = ttk.Label(self, style="Help.TLabel")
        rows = len(self.entries) + (len(self.groups) if len(self.groups) > 1 else 0)
        height = max(3, min(rows, 8))
        self.listbox, frame = _listbox(self, look, height)
        frame.pack(fill="both", expand=True)
        self.count.pack(anchor="w")
        self.detail = _detail_label(self, look)
        box = self.listbox
        box.bind("<Down>", breaking(lambda: self.move(1)))
        box.bind("<Up>", breaking(lambda: self.move(-1)))
        box.bind("<Next>", breaking(lambda: self.move(height)))
        box.bind("<Prior>", breaking(lambda: self.move(-height)))
        box.bind("<Home>", breaking(lambda: self.goto(0)))
        box.bind("<End>", breaking(lambda: self.goto(len(self.rows) - 1)))
        box.bind("<space>", breaking(self.toggle_current))
        box.bind("<ButtonRelease-1>", self._clicked)
        box.bind("<<ListboxSelect>>", lambda _e: "break")
        _bind_filter_keys(self.filter_entry, self._move_from_filter)
        self.refilter()
        self.on_filter = on_filter

    @property
    def focus_widget(self) -> tk.Misc:
        return self.listbox

    def _text(self, kind: str, key: str | int) -> str:
        if kind == "group":
            members = self.groups[str(key)]
            done = sum(1 for i in members if self.entries[i].id in self.checked)
            name = str(key) or "Other"
            return f"{name}  ({done}/{len(members)}) \u2014 Space: select all"
        entry = self.entries[int(key)]
        mark = self.marks.checked if entry.id in self.checked else self.marks.unchecked
        return f"   {mark}  {entry.shown}"

    def refilter(self) -> None:
        words = self.filter_var.get().casefold().split()
        keys = self._keys
        grouped = len(self.groups) > 1
        rows: list[tuple[str, str | int]] = []
        for name, members in self.groups.items():
            visible = [i for i in members if matches(words, keys[i])] if words else members
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
        if not rows and words:
            self.detail.configure(text=f"Nothing matches \u201c{self.filter_var.get().strip()}\u201d. "
                                       "Change or clear the filter to see every item.", style="Error.TLabel")
        elif not current:
            self.detail.configure(text="")
        if self.on_filter is not None:
            self.on_filter(sum(1 for kind, _ in rows if kind == "item"), self.filter_var.get())

    def _count(self) -> None:
        self.count.configure(text=f"{len(self.checked)} selected of {len(self.entries)}")

    def _select(self, row: int) -> None:
        box = self.listbox
        box.selection_clear(0, "end")
        box.selection_set(row)
        box.activate(row)
        box.see(row)
        kind, key = self.rows[row]
        if kind == "item":
            entry = self.entries[int(key)]
            self.detail.configure(text=entry.detail, style="Help.TLabel" if entry.enabled else "Error.TLabel")
        else:
            self.detail.configure(text="")

    def goto(self, row: int) -> None:
        """Home / End: the first or last row."""
        if self.rows:
            self._select(max(0, min(len(self.rows) - 1, row)))

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
                self.detail.configure(text=entry.detail, style="Error.TLabel")
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
        self.message = ttk.Label(self, style="Error.TLabel", justify="left")
        self.message.pack(anchor="w", fill="x")
        # A long message (a name check's answer names a whole DN) wraps at the entry's width on a small screen.
        self.bind("<Configure>", lambda e: self.message.configure(wraplength=max(200, e.width - look.px(8))), add="+")
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
        problem = self.check(text)
        if problem:
            self.show_problem(problem)
        else:
            self.clear_problem()
        if self.on_change:
            self.on_change(text)

    def show_problem(self, text: str) -> None:
        """Mark the entry: red border, a warning sign and the message right under it."""
        self.entry.configure(style="Invalid.TEntry")
        self.message.configure(text=f"{WARNING_SIGN} {text}", style="Error.TLabel")

    def show_warning(self, text: str) -> None:
        """Something to know before going on (a computer name already in the directory): a sign, in amber."""
        self.entry.configure(style="TEntry")
        self.message.configure(text=f"{WARNING_SIGN} {text}", style="FieldWarning.TLabel")

    def show_note(self, text: str) -> None:
        """A plain line under the entry (the name check's progress or its answer)."""
        self.entry.configure(style="TEntry")
        self.message.configure(text=text, style="Help.TLabel")

    def clear_problem(self) -> None:
        self.entry.configure(style="TEntry")
        self.message.configure(text="", style="Error.TLabel")
