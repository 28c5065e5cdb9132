"""Task sequence XML: lossless round trip, unknown content kept, typed steps and conditions, hostile XML refused."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.tasksequence import model as m
from agent.tasksequence import xml as tx

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["lab.xml", "trycatch.xml"])
def test_read_write_read_gives_the_same_model(name: str) -> None:
    first = tx.read_file(DATA / name)
    again = tx.read(tx.write(first))
    assert again == first
    assert tx.write(again) == tx.write(first)  # stable: normalizing twice changes nothing
    assert tx.read(tx.write(first, indent=False)) == first


def test_unknown_elements_and_attributes_survive() -> None:
    text = tx.write(tx.read_file(DATA / "lab.xml")).decode()
    assert 'packageID="CM100123" vendorNote="kept"' in text
    assert '<vendorExtension level="2">keep me</vendorExtension>' in text
    assert '<variable name="LabSite" property="LabSite">Building7</variable>' in text  # globalVarList
    assert 'expand="true"' in text
    assert 'hidden="true"' in text
    assert 'successCodeList="0" retryCount="0" runFromNet="false"' in text


def test_attribute_order_of_a_real_step_is_kept() -> None:
    src = (
        '<sequence version="3.10"><step type="SMS_TaskSequence_RunCommandLineAction" name="X" description="" '
        'continueOnError="true" runIn="WinPEandFullOS" successCodeList="0 3010" disable="true">'
        "<action>smsswd.exe /run: cmd /c x</action></step></sequence>"
    )
    out = tx.write(tx.read(src), indent=False).decode()
    assert out == src


def test_typed_steps_and_conditions() -> None:
    seq = tx.read_file(DATA / "lab.xml")
    steps = dict(seq.steps())
    office = steps["Applications/Microsoft Office"]
    assert isinstance(office, m.InstallSoftwareAction)
    assert (office.package_id, office.program_name) == ("CM1000AC", "Install")
    assert office.continue_on_error
    apply_os = steps["Install Operating System/Apply Operating System"]
    assert isinstance(apply_os, m.ApplyOperatingSystemAction)
    assert (apply_os.image_package_id, apply_os.image_index, apply_os.timeout) == ("CM100050", "1", 90)
    assert isinstance(steps["Install Operating System/Partition Disk 0 - UEFI"], m.PartitionDiskAction)
    setvar = steps["Install Operating System/Set BitLocker PIN Mode"]
    assert isinstance(setvar, m.SetVariableAction) and setvar.variable_name == "OSDBitLockerMode"
    apps = steps["Applications/Install chosen applications"]
    assert isinstance(apps, m.InstallApplicationAction) and apps.base_variable_name == "XApplications"
    french = steps["Language/French language pack"]
    assert isinstance(french, m.RunCommandLineAction) and not french.enabled
    assert isinstance(steps["Drivers/Dell Latitude drivers"], m.GenericAction)

    agent = steps["Applications/Configure agent"]
    assert agent.condition is not None
    kinds = [type(op) for op in agent.condition.operands]
    assert kinds == [m.RegistryCondition, m.FileCondition, m.FolderCondition, m.OSCondition]
    reg, file, folder, os_cond = agent.condition.operands
    assert isinstance(reg, m.RegistryCondition) and reg.key_path.endswith("Contoso") and reg.value_name == "Agent"
    assert isinstance(file, m.FileCondition) and file.version_operator == "greaterEqual"
    assert isinstance(folder, m.FolderCondition) and folder.path == r"C:\Program Files\Contoso"
    assert isinstance(os_cond, m.OSCondition) and isinstance(os_cond.platforms[0], m.OSPlatform)
    assert os_cond.platforms[0].name == "All x64 Windows 11 and higher"


@pytest.mark.parametrize(
    ("operator", "value", "text"),
    [
        ("equals", "x", 'OSDX == "x"'),
        ("notEquals", "x", 'OSDX != "x"'),
        ("greater", "10", "OSDX > 10"),
        ("greaterEqual", "10", "OSDX >= 10"),
        ("less", "b", 'OSDX < "b"'),
        ("lessEqual", "b", 'OSDX <= "b"'),
        ("like", "W*1?", 'OSDX like "W%1_"'),
        ("exists", "", "exists OSDX"),
        ("notExists", "", "not exists OSDX"),
    ],
)
def test_variable_conditions_become_our_expressions(operator: str, value: str, text: str) -> None:
    cond = m.VariableCondition.create("OSDX", operator, value)
    assert cond.text() == text
    # And the text parses back to the same tree in our language: one language, one evaluator.
    from agent import expr

    assert expr.parse(text) == cond.to_expr()


def test_a_sequence_built_in_code_like_the_sdk() -> None:
    step = m.InstallSoftwareAction.create(
        "Install 7-Zip", "CM100200", "Install",
        condition=m.Condition.all_of(m.VariableCondition.create("XInstall7Zip", "equals", "True")),
    )
    group = m.Group("Software", children=(step,))
    seq = m.Sequence(children=(group,))
    data = tx.write(seq)
    text = data.decode()
    assert '<step type="SMS_TaskSequence_InstallSoftwareAction" name="Install 7-Zip" description=""' in text
    assert '<variable name="_SMSSWDProgramName" property="ProgramName">Install</variable>' in text
    back = tx.read(data)
    assert back == seq
    (_, again), = back.steps()
    assert isinstance(again, m.InstallSoftwareAction) and again.package_id == "CM100200"


def test_an_export_wrapper_is_unwrapped() -> None:
    data = b"<SmsTaskSequencePackage><SequenceData><sequence version='3.10'><group name='G'/></sequence>" \
           b"</SequenceData></SmsTaskSequencePackage>"
    seq = tx.read(data)
    assert [p for p, _ in seq.walk()] == ["G"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><sequence>&a;</sequence>', "unsafe XML"),
        (b"<sequence><step></sequence>", "not well-formed"),
        (b"<policy/>", "not <sequence>"),
    ],
)
def test_bad_or_hostile_xml_is_refused_with_the_file_named(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as info:
        tx.read(data, file="catalog:win11-lab")
    assert words in str(info.value) and "catalog:win11-lab" in str(info.value)


MDT_STYLE = "\r\n".join([
    '<?xml version="1.0"?>',
    "<!-- built by hand -->",
    '<sequence version="3.00" name="Lab">',
    '  <group name="Init" disable="false" continueOnError="false" expand="true" description="">',
    "    <!-- gather first -->",
    '    <step name="Gather" disable="false" continueOnError="false" successCodeList="0 3010" description="" '
    'startIn="">',
    "      <defaultVarList />",
    '      <action>cscript.exe "%SCRIPTROOT%\\ZTIGather.wsf"</action>',
    "    </step>",
    '    <step name="When" type="SMS_TaskSequence_RunCommandLineAction">',
    "      <condition>",
    "        <!-- why -->",
    '        <expression type="SMS_TaskSequence_VariableConditionExpression">',
    "          <!-- inside -->",
    '          <variable name="Variable">X</variable>',
    '          <variable name="Operator">equals</variable>',
    '          <variable name="Value">1</variable>',
    "        </expression>",
    "      </condition>",
    "      <action>cmd /c x</action>",
    "    </step>",
    "  </group>",
    "</sequence>",
    "<!-- the end -->",
    "",
])


def test_an_mdt_style_file_comes_back_as_it_was() -> None:
    # No type on the step, an empty defaultVarList, comments inside and around the root, the declaration
    # and CRLF line ends: all content, all kept.
    data = MDT_STYLE.encode()
    out = tx.write_document(tx.read_document(data))
    assert out == data
    assert tx.difference(data, out) is None


def test_comments_do_not_change_what_a_condition_means() -> None:
    from agent.tasksequence import plan as tp

    seq = tx.read(MDT_STYLE)
    assert {e.path: e.status for e in tp.plan(seq, {"X": "1"})}["Init/When"] == "run"
    assert {e.path: e.status for e in tp.plan(seq, {"X": "2"})}["Init/When"] == "skip"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-8", codecs.BOM_UTF8)],
)
def test_utf16_and_byte_order_marks_are_read_and_kept(encoding: str, bom: bytes) -> None:
    text = '<?xml version="1.0" encoding="utf-16"?>\n<sequence version="3.10"><group name="Grüße"/></sequence>\n'
    if encoding == "utf-8":
        text = text.replace("utf-16", "utf-8")
    data = bom + text.encode(encoding)
    seq = tx.read(data)
    assert [p for p, _ in seq.walk()] == ["Grüße"]
    out = tx.write(seq)
    assert out.startswith(bom) and out[len(bom):].decode(encoding).startswith(text.split("\n")[0])
    assert tx.difference(data, out) is None


def test_a_difference_in_meaning_is_found() -> None:
    a = b'<sequence><step name="A"><action>x</action></step></sequence>'
    b = b'<sequence><step name="A"><action>y</action></step></sequence>'
    c = b'<sequence>\n  <step name="A">\n    <action>x</action>\n  </step>\n</sequence>\n'
    assert tx.difference(a, c) is None  # layout only
    found = tx.difference(a, b)
    assert found is not None and "action" in found


def test_the_older_wrapper_is_written_back_as_a_wrapper() -> None:
    data = (b"<SmsTaskSequencePackage><BootImageID>CM100002</BootImageID><SequenceData>"
            b"<sequence version='3.10'><group name='G'/></sequence></SequenceData>"
            b"<Name>Win 11</Name></SmsTaskSequencePackage>")
    document = tx.read_document(data)
    assert document.kind == "<SmsTaskSequencePackage> wrapper"
    out = tx.write_document(document)
    assert out.startswith(b"<SmsTaskSequencePackage>") and b"<Name>Win 11</Name>" in out
    assert tx.difference(data, out) is None
    assert [p for p, _ in tx.read(out).walk()] == ["G"]


def test_a_wrapper_with_a_second_empty_sequence_keeps_it() -> None:
    data = (b"<SmsTaskSequencePackage><SequenceData><sequence version='3.10'><group name='G'/></sequence>"
            b"</SequenceData><Other><sequence/></Other></SmsTaskSequencePackage>")
    out = tx.write_document(tx.read_document(data))
    assert tx.difference(data, out) is None
