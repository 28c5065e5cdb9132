"""The window and kiosk shell: navigation, status line, countdown, idle reset, technician unlock, background jobs."""

from __future__ import annotations

import contextlib
import os
import time
import tkinter as tk
from collections import deque
from collections.abc import Callable, Sequence
from tkinter import ttk

from agent.auth.pin import PinGate
from agent.catalog.model import age_days
from agent.errors import Cancelled, NotReady, PrestartError
from agent.flow import CheckResult, FieldError, Flow, State
from agent.log import get_logger
from ui import pages, theme
from ui.directory import names_checked
from ui.widgets import DefaultButton, ScrollFrame, breaking
from ui.window import open_window

log = get_logger("prestart.ui")

PREFLIGHT = -1  # the position of the preflight page, shown before the profile's pages
# The hidden technician unlock: Ctrl+Alt+Shift+T (docs/ui.md). Both keysyms: Shift may or may not be folded in.
UNLOCK_CHORD = ("<Control-Alt-Shift-KeyPress-T>", "<Control-Alt-Shift-KeyPress-t>")
POLL_MS = 50
Job = Callable[[], Callable[[], None] | None]


def run_ui(
    flow: Flow,
    *,
    preview: bool,
    hook: object | None = None,
    background: Sequence[Job] = (),
    root: tk.Tk | None = None,
) -> State:
    """Show the pages; return the final State on Finish, raise Cancelled (or NotReady) otherwise.

    `hook` is accepted for the CLI's contract but not used: power actions after a cancel belong to
    agent.run._finish. Each `background` job runs in a worker thread and may return a callable that
    then runs on the Tk thread (for example flow.reload_catalog with the refreshed catalog). `root` is a
    window already opened (ui.window.open_window); without it, one is opened here.
    """
    return App(flow, preview=preview, background=background, root=root).run()


def _no_trace(_text: str) -> None:
    pass


def _tracer() -> Callable[[str], None]:
    """PRESTART_UI_TRACE=FILE appends one line per UI event (page shown, finish, unlock); tests and the
    benchmark synchronise on it instead of sleeping."""
    path = os.environ.get("PRESTART_UI_TRACE")
    if not path:
        return _no_trace

    def trace(text: str) -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{time.time():.3f} {text}\n")

    return trace


class App:
    """One wizard window. Tk is touched only from the thread that created it."""

    def __init__(self, flow: Flow, *, preview: bool, background: Sequence[Job] = (), root: tk.Tk | None = None) -> None:
        self.flow = flow
        self.profile = profile = flow.profile
        self.preview = preview
        self.trace = _tracer()
        # Kiosk behaviour (role, unlock, idle reset) follows the profile; the locked-down shell can be
        # swapped for a normal window when previewing on a desktop (prestart preview --kiosk-windowed).
        self.kiosk_rules = profile.is_kiosk
        self.kiosk = profile.is_kiosk and os.environ.get("PRESTART_KIOSK_WINDOWED", "") != "1"
        self.result: State | None = None
        self.error: PrestartError | None = None
        self.typed: dict[str, str] = {}
        self.view: pages.PageView | None = None
        self.pos = 0
        self.dialog: tk.Toplevel | None = None
        self._last_scroll = ""
        self.dialog_buttons: DefaultButton | None = None  # the open dialog's buttons (kept alive with it)
        self._dialog_focused: tk.Misc | None = None  # where the dialog's focus goes back to
        self._countdown_job: str | None = None
        self._countdown_left = 0
        self._countdown_stopped = False
        self._last_activity = time.monotonic()
        self._jobs = 0
        self._done: deque[Callable[[], None] | None] = deque()  # append and popleft are thread-safe
        self.preflight: list[CheckResult] = flow.preflight()
        # The unlock's PIN attempts live in the flow; the chord opens the PIN box only in kiosk mode.
        self.gate: PinGate | None = flow.unlock_gate if self.kiosk_rules else None

        self.root = root = root if root is not None else open_window()
        self.x11 = root.tk.call("tk", "windowingsystem") == "x11"
        root.title(profile.title)
        # A real run fills the screen it is given (WinPE has nothing else to show); a preview is a window.
        self.fills_screen = self.kiosk or not preview
        self.look = theme.apply(root, profile, kiosk=self.kiosk_rules,
                                fit=theme.screen_fit(root, fill=self.fills_screen))
        self._shell()
        self._bindings()
        root.bind("<Map>", self._mapped, add="+")
        self.show(PREFLIGHT if self._preflight_page_needed() else self._first_page())
        for job in background:
            self._start(job)

    # -- the shell ---------------------------------------------------------------------------------

    def _shell(self) -> None:
        root, look = self.root, self.look
        px = look.px
        if self.kiosk:
            # No decorations, the whole screen, above everything: nothing to close, move or switch to.
            root.geometry(f"{root.winfo_screenwidth()}x{root.winfo_screenheight()}+0+0")
            if self.x11:
                # Tk never gives X keyboard focus to an override-redirect window (tkUnixFocus.c), so on X
                # the window manager's full-screen state removes the decorations instead; its close
                # requests (Alt+F4, the close button, wmctrl -c) all arrive as WM_DELETE_WINDOW, ignored below.
                root.attributes("-fullscreen", True)
            else:
                # WinPE has no window manager: drop the frame ourselves.
                root.overrideredirect(True)
            root.attributes("-topmost", True)
        else:
            self._size_window()
        root.protocol("WM_DELETE_WINDOW", self._close_requested)

        header = ttk.Frame(root, style="Header.TFrame", padding=(px(16), px(10)))
        self.logo = theme.load_logo(root, self.profile, look)
        if self.logo is not None:
            ttk.Label(header, image=self.logo, style="Header.TLabel").pack(side="left", padx=(0, px(12)))
        self.step = ttk.Label(header, style="Step.TLabel")
        self.step.pack(side="right", padx=(px(12), 0))
        self.heading = ttk.Label(header, text=self.profile.title, style="Header.TLabel")
        self.heading.pack(side="left", fill="x")
        self.scroller = ScrollFrame(root, padding=(px(16), px(12)))
        self.body = self.scroller.inner
        self.notice = ttk.Label(root, style="Error.TLabel", padding=(px(16), 0))
        nav = ttk.Frame(root, padding=(px(16), px(8)))
        self.cancel_button = ttk.Button(nav, text="Cancel", command=self.ask_cancel)
        self.back_button = ttk.Button(nav, text="Back", command=self.back)
        self.next_button = ttk.Button(nav, text="Next", command=self.next)
        self.cancel_button.pack(side="left")
        self.next_button.pack(side="right")
        self.back_button.pack(side="right", padx=(0, px(8)))
        # Enter presses the focused button, so the button drawn as the default follows the focus.
        self.default_button = DefaultButton([self.cancel_button, self.back_button, self.next_button],
                                            self.next_button, self._default_changed)
        self.status = ttk.Label(root, style="Status.TLabel", padding=(px(16), px(4)), anchor="w", justify="left")
        # On a narrow screen the status line wraps instead of losing its end.
        self.status.bind("<Configure>", lambda e: self.status.configure(wraplength=max(200, e.width - px(32))))
        header.pack(side="top", fill="x")
        self.status.pack(side="bottom", fill="x")
        ttk.Separator(root).pack(side="bottom", fill="x")
        nav.pack(side="bottom", fill="x")
        self.notice.pack(side="bottom", fill="x")
        self.scroller.pack(side="top", fill="both", expand=True)
        self._status()

    def _size_window(self) -> None:
        """The technician's window: the whole screen for a real run (maximised, so a window manager keeps
        its title bar), a sensible share of it for a preview on a desktop."""
        root, look = self.root, self.look
        screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
        if self.fills_screen:
            root.geometry(f"{screen_w}x{screen_h}+0+0")
            try:
                if self.x11:
                    root.attributes("-zoomed", True)
                else:
                    root.state("zoomed")
            except tk.TclError:
                log.debug("the window cannot be maximised here; it keeps the screen's size", exc_info=True)
        else:
            width = min(screen_w, max(round(800 * look.scale), round(screen_w * 0.6)))
            height = min(screen_h, max(round(600 * look.scale), round(screen_h * 0.7)))
            root.geometry(f"{width}x{height}")
        root.minsize(min(screen_w, 640), min(screen_h, 480))

    def _bindings(self) -> None:
        root = self.root
        root.bind("<Return>", self._enter)
        root.bind("<KP_Enter>", self._enter)
        root.bind("<Escape>", self._escape)
        # Alt+F4 asks the same question as the close button and Cancel (the kiosk ignores all three).
        root.bind("<Alt-F4>", breaking(self._close_requested))
        # Page Up / Page Down scroll a long page (lists bind them first and stop them there).
        root.bind("<Prior>", breaking(lambda: self.scroller.page(-1)))
        root.bind("<Next>", breaking(lambda: self.scroller.page(1)))
        for chord in UNLOCK_CHORD:
            root.bind_all(chord, self._unlock_chord)
        for sequence in ("<KeyPress>", "<ButtonPress>", "<Motion>"):
            root.bind_all(sequence, self._activity, add="+")
        # With PRESTART_UI_TRACE, every window this process maps (ours, or a Tcl dialog, menu or tooltip) is
        # traced, so the kiosk escape tests can show that only the kiosk window and its own dialogs ever
        # appear. Tcl picks out the toplevels, so the other widgets never call into Python as they map.
        if self.trace is not _no_trace:
            root.bind_all("<FocusIn>", self._focus_changed, add="+")
            self.scroller.on_scroll = self._scrolled
            mapped = root.register(self._window_mapped)
            root.tk.eval(f'bind all <Map> {{+if {{[winfo toplevel %W] eq "%W"}} {{{mapped} %W}}}}')
        if self.kiosk_rules and self.profile.kiosk.idle_reset_seconds > 0:
            root.after(1000, self._idle_check)

    def _mapped(self, event: tk.Event) -> None:
        if event.widget is not self.root:
            return
        self.root.unbind("<Map>")
        self.root.after_idle(self._drawn)
        if self.kiosk:
            self.root.after(20, self._keep_focus)

    def _drawn(self) -> None:
        if self.trace is _no_trace:
            return
        if not self._buttons_placed():
            self.root.update_idletasks()  # the page's pending layout: on X the buttons are placed after it
        if self._buttons_placed():
            self._trace_buttons()
        else:
            self.root.after(50, self._trace_buttons)  # under wine child windows are placed a moment later
        self.trace("drawn")
        self.trace(f"size {self.root.winfo_width()}x{self.root.winfo_height()} "
                   f"text {self.look.body.metrics('linespace')}px")

    def _buttons_placed(self) -> bool:
        buttons = (self.cancel_button, self.back_button, self.next_button)
        return all(button.winfo_ismapped() and button.winfo_width() > 1 for button in buttons)

    def _trace_buttons(self) -> None:
        """PRESTART_UI_TRACE: where Cancel, Back and Next/Finish are inside the window, for tests that click
        them (the window takes the screen's size, so their place depends on it; Finish takes Next's place).
        On X these lines come just before "drawn"; under wine they may come a moment after it."""
        if not self._buttons_placed():
            self.root.after(50, self._trace_buttons)
            return
        for button in (self.cancel_button, self.back_button, self.next_button):
            x = button.winfo_rootx() - self.root.winfo_rootx() + button.winfo_width() // 2
            y = button.winfo_rooty() - self.root.winfo_rooty() + button.winfo_height() // 2
            self.trace(f"button {button.cget('text')} {x} {y}")

    def _window_mapped(self, path: str) -> None:
        with contextlib.suppress(tk.TclError):
            try:
                title = str(self.root.tk.call("wm", "title", path))
            except tk.TclError:  # a menu: no wm title
                title = str(self.root.tk.call("winfo", "class", path))
            self.trace(f"window {title}")

    def _keep_focus(self) -> None:
        """Kiosk: an override-redirect window gets no focus from a window manager, and nothing else
        on this screen should have it; take it back whenever it is lost."""
        if self.root.state() == "iconic":  # a window manager's menu or taskbar minimised it: back at once
            self.root.deiconify()
        if self.dialog is None and self.root.focus_get() is None:
            self.root.lift()
            self.root.focus_force()
            self._focus_page()
        elif self.dialog is not None:
            focused = self._dialog_focus(self.dialog)
            if focused is None:
                # Also when a click on the kiosk behind it took the focus: the dialog's keys would go nowhere.
                self.dialog.lift()
                self.dialog.focus_force()
                if self._dialog_focused is not None:
                    with contextlib.suppress(tk.TclError):
                        self._dialog_focused.focus_set()
            else:
                self._dialog_focused = focused
        self.root.after(300, self._keep_focus)

    @staticmethod
    def _dialog_focus(dialog: tk.Toplevel) -> tk.Misc | None:
        """The widget inside `dialog` that has the keyboard focus, if one has."""
        try:
            focused = dialog.focus_get()
        except KeyError:  # a Tcl-only widget has it: not ours
            return None
        if focused is None or focused is dialog or focused.winfo_toplevel() is not dialog:
            return None
        return focused

    def run(self) -> State:
        try:
            self.root.mainloop()
        finally:
            self._stop_countdown()
            with contextlib.suppress(tk.TclError):
                self.root.destroy()
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise Cancelled("the window was closed", "start again to choose")
        return self.result

    # -- status line and notices -------------------------------------------------------------------

    def _catalog_age(self) -> str:
        generated = self.flow.catalog.generated
        if not generated:
            return ""
        try:
            days = age_days(generated)
        except ValueError:
            return ""
        if days < 1:
            return " (today)"
        return f" ({days} day{'s' if days != 1 else ''} old)"

    def _status(self) -> None:
        facts = self.flow.facts
        machine = " ".join(x for x in (facts.get("Make", ""), facts.get("Model", "")) if x) or "unknown machine"
        serial = facts.get("SerialNumber", "")
        parts = [machine + (f"  ·  S/N {serial}" if serial else "")]
        if self._jobs:
            parts.append("refreshing catalog…")
        else:
            parts.append(f"catalog: {self.flow.catalog_note or 'none'}{self._catalog_age()}")
        parts.append(f"role: {self.flow.role}" + (f", signed in as {self.flow.user}" if self.flow.user else ""))
        if self.preview:
            parts.append("PREVIEW: nothing is committed")
        self.status.configure(text="  ·  ".join(parts))

    def notify(self, text: str, *, error: bool = True, warning: bool = False) -> None:
        """A message above the buttons about the page on screen (a problem, a warning, or the unlock's result):
        it stays until it is fixed or the page changes, in red only for problems, in amber for warnings."""
        style = "FieldWarning.TLabel" if warning else "Error.TLabel" if error else "Notice.TLabel"
        self.notice.configure(text=text, style=style)
        self.trace(f"notice {text}")

    def clear_notice(self) -> None:
        if self.notice.cget("text"):
            self.notice.configure(text="")
            self.trace("notice cleared")

    def _scrolled(self, first: float, _last: float) -> None:
        where = f"scroll {first:.2f}"
        if where != self._last_scroll:
            self._last_scroll = where
            self.trace(where)

    def _default_changed(self, text: str) -> None:
        self.trace(f"default {text}")

    def _focus_changed(self, event: tk.Event) -> None:
        """PRESTART_UI_TRACE: which field has the focus and whether it is on screen (tests of long pages)."""
        widget = event.widget
        if not isinstance(widget, tk.Misc) or not str(widget).startswith(str(self.body) + "."):
            return

        def report() -> None:
            if self.root.focus_get() is not widget:  # moved on, or an ancestor's FocusIn
                return
            name = next((fid for fid, w in getattr(self.view, "widgets", {}).items()
                         if str(widget).startswith(str(w))), widget.winfo_class())
            self.trace(f"focus {name} {'shown' if self.scroller.visible(widget) else 'hidden'}")

        self.root.after(60, report)  # after the page scrolled it into view

    # -- navigation --------------------------------------------------------------------------------

    def _preflight_page_needed(self) -> bool:
        return any(not r.passed for r in self.preflight)

    def _first_page(self) -> int:
        visible = self.flow.visible_pages()
        return visible[0] if visible else len(self.profile.pages)

    def _next_index(self, pos: int) -> int | None:
        return next((i for i in self.flow.visible_pages() if i > pos), None)

    def _prev_index(self, pos: int) -> int | None:
        earlier = [i for i in self.flow.visible_pages() if i < pos]
        if earlier:
            return earlier[-1]
        if pos != PREFLIGHT and self._preflight_page_needed():
            return PREFLIGHT
        return None

    def show(self, pos: int, *, focus_field: str = "") -> None:
        """Replace the body with page `pos` (built now: pages are built lazily, one at a time)."""
        self._stop_countdown()
        self.clear_notice()  # notices belong to the page they are about
        if self.view is not None:
            self.view.destroy()
        self.scroller.top()
        self.pos = pos
        if pos == PREFLIGHT:
            title, page_id = "Checking this computer", "preflight"
            self.view = pages.PreflightView(self, self.body, self.preflight, self.retry_preflight)
        elif pos >= len(self.profile.pages):  # a profile whose pages are all hidden: only Finish remains
            title, page_id = self.profile.title, "end"
            self.view = pages.PageView(self, self.body)
            self.view.text("Nothing to ask on this computer. Press Finish.")
        else:
            page = self.profile.pages[pos]
            title, page_id = page.title or self.profile.title, page.id
            self.view = pages.build(self, self.body, pos, page)
        self.heading.configure(text=title)
        self.step.configure(text=self._step_text())
        self.view.frame.pack(fill="both", expand=True)
        # Map the new widgets now: Tk gives the focus to an unmapped widget only once it is mapped, and keys
        # typed meanwhile (a fast typist, or a key held down) would go to the destroyed page and be lost.
        # (The first page is shown before the window is: no key can arrive early, and mapping it here would
        # show the window before its first page is ready.)
        if self.root.winfo_ismapped():
            self.root.update_idletasks()
        self.update_nav()
        if focus_field and isinstance(self.view, pages.FormView):
            self.view.focus_field(focus_field)
        else:
            self._focus_page()
        if pos >= 0 and pos < len(self.profile.pages):
            page = self.profile.pages[pos]
            if page.type == "confirm" and page.countdown is not None:
                if page.countdown.on_timeout == "cancel" or self.profile.allow_unattended_commit:
                    self._start_countdown(page.countdown.seconds)
                else:
                    log.info("page %s: countdown not started: the profile does not allow an unattended commit "
                             "(allow_unattended_commit)", page.id)
        self.trace(f"page {page_id}")

    def _step_text(self) -> str:
        """Where the person is: "Step 2 of 3" (the pages that show given the answers so far)."""
        shown = self.flow.visible_pages()
        if self.pos == PREFLIGHT:
            return f"Checks first, then {len(shown)} step{'s' if len(shown) != 1 else ''}"
        if self.pos not in shown:
            return ""
        return f"Step {shown.index(self.pos) + 1} of {len(shown)}"

    def _focus_page(self) -> None:
        if self.view is None:
            return
        target = self.view.first_focus
        if target is None:
            if self._is_last():  # never Finish: a stray Enter must not commit (Back is harmless)
                target = self.back_button if self._prev_index(self.pos) is not None else self.cancel_button
            else:
                target = self.next_button if self.view.can_advance() else self.cancel_button
        target.focus_set()

    def _is_last(self) -> bool:
        return self.pos != PREFLIGHT and self._next_index(self.pos) is None

    def update_nav(self) -> None:
        """Enable and label Back / Next / Finish for the current page."""
        if self.view is None:
            return
        last = self._is_last()
        self.next_button.configure(text="Finish" if last else "Next")
        # On the last page no button is the default: Finish acts only when it is pressed itself.
        self.default_button.set_default(None if last else self.next_button)
        self.next_button.state(["!disabled"] if self.view.can_advance() else ["disabled"])
        self.back_button.state(["!disabled"] if self._prev_index(self.pos) is not None else ["disabled"])

    def rebuild(self, focus_field: str = "") -> None:
        """Show the current page again (an answer changed what it shows, or the catalog changed)."""
        pos = self.pos
        if pos not in (PREFLIGHT, len(self.profile.pages)) and pos not in self.flow.visible_pages():
            pos = self._first_page()
        self.show(pos, focus_field=focus_field)

    def next(self) -> None:
        if self.view is None or self.dialog is not None:
            return
        if not self.view.can_advance():
            if self.pos == PREFLIGHT:
                self.notify("A required check failed: fix it and press Retry.")
            elif isinstance(self.view, pages.ConfirmView) and self.view.expected:
                self.notify(f"Type {self.view.expected} exactly as shown to continue.")
            return
        if self.pos == PREFLIGHT:
            self.show(self._first_page())
            return
        if not self.view.validate():
            self.trace("invalid " + ",".join(getattr(self.view, "problems", ())))
            return
        if isinstance(self.view, pages.FormView) and not names_checked(self, self.view):
            return  # a computer name is being checked against the directory (ui/directory.py)
        if self.pos < len(self.profile.pages):
            page = self.profile.pages[self.pos]
            if page.type == "confirm":
                self.flow.confirmed[page.id] = self.typed.get(page.id, "")
        following = self._next_index(self.pos)
        if following is None:
            self.finish()
        else:
            self.show(following)

    def back(self) -> None:
        if self.dialog is not None:
            return
        previous = self._prev_index(self.pos)
        if previous is not None:
            self.show(previous)

    def finish(self) -> None:
        try:
            state = self.flow.walk(strict=True)
        except FieldError as exc:
            self.notify(exc.message)
            return
        self.result = state
        self.trace("finish")
        self.root.quit()

    def fail(self, error: PrestartError) -> None:
        self.error = error
        self.trace(f"exit {int(error.code)}")
        self.root.quit()

    def retry_preflight(self) -> None:
        self.preflight = self.flow.preflight()
        if self._preflight_page_needed():
            self.show(PREFLIGHT)
        else:
            self.show(self._first_page())

    # -- keys, close, cancel -----------------------------------------------------------------------

    def _enter(self, _event: tk.Event) -> str:
        focused = self.root.focus_get()
        if isinstance(focused, ttk.Button | tk.Button):
            focused.invoke()
        elif not self._is_last():
            self.next()
        elif isinstance(self.view, pages.ConfirmView) and focused is not None and focused is self.view.entry:
            # A correct typed confirmation is a deliberate act; anything else must reach Finish itself.
            self.next()
        else:
            self.notify("Nothing is changed until you press Finish itself (Tab to it, or click it).", error=False)
        return "break"

    def _escape(self, _event: tk.Event) -> str:
        if not self.kiosk:  # in the kiosk, Escape does nothing at all
            self.back()
        return "break"

    def _close_requested(self) -> None:
        """Alt+F4 or the close button: in the kiosk nothing, otherwise the same question as Cancel."""
        if self.kiosk:
            log.info("close request ignored: kiosk mode")
            self.trace("close ignored")
            return
        if self.dialog is not None:
            self.dialog.lift()
            return
        self.ask_cancel()

    def _cancel_error(self) -> PrestartError:
        if self.pos == PREFLIGHT and any(r.blocking for r in self.preflight):
            failed = "; ".join(f"{r.name}: {r.message}" for r in self.preflight if r.blocking)
            return NotReady(f"preflight failed: {failed}", "fix the machine and run again")
        return Cancelled("cancelled by the person at the machine", "start again to choose")

    def ask_cancel(self) -> None:
        then = self.profile.on_cancel
        if self.preview:
            question = "Close the preview?"
        elif then == "reboot":
            question = "Stop here and restart this computer? Nothing will be changed."
        elif then == "shutdown":
            question = "Stop here and shut down this computer? Nothing will be changed."
        else:
            question = "Stop here? Nothing will be changed."
        self._ask("Cancel", question, lambda: self.fail(self._cancel_error()))

    # -- countdown ---------------------------------------------------------------------------------

    def _start_countdown(self, seconds: int) -> None:
        self._countdown_left = seconds
        self._countdown_stopped = False
        self._tick()

    def _stop_countdown(self) -> None:
        if self._countdown_job is not None:
            self.root.after_cancel(self._countdown_job)
            self._countdown_job = None

    def _countdown_page(self) -> pages.ConfirmView | None:
        return self.view if isinstance(self.view, pages.ConfirmView) else None

    def _countdown_text(self, view: pages.ConfirmView, cancels: bool, left: int) -> str:
        """What happens at zero, in words, with the seconds left."""
        if not cancels:
            action = "Finish" if self._is_last() else "Next"
            return (f"{action} will be pressed in {left} s with nobody at the machine. "
                    "Press any key or click to stop it.")
        then = {"reboot": " and this computer will restart", "shutdown": " and this computer will shut down"}.get(
            self.profile.on_cancel, "") if not self.preview else ""
        return f"Not confirmed in {left} s: this stops without changing anything{then}."

    def _tick(self) -> None:
        view = self._countdown_page()
        if view is None or view.page.countdown is None:
            return
        cancels = view.page.countdown.on_timeout == "cancel"
        left = self._countdown_left
        if self.dialog is not None:  # someone is answering a question: the clock waits for them
            self.trace("countdown paused")
            view.say(self._countdown_text(view, cancels, left) + " (paused)", "Warning.TLabel")
            self._countdown_job = self.root.after(1000, self._tick)
            return
        if left <= 0:
            self._countdown_job = None
            self._timeout(view, cancels)
            return
        view.say(self._countdown_text(view, cancels, left), "Warning.TLabel")
        self.trace(f"countdown {left}")
        self._countdown_left -= 1
        self._countdown_job = self.root.after(1000, self._tick)

    def _timeout(self, view: pages.ConfirmView, cancels: bool) -> None:
        if self.dialog is not None:
            self._close_dialog()
        if not cancels and view.can_advance():
            self.trace("countdown continue")
            self.next()
            return
        why = "the countdown ran out" if cancels or not view.expected else \
            "the countdown ran out before the confirmation was typed"
        self.fail(Cancelled(why, "start again and confirm in time"))

    def _activity(self, event: tk.Event) -> None:
        self._last_activity = time.monotonic()
        # A countdown that would continue on its own stops once someone is at the keyboard;
        # one that cancels keeps running: it is the kiosk's safety net.
        if self._countdown_job is not None:
            view = self._countdown_page()
            if view is not None and view.page.countdown is not None and view.page.countdown.on_timeout != "cancel":
                self._stop_countdown()
                view.say("Countdown stopped: press Finish when you are ready.", "Help.TLabel")
                self.trace("countdown stopped")

    # -- kiosk: idle reset and the technician unlock ------------------------------------------------

    def _idle_check(self) -> None:
        limit = self.profile.kiosk.idle_reset_seconds
        idle = time.monotonic() - self._last_activity
        first = PREFLIGHT if self._preflight_page_needed() else self._first_page()
        dirty = self.pos != first or bool(self.flow.answers) or self.flow.role != self.profile.initial_role
        # Not while a sign-in is binding (ui/signin.py): its answer would set a role after the reset.
        if idle >= limit and dirty and not getattr(self.view, "busy", False):
            self.reset()
        self.root.after(1000, self._idle_check)

    def reset(self) -> None:
        """Back to the first page with nothing chosen and the kiosk role (a technician who walked away
        does not leave the machine unlocked)."""
        log.info("idle for %d s: back to the first page", self.profile.kiosk.idle_reset_seconds)
        if self.dialog is not None:
            self._close_dialog()
        self.flow.answers.clear()
        self.flow.confirmed.clear()
        self.typed.clear()
        self.flow.role = self.profile.initial_role
        self.flow.sign_out()  # and whoever signed in on a login page, with their directory session
        self._status()
        self._last_activity = time.monotonic()
        self.trace("idle reset")
        self.show(PREFLIGHT if self._preflight_page_needed() else self._first_page())

    def _unlock_chord(self, _event: tk.Event) -> str:
        unlock = self.profile.kiosk.technician_unlock
        if self.gate is None or unlock is None or self.dialog is not None:
            return "break"
        if self.gate.locked_out:
            self.notify("Technician unlock is disabled after too many wrong PINs.")
            return "break"
        if self.flow.role == unlock.role:
            self.notify(f"Already unlocked ({unlock.role}).")
            return "break"
        self._pin_dialog()
        return "break"

    def _pin_dialog(self) -> None:
        px = self.look.px
        dialog = self._open_dialog("Technician unlock")
        frame = ttk.Frame(dialog, padding=px(16))
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text="Technician PIN:").pack(anchor="w")
        pin = tk.StringVar(master=frame)
        entry = ttk.Entry(frame, textvariable=pin, show="•", font=self.look.body, width=14)
        entry.pack(fill="x", pady=(px(4), px(4)))
        message = ttk.Label(frame, style="Error.TLabel")
        message.pack(anchor="w")
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x", pady=(px(8), 0))

        from agent.auth.pin import PinFormatError

        def submit() -> None:
            assert self.gate is not None
            try:
                ok = self.flow.unlock(pin.get())
            except PinFormatError as exc:
                log.error("kiosk.technician_unlock.pin_hash is unusable: %s", exc)
                message.configure(text="The unlock is not set up correctly on this media.")
                return
            pin.set("")
            if ok:
                self._close_dialog()
                self._unlocked()
            elif self.gate.locked_out:
                self.trace("unlock lockout")
                self._close_dialog()
                self.notify("Too many wrong PINs: technician unlock is disabled.")
            else:
                self.trace("unlock wrong")
                message.configure(text=f"Wrong PIN. {self.gate.remaining} attempt(s) left.")

        unlock_button = ttk.Button(buttons, text="Unlock", command=submit)
        cancel_button = ttk.Button(buttons, text="Cancel", command=self._close_dialog)
        unlock_button.pack(side="right")
        cancel_button.pack(side="right", padx=(0, px(8)))
        for button in (unlock_button, cancel_button):
            button.bind("<Return>", breaking(button.invoke))
        self.dialog_buttons = DefaultButton([cancel_button, unlock_button], unlock_button, self._default_changed)
        entry.bind("<Return>", breaking(submit))
        dialog.bind("<Escape>", breaking(self._close_dialog))
        self._show_dialog(dialog, entry)
        self.trace("unlock dialog")
        if self.trace is not _no_trace:  # where the PIN box is on screen, for tests that click into it
            self.trace(f"pin box {entry.winfo_rootx() + entry.winfo_width() // 2} "
                       f"{entry.winfo_rooty() + entry.winfo_height() // 2}")

    def role_changed(self) -> None:
        """A sign-in changed who is at the machine: the status line says who, and the new role."""
        self._status()

    def _unlocked(self) -> None:
        unlock = self.profile.kiosk.technician_unlock
        assert unlock is not None
        self._status()
        self.trace("unlock ok")
        self.rebuild()  # options, pages and checks follow the role
        self.notify(f"Unlocked: {unlock.role} mode (until the computer restarts or the screen resets).", error=False)

    # -- modal dialogs (no file dialogs, no other programs: only these) ---------------------------

    def _open_dialog(self, title: str) -> tk.Toplevel:
        dialog = tk.Toplevel(self.root)
        dialog.title(title)
        dialog.transient(self.root)
        dialog.protocol("WM_DELETE_WINDOW", self._close_dialog)
        if self.kiosk:
            if not self.x11:
                dialog.overrideredirect(True)
            dialog.attributes("-topmost", True)
        dialog.configure(highlightthickness=2, highlightbackground=self.look.accent)
        self.dialog = dialog
        return dialog

    def _show_dialog(self, dialog: tk.Toplevel, focus: tk.Misc) -> None:
        dialog.update_idletasks()
        root = self.root
        x = root.winfo_rootx() + (root.winfo_width() - dialog.winfo_reqwidth()) // 2
        # Below the middle: the page's top (its text, a countdown saying it is paused) stays in sight.
        y = root.winfo_rooty() + (root.winfo_height() - dialog.winfo_reqheight()) * 2 // 3
        dialog.geometry(f"+{max(0, x)}+{max(0, y)}")
        dialog.deiconify()
        try:
            dialog.wait_visibility()
            dialog.grab_set()
        except tk.TclError:
            log.debug("dialog grab failed", exc_info=True)
        dialog.focus_force()
        focus.focus_set()
        self._dialog_focused = focus

    def _close_dialog(self) -> None:
        dialog, self.dialog = self.dialog, None
        self._dialog_focused = None
        self.dialog_buttons = None
        if dialog is not None:
            with contextlib.suppress(tk.TclError):
                dialog.grab_release()
            dialog.destroy()
            self.trace("dialog closed")
        if self.kiosk:
            self.root.focus_force()
        self._focus_page()

    def _ask(self, title: str, question: str, on_yes: Callable[[], None]) -> None:
        if self.dialog is not None:
            return
        px = self.look.px
        dialog = self._open_dialog(title)
        frame = ttk.Frame(dialog, padding=px(16))
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=question, wraplength=min(px(420), self.root.winfo_width() - px(60)),
                  justify="left").pack(anchor="w")
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x", pady=(px(12), 0))

        def yes() -> None:
            self._close_dialog()
            on_yes()

        yes_button = ttk.Button(buttons, text="Yes", command=yes)
        no_button = ttk.Button(buttons, text="No", command=self._close_dialog)
        no_button.pack(side="right")
        yes_button.pack(side="right", padx=(0, px(8)))
        for button in (yes_button, no_button):
            button.bind("<Return>", breaking(button.invoke))
        # "No" is the default; when Tab moves to "Yes", Yes is drawn as the default, because Enter presses it.
        self.dialog_buttons = DefaultButton([yes_button, no_button], no_button, self._default_changed)
        dialog.bind("<Escape>", breaking(self._close_dialog))
        self._show_dialog(dialog, no_button)  # the safe answer has the focus
        self.trace(f"dialog {title}")

    # -- background jobs ---------------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        self._jobs += 1
        self._status()

        def work() -> None:
            done: Callable[[], None] | None = None
            try:
                done = job()
            except Exception:
                log.warning("background job failed", exc_info=True)
            self._done.append(done)

        import threading  # only a window with background work needs it

        threading.Thread(target=work, name="prestart-ui-job", daemon=True).start()
        if self._jobs == 1:
            self.root.after(POLL_MS, self._poll)

    def _poll(self) -> None:
        changed = False
        while self._done:
            done = self._done.popleft()
            self._jobs -= 1
            if done is not None:
                try:
                    done()
                    changed = True
                except Exception:
                    log.warning("applying a background result failed", exc_info=True)
        self._status()
        if changed:
            self.trace("background applied")
            if self.dialog is None:
                self.rebuild()
        if self._jobs:
            self.root.after(POLL_MS, self._poll)
