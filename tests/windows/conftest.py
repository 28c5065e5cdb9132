"""The Windows agent under wine: the frozen prestart.exe (./dev windows), its prefix, a bare X server, fakes.

Wine's quirks are handled here, not in the product: runs go through `Wine.run` (pipes, never plain files,
for the std handles; the full 32-bit exit code read through cmd's %ERRORLEVEL%). Wine is not WinPE: there
is no X: drive unless a test maps one, no MiniNT key unless a test adds it, and SMBIOS is wine's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import proc
from media_builder.winefreeze import Wine, freeze, windows_path

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
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    number = b""
    with os.fdopen(read, "rb") as pipe:
        while not number.endswith(b"\n"):
            chunk = pipe.read(1)
            if not chunk:
                break
            number += chunk
    assert number.strip(), "Xvfb did not report a display number"
    yield f":{number.decode().strip()}"
    proc.stop(xvfb, grace=5)


def win(path: Path) -> str:
    return windows_path(path)
