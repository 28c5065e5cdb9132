"""`prestart import uipp`: UI++ pages, TSVars and conditions; the headless run against hand-worked results."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.importers.helpers import REALWORLD, check, corpus, headless, import_profile, write
from tests.conftest import run_prestart

# Written for these tests, in the shapes the corpus uses.
UIPP = """\
<?xml version="1.0" encoding="utf-8"?>
<UIpp Title="Lab build" Color="#1C252C">
  <Actions>
    <Action Type="DefaultValues" ValueTypes="Asset,VM"/>
    <Action Type="ExternalCall">PowerShell.exe -File .\\GetName.ps1</Action>
    <Action Type="WMIRead" Variable="BiosSerial" Namespace="root\\cimv2" Class="Win32_BIOS" Property="SerialNumber"/>
    <Action Type="TSVar" Name="PowerState" Condition='"%XOnBattery%" = "True"'>"battery"'</Action>
    <Action Type="TSVar" Name="PowerState" Condition='"%XOnBattery%" = "False"'>"mains"'</Action>
    <Action Type="Preflight" Title="Checks">
      <Check Text="At least 4 GB" CheckCondition='%XHWMemory% &gt;= 4000' />
    </Action>
    <Action Type="Input" Name="Setup" Title="Setup for %XHWModel%">
      <TextInput Prompt="Name" Question="Computer name" Variable="ZZName" RegEx="[A-Z]{2}-[0-9]{4}" Hint="XX-0000"/>
      <ChoiceInput Variable="MyLocation" Question="Location" Required="True" Default="Grand Rapids">
        <Choice Option="Ottawa"/>
        <Choice Option="Grand Rapids" Value="GrandRapids"/>
      </ChoiceInput>
      <CheckboxInput Variable="ExtraLogging" Question="Extra logging" CheckedValue="True" UncheckedValue="False"/>
    </Action>
    <Action Type="Info" Name="Remote" Title="Remote" Condition='"%MyLocation%" = "Ottawa"'>Slower.</Action>
    <Action Type="TSVar" Name="OSDDomainOUName" Condition='"%MyLocation%" = "Ottawa"'>"OU=Ottawa,DC=corp"'</Action>
    <Action Type="TSVar" Name="OSDDomainOUName" Condition='"%MyLocation%" = "GrandRapids"'>"OU=GR,DC=corp"'</Action>
    <Action Type="TSVar" Name="OSDComputerName">"%ZZName%"</Action>
    <Action Type="TSVar" Name="Initials"><![CDATA[Left("%ZZName%",2)]]></Action>
    <Action Type="TSVar" Variable="Note" DontEval="True">built by UI++ for %XHWModel%</Action>
  </Actions>
</UIpp>
"""


def _run(tmp_path: Path, answers: dict[str, object], facts: dict[str, str]) -> tuple[dict[str, str], str]:
    source = write(tmp_path, "UI++.xml", UIPP)
    profile, report = import_profile(tmp_path, "uipp", source)
    catalog = profile.with_name("profile.catalog.json")
    check(profile, catalog)
    return headless(tmp_path, profile, facts, answers, catalog=catalog), report


def test_choices_set_what_the_tsvars_set(tmp_path: Path) -> None:
    variables, report = _run(tmp_path, {"zzname": "OT-0001", "mylocation": "Ottawa"},
                             {"Memory": "8192", "IsOnBattery": "False", "Model": "Latitude 7440",
                              "SerialNumber": "8XK2HL3"})
    # By hand, as UI++ runs the actions in order: mains power; the page's answers; the Ottawa OU; the name.
    assert variables == {
        "BiosSerial": "8XK2HL3",
        "PowerState": "mains",
        "ZZName": "OT-0001",
        "MyLocation": "Ottawa",
        "OSDDomainOUName": "OU=Ottawa,DC=corp",
        "ExtraLogging": "False",
        "OSDComputerName": "OT-0001",
        "Note": "built by UI++ for Latitude 7440",
    }
    assert "UI++.xml:5: Action Type=ExternalCall" in report
    assert 'UI++.xml:24: TSVar Initials = Left("%ZZName%",2)' in report


def test_the_default_choice_is_the_option_text(tmp_path: Path) -> None:
    variables, _ = _run(tmp_path, {"zzname": "GR-0002"}, {"Memory": "8192", "IsOnBattery": "True"})
    assert variables["MyLocation"] == "GrandRapids"
    assert variables["OSDDomainOUName"] == "OU=GR,DC=corp"
    assert variables["PowerState"] == "battery"


def test_the_preflight_check_and_the_regex_hold(tmp_path: Path) -> None:
    source = write(tmp_path, "UI++.xml", UIPP)
    profile, _ = import_profile(tmp_path, "uipp", source)
    catalog = profile.with_name("profile.catalog.json")
    facts = tmp_path / "facts.json"
    facts.write_text('{"Memory": "2048"}', encoding="utf-8")
    answers = tmp_path / "a.yaml"
    answers.write_text('{"zzname": "OT-0001"}', encoding="utf-8")
    args = ("run", "--profile", str(profile), "--catalog", str(catalog), "--facts", str(facts), "--answers",
            str(answers), "--unattended", "--sink", f"json:{tmp_path / 'out.json'}", "--log-dir", str(tmp_path))
    done = run_prestart(*args)
    assert done.returncode == 21 and "At least 4 GB" in done.stderr  # less than 4000 MB: the check fails
    facts.write_text('{"Memory": "8192"}', encoding="utf-8")
    answers.write_text('{"zzname": "lowercase"}', encoding="utf-8")
    done = run_prestart(*args)
    assert done.returncode == 13 and "XX-0000" in done.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_file_that_is_not_well_formed_names_its_line(tmp_path: Path) -> None:
    source = write(tmp_path, "UI++.xml", UIPP + "OSDDomainOUName\n")
    out = tmp_path / "profile.yaml"
    done = run_prestart("import", "uipp", str(source), "-o", str(out))
    assert done.returncode == 13
    assert f"{source}: line 28, column 1: not well-formed XML" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


UIPP_FILES = corpus("uipp", "*.xml")
BROKEN = "gwblok+garytown__DEMOS__UI++.xml"  # text after </UIpp>, as found in its repository


@pytest.mark.parametrize("path", [p for p in UIPP_FILES if p.name != BROKEN], ids=lambda p: p.name)
def test_every_corpus_file_imports_and_passes_check(tmp_path: Path, path: Path) -> None:
    profile, _ = import_profile(tmp_path, "uipp", path)
    catalog = profile.with_name("profile.catalog.json")
    check(profile, catalog if catalog.exists() else None)


@pytest.mark.skipif(not (REALWORLD / "uipp").is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_broken_file_is_refused_with_its_line(tmp_path: Path) -> None:
    done = run_prestart("import", "uipp", str(REALWORLD / "uipp" / BROKEN), "-o", str(tmp_path / "p.yaml"))
    assert done.returncode == 13
    assert "line 80, column 1: not well-formed XML (junk after document element)" in done.stderr


@pytest.mark.skipif(not (REALWORLD / "uipp").is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_sigvaris_location_sets_language_keyboard_and_time_zone(tmp_path: Path) -> None:
    profile, _ = import_profile(tmp_path, "uipp", REALWORLD / "uipp" / "sigvaris-group+W11-OSD__UI++.xml")
    catalog = profile.with_name("profile.catalog.json")
    answers = {"osdcomputername": "SIG-0001", "osdlanguage": "de-DE", "osdlocation": "SIDEME"}
    # By hand from the TSVars with Condition "%OSDLocation%" = "SIDEME", and the AlternateValue attributes.
    assert headless(tmp_path, profile, {}, answers, catalog=catalog) == {
        "OSDComputerName": "SIG-0001",
        "OSDLanguage": "de-DE",
        "AVAROSDLanguage": "German",
        "OSDLocation": "SIDEME",
        "AVARSOSDLocation": "SIDEME - Memmingen",
        "OSDDisplayLanguage": "de-DE",
        "OSDGeoID": "94",
        "OSDKeyboard": "de-DE",
        "OSDKeyboardLocale": "0407:00000407",
        "OSDLanguagePack": "Language.Basic~~~de-DE~0.0.1.0",
        "OSDTimeZone": "W. Europe Standard Time",
        "OSDDomainJoin": "No",
    }
