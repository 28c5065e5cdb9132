"""One view per page kind (form, info, confirm, login, preflight) and per field kind inside a form."""

from __future__ import annotations

import contextlib
import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import Any, Protocol

from agent.flow import CheckResult, FieldError, Flow, Option, State
from agent.profile.model import Field, Page
from ui.theme import ERROR_FG, Look
from ui.widgets import WARNING_SIGN, Entry, FilterList, GroupedChecklist, ValidatedEntry

UNMARKED = "#d9d9d9"  # a Listbox's own highlight colour without focus
# Longer lists get a filter box (type to filter); shorter ones show every row at once.
FILTER_FROM = 10


class Host(Protocol):
    """What a page needs from the window around it (ui.app.App)."""

    flow: Flow
    look: Look
    typed: dict[str, str]

    def notify(self, text: str, *, error: bool = True, warning: bool = False) -> None: ...
    def clear_notice(self) -> None: ...
    def update_nav(self) -> None: ...
    def rebuild(self, focus_field: str = "") -> None: ...
    def retry_preflight(self) -> None: ...
    def trace(self, text: str) -> None: ...


def _plain(fld: Field, message: str) -> str:
    """A FieldError's message without the field's label or id in front: it sits right under the field."""
    for prefix in (f"{fld.label}: ", f"{fld.id}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _entries(options: Sequence[Option]) -> list[Entry]:
    return [Entry(o.id, o.label, o.group, o.enabled, o.reason, o.description) for o in options]


class PageView:
    """A page's widgets inside the window body; built when shown, destroyed when left."""

    def __init__(self, host: Host, parent: tk.Misc) -> None:
        self.host = host
        self.look = host.look
        self.frame = ttk.Frame(parent)
        self.first_focus: tk.Misc | None = None
        self._wrapped: list[ttk.Label] = []
        self.frame.bind("<Configure>", self._rewrap)

    def text(self, text: str, style: str = "TLabel", **pack: Any) -> ttk.Label:
        label = ttk.Label(self.frame, text=text, style=style, justify="left")
        label.pack(anchor="w", fill="x", **pack)
        self._wrapped.append(label)
        return label

    def _rewrap(self, event: tk.Event) -> None:
        width = max(200, event.width - self.look.px(8))
        for label in self._wrapped:
            label.configure(wraplength=width)

    def validate(self) -> bool:
        """Called on Next; False keeps the person on the page (with the problems shown)."""
        return True

    def can_advance(self) -> bool:
        """Whether Next/Finish is enabled right now."""
        return True

    def destroy(self) -> None:
        self.frame.destroy()


class FormView(PageView):
    """A form: the page's visible fields, each with its own view."""

    def __init__(self, host: Host, parent: tk.Misc, index: int, page: Page) -> None:
        super().__init__(host, parent)
        self.index = index
        self.page = page
        self.errors: dict[str, ttk.Label] = {}
        self.problems: list[str] = []  # field ids the last validate() marked
        self.widgets: dict[str, Any] = {}
        flow = host.flow
        if page.text:
            self.text(flow.render(page.text, flow.walk(index)), pady=(0, self.look.px(8)))
        self.visible = [fld.id for fld, _ in self._fields()]
        for fld, state in self._fields():
            self._build(fld, state)

    def _fields(self) -> list[tuple[Field, State]]:
        """Visible fields with the state each one sees (earlier fields of this page applied)."""
        flow = self.host.flow
        state = flow.walk(self.index)
        out = []
        for fld in self.page.fields:
            if not flow.field_visible(fld, state.vars):
                continue
            out.append((fld, state.copy()))
            answered = fld.id in flow.answers
            value = flow.answers[fld.id] if answered else flow.initial_value(fld, state)
            with contextlib.suppress(FieldError):
                flow.apply_field(fld, value, state, answered=answered)
        return out

    def _value(self, fld: Field, state: State) -> Any:
        flow = self.host.flow
        return flow.answers[fld.id] if fld.id in flow.answers else flow.initial_value(fld, state)

    def _changed(self, fld: Field, value: Any) -> None:
        flow = self.host.flow
        flow.answers[fld.id] = value
        # PRESTART_UI_TRACE: what the person chose, so tests can tell which row a key selected.
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else value
        self.host.trace(f"answer {fld.id} {'********' if fld.is_secret else shown}")
        if flow.name_checks.pop(fld.id, None) is not None:
            # The directory's answer was about the name before this change: Next asks again (ui/directory.py).
            self.host.clear_notice()
        self._unmark(fld.id)
        # A later field of this page may appear or disappear because of this answer.
        if [f.id for f, _ in self._fields()] != self.visible:
            self.host.rebuild(focus_field=fld.id)
        else:
            self.host.update_nav()

    def _filtered(self, fld: Field) -> Callable[[int, str], None]:
        """PRESTART_UI_TRACE: how many rows a list's filter leaves for the words typed (tests of the filter)."""
        return lambda rows, words: self.host.trace(f"filtered {fld.id} {rows}: {words}")

    def _checked(self, fld: Field, var: tk.BooleanVar) -> None:
        self._changed(fld, bool(var.get()))

    def _build(self, fld: Field, state: State) -> None:
        flow, look = self.host.flow, self.look
        pad = look.px(10)
        locked = flow.locked_by(fld, state)
        note = f"Set by {flow.describe_rule(locked)}; it cannot be changed here." if locked else ""
        value = self._value(fld, state)
        holder = ttk.Frame(self.frame)
        holder.pack(fill="both", expand=fld.type == "multi", pady=(0, pad))
        widget: Any
        if fld.type != "checkbox":
            ttk.Label(holder, text=fld.label + (" *" if fld.required else "")).pack(anchor="w")
        if fld.help:
            ttk.Label(holder, text=fld.help, style="Help.TLabel", wraplength=look.px(560)).pack(anchor="w")
        if fld.type == "choice":
            options = flow.options(fld, state.vars)
            widget = FilterList(holder, look, _entries(options), selected=str(value or ""),
                                filter=fld.filter or len(options) >= FILTER_FROM, notify=self.host.notify,
                                on_change=functools.partial(self._changed, fld), on_filter=self._filtered(fld))
            widget.pack(fill="x")
            if locked:
                widget.listbox.configure(state="disabled", takefocus=0)
            focus = widget.filter_entry or widget.focus_widget
        elif fld.type == "multi":
            widget = GroupedChecklist(holder, look, _entries(flow.options(fld, state.vars)),
                                      checked=[str(v) for v in (value or [])], notify=self.host.notify,
                                      on_change=functools.partial(self._changed, fld), on_filter=self._filtered(fld))
            widget.pack(fill="both", expand=True)
            focus = widget.focus_widget
            marks = widget.marks
            self.host.trace(f"check marks {marks.unchecked} {marks.checked} from {marks.font or 'fallback'}")
        elif fld.type == "checkbox":
            var = tk.BooleanVar(master=holder, value=bool(value))
            widget = ttk.Checkbutton(holder, text=fld.label, variable=var,
                                     command=functools.partial(self._checked, fld, var))
            if locked:
                widget.state(["disabled"])
            widget.pack(anchor="w")
            focus = widget
        elif fld.type in ("text", "password"):
            widget = ValidatedEntry(holder, look, value=str(value or ""), secret=fld.is_secret, locked=note,
                                    check=functools.partial(flow.text_problem, fld),
                                    on_change=functools.partial(self._changed, fld))
            widget.pack(fill="x")
            focus = widget.focus_widget
        elif fld.type == "ou":  # from the directory or a static list: ui.directory
            from ui.directory import build_ou_field

            widget, focus = build_ou_field(self, holder, fld, state, value)
        else:  # the schema knows no other kinds; show something rather than nothing
            widget = ttk.Label(holder, text=f"(field type {fld.type!r} is not shown by this version)")
            widget.pack(anchor="w")
            focus = None
        if locked and fld.type not in ("text", "password"):
            ttk.Label(holder, text=note, style="Help.TLabel").pack(anchor="w")
        if isinstance(widget, ValidatedEntry):
            error = widget.message  # a text field shows its problem under itself, as you type
        else:
            error = ttk.Label(holder, style="Error.TLabel")
            error.pack(anchor="w")
        self.errors[fld.id] = error
        self.widgets[fld.id] = widget
        if self.first_focus is None and focus is not None and not locked:
            self.first_focus = focus

    def focus_field(self, field_id: str) -> None:
        widget = self.widgets.get(field_id)
        target = getattr(widget, "focus_widget", widget)
        if target is not None:
            target.focus_set()

    def _mark(self, field_id: str, message: str) -> None:
        """A field that needs fixing: red border, a warning sign and the message under it."""
        widget = self.widgets.get(field_id)
        if isinstance(widget, ValidatedEntry):
            widget.show_problem(message)
            return
        self.errors[field_id].configure(text=f"{WARNING_SIGN} {message}")
        box = getattr(widget, "listbox", None)
        if box is not None:
            box.configure(highlightbackground=ERROR_FG, highlightcolor=ERROR_FG)

    def _unmark(self, field_id: str) -> None:
        widget = self.widgets.get(field_id)
        if field_id in self.errors and not isinstance(widget, ValidatedEntry):  # that one keeps itself current
            self.errors[field_id].configure(text="")
        box = getattr(widget, "listbox", None)
        if box is not None:
            box.configure(highlightbackground=UNMARKED, highlightcolor=self.look.accent)
        # A problem keeps the notice that names it; a warning (ui.directory's name check) does not.
        marked = any(str(label.cget("text")).startswith(WARNING_SIGN) and str(label.cget("style")) == "Error.TLabel"
                     for label in self.errors.values())
        if not marked:
            self.host.clear_notice()

    def validate(self) -> bool:
        flow = self.host.flow
        problems: dict[str, str] = {}
        for fld, state in self._fields():
            answered = fld.id in flow.answers
            value = flow.answers[fld.id] if answered else flow.initial_value(fld, state)
            try:
                flow.apply_field(fld, value, state, answered=answered)
            except FieldError as exc:
                text_problem = flow.text_problem(fld, str(value or "")) if fld.type in ("text", "password") else None
                problems[fld.id] = text_problem or _plain(fld, exc.message)
        for field_id in self.errors:
            if field_id in problems:
                self._mark(field_id, problems[field_id])
        self.problems = list(problems)
        if problems:
            first = next(iter(problems))
            self.focus_field(first)
            labels = {fld.id: fld.label for fld in self.page.fields}
            more = len(problems) - 1
            also = f" (and {more} more field{'s' if more > 1 else ''})" if more else ""
            self.host.notify(f"{labels.get(first, first)} needs attention{also}: see the marked field.")
        return not problems


class InfoView(PageView):
    """Text for the person to read."""

    def __init__(self, host: Host, parent: tk.Misc, index: int, page: Page) -> None:
        super().__init__(host, parent)
        flow = host.flow
        self.text(flow.render(page.text, flow.walk(index)))


class ConfirmView(PageView):
    """What will happen: the text, what was chosen (in words for a kiosk user, every variable with its
    source for a technician), the typed confirmation, the countdown.

    Nothing here presses Finish: the page starts with the focus on something harmless (the typed
    confirmation, or the table), and Enter only finishes from Finish itself or a correct typed confirmation.
    """

    def __init__(self, host: Host, parent: tk.Misc, index: int, page: Page) -> None:
        super().__init__(host, parent)
        flow, look = host.flow, self.look
        self.page = page
        self.state = flow.walk(index)
        profile = flow.profile
        # Kiosk users (not a technician who unlocked the kiosk) never see variable names or rule paths.
        self.plain = profile.is_kiosk and flow.role == profile.initial_role
        if page.text:
            self.text(flow.render(page.text, self.state), pady=(0, look.px(8)))
        # Shown only while a countdown runs (ui.app drives it through say()).
        self.countdown = ttk.Label(self.frame, style="Warning.TLabel", wraplength=look.px(560))
        self.expected = flow.expected_confirmation(page, self.state)
        self.entry: ttk.Entry | None = None
        if self.expected:
            row = ttk.Frame(self.frame)
            row.pack(fill="x", pady=(0, look.px(8)))
            ttk.Label(row, text="To confirm, type").pack(side="left")
            ttk.Label(row, text=self.expected, style="Title.TLabel").pack(side="left", padx=(look.px(6), 0))
            self.typed = tk.StringVar(master=row, value=host.typed.get(page.id, ""))
            self.entry = ttk.Entry(row, textvariable=self.typed, font=look.body, width=max(8, len(self.expected) + 4))
            self.entry.pack(side="left", padx=(look.px(8), 0))
            self.typed.trace_add("write", lambda *_: self._typed())
            self.first_focus = self.entry
        if self.plain:
            self._in_words(flow, index)
        else:
            ttk.Label(self.frame, text="Variables that will be set:").pack(anchor="w")
            self._summary(flow)
            self._plan(flow)

    def _in_words(self, flow: Flow, index: int) -> None:
        """The kiosk's summary: each answer by its field's label, chosen items by their label and description."""
        choices = flow.choices_in_words(self.state, index)
        if not choices:
            return
        self.text("You chose:", pady=(self.look.px(4), 0))
        for label, words in choices:
            self.text(f"\u2022  {label}: {words}", padx=(self.look.px(12), 0))

    def _plan(self, flow: Flow) -> None:
        """What the chosen deployment's task sequence will run, when the catalog carries its XML."""
        plan = flow.what_will_run(self.state)
        if not plan:
            return
        runs = [e["path"] for e in plan if e["status"] == "run" and e["type"] != "group"]
        later = [e["path"] for e in plan if e["status"] == "runtime" and e["type"] != "group"]
        skipped = [e["path"] for e in plan if e["status"] == "skip" and e["type"] != "group"]
        text = f"The task sequence will run {len(runs)} steps"
        if later:
            text += f", decide {len(later)} when it runs"
        if skipped:
            text += f" and skip {len(skipped)}"
        shown = ", ".join(p.rsplit("/", 1)[-1] for p in runs[:6]) + (" …" if len(runs) > 6 else "")
        self.text(f"{text}: {shown}", "Help.TLabel", pady=(self.look.px(6), 0))

    def _summary(self, flow: Flow) -> None:
        holder = ttk.Frame(self.frame)
        holder.pack(fill="both", expand=True)
        rows = flow.result(self.state)
        tree = ttk.Treeview(holder, columns=("value", "source"), height=max(3, min(len(rows), 8)), takefocus=1,
                            selectmode="browse")
        tree.heading("#0", text="Variable")
        tree.heading("value", text="Value")
        tree.heading("source", text="Source")
        # Every column may shrink: the table is never wider than the window (the page scrolls, not sideways).
        tree.column("#0", width=self.look.px(180), minwidth=self.look.px(90))
        tree.column("value", width=self.look.px(210), minwidth=self.look.px(90))
        tree.column("source", width=self.look.px(280), minwidth=self.look.px(90))
        bar = ttk.Scrollbar(holder, orient="vertical", command=tree.yview)
        tree.configure(yscrollcommand=bar.set)
        tree.pack(side="left", fill="both", expand=True)
        bar.pack(side="right", fill="y")
        secret = flow.secret_variables()
        sources = flow.readable_sources(self.state)
        for name, value in rows.items():
            shown = "********" if name.casefold() in secret else value
            tree.insert("", "end", text=name, values=(shown, sources.get(name, "")))
        children = tree.get_children()
        if children:  # the row the arrows start from, drawn as selected so the focus can be seen
            tree.focus(children[0])
            tree.selection_set(children[0])
        self.table = tree
        if self.first_focus is None:
            self.first_focus = tree  # harmless: arrows read the table, Enter does not finish

    def say(self, text: str, style: str) -> None:
        """The countdown line: what happens when, or that the countdown stopped."""
        if not self.countdown.winfo_manager():  # first use: right under the page text, above everything else
            slaves = self.frame.pack_slaves()
            pad = (0, self.look.px(8))
            if slaves and self.page.text:
                self.countdown.pack(anchor="w", fill="x", pady=pad, after=slaves[0])
            elif slaves:
                self.countdown.pack(anchor="w", fill="x", pady=pad, before=slaves[0])
            else:
                self.countdown.pack(anchor="w", fill="x", pady=pad)
            self._wrapped.append(self.countdown)
            width = self.frame.winfo_width()
            if width > 1:
                self.countdown.configure(wraplength=max(200, width - self.look.px(8)))
        self.countdown.configure(text=text, style=style)

    def _typed(self) -> None:
        self.host.typed[self.page.id] = self.typed.get()
        if self.can_advance():
            self.host.clear_notice()
        self.host.update_nav()

    def can_advance(self) -> bool:
        if not self.expected:
            return True
        return self.host.flow.confirmation_ok(self.page, self.state, self.host.typed.get(self.page.id, ""))


class PreflightView(PageView):
    """Each preflight check as pass, warning or fail, with Retry; a failed error check blocks Next."""

    def __init__(self, host: Host, parent: tk.Misc, results: Sequence[CheckResult],
                 retry: Callable[[], None]) -> None:
        super().__init__(host, parent)
        look = self.look
        self.results = list(results)
        blocking = any(r.blocking for r in results)
        self.text("This computer is not ready. Fix what failed, then press Retry." if blocking else
                  "Some checks gave warnings. You can continue.", pady=(0, look.px(8)))
        table = ttk.Frame(self.frame)
        table.pack(fill="x")
        for row, result in enumerate(results):
            word, style = ("PASS", "Pass.TLabel") if result.passed else (
                ("FAIL", "Fail.TLabel") if result.severity == "error" else ("WARNING", "Warn.TLabel"))
            ttk.Label(table, text=word, style=style, width=9).grid(row=row, column=0, sticky="nw",
                                                                   pady=look.px(3))
            ttk.Label(table, text=result.name).grid(row=row, column=1, sticky="nw", pady=look.px(3))
            if result.message and not result.passed:
                ttk.Label(table, text=result.message, style="Help.TLabel", wraplength=look.px(380)).grid(
                    row=row, column=2, sticky="nw", padx=(look.px(12), 0), pady=look.px(3))
        self.retry = ttk.Button(self.frame, text="Retry", command=retry)
        self.retry.pack(anchor="w", pady=(look.px(12), 0))
        self.first_focus = self.retry if blocking else None

    def can_advance(self) -> bool:
        return not any(r.blocking for r in self.results)


def build(host: Host, parent: tk.Misc, index: int, page: Page) -> PageView:
    """The view for profile page `index`."""
    if page.type == "confirm":
        return ConfirmView(host, parent, index, page)
    if page.type == "login":
        from ui.signin import LoginView  # sign-in: ui/signin.py

        return LoginView(host, parent, index, page)
    if page.type == "info":
        return InfoView(host, parent, index, page)
    return FormView(host, parent, index, page)
