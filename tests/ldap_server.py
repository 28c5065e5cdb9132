"""A real OpenLDAP slapd on 127.0.0.1 with LDAPS (trustme certificates), users, groups, OUs and computers: the
`slapd` fixture (registered by tests/conftest.py) for the sign-in and directory tests on Linux and under wine."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from agent.proc import stop

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PW = "admin-Secret-1"

# Passwords are canaries: tests assert these strings never appear in any output.
ALICE_PW = "Canary-Alice-7f3b9d"
BOB_PW = "Canary-Bob-1e55c2"
CAROL_PW = "Canary-Carol-92aa41"
DAVE_PW = "Canary-Dave-4c07e2"  # dave's account is locked (ppolicy): his right password is refused

# Where the directory keeps computers: OUs under ou=Computers, and objects the name check must find.
COMPUTERS = f"ou=Computers,{SUFFIX}"
OUS = ("Lab", "Staff", "Kiosks", "Building A,ou=Lab", "Building B,ou=Lab")
EXISTING_COMPUTERS = {"LAB-0001": f"ou=Building A,ou=Lab,{COMPUTERS}", "STAFF-0042": f"ou=Staff,{COMPUTERS}"}

# The two Active Directory attributes sign-in reads (AD's own OIDs), so slapd entries look like AD users.
AD_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.619 NAME 'dNSHostName'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'prestartADUser' SUP top AUXILIARY
    MAY ( userPrincipalName $ sAMAccountName ) )
objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP top STRUCTURAL
    MUST cn MAY ( sAMAccountName $ dNSHostName $ description ) )
"""

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {root}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
TLSCACertificateFile {root}/ca.pem
TLSCertificateFile {root}/server.pem
TLSCertificateKeyFile {root}/server.key

database mdb
suffix "{suffix}"
rootdn "{admin}"
rootpw {admin_pw}
directory {root}/db
maxsize 10485760
overlay memberof
overlay ppolicy
ppolicy_default "cn=default,ou=Policies,{suffix}"
ppolicy_use_lockout
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


ELSEWHERE = "dc.elsewhere.test"  # the host name of the certificate `elsewhere` serves


def _people() -> str:
    users = [
        ("alice", ALICE_PW, "Alice Tech"),
        ("bob", BOB_PW, "Bob Student"),
        ("carol", CAROL_PW, "Carol Unix"),
        ("dave", DAVE_PW, "Dave Locked"),
    ]
    out = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        f"dn: ou=People,{SUFFIX}\nobjectClass: organizationalUnit\nou: People\n",
        f"dn: ou=Groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: Groups\n",
        f"dn: ou=Policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: Policies\n",
        # Lockout on, but no failure limit: the tests' wrong passwords must not lock alice out.
        f"dn: cn=default,ou=Policies,{SUFFIX}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: default\n"
        "pwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\n",
        f"dn: {COMPUTERS}\nobjectClass: organizationalUnit\nou: Computers\n",
    ]
    for ou in OUS:
        out.append(f"dn: ou={ou},{COMPUTERS}\nobjectClass: organizationalUnit\nou: {ou.split(',')[0]}\n")
    for name, where in EXISTING_COMPUTERS.items():
        out.append(f"dn: cn={name},{where}\nobjectClass: computer\ncn: {name}\nsAMAccountName: {name}$\n"
                   f"dNSHostName: {name.lower()}.example.test\n")
    for uid, password, name in users:
        out.append(
            f"dn: uid={uid},ou=People,{SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: prestartADUser\n"
            f"uid: {uid}\ncn: {name}\nsn: {name.split()[-1]}\nuserPassword: {password}\n"
            f"userPrincipalName: {uid}@example.test\nsAMAccountName: {uid}\n"
            # 000001010000Z: locked until an administrator unlocks it (slapo-ppolicy).
            + ("pwdAccountLockedTime: 000001010000Z\n" if uid == "dave" else "")
        )
    # groupOfNames: the memberof overlay fills the members' memberOf (as AD does).
    out.append(
        f"dn: cn=Imaging Technicians,ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: Imaging Technicians\n"
        f"member: uid=alice,ou=People,{SUFFIX}\nmember: uid=dave,ou=People,{SUFFIX}\n"
    )
    out.append(
        f"dn: cn=Students,ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: Students\n"
        f"member: uid=bob,ou=People,{SUFFIX}\nmember: uid=alice,ou=People,{SUFFIX}\n"
    )
    # groupOfUniqueNames: no memberOf; found only by searching uniqueMember.
    out.append(
        f"dn: cn=Lab Admins,ou=Groups,{SUFFIX}\nobjectClass: groupOfUniqueNames\ncn: Lab Admins\n"
        f"uniqueMember: uid=carol,ou=People,{SUFFIX}\n"
    )
    return "\n".join(out)


@dataclass(frozen=True)
class Directory:
    """A running slapd: where it listens and which CA it trusts."""

    url: str
    port: int
    ca_pem: Path  # the CA that issued the server certificate
    other_ca_pem: Path  # a CA that did not
    root: Path

    @property
    def pid(self) -> int:
        """slapd's process id (for SIGSTOP: a directory that hangs)."""
        return int((self.root / "slapd.pid").read_text().split()[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"slapd exited with {proc.returncode}: {why}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening within 10 s")


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    root = tmp_path_factory.mktemp("slapd")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(root / "server.pem"))
    server.private_key_pem.write_to_path(str(root / "server.key"))
    trustme.CA().cert_pem.write_to_path(str(root / "other-ca.pem"))
    # The same CA's certificate for another host: what a server that is not this directory may present.
    elsewhere = ca.issue_cert(ELSEWHERE)
    elsewhere.private_key_and_cert_chain_pem.write_to_path(str(root / "elsewhere.pem"))
    (root / "db").mkdir()
    (root / "ad.schema").write_text(AD_SCHEMA, encoding="utf-8")
    conf = root / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(root=root, suffix=SUFFIX, admin=ADMIN_DN, admin_pw=ADMIN_PW), encoding="utf-8"
    )
    port = free_port()
    url = f"ldaps://127.0.0.1:{port}"
    # -d 0: stay in the foreground (so the fixture owns the process) without debug output.
    proc = subprocess.Popen([SLAPD, "-h", f"{url}/", "-f", str(conf), "-d", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, proc, time.monotonic() + 10)
        env = dict(os.environ, LDAPTLS_CACERT=str(root / "ca.pem"), LDAPTLS_REQCERT="demand")
        subprocess.run(["ldapadd", "-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PW],
                       input=_people().encode(), env=env, check=True, capture_output=True, timeout=30)
        yield Directory(url=url, port=port, ca_pem=root / "ca.pem", other_ca_pem=root / "other-ca.pem", root=root)
    finally:
        stop(proc)


@contextlib.contextmanager
def elsewhere(directory: Directory) -> Iterator[str]:
    """An ldaps:// URL on 127.0.0.1 whose server presents a certificate from the directory's own CA, issued for
    another host (ELSEWHERE): the CA is trusted, the name is not the one the client asked for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory.root / "elsewhere.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(10)
            # The client checks the name and gives up in the handshake; nothing here answers LDAP.
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"ldaps://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        listener.close()
