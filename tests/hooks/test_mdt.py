"""MDT: VARIABLES.DAT written the way MDT reads it, round-tripped, merged under its lock, all-or-nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import defusedxml.ElementTree as DET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import DataError, InputError, SourceUnavailable
from hooks import mdt
from hooks.base import open_sink
from tests.conftest import REPO


def dat(tmp_path: Path) -> Path:
    return tmp_path / "MININT" / "SMSOSD" / "OSDLOGS" / "VARIABLES.DAT"


def read_with_defusedxml(path: Path) -> dict[str, str]:
    root = DET.fromstring(path.read_bytes())
    assert root.tag == "MediaVarList" and root.get("Version") == "4.00.5345.0000"
    return {var.get("name"): "".join(var.itertext()) for var in root.iter("var")}


def test_round_trip_of_awkward_values(tmp_path: Path) -> None:
    values = {
        "CDataEnd": "a]]>b]]>]]>",
        "JustEnd": "]]>",
        "Umlauts": "Grüße – Zürich 東京 🚀",
        "Markup": "<var name='x'>&amp;</var>",
        "Lines": "one\r\ntwo\rthree\nfour",
        "Spaces": "  both ends  ",
        # Markup that only *looks* like a DTD is a value like any other (a fresh-clone CI run once found
        # that a value holding `<!ENTITY` made the agent refuse its own file).
        "Entity": "<!ENTITY",
        "Doctype": '<!DOCTYPE m [<!ENTITY a "AAAA">]>',
    }
    store = open_sink(f"mdt:{dat(tmp_path)}")
    store.commit(values)
    upper = {k.upper(): v for k, v in values.items()}
    assert read_with_defusedxml(dat(tmp_path)) == upper
    assert store.read_all() == upper
    assert not dat(tmp_path).with_name("VARIABLES.DAT.LOCK").exists()


xml_text = st.text(st.characters(min_codepoint=1, blacklist_categories=["Cs"]), max_size=40).filter(
    lambda s: mdt.xml_char_problem("x", s) is None
)

TRICKY = ["]]>", "]]]]>>", "\r\n", "<!ENTITY", "<!DOCTYPE"]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(xml_text | st.sampled_from(TRICKY), min_size=1, max_size=4))
def test_any_xml_text_round_trips(tmp_path_factory: pytest.TempPathFactory, values: list[str]) -> None:
    path = tmp_path_factory.mktemp("dat") / "VARIABLES.DAT"
    variables = {f"V{i}": v for i, v in enumerate(values)}
    mdt.VariablesDatStore(path).commit(variables)
    expected = {k.upper(): v for k, v in variables.items() if v}
    assert read_with_defusedxml(path) == expected
    assert mdt.VariablesDatStore(path).read_all() == expected


def test_the_file_matches_the_reviewed_expected_file() -> None:
    expected = Path(__file__).parent / "expected" / "mdt" / "VARIABLES.DAT"
    sample = {
        "OSDComputerName": "LAB-0042",
        "XApplications01": "Microsoft 365 Apps for enterprise",
        "XApplications02": "7-Zip 24.08",
        "PrestartDeployment": "Windows 11 24H2 – Lab",
        "Tricky": 'say "hi" & 100% ^caret! <a|b> ]]> end',
    }
    assert mdt.render_variables_dat(sample) == expected.read_bytes()
    assert read_with_defusedxml(expected)["TRICKY"] == sample["Tricky"]


def test_commit_merges_deletes_and_trims_stale_arrays(tmp_path: Path) -> None:
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(
        b'<?xml version="1.0"?><MediaVarList Version="4.00.5345.0000">'
        b'<var name="DEPLOYROOT"><![CDATA[\\\\mdt01\\DeploymentShare$]]></var>'
        b'<var name="EMPTY"></var><var name="OLD"><![CDATA[gone]]></var>'
        b'<var name="XAPPLICATIONS01"><![CDATA[a]]></var><var name="XAPPLICATIONS02"><![CDATA[b]]></var>'
        b'<var name="XAPPLICATIONS03"><![CDATA[c]]></var></MediaVarList>'
    )
    store = mdt.create_hook(root=tmp_path).store()
    assert store.read_all()["EMPTY"] == ""
    store.commit({"Old": "", "XApplications01": "7-Zip", "OSDComputerName": "LAB-1"})
    assert read_with_defusedxml(path) == {
        "DEPLOYROOT": "\\\\mdt01\\DeploymentShare$",
        "EMPTY": "",
        "XAPPLICATIONS01": "7-Zip",
        "OSDCOMPUTERNAME": "LAB-1",
    }


def test_winpe_default_names_are_not_read_as_a_computer_name(tmp_path: Path) -> None:
    store = mdt.VariablesDatStore(dat(tmp_path))
    store.commit({"OSDComputerName": "MININT-4H2K9Q", "ComputerName": "minwin-77", "Other": "MININT-x"})
    assert store.read_all() == {"OTHER": "MININT-x"}


@pytest.mark.parametrize(
    "bad",
    [{"9Lives": "x"}, {"_SMSTSMachineName": "x"}, {"Big": "x" * 4001}, {"Ctrl": "bell\x07"}, {"": "x"}],
)
def test_commit_is_all_or_nothing(tmp_path: Path, bad: dict[str, str]) -> None:
    path = dat(tmp_path)
    store = mdt.VariablesDatStore(path)
    store.commit({"Keep": "me"})
    before = path.read_bytes()
    with pytest.raises(InputError):
        store.commit({"Fine": "yes", **bad})
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["VARIABLES.DAT"]  # no partial file, no lock


def test_a_held_lock_makes_commit_wait_then_fail_without_writing(tmp_path: Path) -> None:
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    lock = path.with_name("VARIABLES.DAT.LOCK")
    lock.write_bytes(b"")
    with pytest.raises(SourceUnavailable, match=r"VARIABLES\.DAT\.LOCK"):
        mdt.VariablesDatStore(path, lock_wait=0.3).commit({"A": "1"})
    assert not path.exists() and lock.exists()  # someone else's lock is left alone


def test_a_lock_left_by_a_killed_agent_is_cleared_at_once(tmp_path: Path) -> None:
    """A real agent process takes the lock and is killed with SIGKILL while holding it (issue 19)."""
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    lock = path.with_name("VARIABLES.DAT.LOCK")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from hooks import mdt\n"
         "with mdt.VariablesDatStore(sys.argv[1])._locked():\n    print('held', flush=True); time.sleep(60)",
         str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    assert lock.exists()
    started = time.monotonic()
    mdt.VariablesDatStore(path, lock_wait=5).commit({"A": "1"})
    assert time.monotonic() - started < 1
    assert read_with_defusedxml(path) == {"A": "1"} and not lock.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["VARIABLES.DAT"]


def test_an_old_lock_of_unknown_origin_is_stale(tmp_path: Path) -> None:
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    lock = path.with_name("VARIABLES.DAT.LOCK")
    lock.write_bytes(b"")
    old = time.time() - mdt.STALE_LOCK_SECONDS - 5
    os.utime(lock, (old, old))
    mdt.VariablesDatStore(path, lock_wait=0.3).commit({"A": "1"})
    assert read_with_defusedxml(path) == {"A": "1"} and not lock.exists()


def test_commit_waits_for_a_lock_that_is_released(tmp_path: Path) -> None:
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    lock = path.with_name("VARIABLES.DAT.LOCK")
    lock.write_bytes(b"")
    threading.Timer(0.3, lock.unlink).start()
    started = time.monotonic()
    mdt.VariablesDatStore(path, lock_wait=5).commit({"A": "1"})
    assert 0.25 < time.monotonic() - started < 3
    assert read_with_defusedxml(path) == {"A": "1"} and not lock.exists()


def test_a_damaged_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = dat(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<MediaVarList><var name='A'>")
    with pytest.raises(DataError, match=r"VARIABLES\.DAT"):
        mdt.VariablesDatStore(path).read_all()


def test_reads_a_utf16_file_written_by_powershell(tmp_path: Path) -> None:
    path = tmp_path / "VARIABLES.DAT"
    text = '<?xml version="1.0" encoding="utf-16"?><MediaVarList><var name="x"><![CDATA[Grüße]]></var></MediaVarList>'
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert mdt.VariablesDatStore(path).read_all() == {"X": "Grüße"}


def test_detection_and_log_folder(tmp_path: Path) -> None:
    hook = mdt.create_hook(root=tmp_path)
    assert not hook.detect()
    bddrun = tmp_path / "Windows" / "System32" / "bddrun.exe"
    bddrun.parent.mkdir(parents=True)
    bddrun.write_bytes(b"MZ")
    assert hook.detect()
    assert hook.log_dir() == tmp_path / "MININT" / "SMSOSD" / "OSDLOGS"
    assert mdt.create_hook().detect() is False  # the real X:\ never matches on Linux


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_real_dtd_is_refused_in_any_encoding(encoding: str) -> None:
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE m [<!ENTITY a "AAAA">]>'
        '<MediaVarList><var name="x">&a;</var></MediaVarList>'
    ).encode(encoding)
    with pytest.raises(DataError, match=r"VARIABLES.DAT carries a DTD \(\w+Forbidden\).*hint: delete the file"):
        mdt.parse_variables_dat(doc, "VARIABLES.DAT")
