"""Sign-in against a real slapd over LDAPS on loopback: name forms, wrong passwords, groups to roles, TLS, lockout."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from agent.auth.ldap import AuthFailed, map_role, parse_account, sign_in
from agent.errors import AccessDenied, InputError, SourceUnavailable
from agent.profile.model import LdapSettings
from tests.conftest import SPEC, LogCapture, exit_status, run_prestart
from tests.ldap_server import ALICE_PW, BOB_PW, CAROL_PW, SUFFIX, Directory, free_port

TECHS = f"cn=Imaging Technicians,ou=Groups,{SUFFIX}"
STUDENTS = f"cn=Students,ou=Groups,{SUFFIX}"
LAB_ADMINS = f"cn=Lab Admins,ou=Groups,{SUFFIX}"


def settings(directory: Directory, **kw: object) -> LdapSettings:
    values: dict[str, object] = {"server": directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE",
                                 "upn_suffix": "example.test", "timeout": 3.0}
    values.update(kw)
    return LdapSettings(**values)  # type: ignore[arg-type]


def folded(groups: tuple[str, ...]) -> set[str]:
    return {g.replace(" ", "").casefold() for g in groups}


# -- name forms and groups ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["alice@example.test", "EXAMPLE\\alice", "example\\Alice", "alice"])
def test_every_name_form_signs_in(slapd: Directory, user: str) -> None:
    result = sign_in(settings(slapd), user, ALICE_PW, ca_bundle=slapd.ca_pem)
    assert result.dn == f"uid=alice,ou=People,{SUFFIX}"
    assert result.user == "alice@example.test"
    assert folded(result.groups) == folded((TECHS, STUDENTS))


def test_groups_without_memberof_are_found_by_unique_member(slapd: Directory) -> None:
    result = sign_in(settings(slapd), "carol", CAROL_PW, ca_bundle=slapd.ca_pem)
    assert folded(result.groups) == folded((LAB_ADMINS,))


def test_group_to_role_by_dn_or_name_case_insensitively(slapd: Directory) -> None:
    mapping = [(TECHS.upper().replace(",", ", "), "technician"), ("students", "kiosk"), ("Lab Admins", "labadmin")]
    alice = sign_in(settings(slapd), "alice", ALICE_PW, ca_bundle=slapd.ca_pem)
    bob = sign_in(settings(slapd), "bob", BOB_PW, ca_bundle=slapd.ca_pem)
    carol = sign_in(settings(slapd), "carol", CAROL_PW, ca_bundle=slapd.ca_pem)
    assert map_role(alice.groups, mapping) == "technician"  # first mapping entry that matches wins
    assert map_role(bob.groups, mapping) == "kiosk"
    assert map_role(carol.groups, dict(mapping)) == "labadmin"
    assert map_role(bob.groups, [("Imaging Technicians", "technician")]) is None


# -- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("user,password", [
    ("alice", "not-her-password"),
    ("mallory", ALICE_PW),  # unknown user: the same answer as a wrong password
    ("alice", ""),  # an empty password would be an anonymous bind, which succeeds
    ("*", ALICE_PW),  # a filter wildcard is escaped, not a way to match everyone
    ("alice)(uid=*", ALICE_PW),
    ("OTHER\\alice", ALICE_PW),  # a domain this page does not sign in to
])
def test_refused_attempts_say_nothing_useful_and_never_echo_the_password(
        slapd: Directory, user: str, password: str) -> None:
    with pytest.raises(AuthFailed) as caught:
        sign_in(settings(slapd), user, password, ca_bundle=slapd.ca_pem)
    assert caught.value.code == 5
    if password:
        assert password not in str(caught.value)
    assert "mallory" not in str(caught.value)


def test_a_password_typed_into_the_user_box_is_never_logged(slapd: Directory, logs: LogCapture) -> None:
    with pytest.raises(AuthFailed):
        sign_in(settings(slapd), ALICE_PW, "not-the-password", ca_bundle=slapd.ca_pem)
    assert "sign-in refused" in logs.text() and ALICE_PW not in logs.text()


def test_a_user_name_of_200k_characters_is_refused_at_once(slapd: Directory) -> None:
    start = time.monotonic()
    with pytest.raises(AuthFailed):
        sign_in(settings(slapd), "a" * 200_000, ALICE_PW, ca_bundle=slapd.ca_pem)
    assert time.monotonic() - start < 1


def test_a_directory_that_answers_a_byte_at_a_time_cannot_outlast_the_budget(tmp_path: Path) -> None:
    """TLS completes, then the "directory" sends an LDAP message one byte every 0.3 s: ldap3's timeouts are per
    read, so only the sign-in's total budget (3 x timeout) ends it (issue 19)."""
    import socket
    import ssl
    import threading

    from tests.agent.catalog.loopback import make_pki

    pki = make_pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki.cert.configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            for byte in b"\x30\x84\x00\x00\x10\x00" + b"\x02" * 4096:
                if stop.wait(0.3):
                    return
                tls.sendall(bytes([byte]))

    threading.Thread(target=serve, daemon=True).start()
    start = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable) as caught:
            sign_in(LdapSettings(server=f"ldaps://127.0.0.1:{listener.getsockname()[1]}", timeout=1), "alice",
                    ALICE_PW, ca_bundle=pki.bundle)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - start < 5
    assert "within 3 s" in caught.value.message and ALICE_PW not in str(caught.value)


def test_a_server_without_tls_is_refused_before_any_traffic() -> None:
    with pytest.raises(InputError, match="ldaps://"):
        sign_in(LdapSettings(server="ldap://127.0.0.1:389"), "alice", ALICE_PW, ca_bundle=None)


def test_a_certificate_from_another_ca_is_refused(slapd: Directory) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        sign_in(settings(slapd), "alice", ALICE_PW, ca_bundle=slapd.other_ca_pem)
    assert "TLS error" in caught.value.message and "CA bundle" in caught.value.hint
    assert ALICE_PW not in str(caught.value)


def test_a_host_name_the_certificate_does_not_name_is_refused(slapd: Directory, tmp_path: Path) -> None:
    # The certificate names 127.0.0.1 and localhost; the IPv4-mapped IPv6 address reaches the same listener
    # but is a different name, so the host name check must refuse it.
    with pytest.raises(SourceUnavailable, match=r"TLS error talking to the sign-in server ldaps://\[::ffff:127"):
        sign_in(settings(slapd, server=f"ldaps://[::ffff:127.0.0.1]:{slapd.port}"), "alice", ALICE_PW,
                ca_bundle=slapd.ca_pem)


def test_server_down_is_unavailable_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(SourceUnavailable, match="connection refused") as caught:
        sign_in(LdapSettings(server=f"ldaps://127.0.0.1:{free_port()}", base_dn=SUFFIX, timeout=2),
                "alice", ALICE_PW, ca_bundle=None)
    assert time.monotonic() - start < 2
    assert "offline PIN" in caught.value.hint


def test_a_server_that_never_answers_times_out_within_the_profile_timeout(silent_port: int, slapd: Directory) -> None:
    start = time.monotonic()
    with pytest.raises(SourceUnavailable):
        sign_in(LdapSettings(server=f"ldaps://127.0.0.1:{silent_port}", base_dn=SUFFIX, timeout=1),
                "alice", ALICE_PW, ca_bundle=slapd.ca_pem)
    assert time.monotonic() - start < 4


def test_user_names_are_normalised() -> None:
    s = LdapSettings(server="ldaps://dc", domain="CORP", upn_suffix="corp.example")
    assert parse_account("CORP\\alice", s).upn == "alice@corp.example"
    assert parse_account(" alice ", s).downlevel == "CORP\\alice"
    assert parse_account("alice@other.example", s).upn == "alice@other.example"
    for bad in ("", "\\alice", "CORP\\", "@corp", "a\nb"):
        with pytest.raises(AuthFailed):
            parse_account(bad, s)


def test_a_run_without_a_login_page_never_imports_ldap3(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code = (
        "import sys; from agent.cli import main; "
        f"rc = main(['run', '--profile', r'{SPEC / 'technician.yaml'}', '--catalog', r'{SPEC / 'catalog.json'}', "
        f"'--facts', r'{SPEC / 'facts' / 'laptop.json'}', "
        f"'--answers', r'{SPEC / 'answers' / 'technician-laptop.yaml'}', "
        f"'--unattended', '--sink', r'json:{out}', '--log-dir', r'{tmp_path}']); "
        "print('LDAP3' if 'ldap3' in sys.modules else 'CLEAN', rc)"
    )
    import subprocess

    from tests.conftest import REPO

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.split() == ["CLEAN", "0"], done.stderr


# -- the CLI: an unattended login page ---------------------------------------------------------------


def login_profile(tmp_path: Path, directory: Directory, *, ca: Path | None = None, max_attempts: int = 3) -> Path:
    profile = {
        "version": 1,
        "title": "Sign-in test",
        "pages": [
            {
                "id": "signin",
                "type": "login",
                "ldap": {"server": directory.url, "base_dn": SUFFIX, "domain": "EXAMPLE",
                         "upn_suffix": "example.test", "ca_bundle": str(ca or directory.ca_pem), "timeout": 3},
                "groups": {TECHS: "technician", "Students": "kiosk"},
                "max_attempts": max_attempts,
            },
            {
                "id": "details",
                "fields": [
                    {"id": "note", "type": "text", "variable": "PrestartNote", "default": "everyone"},
                    {"id": "tech", "type": "text", "variable": "PrestartTechOnly", "default": "yes",
                     "roles": ["technician"]},
                ],
            },
        ],
    }
    path = tmp_path / "login.yaml"
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def run_login(tmp_path: Path, directory: Directory, answer: dict[str, object], env: dict[str, str], **kw: object):  # type: ignore[no-untyped-def]
    profile = login_profile(tmp_path, directory, **kw)  # type: ignore[arg-type]
    answers = tmp_path / "answers.yaml"
    answers.write_text(json.dumps({"signin": answer}), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart("run", "--profile", str(profile), "--facts", str(SPEC / "facts" / "laptop.json"),
                        "--answers", str(answers), "--unattended", "--sink", f"json:{out}",
                        "--log-dir", str(tmp_path / "log"), env=env)
    return done, out


def everything_written(tmp_path: Path, done) -> str:  # type: ignore[no-untyped-def]
    """stdout, stderr and every file the run left (log, receipt, variables), as one text."""
    texts = [done.stdout, done.stderr]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def test_unattended_sign_in_sets_the_role_and_the_pages_follow_it(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_login(tmp_path, slapd, {"user": "EXAMPLE\\alice", "password_env": "PRESTART_TEST_PW"},
                          {"PRESTART_TEST_PW": ALICE_PW})
    assert done.returncode == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["PrestartRole"] == "technician"
    assert variables["PrestartTechOnly"] == "yes"
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["role"] == "technician" and receipt["user"] == "alice@example.test"
    assert ALICE_PW not in everything_written(tmp_path, done)


def test_a_student_gets_the_kiosk_role_and_not_the_technician_field(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_login(tmp_path, slapd, {"user": "bob@example.test", "password_env": "PW"}, {"PW": BOB_PW})
    assert done.returncode == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    assert variables["PrestartRole"] == "kiosk"
    assert "PrestartTechOnly" not in variables
    assert BOB_PW not in everything_written(tmp_path, done)


@pytest.mark.parametrize("user,env", [
    ("alice", {"PW": "Canary-Wrong-55d1e0"}),  # wrong password
    ("carol", {"PW": CAROL_PW}),  # right password, but no group this page maps to a role
])
def test_unattended_refusal_exits_5_writes_nothing_and_leaks_nothing(
        slapd: Directory, tmp_path: Path, user: str, env: dict[str, str]) -> None:
    done, out = run_login(tmp_path, slapd, {"user": user, "password_env": "PW"}, env)
    assert done.returncode == exit_status(5), done.stderr
    assert "locked out" in done.stderr
    assert not out.exists()
    assert env["PW"] not in everything_written(tmp_path, done)
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 5 and receipt["result"] == "access_denied"


def test_a_password_in_the_answers_file_is_refused(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_login(tmp_path, slapd, {"user": "alice", "password": ALICE_PW}, {})
    assert done.returncode == 13
    assert "never write a password" in done.stderr
    assert ALICE_PW not in done.stderr + done.stdout
    assert not out.exists()


def test_a_missing_password_variable_is_not_found(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_login(tmp_path, slapd, {"user": "alice", "password_env": "PRESTART_UNSET_PW"}, {})
    assert done.returncode == exit_status(1168)
    assert "PRESTART_UNSET_PW" in done.stderr
    assert not out.exists()


def test_unattended_with_a_foreign_ca_exits_with_the_tls_reason(slapd: Directory, tmp_path: Path) -> None:
    done, out = run_login(tmp_path, slapd, {"user": "alice", "password_env": "PW"}, {"PW": ALICE_PW},
                          ca=slapd.other_ca_pem)
    assert done.returncode == 13
    assert "TLS error" in done.stderr
    assert not out.exists()
    assert ALICE_PW not in everything_written(tmp_path, done)


# -- the gate ----------------------------------------------------------------------------------------


def test_gate_counts_attempts_and_locks_out_after_max_attempts(slapd: Directory, tmp_path: Path) -> None:
    from agent.auth.signin import SignInGate
    from agent.flow import Flow
    from agent.profile import load_profile

    profile = load_profile(login_profile(tmp_path, slapd, max_attempts=3))
    flow = Flow(profile, None, {})
    gate = SignInGate(flow, profile.pages[0], ca_bundle=None)
    for remaining in (2, 1):
        with pytest.raises(AuthFailed) as caught:
            gate.sign_in("alice", "wrong-" + str(remaining))
        assert caught.value.remaining == remaining
    with pytest.raises(AccessDenied) as denied:
        gate.sign_in("alice", "wrong-0")
    assert not isinstance(denied.value, AuthFailed) and denied.value.code == 5
    with pytest.raises(AccessDenied):
        gate.sign_in("alice", ALICE_PW)  # locked out: even the right password is not tried
    # Every password tried is masked for the rest of the run, but none is kept as text (agent.secretprint).
    from agent.log import Redactor

    assert not any(isinstance(s, str) for s in flow.secrets)
    text = " ".join(["wrong-2", "wrong-1", "wrong-0", ALICE_PW])
    assert Redactor(flow.secrets).redact(text) == " ".join(["********"] * 4)


def test_gate_success_resets_failures_and_sets_the_role(slapd: Directory, tmp_path: Path) -> None:
    from agent.auth.signin import SignInGate
    from agent.flow import Flow
    from agent.profile import load_profile

    profile = load_profile(login_profile(tmp_path, slapd))
    flow = Flow(profile, None, {}, role="kiosk")
    gate = SignInGate(flow, profile.pages[0])
    with pytest.raises(AuthFailed):
        gate.sign_in("alice", "nope")
    signed = gate.sign_in("alice", ALICE_PW)
    assert (signed.role, signed.method, flow.role, gate.failures) == ("technician", "ldap", "technician", 0)
    assert not gate.pin_allowed  # the page does not say allow_pin


def test_gate_offers_the_pin_only_where_the_page_allows_it(tmp_path: Path) -> None:
    from agent.auth.pin import hash_pin
    from agent.auth.signin import SignInGate
    from agent.flow import Flow
    from agent.profile import load_profile

    pin_hash = hash_pin("482913", n=1024)
    for allow in (False, True):
        path = tmp_path / f"pin-{allow}.yaml"
        path.write_text(json.dumps({
            "version": 1, "mode": "kiosk",
            "kiosk": {"technician_unlock": {"pin_hash": pin_hash, "role": "technician"}},
            "pages": [{"id": "signin", "type": "login", "allow_pin": allow, "max_attempts": 2,
                       "ldap": {"server": "ldaps://127.0.0.1:1"}}],
        }), encoding="utf-8")
        profile = load_profile(path)
        flow = Flow(profile, None, {})
        gate = SignInGate(flow, profile.pages[0])
        if not allow:
            with pytest.raises(AccessDenied, match="does not accept the offline PIN"):
                gate.sign_in_pin("482913")
            continue
        with pytest.raises(AuthFailed):
            gate.sign_in_pin("000000")
        assert gate.sign_in_pin("482913").role == "technician" and flow.role == "technician"
