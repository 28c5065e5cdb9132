"""WIM files through wimlib-imagex: read image info, inject a payload into a copy, read files back."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agent import files, proc
from agent.errors import DataError, InputError
from agent.files import sha256_file as _sha256

Progress = Callable[[str, float], None]

WIMLIB = "wimlib-imagex"
# Boot images spell `Windows`/`windows` and `System32`/`system32` both ways; match paths as Windows does.
_ENV_EXTRA = {"WIMLIB_IMAGEX_IGNORE_CASE": "1"}
# wimlib-imagex prints the architecture as its own names; map them to the media definition's.
_ARCH_NAMES = {"x86_64": "amd64", "x86": "x86", "arm64": "arm64", "arm": "arm", "ia64": "ia64"}
_COPY_CHUNK = 16 * 1024 * 1024
# FILETIME counts 100 ns intervals since 1601-01-01; this many seconds lie between it and the Unix epoch.
_FILETIME_UNIX_OFFSET = 11_644_473_600


@dataclass(frozen=True)
class WimImage:
    """One image of a WIM, as `wimlib-imagex info` reports it."""

    index: int
    name: str
    architecture: str | None  # amd64, x86, arm64; None when the WIM's XML does not say
    total_bytes: int


@dataclass(frozen=True)
class WimInfo:
    """The parts of a WIM's header and XML the media builder checks."""

    path: Path
    compression: str  # LZX, XPRESS, LZMS, None
    boot_index: int
    images: tuple[WimImage, ...]

    def image(self, index: int) -> WimImage:
        """The image with 1-based `index`; InputError naming the WIM when there is none."""
        for img in self.images:
            if img.index == index:
                return img
        raise InputError(
            f"{self.path} has no image {index} (it has {len(self.images)})",
            f"list its images with: {WIMLIB} info {self.path}",
        )


def _env() -> dict[str, str]:
    return {**os.environ, **_ENV_EXTRA}


def _check_wim(wim: Path) -> None:
    if not wim.is_file():
        raise InputError(f"{wim} does not exist or is not a file", "check the boot image's `wim:` path")


def wim_info(wim: Path) -> WimInfo:
    """Read `wim`'s images, their architecture and its compression with `wimlib-imagex info`."""
    _check_wim(wim)
    out = proc.run([WIMLIB, "info", str(wim)], env=_env(), timeout=120).stdout.decode("utf-8", "replace")
    header: dict[str, str] = {}
    blocks: list[dict[str, str]] = []
    for line in out.splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z ]*?):\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2).strip()
        if key == "Index":
            blocks.append({})
        (blocks[-1] if blocks else header)[key] = value
    images = []
    for block in blocks:
        arch = block.get("Architecture")
        images.append(
            WimImage(
                index=int(block["Index"]),
                name=block.get("Name", ""),
                architecture=_ARCH_NAMES.get(arch.lower(), arch.lower()) if arch else None,
                total_bytes=int(block.get("Total Bytes", "0") or 0),
            )
        )
    return WimInfo(
        path=wim,
        compression=header.get("Compression", "unknown"),
        boot_index=int(header.get("Boot Index", "0") or 0),
        images=tuple(images),
    )


def image_path(path: str) -> str:
    """Normalize an in-image path to `/a/b` form; InputError for `..`, empty or drive-letter paths."""
    text = path.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or ":" in parts[0]:
        raise InputError(f"payload path {path!r} is not a path inside the image", "use forms like sms/bin/x.exe")
    for part in parts:
        if any(ord(c) < 32 for c in part) or any(c in part for c in '<>:"|?*'):
            raise InputError(f"payload path {path!r} has a character Windows file names cannot hold")
    return "/" + "/".join(parts)


def quote_arg(text: str) -> str:
    """Quote one argument of a wimlib update command file.

    wimlib's parser knows no escapes: a token is either unquoted (up to whitespace) or runs from a
    single or double quote to the next identical quote. A token that starts with `--` is taken as an
    option even when quoted, and a newline always ends the command.
    """
    if "\n" in text or "\r" in text or "\0" in text:
        raise InputError(f"path {text!r} contains a line break, which a wimlib command file cannot hold")
    if text.startswith("--"):
        raise InputError(f"path {text!r} starts with `--`, which wimlib would read as an option")
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise InputError(f"path {text!r} contains both quote characters, which a wimlib command file cannot hold")


def _stage(payload: Mapping[str, Path], staging: Path, epoch: int | None) -> None:
    """Copy the payload into `staging` as the tree it will have inside the image, timestamps pinned."""
    seen: dict[str, str] = {}
    for key in sorted(payload):
        target = image_path(key)
        folded = target.casefold()
        if folded in seen:
            raise InputError(f"payload paths {seen[folded]!r} and {key!r} name the same file in a Windows image")
        seen[folded] = key
        src = Path(payload[key])
        if not src.is_file():
            raise InputError(f"payload file {src} (for {key}) does not exist or is not a file")
        dest = staging.joinpath(*PurePosixPath(target).parts[1:])
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    # Folders that do not exist in the image yet are created from the staging tree, so their
    # timestamps must be pinned too; wimlib would give folders it invents itself the current time.
    # Bottom-up, because listing a folder updates its access time: pin each one after it was listed.
    if epoch is not None:
        for dirpath, dirnames, filenames in os.walk(staging, topdown=False):
            for name in dirnames + filenames:
                os.utime(Path(dirpath) / name, (epoch, epoch), follow_symlinks=False)


def _copy(src: Path, dst_fd: int, progress: Progress | None) -> None:
    total = max(src.stat().st_size, 1)
    done = 0
    with open(src, "rb") as fin:
        # In the kernel where it can (copy_file_range: no trip through user space, a reflink on
        # filesystems that share extents).
        if hasattr(os, "copy_file_range"):
            try:
                while n := os.copy_file_range(fin.fileno(), dst_fd, _COPY_CHUNK):
                    done += n
                    if progress:
                        progress("copy", done / total)
                return
            except OSError:
                if done:
                    raise
        with os.fdopen(os.dup(dst_fd), "wb") as fout:
            if progress is None:
                shutil.copyfileobj(fin, fout, _COPY_CHUNK)
                return
            while chunk := fin.read(_COPY_CHUNK):
                fout.write(chunk)
                done += len(chunk)
                progress("copy", done / total)


def _filetime_parts(epoch: int) -> tuple[str, str]:
    ft = (epoch + _FILETIME_UNIX_OFFSET) * 10_000_000
    return f"0x{ft >> 32:08X}", f"0x{ft & 0xFFFFFFFF:08X}"


def update_copy(
    src: Path,
    dst: Path,
    index: int,
    payload: Mapping[str, Path],
    *,
    epoch: int | None,
    progress: Progress | None = None,
) -> None:
    """Write `dst`: a copy of `src` whose image `index` also holds `payload` (in-image path -> local file).

    `src` is only read. The copy is updated in place with one `wimlib-imagex update` (never an
    extract and recapture) in a temp file beside `dst`, which is renamed over `dst` only when
    everything worked. With `epoch`, file and folder timestamps and the image's
    LASTMODIFICATIONTIME are pinned, so the same inputs give a byte-identical `dst`. `dst` is not
    flushed to disk: in a build it is an intermediate file, and each output that holds it is flushed
    before it takes its real name (agent.files.flush_tree).
    """
    _check_wim(src)
    if src.resolve() == dst.resolve():
        raise InputError(
            f"output {dst} is the source WIM itself", "the source WIM is never modified: choose another output"
        )
    wim_info(src).image(index)
    with tempfile.TemporaryDirectory(prefix="prestart-wim-") as work, files.replace_when_done(dst) as tmp:
        staging = Path(work) / "payload"
        staging.mkdir()
        _stage(payload, staging, epoch)
        if progress:
            progress("stage", 1.0)
        fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        try:
            _copy(src, fd, progress)
        finally:
            os.close(fd)
        # Overlaying the staging folder on the image root adds or replaces every payload file and
        # keeps the metadata of folders that already exist in the image.
        commands = Path(work) / "update.txt"
        commands.write_text(f"add {quote_arg(str(staging))} '/'\n", encoding="utf-8")
        with open(commands, "rb") as fh:
            cmd_bytes = fh.read()
        proc.run([WIMLIB, "update", str(tmp), str(index)], input=cmd_bytes, env=_env(), timeout=1800)
        if progress:
            progress("update", 1.0)
        if epoch is not None:
            high, low = _filetime_parts(epoch)
            proc.run(
                [
                    WIMLIB, "info", str(tmp), str(index),
                    f"--image-property=LASTMODIFICATIONTIME/HIGHPART={high}",
                    f"--image-property=LASTMODIFICATIONTIME/LOWPART={low}",
                ],
                env=_env(),
                timeout=600,
            )  # fmt: skip
    if progress:
        progress("done", 1.0)


def _wimlib_extract(wim: Path, index: int, targets: list[str], dest: Path) -> list[Path]:
    """Extract the in-image paths `targets` (files or folders; missing ones skipped) of image `index` under
    `dest`; every file extracted."""
    dest.mkdir(parents=True, exist_ok=True)
    listfile = dest.parent / (dest.name + ".list")
    # A list file keeps wildcards in names literal and spares us a command-line length limit.
    listfile.write_text("".join(f"{t}\n" for t in targets), encoding="utf-8")
    proc.run(
        [WIMLIB, "extract", str(wim), str(index), f"@{listfile}", f"--dest-dir={dest}", "--no-acls", "--nullglob"],
        env=_env(),
        timeout=600,
    )
    return [Path(dirpath) / name for dirpath, _dirs, names in os.walk(dest) for name in names]


def _extract_to(wim: Path, index: int, paths: list[str], dest: Path) -> dict[str, Path]:
    """Extract `paths` from image `index` under `dest`; map each requested path to its extracted file."""
    _check_wim(wim)
    targets = [image_path(p) for p in paths]
    if not targets:
        return {}
    # Extracted names carry the image's spelling; look them up as Windows would, ignoring case.
    found = {"/" + full.relative_to(dest).as_posix().casefold(): full
             for full in _wimlib_extract(wim, index, targets, dest)}
    result: dict[str, Path] = {}
    for path, target in zip(paths, targets, strict=True):
        hit = found.get(target.casefold())
        if hit is None:
            raise DataError(f"{wim} image {index} has no file {target}", f"list it with: {WIMLIB} dir {wim} {index}")
        result[path] = hit
    return result


def extract_files(wim: Path, index: int, paths: list[str]) -> dict[str, bytes]:
    """The contents of `paths` (in-image, forward slashes) from image `index` of `wim`."""
    with tempfile.TemporaryDirectory(prefix="prestart-wimx-") as work:
        files = _extract_to(wim, index, paths, Path(work) / "out")
        return {path: file.read_bytes() for path, file in files.items()}


def verify_payload(wim: Path, index: int, payload: Mapping[str, Path]) -> None:
    """Read every payload file back out of `wim` and compare SHA-256; DataError lists every mismatch."""
    keys = sorted(payload)
    with tempfile.TemporaryDirectory(prefix="prestart-wimv-") as work:
        files = _extract_to(wim, index, keys, Path(work) / "out")
        bad = [key for key in keys if _sha256(files[key]) != _sha256(Path(payload[key]))]
    if bad:
        raise DataError(
            f"{wim} image {index}: {len(bad)} payload file(s) differ from their source: {', '.join(bad)}",
            "the WIM was changed or damaged after the build; build it again",
        )


def extract_tree(wim: Path, index: int, path: str, dest: Path) -> dict[str, Path]:
    """Every file under the in-image folder `path` (absent: none), extracted under `dest`; keys are in-image paths
    as the image spells them (`Windows/Boot/EFI/boot.stl`), without the leading slash."""
    _check_wim(wim)
    return {full.relative_to(dest).as_posix(): full for full in _wimlib_extract(wim, index, [image_path(path)], dest)}
