"""FAT images (the El Torito UEFI image efisys.bin): read the files inside with pyfatfs; write small ones for tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from agent import proc

FLOPPY_BYTES = 1_474_560  # efisys.bin is a 1.44 MB floppy image


def read_files(image: Path) -> dict[str, bytes]:
    """Every file in the FAT image as absolute '/'-separated path -> bytes (names as stored, long names kept)."""
    from pyfatfs.PyFatFS import PyFatFS

    fs = PyFatFS(str(image), read_only=True)
    try:
        return {path: fs.readbytes(path) for path in sorted(fs.walk.files())}
    finally:
        fs.close()


def write_image(path: Path, files: Mapping[str, bytes], *, label: str = "EFISECTOR", size: int = FLOPPY_BYTES) -> Path:
    """A FAT image of `size` bytes holding `files` (path -> bytes), made with mkfs.fat and filled with pyfatfs."""
    from pyfatfs.PyFatFS import PyFatFS

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".fat-", dir=path.parent)
    try:
        os.ftruncate(fd, size)
        os.close(fd)
        proc.run([shutil.which("mkfs.fat") or "/usr/sbin/mkfs.fat", "-n", label, "-i", "12345678", temp])
        fs = PyFatFS(temp)
        try:
            for rel, data in sorted(files.items()):
                parent = rel.rsplit("/", 1)[0]
                if parent:
                    fs.makedirs(parent, recreate=True)
                fs.writebytes(rel, data)
        finally:
            fs.close()
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
