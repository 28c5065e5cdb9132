"""The ConfigMgr hook of the frozen prestart.exe over real COM, against a stand-in TSEnvironment in the prefix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from agent.cmtrace import iter_records
from media_builder.winefreeze import Wine
from tests.conftest import SPEC
from tests.windows.conftest import TsEnvironment, WineUi, win

CASE = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
ENGINE = {"_SMSTSInWinPE": "true", "_SMSTSLaunchMode": "PXE", "_SMSTSMediaType": "BootMedia"}


def run_args(answers: Path = SPEC / "answers" / "technician-laptop.yaml") -> list[str | Path]:
    """A task sequence's prestart command with the reference inputs: no --sink, so the engine is detected."""
    return [
        "run", "--profile", SPEC / "technician.yaml", "--catalog", SPEC / "catalog.json",
        "--facts", SPEC / "facts" / "laptop.json", "--answers", answers, "--unattended",
    ]  # fmt: skip


def puts(server: TsEnvironment) -> list[tuple[str, str]]:
    return [(call[1], call[2]) for call in server.call_log() if call[0] == "put"]


def test_committed_variables_reach_the_task_sequence(
    wine: Wine, exe: Path, tsenv_server: TsEnvironment, tmp_path: Path
) -> None:
    tsenv_server.seed({**ENGINE, "_SMSTSLogPath": win(tmp_path / "smstslog")})
    done = wine.run([exe, *run_args()])
    assert done.code == 0, done.stderr
    written = dict(puts(tsenv_server))
    for name, value in CASE["variables"].items():
        assert written.get(name) == value, f"{name}: {written.get(name)!r}"
    assert all(name in CASE["variables"] or name.startswith("Prestart") for name in written), written
    assert not any(name.startswith("_SMSTS") for name in written)  # engine variables are read-only
    after = tsenv_server.variables()
    assert {name: after[name] for name in written} == written
    # the engine's log folder, in CMTrace's format, with the engine's facts read through COM
    records = list(iter_records((tmp_path / "smstslog" / "prestart.log").read_text(encoding="utf-8")))
    assert records and all(record["component"].startswith("Prestart") for record in records)
    assert any("configmgr" in record["message"] for record in records)
    assert (tmp_path / "smstslog" / "prestart-receipt.json").is_file()


def test_a_failed_run_puts_nothing(wine: Wine, exe: Path, tsenv_server: TsEnvironment, tmp_path: Path) -> None:
    """An unattended run that lacks a value ends with 1168 before anything reaches the engine."""
    tsenv_server.seed({**ENGINE, "_SMSTSLogPath": win(tmp_path / "smstslog")})
    answers = tmp_path / "answers.yaml"
    answers.write_text("{}\n", encoding="utf-8")
    done = wine.run([exe, *run_args(answers)])
    assert done.code == 1168, done.stderr
    assert puts(tsenv_server) == []
    assert tsenv_server.variables() == {**ENGINE, "_SMSTSLogPath": win(tmp_path / "smstslog")}


def test_a_refused_variable_puts_the_others_back(
    wine: Wine, exe: Path, tsenv_server: TsEnvironment, tmp_path: Path
) -> None:
    """The engine refuses one variable mid-commit: every variable set before it is put back as it was."""
    before = {**ENGINE, "_SMSTSLogPath": win(tmp_path / "smstslog"), "OSDTimeZone": "UTC"}
    before["__refuse__"] = ["OSDComputerName"]
    tsenv_server.seed(before)
    done = wine.run([exe, *run_args()])
    assert done.code not in (0, 1359), done.stderr
    assert "OSDComputerName" in done.stderr
    written = puts(tsenv_server)
    assert ("OSDComputerName", CASE["variables"]["OSDComputerName"]) in written
    after = tsenv_server.variables()
    changed = {name: value for name, value in after.items() if before.get(name, "") != value}
    assert changed == {}, changed


def test_the_wizard_closes_the_progress_dialog_and_a_cancel_puts_nothing(
    wine_ui: Callable[..., WineUi], tsenv_server: TsEnvironment, tmp_path: Path
) -> None:
    tsenv_server.seed({**ENGINE, "_SMSTSLogPath": win(tmp_path / "smstslog")})
    run = wine_ui(
        "run", "--profile", SPEC / "technician.yaml", "--catalog", SPEC / "catalog.json",
        "--facts", SPEC / "facts" / "laptop.json", title="Contoso Imaging",
    )  # fmt: skip
    run.wait("drawn", timeout=20)
    assert ["CloseProgressDialog"] in tsenv_server.call_log()  # TsProgressUI would cover the wizard
    run.focus()
    run.click(*run.button("Cancel"))
    run.wait("dialog Cancel")
    run.key("shift+Tab")  # from No, the default, to Yes
    run.wait("default Yes")
    run.key("Return")
    assert run.finish() == 1223, run.stderr
    assert puts(tsenv_server) == []
