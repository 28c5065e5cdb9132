"""MDT rules (CustomSettings.ini, Bootstrap.ini) as Prestart rules and pages that set what MDT's Gather would."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from agent.errors import InputError
from agent.facts import FACT_NAMES, NUMBERED_FACTS
from agent.importers import Imported, Note
from agent.importers.ztigather import LISTS, OVERWRITE, PROPERTIES
from agent.variables import name_problem

# How many values of a list a priority entry looks at (MacAddress001..004, DefaultGateway001..004, a custom list's
# first four). MDT looks at all of them; a profile condition names each one, and WinPE machines rarely have more
# than four IP-enabled adapters.
LIST_SLOTS = 4
# MDT reads NAME1..NAME100 (or NAME001..NAME100) of a list property.
MAX_LIST = 100
# Keys a section may hold that are not properties: MDT acts on them itself.
_SECTION_KEYS = frozenset(
    k.casefold()
    for k in (
        "UserExit", "SQLServer", "SQLShare", "Database", "Table", "Netlib", "Instance", "Port", "StoredProcedure",
        "Parameters", "ParameterCondition", "Order", "DBID", "DBPwd", "WebService", "Method", "Subsection",
        "SQLDefault",
    )
)
_SETTINGS_KEYS = frozenset(
    k.casefold() for k in ("Priority", "Properties", "CustomKeysUserData", "CustomKeysSysprep", "OSDVariableKeys")
)
# Facts MDT's Gather sets that Prestart gathers too (same names): a priority entry may key on them.
_PRESTART_FACTS = frozenset(n.casefold() for n in FACT_NAMES)
_GATHERED_LISTS = frozenset(n.casefold() for n in NUMBERED_FACTS)
# What MDT gathers in WinPE that Prestart does not: a rule keyed on them never matches.
_MDT_ONLY_FACTS = frozenset(
    n.casefold()
    for n in (
        "IsServerOS", "IsServerCoreOS", "CapableArchitecture", "SupportsX86", "SupportsX64",
        "SupportsSLAT", "IsHypervisorRunning", "SupportsVT", "SupportsNX", "Supports64Bit", "SupportsHyperVRole",
        "IsBDE", "HALName", "OSSKU", "OriginalArchitecture", "VMHost", "VMName", "WDSServer", "SMSDP",
    )
)
_SECRET = re.compile(r"password|pwd$|^bdepin$|productkey$|^dbpwd$", re.IGNORECASE)
_VAR = re.compile(r"%([^%\s]+)%")
_EVAL = re.compile(r"#([^#]*)#")
_CALL = re.compile(r'\s*(Left|Right|UCase|LCase|Trim)\s*\(\s*"%([A-Za-z_][A-Za-z0-9_]*)%"\s*(?:,\s*(\d+)\s*)?\)\s*',
                   re.IGNORECASE)


class Entry(NamedTuple):
    key: str
    value: str
    line: int


@dataclass
class Section:
    name: str
    line: int
    entries: list[Entry] = field(default_factory=list)

    def get(self, key: str) -> Entry | None:
        """The first entry of `key` (MDT's ReadIni stops at the first match)."""
        folded = key.casefold()
        return next((e for e in self.entries if e.key.casefold() == folded), None)


@dataclass
class IniFile:
    """An INI file as MDT's ReadIni sees it: the first section of each name, the first key of each name."""

    path: Path
    sections: dict[str, Section]
    duplicates: list[Section]

    @property
    def label(self) -> str:
        return self.path.name

    def section(self, name: str) -> Section | None:
        return self.sections.get(name.strip().casefold())


def _decode(data: bytes, path: Path) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_ini(path: Path) -> IniFile:
    """Parse an MDT rules file; lines are trimmed, `;` lines never match a key (as in ZTIUtility's ReadIni)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found", "give the path of CustomSettings.ini or Bootstrap.ini") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}", "check the path and its permissions") from exc
    sections: dict[str, Section] = {}
    duplicates: list[Section] = []
    current: Section | None = None
    for number, raw in enumerate(_decode(data, path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = Section(line[1:-1].strip(), number)
            if current.name.casefold() in sections:
                duplicates.append(current)
            else:
                sections[current.name.casefold()] = current
            continue
        if current is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        current.entries.append(Entry(key.strip(), value.strip(), number))
    return IniFile(path, sections, duplicates)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _and(*parts: str) -> str:
    kept = [p for p in parts if p]
    return " and ".join(f"({p})" if " or " in p else p for p in kept)


def _equals(name: str, value: str) -> str:
    """`name` equals `value` as MDT compares section names: text, case-insensitive."""
    # `==` compares numbers numerically ("0012" == "12"); `like` without wildcards compares text.
    if re.fullmatch(r"\s*[-+]?[0-9.]+\s*", value) and "%" not in value and "_" not in value:
        return f"{name} like {_quote(value)}"
    return f"{name} == {_quote(value)}"


class _Gather:
    """One Gather run over one or two INI files, writing Prestart rules in MDT's order."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.notes: list[Note] = []
        self.properties: list[str] = list(PROPERTIES)
        self.lists: set[str] = set(LISTS)
        self.known: set[str] = {p.casefold() for p in PROPERTIES}
        self.bounds: dict[str, tuple[int, int]] = {}  # list property -> (fewest, most) values so far
        self.static: dict[str, str] = {}  # property -> value every run sets first (unconditional)
        self.maybe_set: dict[str, str] = {}  # property (folded) -> spelling, set by some rule
        self.list_values: dict[str, list[str]] = {}  # list property -> values set unconditionally, in order
        self.noted: set[tuple[str, int, str]] = set()

    # -- notes -------------------------------------------------------------------------------

    def note(self, ini: IniFile, line: int, what: str, why: str, instead: str) -> None:
        key = (ini.label, line, why)
        if key not in self.noted:
            self.noted.add(key)
            self.notes.append(Note(ini.label, line, what, why, instead))

    # -- properties ----------------------------------------------------------------------------

    def declare(self, ini: IniFile) -> None:
        """`Properties=` (and the other declaring keys of [Settings]) add custom properties, `(*)` lists."""
        settings = ini.section("Settings")
        if settings is None:
            return
        for entry in settings.entries:
            folded = entry.key.casefold()
            if folded not in _SETTINGS_KEYS:
                self.note(ini, entry.line, f"[Settings] {entry.key}", "MDT reads only Priority and Properties "
                          "from [Settings]; it ignores this key", "move it to [Default] if it was meant to apply")
                continue
            if folded == "priority":
                continue
            for raw in entry.value.split(","):
                name = raw.strip()
                if not name:
                    continue
                is_list = name.endswith("(*)")
                name = name[:-3].strip() if is_list else name
                if is_list:
                    self.lists.add(name.casefold())
                if name.casefold() not in self.known:
                    self.known.add(name.casefold())
                    self.properties.append(name)

    def _template(self, ini: IniFile, line: int, key: str, value: str) -> str | None:
        """A value as a Prestart template: `%NAME%` of a property or fact expands as Gather's Substitute does.

        `#Right("%NAME%",7)#` and its kin (Left, UCase, LCase, Trim of one value) become filters; other
        `#...#` VBScript is reported, never guessed.
        """
        out: list[str] = []
        pos = 0
        for block in _EVAL.finditer(value):
            out.append(self._substitute(ini, line, key, value, value[pos : block.start()]))
            call = _CALL.fullmatch(block.group(1))
            if call is None:
                self.note(ini, line, f"{key}={value}", "MDT evaluates #...# as VBScript when it reads the value",
                          "compute the value with a template ({Name|upper}, |left:N, |right:N) or set it by hand")
                return None
            function, name, count = call.group(1).casefold(), call.group(2), call.group(3)
            if (count is None) != (function in ("ucase", "lcase", "trim")):
                self.note(ini, line, f"{key}={value}", f"{call.group(1)} takes {'no' if count else 'a'} length "
                          "here", "write the value as a template")
                return None
            inner = self._substitute(ini, line, key, value, f"%{name}%")
            filters = {"left": f"left:{count}", "right": f"right:{count}", "ucase": "upper", "lcase": "lower",
                       "trim": "trim"}[function]
            out.append(inner[:-1] + f"|{filters}}}" if inner.startswith("{") else inner)
            pos = block.end()
        out.append(self._substitute(ini, line, key, value, value[pos:]))
        return "".join(out)

    def _substitute(self, ini: IniFile, line: int, key: str, value: str, text: str) -> str:
        text = text.replace("{", "{{").replace("}", "}}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            folded = name.casefold()
            if folded in self.lists or folded in _GATHERED_LISTS:
                # Substitute takes the first value of a list.
                return f"{{{name}001|default:%{name}%}}"
            if folded in self.known or folded in _PRESTART_FACTS:
                # Substitute leaves %NAME% as it is when NAME is empty; the task sequence may expand it later.
                return f"{{{name}|default:%{name}%}}"
            self.note(ini, line, f"{key}={value}", f"%{name}% is not a property MDT knows, so MDT expands it from "
                      "the environment of the Gather script, if at all", f"Prestart leaves %{name}% for the task "
                      f"sequence to expand; declare {name} in Properties= and set it if it should come from rules")
            return match.group(0)

        return _VAR.sub(replace, text)

    def _settable(self, ini: IniFile, entry: Entry, name: str) -> bool:
        if _SECRET.search(name) and not name.casefold().startswith("skip"):
            self.note(ini, entry.line, f"{entry.key}=(secret, not shown)", "a profile travels on boot media in "
                      "clear, so it never holds a password or key", "set it as a hidden task sequence or collection "
                      "variable, or ask for it on a page with a password field")
            return False
        problem = name_problem(name)
        if problem:
            self.note(ini, entry.line, f"{entry.key}={entry.value}", f"Prestart cannot set it: {problem}",
                      "set it in the task sequence or as a collection variable")
            return False
        return True

    def _emit_single(self, ini: IniFile, section: Section, entry: Entry, name: str, cond: str) -> None:
        if not self._settable(ini, entry, name):
            return
        template = self._template(ini, entry.line, name, entry.value)
        if template is None:
            return
        folded = name.casefold()
        overwrite = folded in OVERWRITE
        rule: dict[str, Any] = {"name": f"{ini.label}:{entry.line} [{section.name}] {name}"}
        when = _and(cond, "" if overwrite else f"not exists {name}")
        if when:
            rule["when"] = when
        rule["set"] = {name: template}
        self.rules.append(rule)
        if not cond and (overwrite or folded not in self.maybe_set):
            self.static[folded] = entry.value
        self.maybe_set.setdefault(folded, name)

    def _emit_list(self, ini: IniFile, section: Section, name: str, values: list[Entry], cond: str) -> None:
        folded = name.casefold()
        for entry in values:
            if not self._settable(ini, entry, name):
                return
            template = self._template(ini, entry.line, entry.key, entry.value)
            if template is None:
                continue
            known = self.list_values.setdefault(folded, [])
            lo, hi = self.bounds.get(folded, (0, 0))
            constant = template == entry.value.replace("{", "{{").replace("}", "}}")
            if not cond and lo == hi:
                if entry.value in known:
                    continue  # Gather keeps each value once
                slot = lo + 1
                self.rules.append({"name": f"{ini.label}:{entry.line} [{section.name}] {entry.key}",
                                   "set": {f"{name}{slot:03d}": template}})
                known.append(entry.value)
                self.bounds[folded] = (slot, slot)
                continue
            # Highest slot first: once the value lands in slot k, the rules for lower slots see slot k-1 set
            # and stay quiet, so each value is added once even when it is a template that cannot be compared.
            for slot in range(hi + 1, lo, -1):
                parts = [cond]
                if slot > 1:
                    parts.append(f"exists {name}{slot - 1:03d}")
                parts.append(f"not exists {name}{slot:03d}")
                if constant:
                    parts += [f"{name}{j:03d} != {_quote(entry.value)}" for j in range(1, slot)]
                rule: dict[str, Any] = {"name": f"{ini.label}:{entry.line} [{section.name}] {entry.key} "
                                                f"(as {name}{slot:03d})", "when": _and(*parts),
                                        "set": {f"{name}{slot:03d}": template}}
                self.rules.append(rule)
            self.bounds[folded] = (lo + 1 if not cond and not any(
                v == entry.value for v in known) else lo, hi + 1)
        self.maybe_set.setdefault(folded, name)

    # -- sections ------------------------------------------------------------------------------

    def section(self, ini: IniFile, name: str, cond: str, depth: int = 0, via: int = 0) -> None:
        """GetIniGenericSettings: user exit, database, web service, subsection, then the properties."""
        section = ini.section(name)
        if section is None:
            return
        if depth > 8:
            self.note(ini, via or section.line, f"[{section.name}]", "subsections nest more than 8 deep (a loop?)",
                      "flatten the subsections")
            return
        skip_properties = False
        exit_entry = section.get("UserExit")
        if exit_entry is not None:
            self.note(ini, exit_entry.line, f"[{section.name}] UserExit={exit_entry.value}", "MDT runs this VBScript "
                      "before and after the section; Prestart runs no scripts", "compute those values with rules "
                      "(when, templates) or a catalog lookup; a value the script set from outside belongs in the "
                      "catalog")
        for key, what in (("SQLServer", "a database query"), ("WebService", "a web service call")):
            entry = section.get(key)
            if entry is not None:
                skip_properties = True
                self.note(ini, entry.line, f"[{section.name}] {key}={entry.value}", f"MDT fills properties from "
                          f"{what} at deployment time; Prestart reads no database at boot", "export the table to a "
                          "catalog list (prestart-media builds it from a file or HTTP JSON) and use a rule with "
                          "`lookup` matching the same columns")
        for key in ("Subsection", "SQLDefault"):
            entry = section.get(key)
            if entry is not None:
                self._subsection(ini, section, entry, cond, depth)
        if not skip_properties:
            for prop in self.properties:
                if prop.casefold() in self.lists:
                    values = self._list_entries(section, prop)
                    if values:
                        self._emit_list(ini, section, prop, values, cond)
                else:
                    entry = section.get(prop)
                    if entry is not None and entry.value:
                        self._emit_single(ini, section, entry, prop, cond)
        for entry in section.entries:
            folded = entry.key.casefold()
            if folded in self.known or folded in _SECTION_KEYS or self._is_list_key(folded):
                continue
            if skip_properties:
                continue
            self.note(ini, entry.line, f"[{section.name}] {entry.key}={self._shown(entry)}", "MDT ignores this key: "
                      "it is neither a property of ZTIGather.xml nor declared in Properties=",
                      f"if your deployment share's ZTIGather.xml declares it, add {entry.key} to Properties= "
                      "and import again")

    def _shown(self, entry: Entry) -> str:
        secret = _SECRET.search(entry.key) and not entry.key.casefold().startswith("skip")
        return "(secret, not shown)" if secret else entry.value

    def _is_list_key(self, folded: str) -> bool:
        match = re.fullmatch(r"(.+?)(\d{1,3})", folded)
        return bool(match and match.group(1) in self.lists)

    def _list_entries(self, section: Section, prop: str) -> list[Entry]:
        found = []
        for index in range(1, MAX_LIST + 1):
            entry = section.get(f"{prop}{index}")
            if entry is None or not entry.value:
                entry = section.get(f"{prop}{index:03d}")
            if entry is None or not entry.value:
                break
            found.append(entry)
        return found

    def _subsection(self, ini: IniFile, section: Section, entry: Entry, cond: str, depth: int) -> None:
        target = entry.value
        names = _VAR.findall(target)
        if not names:
            self.section(ini, target, cond, depth + 1, entry.line)
            return
        if len(names) == 1 and target.count("%") == 2:
            prefix, _, rest = target.partition("%")
            suffix = rest.partition("%")[2]
            var = names[0]
            if var.casefold() in self.lists or var.casefold() in _GATHERED_LISTS:
                var = f"{var}001"
            for other in ini.sections.values():
                low = other.name.casefold()
                if len(other.name) > len(prefix) + len(suffix) and low.startswith(prefix.casefold()) and (
                    low.endswith(suffix.casefold())
                ):
                    middle = other.name[len(prefix) : len(other.name) - len(suffix)]
                    self.section(ini, other.name, _and(cond, _equals(var, middle)), depth + 1, entry.line)
            return
        self.note(ini, entry.line, f"[{section.name}] {entry.key}={target}", "the section name is built from more "
                  "than one value", "list each combination as its own priority entry or section")

    # -- priority ------------------------------------------------------------------------------

    def run(self, ini: IniFile) -> None:
        """ProcessRules: each Priority entry is a section, or a property whose value(s) name the section."""
        for dup in ini.duplicates:
            self.note(ini, dup.line, f"[{dup.name}]", "a second section of the same name: MDT reads only the first",
                      "merge the two sections")
        settings = ini.section("Settings")
        priority = settings.get("Priority") if settings else None
        if priority is None or not priority.value:
            raise InputError(
                f"{ini.path}: [Settings] has no Priority= line, so MDT would stop with an error",
                "add `Priority=Default` (the sections to read, in order) under [Settings]",
            )
        self.declare(ini)
        direct = {p.strip().casefold() for p in priority.value.split(",")}
        for raw in priority.value.split(","):
            item = raw.strip()
            if not item:
                continue
            folded = item.casefold()
            if folded == "defaultgateway":
                self._by_gateway(ini)
            elif folded in self.lists or folded in _GATHERED_LISTS:
                for target in self._candidates(ini, direct):
                    cond = " or ".join(_equals(f"{item}{i:03d}", target.name) for i in range(1, LIST_SLOTS + 1))
                    self.section(ini, target.name, cond)
            elif folded in self.known or folded in _PRESTART_FACTS or folded in _MDT_ONLY_FACTS:
                if folded in _MDT_ONLY_FACTS:
                    self.note(ini, priority.line, f"Priority={item}", f"MDT gathers {item} in WinPE, Prestart does "
                              "not", "key the rule on a fact Prestart gathers (see docs/migrating.md)")
                for target in self._candidates(ini, direct):
                    self.section(ini, target.name, _equals(item, target.name))
                if ini.section(item) is not None:
                    self.section(ini, item, f"not exists {item}")
            else:
                # Not a property: the entry names a section (read when it exists).
                self.section(ini, item, "")

    def _candidates(self, ini: IniFile, direct: set[str]) -> list[Section]:
        return [s for key, s in ini.sections.items() if key not in direct and key not in ("settings",
                                                                                           "defaultgateway")]

    def _by_gateway(self, ini: IniFile) -> None:
        table = ini.section("DefaultGateway")
        if table is None:
            return
        for entry in table.entries:
            cond = " or ".join(_equals(f"DefaultGateway{i:03d}", entry.key) for i in range(1, LIST_SLOTS + 1))
            self.section(ini, entry.value, cond, via=entry.line)

    # -- after the rules -----------------------------------------------------------------------

    def remap(self) -> None:
        """RemapVariables, which Gather runs after the rules, for the properties some rule may set."""
        have = set(self.maybe_set)
        rules: list[dict[str, Any]] = []
        if "buildid" in have:
            rules.append({"name": "MDT: TaskSequenceID from BuildID", "when": "not exists TaskSequenceID and "
                          "exists BuildID", "set": {"TaskSequenceID": "{BuildID}"}})
            have.add("tasksequenceid")
        if "skipbuild" in have:
            rules.append({"name": "MDT: SkipTaskSequence from SkipBuild", "when": "not exists SkipTaskSequence and "
                          "exists SkipBuild", "set": {"SkipTaskSequence": "{SkipBuild}"}})
        for name in ("TaskSequenceID", "DeploymentType"):
            if name.casefold() in have:
                rules.append({"name": f"MDT: {name} in upper case", "when": f"exists {name}",
                              "set": {name: f"{{{name}|upper}}"}})
        if "bdeinstall" in have:
            rules.append({"name": "MDT: BdeInstall=NO suppresses BitLocker", "when": 'BdeInstall == "NO"',
                          "set": {"BdeInstallSuppress": "YES"}})
        if "joindomain" in have:
            rules.append({"name": "MDT: join the domain JoinDomain names", "when": "exists JoinDomain",
                          "set": {"OSDNetworkJoinType": "0", "OSDDomainName": "{JoinDomain}"}})
            if "domainadmin" in have:
                rules.append({"name": "MDT: the account that joins the domain", "when": "exists JoinDomain and "
                              "exists DomainAdmin", "set": {"OSDJoinAccount": "{DomainAdminDomain}\\{DomainAdmin}"}})
            if "machineobjectou" in have:
                rules.append({"name": "MDT: the OU of the computer account", "when": "exists JoinDomain and exists "
                              "MachineObjectOU", "set": {"OSDDomainOUName": "{MachineObjectOU}"}})
        if "joinworkgroup" in have:
            rules.append({"name": "MDT: join the workgroup JoinWorkgroup names", "when": "exists JoinWorkgroup",
                          "set": {"OSDNetworkJoinType": "1", "OSDWorkGroupName": "{JoinWorkgroup}"}})
        self.rules += rules


# -- the wizard ------------------------------------------------------------------------------------

class Pane(NamedTuple):
    skip: str
    title: str
    fields: tuple[dict[str, Any], ...]  # empty: Prestart has no page for it
    instead: str = ""
    kind: str = "form"


def _text(id_: str, variable: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "type": "text", "label": label, "variable": variable, **extra}


_LOCALE = {"regex": r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*|[0-9A-Fa-f]{4}:[0-9A-Fa-f]{8})$",
           "message": "a locale such as en-US (or 0409:00000409 for a keyboard)"}

PANES: tuple[Pane, ...] = (
    Pane("SkipBDDWelcome", "Welcome", (), kind="info"),
    Pane("SkipTaskSequence", "Task Sequence", (), "list the task sequences in a catalog list and offer them in a "
         "choice field that sets TaskSequenceID"),
    Pane("SkipComputerName", "Computer Details",
         (_text("computer-name", "OSDComputerName", "Computer name", required=True, validate="netbios",
                default="{ComputerName}"),)),
    Pane("SkipDomainMembership", "Computer Details: domain or workgroup", (
        _text("join-domain", "JoinDomain", "Domain to join"),
        _text("machine-object-ou", "MachineObjectOU", "Organizational unit"),
        _text("domain-admin", "DomainAdmin", "Account that joins the domain"),
        _text("domain-admin-domain", "DomainAdminDomain", "Domain of that account"),
        {"id": "domain-admin-password", "type": "password", "label": "Password of that account",
         "variable": "DomainAdminPassword"},
        _text("join-workgroup", "JoinWorkgroup", "Or the workgroup to join"),
    )),
    Pane("SkipUserData", "Move Data and Settings", (), "user state capture happens in the full OS; set "
         "UserDataLocation in rules"),
    Pane("SkipComputerBackup", "Computer Backup", (), "set ComputerBackupLocation in rules"),
    Pane("SkipProductKey", "Product Key", (
        {"id": "product-key", "type": "text", "label": "Product key", "variable": "ProductKey", "secret": True,
         "validate": {"regex": r"^([A-Za-z0-9]{5}-){4}[A-Za-z0-9]{5}$", "message": "five groups of five characters"}},
    )),
    Pane("SkipLocaleSelection", "Locale and Time", (
        _text("ui-language", "UILanguage", "Language to install", validate=_LOCALE),
        _text("user-locale", "UserLocale", "Time and currency format", validate=_LOCALE),
        _text("keyboard-locale", "KeyboardLocale", "Keyboard layout", validate=_LOCALE),
    )),
    Pane("SkipTimeZone", "Time Zone", (_text("time-zone", "TimeZoneName", "Time zone (Windows name)"),)),
    Pane("SkipRoles", "Roles and Features", (), "list roles in rules (OSRoles, OSFeatures)"),
    Pane("SkipApplications", "Applications", (), "export the deployment share's applications to a catalog list "
         "and offer them in a multi field with `array: {base: Applications, digits: 3}`"),
    Pane("SkipAdminPassword", "Administrator Password", (
        {"id": "admin-password", "type": "password", "label": "Administrator password", "variable": "AdminPassword"},
    )),
    Pane("SkipCapture", "Capture Image", (
        {"id": "do-capture", "type": "choice", "label": "Capture an image", "variable": "DoCapture",
         "choices": [{"value": "NO", "label": "Do not capture"}, {"value": "YES", "label": "Capture an image"},
                     {"value": "SYSPREP", "label": "Sysprep only"},
                     {"value": "PREPARE", "label": "Prepare to capture"}]},
    )),
    Pane("SkipBitLocker", "BitLocker", (
        {"id": "bitlocker-mode", "type": "choice", "label": "BitLocker", "variable": "OSDBitLockerMode",
         "choices": [{"value": "", "label": "Do not enable BitLocker"}, {"value": "TPM", "label": "TPM only"},
                     {"value": "TPMPin", "label": "TPM and PIN"}, {"value": "TPMKey", "label": "TPM and startup key"},
                     {"value": "KEY", "label": "Startup key only"}]},
    )),
    Pane("SkipSummary", "Ready", (), kind="confirm"),
)
# Panes MDT shows after the deployment or only in the full OS: nothing to ask in WinPE before it.
_NOT_IN_WINPE = frozenset(k.casefold() for k in ("SkipFinalSummary", "SkipAppsOnUpgrade", "SkipDeploymentType",
                                                  "SkipAdminAccounts", "SkipBitLockerDetails", "SkipPackageDisplay"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def _where(files: Sequence[IniFile], key: str) -> tuple[IniFile, int, str]:
    """The file and line that first set `key`, and its value; the last file and line 0 when none does."""
    for ini in files:
        for section in ini.sections.values():
            entry = section.get(key)
            if entry is not None and section.name.casefold() != "settings":
                return ini, entry.line, f"{entry.key}={entry.value}"
    return files[-1], 0, f"{key} (not set)"


def wizard_pages(gather: _Gather, files: Sequence[IniFile]) -> list[dict[str, Any]]:
    """The panes MDT's Deployment Wizard would show: a page each, shown while its Skip property is not YES."""
    if gather.static.get("skipwizard", "").upper() == "YES":
        return []
    pages: list[dict[str, Any]] = []
    for pane in PANES:
        folded = pane.skip.casefold()
        if gather.static.get(folded, "").upper() == "YES":
            continue
        when = f'SkipWizard != "YES" and {pane.skip} != "YES"'
        if not pane.fields and pane.kind == "form":
            ini, line, what = _where(files, pane.skip)
            gather.notes.append(Note(ini.label, line, what, f"MDT's wizard would show its {pane.title} pane; "
                                     "Prestart has no page for it", pane.instead))
            continue
        page: dict[str, Any] = {"id": _slug(pane.skip.removeprefix("Skip")), "title": pane.title, "when": when}
        if pane.kind == "info":
            page["type"] = "info"
            page["text"] = "This computer is about to be deployed."
        elif pane.kind == "confirm":
            page["type"] = "confirm"
            page["text"] = "Ready to begin: check the settings below."
        else:
            page["fields"] = [dict(f) for f in pane.fields]
        pages.append(page)
    return pages


class MdtImporter:
    """`prestart import mdt CustomSettings.ini [Bootstrap.ini]`."""

    name = "mdt"
    summary = "MDT rules: CustomSettings.ini and, optionally, Bootstrap.ini"
    usage = "CustomSettings.ini [Bootstrap.ini]"

    def convert(self, paths: Sequence[Path]) -> Imported:
        if not 1 <= len(paths) <= 2:
            raise InputError("prestart import mdt takes CustomSettings.ini and optionally Bootstrap.ini",
                             "e.g. prestart import mdt CustomSettings.ini Bootstrap.ini -o profile.yaml")
        files = [read_ini(p) for p in paths]
        # Bootstrap.ini is read first, in WinPE, before CustomSettings.ini; values it sets stay (first wins).
        files.sort(key=lambda f: 0 if "bootstrap" in f.path.name.casefold() else 1)
        gather = _Gather()
        for ini in files:
            gather.run(ini)
        gather.remap()
        main = files[-1]
        pages = wizard_pages(gather, files)
        for ini in files:
            for key in _NOT_IN_WINPE:
                for section in ini.sections.values():
                    entry = section.get(key)
                    if entry is not None and entry.value.upper() != "YES" and key in gather.known:
                        gather.note(ini, entry.line, f"{entry.key}={entry.value}", "this pane belongs to the full "
                                    "OS or to the end of the deployment, after Prestart has run",
                                    "nothing to do before the task sequence; the variable is still set")
        profile: dict[str, Any] = {"version": 1, "title": f"Imported from {main.label}"}
        if gather.rules:
            profile["rules"] = gather.rules
        if pages:
            profile["pages"] = pages
        gather.notes.sort(key=lambda n: (n.file, n.line))
        return Imported(profile, gather.notes)
