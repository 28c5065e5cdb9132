"""The directory with the technician's own bind, against a real slapd: locked accounts, the computer name check,
the OU list (filter, allow list, paging), a hung server within its budget, and the same checks in headless runs."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.auth.directory import DirectorySession, is_under, normal_dn
from agent.auth.ldap import ACCOUNT_LOCKED, AuthFailed, sign_in
from agent.errors import SourceUnavailable
from agent.profile.model import LdapSettings
from tests.conftest import SPEC, run_prestart
from tests.ldap_server import (
    ALICE_PW,
    BOB_PW,
    COMPUTERS,
    DAVE_PW,
    EXISTING_COMPUTERS,
    SUFFIX,
    Directory,
)

TECHS = f"cn=Imaging Technicians,ou=Groups,{SUFFIX}"


def settings(directory: Directory) -> LdapSettings:
    return LdapSettings(server=directory.url, base_dn=SUFFIX, domain="EXAMPLE", upn_suffix="example.test",
                        timeout=2.0)


@pytest.fixture
def alice(slapd: Directory) -> Iterator[DirectorySession]:
    result = sign_in(settings(slapd), "alice", ALICE_PW, ca_bundle=slapd.ca_pem, keep=True)
    session = result.session
    assert isinstance(session, DirectorySession)
    yield session
    session.close()


@pytest.fixture
def stopped(slapd: Directory) -> Iterator[None]:
    """slapd frozen with SIGSTOP (it accepts nothing and answers nothing) for the test's duration."""
    pid = int((slapd.root / "slapd.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_locked_account_is_named_as_locked_even_with_its_right_password(slapd: Directory) -> None:
    with pytest.raises(AuthFailed) as caught:
        sign_in(settings(slapd), "dave", DAVE_PW, ca_bundle=slapd.ca_pem)
    assert caught.value.message == ACCOUNT_LOCKED and "unlock" in caught.value.hint
    assert DAVE_PW not in str(caught.value)


def test_the_kept_session_holds_no_password(slapd: Directory, alice: DirectorySession) -> None:
    assert alice._conn.password is None  # ldap3 would keep it to bind again
    assert ALICE_PW not in repr(vars(alice._conn))


def test_the_name_check_finds_an_existing_computer_and_where_it_is(alice: DirectorySession) -> None:
    for name, where in EXISTING_COMPUTERS.items():
        assert normal_dn(alice.find_computer(name)) == normal_dn(f"cn={name},{where}")
        assert normal_dn(alice.find_computer(name.lower())) == normal_dn(f"cn={name},{where}")  # case-insensitive
    assert alice.find_computer("LAB-0002") == ""
    assert alice.find_computer("*") == ""  # a wildcard is escaped, not a way to match every computer
    assert alice.find_computer("LAB-0001", f"ou=Staff,{COMPUTERS}") == ""  # only under the base asked


def test_the_ou_list_with_paging_a_filter_and_an_allow_list(alice: DirectorySession) -> None:
    from agent.auth.directory import allowed_only

    units = alice.list_ous(COMPUTERS, page_size=2)  # 6 OUs, 3 pages
    assert [u.label for u in units] == [COMPUTERS, "Kiosks", "Lab", "Lab / Building A", "Lab / Building B", "Staff"]
    filtered = alice.list_ous(COMPUTERS, extra_filter="(ou=Building*)")
    assert [u.label for u in filtered] == ["Lab / Building A", "Lab / Building B"]
    lab = f"ou=Lab,{COMPUTERS}"
    assert [u.label for u in allowed_only(units, [lab.upper()])] == ["Lab", "Lab / Building A", "Lab / Building B"]
    assert all(is_under(u.dn, lab) for u in allowed_only(units, [lab]))


def test_a_hung_directory_costs_at_most_the_budget_and_ends_the_session(
        slapd: Directory, alice: DirectorySession, stopped: None) -> None:
    start = time.monotonic()
    with pytest.raises(SourceUnavailable) as caught:
        alice.find_computer("LAB-0001", budget=1.5)
    # Usually the budget ends it; on a loaded machine ldap3's own read timeout may say so first.
    assert "did not answer within 1.5 s" in caught.value.message or "no answer" in caught.value.message
    assert time.monotonic() - start < 3  # 1.5 s and a loaded machine's scheduling, not ldap3's 2 s reads
    assert not alice.open
    with pytest.raises(SourceUnavailable, match="has ended"):
        alice.list_ous(COMPUTERS, budget=1.5)


def test_sign_in_to_a_hung_directory_fails_within_its_timeout(slapd: Directory, stopped: None) -> None:
    start = time.monotonic()
    with pytest.raises(SourceUnavailable):
        sign_in(settings(slapd), "alice", ALICE_PW, ca_bundle=slapd.ca_pem)
    assert time.monotonic() - start < 5  # a connect that hangs (2 s), never the run


# -- headless runs: the same checks with --answers -----------------------------------------------------


def directory_profile(tmp_path: Path, directory: Directory, *, exists: str = "warn", unavailable: str = "skip",
                      ou: dict[str, Any] | None = None, ou_variable: str = "MachineObjectOU") -> Path:
    ou_field: dict[str, Any] = {"id": "ou", "type": "ou", "label": "OU", "variable": ou_variable, "required": True}
    if ou is None:
        ou_field["ou"] = {"base_dn": COMPUTERS, "allow": [f"ou=Lab,{COMPUTERS}"], "page_size": 2, "timeout": 3}
    else:
        ou_field.update(ou)
    profile = {
        "version": 1,
        "title": "Directory test",
        "pages": [
            {"id": "signin", "type": "login", "max_attempts": 2,
             "ldap": {"server": directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE", "upn_suffix": "example.test",
                      "ca_bundle": str(directory.ca_pem), "timeout": 3},
             "groups": {TECHS: "technician", "Students": "kiosk"}},
            {"id": "name", "fields": [
                {"id": "computername", "type": "text", "label": "Computer name", "variable": "OSDComputerName",
                 "validate": "netbios", "required": True,
                 "directory_check": {"exists": exists, "unavailable": unavailable, "timeout": 3}},
                ou_field,
            ]},
        ],
    }
    path = tmp_path / "directory.yaml"
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def run_answers(tmp_path: Path, profile: Path, answers: dict[str, Any], env: dict[str, str]) -> tuple[Any, Path]:
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart("run", "--profile", str(profile), "--facts", str(SPEC / "facts" / "laptop.json"),
                        "--answers", str(answers_file), "--unattended", "--sink", f"json:{out}",
                        "--log-dir", str(tmp_path / "log"), env=env)
    return done, out


def everything(tmp_path: Path, done: Any) -> str:
    texts = [done.stdout, done.stderr]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(tmp_path.rglob("*")) if p.is_file()]
    return "\n".join(texts)


SIGNIN = {"signin": {"user": "alice", "password_env": "PW"}}


def test_headless_warn_mode_reuses_an_existing_name_and_writes_the_chosen_ou(slapd: Directory, tmp_path: Path) -> None:
    lab_a = f"ou=Building A, ou=Lab, {COMPUTERS}".upper()  # another spelling of the DN
    done, out = run_answers(tmp_path, directory_profile(tmp_path, slapd),
                            {**SIGNIN, "computername": "LAB-0001", "ou": lab_a}, {"PW": ALICE_PW})
    assert done.returncode == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0001"
    assert normal_dn(variables["MachineObjectOU"]) == normal_dn(lab_a)
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    assert "LAB-0001 exists in ou=Building A,ou=Lab,ou=Computers" in log and "it will be reused" in log
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["directory"]["computername"].endswith("it will be reused")
    assert ALICE_PW not in everything(tmp_path, done)


def test_headless_block_mode_refuses_a_name_in_use_and_writes_nothing(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_answers(tmp_path, directory_profile(tmp_path, slapd, exists="block"),
                            {**SIGNIN, "computername": "STAFF-0042", "ou": f"ou=Lab,{COMPUTERS}"}, {"PW": ALICE_PW})
    assert done.returncode == 13
    assert "STAFF-0042 already exists in ou=Staff" in done.stderr and "choose another name" in done.stderr
    assert not out.exists()
    free, out = run_answers(tmp_path, directory_profile(tmp_path, slapd, exists="block"),
                            {**SIGNIN, "computername": "LAB-0777", "ou": f"ou=Lab,{COMPUTERS}"}, {"PW": ALICE_PW})
    assert free.returncode == 0, free.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"] == "LAB-0777"


def test_headless_ou_outside_the_allow_list_is_refused(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_answers(tmp_path, directory_profile(tmp_path, slapd),
                            {**SIGNIN, "computername": "LAB-0777", "ou": f"ou=Staff,{COMPUTERS}"}, {"PW": ALICE_PW})
    assert done.returncode == 13
    assert "is not an allowed choice" in done.stderr and "Building A" in done.stderr
    assert not out.exists()


def test_headless_without_sign_in_skip_or_block_and_a_static_ou_list(slapd: Directory, tmp_path: Path) -> None:
    static = {"choices": [{"value": f"ou=Kiosks,{COMPUTERS}", "label": "Kiosks"}]}
    answers = {"computername": "LAB-0001", "ou": f"ou=Kiosks,{COMPUTERS}"}
    for unavailable, code in (("skip", 0), ("block", 13)):
        profile = directory_profile(tmp_path, slapd, unavailable=unavailable, ou=static, ou_variable="OSDDomainOUName")
        data = json.loads(profile.read_text(encoding="utf-8"))
        data["pages"][0]["when"] = "IsVM == 'True'"  # the login page is not shown: nobody signs in
        profile.write_text(json.dumps(data), encoding="utf-8")
        (tmp_path / "out.json").unlink(missing_ok=True)
        done, out = run_answers(tmp_path, profile, answers, {})
        assert done.returncode == code, done.stderr
        if code:
            assert "cannot be checked against the directory" in done.stderr and not out.exists()
        else:
            variables = json.loads(out.read_text(encoding="utf-8"))
            assert variables["OSDDomainOUName"] == f"ou=Kiosks,{COMPUTERS}"
            log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
            assert "was not checked against the directory" in log


def test_headless_checks_run_with_the_bind_of_whoever_signed_in(slapd: Directory, tmp_path: Path) -> None:
    # bob signs in (kiosk role); the name check runs with his own bind and the directory's rules for him.
    done, out = run_answers(tmp_path, directory_profile(tmp_path, slapd, exists="block"),
                            {"signin": {"user": "bob", "password_env": "PW"}, "computername": "LAB-0001",
                             "ou": f"ou=Lab,{COMPUTERS}"}, {"PW": BOB_PW})
    assert done.returncode == 13 and "LAB-0001 already exists" in done.stderr
    assert not out.exists()
    assert BOB_PW not in everything(tmp_path, done)


def test_headless_ou_from_a_catalog_list_needs_no_directory(tmp_path: Path) -> None:
    lab, staff = "OU=Lab,OU=Computers,DC=corp,DC=example", "OU=Staff,OU=Computers,DC=corp,DC=example"
    catalog = {"schema": 1, "serial": 3, "generated": "2026-12-01T08:00:00Z", "source": "file:ous.json",
               "lists": {"ous": [{"id": "lab", "label": "Lab", "value": lab},
                                 {"id": "staff", "label": "Staff", "value": staff}]}}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    profile = {"version": 1, "pages": [{"id": "p", "fields": [
        {"id": "ou", "type": "ou", "view": "tree", "list": "ous", "variable": "OSDDomainOUName", "required": True}]}]}
    (tmp_path / "ous.yaml").write_text(json.dumps(profile), encoding="utf-8")
    for answer, expected in (("staff", staff), ("ou=lab, ou=computers, dc=corp, dc=example", lab)):
        (tmp_path / "answers.yaml").write_text(json.dumps({"ou": answer}), encoding="utf-8")
        out = tmp_path / "out.json"
        done = run_prestart("run", "--profile", str(tmp_path / "ous.yaml"), "--catalog", str(tmp_path / "catalog.json"),
                            "--facts", str(SPEC / "facts" / "laptop.json"), "--answers", str(tmp_path / "answers.yaml"),
                            "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"))
        assert done.returncode == 0, done.stderr
        assert json.loads(out.read_text(encoding="utf-8"))["OSDDomainOUName"] == expected
