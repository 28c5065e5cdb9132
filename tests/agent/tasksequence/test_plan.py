"""What will run: statuses and reasons, failure simulation with error handlers, and the variable contract."""

from __future__ import annotations

import base64
import codecs
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


def _uses(name: str, variable: str, value: str = "TRUE") -> m.RunCommandLineAction:
    return m.RunCommandLineAction.create(name, "x", condition=m.Condition.all_of(
        m.VariableCondition.create(variable, "equals", value)))


def _dynamic(name: str, rules: str) -> m.Action:
    return m.GenericAction(
        type="SMS_TaskSequence_SetDynamicVariablesAction", name=name, action="OSDSetDynamicVariables.exe",
        variables=(m.Var("OSDSetDynamicVariablesRules", rules, "Rules"),),
    )


def test_set_dynamic_variables_rules_set_known_values_and_conditional_ones_are_runtime() -> None:
    rules = (
        '<Rules><Rule><Variables><Variable Name="Mode" IsSecret="false">fast</Variable></Variables></Rule>'
        '<Rule><condition><expression type="SMS_TaskSequence_VariableConditionExpression">'
        '<variable name="Operator">equals</variable><variable name="Value">3010</variable>'
        '<variable name="Variable">_SMSTSLastActionRetCode</variable></expression></condition>'
        '<Variables><Variable Name="Reboot" IsSecret="false">TRUE</Variable></Variables></Rule>'
        '<Rule><condition><expression type="SMS_TaskSequence_VariableConditionExpression">'
        '<variable name="Operator">equals</variable><variable name="Value">x</variable>'
        '<variable name="Variable">Nope</variable></expression></condition>'
        '<Variables><Variable Name="Never" IsSecret="false">TRUE</Variable></Variables></Rule></Rules>'
    )
    seq = m.Sequence(children=(
        _dynamic("Rules", rules), _uses("Fast", "Mode", "fast"), _uses("Reboot", "Reboot"),
        _uses("Never", "Never"),
    ))
    got = _status(tp.plan(seq, {}))
    assert got["Fast"][0] == "run"  # a rule without a condition: the value is known
    assert got["Reboot"][0] == "runtime" and "may be set by Rules" in got["Reboot"][1]  # the engine's return code
    assert got["Never"][0] == "skip"  # the rule's condition is false here: Never stays unset


def test_a_powershell_output_variable_and_script_assignments_are_runtime() -> None:
    script = '$tsenv = New-Object -COMObject Microsoft.SMS.TSEnvironment\n$tsenv.Value("Model") = "x"\n'
    encoded = base64.b64encode(codecs.BOM_UTF16_LE + script.encode("utf-16-le")).decode()
    step = m.GenericAction(
        type="SMS_TaskSequence_RunPowerShellScriptAction", name="Probe", action="OSDRunPowerShellScript.exe",
        variables=(m.Var("OSDRunPowerShellScriptOutputVariableName", "Out", "OutputVariableName"),
                   m.Var("OSDRunPowerShellScriptSourceScript", encoded, "SourceScript")),
    )
    seq = m.Sequence(children=(step, _uses("Uses out", "Out"), _uses("Uses model", "Model", "x")))
    got = _status(tp.plan(seq, {}))
    assert got["Uses out"][0] == "runtime" and "output variable" in got["Uses out"][1]
    assert got["Uses model"][0] == "runtime" and "assigns it through the TS environment" in got["Uses model"][1]
    # Given values settle what they name, whatever the script does.
    given = _status(tp.plan(seq, {"Out": "TRUE", "Model": "y"}))
    assert given["Uses out"][0] == "run" and given["Uses model"][0] == "skip"


def test_mdt_gather_makes_every_variable_not_given_runtime() -> None:
    gather = m.GenericAction(type="BDD_Gather", name="Gather", action='cscript.exe "%SCRIPTROOT%\\ZTIGather.wsf"')
    seq = m.Sequence(children=(
        m.SetVariableAction.create("Pick", "Before", "TRUE"), gather,
        _uses("Uses before", "Before"), _uses("Uses given", "IsUEFI", "True"),
        m.SetVariableAction.create("Again", "Before", "TRUE"), _uses("Uses again", "Before"),
    ))
    got = _status(tp.plan(seq, {"IsUEFI": "True"}))
    assert got["Uses before"][0] == "runtime" and "may be set by Gather (MDT Gather" in got["Uses before"][1]
    assert got["Uses given"][0] == "run"
    assert got["Uses again"][0] == "run"  # set for sure after Gather


def test_engine_variables_are_decided_on_the_machine_unless_given() -> None:
    seq = m.Sequence(children=(_uses("In PE", "_SMSTSInWinPE", "true"),))
    assert _status(tp.plan(seq, {}))["In PE"][0] == "runtime"
    assert _status(tp.plan(seq, {"_SMSTSInWinPE": "false"}))["In PE"][0] == "skip"


def test_fail_names_a_step_by_path_or_index_and_refuses_an_ambiguous_name() -> None:
    seq = m.Sequence(children=(
        m.Group("A", children=(m.RunCommandLineAction.create("Restart", "x"),)),
        m.Group("B", children=(m.RunCommandLineAction.create("Restart", "x"),)),
    ))
    with pytest.raises(UsageError) as info:
        tp.plan(seq, {}, fail="Restart")
    assert "2 steps have that name" in str(info.value) and "2: A/Restart" in str(info.value)
    assert "path or its index" in info.value.hint
    by_path = _status(tp.plan(seq, {}, fail="B/Restart"))
    assert "fails" in by_path["B/Restart"][1] and "fails" not in by_path["A/Restart"][1]
    by_index = tp.plan(seq, {}, fail="2")
    assert [e.index for e in by_index if "fails" in e.reason] == [2]
    with pytest.raises(UsageError, match="no step has index 3"):
        tp.plan(seq, {}, fail="3")  # index 3 is group B


def test_contract_is_quiet_about_variables_steps_write() -> None:
    seq = m.Sequence(children=(
        m.GenericAction(type="SMS_TaskSequence_RunPowerShellScriptAction", name="Probe",
                        variables=(m.Var("OSDRunPowerShellScriptOutputVariableName", "Out", "OutputVariableName"),)),
        m.GenericAction(type="SMS_TaskSequence_DownloadPackageContentAction", name="Download",
                        variables=(m.Var("OSDDownloadDestinationVariable", "Pkg", "DestinationVariable"),)),
        _uses("Uses out", "Out"),
        m.RunCommandLineAction.create("Run it", "%Pkg01%\\setup.exe"),
        _uses("Uses unknown", "Mystery"),
    ))
    text = "\n".join(str(p) for p in tp.contract(seq, set(), {}))
    assert "reads Mystery" in text
    assert "reads Out" not in text and "Pkg01" not in text


def test_a_hidden_set_variable_value_is_never_known() -> None:
    hidden = m.SetVariableAction.create("Secret", "Key", "AAEAAAD/////encrypted").with_setting(
        "DoNotShowVariableValue", "true")
    seq = m.Sequence(children=(hidden, _uses("Uses key", "Key", "AAEAAAD/////encrypted")))
    status, reason = _status(tp.plan(seq, {}))["Uses key"]
    assert status == "runtime" and "hidden value" in reason


def test_a_step_that_surely_sets_a_given_variable_wins_from_there_on() -> None:
    seq = m.Sequence(children=(
        _uses("Before", "Mode", "given"),
        m.SetVariableAction.create("Set mode", "Mode", "fixed"),
        _uses("After", "Mode", "fixed"),
    ))
    got = _status(tp.plan(seq, {"Mode": "given"}))
    assert (got["Before"][0], got["After"][0]) == ("run", "run")


def test_contract_hints_that_mdt_gather_may_set_a_variable() -> None:
    gather = m.GenericAction(type="BDD_Gather", name="Gather", action='cscript.exe "%SCRIPTROOT%\\ZTIGather.wsf"')
    seq = m.Sequence(children=(gather, _uses("Uses it", "Mystery")))
    (problem,) = tp.contract(seq, set(), {})
    assert "reads Mystery" in problem.message and "Gather (MDT Gather" in problem.hint


def test_contract_warns_about_a_read_before_the_step_that_sets_it() -> None:
    seq = m.Sequence(children=(
        _uses("Too early", "Mode"),
        m.SetVariableAction.create("Set mode", "Mode", "fixed"),
        _uses("After", "Mode"),
    ))
    (problem,) = tp.contract(seq, set(), {})
    assert problem.path == "Too early" and "reads Mode" in problem.message and "earlier step" in problem.message
    assert tp.contract(seq, {"Mode"}, {}) == []  # the profile sets it before the sequence starts
