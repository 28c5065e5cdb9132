"""The login page: directory sign-in over LDAPS through the flow's gate (as headless runs), or the offline PIN."""

# How it behaves, and why:
# - The bind runs off the Tk thread (ui.background) with a progress bar: a directory that does not answer
#   costs its timeout, and the window stays alive meanwhile. Next and Enter sign in; the page is left only
#   after a successful sign-in (the role decides which pages follow).
# - The password box is emptied the moment the attempt starts, so the only copies are the Python string the
#   bind uses (dropped when it returns) and the run's redactor (docs/security.md says what Python keeps).
# - Messages come from the gate: wrong password and unknown user read the same; a locked account, a
#   directory that does not answer and a certificate that does not verify each say so. The attempt that
#   reaches the page's max_attempts ends the run with 5 (AccessDenied), through the window's fail().

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any, Protocol

from agent.auth.ldap import AuthFailed
from agent.errors import AccessDenied, PrestartError
from agent.flow import Flow
from agent.log import get_logger
from agent.profile.model import Page
from ui.background import in_background
from ui.pages import PageView
from ui.theme import Look

log = get_logger("prestart.ui")


class Host(Protocol):
    """What the login page needs from the window (ui.app.App)."""

    flow: Flow
    look: Look

    def update_nav(self) -> None: ...
    def next(self) -> None: ...
    def fail(self, error: PrestartError) -> None: ...
    def trace(self, text: str) -> None: ...
    def role_changed(self) -> None: ...


class LoginView(PageView):
    """User name and password (and the PIN where the page allows it); Next signs in."""

    def __init__(self, host: Any, parent: tk.Misc, index: int, page: Page) -> None:
        super().__init__(host, parent)
        self.app: Host = host  # the window, with what the login page needs of it
        flow, look = host.flow, self.look
        self.page = page
        self.gate = flow.sign_in_gate(page)
        self.busy = False
        px = look.px
        if page.text:
            self.text(flow.render(page.text, flow.walk(index)), pady=(0, px(8)))
        self.preview = bool(getattr(host, "preview", False))
        if self.preview:  # preview never talks to the network: the role is --role's
            self.text(f"Preview: nobody signs in; the pages that follow are the {flow.role} role's "
                      "(prestart preview --role ROLE shows another's).", "Help.TLabel", pady=(0, px(8)))
        if self.signed_in:
            self.text(f"Signed in as {flow.user} ({flow.role}). Press Next to continue.", pady=(0, px(8)))
        form = ttk.Frame(self.frame)
        form.pack(fill="x")
        self.user = tk.StringVar(master=form)
        self.password = tk.StringVar(master=form)
        self.user_entry: ttk.Entry | None = None
        self.password_entry: ttk.Entry | None = None
        if self.gate.ldap_allowed:
            ttk.Label(form, text="User name").pack(anchor="w")
            self.user_entry = ttk.Entry(form, textvariable=self.user, font=look.body)
            self.user_entry.pack(fill="x", pady=(0, px(6)))
            ttk.Label(form, text="Password").pack(anchor="w")
            self.password_entry = ttk.Entry(form, textvariable=self.password, font=look.body, show="•")
            self.password_entry.pack(fill="x", pady=(0, px(6)))
            where = page.ldap.server if page.ldap is not None else ""
            ttk.Label(form, text=f"Signs in to {where}", style="Help.TLabel").pack(anchor="w")
        self.pin = tk.StringVar(master=form)
        self.pin_entry: ttk.Entry | None = None
        if self.gate.pin_allowed:
            ttk.Label(form, text="Or the offline technician PIN").pack(anchor="w", pady=(px(8), 0))
            self.pin_entry = ttk.Entry(form, textvariable=self.pin, font=look.body, show="•", width=14)
            self.pin_entry.pack(anchor="w")
        self.progress = ttk.Progressbar(self.frame, mode="indeterminate", length=px(240))
        self.status = ttk.Label(self.frame, style="Help.TLabel")
        self.status.pack(anchor="w", pady=(px(8), 0))
        self.message = ttk.Label(self.frame, style="Error.TLabel", wraplength=px(560), justify="left")
        self.message.pack(anchor="w", fill="x")
        self.first_focus = self.user_entry or self.pin_entry
        self.retry_focus: ttk.Entry | None = self.password_entry  # where the focus goes after a refusal

    def say(self, text: str) -> None:
        """A message under the form (never anything typed): why the sign-in did not happen."""
        text = text[:1].upper() + text[1:]
        self.message.configure(text=text)
        self.app.trace("message " + " ".join(text.split()))  # one trace line

    @property
    def signed_in(self) -> bool:
        return bool(self.app.flow.user)

    def validate(self) -> bool:
        """Next: leave the page once signed in; otherwise start a sign-in with what was typed."""
        if self.busy:
            return False
        if self.preview:
            return True
        if self.signed_in and not (self.password.get() or self.pin.get()):
            return True
        self.start()
        return False

    def start(self) -> None:
        user, secret, pin = self.user.get().strip(), self.password.get(), self.pin.get()
        # Out of the boxes at once: nothing typed stays on screen or in Tk longer than this attempt.
        self.password.set("")
        self.pin.set("")
        if pin and not secret:
            work_args: list[Any] = ["pin", pin]
        elif not user or not secret:
            self.say("Type your user name and password, then press Enter.")
            focus = self.user_entry if not user else self.password_entry
            if focus is not None:
                focus.focus_set()
            return
        else:
            work_args = ["ldap", user, secret]
        del secret, pin
        self.busy = True
        self.retry_focus = self.pin_entry if work_args[0] == "pin" else self.password_entry
        self.message.configure(text="")
        where = self.page.ldap.server if self.page.ldap is not None and work_args[0] == "ldap" else "the PIN"
        self.status.configure(text=f"Signing in to {where}…" if work_args[0] == "ldap" else "Checking the PIN…")
        self.progress.pack(anchor="w", pady=(self.look.px(4), 0), before=self.message)
        self.progress.start(15)
        for entry in (self.user_entry, self.password_entry, self.pin_entry):
            if entry is not None:
                entry.state(["disabled"])
        self.app.trace("sign-in busy")
        gate = self.gate

        def work() -> Any:
            kind = work_args[0]
            try:
                if kind == "pin":
                    return gate.sign_in_pin(work_args[1])
                return gate.sign_in(work_args[1], work_args[2])
            finally:
                work_args.clear()  # the last reference this page holds to the password

        in_background(self.frame, work, self._done)

    def _done(self, signed: Any, error: BaseException | None) -> None:
        self.busy = False
        self.progress.stop()
        self.progress.pack_forget()
        self.status.configure(text="")
        for entry in (self.user_entry, self.password_entry, self.pin_entry):
            if entry is not None:
                entry.state(["!disabled"])
        if error is None:
            self.app.trace(f"signed in {signed.role}")
            self.app.role_changed()  # the status line says who signed in; a notice would go with this page
            self.app.next()
            return
        if isinstance(error, AuthFailed):
            left = error.remaining
            text = error.message[:1].upper() + error.message[1:] + "."
            if left is not None:
                text += f" {left} attempt{'s' if left != 1 else ''} left."
            self.say(text)
            self.app.trace(f"sign-in refused {left}")
            if self.retry_focus is not None:
                self.retry_focus.focus_set()
            return
        if isinstance(error, AccessDenied):  # the last attempt: the run ends with 5
            self.app.trace("sign-in locked out")
            self.app.fail(error)
            return
        if isinstance(error, PrestartError):  # the directory: unreachable, too slow, or its certificate
            self.say(f"{error.message}.\n{error.hint}" if error.hint else error.message)
            self.app.trace("sign-in unavailable")
            if self.password_entry is not None:
                self.password_entry.focus_set()
            return
        log.error("sign-in failed unexpectedly", exc_info=error)
        self.say("Sign-in failed unexpectedly; the log (prestart.log) says why.")
        self.app.trace("sign-in error")
