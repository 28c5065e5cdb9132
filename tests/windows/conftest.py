"""The Windows agent under wine: the frozen prestart.exe (./dev windows), its prefix, a bare X server, fakes.

Wine's quirks are handled here, not in the product: runs go through `Wine.run` (pipes, never plain files,
for the std handles; the full 32-bit exit code read through cmd's %ERRORLEVEL%). Wine is not WinPE: there
is no X: drive unless a test maps one, no MiniNT key unless a test adds it, and SMBIOS is wine's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent import proc
from examples.display import start_xvfb
from media_builder.winefreeze import EXIT_MARKER, Wine, finish, freeze, windows_path
from tests.conftest import SPEC

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "artifacts" / "windows"
MININT = r"HKLM\SYSTEM\CurrentControlSet\Control\MiniNT"


@pytest.fixture(scope="session")
def wine() -> Wine:
    return Wine()


@pytest.fixture(scope="session")
def exe(wine: Wine) -> Path:
    """prestart.exe frozen under wine from today's sources (cached: ./dev test has usually built it)."""
    path = freeze()
    wine.ensure()
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def drive_x(wine: Wine, root: Path) -> Iterator[Path]:
    """Map drive X: of the prefix to `root`, as WinPE's RAM drive; unmapped afterwards."""
    link = wine.prefix / "dosdevices" / "x:"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(root)
    try:
        yield root
    finally:
        link.unlink()


@contextlib.contextmanager
def winpe_registry(wine: Wine) -> Iterator[None]:
    """The MiniNT key, by which Windows (and the agent) tells WinPE from a full Windows."""
    wine.run(["reg", "add", MININT, "/f"], check=True)
    try:
        yield
    finally:
        wine.run(["reg", "delete", MININT, "/f"])


@pytest.fixture(scope="session")
def fake_wpeutil(wine: Wine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding wpeutil.exe (WinPE's power tool), built with mingw-w64: it writes its arguments
    to %PRESTART_TEST_WPEUTIL_LOG% instead of rebooting. Put the folder on WINEPATH."""
    folder = tmp_path_factory.mktemp("wpeutil")
    source = folder / "wpeutil.c"
    source.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n"
        "int main(int argc, char **argv) {\n"
        '  const char *log = getenv("PRESTART_TEST_WPEUTIL_LOG");\n'
        '  FILE *f = log ? fopen(log, "a") : NULL;\n'
        "  if (!f) return 2;\n"
        '  for (int i = 1; i < argc; i++) fprintf(f, i > 1 ? " %s" : "%s", argv[i]);\n'
        '  fprintf(f, "\\n"); fclose(f); return 0;\n'
        "}\n"
    )
    proc.run(["x86_64-w64-mingw32-gcc", "-O1", "-o", str(folder / "wpeutil.exe"), str(source)])
    return folder


class TsEnvironment:
    """The test-only Microsoft.SMS.TSEnvironment (tests/windows/tsenv_server.py), registered in the prefix."""

    def __init__(self, wine: Wine, folder: Path) -> None:
        self.wine = wine
        self.folder = folder
        self.state = folder / "tsenv.json"
        self.calls = folder / "calls.log"

    def seed(self, variables: dict[str, object]) -> None:
        import json

        self.calls.unlink(missing_ok=True)
        self.state.write_text(json.dumps(variables, ensure_ascii=False), encoding="utf-8")

    def variables(self) -> dict[str, str]:
        import json

        return dict(json.loads(self.state.read_text(encoding="utf-8")))

    def call_log(self) -> list[list[str]]:
        if not self.calls.exists():
            return []
        return [line.split("\t") for line in self.calls.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tsenv_server(wine: Wine, exe: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TsEnvironment]:
    """Register the stand-in TSEnvironment for one test module; unregistered at its end, so no other
    module's engine detection sees a task sequence."""
    folder = tmp_path_factory.mktemp("tsenv")
    shutil.copy(HERE / "tsenv_server.py", folder / "tsenv_server.py")
    server = TsEnvironment(wine, folder)
    server.seed({})
    wine.run([wine.python, folder / "tsenv_server.py", "/regserver"], check=True, timeout=120)
    try:
        yield server
    finally:
        wine.run([wine.python, folder / "tsenv_server.py", "/unregserver"], timeout=120)
        # COM leaves the LocalServer running for a while; end it with the prefix's other processes
        subprocess.run(["wineserver", "-k"], env=wine.env(), capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def bare_display() -> Iterator[str]:
    """Xvfb with no window manager, as in WinPE: no title bar, nothing that handles Alt+F4 or Alt+Tab."""
    xvfb, name = start_xvfb()
    yield name
    proc.stop(xvfb, grace=5)


@pytest.fixture(scope="session")
def small_display() -> Iterator[str]:
    """A bare 800x600 screen, the smallest the wizard is made for (issue 26)."""
    xvfb, name = start_xvfb(800, 600)
    yield name
    proc.stop(xvfb, grace=5)


@pytest.fixture(scope="session")
def large_display() -> Iterator[str]:
    """A bare 1920x1080 screen at 96 dpi, where a full-screen wizard grows its text (ui.theme.screen_fit)."""
    xvfb, name = start_xvfb(1920, 1080)
    yield name
    proc.stop(xvfb, grace=5)


def win(path: Path) -> str:
    return windows_path(path)


def run_args(profile: Path, sink: Path | None, tmp: Path) -> list[str | Path]:
    """`prestart run` with the bundled example's catalog and laptop facts; variables to `sink` (JSON) if given."""
    args: list[str | Path] = ["run", "--profile", profile, "--catalog", SPEC / "catalog.json",
                              "--facts", SPEC / "facts" / "laptop.json"]
    if sink is not None:
        args += ["--sink", f"json:{win(sink)}", "--log-dir", tmp / "logs"]
    return args


class WineUi:
    """One prestart.exe with a window under wine on the bare X server, driven by xdotool's real input events.

    Events come back through PRESTART_UI_TRACE (ui/app.py), a file the agent writes through its Windows path.
    The run goes through cmd /c so that its full 32-bit exit code can be read at the end.
    """

    def __init__(self, wine: Wine, display: str, exe: Path, args: list[str | Path], *, title: str, tmp: Path,
                 shots: Path, env: dict[str, str] | None = None) -> None:
        self.wine = wine
        self.display = display
        self.title = title
        self.shots = shots
        self.trace_file = tmp / "ui-trace.txt"
        self.trace_file.unlink(missing_ok=True)
        extra = {"PRESTART_UI_TRACE": windows_path(self.trace_file), **(env or {})}
        self.env = wine.env(display, extra)
        wine.restart()  # so that wine's desktop, started with the session, lives on this display
        argv = [windows_path(a) if isinstance(a, Path) else a for a in [exe, *args]]
        self.process = subprocess.Popen(
            ["wine", "cmd", "/c", *argv, "&", "echo", f"{EXIT_MARKER}%ERRORLEVEL%"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # cmd, the exe and wine's helpers: one process group to end together
        )  # fmt: skip
        self.seen = 0
        self.stdout = ""
        self.stderr = ""

    def events(self) -> list[str]:
        if not self.trace_file.exists():
            return []
        text = self.trace_file.read_text(encoding="utf-8", errors="replace")
        return [line.split(" ", 1)[1] for line in text.splitlines() if " " in line]

    def wait_for(self, found: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        """Wait for the next trace line for which `found` is true, and return it (earlier lines are consumed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self.process.poll() is not None  # before reading: a line written just before the end counts
            lines = self.events()
            for index in range(self.seen, len(lines)):
                if found(lines[index]):
                    self.seen = index + 1
                    return lines[index]
            if ended:
                self.finish()
                raise AssertionError(f"exited before {what}; events {lines}; stderr: {self.stderr[-2000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout} s; events: {self.events()}")

    def wait(self, event: str, timeout: float = 30) -> None:
        """Wait for the next trace line equal to `event` (the lines before it are consumed)."""
        self.wait_for(lambda line: line == event, repr(event), timeout)

    def quiet(self, seconds: float = 0.8) -> list[str]:
        """The events that arrive within `seconds` (to show that a key did nothing)."""
        time.sleep(seconds)
        lines = self.events()
        new, self.seen = lines[self.seen :], len(lines)
        return new

    def xdo(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=20)
        return done.stdout

    def window(self) -> str:
        found = self.xdo("search", "--onlyvisible", "--name", f"^{self.title}$").split()
        assert found, f"no visible window named {self.title!r}"
        return found[0]

    def focus(self) -> None:
        """No window manager gives the window the focus: take it as a click on it would."""
        window = self.window()
        self.xdo("windowfocus", "--sync", window)
        time.sleep(0.5)  # wine activates the window when it reads the FocusIn event, a moment later

    def key(self, *keys: str) -> None:
        """Real key events, one key at a time: wine's event loop under load drops keys sent back to back."""
        for key in keys:
            self.xdo("key", key)
            time.sleep(0.3)

    def press(self, key: str, *starts: str, tries: int = 3, timeout: float = 4) -> str:
        """Press `key` until a trace line starting with one of `starts` comes, and return it. Under load wine's
        event loop drops a key now and then (most often one sent while a dialog is still taking the focus): it
        is sent again, never assumed."""
        for _ in range(tries):
            self.key(key)
            try:
                return self.wait_for(lambda line: line.startswith(starts), repr(starts), timeout)
            except AssertionError:
                if not self.alive():
                    raise
        raise AssertionError(f"{key} never gave {starts!r}: {self.events()[-10:]}")

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", "200", text)

    def click(self, x: int, y: int) -> None:
        """A real mouse click at (x, y) inside the window (the wizard's layout is fixed: 800x600 at 96 dpi)."""
        self.xdo("mousemove", "--window", self.window(), "--sync", str(x), str(y), "click", "1")

    def button(self, text: str) -> tuple[int, int]:
        """Where the wizard's button `text` (Cancel, Back, Next) is inside its window, as ui/app.py traced it
        when the window was drawn (Finish takes Next's place)."""
        deadline = time.monotonic() + 10
        while not (where := [e.split()[2:] for e in self.events() if e.startswith(f"button {text} ")]):
            assert time.monotonic() < deadline, f"the wizard did not say where its {text} button is: {self.events()}"
            time.sleep(0.05)
        x, y = where[-1]
        return int(x), int(y)

    def close_request(self) -> None:
        """What Windows sends for a title bar's close button or taskkill without /f: WM_CLOSE to the window."""
        code = (
            "import ctypes, sys; u = ctypes.windll.user32; h = u.FindWindowW(None, sys.argv[1]); "
            "sys.exit(0 if h and u.PostMessageW(h, 0x0010, 0, 0) else 3)"
        )
        self.wine.run([self.wine.python, "-c", code, self.title], display=self.display, check=True)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True, timeout=30)
        return path

    def alive(self) -> bool:
        return self.process.poll() is None

    def finish(self, timeout: float = 60) -> int:
        """Wait for the end; the full Windows exit code (cmd's %ERRORLEVEL%), or -1 if none came."""
        out, err = finish(self.process, timeout)
        self.stdout += out
        self.stderr += err
        _, marker, after = self.stdout.rpartition(EXIT_MARKER)
        return int(after.split()[0]) if marker else -1

    def stop(self) -> None:
        """End a run the test left behind, with every process of its group, so no window stays up."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            try:
                self.finish(timeout=15)
            except subprocess.TimeoutExpired:  # a wine process outside the group holds the pipe: end the prefix's
                subprocess.run(["wineserver", "-k"], env=self.wine.env(), capture_output=True, timeout=60)
                self.finish(timeout=15)


@pytest.fixture
def wine_ui(
    wine: Wine, exe: Path, bare_display: str, tmp_path: Path, artifacts: Path
) -> Iterator[Callable[..., WineUi]]:
    """wine_ui(args..., title=..., env=..., display=...) starts prestart.exe with a window (on the 1024x768
    bare_display unless another is given); all are ended after the test."""
    runs: list[WineUi] = []

    def start(*args: str | Path, title: str, env: dict[str, str] | None = None, display: str = "") -> WineUi:
        run = WineUi(wine, display or bare_display, exe, list(args), title=title, tmp=tmp_path, shots=artifacts,
                     env=env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()
