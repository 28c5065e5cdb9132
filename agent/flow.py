"""The flow model: rules, preflight, pages and fields; the state both the Tk UI and headless runs drive."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agent import __version__
from agent.catalog.model import Catalog, Item
from agent.expr import check as check_expr
from agent.log import ERROR, INFO, WARNING, get_logger
from agent.profile.model import Field, Page, Profile, Rule
from agent.secretprint import SecretPrint
from agent.templates import parse_template
from agent.variables import Variables

if TYPE_CHECKING:  # agent.auth imports this module
    from agent.auth.directory import DirectorySession
    from agent.auth.pin import PinGate
    from agent.auth.signin import SignInGate

log = get_logger("prestart.flow")

# Where a variable's value came from, for the receipt and the confirm page.
ENGINE, FACT, DEFAULT, RULE, LOOKUP, USER = "engine", "fact", "default", "rule", "lookup", "user"

_ID, _ROLES = attrgetter("id"), attrgetter("roles")
_SHOW_IDS = 20  # ids an error lists before "and N more": a list may hold 10,000 applications
_NETBIOS = re.compile(r"[A-Za-z0-9-]{1,15}")


class Origin(NamedTuple):  # where a variable's value came from
    kind: str  # engine | fact | default | rule | lookup | user
    detail: str = ""  # rule label or field id

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


class CheckResult(NamedTuple):
    name: str
    severity: str  # error | warning
    passed: bool
    message: str

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == "error"


class Option(NamedTuple):
    """One entry a choice or multi field offers: enabled, or disabled with the reason.

    A NamedTuple: a field over a 10,000-application list builds 10,000 of them.
    """

    id: str
    label: str
    value: str
    group: str
    enabled: bool
    reason: str
    item: Item
    description: str = ""  # the catalog item's `description`, shown beside its label


class NameStatus(NamedTuple):
    """What the directory said about a computer name (Flow.check_name); `blocking` keeps Next disabled."""

    name: str
    status: str  # free | exists | unavailable
    blocking: bool
    message: str
    dn: str = ""


class FieldError(Exception):
    """A value the field does not accept; `kind` says which exit code an unattended run gets."""

    def __init__(self, field_id: str, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.field_id = field_id
        self.message = message
        self.kind = kind  # invalid (13) | disabled (21) | locked (13) | missing (1168)


def netbios_problem(value: str) -> str | None:
    """Why `value` is not a usable NetBIOS computer name, or None."""
    if not value:
        return "enter a computer name"
    if len(value) > 15:
        return f"at most 15 characters ({len(value)} given)"
    if not _NETBIOS.fullmatch(value):
        return "only letters, digits and '-'"
    if value.isdigit():
        return "cannot be only digits"
    if value.startswith("-") or value.endswith("-"):
        return "cannot start or end with '-'"
    return None


class State:
    """Variables and where each came from, at one point of the flow (runtime state, so a plain class)."""

    __slots__ = ("chosen", "locked", "origins", "vars", "written")

    def __init__(
        self,
        vars: Variables,
        origins: dict[str, Origin] | None = None,
        written: dict[str, None] | None = None,
        locked: dict[str, str] | None = None,
        chosen: dict[str, Item] | None = None,
    ) -> None:
        self.vars = vars
        self.origins = {} if origins is None else origins
        self.written = {} if written is None else written  # folded names rules/fields wrote, in order
        self.locked = {} if locked is None else locked  # folded name -> rule label
        self.chosen = {} if chosen is None else chosen  # choice field id -> the item chosen

    def copy(self) -> State:
        return State(
            Variables(self.vars.as_dict()), dict(self.origins), dict(self.written), dict(self.locked), dict(self.chosen)
        )

    def set(self, name: str, value: str, origin: Origin) -> bool:
        """Set a variable unless a rule locked it; False when refused."""
        folded = name.casefold()
        if folded in self.locked and self.vars.lookup(name) != value:
            log.info("%s is locked by %s; keeping %r", name, self.locked[folded], self.vars.lookup(name))
            return False
        self.vars[name] = value
        self.origins[folded] = origin
        self.written[folded] = None
        return True


class Flow:
    """One run: facts and engine variables in, rules applied, pages answered, variables out."""

    def __init__(
        self,
        profile: Profile,
        catalog: Catalog | None,
        facts: Mapping[str, str],
        engine: Mapping[str, str] | None = None,
        *,
        role: str | None = None,
        catalog_note: str = "",
    ) -> None:
        self.profile = profile
        self.catalog = catalog or Catalog()
        self.facts = dict(facts)
        self.engine = dict(engine or {})
        self.role = role or profile.initial_role
        self.catalog_note = catalog_note
        self.user = ""  # who signed in on a login page, for the receipt
        self.answers: dict[str, Any] = {}  # field id -> value the person gave
        self.confirmed: dict[str, str] = {}  # confirm page id -> typed text
        self.fired: list[str] = []
        # Secrets of the run, masked in logs and the receipt: typed values, or SecretPrints of passwords.
        self.secrets: set[str | SecretPrint] = set()
        self._index: dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], Item]] = {}
        # Options of fields whose items have no `requires` depend on the role alone: built once per role.
        self._options: dict[tuple[str, str], tuple[Option, ...]] = {}
        self._offered_cache: dict[tuple[str, str], tuple[Item, ...]] = {}
        self._offered_index: dict[tuple[str, str], dict[str, tuple[int, Item]]] = {}
        self._sign_in_gates: dict[str, SignInGate] = {}
        self._unlock_gate: PinGate | None = None
        # The connection bound as whoever signed in (name check, OU picker); never a password.
        self.directory: DirectorySession | None = None
        self.name_checks: dict[str, NameStatus] = {}  # field id -> the last answer, for the receipt
        self._name_cache: dict[tuple[str, str], NameStatus] = {}
        self._ous: dict[str, tuple[Item, ...]] = {}  # OU field id -> the OUs read from the directory
        self.ou_notes: dict[str, str] = {}  # OU field id -> why the directory gave no OUs
        self.base = self._apply_rules()

    # -- sign-in and the technician unlock: the wizard and headless runs share them ---------------

    def sign_in_gate(self, page: Page, *, ca_bundle: Path | None = None, max_attempts: int = 0) -> SignInGate:
        """The sign-in of a login page (agent.auth.signin), kept for the run so that refused attempts add up.

        A successful sign-in sets `role` and `user`; every password tried goes into `secrets`.
        """
        gate = self._sign_in_gates.get(page.id)
        if gate is None:
            from agent.auth.signin import SignInGate

            gate = SignInGate(self, page, ca_bundle=ca_bundle, max_attempts=max_attempts)
            self._sign_in_gates[page.id] = gate
        return gate

    @property
    def unlock_gate(self) -> PinGate | None:
        """The technician unlock's PIN attempts (kiosk.technician_unlock); None where the profile has none."""
        unlock = self.profile.kiosk.technician_unlock
        if unlock is None:
            return None
        if self._unlock_gate is None:
            from agent.auth.pin import PinGate

            self._unlock_gate = PinGate(unlock.pin_hash, unlock.max_attempts)
        return self._unlock_gate

    def unlock(self, pin: str) -> bool:
        """The technician unlock: with the right PIN the flow takes the unlock's role (True); a wrong one
        counts toward the lockout (False). agent.auth.pin.PinFormatError when the profile's hash is unusable."""
        unlock, gate = self.profile.kiosk.technician_unlock, self.unlock_gate
        if unlock is None or gate is None:
            return False
        if pin:
            self.secrets.add(pin)
        if not gate.try_pin(pin):
            if gate.locked_out:
                log.warning("technician unlock: too many wrong PINs; unlock disabled")
            return False
        log.info("technician unlock: role %s -> %s", self.role, unlock.role)
        self.role = unlock.role
        return True

    # -- the directory, with the signed-in person's own bind ----------------------------------------

    def set_directory(self, session: DirectorySession | None) -> None:
        """Keep the bound session of the last sign-in (closing an earlier one); answers read before it go."""
        if self.directory is not None and self.directory is not session:
            self.directory.close()
        self.directory = session
        self._name_cache.clear()
        for field_id in list(self._ous):
            self._forget_options(field_id)
        self._ous.clear()
        self.ou_notes.clear()

    def sign_out(self) -> None:
        """Forget who signed in (the kiosk's idle reset): the user, their directory session, its answers."""
        self.user = ""
        self.set_directory(None)
        self.name_checks.clear()

    def close_directory(self) -> None:
        if self.directory is not None:
            self.directory.close()

    def _forget_options(self, field_id: str) -> None:
        for cache in (self._options, self._offered_cache, self._offered_index):
            for key in [k for k in cache if k[0] == field_id]:
                del cache[key]

    def check_name(self, fld: Field, name: str) -> NameStatus:
        """Ask the directory whether a computer called `name` exists (`directory_check` of a text field).

        Whether an existing object warns or blocks, and whether "cannot ask" skips or blocks, is the profile's.
        One answer per name and sign-in: Back and Next do not ask again.
        """
        spec = fld.directory_check
        assert spec is not None
        key = (fld.id, name.casefold())
        cached = self._name_cache.get(key)
        if cached is not None:
            self.name_checks[fld.id] = cached
            return cached
        from agent.errors import SourceUnavailable

        session = self.directory
        result: NameStatus
        try:
            if session is None or not session.open:
                raise SourceUnavailable("nobody signed in to the directory", "sign in on the login page (Back)")
            dn = session.find_computer(name, spec.base_dn, budget=spec.timeout)
        except SourceUnavailable as exc:
            block = spec.unavailable == "block"
            message = (f"{name} cannot be checked against the directory: {exc.message}; {exc.hint}" if block
                       else f"{name} was not checked against the directory ({exc.message})")
            result = NameStatus(name, "unavailable", block, message)
            log.warning("computer name check: %s", message)
        else:
            if not dn:
                result = NameStatus(name, "free", False, f"no computer named {name} in the directory yet")
            else:
                where = dn.split(",", 1)[1].strip() if "," in dn else dn
                if spec.exists == "block":
                    result = NameStatus(name, "exists", True,
                                        f"{name} already exists in {where}; choose another name", dn)
                else:
                    result = NameStatus(name, "exists", False, f"{name} exists in {where}; it will be reused", dn)
            log.info("computer name check: %s", result.message)
            self._name_cache[key] = result  # "unavailable" is asked again: the network may come back
        self.name_checks[fld.id] = result
        return result

    def load_ous(self, fld: Field) -> tuple[Item, ...]:
        """Read the OUs an OU field offers from the directory (once per sign-in). SourceUnavailable when nobody
        signed in or the directory does not answer within the field's budget."""
        spec = fld.ou
        assert spec is not None
        if fld.id in self._ous:
            return self._ous[fld.id]
        from agent.auth.directory import allowed_only
        from agent.errors import SourceUnavailable

        session = self.directory
        try:
            if session is None or not session.open:
                raise SourceUnavailable(f"{fld.label}: the OUs come from the directory, and nobody signed in to it",
                                        "sign in on the login page (back), or ask the imaging team for a static list")
            units = allowed_only(session.list_ous(spec.base_dn, extra_filter=spec.filter, page_size=spec.page_size,
                                                  budget=spec.timeout), spec.allow)
        except SourceUnavailable as exc:
            self.ou_notes[fld.id] = exc.message
            raise
        items = tuple(
            Item(id=u.dn, label=u.label, value=u.dn, attrs={"id": u.dn, "label": u.label, "value": u.dn, "dn": u.dn})
            for u in units
        )
        self._ous[fld.id] = items
        self.ou_notes.pop(fld.id, None)
        self._forget_options(fld.id)
        return items

    def ous_loaded(self, fld: Field) -> bool:
        return fld.ou is None or fld.id in self._ous

    # -- rules ---------------------------------------------------------------------------------

    def _initial_state(self) -> State:
        state = State(Variables())
        for name, value in self.facts.items():
            state.vars[name] = value
            state.origins[name.casefold()] = Origin(FACT)
        # Engine variables win over gathered facts: the engine knows what it booted.
        for name, value in self.engine.items():
            if value != "":
                state.vars[name] = value
                state.origins[name.casefold()] = Origin(ENGINE)
        return state

    def _lookup(self, rule: Rule, vars: Variables) -> Item | None:
        assert rule.lookup is not None
        wanted = tuple(vars.lookup(v).casefold() for _, v in rule.lookup.match)
        if not all(wanted):
            return None  # an empty variable matches nothing: no need to index the list
        attrs = tuple(a for a, _ in rule.lookup.match)
        key = (rule.lookup.list, attrs)
        index = self._index.get(key)
        if index is None:
            # Built once per (list, attributes): lookups stay O(1) with 10,000 items and 2,000 rules.
            index = {}
            for item in self.catalog.items(rule.lookup.list):
                values = tuple([item.attr(a).casefold() for a in attrs])
                if values not in index:
                    index[values] = item
            self._index[key] = index
        return index.get(wanted)

    def _apply_rules(self) -> State:
        state = self._initial_state()
        lookup = state.vars.lookup
        self.fired = []
        for rule in self.profile.rules:
            if rule.when and not check_expr(rule.when, lookup):
                continue
            item = None
            if rule.lookup is not None:
                item = self._lookup(rule, state.vars)
                if item is None:
                    continue
            label = rule.label
            origin = Origin(LOOKUP if item is not None else RULE, label)
            for name, template in rule.set:
                state.set(name, parse_template(template).render(lookup, item), origin)
            for name in rule.lock:
                state.locked.setdefault(name.casefold(), label)
            self.fired.append(label)
        log.info("rules fired: %s", ", ".join(self.fired) or "none")
        return state

    def reload_catalog(self, catalog: Catalog, note: str) -> None:
        """A refreshed catalog arrived: lookups may now match, so rules run again."""
        self.catalog = catalog
        self.catalog_note = note
        self._index.clear()
        self._options.clear()
        self._offered_cache.clear()
        self._offered_index.clear()
        self.base = self._apply_rules()

    # -- preflight -----------------------------------------------------------------------------

    def preflight(self) -> list[CheckResult]:
        lookup = self.base.vars.lookup
        results = []
        for check in self.profile.preflight:
            if check.roles is not None and not self._role_in(check.roles):
                continue
            passed = check_expr(check.check, lookup)
            message = parse_template(check.message).render(lookup) if check.message else ""
            if not message and not passed:
                message = f"check failed: {check.check}"
            results.append(CheckResult(check.name, check.severity, passed, message))
            level = INFO if passed else (ERROR if check.severity == "error" else WARNING)
            log.log(level, "preflight %r: %s", check.name, "passed" if passed else f"{check.severity}: {message}")
        return results

    # -- pages and fields ----------------------------------------------------------------------

    def _role_in(self, roles: Sequence[str]) -> bool:
        return self.role.casefold() in {r.casefold() for r in roles}

    def page_visible(self, page: Page, vars: Variables) -> bool:
        if page.roles is not None and not self._role_in(page.roles):
            return False
        return not page.when or check_expr(page.when, vars.lookup)

    def field_visible(self, fld: Field, vars: Variables) -> bool:
        if fld.roles is not None and not self._role_in(fld.roles):
            return False
        return not fld.when or check_expr(fld.when, vars.lookup)

    def _offered(self, fld: Field) -> tuple[Item, ...]:
        """The items a choice or multi field offers to the current role, in order; cached per role."""
        key = (fld.id, self.role.casefold())
        offered = self._offered_cache.get(key)
        if offered is None:
            if fld.ou is not None:
                items: Sequence[Item] = self._ous.get(fld.id, ())
            elif fld.list:
                items = self.catalog.items(fld.list)
            else:
                items = [
                    Item(
                        id=c.value,
                        label=c.label,
                        value=c.value,
                        roles=c.roles,
                        group=c.group,
                        requires=c.requires,
                        attrs={"id": c.value, "label": c.label, "value": c.value, "group": c.group},
                    )
                    for c in fld.choices
                ]
            role = self.role
            if list(map(_ROLES, items)).count(None) == len(items):  # every item for everyone (checked in C)
                offered = tuple(items)
            else:
                offered = tuple(item for item in items if item.roles is None or item.offered_to(role))
            self._offered_cache[key] = offered
        return offered

    def _offered_by_id(self, fld: Field) -> dict[str, tuple[int, Item]]:
        """Offered items by case-folded id, with their position: answers name a few of 10,000 items."""
        key = (fld.id, self.role.casefold())
        index = self._offered_index.get(key)
        if index is None:
            offered = self._offered(fld)
            index = dict(zip(map(str.casefold, map(_ID, offered)), enumerate(offered), strict=True))
            self._offered_index[key] = index
        return index

    def _ou_by_dn(self, fld: Field, dn: str) -> tuple[int, Item] | None:
        """An OU answered with other spacing or case than the directory's (`OU=Lab, DC=corp`)."""
        from agent.auth.directory import normal_dn

        wanted = normal_dn(dn)
        return next(((i, item) for i, item in enumerate(self._offered(fld)) if normal_dn(item.value) == wanted), None)

    @staticmethod
    def _option(item: Item, lookup: Callable[[str], str]) -> Option:
        enabled = not item.requires or check_expr(item.requires, lookup)
        reason = "" if enabled else f"requires {item.requires}"
        return Option(item.id, item.label, item.value, item.group, enabled, reason, item, item.attr("description"))

    def options(self, fld: Field, vars: Variables | None = None) -> tuple[Option, ...]:
        """What a choice or multi field offers to the current role; `requires` false = disabled."""
        key = (fld.id, self.role.casefold())
        cached = self._options.get(key)
        if cached is not None:
            return cached
        lookup = (vars or self.base.vars).lookup
        offered = self._offered(fld)
        options = tuple([self._option(item, lookup) for item in offered])
        if not any(item.requires for item in offered):
            self._options[key] = options  # nothing depends on variables: the same for every page visit
        return options

    def _not_offered(self, fld: Field, entry: object) -> FieldError:
        ids = [item.id for item in self._offered(fld)]
        shown = ", ".join(ids[:_SHOW_IDS]) + (f" and {len(ids) - _SHOW_IDS} more" if len(ids) > _SHOW_IDS else "")
        return FieldError(fld.id, f"{fld.id}: {entry!r} is not an allowed choice (offered: {shown or 'none'})")

    def locked_by(self, fld: Field, state: State) -> str:
        """The rule that locked this field's variable, or ""."""
        return state.locked.get(fld.variable.casefold(), "") if fld.variable else ""

    def initial_value(self, fld: Field, state: State) -> Any:
        """The variable's current value when one is set, else the field's default."""
        vars = state.vars
        current = vars.lookup(fld.variable) if fld.variable else ""
        if fld.type == "multi":
            if fld.array:
                values = []
                for i in range(1, 10**fld.array.digits):
                    value = vars.lookup(fld.array.name(i))
                    if not value:
                        break
                    values.append(value)
                if values:
                    by_value = {o.value.casefold(): o.id for o in self.options(fld, vars)}
                    return [by_value[v.casefold()] for v in values if v.casefold() in by_value]
            default = fld.default if isinstance(fld.default, list) else []
            return [str(d) for d in default]
        if fld.type == "checkbox":
            if current:
                return current.casefold() in ("true", "1", "yes")
            return bool(fld.default)
        if fld.type in ("choice", "ou"):
            options = self.options(fld, vars)
            if current:
                for option in options:
                    if option.value.casefold() == current.casefold():
                        return option.id
            if fld.default is not None:
                wanted = parse_template(str(fld.default)).render(vars.lookup)
                for option in options:
                    if wanted.casefold() in (option.id.casefold(), option.value.casefold()):
                        return option.id
            return ""
        if current:
            return current
        if fld.default is not None and not fld.is_secret:
            return parse_template(str(fld.default)).render(vars.lookup)
        return ""

    def text_problem(self, fld: Field, value: str) -> str | None:
        """Inline validation for text and password fields (the UI shows it as you type)."""
        rule = fld.validate
        if not value:
            # A computer name cannot be empty even when the field is optional: "install ... as ." helps no one.
            if rule is not None and rule.preset == "netbios":
                return netbios_problem(value)
            return "required" if fld.required else None
        if rule is None:
            return None
        if rule.preset == "netbios":
            return netbios_problem(value)
        if rule.min_length is not None and len(value) < rule.min_length:
            return rule.message or f"at least {rule.min_length} characters"
        if rule.max_length is not None and len(value) > rule.max_length:
            return rule.message or f"at most {rule.max_length} characters"
        if rule.regex:
            from agent.patterns import PatternTimeout, fullmatch

            try:
                matched = fullmatch(rule.regex, value)
            except PatternTimeout:  # a pathological pattern: refuse the value rather than hang (issue 19)
                return rule.message or "could not be checked in time; use a shorter or simpler value"
            if not matched:
                return rule.message or f"must match {rule.regex}"
        return None

    def apply_field(self, fld: Field, value: Any, state: State, *, answered: bool) -> None:
        """Write a field's value into `state`; raise FieldError when the value is not acceptable."""
        origin = Origin(USER if answered else DEFAULT, fld.id)
        locked = self.locked_by(fld, state)
        if locked:
            current = state.vars.lookup(fld.variable)
            if answered and str(value) != current and fld.type in ("text", "password"):
                raise FieldError(fld.id, f"{fld.variable} is locked by {locked} to {current!r}", "locked")
            return
        if fld.type == "checkbox":
            if not isinstance(value, bool):
                text = str(value).casefold()
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise FieldError(fld.id, f"{fld.id}: expected true or false, got {value!r}")
                value = text in ("true", "1", "yes")
            self._write(fld, "True" if value else "False", None, state, origin)
            return
        if fld.type in ("text", "password"):
            if isinstance(value, (list, dict)):
                raise FieldError(fld.id, f"{fld.id}: expected one value")
            text = "" if value is None else str(value)
            if fld.is_secret and text:
                self.secrets.add(text)
            problem = self.text_problem(fld, text)
            if problem:
                shown = "the value" if fld.is_secret else repr(text)
                kind = "missing" if not text and fld.required and not answered else "invalid"
                raise FieldError(fld.id, f"{fld.label or fld.id}: {shown} is not valid: {problem}", kind)
            if text:
                self._write(fld, text, None, state, origin)
            return
        index = self._offered_by_id(fld)
        lookup = state.vars.lookup
        if fld.type in ("choice", "ou"):
            if isinstance(value, (list, dict)):
                raise FieldError(fld.id, f"{fld.id}: expected one choice")
            chosen = "" if value is None else str(value)
            if not chosen:
                if fld.required:
                    raise FieldError(fld.id, f"{fld.label or fld.id}: a choice is required", "missing")
                return
            found = index.get(chosen.casefold())
            if found is None and fld.type == "ou":
                found = self._ou_by_dn(fld, chosen)
            if found is None:
                raise self._not_offered(fld, chosen)
            option = self._option(found[1], lookup)
            if not option.enabled:
                raise FieldError(fld.id, f"{fld.id}: {option.label} cannot be chosen: {option.reason}", "disabled")
            self._write(fld, option.value, option.item, state, origin)
            state.chosen[fld.id] = option.item
            return
        # multi
        chosen_ids = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        picked: dict[str, tuple[int, Option]] = {}
        for entry in chosen_ids:
            found = index.get(str(entry).casefold())
            if found is None:
                raise self._not_offered(fld, entry)
            option = self._option(found[1], lookup)
            if not option.enabled:
                raise FieldError(fld.id, f"{fld.id}: {option.label} cannot be chosen: {option.reason}", "disabled")
            picked[option.id.casefold()] = (found[0], option)
        if fld.required and not picked:
            raise FieldError(fld.id, f"{fld.label or fld.id}: choose at least one", "missing")
        # Catalog order, not click order: the task sequence installs in a predictable order.
        ordered = [option for _, option in sorted(picked.values(), key=itemgetter(0))]
        if fld.array:
            if len(ordered) >= 10**fld.array.digits:
                raise FieldError(fld.id, f"{fld.id}: at most {10**fld.array.digits - 1} entries fit {fld.array.base}")
            for i, option in enumerate(ordered, start=1):
                state.set(fld.array.name(i), option.value, origin)
        if fld.variable and ordered:
            state.set(fld.variable, ",".join(o.value for o in ordered), origin)

    def _write(self, fld: Field, value: str, item: Item | None, state: State, origin: Origin) -> None:
        if fld.variable:
            state.set(fld.variable, value, origin)
        for name, template in fld.set:
            state.set(name, parse_template(template).render(state.vars.lookup, item), origin)

    # -- walking the pages ---------------------------------------------------------------------

    def walk(self, upto: int | None = None, *, strict: bool = False) -> State:
        """Replay pages 0..upto-1 with the answers given so far (or initial values) and return the state.

        Re-running from the rules' state each time makes Back and changed answers simple and exact:
        a field that disappears because of an earlier change leaves nothing behind.
        """
        state = self.base.copy()
        pages = self.profile.pages if upto is None else self.profile.pages[:upto]
        for page in pages:
            if not self.page_visible(page, state.vars):
                continue
            for fld in page.fields:
                if not self.field_visible(fld, state.vars):
                    continue
                answered = fld.id in self.answers
                value = self.answers[fld.id] if answered else self.initial_value(fld, state)
                try:
                    self.apply_field(fld, value, state, answered=answered)
                except FieldError:
                    if strict:
                        raise
        return state

    def visible_pages(self) -> list[int]:
        """Indexes of the pages that show, given the answers so far."""
        shown = []
        state = self.base.copy()
        for index, page in enumerate(self.profile.pages):
            if self.page_visible(page, state.vars):
                shown.append(index)
                state = self.walk(index + 1)
        return shown

    def render(self, text: str, state: State) -> str:
        return parse_template(text).render(state.vars.lookup) if text else ""

    def expected_confirmation(self, page: Page, state: State) -> str:
        return self.render(page.type_to_confirm, state).strip()

    def confirmation_ok(self, page: Page, state: State, typed: str) -> bool:
        expected = self.expected_confirmation(page, state)
        return bool(expected) and typed.strip().casefold() == expected.casefold()

    def result(self, state: State) -> dict[str, str]:
        """The variables to commit: everything rules and fields wrote, plus Prestart* facts about the run."""
        out: dict[str, str] = {}
        for folded in state.written:
            entry = state.vars.spelled(folded)
            if entry is not None:
                out[entry[0]] = entry[1]
        out["PrestartVersion"] = __version__
        out["PrestartRole"] = self.role
        if self.catalog.serial:
            out["PrestartCatalogSerial"] = str(self.catalog.serial)
        return out

    def secret_variables(self) -> set[str]:
        """Folded names of the variables secret fields write: never logged, masked on screen and in receipts."""
        return set(secret_variables(self.profile))

    def what_will_run(self, state: State) -> list[dict[str, str]]:
        """For a chosen item that carries its task sequence (`sequence` XML, from the AdminService source):
        every step as run / skip / runtime with the reason, given the variables this run sets."""
        entries: list[dict[str, str]] = []
        for item in state.chosen.values():
            xml = item.attr("sequence")
            if not xml:
                continue
            from agent.tasksequence.plan import preview

            try:
                plan = preview(xml, state.vars.as_dict(), file=f"sequence of {item.label}")
            except Exception as exc:  # a broken sequence must not stop a reimage; say so instead
                log.warning("cannot plan the sequence of %s: %s", item.label, exc)
                continue
            entries += [e.to_dict() for e in plan]
        return entries

    def describe_rule(self, label: str) -> str:
        """A rule as a person reads it: its name, else its number and condition (not `rules[3]`)."""
        rule = next((r for r in self.profile.rules if r.label == label), None)
        if rule is None or rule.name:
            return label
        if rule.lookup is not None:
            matched = ", ".join(f"{attr} = {var}" for attr, var in rule.lookup.match)
            return f"rule {rule.position + 1} (catalog list {rule.lookup.list} where {matched})"
        return f"rule {rule.position + 1} (" + (f"when {rule.when})" if rule.when else "always)")

    def describe_origin(self, origin: Origin) -> str:
        """Where a value came from, in words for the confirm page: "rule: Laptops", "you chose (Language)"."""
        labels = {fld.id: fld.label for _, fld in self.profile.fields()}
        kind, detail = origin.kind, origin.detail
        if kind == USER:
            return f"you chose ({labels.get(detail, detail)})"
        if kind == DEFAULT:
            return f"default ({labels.get(detail, detail)})"
        if kind in (RULE, LOOKUP):
            described = self.describe_rule(detail)
            return described if described.startswith("rule ") else f"rule: {described}"
        return {FACT: "this computer", ENGINE: "boot engine", "prestart": "Prestart"}.get(kind, kind)

    def readable_sources(self, state: State) -> dict[str, str]:
        """sources() in words, for people (the receipt keeps the exact form)."""
        origins, unknown = state.origins, Origin("prestart")
        return {name: self.describe_origin(origins.get(name.casefold(), unknown)) for name in self.result(state)}

    def choices_in_words(self, state: State, upto: int) -> list[tuple[str, str]]:
        """(field label, the answer in words) for every field shown on pages before `upto`: the plain summary
        a kiosk user sees instead of variable names. Secret fields and fields rules locked are left out."""
        out: list[tuple[str, str]] = []
        walked = self.base.copy()
        for index, page in enumerate(self.profile.pages[:upto]):
            if not self.page_visible(page, walked.vars):
                continue
            walked = self.walk(index)
            for fld in page.fields:
                if not self.field_visible(fld, walked.vars) or fld.is_secret or self.locked_by(fld, walked):
                    continue
                value = self.answers[fld.id] if fld.id in self.answers else self.initial_value(fld, walked)
                words = self._in_words(fld, value)
                if words:
                    out.append((fld.label, words))
                with contextlib.suppress(FieldError):
                    self.apply_field(fld, value, walked, answered=fld.id in self.answers)
        return out

    def _in_words(self, fld: Field, value: Any) -> str:
        if fld.type == "checkbox":
            return "yes" if value is True or str(value).casefold() in ("true", "1", "yes") else "no"
        if fld.type in ("choice", "multi"):
            index = self._offered_by_id(fld)
            ids = value if isinstance(value, list) else ([value] if value else [])
            found = [index[str(i).casefold()][1] for i in ids if str(i).casefold() in index]
            if not found:
                return "none" if fld.type == "multi" else ""
            if len(found) == 1 and found[0].attr("description"):
                return f"{found[0].label} ({found[0].attr('description')})"
            return ", ".join(item.label for item in found)
        return str(value or "")

    def sources(self, state: State) -> dict[str, str]:
        """Where each committed variable came from (engine, default, rule, lookup, user)."""
        return {name: str(state.origins.get(name.casefold(), Origin("prestart"))) for name in self.result(state)}


def secret_variables(profile: Profile) -> dict[str, str]:
    """Folded names of the variables that hold a secret -> the secret field it comes from.

    A secret keeps its taint through templates: `set: {Short: "{Pw|left:6}"}` makes Short a secret too, and
    so does anything made from Short in turn (issue 19: filters once let a password through in clear).
    """
    tainted: dict[str, str] = {}
    for _, fld in profile.fields():
        if fld.is_secret:
            for name in ([fld.variable] if fld.variable else []) + [n for n, _ in fld.set]:
                tainted[name.casefold()] = fld.id
    templates = [(name, text) for rule in profile.rules for name, text in rule.set]
    templates += [(name, text) for _, fld in profile.fields() for name, text in fld.set]
    changed = True
    while changed:
        changed = False
        for name, text in templates:
            if name.casefold() in tainted:
                continue
            try:
                read = parse_template(text).names
            except Exception:
                continue
            source = next((tainted[n.casefold()] for n in read if n.casefold() in tainted), None)
            if source is not None:
                tainted[name.casefold()] = source
                changed = True
    return tainted
