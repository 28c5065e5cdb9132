"""Onefile builds: files only some runs need (the wizard's Tcl/Tk) stay packed until a module asks for them.

A onefile agent unpacks everything it carries into a temporary folder (X:\\Windows\\Temp in WinPE) on
every start, and removes it again at exit. Tcl/Tk is 170 of its 230 files: unpacking them made a headless
run take twice as long as a frozen hello-world's. So a onefile build (packaging/prestart.spec, with
media_builder/lazypacks.py) carries them as one pack per module, `_lazy/<module>.zip`, which the
bootloader writes out as a single file; the pack is unpacked beside it the first time `<module>` is
imported. Onedir builds and the interpreter carry no packs, and nothing changes for them.

The pack's zip comment says what to do once it is unpacked, one `key=value` per line, paths relative to
the folder it is unpacked into:

    module=python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so   (the module's file)
    env:TCL_LIBRARY=_tcl_data                                                (a variable to set)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ExtensionFileLoader, ModuleSpec
from types import ModuleType

from agent.errors import SourceUnavailable

FOLDER = "_lazy"
SUFFIX = ".zip"
MODULE_KEY = "module"
ENV_PREFIX = "env:"


def install(root: str | None = None) -> Unpacker | None:
    """Put an Unpacker first in `sys.meta_path` when `root` (the onefile's folder) carries packs."""
    root = root if root is not None else getattr(sys, "_MEIPASS", None)
    if root is None:
        return None
    try:
        names = os.listdir(os.path.join(root, FOLDER))
    except OSError:  # onedir builds carry no packs
        return None
    packs = {name[: -len(SUFFIX)]: os.path.join(root, FOLDER, name) for name in names if name.endswith(SUFFIX)}
    if not packs:
        return None
    unpacker = Unpacker(root, packs)
    sys.meta_path.insert(0, unpacker)
    return unpacker


def read_settings(comment: bytes, pack: str) -> tuple[str, dict[str, str]]:
    """The module's file and the environment variables a pack's zip comment names (module=, env:NAME=)."""
    module = ""
    env: dict[str, str] = {}
    for line in comment.decode("utf-8").splitlines():
        key, sep, value = line.partition("=")
        if not sep or not value:
            raise ValueError(f"{pack}: comment line {line!r} is not key=value")
        if key == MODULE_KEY:
            module = value
        elif key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
            env[key[len(ENV_PREFIX) :]] = value
        else:
            raise ValueError(f"{pack}: unknown key {key!r} in its comment")
    if not module:
        raise ValueError(f"{pack}: its comment names no module= file")
    return module, env


def unpack(pack: str, root: str) -> str:
    """Unpack `pack` into `root`, set the variables it names; the module's file, as a full path."""
    import zipfile  # only when a pack is opened: the wizard's runs, never a headless one
    import zlib

    try:
        with zipfile.ZipFile(pack) as archive:
            module, env = read_settings(archive.comment, pack)
            archive.extractall(root)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged build or medium
        raise ValueError(f"{pack}: {exc}") from exc
    for name, folder in env.items():
        os.environ[name] = os.path.join(root, folder)
    return os.path.join(root, module)


class Unpacker:
    """A meta path finder that unpacks a module's pack on its first import and loads it from there."""

    def __init__(self, root: str, packs: dict[str, str]) -> None:
        self.root = root
        self.packs = dict(packs)  # module name -> pack file; a pack is unpacked once, then forgotten

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        pack = self.packs.pop(fullname, None)
        if pack is None:
            return None
        try:
            filename = unpack(pack, self.root)
        except (OSError, ValueError) as exc:  # a full scratch space, most likely; or a broken build
            raise SourceUnavailable(
                f"cannot unpack {os.path.basename(pack)} (what `{fullname}` needs) into {self.root}: {exc}",
                hint="free space in the temporary folder (WinPE: raise the scratch space), "
                "or put the onedir build on the media",
            ) from exc
        # Packs only hold extension modules (the builder checks): load it as Python's path finder would.
        spec = ModuleSpec(fullname, ExtensionFileLoader(fullname, filename), origin=filename)
        spec.has_location = True
        return spec
