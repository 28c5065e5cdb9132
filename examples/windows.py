"""The demo's Windows agent: prestart.exe frozen under wine (./dev windows), copied into the workspace and run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from examples.display import start_xvfb
from media_builder.winefreeze import Run, Wine, finish, freeze, windows_path


def windows_agent() -> Path:
    """The onedir prestart.exe frozen under wine from today's sources: built on the first run, then cached."""
    return freeze()


def run_headless(exe: Path, args: list[str | Path]) -> Run:
    """prestart.exe ARGS under wine, its full Windows exit code and output."""
    return Wine().run([exe, *args], timeout=300)


def _wait_for(trace: Path, prefix: str, agent: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait until the wizard's trace has a line starting with `prefix` (or the agent has exited)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and agent.poll() is None:
        text = trace.read_text(encoding="utf-8", errors="replace") if trace.exists() else ""
        if any(line.split(" ", 1)[-1].startswith(prefix) for line in text.splitlines()):
            return
        time.sleep(0.2)


def show_wizard(exe: Path, args: list[str | Path], screenshot: Path, *, title: str) -> int:
    """Open the wizard under wine on a private Xvfb, screenshot its first page, then close it as Windows
    would (WM_CLOSE); returns the agent's exit code (1223: closed)."""
    wine = Wine()
    xvfb, display = start_xvfb()
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
        # The close request asks "Stop here?" like Cancel does, with No as the safe default: Tab to Yes, Enter.
        _wait_for(trace, "dialog ", agent, 30)
        xdo = ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"]
        found = subprocess.run(xdo, env=env, capture_output=True, text=True, timeout=20).stdout.split()
        if found:  # no window manager gives the window the focus: take it as a click would
            subprocess.run(["xdotool", "windowfocus", "--sync", found[0]], env=env, capture_output=True, timeout=20)
            time.sleep(0.5)
        for key in ("Tab", "Return"):
            subprocess.run(["xdotool", "key", key], env=env, capture_output=True, timeout=20)
            time.sleep(0.3)
        finish(agent, 60)
        return agent.returncode  # wine keeps 8 bits: 1223 shows as 199
    finally:
        if agent.poll() is None:
            agent.kill()
            finish(agent, 10)
        xvfb.kill()
        xvfb.wait()
