"""All or nothing, literally: whatever fails after the answers are validated, either no variable is written or the
run exits 0 with its receipt (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hooks.mdt import parse_variables_dat
from tests.conftest import REPO, SPEC, exit_status, run_prestart

CANARY = "Canary-Commit-77e1"


def _profile(tmp_path: Path, *, audit: str = "") -> Path:
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"][0]["fields"].append({"id": "note", "type": "text", "label": "Note", "variable": "PrestartNote"})
    data["pages"].append({"id": "secrets", "fields": [
        {"id": "join_password", "type": "password", "variable": "PrestartJoinPassword"}]})
    if audit:
        data["audit"] = {"url": audit, "timeout": 1}
    path = tmp_path / "profile.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _answers(tmp_path: Path, extra: str) -> Path:
    text = (SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")
    path = tmp_path / "answers.yaml"
    path.write_text(text + f"join_password: {CANARY}\n" + extra, encoding="utf-8")
    return path


def _args(tmp_path: Path, answers: Path, sink: str, profile: Path | None = None) -> list[str]:
    return ["run", "--profile", str(profile or _profile(tmp_path)), "--catalog", str(SPEC / "catalog.json"),
            "--facts", str(SPEC / "facts" / "laptop.json"), "--answers", str(answers), "--unattended",
            "--sink", sink, "--log-dir", str(tmp_path / "log")]


def _receipt(tmp_path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("scheme", ["json", "mdt", "cmd"])
def test_a_yaml_date_in_the_answers_is_the_text_written(tmp_path: Path, scheme: str) -> None:
    out = tmp_path / "out"
    done = run_prestart(*_args(tmp_path, _answers(tmp_path, "note: 2026-01-01\n"), f"{scheme}:{out}"))
    assert done.returncode == 0, done.stderr
    receipt = _receipt(tmp_path)
    assert receipt["result"] == "success" and receipt["exit_code"] == 0
    assert receipt["choices"]["note"] == "2026-01-01"  # type: ignore[index]
    if scheme == "json":
        assert json.loads(out.read_text(encoding="utf-8"))["PrestartNote"] == "2026-01-01"
    elif scheme == "mdt":
        assert parse_variables_dat(out.read_bytes(), "out")["PRESTARTNOTE"] == "2026-01-01"
    else:
        assert 'set "PrestartNote=2026-01-01"' in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a: null}", "!!binary |\n  R0lGODlhDAAMAIQAAP//9/X1"])
def test_binary_and_other_typed_answers_are_refused_before_anything_is_written(tmp_path: Path, value: str) -> None:
    out = tmp_path / "out.json"
    done = run_prestart(*_args(tmp_path, _answers(tmp_path, f"note: {value}\n"), f"json:{out}"))
    assert done.returncode == exit_status(13), done.stderr
    assert "answers.yaml" in done.stderr and "not allowed" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    assert _receipt(tmp_path)["exit_code"] == 13


# The agent runs in a child process with one function replaced by one that raises: a real failure through the
# real CLI, at every step between validated answers and the hand-off.
INJECT = """
import sys
import {module} as target

def boom(*args, **kwargs):
    raise {error}("injected failure")

setattr(target{attr_path}, "{name}", boom)
from agent.cli import main
sys.exit(main(sys.argv[1:]))
"""

STEPS = [
    ("agent.flow", ".Flow", "result"),
    ("agent.flow", ".Flow", "secret_variables"),
    ("agent.flow", ".Flow", "sources"),
    ("agent.flow", ".Flow", "what_will_run"),
    ("agent.receipt", ".Receipt", "set_variables"),
    ("agent.receipt", ".Receipt", "to_dict"),
    ("agent.receipt", ".Receipt", "render"),
    ("agent.files", "", "stage_bytes"),
    ("agent.files", "", "publish"),
    ("agent.files", "", "open_atomic"),
    ("agent.commit", "", "prepare"),
    ("agent.commit", "", "after_commit"),
    ("agent.commit", "", "send_within"),
    ("agent.audit", "", "send_receipt"),
    ("agent.net", "", "post_json"),
    ("hooks.file", ".JsonFileStore", "commit"),
    ("agent.cmtrace", ".CMTraceSink", "emit"),
    ("json", "", "dumps"),
]


@pytest.mark.parametrize("error", ["RuntimeError", "OSError"])
@pytest.mark.parametrize("module,attr_path,name", STEPS)
def test_a_failure_at_any_step_writes_nothing_or_exits_0(
    tmp_path: Path, module: str, attr_path: str, name: str, error: str
) -> None:
    out = tmp_path / "out.json"
    answers = _answers(tmp_path, "note: 2026-01-01\n")
    profile = _profile(tmp_path, audit="https://127.0.0.1:9/audit")
    code = INJECT.format(module=module, attr_path=attr_path, name=name, error=error)
    done = subprocess.run([sys.executable, "-c", code, *_args(tmp_path, answers, f"json:{out}", profile)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert CANARY not in done.stderr + done.stdout
    if done.returncode == 0:
        assert json.loads(out.read_text(encoding="utf-8"))["PrestartNote"] == "2026-01-01"
        return
    assert not out.exists(), f"exit {done.returncode} after the variables were written: {done.stderr}"
    assert not list(tmp_path.glob(".out.json*"))
    log = tmp_path / "log" / "prestart.log"
    if "traceback is in prestart.log" in done.stderr and name != "emit":
        assert "injected failure" in log.read_text(encoding="utf-8")


def test_a_secret_keeps_its_taint_through_template_filters(tmp_path: Path) -> None:
    """`{Pw|upper}` and `{Pw|left:6}` are the password too: the variables are written, but the log and receipt
    show them masked, and `check` says so."""
    secret = "Zebra-Filter-91x"
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"].append({"id": "secrets", "fields": [
        {"id": "join_password", "type": "password", "variable": "PrestartJoinPassword"},
        {"id": "note", "type": "text", "variable": "PrestartNote", "set": {
            "PrestartUpper": "{PrestartJoinPassword|upper}", "PrestartShort": "{PrestartJoinPassword|left:6}"}}]})
    profile = tmp_path / "profile.yaml"
    profile.write_text(json.dumps(data), encoding="utf-8")
    answers = tmp_path / "answers.yaml"
    answers.write_text((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")
                       + f"join_password: {secret}\nnote: hello\n", encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart(*_args(tmp_path, answers, f"json:{out}", profile))
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["PrestartUpper"] == secret.upper() and written["PrestartShort"] == secret[:6]
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    receipt = (tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8")
    for shown in (secret, secret.upper(), secret[:6]):
        assert shown not in log + receipt + done.stdout + done.stderr, shown
    checked = run_prestart("check", str(profile))
    assert "PrestartUpper is made from the secret field 'join_password'" in checked.stderr
