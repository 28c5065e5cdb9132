"""Freeze the agent with PyInstaller from packaging/prestart.spec, cached by a hash of everything that goes in."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from agent import proc
from agent.errors import InputError
from media_builder.pe import normalize_arch

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "packaging" / "prestart.spec"
ENTRY = REPO / "packaging" / "prestart_entry.py"
SOURCES = ("agent", "hooks", "ui")
# The agent always travels inside an LZX-compressed boot.wim. PyInstaller compresses every module of its
# PYZ archive with zlib, which LZX cannot compress again: stored (level 0, still valid zlib streams), the
# Windows agent took 0.4 MB less in the WIM (docs/performance.md), and no module is inflated at import.
# Applied to the onefile executable's archive too (same variable), which also ends up in the WIM.
PYINSTALLER_ENV = {"PYINSTALLER_ZLIB_COMPRESSION_LEVEL": "0"}
# Installed distributions that end up inside the frozen agent; a new version means a new build.
_DISTRIBUTIONS = (
    "pyinstaller", "PyYAML", "requests", "PyNaCl", "defusedxml", "urllib3", "certifi", "idna", "charset-normalizer",
)
_OS_NAMES = {"win32": "windows", "linux": "linux", "darwin": "macos"}


def host_os() -> str:
    """This machine's OS as the media builder names it: windows, linux, macos."""
    return _OS_NAMES.get(sys.platform, sys.platform)


def host_arch() -> str:
    """This machine's architecture as the media definition names it: amd64, x86, arm64."""
    return normalize_arch(platform.machine())


def _exe_name() -> str:
    return "prestart.exe" if host_os() == "windows" else "prestart"


def cache_key(*, onefile: bool) -> str:
    """SHA-256 of the agent sources, the spec, the Python build and the packaged distributions' versions."""
    h = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    for top in SOURCES:
        root = REPO / top
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            if path.suffix in (".pyc", ".pyo"):
                continue
            feed(path.relative_to(REPO).as_posix(), path.read_bytes())
    feed("spec", SPEC.read_bytes())
    feed("entry", ENTRY.read_bytes())
    feed("python", f"{sys.version}|{sys.platform}|{platform.machine()}|{sys.abiflags}".encode())
    feed("onefile", b"1" if onefile else b"0")
    feed("pyinstaller-env", json.dumps(PYINSTALLER_ENV, sort_keys=True).encode())
    for dist in _DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        feed("dist:" + dist, version.encode())
    return h.hexdigest()[:32]


def _refuse_cross(arch: str, target_os: str | None) -> None:
    want_arch, have_arch = normalize_arch(arch), host_arch()
    want_os = (target_os or host_os()).lower()
    if want_os != host_os() or want_arch != have_arch:
        raise InputError(
            f"cannot freeze the agent for {want_os} {want_arch} on this {host_os()} {have_arch} machine: "
            "PyInstaller does not cross-compile",
            f"freeze it on a {want_os} {want_arch} build machine (docs/windows-build.md) and give the media "
            f"definition the binary as `agent.{want_arch}: <path>` instead of `freeze: true`",
        )


def freeze(*, onefile: bool = False, cache_dir: Path, arch: str, target_os: str | None = None) -> Path:
    """Return the path of a frozen agent executable for this host, building it unless the cache has it.

    `arch` (and `target_os`, default this host's) must be this machine's: InputError otherwise.
    A build happens in a temp folder and is renamed into `cache_dir/<key>` only when it succeeded,
    so an interrupted build is never mistaken for a cached one.
    """
    _refuse_cross(arch, target_os)
    # PyInstaller runs in the repository (the spec's paths are relative to it): a relative cache folder
    # means the caller's, so it is made absolute here, before the working directory changes.
    cache_dir = cache_dir.resolve()
    if not SPEC.is_file():
        raise InputError(f"{SPEC} is missing", "run the media builder from a complete checkout")
    key = cache_key(onefile=onefile)
    final = cache_dir / key
    exe = final / "dist" / (_exe_name() if onefile else f"prestart/{_exe_name()}")
    if (final / "done.json").is_file() and exe.is_file():
        return exe
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
    try:
        env = {**os.environ, **PYINSTALLER_ENV, "PRESTART_ONEFILE": "1" if onefile else "0"}
        proc.run(
            [
                sys.executable, "-m", "PyInstaller", str(SPEC),
                "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
                "--noconfirm", "--clean", "--log-level", "WARN",
            ],
            env=env,
            cwd=str(REPO),
            timeout=1800,
        )  # fmt: skip
        built = work / "dist" / (_exe_name() if onefile else f"prestart/{_exe_name()}")
        if not built.is_file():
            raise InputError(f"PyInstaller finished but {built} is missing", f"check {SPEC}")
        shutil.rmtree(work / "build", ignore_errors=True)
        (work / "done.json").write_text(
            json.dumps({"key": key, "onefile": onefile, "python": sys.version, "os": host_os(), "arch": host_arch()})
        )
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(final)  # a stale, incomplete entry from an older layout
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return exe
