"""Check marks a checklist can draw on this machine: ☐ ☑ where a font has them, else boxes every Windows font has.

A checklist is a Tk Listbox (one refill per key keeps 10,000 rows fast, docs/performance.md), so its check
boxes are characters of its font, or of whichever installed font Tk falls back to for them. Windows PE ships
few fonts: if none has ☐ and ☑, both would be drawn as the same empty "missing glyph" box, and checked rows
could not be told from unchecked ones. On Windows the fonts are asked (GDI) before a checklist is drawn.
"""

from __future__ import annotations

import functools
import sys
import tkinter as tk
from collections.abc import Iterable
from typing import NamedTuple


class Marks(NamedTuple):
    unchecked: str
    checked: str
    font: str  # the installed font that has both ("" where not asked: fontconfig's fallback on X11)


BALLOT = Marks("\u2610", "\u2611", "")  # ☐ ☑
# In Windows Glyph List 4, which every Windows UI font carries (Segoe UI, Tahoma, Arial, Microsoft Sans Serif).
SQUARES = Marks("\u25a1", "\u25a0", "")  # □ ■
ASCII = Marks("[ ]", "[x]", "")  # the last resort: no font has either pair


def check_marks(widget: tk.Misc, body_family: str) -> Marks:
    """The pair of marks to draw, asked once per process (the fonts do not change while it runs)."""
    if sys.platform != "win32":
        return BALLOT  # X11 and macOS fall back through fontconfig / Core Text, which have ☐ ☑ (DejaVu, Apple Symbols)
    families = [body_family, *(str(f) for f in widget.tk.splitlist(widget.tk.call("font", "families")))]
    return _windows_marks(tuple(families))


@functools.cache
def _windows_marks(families: tuple[str, ...]) -> Marks:
    for pair in (BALLOT, SQUARES):
        face = _windows_font_with(families, pair.unchecked + pair.checked)
        if face:
            return pair._replace(font=face)
    return ASCII


def _windows_font_with(families: Iterable[str], text: str) -> str:
    """The first of `families` (installed font families) with a glyph for every character of `text`; ""."""
    import ctypes
    from ctypes import wintypes

    gdi32 = ctypes.WinDLL("gdi32")  # type: ignore[attr-defined]
    user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]
    # Handles are pointers: without these declarations ctypes would cut them to 32 bits.
    user32.GetDC.restype = wintypes.HDC
    user32.GetDC.argtypes = [wintypes.HWND]
    user32.ReleaseDC.argtypes = [wintypes.HWND, wintypes.HDC]
    gdi32.CreateFontW.restype = wintypes.HFONT
    gdi32.CreateFontW.argtypes = [ctypes.c_int] * 5 + [wintypes.DWORD] * 8 + [wintypes.LPCWSTR]
    gdi32.SelectObject.restype = wintypes.HGDIOBJ
    gdi32.SelectObject.argtypes = [wintypes.HDC, wintypes.HGDIOBJ]
    gdi32.DeleteObject.argtypes = [wintypes.HGDIOBJ]
    gdi32.GetTextFaceW.argtypes = [wintypes.HDC, ctypes.c_int, wintypes.LPWSTR]
    gdi32.GetGlyphIndicesW.restype = wintypes.DWORD
    gdi32.GetGlyphIndicesW.argtypes = [wintypes.HDC, wintypes.LPCWSTR, ctypes.c_int,
                                       ctypes.POINTER(wintypes.WORD), wintypes.DWORD]
    mark_missing, missing, default_charset = 1, 0xFFFF, 1  # GGI_MARK_NONEXISTING_GLYPHS
    hdc = user32.GetDC(None)
    if not hdc:
        return ""
    try:
        seen: set[str] = set()
        for family in families:
            if family.casefold() in seen or family.startswith("@"):  # "@" faces are the vertical CJK ones
                continue
            seen.add(family.casefold())
            font = gdi32.CreateFontW(-16, 0, 0, 0, 400, 0, 0, 0, default_charset, 0, 0, 0, 0, family)
            if not font:
                continue
            old = gdi32.SelectObject(hdc, font)
            try:
                face = ctypes.create_unicode_buffer(64)
                gdi32.GetTextFaceW(hdc, 64, face)
                if face.value.casefold() != family.casefold():  # GDI chose another font: not this family's glyphs
                    continue
                glyphs = (wintypes.WORD * len(text))()
                found = gdi32.GetGlyphIndicesW(hdc, text, len(text), glyphs, mark_missing)
                if found == len(text) and all(glyph != missing for glyph in glyphs):
                    return family
            finally:
                gdi32.SelectObject(hdc, old)
                gdi32.DeleteObject(font)
    finally:
        user32.ReleaseDC(None, hdc)
    return ""
