"""The root window, and a clear error when there is no screen to open it on."""

from __future__ import annotations

import tkinter as tk

from agent.errors import SourceUnavailable

CLASS_NAME = "Prestart"  # the X resource class; window managers and tests find the window by it


def open_window() -> tk.Tk:
    """A new root window; SourceUnavailable (exit 13, with the next step) when there is no screen."""
    try:
        return tk.Tk(className=CLASS_NAME)
    except tk.TclError as exc:
        raise SourceUnavailable(
            f"cannot open the wizard's window: {exc}",
            "run it where there is a screen (on Linux, set DISPLAY), or run unattended with --answers FILE",
        ) from exc
