"""agent.run: a run from its typed options, in-process: variables committed once, the receipt, the log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from agent import cliparser
from agent.errors import InputError, UsageError
from agent.log import shutdown
from agent.run import RunOptions, run
from tests.conftest import SPEC


def _options(tmp_path: Path, **given: object) -> RunOptions:
    base: dict[str, object] = {
        "profile": str(SPEC / "technician.yaml"),
        "catalog": str(SPEC / "catalog.json"),
        "facts": str(SPEC / "facts/laptop.json"),
        "answers": str(SPEC / "answers/technician-laptop.yaml"),
        "unattended": True,
        "sink": f"json:{tmp_path / 'out.json'}",
        "log_dir": str(tmp_path / "log"),
    }
    base.update(given)
    return RunOptions(**base)  # type: ignore[arg-type]


def test_the_options_are_the_command_lines(tmp_path: Path) -> None:
    args = cliparser.parse_args(["run", "--profile", "p.yaml", "--unattended", "--role", "technician"])
    options = RunOptions.from_namespace(args)
    assert (options.profile, options.unattended, options.role, options.catalog) == ("p.yaml", True, "technician", None)
    preview = RunOptions.from_namespace(argparse.Namespace(profile="p.json", kiosk_windowed=True), preview=True)
    assert preview.preview and preview.kiosk_windowed and not preview.unattended


def test_an_unattended_run_commits_the_expected_variables_and_writes_its_receipt(tmp_path: Path) -> None:
    try:
        assert run(_options(tmp_path)) == 0
    finally:
        shutdown()
    expected = json.loads((SPEC / "expected/technician-laptop.json").read_text(encoding="utf-8"))["variables"]
    got = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {name: got.get(name) for name in expected} == expected
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["result"] == "success" and receipt["exit_code"] == 0
    assert "committed" in (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")


def test_a_bad_run_writes_no_variable_and_says_why_in_the_receipt(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("deployment: win11-lab\ncolour: blue\n", encoding="utf-8")
    try:
        with pytest.raises(InputError, match="unknown id 'colour'"):
            run(_options(tmp_path, answers=str(answers)))
    finally:
        shutdown()
    assert not (tmp_path / "out.json").exists()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["result"] == "invalid_data" and receipt["exit_code"] == 13


def test_options_that_contradict_each_other_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--unattended needs --answers"):
        run(_options(tmp_path, answers=None))
    with pytest.raises(UsageError, match="--sink or --hook, not both"):
        run(_options(tmp_path, hook="winpe"))
