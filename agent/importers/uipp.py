"""UI++ configurations (UI++.xml) as Prestart pages, rules and preflight checks."""

from __future__ import annotations

import html
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.importers import Imported, Note, catalog_document, unique_id
from agent.importers.vbs import Untranslatable, condition, template, value
from agent.importers.wmi import WMI_FACTS
from agent.safexml import UnsafeXml, fromstring

# UI++'s DefaultValues variables (its "Default Values" reference) that mean what a Prestart fact means. The
# others have no counterpart: XHWChassisType says Tablet where Gather says IsLaptop, XHWVirtualMachineType says
# VMWareESX where Gather says VMware, XHWProduct does not say which product it reads.
FACTS = {
    "xhwmanufacturer": "Make",
    "xhwmodel": "Model",
    "xhwlenovomodel": "SystemVersion",  # Win32_ComputerSystemProduct.Version, a Lenovo's marketing name
    "xhwserialnumber": "SerialNumber",
    "xhwuuid": "UUID",
    "xhwassettag": "AssetTag",
    "xhwmemory": "Memory",  # MB in both
    "xonbattery": "IsOnBattery",
    "xsystemuefi": "IsUEFI",
}
_NOT_CARRIED = {
    "userauth": ("UI++ signs in against Active Directory with Kerberos/LDAP", "add a `type: login` page with "
                 "`ldap: {server: ldaps://your-dc}` and `groups:` mapping the group to a role (docs/security.md)"),
    "wmiread": ("Prestart reads no WMI class at boot, and no fact holds this property", "gather the value as a "
                "fact or put it in the catalog"),
    "wmiwrite": ("Prestart writes task sequence variables only", "write the value in a task sequence step"),
    "regread": ("Prestart reads no registry at boot", "put the value in the catalog or a rule"),
    "regwrite": ("Prestart writes task sequence variables only", "write the value in a task sequence step"),
    "externalcall": ("Prestart runs no programs", "run it as a task sequence step, before or after Prestart"),
    "apptree": ("the application tree is UI++'s own software list", "export the applications to a catalog list "
                "and offer them in a multi field"),
    "switch": ("a Switch runs actions by a regular expression on a value", "write one rule per Case with a "
               "`like` or `==` condition"),
    "vars": ("a Vars action reads variables UI++ keeps", "set them with rules"),
    "softwarediscovery": ("Prestart does not inventory software", "use a task sequence step"),
    "restart": ("Prestart does not restart the machine from a page", "use on_cancel.then or the task sequence"),
    "save": ("variables are committed at the end, all at once", "nothing to do"),
    "appfinder": ("Prestart does not inventory software", "use a task sequence step"),
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str:
    folded = name.casefold()
    for key, val in element.attrib.items():
        if key.casefold() == folded:
            return val
    return ""


def _plain(text: str) -> str:
    """UI++ info text is HTML: keep the words and the line breaks."""
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", "", text)
    lines = [" ".join(line.split()) for line in html.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line).strip()


def read_xml(path: Path) -> tuple[ET.Element, dict[int, int]]:
    """The root element, and the line of each element (by id) for the report."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found", "check the path") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}", "check the path and its permissions") from exc
    try:
        root = fromstring(data, forbid_dtd=True)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"{path}: line {line}, column {column + 1}: not well-formed XML ({str(exc).split(':')[0]})",
            "UI++ and TsGui refuse this file too; fix the XML there (often text after the closing root tag) "
            "and import again",
        ) from exc
    except UnsafeXml as exc:
        raise InputError(f"{path}: the XML declares {exc.kind}", "remove the DOCTYPE and import again") from exc
    return root, element_lines(root, data)


def element_lines(root: ET.Element, data: bytes) -> dict[int, int]:
    """The line of each element (by id): ElementTree keeps none, expat reports start tags in the same order."""
    from xml.parsers import expat

    starts: list[int] = []
    parser = expat.ParserCreate()
    parser.StartElementHandler = lambda name, attrs: starts.append(parser.CurrentLineNumber)
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return {}
    return {id(element): line for element, line in zip(root.iter(), starts, strict=False)}


class _Field:
    def __init__(self, page: dict[str, Any], spec: dict[str, Any], kind: str) -> None:
        self.page = page
        self.spec = spec
        self.kind = kind
        self.per_choice: dict[str, dict[str, str]] = {}  # choice value -> variable -> value


class _Convert:
    def __init__(self, path: Path, lines: dict[int, int]) -> None:
        self.path = path
        self.lines = lines
        self.notes: list[Note] = []
        self.rules: list[dict[str, Any]] = []
        self.pages: list[dict[str, Any]] = []
        self.preflight: list[dict[str, Any]] = []
        self.inputs: dict[str, _Field] = {}
        self.ids: set[str] = set()
        self.unmapped: set[str] = set()

    def note(self, element: ET.Element, what: str, why: str, instead: str) -> None:
        self.notes.append(Note(self.path.name, self.lines.get(id(element), 0), what, why, instead))

    def name(self, raw: str) -> str | None:
        folded = raw.casefold()
        if folded in FACTS:
            return FACTS[folded]
        if folded.startswith("x") and raw[:1] == "X" and raw[1:2].isupper():
            self.unmapped.add(raw)
            return None  # a UI++ built-in (XHWChassisType, XTPMEnabled, ...) Prestart does not gather
        return raw

    def text(self, element: ET.Element, raw: str, what: str) -> str:
        try:
            return template(raw, self.name)
        except Untranslatable as exc:
            self.note(element, what, f"{exc}", "the text shows the name as written; rewrite it with {Fact}")
            return raw.replace("{", "{{").replace("}", "}}")

    def when(self, element: ET.Element, raw: str, what: str) -> tuple[str, frozenset[str]] | None:
        if not raw.strip():
            return "", frozenset()
        try:
            return condition(raw, self.name)
        except Untranslatable as exc:
            self.note(element, f"{what} Condition={raw}", f"not translated: {exc}",
                      "write the condition in Prestart's expression language (docs/profiles.md)")
            return None

    # -- actions -------------------------------------------------------------------------------

    def actions(self, parent: ET.Element, group_when: str) -> None:
        for element in parent:
            tag = _local(element.tag).casefold()
            if tag == "actiongroup":
                got = self.when(element, _attr(element, "Condition"), f"ActionGroup {_attr(element, 'Name')}")
                if got is None:
                    continue
                self.actions(element, _and(group_when, got[0]))
            elif tag == "action":
                kind = _attr(element, "Type")
                got = self.when(element, _attr(element, "Condition"), f"Action {kind} {_attr(element, 'Name')}")
                if got is None:
                    continue
                method = getattr(self, f"action_{kind.casefold()}", None)
                if method is not None:
                    method(element, _and(group_when, got[0]), got[1])
                else:
                    why, instead = _NOT_CARRIED.get(kind.casefold(), (f"UI++ action type {kind!r} has no Prestart "
                                                                      "counterpart", "see docs/migrating.md"))
                    self.note(element, f"Action Type={kind} {_attr(element, 'Name') or _attr(element, 'Title')}"
                              .strip(), why, instead)

    def action_wmiread(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        """A WMIRead of what a fact holds (Win32_BIOS SerialNumber, ...) is a rule setting the variable from it."""
        namespace = _attr(element, "Namespace").casefold().replace("/", "\\") or "root\\cimv2"
        fact = WMI_FACTS.get((_attr(element, "Class").casefold(), _attr(element, "Property").casefold()))
        variable = _attr(element, "Variable")
        if fact is None or namespace != "root\\cimv2" or _attr(element, "KeyQualifier") or _attr(element, "Query") \
                or not variable:
            why, instead = _NOT_CARRIED["wmiread"]
            self.note(element, f"Action Type=WMIRead {_attr(element, 'Class')}.{_attr(element, 'Property')}", why,
                      instead)
            return
        rule: dict[str, Any] = {"name": f"{self.path.name}:{self.lines.get(id(element), 0)} WMIRead {variable}",
                                "set": {variable: "{" + fact + "}"}}
        if when:
            rule["when"] = when
        self.rules.append(rule)

    def action_defaultvalues(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        """Prestart gathers its facts anyway; the UI++ names map to them where the meaning is the same."""

    def action_info(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        title = self.text(element, _attr(element, "Title"), "Info Title")
        body = self.text(element, _plain(element.text or ""), "Info text") or title or "Information"
        page: dict[str, Any] = {"id": unique_id(self.ids, _attr(element, "Name") or title or "info"),
                                "type": "info", "title": title, "text": body}
        if when:
            page["when"] = when
        if _attr(element, "Timeout"):
            self.note(element, f"Info Timeout={_attr(element, 'Timeout')}", "only confirm pages count down",
                      "drop it, or make the page `type: confirm` with `countdown:`")
        self.pages.append(page)

    def action_input(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        title = self.text(element, _attr(element, "Title"), "Input Title")
        page: dict[str, Any] = {"id": unique_id(self.ids, _attr(element, "Name") or title or "input"),
                                "title": title}
        if when:
            page["when"] = when
        fields: list[dict[str, Any]] = []
        info: list[str] = []
        for child in element:
            tag = _local(child.tag).casefold()
            if tag == "inputinfo":
                words = _plain(child.text or "")
                if words:
                    info.append(self.text(child, words, "InputInfo"))
                continue
            built = self.field(child, tag, page)
            if built is not None:
                fields.append(built.spec)
        if info:
            page["text"] = "\n".join(info)
        if not fields:
            page["type"] = "info"
            page.setdefault("text", title or "Information")
        else:
            page["fields"] = fields
        self.pages.append(page)

    def field(self, child: ET.Element, tag: str, page: dict[str, Any]) -> _Field | None:
        variable = _attr(child, "Variable")
        label = self.text(child, _attr(child, "Question") or _attr(child, "Prompt") or variable, f"{tag} Question")
        if tag in ("textinput", "inputtext"):
            spec: dict[str, Any] = {"id": unique_id(self.ids, variable), "type": "text", "label": label,
                                    "variable": variable}
            hint = _attr(child, "Hint") or _attr(child, "Prompt")
            if hint and hint != label:
                spec["help"] = self.text(child, hint, f"{tag} Hint")
            if _attr(child, "Default"):
                spec["default"] = self.text(child, _attr(child, "Default"), f"{tag} Default")
            regex = _attr(child, "RegEx")
            if regex:
                try:
                    with warnings.catch_warnings():  # .NET patterns often hold "[[" that Python warns about
                        warnings.simplefilter("ignore")
                        re.compile(regex)
                    spec["validate"] = {"regex": regex, "message": hint or f"must match {regex}"}
                except re.error as exc:
                    self.note(child, f"RegEx={regex}", f"not a regular expression Python reads: {exc}",
                              "rewrite it in Python `re` syntax")
            if _attr(child, "ForceCase"):
                self.note(child, f"ForceCase={_attr(child, 'ForceCase')}", "Prestart fields do not change case "
                          "as you type", "add `|upper` where the value is used, e.g. {OSDComputerName|upper}")
            kind = "text"
        elif tag in ("choiceinput", "inputchoice"):
            # A Choice without Value puts its Option text in the variable.
            choices = [{"value": _attr(c, "Value") or _attr(c, "Option"), "label": _attr(c, "Option") or
                        _attr(c, "Value")} for c in child if _local(c.tag).casefold() == "choice"]
            for c in child:
                if _local(c.tag).casefold() == "choicelist":
                    self.note(c, "ChoiceList", "the choices come from variables at run time",
                              "put the choices in a catalog list and set `list:`")
            if not choices:
                self.note(child, f"{tag} {variable}", "no fixed choices", "offer a catalog list instead")
                return None
            spec = {"id": unique_id(self.ids, variable), "type": "choice", "label": label, "variable": variable,
                    "choices": choices}
            if _attr(child, "Required").casefold() == "true":
                spec["required"] = True
            default = _attr(child, "Default")
            if default:
                by_option = {c["label"]: c["value"] for c in choices}
                values = {c["value"] for c in choices}
                if default in by_option:
                    spec["default"] = by_option[default]
                elif default in values:
                    spec["default"] = default
                else:
                    self.note(child, f"Default={default}", "matches no choice", "choose one of the options")
            if _attr(child, "AlternateVariable"):
                alternates = {_attr(c, "Value") or _attr(c, "Option"): _attr(c, "AlternateValue") for c in child
                              if _local(c.tag).casefold() == "choice" and _attr(c, "AlternateValue")}
                kind = "choice"
                built = _Field(page, spec, kind)
                for choice_value, alternate in alternates.items():
                    built.per_choice.setdefault(choice_value, {})[_attr(child, "AlternateVariable")] = alternate
                self.inputs[variable.casefold()] = built
                return built
            kind = "choice"
        elif tag in ("checkboxinput", "inputcheckbox"):
            checked = _attr(child, "CheckedValue") or "True"
            unchecked = _attr(child, "UncheckedValue") or "False"
            default = _attr(child, "Default")
            if checked == "True" and unchecked == "False":
                spec = {"id": unique_id(self.ids, variable), "type": "checkbox", "label": label,
                        "variable": variable}
                if default:
                    spec["default"] = default.casefold() == "true"
                kind = "checkbox"
            else:
                # Other values than True/False: a choice between the two says the same.
                spec = {"id": unique_id(self.ids, variable), "type": "choice", "label": label, "variable": variable,
                        "choices": [{"value": checked, "label": "Yes"}, {"value": unchecked, "label": "No"}],
                        "required": True, "default": default if default in (checked, unchecked) else unchecked}
                kind = "choice"
        else:
            self.note(child, f"<{_local(child.tag)}>", "not an input UI++ documents", "add the field by hand")
            return None
        built = _Field(page, spec, kind)
        self.inputs[variable.casefold()] = built
        return built

    def action_preflight(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        for check in element:
            if _local(check.tag).casefold() != "check":
                continue
            text = _attr(check, "Text") or "check"
            got = self.when(check, _attr(check, "CheckCondition"), f"Check {text!r}")
            if got is None or not got[0]:
                continue
            item: dict[str, Any] = {"name": text, "check": got[0] if not when else f"not ({when}) or ({got[0]})",
                                    "message": f"{text}: failed"}
            if _attr(check, "WarnCondition"):
                self.note(check, f"WarnCondition={_attr(check, 'WarnCondition')}", "a check is an error or a "
                          "warning, not both", "add a second check with `severity: warning`")
            self.preflight.append(item)

    def action_tsvar(self, element: ET.Element, when: str, names: frozenset[str]) -> None:
        target = _attr(element, "Variable") or _attr(element, "Name")  # Variable wins when both are given
        raw = element.text or ""
        try:
            # DontEval: the text is the value as written, not VBScript.
            text = template(raw.strip(), self.name) if _attr(element, "DontEval").casefold() == "true" else value(
                raw, self.name)
        except Untranslatable as exc:
            self.note(element, f"TSVar {target} = {raw.strip()}", f"not translated: {exc}",
                      "compute it with a template ({Name|left:2}) or set it by hand")
            return
        reads = set(re.findall(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_.-]*)", text))
        answered = [n for n in (*names, *reads) if n.casefold() in self.inputs]
        if not answered:
            rule: dict[str, Any] = {"name": f"{self.path.name}:{self.lines.get(id(element), 0)} TSVar {target}",
                                    "set": {target: text}}
            if when:
                rule["when"] = when
            self.rules.append(rule)
            return
        # The value depends on an answer: it is written when that field is answered.
        keyed = _simple_equality(when)
        if keyed is not None and keyed[0].casefold() in self.inputs and not reads:
            source = self.inputs[keyed[0].casefold()]
            if source.kind == "choice":
                source.per_choice.setdefault(keyed[1], {})[target] = text
                return
        if not when and len(answered) == len(set(reads)):
            last = max((self.inputs[n.casefold()] for n in answered), key=lambda f: self.pages.index(f.page)
                       if f.page in self.pages else len(self.pages))
            if not (target.casefold() in self.inputs and text == "{" + target + "}"):
                last.spec.setdefault("set", {})[target] = text
            return
        self.note(element, f"TSVar {target} = {raw.strip()} (Condition: {when})", "it depends on answers in a "
                  "way a field cannot say", "give the choices catalog attributes and set it with `set:`")

    # -- after the actions ---------------------------------------------------------------------

    def finish(self, stem: str) -> dict[str, Any] | None:
        """Choices whose answer sets other variables become a catalog list with those variables as attributes."""
        lists: dict[str, list[dict[str, str]]] = {}
        for source in self.inputs.values():
            if not source.per_choice:
                continue
            spec = source.spec
            name = f"{stem}-{spec['id']}"
            variables = sorted({v for sets in source.per_choice.values() for v in sets})
            items = []
            for choice in spec.pop("choices"):
                item = {"id": choice["value"] or "-", "label": choice["label"], "value": choice["value"]}
                for variable in variables:
                    item[variable] = source.per_choice.get(choice["value"], {}).get(variable, "")
                items.append(item)
            lists[name] = items
            spec["list"] = name
            sets = spec.setdefault("set", {})
            for variable in variables:
                sets[variable] = "{item." + variable + "}"
            spec.pop("default", None) if spec.get("default") not in {i["id"] for i in items} else None
        for raw in sorted(self.unmapped):
            self.notes.append(Note(self.path.name, 0, f"%{raw}%", "UI++ sets this variable; Prestart gathers "
                                   "no fact that means the same", "see docs/migrating.md for the facts there are"))
        return catalog_document(lists) if lists else None


def _and(*parts: str) -> str:
    kept = [p for p in parts if p]
    return " and ".join(f"({p})" if " or " in p else p for p in kept)


def _simple_equality(expr: str) -> tuple[str, str] | None:
    match = re.fullmatch(r'([A-Za-z_][A-Za-z0-9_.-]*) == "((?:[^"]|"")*)"', expr)
    return (match.group(1), match.group(2).replace('""', '"')) if match else None


class UippImporter:
    """`prestart import uipp UI++.xml`."""

    name = "uipp"
    summary = "UI++ configuration (UI++.xml)"
    usage = "UI++.xml"

    def convert(self, paths: Sequence[Path]) -> Imported:
        if len(paths) != 1:
            raise InputError("prestart import uipp takes one UI++.xml", "import each file on its own")
        path = paths[0]
        root, lines = read_xml(path)
        if _local(root.tag).casefold() != "uipp":
            raise InputError(f"{path}: the root element is <{_local(root.tag)}>, not <UIpp>",
                             "give a UI++ configuration (UI++.xml)")
        convert = _Convert(path, lines)
        for child in root:
            tag = _local(child.tag).casefold()
            if tag == "actions":
                convert.actions(child, "")
            elif tag == "software":
                if len(child):
                    convert.note(child, "<Software>", "UI++'s software list feeds its AppTree",
                                 "export it to a catalog list")
            elif tag not in ("softwaresets",):
                convert.note(child, f"<{_local(child.tag)}>", "not carried over", "see docs/migrating.md")
        catalog = convert.finish(_slug(path.stem))
        profile: dict[str, Any] = {"version": 1, "title": _attr(root, "Title").strip() or f"Imported from {path.name}"}
        color = _attr(root, "Color")
        if re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
            profile["theme"] = {"accent": color}
        if convert.rules:
            profile["rules"] = convert.rules
        if convert.preflight:
            profile["preflight"] = convert.preflight
        if convert.pages:
            profile["pages"] = convert.pages
        convert.notes.sort(key=lambda n: n.line)
        return Imported(profile, convert.notes, catalog)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "uipp"
