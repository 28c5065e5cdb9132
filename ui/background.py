"""One piece of slow work (a directory bind or query) off the Tk thread, its answer handed back on the Tk thread."""

from __future__ import annotations

import contextlib
import threading
import tkinter as tk
from collections.abc import Callable
from typing import Any

POLL_MS = 40


def in_background(owner: tk.Misc, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
    """Run `work()` in a worker thread; then `done(result, error)` on the Tk thread, unless `owner` is gone
    (the page was left): Tk may only be touched from the thread that created it, so the worker never does."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the Tk thread below
            box["error"] = exc
        box["done"] = True

    def poll() -> None:
        if "done" not in box:
            with contextlib.suppress(tk.TclError):
                owner.after(POLL_MS, poll)
            return
        try:
            alive = bool(owner.winfo_exists())
        except tk.TclError:
            alive = False
        if alive:
            done(box.get("value"), box.get("error"))

    threading.Thread(target=target, name="prestart-ui-directory", daemon=True).start()
    owner.after(POLL_MS, poll)
