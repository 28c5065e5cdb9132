"""Meaning checks for a profile: every problem at once, each with its file, line and path."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.catalog.model import Catalog
from agent.errors import InputError, Problem
from agent.expr import Expr, ExprError, parse
from agent.facts import FACT_NAMES, NUMBERED_FACTS
from agent.profile.model import Field, Page, Profile
from agent.templates import TemplateError, parse_template
from agent.variables import name_problem
from agent.yamlio import Located

_FACTS = frozenset(n.casefold() for n in FACT_NAMES)
_NUMBERED_FACT = re.compile(rf"({'|'.join(NUMBERED_FACTS)})\d{{3}}", re.IGNORECASE)


def is_known_fact(name: str) -> bool:
    folded = name.casefold()
    return (
        folded in _FACTS
        or bool(_NUMBERED_FACT.fullmatch(name))
        or folded.startswith("_smsts")
        or folded.startswith("prestart")
    )


class Findings:
    """Problems (exit 13) and warnings (shown, not fatal), each located in the file."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.expressions: dict[str, Expr] = {}  # every condition that parsed, by its text (for compiling)

    def add(self, path: str, message: str, hint: str = "", *, warning: bool = False) -> None:
        problem = Problem(path, message, file=self.located.file, line=self.located.line(path), hint=hint)
        (self.warnings if warning else self.problems).append(problem)


def _expr(findings: Findings, path: str, text: str) -> frozenset[str]:
    if not text:
        return frozenset()
    try:
        from agent.expr import names

        tree = findings.expressions[text] = parse(text)
        return names(tree)
    except ExprError as exc:
        findings.add(path, f"expression does not parse: {exc.message}", "see docs/expressions.md")
        return frozenset()


def _template(findings: Findings, path: str, text: str, *, item_scope: bool) -> frozenset[str]:
    """Parse a template; report `{item.*}` where no item is in scope. Returns variable names read."""
    try:
        template = parse_template(text)
    except TemplateError as exc:
        findings.add(path, f"template does not parse: {exc.message}", "use {Name}, {item.attr} and |filters")
        return frozenset()
    if template.item_attrs and not item_scope:
        findings.add(
            path,
            f"{{item.{sorted(template.item_attrs)[0]}}} names nothing: no catalog item is chosen or matched here",
            "use {item.*} only in a choice field's `set` or a rule with `lookup`",
        )
    return template.names


def _item_attrs(
    findings: Findings, path: str, text: str, item_list: str, catalog: Catalog, known: dict[tuple[str, str], bool]
) -> None:
    """Report `{item.attr}` that no item of the catalog list has (an empty list proves nothing).

    `known` remembers each (list, attribute) answer: 500 lookup rules on one 10,000-item list ask the same.
    """
    try:
        wanted = parse_template(text).item_attrs
    except TemplateError:
        return  # check_structure reports it
    items = catalog.items(item_list)
    if not wanted or not items:
        return
    for attr in sorted(wanted):
        folded = attr.casefold()
        key = (item_list, folded)
        if key not in known:
            known[key] = any(folded in {k.casefold() for k in item.attrs} for item in items)
        if not known[key]:
            findings.add(
                path,
                f"{{item.{attr}}} names nothing: no item of catalog list {item_list!r} has {attr!r}",
                f"attributes there: {', '.join(sorted({k for i in items for k in i.attrs}))}",
            )


def _variable(findings: Findings, path: str, name: str) -> None:
    why = name_problem(name)
    if why:
        findings.add(path, why, "task sequence variables: letters, digits, '_' and '-', starting with a letter")


def _field_checks(findings: Findings, path: str, fld: Field) -> set[str]:
    """Check one field; return the variable names it sets."""
    sets: set[str] = set()
    has_items = bool(fld.list or fld.choices)
    if fld.type in ("choice", "multi") and not has_items:
        findings.add(path, f"a {fld.type} field needs `list` (a catalog list) or `choices`", "add one of them")
    if fld.list and fld.choices:
        findings.add(path, "give either `list` or `choices`, not both", "remove one of them")
    _directory_checks(findings, path, fld, has_items)
    if fld.type not in ("choice", "multi", "ou") and has_items:
        findings.add(path, f"a {fld.type} field takes no `list` or `choices`", "make it a choice or multi field")
    if fld.type == "multi":
        if fld.set:
            findings.add(
                f"{path}.set", "a multi field writes `array` or `variable`, not `set`", "replace `set` with `array`"
            )
        if not (fld.array or fld.variable):
            findings.add(
                path,
                "a multi field needs `array: {base: NAME, digits: 2}` or `variable`",
                "add `array: {base: XApplications, digits: 2}`",
            )
    elif fld.array:
        findings.add(f"{path}.array", "only multi fields write array variables", "remove `array`")
    if not (fld.variable or fld.set or fld.array):
        findings.add(path, "the field writes nothing", "add `variable:` or `set:`")
    if fld.variable:
        _variable(findings, f"{path}.variable", fld.variable)
        sets.add(fld.variable)
    if fld.array:
        _variable(findings, f"{path}.array.base", fld.array.name(1))
        sets.update(fld.array.name(i) for i in (1, 2))
    for name, value in fld.set:
        _variable(findings, f"{path}.set.{name}", name)
        _template(
            findings,
            f"{path}.set.{name}",
            value,
            item_scope=fld.type == "choice",
        )
        sets.add(name)
    if fld.validate is not None:
        if fld.type not in ("text", "password"):
            findings.add(
                f"{path}.validate",
                f"validation applies to text and password fields, not {fld.type}",
                "remove `validate`",
            )
        if fld.validate.regex:
            from agent.patterns import pattern_problem

            why = pattern_problem(fld.validate.regex)
            if why and why.startswith("a repeated group"):
                # Checked with a time limit at run time; still worth rewriting (docs/profiles.md).
                findings.add(f"{path}.validate.regex", why, warning=True)
            elif why:
                syntax = why.startswith("not a valid pattern: ")
                findings.add(
                    f"{path}.validate.regex",
                    f"regular expression does not compile: {why.removeprefix('not a valid pattern: ')}"
                    if syntax else f"regular expression cannot be used: {why}",
                    "Python `re` syntax; quote the pattern in single quotes",
                )
        lo, hi = fld.validate.min_length, fld.validate.max_length
        if lo is not None and hi is not None and lo > hi:
            findings.add(f"{path}.validate", f"min_length {lo} is more than max_length {hi}", "swap them")
    _default_checks(findings, path, fld)
    if fld.type == "password" and fld.default not in (None, ""):
        findings.add(
            f"{path}.default", "a password field cannot have a default: it would be on the media", "remove the default"
        )
    _expr(findings, f"{path}.when", fld.when)
    for index, choice in enumerate(fld.choices):
        _expr(findings, f"{path}.choices[{index}].requires", choice.requires)
    return sets


def _directory_checks(findings: Findings, path: str, fld: Field, has_items: bool) -> None:
    """An OU field reads the directory or a static list; a name check belongs to a text field."""
    if fld.type == "ou":
        if fld.ou is None and not has_items:
            findings.add(path, "an ou field needs `ou: {base_dn: ...}` (from the directory), `list` or `choices`",
                         "add `ou: {base_dn: \"OU=Computers,DC=corp,DC=example\"}`")
        if fld.ou is not None and has_items:
            findings.add(path, "give `ou` (from the directory) or `list`/`choices` (a static list), not both",
                         "remove one of them")
        if fld.ou is not None and fld.ou.filter and not (fld.ou.filter.startswith("(")
                                                         and fld.ou.filter.endswith(")")):
            findings.add(f"{path}.ou.filter", "an LDAP filter is written in parentheses", "write (ou=Lab*)")
        if not fld.variable:
            findings.add(path, "an ou field writes the chosen DN to `variable`",
                         "add `variable: MachineObjectOU` (MDT) or `variable: OSDDomainOUName` (ConfigMgr)")
    elif fld.ou is not None:
        findings.add(f"{path}.ou", "`ou` belongs to fields of `type: ou`", "add `type: ou`")
    if fld.directory_check is not None and fld.type != "text":
        findings.add(f"{path}.directory_check", "the computer name check applies to text fields",
                     "put it on the computer name field")


def _default_checks(findings: Findings, path: str, fld: Field) -> None:
    default = fld.default
    if default is None:
        return
    where = f"{path}.default"
    if fld.type == "checkbox" and not isinstance(default, bool):
        findings.add(where, "a checkbox default is true or false", "write true or false without quotes")
    elif fld.type == "multi" and not isinstance(default, list):
        findings.add(where, "a multi default is a list of item ids", "write [id1, id2]")
    elif fld.type in ("choice", "text", "password") and isinstance(default, (list, dict)):
        findings.add(where, f"a {fld.type} default is one value", "give one value, not a list")
    elif fld.type == "choice" and fld.choices and str(default) not in {c.value for c in fld.choices}:
        try:
            constant = parse_template(str(default)).is_constant
        except TemplateError:
            constant = False
        if constant:
            findings.add(
                where,
                f"default {default!r} is not one of the choices",
                f"choices: {', '.join(c.value for c in fld.choices)}",
            )
    elif isinstance(default, str):
        _template(findings, where, default, item_scope=False)


def _page_checks(findings: Findings, path: str, page: Page) -> None:
    if page.type != "form" and page.fields:
        findings.add(f"{path}.fields", f"a {page.type} page has no fields", "make it a form page (drop `type`)")
    if page.type == "form" and not page.fields:
        findings.add(path, "a form page needs `fields`", "add fields, or make it `type: info`")
    if page.type != "confirm":
        if page.type_to_confirm:
            findings.add(f"{path}.type_to_confirm", "only confirm pages ask for typed text", "add `type: confirm`")
        if page.countdown:
            findings.add(f"{path}.countdown", "only confirm pages count down", "add `type: confirm`")
    if page.type == "login" and page.ldap is None and not page.allow_pin:
        findings.add(path, "a login page needs `ldap:` settings or `allow_pin: true`", "")
    if page.type != "login" and (page.ldap or page.groups):
        findings.add(path, "`ldap` and `groups` belong to login pages", "add `type: login`")
    _expr(findings, f"{path}.when", page.when)
    for key in ("text", "type_to_confirm"):
        value = getattr(page, key)
        if value:
            _template(findings, f"{path}.{key}", value, item_scope=False)


def _pin_hash_problem(text: str) -> str | None:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        return "pin_hash must be scrypt$N$r$p$<salt base64>$<hash base64>"
    return None


def check(profile: Profile, located: Located, catalog: Catalog | None = None) -> Findings:
    """Every meaning problem of a profile the schema has accepted: its own, then against the catalog."""
    findings = check_structure(profile, located)
    if catalog is not None:
        check_against_catalog(profile, catalog, findings)
    return findings


def check_against_catalog(profile: Profile, catalog: Catalog, findings: Findings) -> Findings:
    """What only the catalog at hand can answer: the lists named exist, and items have the attributes used.

    The agent runs this even on a compiled profile: the catalog at boot may be newer than the build's.
    """
    missing = f"lists in the catalog: {', '.join(sorted(catalog.lists)) or 'none'}"
    known: dict[tuple[str, str], bool] = {}
    for index, rule in enumerate(profile.rules):
        if rule.lookup is None:
            continue
        path = f"rules[{index}]"
        if rule.lookup.list not in catalog.lists:
            findings.add(f"{path}.lookup.list", f"list {rule.lookup.list!r} is missing from the catalog", missing)
        for name, value in rule.set:
            _item_attrs(findings, f"{path}.set.{name}", value, rule.lookup.list, catalog, known)
    for p_index, page in enumerate(profile.pages):
        for f_index, fld in enumerate(page.fields):
            if not fld.list:
                continue
            path = f"pages[{p_index}].fields[{f_index}]"
            if fld.list not in catalog.lists:
                findings.add(f"{path}.list", f"list {fld.list!r} is missing from the catalog", missing)
            if fld.type != "choice":
                continue
            for name, value in fld.set:
                _item_attrs(findings, f"{path}.set.{name}", value, fld.list, catalog, known)
    return findings


def check_structure(profile: Profile, located: Located) -> Findings:
    """Every meaning problem a profile has on its own, whatever the catalog (`prestart compile` runs these)."""
    findings = Findings(located)
    settable: set[str] = set()
    read: list[tuple[str, str]] = []  # (path, name) of every variable read, for the "names nothing" warning

    for index, rule in enumerate(profile.rules):
        path = f"rules[{index}]"
        read += [(f"{path}.when", n) for n in _expr(findings, f"{path}.when", rule.when)]
        if not rule.set and not rule.lock:
            findings.add(path, "the rule does nothing", "add `set:` or `lock:`")
        if rule.lookup is not None:
            for attr, var in rule.lookup.match:
                read.append((f"{path}.lookup.match.{attr}", var))
        for name, value in rule.set:
            _variable(findings, f"{path}.set.{name}", name)
            names = _template(
                findings,
                f"{path}.set.{name}",
                value,
                item_scope=rule.lookup is not None,
            )
            read += [(f"{path}.set.{name}", n) for n in names]
            settable.add(name)
        for index_lock, name in enumerate(rule.lock):
            _variable(findings, f"{path}.lock[{index_lock}]", name)
            if name.casefold() not in {n.casefold() for n, _ in rule.set} and not any(
                name.casefold() == n.casefold() for n in settable
            ):
                findings.add(
                    f"{path}.lock[{index_lock}]",
                    f"locks {name}, which no rule so far sets",
                    "set it in this rule or an earlier one",
                    warning=True,
                )

    for index, item in enumerate(profile.preflight):
        read += [(f"preflight[{index}].check", n) for n in _expr(findings, f"preflight[{index}].check", item.check)]
        if item.message:
            _template(
                findings, f"preflight[{index}].message", item.message, item_scope=False
            )

    # Answers files name fields by id and confirm pages by page id: those share one namespace.
    page_ids: dict[str, str] = {}
    ids: dict[str, str] = {}
    for p_index, page in enumerate(profile.pages):
        path = f"pages[{p_index}]"
        _claim(findings, page_ids, page.id.casefold(), f"{path}.id", f"page id {page.id!r}")
        if page.type == "confirm":
            _claim(findings, ids, page.id.casefold(), f"{path}.id", f"confirm page id {page.id!r} (answers use it)")
        _page_checks(findings, path, page)
        for f_index, fld in enumerate(page.fields):
            f_path = f"{path}.fields[{f_index}]"
            _claim(findings, ids, fld.id.casefold(), f"{f_path}.id", f"field id {fld.id!r}")
            settable |= _field_checks(findings, f_path, fld)
            # The directory is asked with the technician's sign-in: it must come after a login page with ldap.
            if (fld.ou is not None or fld.directory_check is not None) and not any(
                    p.type == "login" and p.ldap is not None for p in profile.pages[:p_index]):
                findings.add(f_path, "reads the directory, but no earlier login page signs in with `ldap:`",
                             "add a login page with `ldap:` before this page", warning=fld.ou is None)

    unlock = profile.kiosk.technician_unlock
    if unlock is not None:
        why = _pin_hash_problem(unlock.pin_hash)
        if why:
            findings.add("kiosk.technician_unlock.pin_hash", why, "make one with `prestart pin-hash`")
    if profile.mode != "kiosk" and (profile.kiosk.idle_reset_seconds or unlock):
        findings.add("kiosk", "kiosk settings only apply with `mode: kiosk`", "", warning=True)
    if profile.refresh is not None and not str(profile.refresh.get("url", "")).lower().startswith("https://"):
        findings.add("catalog.refresh.url", "catalog refresh must use https://", "the catalog is fetched over TLS only")

    _secret_copies(findings, profile)
    known = {n.casefold() for n in settable}
    for path, name in read:
        if not is_known_fact(name) and name.casefold() not in known:
            findings.add(
                path,
                f"{name} is not a fact and nothing in the profile sets it",
                "it is empty unless the engine sets it; check the spelling",
                warning=True,
            )
    return findings


def _secret_copies(findings: Findings, profile: Profile) -> None:
    """Say where a template copies a secret (`{Pw|upper}`): the copy is a secret too, masked in logs and the
    receipt, which the author may not expect."""
    from agent.flow import secret_variables

    tainted = secret_variables(profile)
    direct = {n.casefold() for _, f in profile.fields() if f.is_secret for n in [f.variable, *(k for k, _ in f.set)]
              if n}
    places = [(f"rules[{i}].set.{name}", name) for i, rule in enumerate(profile.rules) for name, _ in rule.set]
    places += [(f"pages[{p}].fields[{f}].set.{name}", name) for p, page in enumerate(profile.pages)
               for f, fld in enumerate(page.fields) for name, _ in fld.set if not fld.is_secret]
    for path, name in places:
        if name.casefold() in tainted and name.casefold() not in direct:
            findings.add(
                path,
                f"{name} is made from the secret field {tainted[name.casefold()]!r}, so it is a secret too: "
                "masked in the log and the receipt",
                "set it from the secret field itself if that is what you mean",
                warning=True,
            )


def _claim(findings: Findings, ids: dict[str, str], key: str, path: str, what: str) -> None:
    if key in ids:
        findings.add(path, f"duplicate {what}; first used at {ids[key]}", "ids must be unique across pages and fields")
    else:
        ids[key] = path


def problems_to_error(problems: Iterable[Problem], what: str) -> InputError:
    from agent.errors import ValidationFailed

    return ValidationFailed(list(problems), what)
