"""The package as a user installs it: `pip install prestart` with no extras, in a fresh virtual environment,
runs every `prestart` command (the agent's run-time dependencies are declared where they are used)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.facts.dmi_gen import Machine
from tests.conftest import EXAMPLE, REPO

DATA = REPO / "tests" / "agent" / "tasksequence" / "data"
SEQUENCE_WITH_DTD = """<?xml version="1.0"?>
<!DOCTYPE sequence [<!ELEMENT sequence ANY>]>
<sequence version="3.00"><step type="SMS_TaskSequence_RunCommandLineAction" name="Hello">
<defaultVarList><variable name="CommandLine" property="CommandLine">cmd /c echo hi</variable></defaultVarList>
<action>smsswd.exe /run: cmd /c echo hi</action></step></sequence>
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system packages) with the package installed from a copy of the source, no extras."""
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    # Not what a checkout builds or caches: .cache holds the wine prefix, whose user folders link into $HOME.
    skip = shutil.ignore_patterns(".venv", ".git", ".cache", "artifacts", "out", "build", "dist", "*.egg-info",
                                  "__pycache__", ".*_cache", ".hypothesis", "tests", "bench", "docs")
    shutil.copytree(REPO, source, ignore=skip)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(source)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def _run(bin_dir: Path, tool: str, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / tool), *args], capture_output=True, text=True, cwd=cwd, input=stdin,
                          timeout=120)


def test_every_prestart_command_runs_from_a_plain_install(installed: Path, tmp_path: Path) -> None:
    ex = EXAMPLE
    for args in [
        ["--version"],
        ["--help"],
        ["check", str(ex / "technician.yaml"), "--catalog", str(ex / "catalog.json")],
        ["compile", str(ex / "kiosk.yaml"), "-o", str(tmp_path / "profile.json")],
        ["schema", "profile"],
        ["schema", "catalog"],
        ["schema", "answers"],
        ["facts", "--smbios", str(Machine().write(tmp_path / "dump.bin")),
         "--facts", str(ex / "facts" / "laptop.json")],
        ["run", "--profile", str(ex / "technician.yaml"), "--catalog", str(ex / "catalog.json"),
         "--facts", str(ex / "facts" / "laptop.json"), "--answers", str(ex / "answers" / "technician-laptop.yaml"),
         "--unattended", "--sink", f"json:{tmp_path / 'out.json'}", "--log-dir", str(tmp_path / "log")],
        ["preview", "--help"],
        ["sequence", "plan", str(DATA / "lab.xml"), "--facts", str(ex / "facts" / "vm.json")],
    ]:
        done = _run(installed, "prestart", *args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["OSDComputerName"] == "LAB-0042"
    done = _run(installed, "prestart", "pin-hash", "--stdin", cwd=tmp_path, stdin="482913\n")
    assert done.returncode == 0 and done.stdout.startswith("scrypt$")

    # A task sequence with a DOCTYPE takes the defusedxml path (agent/safexml.py): it must be installed.
    sequence = tmp_path / "with-dtd.xml"
    sequence.write_text(SEQUENCE_WITH_DTD, encoding="utf-8")
    for args in (["sequence", "plan", str(sequence)], ["sequence", "normalize", str(sequence), "-o", "-"]):
        done = _run(installed, "prestart", *args, cwd=tmp_path)
        assert "No module named" not in done.stderr, done.stderr
        assert done.returncode == 0, done.stderr


def test_the_builder_without_its_extra_says_what_to_install(installed: Path, tmp_path: Path) -> None:
    assert _run(installed, "prestart-media", "--help", cwd=tmp_path).returncode == 0
    done = _run(installed, "prestart-media", "keygen", str(tmp_path / "keys"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # PyNaCl is the agent's too
    from examples.workspace import make_workspace

    workspace = make_workspace(tmp_path / "ws")
    done = _run(installed, "prestart-media", "check", str(workspace.media_yaml), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _run(installed, "prestart-media", "build", str(workspace.media_yaml), "-o", str(tmp_path / "out"),
                cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode == 13 and "pip install 'prestart[builder]'" in done.stderr, done.stderr
