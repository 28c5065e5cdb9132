"""A real frozen Linux agent (PyInstaller, from packaging/prestart.spec) runs the reference spec: onedir, and
onefile with Tcl/Tk left packed until the wizard needs it (seen with strace)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agent import __version__
from agent.errors import InputError
from media_builder import freeze
from media_builder.pe import pe_machine
from tests.conftest import strace


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Frozen once, into a relative cache folder, as `prestart-media build` with its default `-o out` asks."""
    home = tmp_path_factory.mktemp("freeze-cwd")
    with contextlib.chdir(home):
        exe = freeze.freeze(cache_dir=Path("out") / ".cache", arch=freeze.host_arch())
    return exe, home / "out" / ".cache"


def test_a_relative_cache_folder_is_the_callers(frozen: tuple[Path, Path]) -> None:
    exe, cache = frozen
    assert exe.is_absolute() and exe.is_relative_to(cache) and exe.is_file()


@pytest.fixture(scope="module")
def onefile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return freeze.freeze(onefile=True, cache_dir=tmp_path_factory.mktemp("freeze-onefile"), arch=freeze.host_arch())


def test_second_freeze_comes_from_the_cache(frozen: tuple[Path, Path]) -> None:
    exe, cache = frozen
    key = freeze.cache_key(onefile=False)
    if key != exe.parents[2].name:
        pytest.fail("the agent sources changed while the test ran (someone is editing agent/, hooks/ or ui/)")
    started = time.monotonic()
    assert freeze.freeze(cache_dir=cache, arch=freeze.host_arch()) == exe
    assert time.monotonic() - started < 2.0
    assert [p.name for p in cache.iterdir()] == [key]  # no leftover temp folders


def run(exe: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_frozen_agent_reports_its_version(frozen: tuple[Path, Path], tmp_path: Path) -> None:
    exe, _cache = frozen
    assert exe.name == "prestart" and exe.parent.name == "prestart"  # onedir: prestart/prestart + _internal/
    assert (exe.parent / "_internal").is_dir()
    assert pe_machine(exe) == "elf-x86_64" if freeze.host_arch() == "amd64" else pe_machine(exe).startswith("elf-")
    done = run(exe, "--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_onedir_modules_are_loose_files_and_the_builder_stays_home(frozen: tuple[Path, Path]) -> None:
    # Loose .pyc files are imported by Python's path finder, faster than PyInstaller's PYZ reader.
    internal = frozen[0].parent / "_internal"
    assert (internal / "agent" / "cli.pyc").is_file()
    assert (internal / "ui" / "app.pyc").is_file()
    assert not list(internal.rglob("*.pyz"))
    for never in ("media_builder", "pycdlib", "PyInstaller", "pytest", "hypothesis"):
        assert not (internal / never).exists(), f"{never} went into the frozen agent"


def test_only_the_run_time_hooks_the_agent_needs_run_at_start(frozen: tuple[Path, Path]) -> None:
    # PyInstaller's hook for `inspect` would import inspect, ast, dis, tokenize and zipfile on every start.
    from PyInstaller.archive.readers import CArchiveReader

    scripts = [
        name for name in CArchiveReader(str(frozen[0])).toc if name.startswith(("pyiboot", "pyi_rth", "prestart"))
    ]
    assert scripts == ["pyiboot01_bootstrap", "pyi_rth__tkinter", "prestart_entry"]


def test_onefile_carries_tcl_tk_as_one_pack_and_no_tkinter_hook(onefile: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader

    toc = CArchiveReader(str(onefile)).toc
    scripts = [name for name in toc if name.startswith(("pyiboot", "pyi_rth", "prestart"))]
    assert scripts == ["pyiboot01_bootstrap", "prestart_entry"]  # agent/lazypacks.py sets TCL_LIBRARY instead
    _offset, stored, size, compressed, kind = toc["_lazy/_tkinter.zip"]
    assert (kind, compressed, stored == size) == ("Z", 0, True)  # written out as it is, not inflated again
    assert not [name for name in toc if name.startswith(("_tcl_data/", "_tk_data/")) or "libtk" in name]


_OPENAT = re.compile(r'openat\(AT_FDCWD, "(?P<path>[^"]+)", (?P<flags>[A-Z_|]+)')


def opened(log: Path) -> tuple[list[str], list[str]]:
    """(files created, files read) inside the onefile's unpack folder, relative to it, from an strace log."""
    created: list[str] = []
    read: list[str] = []
    for match in _OPENAT.finditer(log.read_text(encoding="utf-8", errors="replace")):
        _folder, sep, inside = match["path"].partition("/_MEI")
        if not sep or "/" not in inside:
            continue
        name = inside.split("/", 1)[1]
        (created if "O_CREAT" in match["flags"] else read).append(name)
    return created, read


def is_tcl_tk(name: str) -> bool:
    """A file of Tcl/Tk's own, unpacked (not the pack that carries them)."""
    if name.startswith("_lazy/"):
        return False
    return name.startswith(("_tcl_data/", "_tk_data/")) or "libtk" in name or "libtcl" in name or "_tkinter." in name


def test_a_onefile_headless_run_unpacks_no_tcl_tk(onefile: Path, spec_dir: Path, tmp_path: Path) -> None:
    case = json.loads((spec_dir / "expected" / "technician-vm.json").read_text(encoding="utf-8"))
    out, log = tmp_path / "out.json", tmp_path / "strace.log"
    args = ["run", "--profile", case["profile"], "--catalog", case["catalog"], "--facts", case["facts"]]
    args += ["--answers", case["answers"], "--unattended", "--sink", f"json:{out}"]
    done = subprocess.run(
        [*strace(log), str(onefile), *args],
        capture_output=True, text=True, timeout=120, cwd=spec_dir,
    )  # fmt: skip
    assert done.returncode == case["exit_code"], done.stdout + done.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert {name: got[name] for name in case["variables"]} == case["variables"]
    created, read = opened(log)
    assert "_lazy/_tkinter.zip" in created and "libpython3" in " ".join(created)
    assert not [name for name in created + read if is_tcl_tk(name)]
    assert len(created) < 100  # Tcl/Tk alone is ~170 files


def test_the_onefile_wizard_unpacks_tcl_tk_when_it_starts(
    onefile: Path, display: str, spec_dir: Path, tmp_path: Path
) -> None:
    trace, log = tmp_path / "ui-trace", tmp_path / "strace.log"
    args = ["preview", "technician.yaml", "--facts", "facts/laptop.json", "--catalog", "catalog.json"]
    env = {**os.environ, "DISPLAY": display, "PRESTART_UI_TRACE": str(trace)}
    process = subprocess.Popen(
        [*strace(log), str(onefile), *args],
        cwd=spec_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "drawn" not in (trace.read_text(encoding="utf-8") if trace.exists() else ""):
            assert process.poll() is None, process.communicate()[1].decode(errors="replace")
            assert time.monotonic() < deadline, "the first page was not drawn within 60 s"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own, with the error above
            os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)
    assert "page deployment" in trace.read_text(encoding="utf-8")
    created, read = opened(log)
    assert "_lazy/_tkinter.zip" in created
    assert {"_tcl_data/init.tcl", "_tk_data/tk.tcl"} <= set(created)
    assert any(name.startswith("libtk8") for name in created)
    # Tcl and Tk read their scripts from the unpacked pack (TCL_LIBRARY, TK_LIBRARY), not from the system.
    assert {"_tcl_data/init.tcl", "_tk_data/tk.tcl"} <= set(read)


def test_frozen_agent_checks_the_reference_profiles(frozen: tuple[Path, Path], spec_dir: Path) -> None:
    exe, _cache = frozen
    for profile in ("technician.yaml", "kiosk.yaml"):
        done = run(exe, "check", str(spec_dir / profile), cwd=spec_dir)
        assert done.returncode == 0, done.stdout + done.stderr


def test_frozen_agent_runs_a_reference_headless_case(frozen: tuple[Path, Path], spec_dir: Path, tmp_path: Path) -> None:
    exe, _cache = frozen
    case = json.loads((spec_dir / "expected" / "technician-vm.json").read_text(encoding="utf-8"))
    out = tmp_path / "out.json"
    args = ["run", "--profile", case["profile"], "--catalog", case["catalog"], "--facts", case["facts"]]
    args += ["--answers", case["answers"], "--unattended", "--sink", f"json:{out}"]
    done = run(exe, *args, cwd=spec_dir)
    assert done.returncode == case["exit_code"], done.stdout + done.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in case["variables"].items():
        assert got[name] == value


def test_cross_freezing_is_refused_with_a_next_step(tmp_path: Path) -> None:
    other = "arm64" if freeze.host_arch() == "amd64" else "amd64"
    with pytest.raises(InputError, match="does not cross-compile") as err:
        freeze.freeze(cache_dir=tmp_path, arch=other)
    assert "docs/windows-build.md" in err.value.hint
    if freeze.host_os() != "windows":
        with pytest.raises(InputError, match="for windows"):
            freeze.freeze(cache_dir=tmp_path, arch=freeze.host_arch(), target_os="windows")
    assert list(tmp_path.iterdir()) == []


def test_cache_key_follows_the_sources_and_the_build_kind() -> None:
    assert freeze.cache_key(onefile=False) == freeze.cache_key(onefile=False)
    assert freeze.cache_key(onefile=False) != freeze.cache_key(onefile=True)
