"""The directory from the frozen prestart.exe under wine, against the seeded slapd on 127.0.0.1 over LDAPS: sign-in,
the computer name check (warn, block), the OU list written to MachineObjectOU / OSDDomainOUName, every refusal
(wrong password, a certificate for another host, an untrusted CA, a directory that hangs), the CA bundle the media
carry beside the exe, headless and in the wizard with real key events (the limit of failed sign-ins ends the run
with 5; in a kiosk profile a student stays kiosk, a technician gets their pages); the passwords are canaries that
no file of the run may hold."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from media_builder.winefreeze import Run, Wine
from tests.conftest import SPEC
from tests.ldap_server import ALICE_PW, BOB_PW, COMPUTERS, SUFFIX, Directory, elsewhere
from tests.windows.conftest import WineUi, win

Start = Callable[..., WineUi]
TITLE = "Directory sign-in"
TECHS = f"cn=Imaging Technicians,ou=Groups,{SUFFIX}"
WRONG_PW = "Canary-Wrong-b81c5e"
LAB_A = f"ou=Building A,ou=Lab,{COMPUTERS}"
NOT_FINISH = "Nothing is changed until you press Finish itself (Tab to it, or click it)."


def profile(tmp: Path, directory: Directory, *, ca: str | None = "ca.pem", server: str = "", exists: str = "warn",
            variable: str = "MachineObjectOU", timeout: float = 3, wizard: bool = False, max_attempts: int = 4,
            kiosk: bool = False) -> Path:
    """The "sign in, check the name, pick the OU" profile of docs/profiles.md. `ca`: the CA bundle as the profile
    names it (a file name is relative to the profile's folder, where the test CA is copied); None: none in the
    profile (the run's --ca-bundle, or the media's ca-bundle.pem). `kiosk`: `mode: kiosk`, starting in the kiosk
    role."""
    ldap: dict[str, Any] = {"server": server or directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE",
                            "upn_suffix": "example.test", "timeout": timeout}
    if ca is not None:
        ldap["ca_bundle"] = ca
        if ca == "ca.pem":
            shutil.copy(directory.ca_pem, tmp / ca)
    ou = {"id": "ou", "type": "ou", "label": "Organizational unit", "variable": variable, "required": True,
          "ou": {"base_dn": COMPUTERS, "view": "list", "allow": [f"ou=Lab,{COMPUTERS}"], "page_size": 2,
                 "timeout": 5}}
    name = {"id": "computername", "type": "text", "label": "Computer name", "variable": "OSDComputerName",
            "validate": "netbios", "required": True,
            "directory_check": {"exists": exists, "unavailable": "block", "timeout": 5}}
    pages: list[dict[str, Any]] = [
        {"id": "signin", "type": "login", "title": "Sign in", "text": "Sign in with your directory account.",
         "max_attempts": max_attempts, "ldap": ldap, "groups": {TECHS: "technician", "Students": "kiosk"}},
    ]
    if wizard:
        pages += [{"id": "name", "roles": ["technician"], "fields": [name]},
                  {"id": "ou", "roles": ["technician"], "fields": [ou]},
                  {"id": "confirm", "type": "confirm", "text": "Ready."}]
    else:
        pages.append({"id": "name", "fields": [name, ou]})
    data: dict[str, Any] = {"version": 1, "title": TITLE, "pages": pages}
    if kiosk:
        data["mode"] = "kiosk"
    path = tmp / "directory.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def headless(wine: Wine, exe: Path, tmp: Path, profile_path: Path | None, answers: dict[str, Any], *,
             password: str = ALICE_PW, extra: list[str | Path] | None = None) -> tuple[Run, Path]:
    """One unattended run; the password reaches it as headless runs take it: an environment variable.
    `profile_path` None: no --profile, the one the media carry beside the exe."""
    answers_file = tmp / "answers.yaml"
    answers_file.write_text(json.dumps({"signin": {"user": "alice", "password_env": "PRESTART_PW"}, **answers}),
                            encoding="utf-8")
    out = tmp / "out.json"
    chosen: list[str | Path] = ["--profile", profile_path] if profile_path is not None else []
    done = wine.run([exe, "run", *chosen, "--facts", SPEC / "facts" / "laptop.json",
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


def test_headless_block_mode_with_the_ca_bundle_on_the_command_line_and_a_dns_name(
        wine: Wine, exe: Path, slapd: Directory, tmp_path: Path) -> None:
    # The server by its DNS name this time (the certificate names localhost and 127.0.0.1).
    path = profile(tmp_path, slapd, ca=None, server=f"ldaps://localhost:{slapd.port}", exists="block",
                   variable="OSDDomainOUName")
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


def test_headless_refuses_another_hosts_certificate_an_untrusted_ca_and_a_missing_bundle(
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
    missing, out = headless(wine, exe, tmp_path, profile(tmp_path, slapd, ca="certs\\corp-ca.pem"), answers)
    assert missing.code == 13, missing.stderr  # the file, by the Windows path the profile's folder gives it
    assert re.search(r"CA bundle Z:\\.*\\certs\\corp-ca\.pem for sign-in does not exist", missing.stderr), \
        missing.stderr
    assert "put the PEM file with the directory's issuing CA on the media" in missing.stderr and not out.exists()
    outputs = [text for done in (other_host, untrusted, missing) for text in (done.stdout, done.stderr)]
    assert ALICE_PW not in written(tmp_path, *outputs)


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


@pytest.fixture
def media(exe: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the cached onedir build (prestart.exe and _internal/) in a folder of its own, as media carry it:
    the payload goes beside the exe there, never into the cached build. Removed afterwards (30 MB)."""
    folder = tmp_path_factory.mktemp("media") / "Prestart"
    shutil.copytree(exe.parent, folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_headless_sign_in_verifies_against_the_ca_bundle_the_media_carry(
        wine: Wine, media: Path, slapd: Directory, tmp_path: Path) -> None:
    # The payload as the media builder lays it out (agent/payload.py): the compiled profile, which names no CA
    # bundle, and no --ca-bundle on the command line. Wine's own store lacks the test CA: without the media's
    # ca-bundle.pem the certificate cannot verify; with it, the bind succeeds.
    from agent.payload import AGENT_EXE, CA_BUNDLE, PROFILE
    from agent.profile import compile_profile

    (media / PROFILE).write_text(compile_profile(profile(tmp_path, slapd, ca=None)), encoding="utf-8")
    answers = {"computername": "LAB-0777", "ou": LAB_A}
    bare, out = headless(wine, media / AGENT_EXE, tmp_path, None, answers)
    assert bare.code == 13, bare.stderr  # the control: the same media without the bundle
    assert "TLS error talking to the sign-in server" in bare.stderr and not out.exists()
    shutil.copy(slapd.ca_pem, media / CA_BUNDLE)
    done, out = headless(wine, media / AGENT_EXE, tmp_path, None, answers)
    assert done.code == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0777" and variables["PrestartRole"] == "technician"
    assert variables["MachineObjectOU"].casefold() == LAB_A.casefold()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["user"] == "alice@example.test" and receipt["profile"].endswith(f"\\Prestart\\{PROFILE}")
    assert ALICE_PW not in written(tmp_path, bare.stdout, bare.stderr, done.stdout, done.stderr)


# -- the wizard ----------------------------------------------------------------------------------------------
# Wine drops X key events under load: each step waits for the trace line its keys should produce, and sends
# them again (or clears and retypes) when it did not come; nothing is assumed from a blind sleep.

OUTCOMES = ("sign-in refused", "sign-in unavailable", "sign-in locked out", "sign-in error", "signed in ")


def messages(run: WineUi) -> str:
    """Every message the wizard showed (its `message ...` trace lines)."""
    return "\n".join(e for e in run.events() if e.startswith("message "))


def stamp(run: WineUi, event: str) -> float:
    """When the wizard wrote the last trace line `event` (its own clock, time.time())."""
    lines = run.trace_file.read_text(encoding="utf-8").splitlines()
    return max(float(t) for t, _, e in (line.partition(" ") for line in lines) if e == event)


def first_of(run: WineUi, prefixes: tuple[str, ...], timeout: float) -> str | None:
    """The next trace line that starts with one of `prefixes` (the lines up to it are consumed), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = run.events()
        for index in range(run.seen, len(lines)):
            if lines[index].startswith(prefixes):
                run.seen = index + 1
                return lines[index]
        assert run.alive(), f"the wizard ended; events {lines}; stderr {run.stderr[-2000:]}"
        time.sleep(0.05)
    return None


def attempt(run: WineUi, password: str, *, while_busy: Callable[[], object] = lambda: None) -> str:
    """Type the password (its box has the focus), press Enter; the outcome's trace line."""
    run.type(password)
    run.press("Return", "sign-in busy")
    while_busy()
    line = first_of(run, OUTCOMES, 40)
    assert line is not None, f"the sign-in never ended: {run.events()}"
    return line


def retype_user(run: WineUi, user: str) -> None:
    """From the password box: back to the user box, empty it, type `user`, and Tab to the password again."""
    run.key("shift+Tab", "End", *["BackSpace"] * (len(user) + 4))
    run.type(user)
    run.key("Tab")


def check_name(run: WineUi, name: str) -> str:
    """Type `name` into the empty name box and press Enter; the check's outcome (`name exists ok` ...)."""
    for _ in range(3):
        run.type(name)
        asked = run.press("Return", "name check ", "invalid ")
        if asked == f"name check {name}":
            line = first_of(run, ("name ",), 40)
            assert line is not None, f"the name check never ended: {run.events()}"
            return line
        if asked.startswith("name check "):  # a dropped key changed the name: let its check end, then retype
            first_of(run, ("name ",), 40)
        run.key("End", *["BackSpace"] * (len(name) + 4))
    raise AssertionError(f"{name} could not be typed: {run.events()}")


def chosen_after(run: WineUi, key: str) -> list[str]:
    """Press `key` in the OU list; the DNs the trace says were chosen within a moment, folded."""
    run.key(key)
    return [e.removeprefix("ou chosen ou ").casefold() for e in run.quiet(0.8) if e.startswith("ou chosen ou ")]


def pick_ou(run: WineUi, words: str, first: str, dn: str) -> None:
    """Type `words` into the OU list's filter: Down must choose `first` (the filter's first row, not the list's),
    then Down until `dn` is chosen."""
    for _ in range(3):
        run.type(words)
        got = chosen_after(run, "Down") or chosen_after(run, "Down")  # again if wine dropped the first Down
        if got:
            break
        run.key("End", *["BackSpace"] * (len(words) + 4))  # what arrived of the words matched nothing: again
    assert first.casefold() in got, f"the filter {words!r} did not narrow the list: {got}; {run.events()}"
    for _ in range(4):
        if got[-1] == dn.casefold():
            return
        got = chosen_after(run, "Down") or got
    raise AssertionError(f"{dn} was never chosen: {run.events()}")


def test_wizard_signs_in_checks_the_name_and_picks_the_ou_under_wine(
        wine_ui: Start, slapd: Directory, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run = wine_ui("run", "--profile", profile(tmp_path, slapd, wizard=True, timeout=2), "--facts",
                  SPEC / "facts" / "laptop.json", "--sink", f"json:{win(out)}", "--log-dir", tmp_path / "log",
                  title=TITLE)
    run.wait("page signin")
    run.wait("drawn")
    run.focus()
    run.shot("directory-1-login")
    run.type("alice")
    run.key("Tab")
    # A directory that hangs: the progress shows while the bind waits, the window stays alive, the budget ends it.
    os.kill(slapd.pid, signal.SIGSTOP)
    try:
        outcome = attempt(run, ALICE_PW, while_busy=lambda: run.shot("directory-2-signing-in"))
    finally:
        os.kill(slapd.pid, signal.SIGCONT)
    assert outcome == "sign-in unavailable", run.events()
    waited = stamp(run, "sign-in unavailable") - stamp(run, "sign-in busy")
    assert waited < 6 + 2, waited  # the sign-in's budget (3 x 2 s) and a loaded machine's scheduling
    assert re.search(r"no answer within 2 s|did not finish the sign-in within 6 s", messages(run)), messages(run)
    assert attempt(run, WRONG_PW) == "sign-in refused 3"  # not counted: the directory's fault, not the person's
    assert "The user name or password is not correct. 3 attempts left." in messages(run)
    run.shot("directory-3-wrong-password")
    outcome = attempt(run, ALICE_PW)
    if outcome.startswith("sign-in refused"):  # wine dropped a key of the user name or the password
        retype_user(run, "alice")
        outcome = attempt(run, ALICE_PW)
    assert outcome == "signed in technician", run.events()
    run.wait("page name")  # a technician-only page: the role changed
    assert check_name(run, "LAB-0001") == "name exists ok"
    assert f"LAB-0001 exists in {LAB_A}" in messages(run) and "it will be reused" in messages(run)
    run.shot("directory-4-name-exists")
    run.press("Return", "page ou")  # Next again: this name anyway
    run.wait("ou loaded ou", timeout=30)
    run.wait("page ou")  # drawn again with the directory's OUs
    pick_ou(run, "building", LAB_A, f"ou=Building B,ou=Lab,{COMPUTERS}")  # without the filter: Lab first
    run.shot("directory-5-ou-picker")
    run.press("Return", "page confirm")
    run.press("Return", f"notice {NOT_FINISH}")  # Enter on the table commits nothing
    run.key("Tab", "Tab")
    run.press("Tab", "default Finish", timeout=2, tries=4)  # the table -> Cancel -> Back -> Finish
    run.press("Return", "finish")
    assert run.finish() == 0, run.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0001" and variables["PrestartRole"] == "technician"
    assert variables["MachineObjectOU"].casefold() == f"ou=Building B,ou=Lab,{COMPUTERS}".casefold()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["user"] == "alice@example.test" and receipt["role"] == "technician"
    everything = written(tmp_path, run.stdout, run.stderr)
    assert ALICE_PW not in everything and WRONG_PW not in everything


def open_login(wine_ui: Start, tmp: Path, profile_path: Path) -> tuple[WineUi, Path]:
    """The wizard on the profile's login page, with the keyboard focus; and where its variables would go."""
    out = tmp / "out.json"
    run = wine_ui("run", "--profile", profile_path, "--facts", SPEC / "facts" / "laptop.json", "--sink",
                  f"json:{win(out)}", "--log-dir", tmp / "log", title=TITLE)
    run.wait("page signin")
    run.wait("drawn")
    run.focus()
    first_of(run, ("focus ",), 3)  # the user box's, as the window takes the focus: not to be taken for a Tab's
    return run, out


def type_user(run: WineUi, user: str) -> None:
    """Type `user` into the user box and Tab to the password box, again if wine dropped the Tab (else the
    password would be typed after the user name)."""
    run.type(user)
    run.press("Tab", "focus ")


def sign_in(run: WineUi, user: str, password: str) -> str:
    """Type `user` (the user box has the focus) and `password`, press Enter; the outcome's trace line. A refusal
    of the right password is a dropped key: the user name is typed again, and the password."""
    type_user(run, user)
    outcome = attempt(run, password)
    if outcome.startswith("sign-in refused"):
        retype_user(run, user)
        outcome = attempt(run, password)
    return outcome


def tab_to(run: WineUi, button: str, tries: int = 6) -> None:
    """Tab until `button` is the default (one Tab wine dropped is sent again). A Tab from a button traces
    `default none` as the focus leaves it, then the next button's line: the button's line is the one that counts."""
    buttons = tuple(f"default {b}" for b in ("Cancel", "Back", "Next", "Finish"))
    for _ in range(tries):
        if run.press("Tab", *buttons, timeout=2) == f"default {button}":
            return
    raise AssertionError(f"{button} never became the default: {run.events()}")


def test_wizard_ends_the_run_with_5_at_the_limit_of_failed_sign_ins_under_wine(
        wine_ui: Start, slapd: Directory, tmp_path: Path) -> None:
    last_pw = ALICE_PW[::-1]  # another wrong password, a canary too
    run, out = open_login(wine_ui, tmp_path, profile(tmp_path, slapd, wizard=True, max_attempts=2))
    type_user(run, "alice")
    assert attempt(run, WRONG_PW) == "sign-in refused 1", run.events()
    assert "The user name or password is not correct. 1 attempt left." in messages(run)
    run.shot("directory-6-last-attempt")
    assert attempt(run, last_pw) == "sign-in locked out", run.events()
    assert run.finish() == 5, run.stderr  # the window closes: the task sequence sees 5 (docs/profiles.md)
    assert "sign-in failed 2 times; locked out" in run.stderr and "restart the computer" in run.stderr
    assert not out.exists()
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 5 and receipt["result"] == "access_denied" and not receipt.get("variables")
    everything = written(tmp_path, run.stdout, run.stderr)
    assert WRONG_PW not in everything and last_pw not in everything


def test_kiosk_sign_in_keeps_a_student_in_the_kiosk_and_gives_a_technician_its_pages_under_wine(
        wine_ui: Start, slapd: Directory, tmp_path: Path) -> None:
    # mode: kiosk starts in the kiosk role; the login page's groups say Students: kiosk, the technicians'
    # group: technician. The name and OU pages are for technicians only.
    path = profile(tmp_path, slapd, wizard=True, kiosk=True)
    student = tmp_path / "student"
    student.mkdir()
    run, out = open_login(wine_ui, student, path)
    assert sign_in(run, "bob", BOB_PW) == "signed in kiosk", run.events()
    run.wait("page confirm")  # straight past the technician pages
    run.press("alt+F4", "close ignored")  # still the kiosk: no way out but the pages
    run.key("Escape")  # Back in an ordinary window; nothing in the kiosk
    assert "page signin" not in run.quiet(0.8) and run.alive()
    run.shot("directory-7-kiosk-student")
    tab_to(run, "Finish")
    run.press("Return", "finish")
    assert run.finish() == 0, run.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["PrestartRole"] == "kiosk"
    assert "OSDComputerName" not in variables and "MachineObjectOU" not in variables
    receipt = json.loads((student / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["user"] == "bob@example.test" and receipt["role"] == "kiosk"
    technician = tmp_path / "technician"
    technician.mkdir()
    first = run
    run, out = open_login(wine_ui, technician, path)
    assert sign_in(run, "alice", ALICE_PW) == "signed in technician", run.events()
    run.wait("page name")  # the technician's pages, in the same kiosk profile
    run.shot("directory-8-kiosk-technician")
    run.stop()
    assert not out.exists()
    everything = written(tmp_path, first.stdout, first.stderr, run.stdout, run.stderr)
    assert BOB_PW not in everything and ALICE_PW not in everything
