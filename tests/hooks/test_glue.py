"""Glue files compared with reviewed expected files, and parsed back the way Windows reads them."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from agent.errors import InputError
from hooks import configmgr, mdt, winpe
from hooks.base import GlueRequest

EXPECTED = Path(__file__).parent / "expected"
REQ = GlueRequest(arch="amd64", agent_exe="prestart.exe")
WINPESHL = "Windows/System32/winpeshl.ini"


def parse_ini(data: bytes) -> configparser.ConfigParser:
    """Read an INI the way the profile API does: UTF-16 with a BOM, else the ANSI code page; CRLF lines."""
    text = data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode("ascii")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    parser = configparser.ConfigParser(delimiters=("=",), allow_no_value=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def launch_apps(data: bytes) -> list[str]:
    return list(parse_ini(data)["LaunchApps"])


def test_tsconfig_ini_matches_and_parses() -> None:
    glue = configmgr.glue(REQ)
    data = glue.files["TSCONFIG.INI"]
    assert data == (EXPECTED / "configmgr" / "TSCONFIG.INI").read_bytes()
    hook = parse_ini(data)["CustomHook"]
    assert hook["CommandLine"] == "cmd /c prestart.exe run --profile profile.json --hook configmgr"
    assert hook["Source"] == "PRST0001"
    assert glue.payload_dir == "sms/PKG/PRST0001" and glue.command_line == hook["CommandLine"]


def test_prestart_folder_matches() -> None:
    folder = configmgr.prestart_folder(REQ, boot_image_id="XYZ00005")
    assert set(folder) == {"Set-PrestartCommand.ps1", "README.txt"}
    for name, data in folder.items():
        assert data == (EXPECTED / "configmgr" / name).read_bytes(), name
    script = folder["Set-PrestartCommand.ps1"].decode("utf-8-sig")
    assert "$CommandLine = 'cmd /c prestart.exe run --profile profile.json --hook configmgr'" in script
    assert "Set-CMBootImage -Id $BootImageId -EnablePrestartCommand $true -PrestartCommandLine $CommandLine" in script
    assert "-IncludeFilesForPrestart $true -PrestartIncludeFilesDirectory $PrestartFolder" in script
    assert "-PrestartCommand $CommandLine -PrestartPackage $package" in script


def test_prestart_script_quotes_for_powershell() -> None:
    req = GlueRequest(arch="amd64", agent_exe="Prestart Agent/prestart.exe")
    script = configmgr.prestart_folder(req, media_hint=r"D:\Media\o'brien.iso")["Set-PrestartCommand.ps1"]
    text = script.decode("utf-8-sig")
    assert r"$MediaPath = 'D:\Media\o''brien.iso'" in text
    assert """$CommandLine = 'cmd /c ""Prestart Agent\\prestart.exe" run""" in text


def test_paths_with_spaces_survive_cmd_c() -> None:
    req = GlueRequest(arch="amd64", agent_exe="Prestart Agent/prestart.exe", profile="my profile.yaml")
    line = configmgr.command_line(req)
    # cmd /c strips the outer pair; what remains is the quoted command.
    assert line == 'cmd /c ""Prestart Agent\\prestart.exe" run --profile "my profile.yaml" --hook configmgr"'


@pytest.mark.parametrize(
    "req",
    [
        GlueRequest(arch="amd64", agent_exe="prestart.exe", package_id="TOO-LONG-ID"),
        GlueRequest(arch="amd64", agent_exe=r"C:\abs\prestart.exe"),
        GlueRequest(arch="amd64", agent_exe="../prestart.exe"),
        GlueRequest(arch="amd64", agent_exe="prestart.exe", extra_args=("a&b",)),
    ],
)
def test_bad_requests_are_refused(req: GlueRequest) -> None:
    with pytest.raises(InputError):
        configmgr.glue(req)


def test_mdt_winpeshl_runs_the_agent_before_bddrun() -> None:
    glue = mdt.glue(REQ)
    data = glue.files[WINPESHL]
    assert data == (EXPECTED / "mdt" / "winpeshl.ini").read_bytes()
    assert launch_apps(data) == [
        r"%SYSTEMROOT%\System32\wpeinit.exe",
        r"X:\Prestart\prestart.exe, run --profile X:\Prestart\profile.json --hook mdt",
        r"%SYSTEMROOT%\System32\bddrun.exe,/bootstrap",
    ]
    assert glue.payload_dir == "Prestart"


def test_winpe_winpeshl_runs_wpeinit_agent_then_next() -> None:
    data = winpe.glue(REQ).files[WINPESHL]
    assert data == (EXPECTED / "winpe" / "winpeshl.ini").read_bytes()
    apps = launch_apps(data)
    assert apps[0] == r"%SYSTEMROOT%\System32\wpeinit.exe"
    assert apps[1].startswith("X:\\Prestart\\prestart.exe, run ") and apps[1].endswith("--hook winpe")
    assert apps[2] == r"%SYSTEMROOT%\System32\cmd.exe, /k %SYSTEMROOT%\System32\startnet.cmd"
    custom = winpe.glue(GlueRequest(arch="amd64", agent_exe="prestart.exe", next_program=r"X:\Tools\menu.exe, /a"))
    assert launch_apps(custom.files[WINPESHL])[2] == r"X:\Tools\menu.exe, /a"


def test_winpe_glue_with_non_ascii_is_utf16_with_bom() -> None:
    req = GlueRequest(arch="amd64", agent_exe="prestart.exe", next_program=r"X:\Werkzeuge\Menü.exe")
    data = winpe.glue(req).files[WINPESHL]
    assert data.startswith(b"\xff\xfe")
    assert launch_apps(data)[2] == r"X:\Werkzeuge\Menü.exe"


def test_winpeshl_lines_over_250_characters_are_refused() -> None:
    req = GlueRequest(arch="amd64", agent_exe="prestart.exe", extra_args=("--x", "y" * 200))
    with pytest.raises(InputError, match="250"):
        winpe.glue(req)


def test_expected_files_keep_their_crlf_in_git() -> None:
    assert (EXPECTED / ".gitattributes").read_text() == "* -text\n"
