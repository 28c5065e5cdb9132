"""A crash anywhere in the agent exits 1359, writes no variables, and logs the traceback without secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SPEC, exit_status

CANARY = "Canary-Crash-5a7e11"

# The agent runs in a child process with one function replaced by one that raises: a real crash, through the
# real CLI, with no test-only switch in the product.
CRASH = """
import sys
import {module} as target

def boom(*args, **kwargs):
    raise RuntimeError("simulated crash holding {canary}")

setattr(target{attr_path}, "{name}", boom)
from agent.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _profile(tmp_path: Path) -> Path:
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"].append({"id": "secrets", "fields": [
        {"id": "join_password", "type": "password", "variable": "PrestartJoinPassword"}]})
    path = tmp_path / "profile.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("module,attr_path,name", [
    ("agent.flow", ".Flow", "result"),  # after every page was answered, just before the commit
    ("agent.headless", "", "_confirm"),  # in the middle of the pages
    ("agent.facts", "", "load_facts_file"),  # before the flow exists
])
def test_a_crash_exits_1359_and_writes_no_variables(tmp_path: Path, module: str, attr_path: str, name: str) -> None:
    answers = yaml.safe_load((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8"))
    answers["join_password"] = CANARY
    answers_path = tmp_path / "answers.yaml"
    answers_path.write_text(json.dumps(answers), encoding="utf-8")
    out = tmp_path / "out.json"
    code = CRASH.format(module=module, attr_path=attr_path, name=name, canary=CANARY)
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--profile", str(_profile(tmp_path)), "--catalog",
         str(SPEC / "catalog.json"), "--facts", str(SPEC / "facts" / "laptop.json"), "--answers",
         str(answers_path), "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert done.returncode == exit_status(1359), done.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))
    assert "internal error" in done.stderr
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError" in log
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 1359 and receipt["result"] == "internal_error"
    if name == "result":  # the password was entered before the crash: it must not reach any output
        assert CANARY not in log + json.dumps(receipt)


def test_a_crash_message_on_stderr_masks_entered_secrets(tmp_path: Path) -> None:
    answers = yaml.safe_load((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8"))
    answers["join_password"] = CANARY
    answers_path = tmp_path / "answers.yaml"
    answers_path.write_text(json.dumps(answers), encoding="utf-8")
    code = CRASH.format(module="agent.flow", attr_path=".Flow", name="result", canary=CANARY)
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--profile", str(_profile(tmp_path)), "--catalog",
         str(SPEC / "catalog.json"), "--facts", str(SPEC / "facts" / "laptop.json"), "--answers",
         str(answers_path), "--unattended", "--sink", f"json:{tmp_path / 'out.json'}", "--log-dir",
         str(tmp_path / "log")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert done.returncode == exit_status(1359)
    assert CANARY not in done.stderr + done.stdout
