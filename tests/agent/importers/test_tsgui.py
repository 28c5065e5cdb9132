"""`prestart import tsgui`: TsGui options, groups and toggles; the headless run against hand-worked results."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.importers.helpers import REALWORLD, check, corpus, headless, import_profile, write

# Written for these tests, in the shapes TsGui's example configurations use.
CONFIG = """\
<TsGui LiveData="TRUE">
  <HardwareEval />
  <Heading><Title>Lab build</Title></Heading>
  <NoUIOption>
    <Variable>BuildTool</Variable>
    <SetValue><Value>TsGui import</Value></SetValue>
  </NoUIOption>
  <Page>
    <Row>
      <Column>
        <GuiOption Type="ComputerName">
          <Validation>
            <MaxLength>12</MaxLength>
            <Valid><Rule Type="StartsWith">LAB-</Rule></Valid>
          </Validation>
        </GuiOption>
        <GuiOption Type="DropDownList">
          <Variable>Site</Variable>
          <Label>Site:</Label>
          <SetValue><Value>AKL</Value></SetValue>
          <Option><Text>Auckland</Text><Value>AKL</Value></Option>
          <Option><Text>Sydney</Text><Value>SYD</Value><Toggle Group="Group_AU"><Hide/></Toggle></Option>
        </GuiOption>
        <GuiOption Type="CheckBox">
          <Variable>Apps</Variable>
          <Label>Applications</Label>
          <Toggle Group="Group_Apps"><Enabled>TRUE</Enabled><Hide/></Toggle>
        </GuiOption>
        <GuiOption Type="FreeText">
          <Variable>Owner</Variable>
          <Label>Owner</Label>
          <SetValue><Query Type="EnvironmentVariable"><Variable>_SMSTSUserName</Variable></Query></SetValue>
        </GuiOption>
        <GuiOption Type="FreeText">
          <Variable>Serial</Variable>
          <SetValue><Query Type="Wmi"><Wql>SELECT BatteryStatus FROM Win32_Battery</Wql></Query></SetValue>
        </GuiOption>
        <GuiOption Type="FreeText">
          <Variable>Tag</Variable>
          <SetValue>
            <Query Type="Wmi">
              <Wql>SELECT SerialNumber FROM Win32_BIOS</Wql>
              <Property Name="SerialNumber"><Truncate Type="KeepFromEnd">4</Truncate><Prefix>PC-</Prefix></Property>
            </Query>
          </SetValue>
        </GuiOption>
        <GuiOption Type="FreeText">
          <Group>Group_AU</Group>
          <Variable>ABN</Variable>
          <Label>ABN</Label>
          <SetValue><Value>none</Value></SetValue>
        </GuiOption>
      </Column>
      <Column>
        <Group>Group_Apps</Group>
        <GuiOption Type="CheckBox"><Variable>Office</Variable><Label>Office</Label><Checked/></GuiOption>
      </Column>
    </Row>
  </Page>
</TsGui>
"""


def test_options_toggles_and_values(tmp_path: Path) -> None:
    source = write(tmp_path, "Config.xml", CONFIG)
    profile, report = import_profile(tmp_path, "tsgui", source)
    check(profile)
    # By hand: BuildTool from the NoUIOption; Owner from the engine variable; Site AKL hides ABN; Apps off hides
    # Office (a hidden option writes nothing, as PurgeInactive does); Serial comes from a WMI class no fact
    # answers, so it starts empty; Tag is Win32_BIOS.SerialNumber (the SerialNumber fact), last 4, prefixed.
    variables = headless(tmp_path, profile, {"SerialNumber": "5CG12345"}, {"osdcomputername": "LAB-001"})
    assert variables == {"BuildTool": "TsGui import", "OSDComputerName": "LAB-001", "Site": "AKL", "Apps": "False",
                         "Tag": "PC-2345"}
    variables = headless(tmp_path, profile, {}, {"osdcomputername": "LAB-002", "site": "SYD", "apps": True,
                                                 "serial": "5CG1", "tag": "PC-X"})
    assert variables == {"BuildTool": "TsGui import", "OSDComputerName": "LAB-002", "Site": "SYD", "Apps": "True",
                         "Serial": "5CG1", "Tag": "PC-X", "ABN": "none", "Office": "True"}
    assert "Config.xml:36: GuiOption FreeText Serial: Query Type=Wmi SELECT BatteryStatus FROM Win32_Battery" in report
    assert "Config.xml:2: <HardwareEval/>" in report


def test_validation_becomes_one_regex(tmp_path: Path) -> None:
    source = write(tmp_path, "Config.xml", CONFIG)
    profile, _ = import_profile(tmp_path, "tsgui", source)
    from tests.conftest import run_prestart

    facts = tmp_path / "f.json"
    facts.write_text("{}", encoding="utf-8")
    for name, ok in (("LAB-001", True), ("lab-002", True), ("PC-001", False), ("LAB-123456789", False)):
        answers = tmp_path / "a.yaml"
        answers.write_text(f'{{"osdcomputername": "{name}"}}', encoding="utf-8")
        done = run_prestart("run", "--profile", str(profile), "--facts", str(facts), "--answers", str(answers),
                            "--unattended", "--sink", f"json:{tmp_path / 'o.json'}", "--log-dir", str(tmp_path))
        assert (done.returncode == 0) == ok, (name, done.stderr)


@pytest.mark.parametrize("path", corpus("tsgui", "*.xml"), ids=lambda p: p.name)
def test_every_corpus_file_imports_and_passes_check(tmp_path: Path, path: Path) -> None:
    profile, _ = import_profile(tmp_path, "tsgui", path)
    check(profile)


@pytest.mark.skipif(not (REALWORLD / "tsgui").is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_groups_and_toggles(tmp_path: Path) -> None:
    path = REALWORLD / "tsgui" / "MikePohatu+TsGui__Config_Examples__Config_Groups_and_Toggles.xml"
    profile, _ = import_profile(tmp_path, "tsgui", path)
    # By hand: the apps column shows only with TOGGLE_Apps checked; the IT team list only for IT; HR App1 only
    # for HR; defaults NZ / HR / Desktop; checked boxes start True.
    variables = headless(tmp_path, profile, {}, {"var-department": "IT", "toggle-apps": True})
    assert variables["VAR_IT_Teams"] == "Desktop"
    assert variables["VAR_Project2013"] == "True" and "VAR_HR1" not in variables
    assert variables["VAR_Country"] == "NZ"
    variables = headless(tmp_path, profile, {}, {})
    assert variables["VAR_Department"] == "HR" and "VAR_IT_Teams" not in variables
    assert "VAR_Office2013" not in variables and "App_MsOffice" not in variables


@pytest.mark.skipif(not (REALWORLD / "tsgui").is_dir(), reason="../shared/realworld is not beside the repo")
def test_corpus_base_config_asks_the_computer_name(tmp_path: Path) -> None:
    profile, _ = import_profile(tmp_path, "tsgui", REALWORLD / "tsgui" / "MikePohatu+TsGui__Config.xml")
    assert headless(tmp_path, profile, {}, {"osdcomputername": "PC-0042"}) == {"OSDComputerName": "PC-0042"}
