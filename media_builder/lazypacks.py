"""Onefile builds: pick what only one module needs (Tcl/Tk for `_tkinter`) and pack it for agent/lazypacks.py."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.lazypacks import ENV_PREFIX, FOLDER, MODULE_KEY, SUFFIX

# PyInstaller's table of contents: (name in the bundle, file on the build machine, kind).
Entry = tuple[str, str, str]

# PyInstaller's folders for Tcl's and Tk's script libraries in a bundle (PyInstaller.utils.hooks.tcl_tk).
TCL_ROOT = "_tcl_data"
TK_ROOT = "_tk_data"

# A fixed timestamp, so the same files make the same pack (and the same onefile) on every build.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Pack:
    """What goes into one pack: the module that opens it, the files, and the variables to set."""

    module: str
    module_file: str  # its name in the bundle
    binaries: tuple[Entry, ...]
    datas: tuple[Entry, ...]
    env: Mapping[str, str]

    @property
    def name(self) -> str:
        """Its name in the bundle."""
        return f"{FOLDER}/{self.module}{SUFFIX}"


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].casefold()


def _is_python(base: str) -> bool:
    return base.startswith(("libpython", "python")) and (".so" in base or base.endswith((".dll", ".dylib")))


def only_needed_by(module: str, binaries: Sequence[Entry], imports: Callable[[str], Iterable[str]]) -> list[Entry]:
    """The extension `module` and the libraries nothing else in `binaries` needs, however indirectly.

    `imports(file)` names the libraries a binary links against (PyInstaller's bindepend.get_imports).
    Whatever something outside the module's closure reaches stays out of the pack, so a library both
    sides use (libz: Tcl and the zlib module) is unpacked at start as before; a library nothing links
    against (one loaded through ctypes) is never in the closure and never packed.
    """
    by_base = {_base(dest): (dest, src, kind) for dest, src, kind in binaries}
    prefix = module.casefold() + "."
    roots = [entry for base, entry in by_base.items() if base.startswith(prefix) and entry[2] == "EXTENSION"]
    if len(roots) != 1:
        raise ValueError(f"expected one extension module named {module}, found {[e[0] for e in roots]}")

    def closure(start: Iterable[Entry]) -> set[str]:
        seen: set[str] = set()
        todo = [_base(entry[0]) for entry in start]
        while todo:
            base = todo.pop()
            if base in seen or base not in by_base:
                continue
            seen.add(base)
            todo.extend(_base(name) for name in imports(by_base[base][1]))
        return seen

    mine = closure(roots)
    # On Windows every extension links python3x.dll, which the bootloader itself loads: never packed.
    others = closure(entry for base, entry in by_base.items() if base not in mine or _is_python(base))
    return [by_base[base] for base in sorted(mine - others)]


def tkinter_pack(binaries: Sequence[Entry], datas: Sequence[Entry], imports: Callable[[str], Iterable[str]]) -> Pack:
    """The pack of everything only the wizard needs: `_tkinter`, Tcl, Tk and their libraries, Tcl/Tk scripts."""
    chosen = only_needed_by("_tkinter", binaries, imports)
    module_file = next(dest for dest, _src, kind in chosen if kind == "EXTENSION")
    scripts = tuple(entry for entry in datas if entry[0].replace("\\", "/").startswith((f"{TCL_ROOT}/", f"{TK_ROOT}/")))
    env = {"TCL_LIBRARY": TCL_ROOT, "TK_LIBRARY": TK_ROOT}  # what PyInstaller's run-time hook for tkinter sets
    return Pack("_tkinter", module_file, tuple(chosen), scripts, env)


def leave_out(pack: Pack, binaries: Sequence[Entry], datas: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """`binaries` and `datas` without what `pack` holds."""
    packed = {entry[0] for entry in (*pack.binaries, *pack.datas)}
    return [e for e in binaries if e[0] not in packed], [e for e in datas if e[0] not in packed]


def write(pack: Pack, path: Path, binary_source: Callable[[Entry], str] = lambda entry: entry[1]) -> None:
    """Write `pack` as a zip at `path` (deterministic: sorted, fixed timestamps, zlib level 9).

    `binary_source` gives the file to store for a binary: the build strips them first, as PyInstaller
    does for the ones it unpacks itself.
    """
    files = [(entry[0], binary_source(entry)) for entry in pack.binaries]
    files += [(entry[0], entry[1]) for entry in pack.datas]
    lines = [f"{MODULE_KEY}={pack.module_file.replace(chr(92), '/')}"]
    lines += [f"{ENV_PREFIX}{name}={folder}" for name, folder in sorted(pack.env.items())]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for dest, src in sorted(files, key=lambda item: item[0].replace("\\", "/")):
            info = zipfile.ZipInfo(dest.replace("\\", "/"), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, Path(src).read_bytes(), compresslevel=9)
        archive.comment = "\n".join(lines).encode("utf-8")
