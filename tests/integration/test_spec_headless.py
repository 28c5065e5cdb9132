"""The reference cases of ../shared/spec/expected, run through the real CLI exactly as spec/README.md says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.workspace import reference_run_args
from tests.conftest import SPEC, exit_status, run_prestart

CASES = sorted(p.stem for p in (SPEC / "expected").glob("*.json"))


def test_there_are_reference_cases() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize("case", CASES)
def test_reference_case(case: str, tmp_path: Path) -> None:
    expected = json.loads((SPEC / "expected" / f"{case}.json").read_text(encoding="utf-8"))
    out = tmp_path / "OUT.json"
    done = run_prestart(*reference_run_args(expected, out, tmp_path / "log"))
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


@pytest.mark.parametrize("profile", ["technician.yaml", "kiosk.yaml"])
def test_check_accepts_reference_profiles(profile: str) -> None:
    done = run_prestart("check", str(SPEC / profile), "--catalog", str(SPEC / "catalog.json"))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
