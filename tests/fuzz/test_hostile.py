"""Every hostile input of issue 19 ends with exit 13 and a clear message naming the file: no traceback, no
variables written, and the receipt still there (docs/security.md, "Hostile input")."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import SPEC, exit_status, run_prestart

ANSWERS = (SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _catalog(tmp_path: Path, change: Callable[[dict[str, object]], None]) -> Path:
    data = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    change(data)
    return _write(tmp_path / "catalog.json", json.dumps(data))


def _profile_with_note(tmp_path: Path) -> Path:
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"][0]["fields"].append({"id": "note", "type": "text", "variable": "PrestartNote"})
    return _write(tmp_path / "profile.json", json.dumps(data))


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)  # 200 MB on paper, nothing on disk: the size check must refuse it before reading
    return path


# name -> (what to change: returns the run's extra arguments, a word the error must contain)
CASES: dict[str, tuple[Callable[[Path], dict[str, Path]], str]] = {
    "answers JSON nested 5,000 deep": (
        lambda t: {"answers": _write(t / "a.json", '{"note": ' + "[" * 5000 + "]" * 5000 + "}")}, "nest"),
    "answers YAML nested 5,000 deep": (
        lambda t: {"answers": _write(t / "a.yaml", ANSWERS + "note: " + "[" * 5000 + "]" * 5000 + "\n")}, "nest"),
    "answers integer of 5,000 digits (JSON)": (
        lambda t: {"answers": _write(t / "a.json", '{"note": ' + "9" * 5000 + "}")}, "number"),
    "answers integer of 5,000 digits (YAML)": (
        lambda t: {"answers": _write(t / "a.yaml", ANSWERS + "note: " + "9" * 5000 + "\n")}, "number"),
    "answers with !!binary": (
        lambda t: {"answers": _write(t / "a.yaml", ANSWERS + "note: !!binary aGVsbG8=\n")}, "not allowed"),
    "catalog generated in year 1 with an offset": (
        lambda t: {"catalog": _catalog(t, lambda d: d.update(generated="0001-01-01T00:00:00+01:00"))}, "out of range"),
    "catalog not_after in year 9999 with an offset": (
        lambda t: {"catalog": _catalog(t, lambda d: d.update(not_after="9999-12-31T23:30:00-02:00"))}, "out of range"),
    "catalog with a lone surrogate": (
        lambda t: {"catalog": _write(t / "catalog.json", _with_surrogate((SPEC / "catalog.json").read_text("utf-8")))},
        "surrogate"),
    "catalog nested 5,000 deep": (
        lambda t: {"catalog": _write(t / "catalog.json", "[" * 5000 + "]" * 5000)}, "nest"),
    "facts with a lone surrogate": (
        lambda t: {"facts": _write(t / "facts.json", '{"Make": "Dell \\udc00 Inc."}')}, "surrogate"),
    "facts with a 5,000-digit number": (
        lambda t: {"facts": _write(t / "facts.json", '{"Make": ' + "9" * 5000 + "}")}, "number"),
    "a 200 MB profile": (lambda t: {"profile": _sparse(t / "big.yaml", 200 * 1024 * 1024)}, "too large"),
    "a 200 MB catalog": (lambda t: {"catalog": _sparse(t / "big.json", 200 * 1024 * 1024)}, "too large"),
    "a 200 MB facts file": (lambda t: {"facts": _sparse(t / "big.json", 200 * 1024 * 1024)}, "too large"),
}


def _with_surrogate(catalog_json: str) -> str:
    """The catalog with a lone surrogate escaped into its first item label (JSON allows the escape)."""
    marked = catalog_json.replace('"label": "', '"label": "\\ud800 ', 1)
    assert marked != catalog_json, "the catalog has no item label to put the surrogate in"
    return marked


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_exits_13_with_a_clear_message(tmp_path: Path, case: str) -> None:
    make, said = CASES[case]
    given = {"profile": _profile_with_note(tmp_path), "catalog": SPEC / "catalog.json",
             "facts": SPEC / "facts" / "laptop.json", "answers": _write(tmp_path / "answers.yaml", ANSWERS)}
    given.update(make(tmp_path))
    out = tmp_path / "out.json"
    start = time.monotonic()
    done = run_prestart("run", "--profile", str(given["profile"]), "--catalog", str(given["catalog"]),
                        "--facts", str(given["facts"]), "--answers", str(given["answers"]), "--unattended",
                        "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"), timeout=60)
    assert done.returncode == exit_status(13), done.stderr
    assert time.monotonic() - start < 15
    assert said in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert any(str(p) in done.stderr for p in given.values()), done.stderr  # the message names the file
    assert not out.exists()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 13


@pytest.mark.parametrize("xml", [
    b'<?xml version="1.0" encoding="tf-8"?><sequence version="3.00"/>',
    b'<sequence version="3.00">' + b'<group name="g">' * 5000 + b"</group>" * 5000 + b"</sequence>",
])
def test_hostile_task_sequence_xml_exits_13(tmp_path: Path, xml: bytes) -> None:
    path = _write(tmp_path / "ts.xml", xml)
    done = run_prestart("sequence", "plan", str(path))
    assert done.returncode == exit_status(13), done.stderr
    assert str(path) in done.stderr and "Traceback" not in done.stderr
