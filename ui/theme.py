"""Look of the window: fonts, DPI scaling, accent colour, logo and the larger kiosk sizes."""

from __future__ import annotations

import contextlib
import tkinter as tk
import tkinter.font as tkfont
from pathlib import Path
from tkinter import ttk
from typing import NamedTuple

from agent.log import get_logger
from agent.profile.model import Profile

log = get_logger("prestart.ui")

# Points, not pixels: `tk scaling` turns them into the right pixel size on every screen.
BASE_POINTS = 10
KIOSK_POINTS = 14
TITLE_EXTRA = 6
MIN_TOUCH_PIXELS = 44  # a finger-sized target (Windows/Apple guidance), at 96 dpi


class Look(NamedTuple):
    """What the pages need to lay themselves out; built once per window."""

    accent: str
    accent_text: str
    scale: float  # pixels per 96-dpi pixel, profile scale included
    kiosk: bool
    body: tkfont.Font
    title: tkfont.Font
    small: tkfont.Font
    mono: tkfont.Font

    def px(self, pixels: float) -> int:
        """A 96-dpi length in this screen's pixels; kiosk mode adds room for fingers."""
        return max(1, round(pixels * self.scale * (1.5 if self.kiosk else 1.0)))


def _readable_on(colour: str, root: tk.Misc) -> str:
    """Black or white text, whichever reads better on `colour` (relative luminance)."""
    try:
        r, g, b = (c / 65535 for c in root.winfo_rgb(colour))
    except tk.TclError:
        return "white"
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.55 else "white"


# Warning colours for a countdown that will act on its own, and the marks of a field that needs fixing.
WARN_BG, WARN_FG = "#fff4ce", "#6b3d00"
ERROR_FG = "#b00020"
FOCUS_RING = "#1a1a1a"


def screen_fit(root: tk.Misc, *, fill: bool) -> float:
    """How much larger than the 1280x800 design a window filling this screen is (1.0 to 1.5).

    A wizard that fills a 1920x1080 screen at 96 dpi with 10-point text looks like a few words lost in the
    middle; when the window fills the screen (`fill`), text and padding grow with it. DPI is counted apart.
    """
    if not fill:
        return 1.0
    dpi = root.winfo_fpixels("1i")
    width = root.winfo_screenwidth() * 96.0 / dpi
    height = root.winfo_screenheight() * 96.0 / dpi
    return max(1.0, min(1.5, width / 1280.0, height / 800.0))


def apply(root: tk.Tk, profile: Profile, *, kiosk: bool, fit: float = 1.0) -> Look:
    """Scale for the screen's DPI, the profile's `theme.scale` and `fit` (screen_fit), set fonts and styles."""
    dpi = root.winfo_fpixels("1i")
    factor = (profile.theme.scale or 1.0) * fit
    scale = max(0.5, min(4.0, (dpi / 96.0) * factor))
    # Tk's own scaling maps points to pixels; include the profile's scale so every font follows it.
    root.tk.call("tk", "scaling", dpi / 72.0 * factor)
    points = KIOSK_POINTS if kiosk else BASE_POINTS
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont", "TkCaptionFont"):
        with contextlib.suppress(tk.TclError):
            tkfont.nametofont(name).configure(size=points)
    body = tkfont.nametofont("TkDefaultFont")
    family = body.actual("family")
    title = tkfont.Font(root, family=family, size=points + TITLE_EXTRA, weight="bold")
    small = tkfont.Font(root, family=family, size=max(8, points - 2))
    mono = tkfont.Font(root, family="TkFixedFont", size=points)
    accent = profile.theme.accent or "#0067b8"
    try:
        root.winfo_rgb(accent)
    except tk.TclError:
        log.warning("theme.accent %r is not a colour; using the default", accent)
        accent = "#0067b8"
    look = Look(accent, _readable_on(accent, root), scale, kiosk, body, title, small, mono)

    style = ttk.Style(root)
    if "clam" in style.theme_names():
        style.theme_use("clam")  # draws the same on Windows PE, macOS and Linux; honours colours
    pad = (look.px(12), look.px(6))
    ring = max(2, round(2 * scale))
    style.configure(".", font=body)
    # Focus must be plain to see on every widget: a thick dark ring inside plain buttons, the text colour's
    # ring inside accent buttons, and a dark border around entries, check boxes and lists.
    style.configure("TButton", padding=pad, focuscolor=FOCUS_RING, focusthickness=ring)
    style.map("TButton", bordercolor=[("focus", FOCUS_RING)])
    style.configure("Accent.TButton", background=accent, foreground=look.accent_text, padding=pad,
                    focuscolor=look.accent_text, focusthickness=ring)
    style.map(
        "Accent.TButton",
        background=[("disabled", "#c8c8c8"), ("active", accent)],
        foreground=[("disabled", "#6d6d6d")],
        bordercolor=[("focus", FOCUS_RING)],
    )
    style.configure("TEntry", padding=look.px(3))
    style.map("TEntry", bordercolor=[("focus", accent)], lightcolor=[("focus", accent)])
    style.configure("Invalid.TEntry", bordercolor=ERROR_FG, lightcolor=ERROR_FG, darkcolor=ERROR_FG)
    style.map("Invalid.TEntry", bordercolor=[("focus", ERROR_FG)], lightcolor=[("focus", ERROR_FG)])
    style.configure("Header.TFrame", background=accent)
    style.configure("Header.TLabel", background=accent, foreground=look.accent_text, font=title)
    style.configure("Title.TLabel", font=title)
    style.configure("Status.TLabel", font=small, foreground="#404040")
    style.configure("Error.TLabel", foreground=ERROR_FG, font=small)
    style.configure("Notice.TLabel", foreground="#0b5a0b", font=small)
    style.configure("Step.TLabel", background=accent, foreground=look.accent_text, font=small)
    strong = (family, points + 1, "bold")  # a font description: a Font object would need keeping alive
    style.configure("Warning.TLabel", background=WARN_BG, foreground=WARN_FG, font=strong, padding=look.px(6))
    style.configure("Help.TLabel", foreground="#505050", font=small)
    style.configure("FieldWarning.TLabel", foreground=WARN_FG, font=small)
    style.configure("Pass.TLabel", foreground="#107c10")
    style.configure("Warn.TLabel", foreground="#9d5d00")
    style.configure("Fail.TLabel", foreground="#b00020")
    style.configure("Countdown.TLabel", font=title, foreground=accent)
    # Trees (the OU picker, the confirm page's variables): rows as tall as the text at any DPI, and the
    # selected row in the accent colour, as in the lists.
    style.configure("Treeview", rowheight=int(body.metrics("linespace") * 1.3))
    style.map("Treeview", background=[("selected", accent)], foreground=[("selected", look.accent_text)])
    style.configure("TCheckbutton", padding=(look.px(2), look.px(4)), focuscolor=FOCUS_RING,
                    indicatorsize=look.px(14))
    return look


def load_logo(root: tk.Misc, profile: Profile, look: Look) -> tk.PhotoImage | None:
    """The profile's logo (PNG or GIF, relative to the profile); None when absent or unreadable."""
    if not profile.theme.logo:
        return None
    path = Path(profile.theme.logo)
    if not path.is_absolute() and profile.source:
        path = Path(profile.source).parent / path
    try:
        image = tk.PhotoImage(master=root, file=str(path))
    except tk.TclError as exc:
        log.warning("theme.logo %s cannot be shown: %s", path, exc)
        return None
    # Keep the logo about as tall as the header text.
    target = look.px(40)
    factor = max(1, image.height() // max(1, target))
    return image.subsample(factor) if factor > 1 else image
