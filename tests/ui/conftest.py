"""A driver that runs the `prestart` CLI against the session's real X server (Xvfb with openbox, the `display`
fixture in tests/conftest.py) and sends real input events with xdotool."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import proc
from examples.display import start_openbox, start_xvfb

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class UiRun:
    """One `python -m agent ...` process with a window, driven by xdotool; events come back via PRESTART_UI_TRACE."""

    def __init__(self, display: str, tmp: Path, shots: Path, args: list[str], *, title: str) -> None:
        self.display = display
        self.env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(REPO))
        self.trace_file = tmp / "ui-trace.txt"
        self.trace_file.unlink(missing_ok=True)
        self.env["PRESTART_UI_TRACE"] = str(self.trace_file)
        self.env.pop("PRESTART_KIOSK_WINDOWED", None)
        self.shots = shots
        self.title = title
        self.seen = 0  # trace lines consumed by wait()
        self.process = subprocess.Popen([sys.executable, "-m", "agent", *args], cwd=REPO, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout = ""
        self.stderr = ""

    def events(self) -> list[str]:
        if not self.trace_file.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.trace_file.read_text(encoding="utf-8").splitlines()]

    def wait(self, event: str, timeout: float = 10) -> None:
        """Wait for the next trace line equal to `event` (lines before it are consumed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self.process.poll() is not None  # before reading: a line written just before the end counts
            lines = self.events()
            for index in range(self.seen, len(lines)):
                if lines[index] == event:
                    self.seen = index + 1
                    return
            if ended:
                self.communicate()
                raise AssertionError(f"exited {self.process.returncode} before {event!r}; events {lines}; "
                                     f"stderr: {self.stderr}")
            time.sleep(0.03)
        events = self.events()
        self.stop()  # for its stderr: a traceback in a Tk callback does not end the process
        raise AssertionError(f"no {event!r} within {timeout} s; events: {events}; stderr: {self.stderr[-2000:]}")

    def wait_match(self, pattern: str, timeout: float = 10) -> str:
        """Wait for the next trace line that matches the regular expression `pattern`; return it."""
        import re

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.events()
            for index in range(self.seen, len(lines)):
                if re.fullmatch(pattern, lines[index]):
                    self.seen = index + 1
                    return lines[index]
            time.sleep(0.03)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s; events: {self.events()}")

    def ready(self, page: str) -> None:
        """Wait until the first page is shown and drawn."""
        self.wait(f"page {page}")
        self.wait("drawn")

    # Lines that report what is on screen, or an answer a key typed, rather than a step the wizard took.
    OBSERVATIONS = ("scroll ", "focus ", "size ", "default ", "countdown ", "answer ", "filtered ", "check marks ")

    def quiet(self, seconds: float = 0.4) -> list[str]:
        """Events that arrive within `seconds` (to show that a key did nothing); observations left out."""
        time.sleep(seconds)
        lines = self.events()
        new, self.seen = lines[self.seen:], len(lines)
        return [line for line in new if not line.startswith(self.OBSERVATIONS)]

    def xdo(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=10)

    def window(self) -> str:
        found = self.xdo("search", "--name", f"^{self.title}$").stdout.split()
        assert found, f"no window named {self.title!r}"
        return found[0]

    def focus(self) -> None:
        self.xdo("windowactivate", "--sync", self.window())

    def key(self, *keys: str) -> None:
        """Real key events (XTEST) to whatever has the keyboard focus, as a person would type them."""
        self.xdo("key", "--delay", "40", *keys)

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", "40", text)

    def wmctrl_close(self) -> int:
        """What the title bar's close button does: ask the window manager to close the window."""
        return subprocess.run(["wmctrl", "-c", self.title], env=self.env, capture_output=True).returncode

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True, timeout=20)
        return path

    def alive(self) -> bool:
        return self.process.poll() is None

    def communicate(self, timeout: float = 15) -> int:
        out, err = self.process.communicate(timeout=timeout)
        self.stdout += out or ""
        self.stderr += err or ""
        return self.process.returncode

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
            self.communicate()


@pytest.fixture
def ui(display: str, tmp_path: Path, screenshots: Path) -> Iterator[object]:
    """ui(args..., title=...) starts a run; every run still up at the end of the test is killed."""
    runs: list[UiRun] = []

    def start(*args: str, title: str) -> UiRun:
        run = UiRun(display, tmp_path, screenshots, list(args), title=title)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()



@contextlib.contextmanager
def sized_screen(width: int, height: int, dpi: int) -> Iterator[str]:
    """Another Xvfb with openbox, of the given size and DPI (Tk reads the DPI from the screen's size in mm).

    Only for child processes: a Tk in the pytest process keeps its connection until the process exits, and
    once this server is stopped Xlib ends the whole run (exit 1) at that Tk's next event (docs/ui.md "Tests")."""
    xvfb, name = start_xvfb(width, height, dpi)
    wm = start_openbox(name)
    try:
        yield name
    finally:
        for process in (wm, xvfb):
            proc.stop(process, grace=5)


# The screens issue 26 was tried on: (width, height, dpi).
SCREENS = [(800, 600, 96), (1024, 768, 96), (1366, 768, 120), (1920, 1080, 96), (1920, 1080, 144)]


@pytest.fixture(scope="module", params=SCREENS, ids=lambda s: f"{s[0]}x{s[1]}@{s[2]}")
def screen(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, int, int]]:
    """(display, width, height, dpi) for each listed screen; one X server per screen and test module."""
    width, height, dpi = request.param
    with sized_screen(width, height, dpi) as name:
        yield name, width, height, dpi


@pytest.fixture
def ui_on(tmp_path: Path, screenshots: Path) -> Iterator[object]:
    """ui_on(display, args..., title=...): like `ui`, on a display of the test's choosing."""
    runs: list[UiRun] = []

    def start(display: str, *args: str, title: str) -> UiRun:
        run = UiRun(display, tmp_path, screenshots, list(args), title=title)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()
