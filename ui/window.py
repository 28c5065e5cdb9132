"""The root window, and a clear error when there is no screen to open it on."""

from __future__ import annotations

import contextlib
import sys
import tkinter as tk

from agent.errors import SourceUnavailable

CLASS_NAME = "Prestart"  # the X resource class; window managers and tests find the window by it
NO_SCREEN_HINT = "run it where there is a screen (on Linux, set DISPLAY), or run unattended with --answers FILE"


def open_window() -> tk.Tk:
    """A new root window; SourceUnavailable (exit 13, with the next step) when there is no screen."""
    if sys.platform == "win32":
        _declare_dpi_aware()
    try:
        return tk.Tk(className=CLASS_NAME)
    except tk.TclError as exc:
        raise SourceUnavailable(f"cannot open the wizard's window: {exc}", NO_SCREEN_HINT) from exc


def _declare_dpi_aware() -> None:
    """Tell Windows the wizard draws for the screen's real DPI (ui.theme scales by it), before any window.

    Without this Windows reports 96 dpi to the process and stretches its bitmap on a 144-dpi screen: blurry
    text, and fonts that ignore the screen. Windows 8.1+ has shcore's per-process call; older ones user32's.
    """
    import ctypes

    with contextlib.suppress(AttributeError, OSError):
        ctypes.windll.shcore.SetProcessDpiAwareness(1)  # type: ignore[attr-defined]  # PROCESS_SYSTEM_DPI_AWARE
        return
    with contextlib.suppress(AttributeError, OSError):
        ctypes.windll.user32.SetProcessDPIAware()  # type: ignore[attr-defined]


def discard(root: tk.Tk) -> None:
    """Destroy a window never shown."""
    with contextlib.suppress(tk.TclError):
        root.destroy()
