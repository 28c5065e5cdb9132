"""What will run: statuses and reasons, failure simulation with error handlers, and the variable contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.tasksequence import model as m
from agent.tasksequence import plan as tp
from agent.tasksequence import xml as tx

DATA = Path(__file__).parent / "data"
SPEC = Path(__file__).resolve().parents[3] / "examples" / "reference"


def _laptop(**extra: str) -> dict[str, str]:
    values: dict[str, str] = json.loads((SPEC / "facts" / "laptop.json").read_text())
    values.update(extra)
    return values


def _status(entries: list[tp.PlanEntry]) -> dict[str, tuple[str, str]]:
    return {e.path: (e.status, e.reason) for e in entries}


def test_lab_sequence_for_a_german_laptop() -> None:
    seq = tx.read_file(DATA / "lab.xml")
    got = _status(tp.plan(seq, _laptop(OSDUILanguage="de-DE", DriverPack="Dell-Latitude",
                                       PrestartDeploymentKind="full")))
    assert got["Install Operating System/Partition Disk 0 - UEFI"] == ("run", 'condition true: IsUEFI == "True"')
    bios = got["Install Operating System/Partition Disk 0 - BIOS"]
    assert bios == ("skip", 'condition false: not (IsUEFI == "True")')
    assert got["Language/German language pack"][0] == "run"
    assert got["Language/French language pack"] == ("skip", "disabled")
    # or(WMI, DriverPack == ...): the variable decides it now, the WMI query is not needed.
    assert got["Drivers/Dell Latitude drivers"][0] == "run"
    # and(IsVM == "True", WMI): false, whatever WMI says.
    assert got["Drivers/Virtual machine drivers"] == ("skip", 'condition false: IsVM == "True"')
    assert got["Applications/Microsoft Office"][0] == "runtime"
    status, reason = got["Applications/Configure agent"]
    assert status == "runtime"
    for part in ("registry", "file", "folder", "operating system"):
        assert part in reason
    assert got["Checks/Big memory tuning"][0] == "run"  # numeric: 16384 >= 16384 and < 65536
    assert got["Checks/Small memory warning"][0] == "skip"
    assert got["Checks/Unknown machine"][0] == "run"
    assert got["Checks/Known machine"][0] == "skip"
    # Every step and group is listed once, in document order.
    assert len(got) == sum(1 for _ in seq.walk())


def test_a_skipped_group_skips_its_contents_with_the_reason() -> None:
    seq = tx.read_file(DATA / "lab.xml")
    got = _status(tp.plan(seq, _laptop(PrestartDeploymentKind="core")))
    assert got["Applications"] == ("skip", 'condition false: PrestartDeploymentKind != "core"')
    assert got["Applications/Microsoft Office"] == ("skip", "inside skipped group Applications")


def test_steps_inside_a_runtime_group_are_runtime() -> None:
    inner = m.RunCommandLineAction.create("Inner", "cmd /c x")
    seq = m.Sequence(children=(m.Group("Dell only", condition=m.Condition.all_of(
        m.WmiCondition.create("SELECT * FROM Win32_ComputerSystem WHERE Manufacturer LIKE 'Dell%'")),
        children=(inner,)),))
    got = _status(tp.plan(seq, {}))
    assert got["Dell only"][0] == "runtime" and "WMI query" in got["Dell only"][1]
    assert got["Dell only/Inner"] == ("runtime", "inside group Dell only, which is decided at run time")


def test_like_uses_windows_wildcards_and_or_operator() -> None:
    cond = m.Condition.any_of(
        m.VariableCondition.create("_SMSTSMake", "like", "Dell*"),
        m.VariableCondition.create("_SMSTSMake", "equals", "HP"),
    )
    seq = m.Sequence(children=(m.RunCommandLineAction.create("Vendor tools", "x", condition=cond),))
    assert tp.plan(seq, {"_SMSTSMake": "Dell Inc."})[0].status == "run"
    assert tp.plan(seq, {"_SMSTSMake": "hp"})[0].status == "run"  # our comparison is case-insensitive
    assert tp.plan(seq, {"_SMSTSMake": "Lenovo"})[0].status == "skip"


def test_set_variable_steps_feed_later_conditions() -> None:
    seq = m.Sequence(children=(
        m.SetVariableAction.create("Pick mode", "Mode", "%Base%-x"),
        m.RunCommandLineAction.create("Uses mode", "x", condition=m.Condition.all_of(
            m.VariableCondition.create("Mode", "equals", "fast-x"))),
        m.SetVariableAction.create("Maybe", "Later", "1", condition=m.Condition.all_of(
            m.FolderCondition.create("C:\\Temp"))),
        m.RunCommandLineAction.create("Uses later", "x", condition=m.Condition.all_of(
            m.VariableCondition.create("Later", "equals", "1"))),
    ))
    got = _status(tp.plan(seq, {"Base": "fast"}))
    assert got["Uses mode"][0] == "run"
    assert got["Uses later"][0] == "runtime" and "Maybe" in got["Uses later"][1]


def test_failure_with_continue_on_error_on_the_step_lets_the_group_go_on() -> None:
    got = _status(tp.plan(tx.read_file(DATA / "trycatch.xml"), {}, fail="Step A"))
    assert "fails (simulated)" in got["Try/Setup/Step A"][1]
    assert got["Try/Setup/Step B"][0] == "run"
    # Step B ran and succeeded afterwards, so the error handler does not fire.
    assert got["Catch"][0] == "skip"


def test_failure_stops_the_group_and_the_error_handler_fires() -> None:
    got = _status(tp.plan(tx.read_file(DATA / "trycatch.xml"), {}, fail="Try/Setup/Step B"))
    assert got["Try/Setup/Step C"] == ("skip", "group stopped after failure of Step B")
    assert got["Try/Step D"] == ("skip", "group stopped after failure of Step B")
    assert got["Try"][0] == "run" and "continue on error" in got["Try"][1]
    assert got["Catch"] == ("run", 'condition true: _SMSTSLastActionSucceeded == "false"')
    assert got["Catch/Copy logs"][0] == "run"
    assert got["Finish"][0] == "run"


def test_failure_without_a_catching_group_stops_the_sequence() -> None:
    got = _status(tp.plan(tx.read_file(DATA / "trycatch.xml"), {}, fail="Step E"))
    assert got["After strict"] == ("skip", "task sequence stopped after failure of Step E")


def test_without_failure_the_error_handler_is_skipped() -> None:
    got = _status(tp.plan(tx.read_file(DATA / "trycatch.xml"), {}))
    assert got["Catch"][0] == "skip"
    assert all(status == "run" for path, (status, _) in got.items() if not path.startswith("Catch"))


def test_failing_an_unknown_step_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        tp.plan(tx.read_file(DATA / "trycatch.xml"), {}, fail="Nope")


def test_contract_warns_about_unset_reads_and_unmatched_offers() -> None:
    seq = tx.read_file(DATA / "lab.xml")
    settable = {"OSDComputerName", "OSDUILanguage", "PrestartDeploymentKind", "XApplications01", "OSDBitLocker"}
    offered = {"OSDUILanguage": {"en-US", "de-DE", "fr-FR"}, "PrestartDeploymentKind": {"full", "core"}}
    problems = tp.contract(seq, settable, offered, file="lab.xml")
    text = "\n".join(str(p) for p in problems)
    # %OSDDomainOUName% is read by "Configure agent" and nobody sets it; DriverPack/Memory/IsUEFI are not settable.
    assert "OSDDomainOUName" in text and "Applications/Configure agent" in text
    assert "DriverPack" in text
    # LabSite comes from globalVarList, OSDisk and OSDBitLockerMode are set by steps, _SMSTS* by the engine.
    for quiet in ("LabSite", "OSDBitLockerMode", "_SMSTSInWinPE", "XApplications"):
        assert f"reads {quiet}" not in text and f"list {quiet}" not in text
    # en-US matches no condition (de-DE does; fr-FR only matches a disabled step's like "fr*", still a match).
    assert "OSDUILanguage='en-US'" in text
    assert "'de-DE'" not in text and "'fr-FR'" not in text
    # != "core" matches full; core itself is matched by nothing.
    assert "PrestartDeploymentKind='core'" in text and "'full'" not in text
    assert all(p.file == "lab.xml" for p in problems)


def test_list_variables_need_numbered_values() -> None:
    seq = tx.read_file(DATA / "lab.xml")
    problems = tp.contract(seq, {"XApplications"}, {})
    assert any("XApplications01" in p.message for p in problems)


def test_summary_and_catalog_preview() -> None:
    xml_text = (DATA / "trycatch.xml").read_text()
    entries = tp.preview(xml_text, {})
    summary = tp.summarize(entries)
    assert "Catch/Copy logs" in summary["skip"] and "Finish" in summary["run"]
    assert "Try" not in summary["run"]  # groups are not listed in the summary
