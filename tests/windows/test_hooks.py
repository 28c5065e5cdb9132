"""The MDT and plain WinPE hooks of the frozen prestart.exe under wine, with drive X: mapped as WinPE's RAM drive."""

from __future__ import annotations

import json
from pathlib import Path

from agent.cmtrace import iter_records
from hooks.mdt import VARIABLES_DAT, parse_variables_dat, render_variables_dat
from media_builder.winefreeze import Wine, windows_path
from tests.conftest import SPEC
from tests.windows.conftest import drive_x

TECHNICIAN = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
KIOSK = json.loads((SPEC / "expected" / "kiosk-laptop.json").read_text(encoding="utf-8"))


def run_args(case: dict[str, object], answers: Path | None = None) -> list[str | Path]:
    """The boot engine's command line with the reference inputs and no --sink: the engine is detected."""
    return [
        "run", "--profile", SPEC / str(case["profile"]), "--catalog", SPEC / str(case["catalog"]),
        "--facts", SPEC / str(case["facts"]), "--answers", answers or SPEC / str(case["answers"]), "--unattended",
    ]  # fmt: skip


def cmtrace(path: Path) -> list[dict[str, str]]:
    records = list(iter_records(path.read_text(encoding="utf-8")))
    assert records, f"{path} holds no CMTrace record"
    return records


def test_mdt_merges_into_variables_dat(wine: Wine, exe: Path, tmp_path: Path) -> None:
    dat = tmp_path / VARIABLES_DAT
    dat.parent.mkdir(parents=True)
    dat.write_bytes(render_variables_dat({"DEPLOYROOT": r"\\mdt01\Deploy$", "OSDLOCATION": "Łódź – Piotrkowska"}))
    with drive_x(wine, tmp_path):
        done = wine.run([exe, *run_args(TECHNICIAN)])
    assert done.code == 0, done.stderr
    after = parse_variables_dat(dat.read_bytes(), str(dat))
    assert after["DEPLOYROOT"] == r"\\mdt01\Deploy$" and after["OSDLOCATION"] == "Łódź – Piotrkowska"
    for name, value in TECHNICIAN["variables"].items():
        assert after.get(name.upper()) == value, name
    records = cmtrace(dat.parent / "prestart.log")
    assert any("mdt" in record["message"] for record in records)


def test_mdt_failed_run_leaves_variables_dat_alone(wine: Wine, exe: Path, tmp_path: Path) -> None:
    dat = tmp_path / VARIABLES_DAT
    dat.parent.mkdir(parents=True)
    original = render_variables_dat({"DEPLOYROOT": r"\\mdt01\Deploy$"})
    dat.write_bytes(original)
    answers = tmp_path / "answers.yaml"
    answers.write_text("{}\n", encoding="utf-8")
    with drive_x(wine, tmp_path):
        done = wine.run([exe, *run_args(TECHNICIAN, answers)])
    assert done.code == 1168, done.stderr
    assert dat.read_bytes() == original


def test_plain_winpe_hands_on_json_and_a_cmd_file_cmd_can_call(wine: Wine, exe: Path, tmp_path: Path) -> None:
    (tmp_path / "Windows" / "System32").mkdir(parents=True)
    (tmp_path / "Windows" / "System32" / "winpeshl.ini").write_bytes(b"[LaunchApps]\r\n")
    (tmp_path / "Prestart").mkdir()
    with drive_x(wine, tmp_path):
        done = wine.run([exe, *run_args(KIOSK)])
        assert done.code == 0, done.stderr
        # The next step of a plain WinPE workflow CALLs the .cmd file, then starts a program that reads the
        # variables from its environment.
        show = tmp_path / "show.cmd"
        dump = "import json, os; open(r'X:\\env.json', 'w', encoding='utf-8').write(json.dumps(dict(os.environ)))"
        show.write_bytes(
            b"@call X:\\Prestart\\variables.cmd\r\n" + f'@{windows_path(wine.python)} -c "{dump}"\r\n'.encode()
        )
        wine.run(["cmd", "/c", "X:\\show.cmd"], check=True)
    environment = {k.casefold(): v for k, v in json.loads((tmp_path / "env.json").read_text("utf-8")).items()}
    written = json.loads((tmp_path / "Prestart" / "variables.json").read_text(encoding="utf-8"))
    for name, value in KIOSK["variables"].items():
        assert written.get(name) == value, name
        if value.isascii():
            assert environment.get(name.casefold()) == value, name
        # Not checked through cmd: wine 8's cmd decodes batch lines in the OEM code page whatever `chcp 65001`
        # (the line the file starts with when a value is not ASCII) says; Windows' cmd honours it.
        # tests/hooks/test_winpe.py checks those lines' bytes.
    cmtrace(tmp_path / "Windows" / "Temp" / "SMSTSLog" / "prestart.log")
