"""The one place that writes files: atomically (temp file, fsync, rename), and flushes finished folders."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` so readers see the old file or the whole new one, never a part."""
    with open_atomic(path, "wb", mode=mode) as fh:
        fh.write(data)


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int | None = None) -> None:
    """Text variant of write_bytes; newlines are written as given."""
    write_bytes(path, text.encode(encoding), mode=mode)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], how: str = "wb", *, mode: int | None = None) -> Iterator[IO[bytes]]:
    """Yield a temp file beside `path`; rename it over `path` only if the block succeeds.

    The file gets `mode`, or what the umask gives a new file (0644 under the usual 022): the temp file
    is private only while it is being written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(target)
    try:
        with os.fdopen(fd, how) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if os.name != "nt":
            os.chmod(tmp, new_file_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_UMASK: list[int] = []  # read once: the umask of a run does not change


def _umask() -> int:
    if not _UMASK:
        try:  # Linux says it without changing it (changing it, even briefly, races other threads)
            with open("/proc/self/status", encoding="ascii") as status:
                line = next(x for x in status if x.startswith("Umask:"))
            _UMASK.append(int(line.split()[1], 8))
        except (OSError, StopIteration, ValueError, IndexError):
            current = os.umask(0o022)
            os.umask(current)
            _UMASK.append(current)
    return _UMASK[0]


def new_file_mode() -> int:
    """The permissions a newly created file gets under this process's umask (0644 under 022)."""
    return 0o666 & ~_umask()


def new_dir_mode() -> int:
    """The permissions a newly created folder gets under this process's umask (0755 under 022)."""
    return 0o777 & ~_umask()


def publish_mode(path: str | os.PathLike[str]) -> None:
    """Give a file or folder made private by mkstemp/mkdtemp the usual permissions before it is renamed
    into place as an output."""
    if os.name != "nt":
        os.chmod(path, new_dir_mode() if os.path.isdir(path) else new_file_mode())



@contextlib.contextmanager
def replace_when_done(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield the name of a new, empty temp file beside `path` (owner only) for the caller to fill; give it the
    umask's permissions and rename it over `path` when the block succeeds, delete it when it fails.

    Unlike open_atomic nothing is flushed here: the builder flushes each finished output as a whole
    (flush_tree) before the output takes its real name, and a WIM or ISO written here is part of one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = _create_beside(target)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        publish_mode(tmp)  # mkstemp made it private; what takes the real name gets the usual permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def stage_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to a flushed temp file beside `path` and return it; `publish` gives it its real name.

    Proves before a commit that the file can be written; only the rename is left for after it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def publish(staged: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Rename a file from `stage_bytes` over `path` (atomic: readers see the old file or the new one)."""
    os.replace(staged, path)


_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
_temp_numbers = itertools.count()


def _create_beside(target: Path) -> tuple[int, str]:
    """A new, empty temp file in `target`'s folder (same file system, so the rename is atomic), owner only.

    Named `.NAME.PID-N.part`: unique within this process by N and between processes by PID; O_EXCL
    skips a name a crashed run left behind. (tempfile.mkstemp does the same with random names, but
    importing tempfile brings shutil, random and the archive modules into every agent start.)
    """
    while True:
        name = str(target.parent / f".{target.name}.{os.getpid()}-{next(_temp_numbers)}.part")
        try:
            return os.open(name, _TEMP_FLAGS, 0o600), name
        except FileExistsError:
            continue


# Windows flushes a file only through a handle that may write to it (FlushFileBuffers), and cannot open a
# folder to flush it; NTFS journals the names itself.
_FLUSH_FILE = (os.O_RDWR | getattr(os, "O_BINARY", 0)) if os.name == "nt" else os.O_RDONLY


def flush_tree(root: str | os.PathLike[str], progress: Callable[[float], None] | None = None) -> None:
    """Flush every file below `root` to the disk, then every folder (deepest first), then `root` itself.

    The builder writes each output in a temp folder and calls this before renaming it into place: the
    rename can then never outlive the bytes, so a power cut leaves the old output or the whole new one.
    A disk error (EIO, or ENOSPC from delayed allocation) is raised, not skipped. `progress` gets the
    fraction of the bytes flushed, from 0.0 to 1.0 (a slow USB disk or share can take minutes).
    """

    def fail(exc: OSError) -> None:
        raise exc

    folders, files = [], []
    for folder, _, names in os.walk(root, onerror=fail):
        folders.append(folder)
        files += [os.path.join(folder, name) for name in names]
    sizes = [os.path.getsize(path) for path in files]
    total, done = sum(sizes) or 1, 0
    if progress:
        progress(0.0)
    for path, size in zip(files, sizes, strict=True):
        flush_path(path)
        done += size
        if progress and done < total:
            progress(done / total)
    if os.name != "nt":
        for folder in reversed(folders):
            flush_path(folder)
    if progress:
        progress(1.0)


def flush_path(path: str | os.PathLike[str]) -> None:
    """fsync one file, or (POSIX) one folder so that the names created or renamed in it are on disk."""
    if os.name == "nt" and os.path.isdir(path):
        return
    fd = os.open(path, _FLUSH_FILE)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Create a file readable by its owner only (0600) from the first byte; refuse to overwrite."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file as hex, read in 1 MiB blocks (boot.wim files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
