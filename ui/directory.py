"""The wizard's directory fields: the OU picker (a filtered list or a tree) and the computer name check on Next."""

# Both ask the directory with the technician's own bind (agent.flow.Flow.load_ous / check_name), off the Tk
# thread (ui.background), and show what they are doing while they wait. What blocks is the profile's choice:
# an existing name warns once (Next again goes on) or blocks; "cannot ask" notes and goes on, or blocks.

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import Any

from agent.auth.directory import normal_dn, parent_dn, split_dn
from agent.flow import NameStatus, Option, State
from agent.profile.model import Field
from ui.background import in_background
from ui.theme import Look
from ui.widgets import Entry, FilterList, ValidatedEntry


class OuTree(ttk.Frame):
    """OUs as a tree (parents from the DNs), every branch open; arrows move, the selected row is the choice."""

    def __init__(self, parent: tk.Misc, look: Look, options: Sequence[Option], *, selected: str = "",
                 on_change: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.on_change = on_change
        self.selected = selected
        self.tree = ttk.Treeview(self, show="tree", selectmode="browse", height=min(10, max(5, len(options))))
        bar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.pack(side="left", fill="both", expand=True)
        bar.pack(side="right", fill="y")
        by_dn = {normal_dn(o.id): o for o in options}
        # Parents before children: fewer RDNs first, then by name.
        for option in sorted(options, key=lambda o: (len(split_dn(o.id)), o.label.casefold())):
            above = normal_dn(parent_dn(option.id))
            parent_id = by_dn[above].id if above in by_dn else ""
            text = option.label if not parent_id else split_dn(option.id)[0][1]
            self.tree.insert(parent_id, "end", iid=option.id, text=text, open=True)
        self._sort(self.tree, "")
        if selected and self.tree.exists(selected):
            self.tree.selection_set(selected)
            self.tree.focus(selected)
            self.tree.see(selected)
        elif self.tree.get_children():
            self.tree.focus(self.tree.get_children()[0])
        self.tree.bind("<<TreeviewSelect>>", self._picked)

    def _sort(self, tree: ttk.Treeview, node: str) -> None:
        children = sorted(tree.get_children(node), key=lambda c: str(tree.item(c, "text")).casefold())
        for position, child in enumerate(children):
            tree.move(child, node, position)
            self._sort(tree, child)

    @property
    def focus_widget(self) -> tk.Misc:
        return self.tree

    def _picked(self, _event: object) -> None:
        chosen = self.tree.selection()
        if chosen and chosen[0] != self.selected:
            self.selected = str(chosen[0])
            if self.on_change:
                self.on_change(self.selected)


def build_ou_field(view: Any, holder: ttk.Frame, fld: Field, state: State, value: Any) -> tuple[Any, Any]:
    """The widget of an OU field inside a form (ui.pages.FormView) and the widget that takes the focus."""
    host, look = view.host, view.look
    flow = host.flow
    if fld.ou is not None and not flow.ous_loaded(fld):
        return _loading(view, holder, fld)
    options = flow.options(fld, state.vars)
    def on_change(dn: str) -> None:
        host.trace(f"ou chosen {fld.id} {dn}")  # a DN is no secret; tests check which one the keys picked
        view._changed(fld, dn)

    shape = fld.ou.view if fld.ou is not None else fld.view
    widget: Any
    if not options:
        widget = ttk.Label(holder, text="The directory lists no OU here that you may choose.", style="Error.TLabel")
        widget.pack(anchor="w")
        return widget, None
    if shape == "tree":
        widget = OuTree(holder, look, options, selected=str(value or ""), on_change=on_change)
    else:
        entries = [Entry(o.id, o.label, o.group, o.enabled, o.reason) for o in options]
        widget = FilterList(holder, look, entries, selected=str(value or ""), filter=True, notify=host.notify,
                            on_change=on_change)
    widget.pack(fill="x")
    focus = getattr(widget, "filter_entry", None) or widget.focus_widget
    return widget, focus


def _loading(view: Any, holder: ttk.Frame, fld: Field) -> tuple[Any, Any]:
    """Read the OUs off the Tk thread; when they arrive the page is built again with them."""
    host, look = view.host, view.look
    flow = host.flow
    box = ttk.Frame(holder)
    box.pack(fill="x")
    if getattr(host, "preview", False):  # preview never talks to the network
        ttk.Label(box, text=f"Preview: the OUs under {fld.ou.base_dn if fld.ou else ''} are read from the "
                  "directory after sign-in in a real run.", style="Help.TLabel", wraplength=look.px(560),
                  justify="left").pack(anchor="w")
        return box, None
    note = flow.ou_notes.get(fld.id)
    if note:  # an earlier attempt failed: say why and offer Retry rather than asking again by itself
        ttk.Label(box, text=note, style="Error.TLabel", wraplength=look.px(560), justify="left").pack(anchor="w")

        def retry() -> None:
            flow.ou_notes.pop(fld.id, None)
            host.rebuild(focus_field=fld.id)

        button = ttk.Button(box, text="Retry", command=retry)
        button.pack(anchor="w", pady=(look.px(4), 0))
        host.trace(f"ou unavailable {fld.id}")
        return box, button
    ttk.Label(box, text="Reading the OUs from the directory…", style="Help.TLabel").pack(anchor="w")
    bar = ttk.Progressbar(box, mode="indeterminate", length=look.px(240))
    bar.pack(anchor="w")
    bar.start(15)
    host.trace(f"ou loading {fld.id}")

    def done(_items: Any, error: BaseException | None) -> None:
        from agent.errors import PrestartError

        if error is not None and not isinstance(error, PrestartError):
            flow.ou_notes[fld.id] = "Reading the OUs failed unexpectedly; the log (prestart.log) says why."
        host.trace(f"ou loaded {fld.id}")
        host.rebuild(focus_field=fld.id)
        # focus_field gives a list its rows (right after a choice); a list that just arrived starts in its filter
        # box, as when the page is first shown, so that typing narrows it instead of going nowhere.
        widget = getattr(host.view, "widgets", {}).get(fld.id)
        entry = getattr(widget, "filter_entry", None)
        if entry is not None:
            entry.focus_set()

    in_background(box, functools.partial(flow.load_ous, fld), done)
    return box, None


def names_checked(host: Any, view: Any) -> bool:
    """On Next from a form: True when every name check of the page lets the person go on.

    Starts the checks still to do in the background (False meanwhile); `host.next()` runs again when an answer
    lets the page go on by itself (a free name, or a skipped check); a warning is shown once and waits for Next.
    """
    flow = host.flow
    if getattr(host, "preview", False):
        return True  # preview never talks to the network
    for fld, state in view._fields():
        if fld.directory_check is None:
            continue
        value = str(flow.answers[fld.id] if fld.id in flow.answers else flow.initial_value(fld, state) or "")
        if not value:
            continue
        last = flow.name_checks.get(fld.id)
        retry = last is not None and last.status == "unavailable" and last.blocking
        if last is not None and last.name.casefold() == value.casefold() and not retry:
            if last.blocking:
                _show(view, fld, last)
                return False
            continue
        _start_check(host, view, fld, value)
        return False
    return True


def _show(view: Any, fld: Field, result: NameStatus) -> None:
    """The answer under the field, like a validation message: a block marks it, a warning says so in amber;
    either goes away as soon as the name is changed (ui.widgets.ValidatedEntry)."""
    view.host.trace(f"message {result.message}")
    widget = view.widgets.get(fld.id)
    if isinstance(widget, ValidatedEntry):
        if result.blocking:
            widget.show_problem(result.message)
        elif result.status == "exists":
            widget.show_warning(f"{result.message}. Press Next again to use this name anyway.")
        else:
            widget.show_note(result.message)


def _start_check(host: Any, view: Any, fld: Field, value: str) -> None:
    flow = host.flow
    widget = view.widgets.get(fld.id)
    if isinstance(widget, ValidatedEntry):
        widget.show_note(f"Checking {value} in the directory…")
    host.next_button.state(["disabled"])
    host.trace(f"name check {value}")

    def done(result: Any, error: BaseException | None) -> None:
        host.update_nav()
        if error is not None or host.view is not view:
            if error is not None:
                host.notify("The name check failed unexpectedly; the log (prestart.log) says why.")
            return
        if str(flow.answers.get(fld.id, value)).casefold() != value.casefold():
            # The name was changed while the directory was asked: this answer is about the old one (the field
            # already shows what it says about the new name, as you type).
            flow.name_checks.pop(fld.id, None)
            host.trace(f"name check outdated {value}")
            return
        _show(view, fld, result)
        # As after a failed validation (issue 26): the focus goes to the field, the line above the buttons names
        # it; the result's trace line comes last, once all of that is on screen.
        if result.blocking:
            view.focus_field(fld.id)
            host.notify(f"{fld.label} needs attention: see the marked field.")
        elif result.status == "exists":
            view.focus_field(fld.id)
            host.notify(f"{fld.label}: see the warning under it. Press Next again to go on.", warning=True)
        host.trace(f"name {result.status} {'block' if result.blocking else 'ok'}")
        if not result.blocking and result.status != "exists":
            host.next()  # a free name, or a check the profile lets the page go on without

    in_background(view.frame, functools.partial(flow.check_name, fld, value), done)
