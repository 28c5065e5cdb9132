"""The profile as immutable records, built from data the schema has already accepted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


def _text(value: Any) -> str:
    """YAML scalars as task sequence text (true -> "True", 0 -> "0")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _roles(value: Any) -> tuple[str, ...] | None:
    return _tuple(value) if isinstance(value, list) else None


def _set(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), _text(v)) for k, v in value.items()) if isinstance(value, dict) else ()


# The profile's records are NamedTuples: immutable, and a profile may hold thousands of rules.
class Lookup(NamedTuple):
    list: str
    match: tuple[tuple[str, str], ...]  # item attribute -> variable name


class Rule(NamedTuple):
    position: int  # in `rules`; not `index`, which a tuple already has
    name: str = ""
    when: str = ""
    set: tuple[tuple[str, str], ...] = ()
    lookup: Lookup | None = None
    lock: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or f"rules[{self.position}]"


class Check(NamedTuple):
    name: str
    check: str
    severity: str = "error"
    message: str = ""
    roles: tuple[str, ...] | None = None


class Choice(NamedTuple):
    value: str
    label: str
    group: str = ""
    requires: str = ""
    roles: tuple[str, ...] | None = None


class Validation(NamedTuple):
    preset: str = ""
    regex: str = ""
    min_length: int | None = None
    max_length: int | None = None
    message: str = ""


class ArraySpec(NamedTuple):
    base: str
    digits: int = 2

    def name(self, index: int) -> str:
        """The variable for the index-th entry (1-based): XApplications01, PACKAGES001."""
        return f"{self.base}{index:0{self.digits}d}"


class NameCheck(NamedTuple):
    """`directory_check` of a text field: ask the directory whether a computer of that name exists."""

    exists: str = "warn"  # warn (it will be reused) | block (choose another name)
    unavailable: str = "skip"  # skip (with a note) | block: not signed in, or the directory does not answer
    base_dn: str = ""  # where to look; "" = the login page's base_dn
    timeout: float = 10.0


class OuSource(NamedTuple):
    """`ou` of an OU field: which OUs the directory offers, read with the technician's own bind."""

    base_dn: str
    view: str = "list"  # list (flat, filterable) | tree
    filter: str = ""  # an LDAP filter ANDed with (objectClass=organizationalUnit)
    allow: tuple[str, ...] = ()  # only these DNs and the OUs under them
    page_size: int = 200
    timeout: float = 10.0


class Field(NamedTuple):
    id: str
    type: str
    label: str = ""
    help: str = ""
    variable: str = ""
    set: tuple[tuple[str, str], ...] = ()
    list: str = ""
    choices: tuple[Choice, ...] = ()
    required: bool = False
    default: Any = None
    validate: Validation | None = None
    when: str = ""
    roles: tuple[str, ...] | None = None
    array: ArraySpec | None = None
    secret: bool = False
    filter: bool = False
    directory_check: NameCheck | None = None
    ou: OuSource | None = None
    view: str = "list"  # an OU field's look without `ou` (a static list): list | tree

    @property
    def is_secret(self) -> bool:
        return self.secret or self.type == "password"


class Countdown(NamedTuple):
    seconds: int
    on_timeout: str = "continue"


class LdapSettings(NamedTuple):
    server: str
    base_dn: str = ""
    domain: str = ""
    upn_suffix: str = ""
    ca_bundle: str = ""
    timeout: float = 10.0


class Page(NamedTuple):
    id: str
    type: str = "form"
    title: str = ""
    text: str = ""
    when: str = ""
    roles: tuple[str, ...] | None = None
    fields: tuple[Field, ...] = ()
    type_to_confirm: str = ""
    countdown: Countdown | None = None
    ldap: LdapSettings | None = None
    groups: tuple[tuple[str, str], ...] = ()
    allow_pin: bool = False
    max_attempts: int = 3


class TechnicianUnlock(NamedTuple):
    pin_hash: str
    role: str = "technician"
    max_attempts: int = 5


class KioskSettings(NamedTuple):
    idle_reset_seconds: int = 0
    technician_unlock: TechnicianUnlock | None = None


class Theme(NamedTuple):
    accent: str = "#0067b8"
    logo: str = ""
    scale: float = 1.0


class Profile(NamedTuple):
    version: int
    title: str = "Prestart"
    mode: str = "technician"
    role: str = ""
    theme: Theme = Theme()
    refresh: Mapping[str, Any] | None = None
    max_age_days: int | None = None
    # warn | refuse: what a catalog older than max_age_days gets; "" = refuse the media's own catalog, warn about
    # one named with --catalog (docs/security.md, "The catalog cannot be forged or swapped").
    when_stale: str = ""
    kiosk: KioskSettings = KioskSettings()
    on_cancel: str = "exit"
    allow_unattended_commit: bool = False  # may a countdown press Finish with nobody at the machine?
    audit_url: str = ""
    audit_timeout: float = 5.0
    rules: tuple[Rule, ...] = ()
    preflight: tuple[Check, ...] = ()
    pages: tuple[Page, ...] = ()
    source: str = ""  # the file it came from, for messages

    @property
    def initial_role(self) -> str:
        """docs/profiles.md: kiosk mode starts as `kiosk`, otherwise `technician`, unless `role:` says."""
        if self.role:
            return self.role
        return "kiosk" if self.mode == "kiosk" else "technician"

    @property
    def is_kiosk(self) -> bool:
        return self.mode == "kiosk"

    def fields(self) -> list[tuple[Page, Field]]:
        return [(page, f) for page in self.pages for f in page.fields]


def _validation(raw: Any) -> Validation | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Validation(preset=raw)
    return Validation(
        regex=_text(raw.get("regex")),
        min_length=raw.get("min_length"),
        max_length=raw.get("max_length"),
        message=_text(raw.get("message")),
    )


def _field(raw: dict[str, Any]) -> Field:
    array = raw.get("array")
    return Field(
        id=str(raw["id"]),
        type=str(raw["type"]),
        label=_text(raw.get("label")) or str(raw["id"]),
        help=_text(raw.get("help")),
        variable=_text(raw.get("variable")),
        set=_set(raw.get("set")),
        list=_text(raw.get("list")),
        choices=tuple(
            Choice(
                value=_text(c.get("value")),
                label=_text(c.get("label")) or _text(c.get("value")),
                group=_text(c.get("group")),
                requires=_text(c.get("requires")),
                roles=_roles(c.get("roles")),
            )
            for c in raw.get("choices") or ()
        ),
        required=bool(raw.get("required", False)),
        default=raw.get("default"),
        validate=_validation(raw.get("validate")),
        when=_text(raw.get("when")),
        roles=_roles(raw.get("roles")),
        array=ArraySpec(base=str(array["base"]), digits=int(array.get("digits", 2)))
        if isinstance(array, dict)
        else None,
        secret=bool(raw.get("secret", False)),
        filter=bool(raw.get("filter", False)),
        directory_check=_name_check(raw.get("directory_check")),
        ou=_ou_source(raw.get("ou")),
        view=_text(raw.get("view")) or "list",
    )


def _name_check(raw: Any) -> NameCheck | None:
    if raw is True:
        return NameCheck()
    if not isinstance(raw, dict):
        return None
    return NameCheck(
        exists=_text(raw.get("exists")) or "warn",
        unavailable=_text(raw.get("unavailable")) or "skip",
        base_dn=_text(raw.get("base_dn")),
        timeout=float(raw.get("timeout", 10.0)),
    )


def _ou_source(raw: Any) -> OuSource | None:
    if not isinstance(raw, dict):
        return None
    return OuSource(
        base_dn=_text(raw.get("base_dn")),
        view=_text(raw.get("view")) or "list",
        filter=_text(raw.get("filter")),
        allow=_tuple(raw.get("allow")),
        page_size=int(raw.get("page_size", 200)),
        timeout=float(raw.get("timeout", 10.0)),
    )


def _page(raw: dict[str, Any]) -> Page:
    countdown = raw.get("countdown")
    ldap = raw.get("ldap")
    return Page(
        id=str(raw["id"]),
        type=_text(raw.get("type")) or "form",
        title=_text(raw.get("title")),
        text=_text(raw.get("text")),
        when=_text(raw.get("when")),
        roles=_roles(raw.get("roles")),
        fields=tuple(_field(f) for f in raw.get("fields") or ()),
        type_to_confirm=_text(raw.get("type_to_confirm")),
        countdown=Countdown(int(countdown["seconds"]), _text(countdown.get("on_timeout")) or "continue")
        if isinstance(countdown, dict)
        else None,
        ldap=LdapSettings(
            server=str(ldap["server"]),
            base_dn=_text(ldap.get("base_dn")),
            domain=_text(ldap.get("domain")),
            upn_suffix=_text(ldap.get("upn_suffix")),
            ca_bundle=_text(ldap.get("ca_bundle")),
            timeout=float(ldap.get("timeout", 10.0)),
        )
        if isinstance(ldap, dict)
        else None,
        groups=_set(raw.get("groups")),
        allow_pin=bool(raw.get("allow_pin", False)),
        max_attempts=int(raw.get("max_attempts", 3)),
    )


def profile_from_data(data: dict[str, Any], *, source: str = "") -> Profile:
    """Build the model. `data` must already have passed the schema (agent.profile.schema.PROFILE)."""
    theme = data.get("theme") or {}
    catalog = data.get("catalog") or {}
    kiosk = data.get("kiosk") or {}
    unlock = kiosk.get("technician_unlock")
    rules: list[Rule] = []
    append = rules.append
    # Positional and without helper calls for the common keys: profiles with 2,000 rules load at every boot.
    for index, raw in enumerate(data.get("rules") or ()):
        get = raw.get
        name, when, values, lookup, lock = get("name"), get("when"), get("set"), get("lookup"), get("lock")
        append(
            Rule(
                index,
                name if type(name) is str else _text(name),
                when if type(when) is str else _text(when),
                tuple([(str(k), v if type(v) is str else _text(v)) for k, v in values.items()])
                if type(values) is dict
                else (),
                Lookup(str(lookup["list"]), tuple((str(k), str(v)) for k, v in lookup["match"].items()))
                if type(lookup) is dict
                else None,
                _tuple(lock) if lock is not None else (),
            )
        )
    return Profile(
        version=int(data.get("version", 1)),
        title=_text(data.get("title")) or "Prestart",
        mode=_text(data.get("mode")) or "technician",
        role=_text(data.get("role")),
        theme=Theme(
            accent=_text(theme.get("accent")) or "#0067b8",
            logo=_text(theme.get("logo")),
            scale=float(theme.get("scale", 1.0)),
        ),
        refresh=catalog.get("refresh"),
        max_age_days=catalog.get("max_age_days"),
        when_stale=_text(catalog.get("when_stale")),
        kiosk=KioskSettings(
            idle_reset_seconds=int(kiosk.get("idle_reset_seconds", 0)),
            technician_unlock=TechnicianUnlock(
                pin_hash=str(unlock["pin_hash"]),
                role=_text(unlock.get("role")) or "technician",
                max_attempts=int(unlock.get("max_attempts", 5)),
            )
            if isinstance(unlock, dict)
            else None,
        ),
        on_cancel=_text((data.get("on_cancel") or {}).get("then")) or "exit",
        allow_unattended_commit=bool(data.get("allow_unattended_commit", False)),
        audit_url=_text((data.get("audit") or {}).get("url")),
        audit_timeout=float((data.get("audit") or {}).get("timeout", 5.0)),
        rules=tuple(rules),
        preflight=tuple(
            Check(
                name=str(c["name"]),
                check=str(c["check"]),
                severity=_text(c.get("severity")) or "error",
                message=_text(c.get("message")),
                roles=_roles(c.get("roles")),
            )
            for c in data.get("preflight") or ()
        ),
        pages=tuple(_page(p) for p in data.get("pages") or ()),
        source=source,
    )
