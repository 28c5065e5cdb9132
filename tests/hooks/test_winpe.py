"""Plain WinPE: the .cmd file of `set` lines read back with cmd's rules, the JSON+cmd store, detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import InputError
from hooks import winpe
from hooks.base import open_sink
from tests.hooks.cmdreader import read_cmd

NASTY = [
    "a&b",
    "x^y",
    "100%",
    "%PATH%",
    'say "hi"',
    '"quoted & all"',
    "bang!",
    "<in>",
    "a|b",
    '"',
    '""',
    'end"',
    '"&"&"',
    "^",
    '^^"^',
    'a"b&c"d|e',
    "Grüße – Lab",
    "",
    "  spaced  ",
    "tab\there",
    "%%~dp0",
    "]]>",
]


@pytest.mark.parametrize("value", NASTY)
def test_every_special_character_survives_a_call(value: str) -> None:
    data = winpe.render_cmd({"OSDValue": value, "After": "still here"})
    expected = {"OSDValue": value, "After": "still here"} if value else {"After": "still here"}
    assert read_cmd(data) == expected


# Text a .cmd line can carry: anything but control characters (tab is fine).
cmd_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters='\t&^%"!<>|()'), max_size=60)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(cmd_text, min_size=1, max_size=5))
def test_round_trip_of_any_printable_values(values: list[str]) -> None:
    variables = {f"Var{i}": v for i, v in enumerate(values)}
    assert read_cmd(winpe.render_cmd(variables)) == {k: v for k, v in variables.items() if v}


def test_non_ascii_switches_cmd_to_utf8_before_the_first_set_line() -> None:
    lines = winpe.render_cmd({"A": "plain", "B": "Größe"}).decode("utf-8").split("\r\n")
    assert lines.index("chcp 65001 >nul 2>&1") < lines.index('set "A=plain"')
    assert "chcp" not in winpe.render_cmd({"A": "plain"}).decode("ascii")


def test_cmd_sink_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "vars.cmd"
    store = open_sink(f"cmd:{out}")
    assert store.read_all() == {}
    store.commit({"OSDComputerName": "LAB-1", "Note": "50% & more"})
    assert read_cmd(out.read_bytes()) == {"OSDComputerName": "LAB-1", "Note": "50% & more"}


@pytest.mark.parametrize(
    "variables",
    [{"Good": "x", "Bad": "two\nlines"}, {"Good": "x", "_SMSTSReadOnly": "y"}, {"Good": "x", "9bad": "y"}],
)
def test_one_bad_variable_writes_nothing(tmp_path: Path, variables: dict[str, str]) -> None:
    store = winpe.create_hook(root=tmp_path).store()
    with pytest.raises(InputError):
        store.commit(variables)
    assert list(tmp_path.rglob("*")) == []


def test_store_hands_on_json_and_cmd(tmp_path: Path) -> None:
    hook = winpe.create_hook(root=tmp_path)
    variables = {"OSDComputerName": "LAB-0042", "PrestartDeployment": "Windows 11 24H2 – Lab", "Q": 'a"b'}
    hook.store().commit(variables)
    payload = tmp_path / "Prestart"
    assert json.loads((payload / "variables.json").read_text(encoding="utf-8")) == variables
    assert read_cmd((payload / "variables.cmd").read_bytes()) == variables


@pytest.mark.parametrize("earlier", [True, False])
def test_the_pair_is_committed_as_one_even_when_the_second_file_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: bool
) -> None:
    """The .cmd file cannot take its name (a disk error, a kill of the rename): the JSON is put back as it was."""
    store = winpe.create_hook(root=tmp_path).store()
    payload = tmp_path / "Prestart"
    if earlier:
        store.commit({"A": "old"})
    before = {p.name: p.read_bytes() for p in payload.iterdir()} if earlier else {}
    real_publish = winpe.files.publish

    def publish(staged: Path, path: Path) -> None:
        if Path(path).name == "variables.cmd":
            raise OSError(5, "simulated I/O error")
        real_publish(staged, path)

    monkeypatch.setattr(winpe.files, "publish", publish)
    with pytest.raises(OSError):
        store.commit({"A": "new", "B": "2"})
    after = {p.name: p.read_bytes() for p in payload.iterdir()} if payload.exists() else {}
    assert after == before  # the old pair (or nothing), no temp files, no half of the new pair


def test_detects_plain_winpe_by_its_winpeshl_ini(tmp_path: Path) -> None:
    hook = winpe.create_hook(root=tmp_path)
    assert not hook.detect()
    ini = tmp_path / "Windows" / "System32" / "winpeshl.ini"
    ini.parent.mkdir(parents=True)
    ini.write_bytes(b"[LaunchApps]\r\n")
    assert hook.detect()
    assert hook.log_dir() == tmp_path / "Windows" / "Temp" / "SMSTSLog"
    assert hook.facts() == {}


def test_real_root_never_detects_on_linux() -> None:
    assert winpe.create_hook().detect() is False
