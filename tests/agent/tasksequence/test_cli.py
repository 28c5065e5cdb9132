"""The CLI entry points: plan as JSON, normalize in place, contract from a file."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from agent.errors import InputError, UsageError
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
    assert all(set(e) == {"index", "path", "type", "status", "reason"} for e in entries)
    assert [e["index"] for e in entries] == list(range(1, len(entries) + 1))
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


SEQUENCE_TEXT = (
    '<sequence version="3.10"><referenceList><reference package="CM100050"/></referenceList>'
    '<step type="SMS_TaskSequence_RunCommandLineAction" name="Hello" description="" runIn="WinPEandFullOS">'
    "<action>smsswd.exe /run: cmd /c echo hi</action></step></sequence>"
)


def _object_xml(package_id: str, name: str, sequence: str = SEQUENCE_TEXT) -> bytes:
    """An object.xml as the console writes it (CIM-XML instance, the sequence as CDATA)."""
    return (
        '<INSTANCE CLASSNAME="SMS_TaskSequencePackage">\r\n'
        f'  <PROPERTY NAME="Name" TYPE="string"><VALUE>{name}</VALUE></PROPERTY>\r\n'
        f'  <PROPERTY NAME="PackageID" TYPE="string"><VALUE>{package_id}</VALUE></PROPERTY>\r\n'
        '  <PROPERTY.OBJECTARRAY NAME="References" REFERENCECLASS="SMS_TaskSequence_Reference"><VALUE.OBJECTARRAY>'
        '<VALUE.OBJECT><INSTANCE CLASSNAME="SMS_TaskSequence_Reference">'
        '<PROPERTY NAME="Package" TYPE="string"><VALUE>CM100050</VALUE></PROPERTY>'
        '<PROPERTY NAME="Program" TYPE="string"><VALUE>*</VALUE></PROPERTY></INSTANCE></VALUE.OBJECT>'
        "</VALUE.OBJECTARRAY></PROPERTY.OBJECTARRAY>\r\n"
        f'  <PROPERTY NAME="Sequence" TYPE="string"><VALUE><![CDATA[{sequence}]]></VALUE></PROPERTY>\r\n'
        "</INSTANCE>"
    ).encode()


def _export(tmp_path: Path, *ids: str) -> Path:
    target = tmp_path / "export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for ident in ids:
            archive.writestr(f"SMS_TaskSequencePackage/{ident}/object.xml", _object_xml(ident, f"TS {ident}"))
        archive.writestr("Manifest.xml", "<LibraryDocument/>")
    return target


def test_an_export_zip_is_planned_and_listed_directly(tmp_path: Path) -> None:
    one = _export(tmp_path, "CM100099")
    out = io.StringIO()
    cli.cmd_plan(one, out=out)
    assert [(e["path"], e["status"]) for e in json.loads(out.getvalue())] == [("Hello", "run")]
    out = io.StringIO()
    cli.cmd_list(one, out=out)
    (listed,) = json.loads(out.getvalue())
    assert (listed["package_id"], listed["name"], listed["steps"]) == ("CM100099", "TS CM100099", 1)
    assert [r["package_id"] for r in listed["references"]] == ["CM100050"]


def test_an_export_of_several_sequences_needs_a_choice(tmp_path: Path) -> None:
    many = _export(tmp_path, "CM100001", "CM100002")
    with pytest.raises(InputError) as info:
        cli.cmd_plan(many, out=io.StringIO())
    assert "holds 2 task sequences" in str(info.value) and "CM100002 (TS CM100002)" in str(info.value)
    out = io.StringIO()
    cli.cmd_plan(many, sequence="TS CM100002", out=out)
    assert json.loads(out.getvalue())[0]["path"] == "Hello"


def test_object_xml_is_read_and_normalize_will_not_rewrite_it_in_place(tmp_path: Path) -> None:
    source = tmp_path / "object.xml"
    source.write_bytes(_object_xml("CM100099", "Lab"))
    before = source.read_bytes()
    with pytest.raises(UsageError) as info:
        cli.cmd_normalize(source)
    assert "object.xml" in str(info.value) and "-o" in info.value.hint
    assert source.read_bytes() == before
    target = tmp_path / "ts.xml"
    cli.cmd_normalize(source, target)
    assert tx.read_file(target) == tx.read(SEQUENCE_TEXT)
    zipped = _export(tmp_path, "CM100099")
    with pytest.raises(UsageError):
        cli.cmd_normalize(zipped)


def test_normalize_writes_the_older_wrapper_back_as_a_wrapper(tmp_path: Path) -> None:
    target = tmp_path / "package.xml"
    target.write_text(
        "<SmsTaskSequencePackage><Name>Lab</Name><SequenceData>" + SEQUENCE_TEXT + "</SequenceData>"
        "</SmsTaskSequencePackage>",
        encoding="utf-8",
    )
    cli.cmd_normalize(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<SmsTaskSequencePackage>") and "<Name>Lab</Name>" in text
    assert tx.read_file(target) == tx.read(SEQUENCE_TEXT)


def test_a_folder_given_as_the_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        cli.cmd_plan(tmp_path, out=io.StringIO())
    assert "is a folder" in str(info.value) and "permission" not in str(info.value)


def test_contract_checks_every_sequence_of_an_export(tmp_path: Path) -> None:
    reading = SEQUENCE_TEXT.replace("echo hi", "echo %OSDSiteCode%")
    target = tmp_path / "export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for ident in ("CM100001", "CM100002"):
            archive.writestr(f"SMS_TaskSequencePackage/{ident}/object.xml", _object_xml(ident, ident, reading))
    problems = cli.contract(target, set(), {})
    assert sorted(p.file.rsplit("!", 1)[-1] for p in problems if "OSDSiteCode" in p.message) == [
        "SMS_TaskSequencePackage/CM100001/object.xml", "SMS_TaskSequencePackage/CM100002/object.xml"]


def test_an_older_wrapper_with_the_sequence_as_text_is_read(tmp_path: Path) -> None:
    escaped = SEQUENCE_TEXT.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    source = tmp_path / "package.xml"
    source.write_text(
        f"<SmsTaskSequencePackage><Name>Lab</Name><SequenceData>{escaped}</SequenceData></SmsTaskSequencePackage>",
        encoding="utf-8",
    )
    out = io.StringIO()
    cli.cmd_plan(source, out=out)
    assert [e["path"] for e in json.loads(out.getvalue())] == ["Hello"]
    with pytest.raises(UsageError, match="sequence as text"):
        cli.cmd_normalize(source)  # writing it as <sequence> would change the file's kind
