"""The wizard's login page, computer name check and OU picker against a real slapd over LDAPS, driven by real key
events (xdotool) on Xvfb: sign-in and the role it gives, each refusal's message, lockout (exit 5), a hung
directory within its budget, the name check's warn and block modes, the OU tree and filtered list, and canaries."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SPEC, exit_status
from tests.ldap_server import (
    ALICE_PW,
    BOB_PW,
    COMPUTERS,
    DAVE_PW,
    SUFFIX,
    Directory,
)
from tests.ui.conftest import UiRun

pytestmark = pytest.mark.x11

Start = Callable[..., UiRun]
TITLE = "Directory sign-in"
TECHS = f"cn=Imaging Technicians,ou=Groups,{SUFFIX}"
WRONG_PW = "Canary-Wrong-3e9f01"
NOT_FINISH = "Nothing is changed until you press Finish itself (Tab to it, or click it)."


def profile(tmp: Path, directory: Directory, *, ca: Path | None = None, exists: str = "warn", view: str = "tree",
            max_attempts: int = 3, timeout: float = 3, server: str = "") -> Path:
    data = {
        "version": 1,
        "title": TITLE,
        "pages": [
            {"id": "signin", "type": "login", "title": "Sign in", "text": "Sign in with your directory account.",
             "max_attempts": max_attempts,
             "ldap": {"server": server or directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE",
                      "upn_suffix": "example.test", "ca_bundle": str(ca or directory.ca_pem), "timeout": timeout},
             "groups": {TECHS: "technician", "Students": "kiosk"}},
            {"id": "name", "roles": ["technician"], "fields": [
                {"id": "computername", "type": "text", "label": "Computer name", "variable": "OSDComputerName",
                 "validate": "netbios", "required": True,
                 "directory_check": {"exists": exists, "unavailable": "block", "timeout": 3}}]},
            {"id": "ou", "roles": ["technician"], "fields": [
                {"id": "ou", "type": "ou", "label": "Organizational unit", "variable": "MachineObjectOU",
                 "required": True,
                 "ou": {"base_dn": COMPUTERS, "view": view, "allow": [f"ou=Lab,{COMPUTERS}"], "page_size": 2}}]},
            {"id": "confirm", "type": "confirm", "text": "Ready."},
        ],
    }
    path = tmp / "signin.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def start(ui: Start, tmp: Path, profile_path: Path) -> tuple[UiRun, Path]:
    out = tmp / "out.json"
    run = ui("run", "--profile", str(profile_path), "--facts", str(SPEC / "facts" / "laptop.json"),
             "--sink", f"json:{out}", "--log-dir", str(tmp / "logs"), title=TITLE)
    run.ready("signin")
    run.focus()
    return run, out


def sign_in(run: UiRun, user: str, password: str) -> None:
    """Type a user name and password into the login page (the user box has the focus) and press Enter."""
    run.type(user)
    run.key("Tab")
    run.type(password)
    run.key("Return")
    run.wait("sign-in busy", timeout=20)


def messages(run: UiRun) -> str:
    return "\n".join(e for e in run.events() if e.startswith("message "))


def everything(tmp: Path, run: UiRun) -> str:
    """stdout, stderr and every file the run wrote (log, receipt, variables, the UI trace), as one text."""
    texts = [run.stdout, run.stderr]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(tmp.rglob("*")) if p.is_file()]
    return "\n".join(texts)


@pytest.fixture
def frozen(slapd: Directory) -> Callable[[bool], None]:
    """freeze(True) stops slapd with SIGSTOP (it answers nothing); it is always let go at the end."""
    pid = int((slapd.root / "slapd.pid").read_text().split()[0])
    state = {"stopped": False}

    def freeze(stop: bool) -> None:
        os.kill(pid, signal.SIGSTOP if stop else signal.SIGCONT)
        state["stopped"] = stop

    yield freeze  # type: ignore[misc]
    if state["stopped"]:
        os.kill(pid, signal.SIGCONT)


def test_a_technician_signs_in_checks_a_name_and_picks_an_ou_in_the_tree(
        ui: Start, slapd: Directory, tmp_path: Path) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd))
    run.shot("signin-1-login")
    sign_in(run, "alice", WRONG_PW)
    run.wait("sign-in refused 2", timeout=20)
    assert "not correct. 2 attempts left" in messages(run)
    run.shot("signin-2-refused")
    run.type(ALICE_PW)  # the focus is back in the password box; the user name was kept
    run.key("Return")
    run.wait("signed in technician", timeout=20)
    run.wait("page name")  # a technician-only page: the role changed
    run.type("LAB-0001")
    run.key("Return")
    run.wait("name check LAB-0001")
    run.wait("name exists ok", timeout=20)
    assert "LAB-0001 exists in ou=Building A,ou=Lab,ou=Computers" in messages(run)
    run.shot("signin-3-name-exists-warning")
    assert run.quiet(0.3) == []  # the warning waits for Next
    assert "notice Computer name: see the warning under it. Press Next again to go on." in run.events()
    run.key("BackSpace")  # a changed name: the warning and its notice go, and Next asks again
    run.wait("notice cleared")
    run.type("1")
    run.key("Return")
    run.wait("name check LAB-0001")
    run.wait("name exists ok", timeout=20)
    run.key("Return")  # Next again: this name anyway
    run.wait("page ou")
    run.wait("ou loaded ou", timeout=20)
    run.wait("page ou")
    run.key("Down", "Down")  # the tree: Lab > Building A, Building B (only Lab is allowed)
    run.shot("signin-4-ou-tree")
    run.key("Return")
    run.wait("page confirm")
    run.key("Return")  # Enter from the table of variables commits nothing (docs/ui.md "Keyboard")
    run.wait(f"notice {NOT_FINISH}")
    run.key("Tab", "Tab", "Tab")  # the table -> Cancel -> Back -> Finish, now drawn as the default
    run.wait("default Finish")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0001"
    assert variables["MachineObjectOU"].casefold() == f"ou=Building B,ou=Lab,{COMPUTERS}".casefold()
    assert variables["PrestartRole"] == "technician"
    receipt = json.loads((tmp_path / "logs" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["user"] == "alice@example.test" and receipt["role"] == "technician"
    written = everything(tmp_path, run)
    assert ALICE_PW not in written and WRONG_PW not in written


def test_a_student_stays_kiosk_and_sees_no_technician_page(ui: Start, slapd: Directory, tmp_path: Path) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd))
    sign_in(run, "bob@example.test", BOB_PW)
    run.wait("signed in kiosk", timeout=20)
    run.wait("page confirm")
    run.key("Return")  # Enter from the table of variables commits nothing
    run.wait(f"notice {NOT_FINISH}")
    run.key("Tab", "Tab", "Return")  # the table -> Cancel -> Back, and Enter presses it
    run.wait("page signin")
    run.key("Return")  # signed in already: Next goes on without asking again
    run.wait("page confirm")
    run.key("Tab", "Tab", "Tab")  # the table -> Cancel -> Back -> Finish
    run.wait("default Finish")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["PrestartRole"] == "kiosk" and "OSDComputerName" not in variables
    assert BOB_PW not in everything(tmp_path, run)


def test_the_limit_of_failures_ends_the_run_with_5_and_writes_nothing(
        ui: Start, slapd: Directory, tmp_path: Path) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd, max_attempts=2))
    sign_in(run, "alice", WRONG_PW)
    run.wait("sign-in refused 1", timeout=20)
    run.type(ALICE_PW[::-1])  # another wrong password: the last attempt
    run.key("Return")
    run.wait("sign-in locked out", timeout=20)
    assert run.communicate() == exit_status(5)
    assert "locked out" in run.stderr
    assert not out.exists()
    written = everything(tmp_path, run)
    assert WRONG_PW not in written and ALICE_PW[::-1] not in written


def test_a_locked_account_and_a_foreign_certificate_each_say_so(ui: Start, slapd: Directory, tmp_path: Path) -> None:
    run, _out = start(ui, tmp_path, profile(tmp_path, slapd))
    sign_in(run, "dave", DAVE_PW)
    run.wait("sign-in refused 2", timeout=20)
    assert "This account is locked out in the directory" in messages(run)
    run.shot("signin-5-locked-account")
    run.stop()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    run, out = start(ui, foreign, profile(foreign, slapd, ca=slapd.other_ca_pem))
    sign_in(run, "alice", ALICE_PW)
    run.wait("sign-in unavailable", timeout=20)
    assert "TLS error" in messages(run) and "CA bundle" in messages(run)
    run.shot("signin-6-foreign-certificate")
    run.stop()
    assert not out.exists()
    assert ALICE_PW not in everything(foreign, run)
    # The certificate names 127.0.0.1 and localhost; the IPv4-mapped IPv6 address reaches the same slapd
    # under a name the certificate does not have: another host, as far as TLS is concerned.
    other_host = tmp_path / "other-host"
    other_host.mkdir()
    run, out = start(ui, other_host, profile(other_host, slapd, server=f"ldaps://[::ffff:127.0.0.1]:{slapd.port}"))
    sign_in(run, "alice", ALICE_PW)
    run.wait("sign-in unavailable", timeout=20)
    assert "TLS error" in messages(run)
    run.stop()
    assert not out.exists()
    assert ALICE_PW not in everything(other_host, run) and DAVE_PW not in everything(tmp_path, run)


def test_a_hung_directory_costs_its_budget_and_the_window_stays_usable(
        ui: Start, slapd: Directory, tmp_path: Path, frozen: Callable[[bool], None]) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd, timeout=2))
    frozen(True)
    began = time.monotonic()
    sign_in(run, "alice", ALICE_PW)
    run.wait("sign-in unavailable", timeout=20)
    assert time.monotonic() - began < 8  # a 2 s budget (connect, then a read), never the whole run
    assert "sign-in server" in messages(run)
    run.shot("signin-7-directory-hangs")
    frozen(False)
    run.type(ALICE_PW)  # not counted as a failure: the directory, not the person
    run.key("Return")
    run.wait("signed in technician", timeout=20)
    run.wait("page name")
    run.stop()
    assert not out.exists()
    assert ALICE_PW not in everything(tmp_path, run)


def test_block_mode_keeps_the_page_until_the_name_is_free_and_the_ou_list_filters(
        ui: Start, slapd: Directory, tmp_path: Path) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd, exists="block", view="list"))
    sign_in(run, "alice", ALICE_PW)
    run.wait("page name", timeout=20)
    run.type("STAFF-0042")
    run.key("Return")
    run.wait("name exists block", timeout=20)
    assert "STAFF-0042 already exists in ou=Staff" in messages(run)
    run.shot("signin-8-name-blocked")
    run.key("Return")  # Next again: still blocked
    assert "page ou" not in run.quiet(0.5)
    run.key(*["BackSpace"] * 10)
    run.type("LAB-0777")
    run.key("Return")
    run.wait("name free ok", timeout=20)
    run.wait("page ou")
    run.wait("ou loaded ou", timeout=20)
    run.wait("page ou")
    run.type("building")  # the filter box has the focus: Lab itself is filtered out
    run.key("Down", "Down")  # Building A, Building B (without the filter: Lab, Building A)
    run.wait(f"ou chosen ou ou=Building B,ou=Lab,{COMPUTERS}")
    run.shot("signin-9-ou-list-filtered")
    run.key("Return")
    run.wait("page confirm")
    run.key("Tab", "Tab", "Tab")  # the table -> Cancel -> Back -> Finish
    run.wait("default Finish")
    run.key("Return")
    run.wait("finish")
    assert run.communicate() == 0, run.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["OSDComputerName"] == "LAB-0777"
    assert variables["MachineObjectOU"].casefold() == f"ou=Building B,ou=Lab,{COMPUTERS}".casefold()


def test_preview_signs_nobody_in_and_asks_the_directory_nothing(display: str, tmp_path: Path) -> None:
    """`prestart preview` never talks to the network: the login page says so and Next goes on with --role's
    pages; the name check is not asked; a directory OU field says where its OUs come from in a real run."""
    from agent.flow import Flow
    from agent.profile import load_profile
    from ui.app import App

    unreachable = Directory(url="ldaps://127.0.0.1:9", port=9, ca_pem=tmp_path / "none.pem",
                            other_ca_pem=tmp_path / "none.pem", root=tmp_path)
    flow = Flow(load_profile(profile(tmp_path, unreachable)), None, {}, role="technician")
    app = App(flow, preview=True)
    seen: list[str] = []

    def walk() -> None:
        for _ in range(2):  # login -> name (no sign-in, no name check) -> ou
            flow.answers["computername"] = "LAB-0001"
            app.next()
            seen.append(flow.profile.pages[app.pos].id)
        seen.append(" ".join(texts(app.body)))
        app.fail(Cancelled("test over"))

    def texts(widget: Any) -> list[str]:
        own = [str(widget.cget("text"))] if "text" in widget.keys() else []  # noqa: SIM118 (a Tk widget is no dict)
        return own + [t for child in widget.winfo_children() for t in texts(child)]

    from agent.errors import Cancelled

    app.root.after(100, walk)
    with pytest.raises(Cancelled):
        app.run()
    assert seen[:2] == ["name", "ou"]
    assert "read from the directory after sign-in in a real run" in seen[2]
    assert flow.directory is None and flow.user == "" and flow.name_checks == {}


def test_the_offline_pin_signs_in_where_the_page_allows_it(ui: Start, slapd: Directory, tmp_path: Path) -> None:
    from agent.auth.pin import hash_pin

    path = profile(tmp_path, slapd)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["pages"][0]["allow_pin"] = True
    data["mode"] = "kiosk"
    data["kiosk"] = {"technician_unlock": {"pin_hash": hash_pin("482913", n=1024), "role": "technician"}}
    path.write_text(json.dumps(data), encoding="utf-8")
    run, out = start(ui, tmp_path, path)
    run.key("Tab", "Tab")  # user name -> password -> the PIN box
    run.type("000000")
    run.key("Return")
    run.wait("sign-in refused 2", timeout=20)
    assert "The PIN is not correct. 2 attempts left." in messages(run)
    run.type("482913")  # the focus went back to the PIN box
    run.key("Return")
    run.wait("signed in technician", timeout=20)
    run.wait("page name")  # the technician's pages, as after the kiosk unlock
    run.stop()
    assert not out.exists()
    assert "482913" not in everything(tmp_path, run)


def test_a_directory_that_hangs_during_the_name_check_blocks_until_signed_in_again(
        ui: Start, slapd: Directory, tmp_path: Path, frozen: Callable[[bool], None]) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd))  # unavailable: block, a 3 s budget
    sign_in(run, "alice", ALICE_PW)
    run.wait("page name", timeout=20)
    frozen(True)
    began = time.monotonic()
    run.type("LAB-0001")
    run.key("Return")
    run.wait("name unavailable block", timeout=20)
    assert time.monotonic() - began < 7  # the check's 3 s budget
    assert "did not answer within 3 s" in messages(run) and "sign in again" in messages(run)
    run.shot("signin-10-name-check-directory-hangs")
    frozen(False)
    run.key("Return")  # the session ended with the budget: still blocked, and it says how to go on
    run.wait("name unavailable block", timeout=20)
    run.key("Escape")  # Back to the login page: sign in again
    run.wait("page signin")
    sign_in(run, "alice", ALICE_PW)
    run.wait("page name", timeout=20)
    run.key("Return")  # the name typed is kept; the new session answers
    run.wait("name exists ok", timeout=20)
    run.stop()
    assert not out.exists()
    assert ALICE_PW not in everything(tmp_path, run)


def test_a_name_changed_while_the_directory_is_asked_is_checked_again(
        ui: Start, slapd: Directory, tmp_path: Path, frozen: Callable[[bool], None]) -> None:
    run, out = start(ui, tmp_path, profile(tmp_path, slapd, exists="block"))
    sign_in(run, "alice", ALICE_PW)
    run.wait("page name", timeout=20)
    run.type("STAFF-0042")
    frozen(True)  # the directory holds its answer about STAFF-0042 (within the check's 3 s budget)...
    run.key("Return")
    run.wait("name check STAFF-0042")
    run.key(*["BackSpace"] * 10)  # ...while the name is changed to a free one
    run.type("LAB-0777")
    frozen(False)
    run.wait("name check outdated STAFF-0042", timeout=20)  # that answer is about the old name: not shown
    assert "STAFF-0042" not in messages(run)
    assert run.quiet(0.3) == []  # the page stays, with nothing said about the old name
    run.key("Return")  # Next asks about the name now in the box
    run.wait("name check LAB-0777")
    run.wait("name free ok", timeout=20)
    run.wait("page ou")
    run.stop()
    assert not out.exists()
