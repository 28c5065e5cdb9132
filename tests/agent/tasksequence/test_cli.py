"""The CLI entry points: plan as JSON, normalize in place, contract from a file."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.tasksequence import cli
from agent.tasksequence import xml as tx

DATA = Path(__file__).parent / "data"
SPEC = Path(__file__).resolve().parents[3] / "examples" / "reference"


def test_plan_prints_one_json_entry_per_step_and_group(tmp_path: Path) -> None:
    variables = tmp_path / "v.json"
    variables.write_text(json.dumps({"OSDUILanguage": "de-DE", "PrestartDeploymentKind": "core"}))
    out = io.StringIO()
    assert cli.cmd_plan(DATA / "lab.xml", SPEC / "facts" / "vm.json", variables, None, out=out) == 0
    entries = json.loads(out.getvalue())
    assert all(set(e) == {"path", "type", "status", "reason"} for e in entries)
    by_path = {e["path"]: e for e in entries}
    assert by_path["Applications"]["status"] == "skip" and by_path["Applications"]["type"] == "group"
    assert by_path["Drivers/Virtual machine drivers"]["status"] == "runtime"  # IsVM True, WMI decides
    assert by_path["Language/German language pack"]["type"] == "SMS_TaskSequence_RunCommandLineAction"


def test_plan_with_fail(tmp_path: Path) -> None:
    out = io.StringIO()
    cli.cmd_plan(DATA / "trycatch.xml", None, None, "Step B", out=out)
    by_path = {e["path"]: e for e in json.loads(out.getvalue())}
    assert by_path["Catch"]["status"] == "run"


def test_plan_rejects_a_variables_file_that_is_not_an_object(tmp_path: Path) -> None:
    bad = tmp_path / "v.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="one JSON object"):
        cli.cmd_plan(DATA / "lab.xml", None, bad, None, out=io.StringIO())


def test_normalize_rewrites_in_place_without_loss(tmp_path: Path) -> None:
    target = tmp_path / "lab.xml"
    shutil.copy(DATA / "lab.xml", target)
    before = tx.read_file(target)
    assert cli.cmd_normalize(target) == 0
    assert tx.read_file(target) == before
    first = target.read_bytes()
    cli.cmd_normalize(target)
    assert target.read_bytes() == first


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        cli.cmd_normalize(tmp_path / "nope.xml")


def test_contract_from_a_file() -> None:
    problems = cli.contract(DATA / "lab.xml", {"OSDUILanguage"}, {"OSDUILanguage": {"xx-XX"}})
    assert any("xx-XX" in p.message for p in problems)
    assert all(p.file.endswith("lab.xml") for p in problems)
