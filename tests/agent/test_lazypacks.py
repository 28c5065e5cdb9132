"""agent/lazypacks.py: reading a pack's settings, and finding no packs where a build carries none."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from agent import lazypacks
from agent.errors import ExitCode, SourceUnavailable


def test_settings_name_the_module_file_and_the_variables() -> None:
    comment = b"module=lib/_tk.so\nenv:TCL_LIBRARY=_tcl_data\nenv:TK_LIBRARY=_tk_data"
    assert lazypacks.read_settings(comment, "p.zip") == (
        "lib/_tk.so",
        {"TCL_LIBRARY": "_tcl_data", "TK_LIBRARY": "_tk_data"},
    )


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        (b"", "names no module="),
        (b"env:A=b", "names no module="),
        (b"module=x.so\nstray", "'stray' is not key=value"),
        (b"module=", "'module=' is not key=value"),
        (b"module=x.so\nenv:=b", "unknown key 'env:'"),
        (b"module=x.so\nversion=2", "unknown key 'version'"),
    ],
)
def test_bad_settings_name_the_pack_and_the_line(comment: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=r"p\.zip") as err:
        lazypacks.read_settings(comment, "p.zip")
    assert message in str(err.value)


def test_no_packs_no_finder(tmp_path: Path) -> None:
    before = list(sys.meta_path)
    assert lazypacks.install(str(tmp_path)) is None  # a onedir build: no _lazy folder
    (tmp_path / "_lazy").mkdir()
    (tmp_path / "_lazy" / "notes.txt").write_text("not a pack", encoding="utf-8")
    assert lazypacks.install(str(tmp_path)) is None
    assert lazypacks.install() is None  # the interpreter: no sys._MEIPASS
    assert sys.meta_path == before


def test_other_modules_pass_through(tmp_path: Path) -> None:
    unpacker = lazypacks.Unpacker(str(tmp_path), {"_nothing_here": str(tmp_path / "_lazy" / "x.zip")})
    assert unpacker.find_spec("json") is None
    assert unpacker.packs  # untouched


def test_a_pack_that_cannot_be_unpacked_says_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "_lazy"
    folder.mkdir()
    broken = folder / "_tkinter.zip"
    broken.write_bytes(b"PK\x03\x04 cut short")
    unpacker = lazypacks.Unpacker(str(tmp_path), {"_tkinter": str(broken)})
    with pytest.raises(SourceUnavailable) as err:
        unpacker.find_spec("_tkinter")
    assert err.value.code == ExitCode.INVALID_DATA
    assert "_tkinter.zip" in str(err.value) and str(tmp_path) in str(err.value)
    assert "onedir" in err.value.hint and "scratch space" in err.value.hint
    assert unpacker.find_spec("_tkinter") is None  # tried once: the import then fails as a missing module would


def test_a_pack_without_settings_is_refused_before_anything_loads(tmp_path: Path) -> None:
    pack = tmp_path / "_lazy" / "_tkinter.zip"
    pack.parent.mkdir()
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("lib/_tkinter.so", b"\x7fELF")
    with pytest.raises(SourceUnavailable, match="names no module= file"):
        lazypacks.Unpacker(str(tmp_path), {"_tkinter": str(pack)}).find_spec("_tkinter")
    assert not (tmp_path / "lib").exists()
