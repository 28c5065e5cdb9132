"""Online sign-in: an LDAPS simple bind against Active Directory (or OpenLDAP), group membership and role mapping."""

# How it works, and why:
# - ldap3 is imported inside sign_in(): a run whose profile has no login page never loads it.
# - Only ldaps:// (TLS from the first byte, port 636 by default) is accepted: a password must not cross the network
#   in clear, and StartTLS can be stripped by a hostile network. The certificate is checked against the media's CA
#   bundle (ssl.CERT_REQUIRED) and the host name.
# - The user may type a UPN (`alice@corp.example`), a down-level name (`CORP\alice`) or a bare name (the profile's
#   `upn_suffix` or `domain` completes it).
# - Active Directory (its root DSE advertises LDAP_CAP_ACTIVE_DIRECTORY_OID) accepts a UPN or DOMAIN\user as the
#   bind name, so we bind with it directly and then read the user's own entry. Other directories (OpenLDAP) need a
#   DN: we find it with an anonymous search for userPrincipalName / sAMAccountName / uid under base_dn, then bind
#   with that DN and the password.
# - Groups: the entry's `memberOf` (AD, or slapd with the memberof overlay) plus groups found by searching
#   `member` / `uniqueMember` for the user's DN (plain groupOfNames / groupOfUniqueNames). Nested AD groups are
#   not expanded: map the groups people are direct members of.
# - An empty password is refused before any network traffic: LDAP treats a bind with a name and no password as
#   an anonymous ("unauthenticated") bind that succeeds.
# - A wrong password, an unknown user and an ambiguous name all give the same AuthFailed message, so the screen
#   does not tell an attacker which names exist. The password never appears in any message or log.

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.errors import AccessDenied, InputError, SourceUnavailable
from agent.log import get_logger
from agent.profile.model import LdapSettings

log = get_logger("prestart.auth")

AD_CAPABILITY = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID in the root DSE's supportedCapabilities
INVALID_CREDENTIALS = 49
# The password policy control (draft-behera-ldap-password-policy): OpenLDAP's ppolicy says why a bind failed.
PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
PPOLICY_LOCKED, PPOLICY_EXPIRED, PPOLICY_CHANGE_AFTER_RESET = 1, 0, 2
# Active Directory says why in the bind's diagnostic message: "... AcceptSecurityContext error, data 775, ...".
AD_LOCKED, AD_EXPIRED = ("775",), ("532", "773")
BAD_CREDENTIALS = "the user name or password is not correct"


class AuthFailed(AccessDenied):
    """One sign-in attempt was refused (wrong password, unknown user, no mapped group). Says nothing more."""

    remaining: int | None = None  # attempts left, set by SignInGate

    def __init__(self, message: str = BAD_CREDENTIALS, hint: str = "check the user name and password and try again"):
        super().__init__(message, hint)


ACCOUNT_LOCKED = "this account is locked out in the directory"
PASSWORD_EXPIRED = "the password of this account has expired or must be changed"


@dataclass(frozen=True)
class SignInResult:
    """Who signed in (the name as the directory knows it), the DNs of their groups and, when asked for,
    the connection still bound as them (agent.auth.directory.DirectorySession) for later queries."""

    user: str
    groups: tuple[str, ...]
    dn: str = ""
    session: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Account:
    """The typed user name in every form a directory may want."""

    typed: str
    upn: str  # alice@corp.example, or "" when no suffix is known
    sam: str  # alice
    downlevel: str  # CORP\alice, or "" when no domain is known


def parse_account(user: str, settings: LdapSettings) -> Account:
    """Normalise `user` (UPN, DOMAIN\\user or bare name); AuthFailed when it cannot be a user name."""
    typed = user.strip()
    if not typed or any(ord(c) < 32 for c in typed):
        raise AuthFailed()
    if "\\" in typed:
        domain, _, name = typed.partition("\\")
        if not domain or not name or "\\" in name or "@" in name:
            raise AuthFailed()
        if settings.domain and domain.casefold() != settings.domain.casefold():
            raise AuthFailed(f"sign in with an account of the {settings.domain} domain",
                             f"type {settings.domain}\\name or name@{settings.upn_suffix or 'domain'}")
        upn = f"{name}@{settings.upn_suffix}" if settings.upn_suffix else ""
        return Account(typed, upn, name, f"{domain}\\{name}")
    if "@" in typed:
        name, _, suffix = typed.rpartition("@")
        if not name or not suffix:
            raise AuthFailed()
        downlevel = f"{settings.domain}\\{name}" if settings.domain else ""
        return Account(typed, typed, name, downlevel)
    upn = f"{typed}@{settings.upn_suffix}" if settings.upn_suffix else ""
    downlevel = f"{settings.domain}\\{typed}" if settings.domain else ""
    return Account(typed, upn, typed, downlevel)


def parse_server(server: str) -> tuple[str, int]:
    """(host, port) of `ldaps://host[:port]` or a bare host; anything without TLS is refused."""
    text = server.strip()
    if "://" not in text:
        text = f"ldaps://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() != "ldaps" or not parts.hostname:
        raise InputError(
            f"sign-in server {server!r} is not an ldaps:// URL",
            "use ldaps://dc.example.com (port 636): a password must not cross the network without TLS",
        )
    try:
        port = parts.port or 636
    except ValueError as exc:
        raise InputError(f"sign-in server {server!r}: {exc}", "write ldaps://host:636") from None
    return parts.hostname, port


# -- groups and roles --------------------------------------------------------------------------------


def _split_dn(dn: str) -> list[str]:
    """RDNs of a DN, split on unescaped commas, each `attr=value` with spaces trimmed and case folded."""
    rdns = [r for r in re.split(r"(?<!\\),", dn)]
    out = []
    for rdn in rdns:
        attr, eq, value = rdn.partition("=")
        out.append(f"{attr.strip().casefold()}={value.strip().casefold()}" if eq else rdn.strip().casefold())
    return out


def group_name(dn: str) -> str:
    """The first RDN's value of a group DN (`cn=Imaging Technicians,ou=...` -> `imaging technicians`)."""
    first = _split_dn(dn)[0] if dn else ""
    return first.partition("=")[2] if "=" in first else first


def map_role(groups: Iterable[str], mapping: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """The role of the first mapping entry (profile order) that names one of `groups`, by DN or by CN; else None.

    Matching ignores case and spaces around `,` and `=` in DNs; a key without `=` is a group name (its CN).
    """
    pairs = list(mapping.items()) if isinstance(mapping, Mapping) else list(mapping)
    groups = list(groups)
    by_dn = {",".join(_split_dn(g)) for g in groups}
    by_name = {group_name(g) for g in groups}
    for key, role in pairs:
        if "=" in key:
            if ",".join(_split_dn(key)) in by_dn:
                return role
        elif key.strip().casefold() in by_name:
            return role
    return None


# -- the directory -----------------------------------------------------------------------------------


def _entries(response: Any) -> list[dict[str, Any]]:
    return [r for r in response or () if r.get("type") == "searchResEntry"]


def _values(entry: dict[str, Any], name: str) -> list[str]:
    attrs = entry.get("attributes") or {}
    for key, value in attrs.items():
        if key.casefold() == name.casefold():
            if isinstance(value, list):
                return [str(v) for v in value]
            return [str(value)] if value else []
    return []


class _Directory:
    """One TLS connection's worth of work, with ldap3's exceptions turned into ours."""

    def __init__(self, settings: LdapSettings, ca_bundle: Path | None) -> None:
        import ldap3  # lazily: see the module comment

        self.ldap3 = ldap3
        self.settings = settings
        self.host, self.port = parse_server(settings.server)
        # An IPv6 address keeps its brackets in messages, as in the URL (ldaps://[::1]:636).
        self.where = f"ldaps://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise SourceUnavailable(
                f"CA bundle {ca_bundle} for sign-in does not exist",
                "put the PEM file with the directory's issuing CA on the media, or fix ldap.ca_bundle",
            )
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_bundle) if ca_bundle else None,
                        sni=self.host)
        timeout = max(0.1, float(settings.timeout))
        self.server = ldap3.Server(self.host, port=self.port, use_ssl=True, tls=tls, get_info=ldap3.NONE,
                                   connect_timeout=timeout)
        # ldap3 packs the receive timeout into SO_RCVTIMEO as whole seconds.
        self.receive_timeout = max(1, math.ceil(timeout))

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        ldap3 = self.ldap3
        conn = ldap3.Connection(self.server, user=user, password=password, authentication=ldap3.SIMPLE
                                if user else ldap3.ANONYMOUS, receive_timeout=self.receive_timeout,
                                raise_exceptions=False, read_only=True, auto_referrals=False)
        try:
            conn.open()
        except ldap3.core.exceptions.LDAPException as exc:
            raise self._unavailable(exc) from None
        return conn

    def _unavailable(self, exc: BaseException) -> SourceUnavailable:
        text = str(exc).lower()
        if any(m in text for m in ("certificate", "ssl", "tls", "handshake")) and "timed out" not in text:
            return SourceUnavailable(
                f"TLS error talking to the sign-in server {self.where}: the certificate is not trusted or not "
                "valid for this host name",
                "check that the media's CA bundle holds the directory's issuing CA and that ldap.server names "
                "the host in the certificate",
            )
        if "timed out" in text or "timeout" in text:
            why = f"no answer within {self.settings.timeout:g} s"
        elif "refused" in text:
            why = "connection refused"
        else:
            why = "could not connect"
        return SourceUnavailable(
            f"cannot reach the sign-in server {self.where}: {why}",
            "check the network cable and that the domain controller answers on port 636; "
            "if the profile allows it, use the offline PIN",
        )

    def call(self, conn: Any, what: str, *args: Any, **kw: Any) -> bool:
        try:
            return bool(getattr(conn, what)(*args, **kw))
        except self.ldap3.core.exceptions.LDAPException as exc:
            raise self._unavailable(exc) from None

    def root_dse(self, conn: Any) -> dict[str, Any]:
        ok = self.call(conn, "search", "", "(objectClass=*)", search_scope=self.ldap3.BASE,
                       attributes=["supportedCapabilities", "defaultNamingContext", "namingContexts"])
        entries = _entries(conn.response) if ok else []
        return entries[0] if entries else {}


# UPNs are at most 1,024 characters in Active Directory; a longer name or password is a paste or an attack.
MAX_USER = 1024


# Each directory step (connect, search, bind) has `ldap.timeout`; the whole sign-in has this many times it.
TOTAL_BUDGET_STEPS = 3


def sign_in(settings: LdapSettings, user: str, password: str, *, ca_bundle: Path | None,
            keep: bool = False) -> SignInResult:
    """Bind as `user` over LDAPS and read their groups, within TOTAL_BUDGET_STEPS x `ldap.timeout` in all; with
    `keep`, the result's `session` stays bound as them (for the computer name check and the OU picker: the
    technician's own rights, no service account).


    Raises AuthFailed (wrong password, unknown or ambiguous user), SourceUnavailable (server unreachable, TLS
    refused, timeout) or InputError (the profile names a server without TLS).
    """
    import threading

    budget = TOTAL_BUDGET_STEPS * max(0.1, float(settings.timeout))
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["result"] = _sign_in(settings, user, password, ca_bundle=ca_bundle, keep=keep)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc

    # ldap3's timeouts are per socket read: a directory that answers a byte at a time would never time out.
    worker = threading.Thread(target=attempt, name="prestart-ldap", daemon=True)
    worker.start()
    worker.join(budget + 0.2)
    if worker.is_alive():
        raise SourceUnavailable(
            f"the sign-in server {_where(settings)} did not finish the sign-in within {budget:g} s",
            "check the network and the domain controller; if the profile allows it, use the offline PIN",
        )
    if "error" in box:
        raise box["error"]
    result: SignInResult = box["result"]
    return result


def _where(settings: LdapSettings) -> str:
    parts = urlsplit(settings.server)
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}" + (f":{parts.port}" if parts.port else "")


def _sign_in(settings: LdapSettings, user: str, password: str, *, ca_bundle: Path | None,
             keep: bool = False) -> SignInResult:
    if not password:
        raise AuthFailed()  # an empty password would be an anonymous bind, which succeeds
    if len(user) > MAX_USER or len(password) > MAX_USER:
        raise AuthFailed()  # no directory has such names: refused like a wrong password, without traffic
    account = parse_account(user, settings)
    directory = _Directory(settings, ca_bundle)
    ldap3 = directory.ldap3
    probe = directory.connect()
    dn = ""
    try:
        dse = directory.root_dse(probe)
        is_ad = AD_CAPABILITY in _values(dse, "supportedCapabilities")
        base = settings.base_dn or next(iter(_values(dse, "defaultNamingContext") or _values(dse, "namingContexts")),
                                        "")
        if not is_ad:
            dn = _find_dn(directory, probe, base, account)
    finally:
        probe.unbind()
    bind_name = (account.upn or account.downlevel or account.typed) if is_ad else dn
    conn = directory.connect(bind_name, password)
    kept = False
    try:
        bound = directory.call(conn, "bind", controls=[(PPOLICY_OID, False, None)])
        # ldap3 keeps the password to bind again; nothing here binds again, so drop it now.
        conn.password = None
        if not bound:
            code = (conn.result or {}).get("result")
            if code == INVALID_CREDENTIALS:
                why = _refusal_reason(conn.result or {})
                # Not the name typed: people type their password into the user box, and it would be logged.
                log.info("sign-in refused: %s", why or "invalid credentials")
                if why == "locked":
                    raise AuthFailed(ACCOUNT_LOCKED, "ask the service desk to unlock the account, or sign in with "
                                     "another account")
                if why == "expired":
                    raise AuthFailed(PASSWORD_EXPIRED, "change the password on a working computer, then try again")
                raise AuthFailed()
            desc = (conn.result or {}).get("description", "refused")
            log.warning("sign-in: the directory answered %s (%s)", code, desc)
            raise SourceUnavailable(f"the sign-in server {directory.where} refused the bind: {desc}",
                                    "ask the directory team; the account or server may need attention")
        if is_ad:
            found = _search(directory, conn, base, _account_filter(account, ad=True), ["memberOf", "userPrincipalName"])
            if len(found) != 1:
                raise AuthFailed()
            entry = found[0]
            dn = str(entry.get("dn", ""))
        else:
            found = _search(directory, conn, dn, "(objectClass=*)", ["memberOf", "userPrincipalName"],
                            scope=ldap3.BASE)
            entry = found[0] if found else {"dn": dn}
        groups = list(_values(entry, "memberOf"))
        if base:
            esc = ldap3.utils.conv.escape_filter_chars(dn)
            flt = f"(|(member={esc})(uniqueMember={esc}))"
            groups += [str(g.get("dn", "")) for g in _search(directory, conn, base, flt, [ldap3.NO_ATTRIBUTES])]
        session = None
        if keep:
            from agent.auth.directory import DirectorySession

            session = DirectorySession(directory, conn, base)
            kept = True
    finally:
        if not kept:
            conn.unbind()
    seen: dict[str, str] = {}
    for group_dn in groups:
        if group_dn:
            seen.setdefault(",".join(_split_dn(group_dn)), group_dn)
    # The directory's spelling of the name, for the receipt; what was typed only when it has none.
    name = next(iter(_values(entry, "userPrincipalName")), "") or account.upn or account.downlevel or account.typed
    log.info("signed in as %s (%d groups)", name, len(seen))
    return SignInResult(user=name, groups=tuple(seen.values()), dn=dn, session=session)


def _refusal_reason(result: Mapping[str, Any]) -> str:
    """"locked", "expired" or "" from a refused bind: ppolicy's response control, or AD's diagnostic data code."""
    control = (result.get("controls") or {}).get(PPOLICY_OID) or {}
    value = control.get("value") if isinstance(control, Mapping) else None
    if isinstance(value, bytes):
        # SEQUENCE { warning [0] OPTIONAL, error [1] ENUMERATED OPTIONAL }: walk the elements (short lengths only;
        # the control is a few bytes) and read the error.
        pos = 2 if value[:1] == b"\x30" else len(value)
        while pos + 2 <= len(value):
            tag, size = value[pos], value[pos + 1]
            if tag == 0x81 and size == 1 and pos + 2 < len(value):
                error = value[pos + 2]
                if error == PPOLICY_LOCKED:
                    return "locked"
                if error in (PPOLICY_EXPIRED, PPOLICY_CHANGE_AFTER_RESET):
                    return "expired"
            pos += 2 + size
    message = str(result.get("message") or "")
    data = re.search(r"\bdata ([0-9a-f]+)", message)
    if data:
        if data.group(1) in AD_LOCKED:
            return "locked"
        if data.group(1) in AD_EXPIRED:
            return "expired"
    return ""


def _account_filter(account: Account, *, ad: bool) -> str:
    from ldap3.utils.conv import escape_filter_chars as esc

    terms = []
    if account.upn:
        terms.append(f"(userPrincipalName={esc(account.upn)})")
    # A typed UPN names one account; the short name is only tried when the suffix is ours or there is none.
    if account.typed != account.upn or not account.upn:
        terms.append(f"(sAMAccountName={esc(account.sam)})")
        if not ad:
            terms.append(f"(uid={esc(account.sam)})")
    return terms[0] if len(terms) == 1 else "(|" + "".join(terms) + ")"


def _find_dn(directory: _Directory, conn: Any, base: str, account: Account) -> str:
    if not base:
        raise SourceUnavailable(
            f"the sign-in server {directory.where} names no naming context to search",
            "set ldap.base_dn in the profile",
        )
    found = _search(directory, conn, base, _account_filter(account, ad=False), [directory.ldap3.NO_ATTRIBUTES])
    if len(found) != 1:
        log.info("sign-in refused: %d directory entries match the name typed", len(found))
        raise AuthFailed()
    return str(found[0].get("dn", ""))


def _search(directory: _Directory, conn: Any, base: str, flt: str, attrs: list[str], *, scope: Any = None) -> list[
        dict[str, Any]]:
    ldap3 = directory.ldap3
    ok = directory.call(conn, "search", base, flt, search_scope=scope or ldap3.SUBTREE, attributes=attrs,
                        size_limit=50)
    if not ok:
        code = (conn.result or {}).get("result")
        if code in (0, 4, 32):  # success with nothing, size limit, no such object
            return _entries(conn.response)
        return []
    return _entries(conn.response)
