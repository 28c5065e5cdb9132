"""media_builder/lazypacks.py: what goes into a onefile build's Tcl/Tk pack, and the pack read back by the agent."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agent import lazypacks as reader
from media_builder import lazypacks
from media_builder.lazypacks import Entry

REPO = Path(__file__).resolve().parents[2]


def graph(edges: dict[str, list[str]]) -> tuple[list[Entry], dict[str, list[str]]]:
    """A bundle's binaries from `name: [what it links against]`; names starting with `_` are extensions."""
    binaries = [
        (
            f"lib-dynload/{name}.so" if name.startswith("_") else name,
            f"/src/{name}",
            "EXTENSION" if name[0] == "_" else "BINARY",
        )
        for name in edges
    ]
    return binaries, {f"/src/{name}": deps for name, deps in edges.items()}


def test_only_what_nothing_else_reaches_is_packed() -> None:
    binaries, deps = graph({
        "_tkinter": ["libtk.so", "libtcl.so", "libc.so.6"],
        "libtk.so": ["libX11.so", "libfontconfig.so", "libtcl.so"],
        "libtcl.so": ["libz.so"],
        "libX11.so": [],
        "libfontconfig.so": ["libexpat.so"],
        "libexpat.so": [],
        "libz.so": [],
        "_pyexpat": ["libexpat.so"],  # shared with fontconfig: stays out of the pack
        "_zlib": ["libz.so"],  # shared with Tcl, indirectly: stays out too
        "libpython.so": [],
        "libsodium.so": [],  # loaded through ctypes: nothing links it, it stays where it was
    })  # fmt: skip
    chosen = lazypacks.only_needed_by("_tkinter", binaries, lambda path: deps[path])
    assert [entry[0] for entry in chosen] == [
        "lib-dynload/_tkinter.so", "libfontconfig.so", "libtcl.so", "libtk.so", "libX11.so",
    ]  # fmt: skip


def test_the_module_must_be_exactly_one_extension() -> None:
    binaries, deps = graph({"libtk.so": []})
    with pytest.raises(ValueError, match="one extension module named _tkinter"):
        lazypacks.only_needed_by("_tkinter", binaries, lambda path: deps[path])


def test_windows_names_match_whatever_their_case() -> None:
    binaries = [
        ("_tkinter.pyd", "C:/py/_tkinter.pyd", "EXTENSION"),
        ("tcl86t.dll", "C:/py/tcl86t.dll", "BINARY"),
        ("tk86t.dll", "C:/py/tk86t.dll", "BINARY"),
        ("python311.dll", "C:/py/python311.dll", "BINARY"),
        ("VCRUNTIME140.dll", "C:/py/VCRUNTIME140.dll", "BINARY"),
    ]
    deps = {
        "C:/py/_tkinter.pyd": ["TCL86T.DLL", "tk86t.dll", "python311.dll", "vcruntime140.dll", "KERNEL32.dll"],
        "C:/py/tk86t.dll": ["tcl86t.dll", "VCRUNTIME140.dll"],
        "C:/py/tcl86t.dll": ["VCRUNTIME140.dll"],
        "C:/py/python311.dll": ["VCRUNTIME140.dll"],
        "C:/py/VCRUNTIME140.dll": [],
    }
    chosen = lazypacks.only_needed_by("_tkinter", binaries, lambda path: deps[path])
    assert [entry[0] for entry in chosen] == ["_tkinter.pyd", "tcl86t.dll", "tk86t.dll"]


def tkinter_file() -> str:
    spec = importlib.util.find_spec("_tkinter")
    assert spec is not None and spec.origin and spec.origin.endswith(".so"), "python3-tk is not installed"
    return spec.origin


def test_the_tkinter_pack_of_this_python_holds_tcl_tk_and_their_libraries() -> None:
    # Real binaries and PyInstaller's real dependency reader, as packaging/prestart.spec uses them.
    from PyInstaller.depend.bindepend import get_imports

    def imports(path: str) -> list[str]:
        return [name for name, _resolved in get_imports(path)]

    # A bundle as PyInstaller collects it: extensions, then every library they reach (but the C library).
    pyexpat = importlib.util.find_spec("pyexpat")
    extensions = [tkinter_file()] + ([pyexpat.origin] if pyexpat and pyexpat.origin != "built-in" else [])
    binaries: dict[str, Entry] = {Path(e).name: (f"lib-dynload/{Path(e).name}", e, "EXTENSION") for e in extensions}
    todo = list(extensions)
    while todo:
        for name, resolved in get_imports(todo.pop()):
            if resolved and name not in binaries and not name.startswith(("libc.so", "libm.so", "ld-linux")):
                binaries[name] = (name, resolved, "BINARY")
                todo.append(resolved)
    datas = [("_tcl_data/init.tcl", "/x/init.tcl", "DATA"), ("_tk_data/tk.tcl", "/x/tk.tcl", "DATA"),
             ("certifi/cacert.pem", "/x/cacert.pem", "DATA")]  # fmt: skip

    pack = lazypacks.tkinter_pack(list(binaries.values()), datas, imports)
    names = {entry[0] for entry in pack.binaries}
    assert pack.name == "_lazy/_tkinter.zip"
    assert pack.module_file == f"lib-dynload/{Path(tkinter_file()).name}"
    assert any(name.startswith("libtk8") for name in names) and any(name.startswith("libtcl8") for name in names)
    assert [entry[0] for entry in pack.datas] == ["_tcl_data/init.tcl", "_tk_data/tk.tcl"]
    assert dict(pack.env) == {"TCL_LIBRARY": "_tcl_data", "TK_LIBRARY": "_tk_data"}
    if len(extensions) == 2:  # whatever pyexpat links against is not packed
        assert not names & {name for name, _ in get_imports(extensions[1])}
    left_binaries, left_datas = lazypacks.leave_out(pack, list(binaries.values()), datas)
    assert {entry[0] for entry in left_binaries} == set(e[0] for e in binaries.values()) - names
    assert left_datas == [("certifi/cacert.pem", "/x/cacert.pem", "DATA")]


def script_pack(scripts: Path, *, reverse: bool = False) -> lazypacks.Pack:
    """A pack of this Python's real `_tkinter` and the two script files under `scripts`."""
    module_file = f"python3/lib-dynload/{Path(tkinter_file()).name}"
    datas = [("_tcl_data/init.tcl", str(scripts / "tcl" / "init.tcl"), "DATA"),
             ("_tk_data/tk.tcl", str(scripts / "tk.tcl"), "DATA")]  # fmt: skip
    env = {"TCL_LIBRARY": "_tcl_data", "TK_LIBRARY": "_tk_data"}
    if reverse:  # the same pack, its entries listed in another order
        datas.reverse()
        env = dict(reversed(env.items()))
    return lazypacks.Pack("_tkinter", module_file, ((module_file, tkinter_file(), "EXTENSION"),), tuple(datas), env)


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    """The script pack, written as a onefile build writes it, in a onefile's unpack folder."""
    scripts = tmp_path / "src"
    (scripts / "tcl").mkdir(parents=True)
    (scripts / "tcl" / "init.tcl").write_bytes(b"# init\n" * 300)
    (scripts / "tk.tcl").write_bytes(bytes(range(256)) * 40)
    pack = script_pack(scripts)
    root = tmp_path / "onefile"
    (root / "_lazy").mkdir(parents=True)
    lazypacks.write(pack, root / pack.name)
    return root / pack.name


def test_packs_are_the_same_bytes_every_build(pack_file: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    lazypacks.write(script_pack(tmp_path / "src", reverse=True), again)
    assert again.read_bytes() == pack_file.read_bytes()


_IMPORT = """
import json, os, sys
from agent import lazypacks
root = sys.argv[1]
assert "_tkinter" not in sys.modules
unpacker = lazypacks.install(root)
before = sorted(os.listdir(root))
import _tkinter
print(json.dumps({"file": _tkinter.__file__, "before": before, "after": sorted(os.listdir(root)),
                  "tcl": os.environ.get("TCL_LIBRARY"), "tk": os.environ.get("TK_LIBRARY"),
                  "left": unpacker.packs, "first": sys.meta_path[0] is unpacker}))
"""


def test_the_agent_unpacks_the_pack_on_first_import_and_loads_from_it(pack_file: Path, tmp_path: Path) -> None:
    root = pack_file.parents[1]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, str(root)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"] == ["_lazy"]  # nothing unpacked at start
    assert seen["after"] == ["_lazy", "_tcl_data", "_tk_data", "python3"]
    assert seen["file"] == str(root / "python3" / "lib-dynload" / Path(tkinter_file()).name)
    assert (seen["tcl"], seen["tk"]) == (str(root / "_tcl_data"), str(root / "_tk_data"))
    assert seen["left"] == {} and seen["first"]
    assert (root / "_tcl_data" / "init.tcl").read_bytes() == (tmp_path / "src" / "tcl" / "init.tcl").read_bytes()
    assert (root / "_tk_data" / "tk.tcl").read_bytes() == (tmp_path / "src" / "tk.tcl").read_bytes()
    assert Path(seen["file"]).read_bytes() == Path(tkinter_file()).read_bytes()
    with zipfile.ZipFile(pack_file) as archive:  # names in the zip use / on every system
        assert reader.read_settings(archive.comment, "x")[0] == f"python3/lib-dynload/{Path(tkinter_file()).name}"
        assert archive.namelist()[0] == "_tcl_data/init.tcl"
