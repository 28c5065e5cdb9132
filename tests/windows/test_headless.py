"""The frozen prestart.exe under wine: every headless reference case of ../shared/spec, exit codes in full."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from media_builder.winefreeze import Wine
from tests.conftest import SPEC
from tests.windows.conftest import win

CASES = sorted(p.stem for p in (SPEC / "expected").glob("*.json"))


def reference_args(case: dict[str, object], sink: Path, log_dir: Path) -> list[str | Path]:
    """spec/README.md's command line, with Windows paths."""
    return [
        "run",
        "--profile", SPEC / str(case["profile"]),
        "--catalog", SPEC / str(case["catalog"]),
        "--facts", SPEC / str(case["facts"]),
        "--answers", SPEC / str(case["answers"]),
        "--unattended",
        "--sink", f"json:{win(sink)}",
        "--log-dir", log_dir,
    ]  # fmt: skip


def test_every_reference_case_is_run() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize("case", CASES)
def test_reference_case(case: str, wine: Wine, exe: Path, tmp_path: Path) -> None:
    expected = json.loads((SPEC / "expected" / f"{case}.json").read_text(encoding="utf-8"))
    out = tmp_path / "OUT.json"
    done = wine.run([exe, *reference_args(expected, out, tmp_path / "log")])
    assert done.code == expected["exit_code"], done.stderr  # the full code: 1223, not 199
    if done.code != 0:
        assert not out.exists()
        assert list(tmp_path.glob("OUT.json*")) == []
        assert f"exit {done.code}" in done.stderr
        return
    got = json.loads(out.read_text(encoding="utf-8"))
    for name, value in expected["variables"].items():
        assert got.get(name) == value, f"{name}: expected {value!r}, got {got.get(name)!r}"
    extra = set(got) - set(expected["variables"])
    assert all(name.startswith("Prestart") for name in extra), extra
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    assert log.startswith("<![LOG["), log[:200]  # CMTrace's line format


def test_cancelled_case_exits_1223_in_full(wine: Wine, exe: Path, tmp_path: Path) -> None:
    """A wrong typed confirmation cancels: Windows sees 1223 (ERROR_CANCELLED), not Unix's 199."""
    answers = tmp_path / "answers.yaml"
    text = (SPEC / "answers" / "kiosk-laptop.yaml").read_text(encoding="utf-8")
    case = json.loads((SPEC / "expected" / "kiosk-laptop.json").read_text(encoding="utf-8"))
    data = yaml.safe_load(text)
    for page, value in list(data.items()):
        if isinstance(value, str) and page.startswith("confirm"):
            data[page] = value + "-wrong"
    answers.write_text(yaml.safe_dump(data), encoding="utf-8")
    case["answers"] = str(answers)
    done = wine.run([exe, *reference_args(case, tmp_path / "OUT.json", tmp_path / "log")])
    assert done.code == 1223, done.stderr
    assert not (tmp_path / "OUT.json").exists()


def test_bad_command_line_is_87(wine: Wine, exe: Path) -> None:
    done = wine.run([exe, "run", "--no-such-option"])
    assert done.code == 87, done.stderr
    assert "Traceback" not in done.stderr


def test_a_signed_catalog_is_verified_by_the_frozen_agent(wine: Wine, exe: Path, tmp_path: Path) -> None:
    """Media carry the catalog signed (Ed25519 through PyNaCl, a compiled extension): the exe checks it,
    and refuses it once a byte of the payload changes."""
    from media_builder.signing import keygen, load_private_key, sign_payload

    private, public = keygen(tmp_path / "keys")
    signed = tmp_path / "catalog.json"
    signed.write_bytes(sign_payload((SPEC / "catalog.json").read_bytes(), load_private_key(private)))
    case = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
    case["catalog"] = str(signed)
    out = tmp_path / "OUT.json"
    done = wine.run([exe, *reference_args(case, out, tmp_path / "log"), "--trust-key", public])
    assert done.code == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"] == "LAB-0042"
    envelope = json.loads(signed.read_text(encoding="ascii"))
    envelope["payload"] = envelope["payload"][:-8] + ("A" * 8 if envelope["payload"][-8:] != "A" * 8 else "B" * 8)
    signed.write_text(json.dumps(envelope), encoding="ascii")
    out.unlink()
    done = wine.run([exe, *reference_args(case, out, tmp_path / "log"), "--trust-key", public])
    assert done.code == 13, done.stderr
    assert not out.exists()


def _with_pattern(tmp_path: Path) -> Path:
    """technician.yaml with a text field whose validation is a regular expression (the `regex` module)."""
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"][0]["fields"].append({"id": "asset", "type": "text", "label": "Asset tag",
                                       "variable": "XAssetTag", "validate": {"regex": r"CT-\d{5}"}})  # fmt: skip
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("asset", "code"), [("CT-10442", 0), ("10442", 13)])
def test_a_validation_pattern_is_checked_by_the_exe(
    asset: str, code: int, wine: Wine, exe: Path, tmp_path: Path
) -> None:
    """Validation patterns go through the `regex` module (a time limit per match): the exe must carry it.
    Without it the first field with a pattern ended the run with an internal error (1359)."""
    case = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
    answers = tmp_path / "answers.yaml"
    text = (SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")
    answers.write_text(text + f"asset: {asset}\n", encoding="utf-8")
    out = tmp_path / "OUT.json"
    args = reference_args({**case, "profile": _with_pattern(tmp_path), "answers": answers}, out, tmp_path / "log")
    done = wine.run([exe, *args])
    assert done.code == code, done.stderr
    if code == 0:
        assert json.loads(out.read_text(encoding="utf-8"))["XAssetTag"] == asset
    else:
        assert "Asset tag" in done.stderr and "Traceback" not in done.stderr and not out.exists()


def test_a_task_sequence_is_read_by_the_exe_and_an_entity_bomb_refused(wine: Wine, exe: Path, tmp_path: Path) -> None:
    """Task sequence XML goes through defusedxml (a sequence may carry a DTD): the exe must carry it."""
    sequence = Path(__file__).resolve().parents[1] / "agent" / "tasksequence" / "data" / "lab.xml"
    done = wine.run([exe, "sequence", "plan", sequence, "--facts", SPEC / "facts" / "vm.json"])
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan[0]["path"] == "Install Operating System" and {step["status"] for step in plan} >= {"run", "runtime"}
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><sequence>&a;</sequence>', encoding="utf-8")
    done = wine.run([exe, "sequence", "plan", bomb])
    assert done.code == 13, done.stderr
    assert "unsafe XML" in done.stderr and "Traceback" not in done.stderr
