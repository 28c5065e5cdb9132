"""Directory queries with the technician's own bind: does a computer of this name exist, which OUs are there."""

# Why it works this way:
# - The connection is the one the technician signed in with (agent.auth.ldap.sign_in(keep=True)): no service
#   account, nothing secret on the media, and the directory's own access rules decide what they may see.
#   ldap3's copy of the password is dropped right after the bind, so the session holds no password.
# - Every query has a total time budget. ldap3's receive timeout is per read and a paged search does many, so
#   the query runs in a worker thread and is abandoned when the budget is spent; the connection is then closed
#   (a late answer would arrive on a socket nobody reads) and later queries say the directory is unavailable.

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from agent.errors import SourceUnavailable
from agent.log import get_logger

log = get_logger("prestart.auth")

T = TypeVar("T")
NO_SESSION_HINT = "sign in again on the login page (Back): the directory is asked with your own account"


class OrgUnit(NamedTuple):
    """One organizational unit: its DN as the directory spells it and its path under the base, for display."""

    dn: str
    path: tuple[str, ...]  # RDN values from the base down: ("Lab", "Building A")

    @property
    def label(self) -> str:
        return " / ".join(self.path) or self.dn


def split_dn(dn: str) -> list[tuple[str, str]]:
    """(attribute, value) of each RDN, split on unescaped commas; attributes folded, values as written."""
    out = []
    for rdn in re.split(r"(?<!\\),", dn):
        attr, _, value = rdn.partition("=")
        out.append((attr.strip().casefold(), value.strip()))
    return out


def normal_dn(dn: str) -> str:
    """A DN compared the way directories compare them: spaces around `,` and `=` and case ignored."""
    return ",".join(f"{a}={v.casefold()}" for a, v in split_dn(dn))


def is_under(dn: str, base: str) -> bool:
    """True when `dn` is `base` or below it."""
    node, root = normal_dn(dn), normal_dn(base)
    return node == root or node.endswith("," + root)


def parent_dn(dn: str) -> str:
    parts = re.split(r"(?<!\\),", dn, maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


class DirectorySession:
    """A connection bound as the person who signed in; runtime state, closed at the end of the run."""

    def __init__(self, directory: Any, conn: Any, base: str) -> None:
        self._directory = directory  # agent.auth.ldap._Directory: settings, ldap3, error translation
        self._conn: Any = conn
        self.base = base
        self.where = directory.where
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self._conn is not None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.unbind()
            except Exception:  # closing a broken connection must not fail the run
                log.debug("directory session: unbind failed", exc_info=True)

    def _run(self, what: str, budget: float, work: Callable[[Any], T]) -> T:
        """Run `work(conn)` within `budget` seconds or raise SourceUnavailable (and close the session)."""
        if self._conn is None:
            raise SourceUnavailable(f"the directory session with {self.where} has ended", NO_SESSION_HINT)
        conn = self._conn
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                with self._lock:
                    box["value"] = work(conn)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=target, name=f"prestart-ldap-{what}", daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(budget)
        if worker.is_alive():
            log.warning("directory: %s got no answer from %s within %g s; closing the session", what, self.where,
                        budget)
            self._conn = None  # the worker still owns the socket; it ends with ldap3's receive timeout
            raise SourceUnavailable(f"the directory {self.where} did not answer within {budget:g} s",
                                    "check the network and the domain controller, then sign in again (Back)")
        error = box.get("error")
        if error is not None:
            if isinstance(error, self._directory.ldap3.core.exceptions.LDAPException):
                self.close()
                raise self._directory._unavailable(error) from None
            raise error
        log.debug("directory: %s took %.2f s", what, time.monotonic() - started)
        return box["value"]

    def find_computer(self, name: str, base: str = "", *, budget: float = 10.0) -> str:
        """The DN of the computer object called `name` (cn or sAMAccountName `name$`), or "" when there is none."""
        ldap3 = self._directory.ldap3
        esc = ldap3.utils.conv.escape_filter_chars
        flt = f"(&(objectClass=computer)(|(cn={esc(name)})(sAMAccountName={esc(name)}$)))"
        where = base or self.base

        def work(conn: Any) -> str:
            ok = conn.search(where, flt, search_scope=ldap3.SUBTREE, attributes=[ldap3.NO_ATTRIBUTES],
                             size_limit=2, time_limit=max(1, int(budget)))
            found = [e for e in conn.response or () if e.get("type") == "searchResEntry"]
            if not ok and (conn.result or {}).get("result") not in (0, 4, 32):
                raise SourceUnavailable(f"the directory {self.where} refused the search for computer {name}: "
                                        f"{(conn.result or {}).get('description', 'error')}",
                                        "ask the directory team whether your account may read computer objects")
            return str(found[0].get("dn", "")) if found else ""

        dn = self._run("computer name check", budget, work)
        log.info("directory: computer %s %s", name, f"exists at {dn}" if dn else "not found")
        return dn

    def list_ous(self, base: str, *, extra_filter: str = "", page_size: int = 200, budget: float = 10.0,
                 limit: int = 5000) -> list[OrgUnit]:
        """Every OU under `base` (the base itself included when it is one), a page of `page_size` at a time."""
        ldap3 = self._directory.ldap3
        flt = "(objectClass=organizationalUnit)"
        if extra_filter:
            flt = f"(&{flt}{extra_filter})"
        base_rdns = len(split_dn(base))

        def work(conn: Any) -> list[str]:
            dns: list[str] = []
            cookie: Any = None
            while True:
                ok = conn.search(base, flt, search_scope=ldap3.SUBTREE, attributes=[ldap3.NO_ATTRIBUTES],
                                 paged_size=page_size, paged_cookie=cookie, time_limit=max(1, int(budget)))
                code = (conn.result or {}).get("result")
                if not ok and code not in (0, 4):
                    raise SourceUnavailable(f"the directory {self.where} refused to list the OUs under {base}: "
                                            f"{(conn.result or {}).get('description', 'error')}",
                                            "check ou.base_dn in the profile and that your account may read it")
                dns += [str(e.get("dn", "")) for e in conn.response or () if e.get("type") == "searchResEntry"]
                controls = (conn.result or {}).get("controls") or {}
                cookie = ((controls.get("1.2.840.113556.1.4.319") or {}).get("value") or {}).get("cookie")
                if not cookie or len(dns) >= limit:
                    return dns[:limit]

        dns = self._run("OU list", budget, work)
        units = [OrgUnit(dn, tuple(v for _, v in reversed(split_dn(dn)[: max(0, len(split_dn(dn)) - base_rdns)])))
                 for dn in dns if dn]
        units.sort(key=lambda u: [p.casefold() for p in u.path])
        log.info("directory: %d OUs under %s", len(units), base)
        return units


def allowed_only(units: Iterable[OrgUnit], allow: Sequence[str]) -> list[OrgUnit]:
    """The units at or below one of the `allow` DNs (all of them when `allow` is empty)."""
    if not allow:
        return list(units)
    return [u for u in units if any(is_under(u.dn, a) for a in allow)]
