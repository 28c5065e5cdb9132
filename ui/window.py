"""The root window, started while other work runs, and a clear error when there is no screen to open it on."""

from __future__ import annotations

import contextlib
import sys
import tkinter as tk
from _thread import allocate_lock, start_new_thread
from collections.abc import Callable

from agent.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

CLASS_NAME = "Prestart"  # the X resource class; window managers and tests find the window by it
NO_SCREEN_HINT = "run it where there is a screen (on Linux, set DISPLAY), or run unattended with --answers FILE"


def open_window() -> tk.Tk:
    """A new root window; SourceUnavailable (exit 13, with the next step) when there is no screen."""
    try:
        return tk.Tk(className=CLASS_NAME)
    except tk.TclError as exc:
        raise _no_screen(exc) from exc


def open_window_while(work: Callable[[], T]) -> tuple[tk.Tk, T]:
    """open_window(), with `work` run on a second thread meanwhile: (the window, what `work` returned).

    Starting Tk (connecting to the display, opening the input method, loading fonts) is 40-60 ms of C code,
    and `tk.Tk()` runs it holding Python's interpreter lock, so nothing else can run. Started through Tcl's
    own `load` command instead, it runs with the lock released (tkinter releases it around every Tcl call),
    and the agent loads its profile, catalog and facts and imports the pages in the meantime
    (bench/tried.md has the figures). `work` must not touch Tk. After `work`, that thread also has
    fontconfig read its configuration (warm_fonts), which Tk would otherwise do when it first draws text.

    Errors come out in the order a one-after-the-other start would raise them: `work`'s first (the window,
    not yet mapped, is destroyed unseen), then the window's own. Where Tk cannot be started this way, it
    is started as `tk.Tk()` does, after `work` is done.
    """
    root = tk.Tk(className=CLASS_NAME, useTk=False)  # Tcl alone: well under a millisecond
    finished = allocate_lock()
    finished.acquire()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
            warm_fonts()
        except BaseException as exc:  # handed to the main thread, which raises it
            failure.append(exc)
        finally:
            finished.release()

    start_new_thread(run, ())
    try:
        library = tk_library()
        if library is not None:
            with contextlib.suppress(tk.TclError):  # loadtk() below starts Tk the usual way and says what is wrong
                root.tk.call("load", library, "Tk")
    finally:
        finished.acquire()  # never leave `work` running behind an exception
    if failure:
        discard(root)
        raise failure[0]
    try:
        root.loadtk()  # when `load` started Tk this only wires tkinter to it
    except tk.TclError as exc:
        discard(root)
        raise _no_screen(exc) from exc
    return root, outcome[0]


def discard(root: tk.Tk) -> None:
    """Destroy a window never shown; without Tk (it failed to start) there is nothing to destroy."""
    with contextlib.suppress(tk.TclError):
        root.destroy()


def warm_fonts() -> None:
    """X11: have fontconfig read its configuration now, on this thread, not when Tk first draws text.

    Tk on X11 draws text through Xft, and the first font it measures waits for fontconfig to parse its
    configuration and map its caches (FcInit: 5-10 ms). Called on the loading thread while Tk starts, that
    is off the first page's path. Only the fontconfig this Tk already loaded is touched (RTLD_NOLOAD);
    where there is none (Windows, macOS, a Tk without Xft) nothing happens. fontconfig is thread-safe, and
    FcInit called a second time (by Tk) returns at once.
    """
    if sys.platform in ("win32", "darwin"):
        return
    import ctypes
    import os

    try:
        fontconfig = ctypes.CDLL("libfontconfig.so.1", mode=os.RTLD_NOLOAD | os.RTLD_NOW)
    except OSError:
        return
    fontconfig.FcInit()


def tk_library() -> str | None:
    """The file of the Tk library this process already uses, for Tcl's `load`; None where unknown.

    Only a library already loaded will do: `load` of another copy of Tk would start a second Tk.
    """
    if sys.platform == "win32":
        from ui import win32

        return win32.loaded_module(tk_dll_name(tk.TkVersion))
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                return tk_library_in_maps(maps.read(), tk.TkVersion)
        except OSError:
            return None
    return None


def tk_dll_name(version: float) -> str:
    """Tk's DLL on Windows: tk86t.dll for 8.6 (`t`: built with threads, as Python's always is)."""
    return f"tk{str(version).replace('.', '')}t.dll"


def tk_library_in_maps(maps: str, version: float) -> str | None:
    """The path of libtk<version>.so in the text of /proc/<pid>/maps, or None."""
    wanted = f"/libtk{version}.so"
    for line in maps.splitlines():
        fields = line.split(None, 5)  # address, permissions, offset, device, inode, then the path (if any)
        path = fields[5].strip() if len(fields) == 6 else ""
        if path.endswith(wanted) or f"{wanted}." in path:  # libtk8.6.so, or a versioned libtk8.6.so.0
            return path
    return None


def _no_screen(exc: tk.TclError) -> SourceUnavailable:
    return SourceUnavailable(f"cannot open the wizard's window: {exc}", NO_SCREEN_HINT)
