"""Canaries: a password typed into the run never reaches stdout, stderr, the log, the receipt or the variables
file, whichever way the run ends (success, cancel, validation failure). Crash: test_crash.py; sign-in:
tests/agent/auth/test_ldap.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SPEC, exit_status, run_prestart

CANARY = "Canary-Secret-b41d2e"


def _run(tmp_path: Path, answers: dict[str, Any], *, validate: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    field: dict[str, Any] = {"id": "join_password", "type": "password", "variable": "PrestartJoinPassword"}
    if validate:
        field["validate"] = validate
    data["pages"].append({"id": "secrets", "fields": [field]})
    profile = tmp_path / "profile.yaml"
    profile.write_text(json.dumps(data), encoding="utf-8")
    base = yaml.safe_load((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8"))
    base.update(answers)
    answers_path = tmp_path / "answers.yaml"
    answers_path.write_text(json.dumps(base), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart("run", "--profile", str(profile), "--catalog", str(SPEC / "catalog.json"),
                        "--facts", str(SPEC / "facts" / "laptop.json"), "--answers", str(answers_path),
                        "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"))
    return done, out


def _everything(tmp_path: Path, done: Any) -> str:
    texts = [done.stdout, done.stderr]
    for path in sorted((tmp_path / "log").rglob("*")):
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def test_success_commits_the_secret_but_shows_it_nowhere_else(tmp_path: Path) -> None:
    done, out = _run(tmp_path, {"join_password": CANARY})
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["PrestartJoinPassword"] == CANARY  # the engine gets it
    assert CANARY not in _everything(tmp_path, done)
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["choices"]["join_password"] == "********"


def test_cancel_leaks_nothing(tmp_path: Path) -> None:
    confirm = next(p["id"] for p in yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))["pages"]
                   if p.get("type") == "confirm")
    done, out = _run(tmp_path, {"join_password": CANARY, confirm: "certainly not the right text"})
    assert done.returncode in (exit_status(1223), 13), done.stderr
    assert not out.exists()
    assert CANARY not in _everything(tmp_path, done)


@pytest.mark.parametrize("validate", [
    {"min_length": 64, "message": "too short"},
    {"regex": "^[0-9]+$"},
    {"max_length": 3},
])
def test_validation_failure_never_echoes_the_value(tmp_path: Path, validate: dict[str, Any]) -> None:
    done, out = _run(tmp_path, {"join_password": CANARY}, validate=validate)
    assert done.returncode == 13, done.stderr
    assert not out.exists()
    assert CANARY not in _everything(tmp_path, done)
