"""`prestart check --task-sequence` and `prestart sequence`: the CLI wiring of the task sequence model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SPEC, run_prestart

DATA = Path(__file__).resolve().parent / "tasksequence" / "data"


def test_check_warns_about_the_variable_contract_but_passes() -> None:
    done = run_prestart(
        "check",
        str(SPEC / "technician.yaml"),
        "--catalog",
        str(SPEC / "catalog.json"),
        "--task-sequence",
        str(DATA / "lab.xml"),
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.endswith("[warning]")]
    # lab.xml reads OSDDomainOUName, which nothing sets; the profile offers en-US, which no condition matches
    assert any("reads OSDDomainOUName" in w for w in warnings)
    # Apply Operating System's %OSDImageIndex% is the step's own variable (its defaultVarList): not a read
    assert not any("reads OSDImageIndex" in w for w in warnings)
    assert any("offers OSDUILanguage='en-US'" in w for w in warnings)
    # what the profile does set is not reported
    assert not any("reads OSDComputerName" in w for w in warnings)


def test_sequence_plan_prints_json(tmp_path: Path) -> None:
    variables = tmp_path / "v.json"
    variables.write_text(json.dumps({"OSDUILanguage": "de-DE"}), encoding="utf-8")
    done = run_prestart("sequence", "plan", str(DATA / "lab.xml"), "--variables", str(variables))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan and {"path", "type", "status", "reason"} <= set(plan[0])
    assert {entry["status"] for entry in plan} <= {"run", "skip", "runtime"}


def test_sequence_normalize_round_trips(tmp_path: Path) -> None:
    once = run_prestart("sequence", "normalize", str(DATA / "lab.xml"), "-o", "-")
    assert once.returncode == 0, once.stderr
    copy = tmp_path / "copy.xml"
    copy.write_text(once.stdout, encoding="utf-8")
    twice = run_prestart("sequence", "normalize", str(copy), "-o", "-")
    assert twice.stdout == once.stdout


def test_sequence_list_plan_and_normalize_on_a_console_export(tmp_path: Path) -> None:
    from tests.agent.tasksequence.test_cli import _export

    export = _export(tmp_path, "CM100001", "CM100002")
    listed = run_prestart("sequence", "list", str(export))
    assert listed.returncode == 0, listed.stderr
    assert [e["package_id"] for e in json.loads(listed.stdout)] == ["CM100001", "CM100002"]
    unchosen = run_prestart("sequence", "plan", str(export))
    assert unchosen.returncode == 13 and "--sequence" in unchosen.stderr and "Traceback" not in unchosen.stderr
    chosen = run_prestart("sequence", "plan", str(export), "--sequence", "CM100002")
    assert chosen.returncode == 0 and json.loads(chosen.stdout)[0]["index"] == 1
    before = export.read_bytes()
    in_place = run_prestart("sequence", "normalize", str(export), "--sequence", "CM100001")
    assert in_place.returncode == 87 and "-o" in in_place.stderr
    assert export.read_bytes() == before


def test_sequence_plan_refuses_an_ambiguous_fail_and_a_folder(tmp_path: Path) -> None:
    ts = tmp_path / "ts.xml"
    ts.write_text(
        '<sequence><group name="A"><step name="Restart" type="SMS_TaskSequence_RebootAction"/></group>'
        '<group name="B"><step name="Restart" type="SMS_TaskSequence_RebootAction"/></group></sequence>',
        encoding="utf-8",
    )
    ambiguous = run_prestart("sequence", "plan", str(ts), "--fail", "Restart")
    assert ambiguous.returncode == 87
    assert "2 steps have that name (2: A/Restart; 4: B/Restart)" in ambiguous.stderr
    by_index = run_prestart("sequence", "plan", str(ts), "--fail", "4")
    assert by_index.returncode == 0, by_index.stderr
    folder = run_prestart("sequence", "plan", str(tmp_path))
    assert folder.returncode == 13 and "is a folder" in folder.stderr and "permission" not in folder.stderr
