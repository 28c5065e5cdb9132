"""The headless cases of the bundled example and, where it is beside the repo, of the external contract
(../shared/spec, as CI has it), run through the real CLI as their README says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.workspace import reference_run_args
from tests.conftest import CONTRACT, EXAMPLE, exit_status, run_prestart

# (folder, case) pairs; the contract's cases exist only where ../shared/spec does, so without it
# nothing of it is collected and nothing fails.
ROOTS = [EXAMPLE] + ([CONTRACT] if (CONTRACT / "expected").is_dir() else [])
CASES = [(root, p.stem) for root in ROOTS for p in sorted((root / "expected").glob("*.json"))]
IDS = [f"{'example' if root == EXAMPLE else 'contract'}:{case}" for root, case in CASES]


def test_the_example_has_cases_for_every_outcome() -> None:
    codes = {json.loads(p.read_text(encoding="utf-8"))["exit_code"] for p in (EXAMPLE / "expected").glob("*.json")}
    assert {0, 13, 21, 1223} <= codes


@pytest.mark.parametrize(("root", "case"), CASES, ids=IDS)
def test_reference_case(root: Path, case: str, tmp_path: Path) -> None:
    expected = json.loads((root / "expected" / f"{case}.json").read_text(encoding="utf-8"))
    out = tmp_path / "OUT.json"
    done = run_prestart(*reference_run_args(expected, out, tmp_path / "log", root))
    assert done.returncode == exit_status(expected["exit_code"]), done.stderr
    if expected["exit_code"] != 0:
        assert not out.exists()
        assert list(tmp_path.glob("OUT.json*")) == []  # not even a temp file
        return
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in expected["variables"].items():
        assert got.get(name) == value, f"{name}: expected {value!r}, got {got.get(name)!r}"
    extra = set(got) - set(expected["variables"])
    assert all(name.startswith("Prestart") for name in extra), extra


@pytest.mark.parametrize("root", ROOTS, ids=["example", "contract"][: len(ROOTS)])
@pytest.mark.parametrize("profile", ["technician.yaml", "kiosk.yaml"])
def test_check_accepts_reference_profiles(root: Path, profile: str) -> None:
    done = run_prestart("check", str(root / profile), "--catalog", str(root / "catalog.json"))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
