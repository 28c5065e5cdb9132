"""A private X server for the wizard: Xvfb on a free display (it picks the number), and openbox on it if asked.

The tests, the benchmarks and the demo draw the wizard on one of these (WinPE has a screen; Linux CI does not).
"""

from __future__ import annotations

import os
import subprocess
import time


def start_xvfb(width: int = 1024, height: int = 768, dpi: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display of `width`x`height` (and `dpi`); (the process, its name such as ":7")."""
    read, write = os.pipe()
    args = ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"]
    if dpi is not None:
        args += ["-dpi", str(dpi)]
    xvfb = subprocess.Popen(args, pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:  # Xvfb writes the number it chose, then a newline, once it listens
        number = pipe.readline().decode().strip()
    if not number:
        xvfb.kill()
        xvfb.wait()
        raise RuntimeError("Xvfb did not report a display number")
    return xvfb, f":{number}"


def start_openbox(display: str, timeout: float = 10) -> subprocess.Popen[bytes]:
    """Start openbox on `display` and wait until it manages the screen (it owns the WM_S0 selection then)."""
    env = dict(os.environ, DISPLAY=display)
    wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(["wmctrl", "-m"], env=env, capture_output=True, text=True)
        if probe.returncode == 0 and "openbox" in probe.stdout.casefold():
            return wm
        time.sleep(0.1)
    wm.kill()
    wm.wait()
    raise RuntimeError(f"openbox did not start on Xvfb {display}")
