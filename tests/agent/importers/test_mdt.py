"""`prestart import mdt`: the headless run sets what MDT's Gather would, worked out by hand from each INI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.importers.helpers import REALWORLD, check, corpus, headless, import_profile, write
from tests.conftest import run_prestart

# Written for these tests: every rule of ZTIGather.wsf (8456) that changes a result is exercised once.
RULES_INI = """\
[Settings]
Priority=ByLaptop, DefaultGateway, Model, Make, Default
Properties=Site, Apps(*)

[ByLaptop]
Subsection=Laptop-%IsLaptop%

[Laptop-True]
Apps001=VPN Client
OSDComputerName=LT-%SerialNumber%

[Laptop-False]
Apps001=Desk Tools

[DefaultGateway]
10.1.0.1=Chicago
10.2.0.1=London

[Chicago]
UserExit=Location.vbs
Site=CHI
TimeZoneName=Central Standard Time
Apps001=Chicago Printers
Apps002=VPN Client
MachineObjectOU=OU=Chicago,DC=corp,DC=example

[London]
Site=LON
OSDComputerName=%Site%-%SerialNumber%
TimeZoneName=GMT Standard Time
MachineObjectOU=OU=London,DC=corp,DC=example

[Latitude 7490]
DriverGroup001=Dell\\Latitude 7490
Apps001=Dell Command Update

[Dell Inc.]
DriverGroup001=Dell\\Common
TimeZoneName=Eastern Standard Time

[Default]
OSDComputerName=PC-%SerialNumber%
ComputerName=%Site%-%AssetTag%
TimeZoneName=Pacific Standard Time
TimeZoneName=Mountain Standard Time
JoinDomain=corp.example
DomainAdmin=joiner
DomainAdminDomain=CORP
DomainAdminPassword=hunter2
Apps001=7-Zip
Apps002=VPN Client
Apps004=Never Read
Colour=Blue
SkipWizard=YES
"""


def test_a_laptop_in_chicago(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", RULES_INI)
    profile, report = import_profile(tmp_path, "mdt", ini)
    check(profile)
    facts = {"Make": "Dell Inc.", "Model": "Latitude 7490", "IsLaptop": "True", "SerialNumber": "ABC1234",
             "AssetTag": "A77", "DefaultGateway001": "10.1.0.1"}
    # By hand: [ByLaptop] -> [Laptop-True]; gateway 10.1.0.1 -> [Chicago]; [Latitude 7490]; [Dell Inc.]; [Default].
    # The first value found wins; Apps and DriverGroup gather values in that order, each once; Apps004 is
    # never read (Apps003 is missing); RemapVariables turns JoinDomain and its friends into OSD* variables.
    assert headless(tmp_path, profile, facts) == {
        "OSDComputerName": "LT-ABC1234",
        "Apps001": "VPN Client",
        "MachineObjectOU": "OU=Chicago,DC=corp,DC=example",
        "TimeZoneName": "Central Standard Time",
        "Site": "CHI",
        "Apps002": "Chicago Printers",
        "DriverGroup001": "Dell\\Latitude 7490",
        "Apps003": "Dell Command Update",
        "DriverGroup002": "Dell\\Common",
        "ComputerName": "CHI-A77",
        "JoinDomain": "corp.example",
        "DomainAdmin": "joiner",
        "DomainAdminDomain": "CORP",
        "SkipWizard": "YES",
        "Apps004": "7-Zip",
        "OSDNetworkJoinType": "0",
        "OSDDomainName": "corp.example",
        "OSDJoinAccount": "CORP\\joiner",
        "OSDDomainOUName": "OU=Chicago,DC=corp,DC=example",
    }
    # What did not carry over is in the report, with its line; the password is in neither file.
    assert "CustomSettings.ini:20: [Chicago] UserExit=Location.vbs" in report
    assert "CustomSettings.ini:49: DomainAdminPassword=(secret, not shown)" in report
    assert "CustomSettings.ini:53: [Default] Colour=Blue" in report
    for text in (report, profile.read_text(encoding="utf-8")):
        assert "hunter2" not in text


def test_a_desktop_in_london_meets_the_property_order(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", RULES_INI)
    profile, _ = import_profile(tmp_path, "mdt", ini)
    facts = {"Make": "LENOVO", "Model": "20L8S02D00", "IsLaptop": "False", "SerialNumber": "PF1XYZ",
             "DefaultGateway001": "10.9.0.1", "DefaultGateway002": "10.2.0.1"}
    # By hand: [Laptop-False]; the second gateway -> [London], where Gather reads OSDComputerName (a ZTIGather.xml
    # property) before Site (declared in Properties=), so %Site% is still unset and stays as written. In
    # [Default], %AssetTag% is empty and stays too. No section is named 20L8S02D00 or LENOVO.
    assert headless(tmp_path, profile, facts) == {
        "Apps001": "Desk Tools",
        "MachineObjectOU": "OU=London,DC=corp,DC=example",
        "OSDComputerName": "%Site%-PF1XYZ",
        "TimeZoneName": "GMT Standard Time",
        "Site": "LON",
        "ComputerName": "LON-%AssetTag%",
        "JoinDomain": "corp.example",
        "DomainAdmin": "joiner",
        "DomainAdminDomain": "CORP",
        "SkipWizard": "YES",
        "Apps002": "7-Zip",
        "Apps003": "VPN Client",
        "OSDNetworkJoinType": "0",
        "OSDDomainName": "corp.example",
        "OSDJoinAccount": "CORP\\joiner",
        "OSDDomainOUName": "OU=London,DC=corp,DC=example",
    }


def test_priority_on_a_property_and_a_section_named_like_it(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", """\
[Settings]
Priority=SerialNumber, Model, Default

[0012]
OSDComputerName=SERIAL-0012

[Model]
OSDComputerName=NO-MODEL

[Default]
OSDComputerName=DEFAULT
SkipWizard=YES
""")
    profile, _ = import_profile(tmp_path, "mdt", ini)
    # Section names compare as text: serial 12 does not read [0012]; an empty Model reads the section [Model].
    assert headless(tmp_path, profile, {"SerialNumber": "12"})["OSDComputerName"] == "NO-MODEL"
    assert headless(tmp_path, profile, {"SerialNumber": "0012"})["OSDComputerName"] == "SERIAL-0012"
    assert headless(tmp_path, profile, {"SerialNumber": "9", "Model": "X1"})["OSDComputerName"] == "DEFAULT"


def test_bootstrap_first_then_the_wizard_panes_as_pages(tmp_path: Path) -> None:
    boot = write(tmp_path, "Bootstrap.ini", "[Settings]\nPriority=Default\n\n[Default]\nDeployRoot=\\\\srv\\ds$\n"
                 "KeyboardLocale=de-DE\nSkipBDDWelcome=YES\n")
    cs = write(tmp_path, "CustomSettings.ini", "[Settings]\nPriority=Default\n\n[Default]\nKeyboardLocale=en-US\n"
               "SkipComputerName=NO\nSkipDomainMembership=YES\nSkipLocaleSelection=YES\nSkipTimeZone=YES\n"
               "SkipApplications=YES\nSkipAdminPassword=YES\nSkipProductKey=YES\nSkipCapture=YES\n"
               "SkipBitLocker=YES\nSkipTaskSequence=YES\nSkipUserData=YES\nSkipComputerBackup=YES\n"
               "SkipRoles=YES\nSkipSummary=NO\n")
    profile, _ = import_profile(tmp_path, "mdt", cs, boot)
    check(profile)
    variables = headless(tmp_path, profile, {}, {"computer-name": "LAB-01", "summary": True})
    assert variables["KeyboardLocale"] == "de-DE"  # Bootstrap.ini is read first and its value stays
    assert variables["DeployRoot"] == "\\\\srv\\ds$"
    assert variables["OSDComputerName"] == "LAB-01"  # the Computer Details pane became a page
    text = profile.read_text(encoding="utf-8")
    assert "id: computer-name" in text and "type: confirm" in text and "id: join-domain" not in text


def test_no_priority_is_a_clear_error(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", "[Settings]\nProperties=X\n\n[Default]\nOSInstall=Y\n")
    out = tmp_path / "profile.yaml"
    done = run_prestart("import", "mdt", str(ini), "-o", str(out))
    assert done.returncode == 13
    assert f"{ini}: [Settings] has no Priority= line" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob("*.import-report.txt"))


# -- the corpus (../shared/realworld/customsettings) -------------------------------------------------

CS = REALWORLD / "customsettings"


def _pair(path: Path) -> list[Path]:
    boot = Path(str(path).replace("CustomSettings_DC01.ini", "Bootstrap.ini").replace("CustomSettings.ini",
                                                                                       "Bootstrap.ini"))
    return [path, boot] if boot.exists() and boot != path else [path]


@pytest.mark.parametrize("path", corpus("customsettings", "*CustomSettings*.ini"), ids=lambda p: p.name)
def test_every_corpus_file_imports_and_passes_check(tmp_path: Path, path: Path) -> None:
    profile, report = import_profile(tmp_path, "mdt", *_pair(path))
    check(profile)
    assert "P@ssw0rd" not in profile.read_text(encoding="utf-8") + report


@pytest.mark.skipif(not CS.is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_arthurjdurand_with_its_bootstrap(tmp_path: Path) -> None:
    name = "ArthurJDurand+MDT-TS-and-Scripts__DeploymentShare__Control__"
    profile, report = import_profile(tmp_path, "mdt", CS / f"{name}CustomSettings.ini", CS / f"{name}Bootstrap.ini")
    # By hand: Bootstrap.ini's [Default] first (KeybordLocale is misspelt, so MDT ignores it; the password never
    # reaches the profile), then CustomSettings.ini's [Default]. The Skip keys under [Settings] are ignored:
    # MDT reads only Priority and Properties there. SkipBDDWelcome=NO leaves an info page, nothing to answer.
    assert headless(tmp_path, profile, {"Make": "HP", "Model": "EliteBook 840 G8"}) == {
        "DeployRoot": "\\\\SERVER\\DeploymentShare$",
        "UserID": "Network User",
        "UserDomain": "server.local",
        "SkipBDDWelcome": "NO",
        "DeploymentType": "NEWCOMPUTER",
        "OSInstall": "Y",
        "DoCapture": "NO",
        "FinishAction": "SHUTDOWN",
        "HideShell": "YES",
        "SkipCapture": "YES",
        "SkipAdminPassword": "YES",
        "SkipApplications": "NO",
        "SkipDomainMembership": "YES",
        "SkipComputerName": "YES",
        "SkipDeploymentType": "YES",
        "SkipUserData": "YES",
        "SkipLocaleSelection": "YES",
        "SkipProductKey": "YES",
        "SkipSummary": "YES",
        "SkipTimeZone": "YES",
        "SkipTaskSequence": "NO",
        "SkipBitLocker": "YES",
    }
    assert f"{name}Bootstrap.ini:7: [Default] KeybordLocale=en-US" in report
    assert f"{name}Bootstrap.ini:10: UserPassword=(secret, not shown)" in report
    assert f"{name}CustomSettings.ini:5: [Settings] SkipTaskSequence" in report
    assert "CustomSettings.ini:26: SkipApplications=NO" in report and "Applications pane" in report


@pytest.mark.skipif(not CS.is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_sbennell_lists_and_first_values(tmp_path: Path) -> None:
    profile, report = import_profile(tmp_path, "mdt", CS / "sbennell+MDT__Control__CustomSettings.ini")
    variables = headless(tmp_path, profile, {"Make": "Dell Inc.", "Model": "OptiPlex 7080"},
                         {"computer-name": "BIT-0001", "summary": True})
    # By hand: the twelve WUMU_ExcludeKB values in order; the two _SMSTS* lines cannot be set by a step.
    assert [variables[f"WUMU_ExcludeKB{i:03d}"] for i in range(1, 13)] == [
        "3068708", "3022345", "3075249", "3080149", "2952664", "2990214",
        "3035583", "2889923", "3106614", "3126036", "4023307", "4481252",
    ]
    assert "WUMU_ExcludeKB013" not in variables
    assert {k: variables[k] for k in ("Home_Page", "UserLocale", "UILanguage", "KeyboardLocale", "TimeZone",
                                      "TimeZoneName", "SkipCapture", "SkipTimeZone", "OSDComputerName")} == {
        "Home_Page": "https://www.google.com.au",
        "UserLocale": "en-AU",
        "UILanguage": "en-AU",
        "KeyboardLocale": "en-US",
        "TimeZone": "255",
        "TimeZoneName": "AUS Eastern Standard Time",
        "SkipCapture": "NO",
        "SkipTimeZone": "YES",
        "OSDComputerName": "BIT-0001",
    }
    assert "_SMSTSOrgName" not in variables
    assert "sbennell+MDT__Control__CustomSettings.ini:7: _SMSTSPackageName=%TaskSequenceName%" in report


@pytest.mark.skipif(not CS.is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_powershellcrack_first_duplicate_wins(tmp_path: Path) -> None:
    ini = CS / "PowerShellCrack+MDTTSSimulator__CustomSettings.mdtsample.ini"
    profile, report = import_profile(tmp_path, "mdt", ini)
    answers = {"computer-name": "SIM-01", "summary": True}
    variables = headless(tmp_path, profile, {"SerialNumber": "5CG1234"}, answers)
    # By hand: SkipApplications=YES (line 31) comes before SkipApplications=NO (line 35): ReadIni takes the first.
    # %Prefix% and %SERIAL% are no properties, so the value stays as written; empty values (AreaCode=) set nothing.
    assert variables["SkipApplications"] == "YES"
    assert variables["ComputerName"] == "%Prefix%-%SERIAL%"
    assert "AreaCode" not in variables and "ContryCode" not in variables
    assert variables["KeyboardLocale"] == "0409:00000409"
    assert "AdminPassword" not in variables
    assert ":45: [Default] ContryCode=" in report


def test_priority_on_mac_addresses_and_a_custom_list(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", """\
[Settings]
Priority=MACAddress, Role, Default
Properties=Role(*)

[00:15:5D:01:02:03]
OSDComputerName=KIOSK-01
Role001=Kiosk

[Kiosk]
Applications001=Kiosk Browser

[Default]
Role001=Office
Applications001=Office
SkipWizard=YES
""")
    profile, _ = import_profile(tmp_path, "mdt", ini)
    check(profile)
    # By hand: the second adapter's MAC names a section, which adds the role Kiosk; Role is processed next with
    # that one value, so [Kiosk] is read; [Default] adds the role Office (no [Office] is ever read: Role came
    # before Default) and one more application.
    facts = {"MacAddress001": "00:15:5D:AA:BB:CC", "MacAddress002": "00:15:5D:01:02:03"}
    assert headless(tmp_path, profile, facts) == {
        "OSDComputerName": "KIOSK-01",
        "Role001": "Kiosk",
        "Applications001": "Kiosk Browser",
        "Role002": "Office",
        "Applications002": "Office",
        "SkipWizard": "YES",
    }
    assert headless(tmp_path, profile, {"MacAddress001": "00:15:5D:AA:BB:CC"}) == {
        "Role001": "Office",
        "Applications001": "Office",
        "SkipWizard": "YES",
    }


def test_the_source_is_never_overwritten(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.yaml", "[Settings]\nPriority=Default\n\n[Default]\nOSInstall=Y\n")
    before = ini.read_bytes()
    done = run_prestart("import", "mdt", str(ini), "-o", str(ini))
    assert done.returncode == 87 and "would be overwritten" in done.stderr
    assert ini.read_bytes() == before


def test_a_list_value_from_a_template_is_added_once(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", """\
[Settings]
Priority=Model, Default

[X1]
Packages001=PKG00001:Install
Packages002=PKG00002:Install

[Default]
Packages001=DRV-%Model%:Install
SkipWizard=YES
""")
    profile, _ = import_profile(tmp_path, "mdt", ini)
    # By hand: [X1] adds two packages, then [Default] adds the driver package for the model as the third.
    assert headless(tmp_path, profile, {"Model": "X1"}) == {
        "Packages001": "PKG00001:Install", "Packages002": "PKG00002:Install", "Packages003": "DRV-X1:Install",
        "SkipWizard": "YES",
    }
    assert headless(tmp_path, profile, {"Model": "T14"}) == {"Packages001": "DRV-T14:Install", "SkipWizard": "YES"}


def test_simple_vbscript_functions_become_filters(tmp_path: Path) -> None:
    ini = write(tmp_path, "CustomSettings.ini", """\
[Settings]
Priority=Init, ByLaptop, Default
Properties=ShortSerial, Prefix

[Init]
ShortSerial=#Right("%SerialNumber%",9)#
OrgName=#UCase("%Make%")#
FullName=#Replace("%Model%", " ", "")#

[ByLaptop]
Subsection=Laptop-%IsLaptop%

[Laptop-True]
Prefix=NTB

[Default]
OSDComputerName=%Prefix%-%ShortSerial%
SkipWizard=YES
""")
    profile, report = import_profile(tmp_path, "mdt", ini)
    # By hand: Right of the last 9 characters; UCase of Make; Replace(...) is reported and sets nothing. When the
    # serial is empty, Gather leaves %SerialNumber% in place before Right() runs, so 9 characters of that remain.
    assert headless(tmp_path, profile, {"SerialNumber": "ABCD1234567", "Make": "Dell Inc.", "IsLaptop": "True"}) == {
        "OrgName": "DELL INC.", "ShortSerial": "CD1234567", "Prefix": "NTB", "OSDComputerName": "NTB-CD1234567",
        "SkipWizard": "YES",
    }
    assert headless(tmp_path, profile, {"IsLaptop": "False"})["ShortSerial"] == "alNumber%"
    assert 'CustomSettings.ini:8: FullName=#Replace("%Model%", " ", "")#' in report


def test_a_value_the_task_sequence_already_has_stays(tmp_path: Path) -> None:
    from agent.flow import Flow
    from agent.profile import load_profile

    ini = write(tmp_path, "CustomSettings.ini", "[Settings]\nPriority=Default\n\n[Default]\n"
                "OSDComputerName=PC-%SerialNumber%\nDeployRoot=\\\\new\\ds$\nSkipWizard=YES\n")
    profile, _ = import_profile(tmp_path, "mdt", ini)
    flow = Flow(load_profile(profile), None, {"SerialNumber": "S1"},
                engine={"OSDComputerName": "FROM-TS", "DeployRoot": "\\\\old\\ds$"})
    # Gather sets a property only while it is empty, except its overwrite properties such as DeployRoot.
    assert flow.base.vars.lookup("OSDComputerName") == "FROM-TS"
    assert flow.base.vars.lookup("DeployRoot") == "\\\\new\\ds$"
