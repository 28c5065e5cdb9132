"""agent.files: atomic writes leave the old file or the whole new one, never a part, and no litter."""

from __future__ import annotations

import itertools
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent import files
from tests.conftest import REPO


def test_write_text_creates_folders_and_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    files.write_text(target, '{"x": "é"}\n')
    assert target.read_bytes() == '{"x": "é"}\n'.encode()
    assert os.listdir(target.parent) == ["out.json"]


def test_a_failure_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "variables.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), files.open_atomic(target) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("the disk is full")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["variables.json"]


def test_the_temp_file_sits_beside_the_target_until_the_rename(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with files.open_atomic(target) as fh:
        fh.write(b"new")
        (temp,) = [name for name in os.listdir(tmp_path) if name != "out.txt"]
        assert temp.startswith(".out.txt.") and temp.endswith(".part")
        assert not target.exists()
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_get_what_the_umask_gives(tmp_path: Path, umask: int, mode: int) -> None:
    """Outputs, snapshots, normalized task sequences: the usual permissions, not 0600 (a fresh process:
    the umask is read once)."""
    target = tmp_path / "out.xml"
    code = f"from agent import files; files.write_text({str(target)!r}, 'x')"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, preexec_fn=lambda: os.umask(umask))
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_temp_files_are_private_and_mode_is_applied(tmp_path: Path) -> None:
    target = tmp_path / "key"
    with files.open_atomic(target) as fh:
        fh.write(b"x")
        (temp,) = [p for p in tmp_path.iterdir()]
        assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    files.write_bytes(tmp_path / "shared", b"y", mode=0o644)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644


def test_a_link_in_place_of_the_temp_name_is_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp name is created exclusively: an existing file or link there is skipped, not written through."""
    victim = tmp_path / "victim"
    victim.write_text("untouched", encoding="utf-8")
    monkeypatch.setattr(files, "_temp_numbers", itertools.count())
    (tmp_path / f".out.{os.getpid()}-0.part").symlink_to(victim)  # the first name this process would use
    files.write_text(tmp_path / "out", "new")
    assert victim.read_text(encoding="utf-8") == "untouched"
    assert (tmp_path / "out").read_text(encoding="utf-8") == "new"


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one block
    (tmp_path / "f").write_bytes(data)
    assert files.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def _fsync_inodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    real_fsync = os.fsync
    seen: list[int] = []

    def fsync(fd: int) -> None:
        real_fsync(fd)
        seen.append(os.fstat(fd).st_ino)

    monkeypatch.setattr(files.os, "fsync", fsync)
    return seen


def test_flush_tree_flushes_every_file_then_the_folders_deepest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "iso"
    (root / "sources").mkdir(parents=True)
    (root / "boot" / "fonts").mkdir(parents=True)
    for rel in ("bootmgr", "sources/boot.wim", "boot/fonts/segmono_boot.ttf"):
        (root / rel).write_bytes(b"x" * 100)
    seen = _fsync_inodes(monkeypatch)
    files.flush_tree(root)
    inode = {p.relative_to(root).as_posix(): p.stat().st_ino for p in [root, *root.rglob("*")]}
    assert sorted(seen) == sorted(inode.values())  # each file and folder once
    order = {ino: i for i, ino in enumerate(seen)}
    for rel in ("bootmgr", "sources/boot.wim", "boot/fonts/segmono_boot.ttf"):
        assert order[inode[rel]] < order[inode["boot/fonts"]]  # the data before any name
    assert order[inode["boot/fonts"]] < order[inode["boot"]] < order[inode["."]]


def test_flush_tree_raises_what_the_disk_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.iso").write_bytes(b"x")

    def eio(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", eio)
    with pytest.raises(OSError, match="Input/output error"):
        files.flush_tree(tmp_path)
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):  # a missing folder is an error, not an empty tree
        files.flush_tree(tmp_path / "gone")


def test_flush_tree_reports_the_bytes_flushed(tmp_path: Path) -> None:
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "boot.wim").write_bytes(b"w" * 3000)
    (tmp_path / "bootmgr").write_bytes(b"b" * 1000)
    seen: list[float] = []
    files.flush_tree(tmp_path, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert sorted(seen[1:-1]) in ([0.25], [0.75])  # after the first file, whichever the walk took first
