"""A real frozen Linux agent (PyInstaller, from packaging/prestart.spec) runs the reference spec, onedir and onefile."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agent import __version__
from agent.errors import InputError
from media_builder import freeze
from media_builder.pe import pe_machine


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


def test_a_onefile_headless_run_commits_the_expected_variables(onefile: Path, spec_dir: Path, tmp_path: Path) -> None:
    case = json.loads((spec_dir / "expected" / "technician-vm.json").read_text(encoding="utf-8"))
    out = tmp_path / "out.json"
    args = ["run", "--profile", case["profile"], "--catalog", case["catalog"], "--facts", case["facts"]]
    args += ["--answers", case["answers"], "--unattended", "--sink", f"json:{out}"]
    done = run(onefile, *args, cwd=spec_dir)
    assert done.returncode == case["exit_code"], done.stdout + done.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert {name: got[name] for name in case["variables"]} == case["variables"]


def test_the_onefile_wizard_draws_its_first_page(
    onefile: Path, display: str, spec_dir: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "ui-trace"
    args = ["preview", "technician.yaml", "--facts", "facts/laptop.json", "--catalog", "catalog.json"]
    env = {**os.environ, "DISPLAY": display, "PRESTART_UI_TRACE": str(trace)}
    process = subprocess.Popen(
        [str(onefile), *args],
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
