"""Windows-only help for the window: which Tk DLL the process already uses; imported only on Windows."""

from __future__ import annotations

import ctypes
import sys
from ctypes import wintypes

# Importing this elsewhere is a bug in the caller (ui.window.tk_library picks it by platform).
assert sys.platform == "win32", "ui.win32 is Windows-only"

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_kernel32.GetModuleHandleW.argtypes = [wintypes.LPCWSTR]
_kernel32.GetModuleHandleW.restype = wintypes.HMODULE
_kernel32.GetModuleFileNameW.argtypes = [wintypes.HMODULE, wintypes.LPWSTR, wintypes.DWORD]
_kernel32.GetModuleFileNameW.restype = wintypes.DWORD


def loaded_module(name: str) -> str | None:
    """The full path of the DLL `name` if this process has loaded it (GetModuleHandleW loads nothing), else None."""
    handle = _kernel32.GetModuleHandleW(name)
    if not handle:
        return None
    buffer = ctypes.create_unicode_buffer(32768)  # the longest path Windows allows
    length = _kernel32.GetModuleFileNameW(handle, buffer, len(buffer))
    return buffer.value[:length] if length else None
