"""The state of one login page: attempts counted, LDAPS sign-in or the offline PIN, the role it grants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.auth.ldap import AuthFailed, SignInResult, map_role
from agent.errors import AccessDenied
from agent.log import get_logger
from agent.secretprint import SecretPrint

if TYPE_CHECKING:
    from agent.flow import Flow
    from agent.profile.model import Page

log = get_logger("prestart.auth")


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: who, how (`ldap` or `pin`), the role it gave and the groups it was based on."""

    user: str
    role: str
    method: str
    groups: tuple[str, ...] = ()


def resolve_ca_bundle(page: Page, profile_source: str, fallback: Path | None) -> Path | None:
    """The CA bundle for this page: `ldap.ca_bundle` (relative to the profile's folder), else the run's bundle."""
    if page.ldap is not None and page.ldap.ca_bundle:
        path = Path(page.ldap.ca_bundle)
        if not path.is_absolute() and profile_source:
            path = Path(profile_source).resolve().parent / path
        return path
    return fallback


@dataclass
class SignInGate:
    """Runtime state of one login page (not configuration). Every password tried goes into `flow.secrets`.

    sign_in()/sign_in_pin() return SignedIn and set flow.role; a refused attempt raises AuthFailed (with
    `remaining` attempts); the attempt that reaches max_attempts raises AccessDenied (exit 5). SourceUnavailable
    (server down, TLS refused) is not counted: it is not the person's mistake.
    """

    flow: Flow
    page: Page
    ca_bundle: Path | None = None  # the run's bundle; the page's ldap.ca_bundle wins
    max_attempts: int = 0  # 0: the page's max_attempts
    failures: int = 0
    signer: Callable[..., SignInResult] | None = None  # the LDAP call; tests and the UI may pass their own
    _pin_hash: str = field(default="", init=False)
    _pin_role: str = field(default="technician", init=False)

    def __post_init__(self) -> None:
        # The page's own ldap.ca_bundle wins over the run's (--ca-bundle, or the media's ca-bundle.pem).
        self.ca_bundle = resolve_ca_bundle(self.page, self.flow.profile.source, self.ca_bundle)
        if self.max_attempts <= 0:
            self.max_attempts = self.page.max_attempts
        unlock = self.flow.profile.kiosk.technician_unlock
        if unlock is not None:
            self._pin_hash, self._pin_role = unlock.pin_hash, unlock.role

    @property
    def remaining(self) -> int:
        return max(0, self.max_attempts - self.failures)

    @property
    def locked_out(self) -> bool:
        return self.failures >= self.max_attempts

    @property
    def pin_allowed(self) -> bool:
        """The offline PIN is offered only when the page says `allow_pin: true` and the profile has a PIN hash."""
        return self.page.allow_pin and bool(self._pin_hash)

    @property
    def ldap_allowed(self) -> bool:
        return self.page.ldap is not None

    def sign_in(self, user: str, password: str) -> SignedIn:
        """Check a user name and password against the directory; on success the flow takes the mapped role."""
        if password:
            # The redactor recognises the password until the run ends without keeping it (agent.secretprint).
            self.flow.secrets.add(SecretPrint(password))
        self._check_open()
        if self.page.ldap is None:
            raise AccessDenied(f"login page {self.page.id!r} has no directory to sign in against",
                               "use the offline PIN, or add `ldap:` to the page")
        if self.signer is None:
            from agent.auth.ldap import sign_in

            self.signer = sign_in
        try:
            # keep=True: the connection stays bound as this person for the name check and the OU picker.
            result = self.signer(self.page.ldap, user, password, ca_bundle=self.ca_bundle, keep=True)
        except AuthFailed as exc:
            self._fail(exc)
            raise AssertionError("unreachable") from None  # _fail always raises
        finally:
            del password  # this frame's reference; see docs/security.md for the copies Python keeps
        role: str | None = self.flow.role
        if self.page.groups:
            role = map_role(result.groups, self.page.groups)
            if role is None:
                log.info("sign-in: %s is in none of the groups login page %r maps to a role", result.user, self.page.id)
                if result.session is not None:
                    result.session.close()
                self._fail(AuthFailed())
        assert role is not None
        signed = self._grant(SignedIn(result.user, role, "ldap", result.groups))
        self.flow.set_directory(result.session)
        return signed

    def sign_in_pin(self, pin: str) -> SignedIn:
        """The offline technician PIN, only where the page allows it."""
        if pin:
            self.flow.secrets.add(pin)
        self._check_open()
        if not self.pin_allowed:
            raise AccessDenied(f"login page {self.page.id!r} does not accept the offline PIN",
                               "sign in with a directory account")
        from agent.auth.pin import verify_pin

        if not verify_pin(pin, self._pin_hash):
            self._fail(AuthFailed("the PIN is not correct", "try again"))
        return self._grant(SignedIn("technician PIN", self._pin_role, "pin"))

    def _check_open(self) -> None:
        if self.locked_out:
            raise AccessDenied(f"sign-in failed {self.failures} times; locked out", "restart the computer to try again")

    def _fail(self, exc: AuthFailed) -> None:
        self.failures += 1
        log.warning("sign-in on page %r refused (%d of %d attempts)", self.page.id, self.failures, self.max_attempts)
        if self.locked_out:
            raise AccessDenied(f"sign-in failed {self.failures} time{'s' if self.failures > 1 else ''}; locked out",
                               "check the user name and password, then restart the computer to try again") from None
        exc.remaining = self.remaining
        raise exc

    def _grant(self, signed: SignedIn) -> SignedIn:
        self.failures = 0
        self.flow.role = signed.role
        self.flow.user = signed.user
        log.info("signed in as %s by %s; role %s", signed.user, signed.method, signed.role)
        return signed
