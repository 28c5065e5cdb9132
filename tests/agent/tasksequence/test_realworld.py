"""Task sequences nobody here wrote (../shared/realworld): lossless round trips, a plan for every step, exports
read directly, and plans a person worked out by reading the XML.

The corpus is outside the repository; these tests run where it is present (as in CI) and collect nothing
otherwise. The expected plans below were worked out from the XML by hand, not copied from the planner.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.tasksequence import cli, exports
from agent.tasksequence import plan as tp
from agent.tasksequence import xml as tx

REALWORLD = Path(__file__).resolve().parents[3] / ".." / "shared" / "realworld"
SPEC = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec"
TS = sorted((REALWORLD / "ts").glob("*.xml")) if REALWORLD.is_dir() else []
ZIPS = sorted((REALWORLD / "ts-exports").glob("*.zip")) if REALWORLD.is_dir() else []
STATUSES = {tp.RUN, tp.SKIP, tp.RUNTIME}


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@pytest.mark.parametrize("path", TS, ids=_ids(TS))
def test_normalizing_keeps_the_document_and_is_stable(path: Path) -> None:
    source = path.read_bytes()
    once = tx.write_document(tx.read_document(source, file=path.name))
    assert tx.difference(source, once) is None
    assert tx.read(once) == tx.read(source)
    assert tx.write_document(tx.read_document(once)) == once  # normalizing twice: identical bytes
    prolog = tx.read(source).prolog
    if source.startswith(b"<?xml"):
        assert once.startswith(prolog.declaration.encode())  # type: ignore[union-attr]
    assert (b"\r\n" in once) == (b"\r\n" in source)


@pytest.mark.parametrize("path", TS, ids=_ids(TS))
def test_every_step_and_group_has_a_plan(path: Path) -> None:
    sequence = tx.read_file(path)
    nodes = [p for p, _ in sequence.walk()]
    facts = json.loads((SPEC / "facts" / "laptop.json").read_text())
    for values in ({}, facts):
        entries = tp.plan(sequence, values)
        assert [e.path for e in entries] == nodes
        assert [e.index for e in entries] == list(range(1, len(nodes) + 1))
        assert {e.status for e in entries} <= STATUSES
        assert all(e.reason for e in entries)
        for entry in entries:
            if entry.status == tp.RUNTIME:
                assert entry.reason.startswith(("decided at run time", "inside group")), entry


@pytest.mark.parametrize("path", ZIPS, ids=_ids(ZIPS))
def test_exports_are_read_directly_and_planned(path: Path) -> None:
    found = exports.read_zip(path)
    assert found
    for exported in found:
        assert exported.package_id and exported.name
        entries = tp.plan(exported.sequence, {})
        assert len(entries) == sum(1 for _ in exported.sequence.walk())
        # The same sequence, extracted by hand, is in ts/ (SOURCES.txt): the export reads to the same model.
        twins = [p for p in TS if p.stem.endswith("__" + exported.package_id)]
        twins += [p for p in TS if p.name.startswith("mdt__garytown__") and f"__{exported.package_id}_ts" in p.name]
        if twins:
            assert tx.read_file(twins[0]).children == exported.sequence.children


needs_corpus = pytest.mark.skipif(not TS, reason="../shared/realworld is not beside the repository")
HPIA = REALWORLD / "ts" / "cm__gwblok__Run_HP_Image_Assistant_-_Updating_Drivers...__MEM00169.xml"
HPIA_ZIP = REALWORLD / "ts-exports" / "hardware_HP_HPIA-RefFileTS_HPIA_Task_Sequence.zip"
PSD = REALWORLD / "ts" / "mdt__PSD__PSDClient.xml"
BITLOCKER = REALWORLD / "ts" / "cm__DeploymentResearch__Child_TS_-_BitLocker__PS100294.xml"
W10_REF = REALWORLD / "ts" / "mdt__MDT-Build__W10ENT-X64-REF_ts.xml"
CONTROL_ZIP = REALWORLD / "ts-exports" / "OSD_CloudOSD_Control.zip"


def _plan_of(path: Path, variables: dict[str, str] | None = None, fail: str | None = None,
             sequence: str | None = None) -> dict[str, str]:
    """path -> status, through the CLI entry point, as `prestart sequence plan` prints it."""
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        given = None
        if variables:
            given = Path(folder) / "variables.json"
            given.write_text(json.dumps(variables), encoding="utf-8")
        cli.cmd_plan(path, None, given, fail, sequence=sequence, out=out)
    return {e["path"]: e["status"] for e in json.loads(out.getvalue())}


# HPIA, read from the XML: "Initialize Variables" (Set Dynamic Variables, rules without conditions) sets
# DownloadHPIAFromInternet=TRUE and UseRefFilePackage=TRUE; "Set UserLoggedOn Variable" is a PowerShell
# script whose output variable is UserLoggedOn; "Set HPIA Exit Info" sets RebootRequired=TRUE only in a
# rule on _SMSTSLastActionRetCode == 3010, which the engine knows after HPIA ran.
HPIA_EXPECTED = {
    "High Impact Additional Notifications": "skip",  # disable="true"
    "Initialize Variables": "run",
    "Create Report Folder Variable": "run",
    "Set UserLoggedOn Variable": "run",
    "Download HPIA from Internet": "run",  # DownloadHPIAFromInternet equals TRUE
    "Download HPIA from DP": "skip",  # ... notEquals TRUE
    "Download Tools": "runtime",  # UserLoggedOn equals TRUE: the script decides
    "Use Pre-Configured Reference Files": "run",
    "Use Pre-Configured Reference Files/Download HPIA Ref Files": "run",
    "Use Pre-Configured Reference Files/Determine Reference File": "run",
    "Build Command Line": "run",
    "Close Software Center": "run",
    "Running Updates - Look for Popup Box for Details": "run",
    "Set HPIA Exit Info": "run",
    "if Restart Required": "runtime",
    "if Restart Required/Disable BitLocker": "runtime",
    "if Restart Required/Restart Computer - 1 Hour Delay": "runtime",
    "User Logged On": "runtime",
    "User Logged On/Disable Progress UI": "runtime",
    "User Logged On/Launch Completed Notification": "runtime",
    "User Logged On/if Restart Required": "runtime",
    "User Logged On/if Restart Required/CM Client Initiate Restart Countdown": "runtime",
}


@needs_corpus
def test_hpia_without_variables() -> None:
    assert _plan_of(HPIA) == HPIA_EXPECTED
    # The export zip holds the same sequence: the same plan.
    assert _plan_of(HPIA_ZIP) == HPIA_EXPECTED


@needs_corpus
def test_hpia_with_a_user_logged_on() -> None:
    expected = dict(HPIA_EXPECTED)
    expected.update({
        "Download Tools": "run",
        "User Logged On": "run",
        "User Logged On/Disable Progress UI": "run",
        "User Logged On/Launch Completed Notification": "run",
        # UserLoggedOn notEquals TRUE is false: the and() is false whatever RebootRequired is.
        "if Restart Required/Restart Computer - 1 Hour Delay": "skip",
    })
    assert _plan_of(HPIA, {"UserLoggedOn": "TRUE"}) == expected


@needs_corpus
def test_hpia_when_the_internet_download_fails() -> None:
    # No continueOnError on the step or any group: the task sequence stops.
    got = _plan_of(HPIA, fail="Download HPIA from Internet")
    names = list(HPIA_EXPECTED)
    after = names[names.index("Download HPIA from Internet") + 1:]
    assert got["Download HPIA from Internet"] == "run"
    assert all(got[path] == "skip" for path in after)
    before = names[: names.index("Download HPIA from Internet")]
    assert {p: got[p] for p in before} == {p: HPIA_EXPECTED[p] for p in before}


@needs_corpus
def test_hpia_when_hpia_itself_fails_the_sequence_goes_on() -> None:
    # "Running Updates ..." has continueOnError="true": the rest is planned as without a failure.
    assert _plan_of(HPIA, fail="Running Updates - Look for Popup Box for Details") == HPIA_EXPECTED


# PSDClient, read from the XML: Gather (ZTIGather.wsf) sets IsUEFI on the machine; the BIOS step runs when
# IsUEFI notEquals True, the UEFI one when it equals True. Both Windows Update passes are disabled.
PSD_COMMON = {
    "Initialization": "run",
    "Initialization/Gather": "run",
    "Initialization/Validate": "run",
    "Install Operating System": "run",
    "Install Operating System/Drivers": "run",
    "Install Operating System/Drivers/Set DriverPath": "run",
    "Install Operating System/Drivers/Set GenericDriverPath": "run",
    "Install Operating System/Drivers/Set FallBackDriverPath": "run",
    "Install Operating System/Drivers/Inject Drivers": "run",
    "Install Operating System/Install Operating System": "run",
    "Install Operating System/Configure": "run",
    "Install Operating System/Restart computer": "run",
    "Setup Operating System": "run",
    "Setup Operating System/Gather": "run",
    "Setup Operating System/Tattoo": "run",
    "Setup Operating System/Windows Update Pass 1": "skip",
    "Setup Operating System/Install Applications": "run",
    "Setup Operating System/Windows Update Pass 2": "skip",
    "Custom Tasks": "run",
    "Custom Tasks/Restart computer": "run",
}


@needs_corpus
def test_psd_client_without_facts_leaves_the_disk_format_to_the_machine() -> None:
    expected = dict(PSD_COMMON)
    expected["Install Operating System/Format and Partition Disk (BIOS)"] = "runtime"
    expected["Install Operating System/Format and Partition Disk (UEFI)"] = "runtime"
    got = _plan_of(PSD)
    assert got == expected
    reason = {e.path: e.reason for e in tp.plan(tx.read_file(PSD), {})}
    uefi = reason["Install Operating System/Format and Partition Disk (UEFI)"]
    assert "IsUEFI may be set by Initialization/Gather" in uefi


@needs_corpus
def test_psd_client_on_a_uefi_laptop() -> None:
    facts = json.loads((SPEC / "facts" / "laptop.json").read_text())  # IsUEFI: True
    expected = dict(PSD_COMMON)
    expected["Install Operating System/Format and Partition Disk (BIOS)"] = "skip"
    expected["Install Operating System/Format and Partition Disk (UEFI)"] = "run"
    assert _plan_of(PSD, facts) == expected


# The BitLocker child sequence: "Check TPM Status" runs ZTICheckforTPM.wsf, which sets TPMEnabled and
# TPMActivated; "Enable BitLocker (ConfigMgr)" needs both TRUE. The MDT and manage-bde variants are disabled.
BITLOCKER_COMMON = {
    "BitLocker": "run",
    "BitLocker/Eject CD/ISO": "run",
    "BitLocker/Check TPM Status": "run",
    "BitLocker/Set XTS AES 256 (Operating System Drive)": "run",
    "BitLocker/Set XTS AES 256 (Fixed Disks)": "run",
    "BitLocker/Set AES-CBC 128 (Removable Drive)": "run",
    "BitLocker/Set XTS AES 256 (Full Disk Encryption)": "run",
    "BitLocker/Enable BitLocker (MDT)": "skip",
    "BitLocker/Enable BitLocker (Manage-bde)": "skip",
    "BitLocker/Restart Computer to start Encryption": "run",
}


@needs_corpus
@pytest.mark.parametrize(
    ("variables", "enable"),
    [
        ({}, "runtime"),
        ({"TPMEnabled": "TRUE", "TPMActivated": "TRUE"}, "run"),
        ({"TPMEnabled": "TRUE", "TPMActivated": "FALSE"}, "skip"),
        ({"TPMEnabled": "FALSE"}, "skip"),  # and(): one false operand decides, TPMActivated does not matter
    ],
)
def test_bitlocker_child_sequence(variables: dict[str, str], enable: str) -> None:
    expected = dict(BITLOCKER_COMMON, **{"BitLocker/Enable BitLocker (ConfigMgr)": enable})
    assert _plan_of(BITLOCKER, variables) == expected


@needs_corpus
def test_bitlocker_when_the_tpm_check_fails() -> None:
    # Check TPM Status has continueOnError="true": the group goes on, and the TPM variables stay unknown.
    expected = dict(BITLOCKER_COMMON, **{"BitLocker/Enable BitLocker (ConfigMgr)": "runtime"})
    assert _plan_of(BITLOCKER, fail="BitLocker/Check TPM Status") == expected


@needs_corpus
def test_mdt_phases_are_decided_at_run_time_unless_given() -> None:
    # Every phase group tests Phase; Gather and each Next Phase (ZTINextPhase.wsf) set it on the machine.
    phases = ["Validation", "State Capture", "Preinstall", "Install", "Postinstall", "State Restore"]
    got = _plan_of(W10_REF)
    assert got["Initialization"] == "run" and got["Initialization/Gather local only"] == "run"
    assert [got[p] for p in phases] == ["runtime"] * len(phases)
    assert got["State Restore/Opt In to CEIP and WER"] == "skip"  # disabled, whatever the phase
    # Given, Phase settles every phase: only the given one runs.
    given = _plan_of(W10_REF, {"Phase": "PREINSTALL", "DeploymentType": "NEWCOMPUTER", "IsUEFI": "True"})
    assert [given[p] for p in phases] == ["skip", "skip", "run", "skip", "skip", "skip"]
    assert given["Preinstall/New Computer only"] == "run"
    assert given["Preinstall/New Computer only/Format and Partition Disk (BIOS)"] == "skip"
    assert given["Preinstall/New Computer only/Format and Partition Disk (UEFI)"] == "run"
    assert given["Preinstall/Refresh only"] == "skip"


@needs_corpus
def test_fail_with_a_repeated_name_needs_the_path_or_index() -> None:
    # OSDCLOUD's Postinstall group has two steps named "Restart computer": the same path twice.
    with pytest.raises(UsageError) as info:
        _plan_of(CONTROL_ZIP, fail="Postinstall/Restart computer", sequence="OSDCLOUD")
    assert "2 steps" in str(info.value) and "index" in info.value.hint
    out = io.StringIO()
    cli.cmd_plan(CONTROL_ZIP, None, None, None, sequence="OSDCLOUD", out=out)
    entries = [e for e in json.loads(out.getvalue()) if e["path"] == "Postinstall/Restart computer"]
    assert len(entries) == 2
    second = _plan_of(CONTROL_ZIP, fail=str(entries[1]["index"]), sequence="OSDCLOUD")
    assert second  # the plan is made; the failing one is marked in its reason
    out = io.StringIO()
    cli.cmd_plan(CONTROL_ZIP, None, None, str(entries[1]["index"]), sequence="OSDCLOUD", out=out)
    marked = [e for e in json.loads(out.getvalue()) if "fails (simulated)" in e["reason"]]
    assert [e["index"] for e in marked] == [entries[1]["index"]]
