"""The directory from the frozen prestart.exe under wine, against the seeded slapd on 127.0.0.1 over LDAPS: sign-in,
the computer name check (warn, block), the OU list written to MachineObjectOU / OSDDomainOUName, every refusal
(wrong password, a certificate for another host, an untrusted CA, a directory that hangs), headless and in the
wizard with real key events; the password is a canary that no file of the run may hold."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from media_builder.winefreeze import Run, Wine
from tests.conftest import SPEC
from tests.ldap_server import ALICE_PW, COMPUTERS, SUFFIX, Directory, elsewhere
from tests.windows.conftest import WineUi, win

Start = Callable[..., WineUi]
TITLE = "Directory sign-in"
TECHS = f"cn=Imaging Technicians,ou=Groups,{SUFFIX}"
WRONG_PW = "Canary-Wrong-b81c5e"
LAB_A = f"ou=Building A,ou=Lab,{COMPUTERS}"
NOT_FINISH = "Nothing is changed until you press Finish itself (Tab to it, or click it)."


def profile(tmp: Path, directory: Directory, *, ca: str | None = "ca.pem", server: str = "", exists: str = "warn",
            variable: str = "MachineObjectOU", timeout: float = 3, wizard: bool = False) -> Path:
    """The "sign in, check the name, pick the OU" profile of docs/profiles.md. `ca`: the CA bundle as the profile
    names it (a file name is relative to the profile's folder, where the test CA is copied); None: none in the
    profile (the run's --ca-bundle)."""
    ldap: dict[str, Any] = {"server": server or directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE",
                            "upn_suffix": "example.test", "timeout": timeout}
    if ca is not None:
        ldap["ca_bundle"] = ca
        if not re.match(r"^[A-Za-z]:", ca):
            shutil.copy(directory.ca_pem, tmp / ca)
    ou = {"id": "ou", "type": "ou", "label": "Organizational unit", "variable": variable, "required": True,
          "ou": {"base_dn": COMPUTERS, "view": "list", "allow": [f"ou=Lab,{COMPUTERS}"], "page_size": 2,
                 "timeout": 5}}
    name = {"id": "computername", "type": "text", "label": "Computer name", "variable": "OSDComputerName",
            "validate": "netbios", "required": True,
            "directory_check": {"exists": exists, "unavailable": "block", "timeout": 5}}
    pages: list[dict[str, Any]] = [
        {"id": "signin", "type": "login", "title": "Sign in", "text": "Sign in with your directory account.",
         "max_attempts": 3, "ldap": ldap, "groups": {TECHS: "technician", "Students": "kiosk"}},
    ]
    if wizard:
        pages += [{"id": "name", "roles": ["technician"], "fields": [name]},
                  {"id": "ou", "roles": ["technician"], "fields": [ou]},
                  {"id": "confirm", "type": "confirm", "text": "Ready."}]
    else:
        pages.append({"id": "name", "fields": [name, ou]})
    path = tmp / "directory.yaml"
    path.write_text(json.dumps({"version": 1, "title": TITLE, "pages": pages}), encoding="utf-8")
    return path


def headless(wine: Wine, exe: Path, tmp: Path, profile_path: Path, answers: dict[str, Any], *,
             password: str = ALICE_PW, extra: list[str | Path] | None = None) -> tuple[Run, Path]:
    """One unattended run; the password reaches it as headless runs take it: an environment variable."""
    answers_file = tmp / "answers.yaml"
    answers_file.write_text(json.dumps({"signin": {"user": "alice", "password_env": "PRESTART_PW"}, **answers}),
                            encoding="utf-8")
    out = tmp / "out.json"
    done = wine.run([exe, "run", "--profile", profile_path, "--facts", SPEC / "facts" / "laptop.json",
                     "--answers", answers_file, "--unattended", "--sink", f"json:{win(out)}",
                     "--log-dir", tmp / "log", *(extra or [])],
                    env={"PRESTART_PW": password}, timeout=180)
    return done, out


def written(tmp: Path, *outputs: str) -> str:
    """The run's stdout and stderr and every file it wrote (log, receipt, variables, UI trace), as one text."""
    texts = list(outputs)
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(tmp.rglob("*")) if p.is_file()]
    return "\n".join(texts)


def log_lines(tmp: Path) -> list[tuple[datetime, str]]:
    """(time, message) of each line of the run's CMTrace log."""
    text = (tmp / "log" / "prestart.log").read_text(encoding="utf-8")
    found = re.findall(r'<!\[LOG\[(.*?)\]LOG\]!><time="([\d:.]+)\+\d+" date="([\d-]+)"', text, re.S)
    return [(datetime.strptime(f"{d} {t}", "%m-%d-%Y %H:%M:%S.%f"), m) for m, t, d in found]


@pytest.fixture
def hung(slapd: Directory) -> Iterator[None]:
    """slapd stopped with SIGSTOP: the kernel still accepts connections, nothing answers them."""
    os.kill(slapd.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(slapd.pid, signal.SIGCONT)


# -- headless ----------------------------------------------------------------------------------------------


def test_headless_sign_in_warns_of_a_name_in_use_and_writes_the_ou_from_the_directory(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path) -> None:
    # The CA bundle named relative to the profile (a Z:\ path to the exe): Windows' own store lacks the test CA.
    done, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd),
                         {"computername": "LAB-0001", "ou": LAB_A.upper()})
    assert done.code == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0001" and variables["PrestartRole"] == "technician"
    assert variables["MachineObjectOU"].casefold() == LAB_A.casefold()
    messages = [m for _, m in log_lines(tmp_path)]
    assert f"computer name check: LAB-0001 exists in {LAB_A}; it will be reused" in messages
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["user"] == "alice@example.test" and receipt["role"] == "technician"
    assert receipt["directory"]["computername"].endswith("it will be reused")
    assert ALICE_PW not in written(tmp_path, done.stdout, done.stderr)


def test_headless_block_mode_with_the_ca_bundle_on_the_command_line(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path) -> None:
    path = profile(tmp_path, slapd, ca=None, exists="block", variable="OSDDomainOUName")
    ca = ["--ca-bundle", slapd.ca_pem]
    taken, out = headless(wine, exe, tmp_path, path, {"computername": "STAFF-0042", "ou": f"ou=Lab,{COMPUTERS}"},
                          extra=ca)
    assert taken.code == 13, taken.stderr
    assert "STAFF-0042 already exists in ou=Staff" in taken.stderr and "choose another name" in taken.stderr
    assert not out.exists()
    free, out = headless(wine, exe, tmp_path, path, {"computername": "LAB-0777", "ou": LAB_A}, extra=ca)
    assert free.code == 0, free.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0777" and variables["OSDDomainOUName"] == LAB_A
    assert "MachineObjectOU" not in variables
    assert ALICE_PW not in written(tmp_path, taken.stdout, taken.stderr, free.stdout, free.stderr)


def test_headless_wrong_password_exits_5_and_leaks_nothing(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path) -> None:
    done, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd), {"computername": "LAB-0777", "ou": LAB_A},
                         password=WRONG_PW)
    assert done.code == 5, done.stderr  # one attempt unattended: the limit is reached at once
    assert "sign-in failed 1 time; locked out" in done.stderr
    assert not out.exists()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 5 and receipt["result"] == "access_denied"
    assert WRONG_PW not in written(tmp_path, done.stdout, done.stderr)


def test_headless_refuses_a_certificate_for_another_host_and_an_untrusted_ca(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path) -> None:
    answers = {"computername": "LAB-0777", "ou": LAB_A}
    with elsewhere(slapd) as impostor:  # the directory's own CA, but a certificate for dc.elsewhere.test
        other_host, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd, server=impostor), answers)
    untrusted, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd, ca=win(slapd.other_ca_pem)), answers)
    for done in (other_host, untrusted):
        assert done.code == 13, done.stderr
        assert "TLS error talking to the sign-in server" in done.stderr
        assert "not trusted or not valid for this host name" in done.stderr
        assert not out.exists()
    assert ALICE_PW not in written(tmp_path, other_host.stdout, other_host.stderr, untrusted.stdout, untrusted.stderr)


def test_headless_sign_in_to_a_hung_directory_ends_within_its_budget(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path, hung: None) -> None:
    done, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd, timeout=2),
                         {"computername": "LAB-0777", "ou": LAB_A})
    assert done.code == 13, done.stderr
    # ldap3's own 2 s timeout, or the sign-in's budget of 3 x 2 s: either way the message says it.
    assert re.search(r"sign-in server ldaps://127\.0\.0\.1:\d+(: no answer within 2 s| did not finish the sign-in "
                     r"within 6 s)", done.stderr), done.stderr
    assert not out.exists()
    lines = log_lines(tmp_path)
    began = next(t for t, m in lines if m.startswith("rules fired"))  # just before the login page
    ended = lines[-1][0]
    assert (ended - began).total_seconds() < 6 + 2, lines  # the budget and a loaded machine's scheduling
    assert ALICE_PW not in written(tmp_path, done.stdout, done.stderr)
