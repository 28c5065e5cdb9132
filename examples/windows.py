"""The demo's Windows agent: prestart.exe frozen under wine (./dev windows), copied into the workspace and run."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from media_builder.winefreeze import Run, Wine, finish, freeze, windows_path


def windows_agent() -> Path:
    """The onedir prestart.exe frozen under wine from today's sources: built on the first run, then cached."""
    return freeze()


def run_headless(exe: Path, args: list[str | Path]) -> Run:
    """prestart.exe ARGS under wine, its full Windows exit code and output."""
    return Wine().run([exe, *args], timeout=300)


def show_wizard(exe: Path, args: list[str | Path], screenshot: Path, *, title: str) -> int:
    """Open the wizard under wine on a private Xvfb, screenshot its first page, then close it as Windows
    would (WM_CLOSE); returns the agent's exit code (1223: closed)."""
    wine = Wine()
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        display = ":" + pipe.readline().decode().strip()
    trace = screenshot.with_suffix(".trace.txt")
    trace.unlink(missing_ok=True)
    env = wine.env(display, {"PRESTART_UI_TRACE": windows_path(trace)})
    wine.restart()  # the headless runs began wine's session without a display: begin one on this one
    argv = [windows_path(a) if isinstance(a, Path) else a for a in [exe, *args]]
    agent = subprocess.Popen(["wine", *argv], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and agent.poll() is None:
            if trace.exists() and "drawn" in trace.read_text(encoding="utf-8", errors="replace"):
                break
            time.sleep(0.2)
        else:
            raise SystemExit("demo: the wizard did not appear under wine within 2 minutes")
        time.sleep(1)
        subprocess.run(["import", "-window", "root", str(screenshot)], env=env, check=True, timeout=30)
        close = ("import ctypes, sys; u = ctypes.windll.user32; "
                 "u.PostMessageW(u.FindWindowW(None, sys.argv[1]), 0x0010, 0, 0)")
        wine.run([wine.python, "-c", close, title], display=display)
        finish(agent, 60)
        return agent.returncode  # wine keeps 8 bits: 1223 shows as 199
    finally:
        if agent.poll() is None:
            agent.kill()
            finish(agent, 10)
        xvfb.kill()
        xvfb.wait()
