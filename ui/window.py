"""The root window, and a clear error when there is no screen to open it on."""

from __future__ import annotations

import contextlib
import tkinter as tk

from agent.errors import SourceUnavailable

CLASS_NAME = "Prestart"  # the X resource class; window managers and tests find the window by it
NO_SCREEN_HINT = "run it where there is a screen (on Linux, set DISPLAY), or run unattended with --answers FILE"


def open_window() -> tk.Tk:
    """A new root window; SourceUnavailable (exit 13, with the next step) when there is no screen."""
    try:
        return tk.Tk(className=CLASS_NAME)
    except tk.TclError as exc:
        raise SourceUnavailable(f"cannot open the wizard's window: {exc}", NO_SCREEN_HINT) from exc


def discard(root: tk.Tk) -> None:
    """Destroy a window never shown."""
    with contextlib.suppress(tk.TclError):
        root.destroy()
