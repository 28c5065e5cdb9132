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
    # lab.xml reads OSDImageIndex, which nothing sets; the profile offers en-US, which no condition matches
    assert any("reads OSDImageIndex" in w for w in warnings)
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
