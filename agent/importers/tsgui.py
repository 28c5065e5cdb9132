"""TsGui configurations (Config.xml) as Prestart pages, fields and rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.importers import Imported, Note, unique_id
from agent.importers.uipp import element_lines, read_xml
from agent.importers.wmi import WMI_FACTS

# Query types whose value Prestart cannot compute at boot, and what to do instead.
_QUERIES = {
    "wmi": ("a WMI query", "gather the value as a fact, or put it in the catalog"),
    "registry": ("a registry read", "put the value in the catalog or a rule"),
    "ifelse": ("an IfElse query on other options", "write a rule, or a field `when`, with the same condition"),
    "optionvalue": ("the value of another option, live", "start the field from that variable: default: '{Var}'"),
    "combined": ("several queries joined", "write the value as a template"),
    "adgroupmembers": ("an Active Directory query", "put the values in the catalog"),
    "adou": ("an Active Directory query", "put the OUs in the catalog"),
    "adougroups": ("an Active Directory query", "put the groups in the catalog"),
    "guivariable": ("a TsGui internal variable", "use a Prestart fact (docs/migrating.md)"),
}
_ELEMENTS = {
    "image": "pictures are the theme's logo in Prestart",
    "trafficlight": "compliance checks run WMI queries",
    "tickcross": "compliance checks run WMI queries",
    "compliancerefreshbutton": "compliance checks run WMI queries",
    "actionbutton": "Prestart runs no programs from a page",
    "treeview": "the tree lists Active Directory OUs at run time",
    "passwordbox": "TsGui signs in against Active Directory",
    "usernamebox": "TsGui signs in against Active Directory",
    "timeout": "pages do not time out; confirm pages count down",
}
_NETBIOS_MAX = 15
_WQL = re.compile(r"select\s+(\*|[A-Za-z0-9_]+)\s+from\s+([A-Za-z0-9_]+)", re.IGNORECASE)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    folded = name.casefold()
    return next((c for c in element if c.tag.casefold() == folded), None)


def _text(element: ET.Element | None, name: str = "") -> str:
    target = element if not name or element is None else _child(element, name)
    return (target.text or "").strip() if target is not None else ""


def _attr(element: ET.Element, name: str) -> str:
    folded = name.casefold()
    return next((v for k, v in element.attrib.items() if k.casefold() == folded), "")


def _rule_regex(section: str, rule: ET.Element) -> str | None:
    """One TsGui rule as a regular expression the whole value must match; None when there is none."""
    if len(rule):
        return None  # the value to compare comes from a query
    text = _text(rule)
    flags = "" if _attr(rule, "CaseSensitive").casefold() == "true" else "(?i)"
    kind = _attr(rule, "Type").casefold()
    if _attr(rule, "Not").casefold() == "true":
        return None
    if section == "valid":
        patterns = {"regex": f"(?s).*(?:{text}).*", "startswith": f"{re.escape(text)}.*",
                    "endswith": f".*{re.escape(text)}", "contains": f".*{re.escape(text)}.*",
                    "equals": re.escape(text)}
    else:
        patterns = {"characters": f"[^{re.escape(text)}]*", "startswith": f"(?!{re.escape(text)}).*",
                    "contains": f"(?!.*{re.escape(text)}).*"}
    pattern = patterns.get(kind)
    return None if pattern is None else flags + pattern


def _literal(text: str) -> str:
    """Fixed text as a template: braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


class _Convert:
    def __init__(self, path: Path, lines: dict[int, int]) -> None:
        self.path = path
        self.lines = lines
        self.notes: list[Note] = []
        self.rules: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.ids_by_option: dict[str, str] = {}  # TsGui option ID -> variable
        self.group_when: dict[str, str] = {}  # group name -> the condition that shows it
        self.checkboxes: set[str] = set()

    def note(self, element: ET.Element, what: str, why: str, instead: str) -> None:
        self.notes.append(Note(self.path.name, self.lines.get(id(element), 0), what, why, instead))

    # -- values --------------------------------------------------------------------------------

    def start_value(self, option: ET.Element, what: str) -> str | None:
        """SetValue (or the older DefaultValue): a fixed value, an environment variable, or a note."""
        holder = _child(option, "SetValue") or _child(option, "DefaultValue") or _child(option, "GetValue")
        if holder is None:
            return None
        found: list[str] = []
        for item in holder:
            tag = item.tag.casefold()
            if tag == "value":
                found.append(_literal(_text(item)))
            elif tag == "query":
                kind = _attr(item, "Type")
                if kind.casefold() == "environmentvariable":
                    name = _text(item, "Variable") or _text(item)
                    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
                        found.append("{" + name + "}")
                        continue
                if kind.casefold() == "value":
                    found.append(_literal(_text(item, "Value") or _text(item)))
                    continue
                if kind.casefold() in ("linkto", "linktrue", "linkfalse", "notlinktrue", "notlinkfalse"):
                    self.note(item, f"{what}: Query Type={kind} {_text(item)}", "options change each other live on "
                              "a TsGui page", "start the field from the other field's variable (default: '{Var}') "
                              "on a later page, or set it with a rule")
                    continue
                if kind.casefold() == "wmi":
                    fact = self.wmi_fact(item, what)
                    if fact is not None:
                        found.append(fact)
                    continue
                why, instead = _QUERIES.get(kind.casefold(), (f"a {kind} query", "set the value with a rule"))
                self.note(item, f"{what}: Query Type={kind}", f"the value comes from {why}", instead)
        return found[0] if found else None

    def wmi_fact(self, query: ET.Element, what: str) -> str | None:
        """`SELECT Prop FROM Class` of a property Prestart gathers as a fact: a template of that fact, with the
        Property element's Truncate, ToUpper, ToLower, Prefix and Append as filters and text."""
        wql = " ".join(_text(query, "Wql").split())
        match = _WQL.fullmatch(wql)
        properties = [p for p in query if p.tag.casefold() == "property"]
        prop = _attr(properties[0], "Name") if len(properties) == 1 else (match.group(1) if match else "")
        fact = WMI_FACTS.get((match.group(2).casefold(), prop.casefold())) if match else None
        if match is None or fact is None or (match.group(1) != "*" and match.group(1).casefold() != prop.casefold()):
            self.note(query, f"{what}: Query Type=Wmi {wql}", "the value comes from a WMI query that no Prestart fact "
                      "answers", "gather the value as a fact, or put it in the catalog")
            return None
        filters: list[str] = []
        prefix = suffix = ""
        for change in properties[0] if properties else ():
            tag, text = change.tag.casefold(), change.text or ""
            kind = _attr(change, "Type").casefold()
            if tag in ("toupper", "tolower") and not (prefix or suffix):
                filters.append("upper" if tag == "toupper" else "lower")
            elif tag == "truncate" and kind in ("keepfromstart", "keepfromend") and text.strip().isdigit() and not (
                    prefix or suffix):
                filters.append(f"{'left' if kind == 'keepfromstart' else 'right'}:{text.strip()}")
            elif tag == "prefix":
                prefix = _literal(text) + prefix
            elif tag == "append":
                suffix += _literal(text)
            else:
                self.note(change, f"{what}: {change.tag} {text.strip()}".rstrip(), "not carried over in this place",
                          "write the value as a template ({Fact|left:N|upper})")
                return None
        return prefix + "{" + "|".join([fact, *filters]) + "}" + suffix

    def validation(self, option: ET.Element, spec: dict[str, Any], what: str) -> None:
        """Length and message carry over; one rule becomes `regex:`; more rules than one go to the report."""
        rules = _child(option, "Validation")
        if rules is None:
            return
        validate: dict[str, Any] = {}
        found: list[tuple[ET.Element, str | None]] = []
        for item in rules:
            tag = item.tag.casefold()
            if tag == "minlength" and _text(item).isdigit():
                validate["min_length"] = int(_text(item))
            elif tag == "maxlength" and _text(item).isdigit():
                validate["max_length"] = max(1, int(_text(item)))
            elif tag == "message":
                validate["message"] = _text(item)
            elif tag in ("valid", "invalid"):
                found += [(rule, _rule_regex(tag, rule)) for rule in item if rule.tag.casefold() == "rule"]
            else:
                self.note(item, f"{what}: Validation <{item.tag}>", "not carried over", "add it to `validate:`")
        if spec["type"] != "text":
            for rule, _ in found:
                self.note(rule, f"{what}: Validation rule {_attr(rule, 'Type')} {_text(rule)}", "only text fields "
                          "are validated", "offer only the valid choices, or give the others `requires:`")
        elif len(found) == 1 and found[0][1] is not None:
            validate["regex"] = found[0][1]
        else:
            for rule, _ in found:
                self.note(rule, f"{what}: Validation rule {_attr(rule, 'Type')} {_text(rule)}",
                          "Prestart checks one regular expression per field, and this one is not it",
                          "fold the rules into one `regex:`")
        if validate and spec["type"] == "text":
            spec["validate"] = validate

    # -- options -------------------------------------------------------------------------------

    def option(self, element: ET.Element) -> dict[str, Any] | None:
        kind = _attr(element, "Type") or element.tag
        folded = kind.casefold()
        variable = _text(element, "Variable")
        label = _text(element, "Label") or variable
        what = f"GuiOption {kind} {variable}".strip()
        if folded == "computername":
            variable = variable or "OSDComputerName"
            spec: dict[str, Any] = {"id": unique_id(self.ids, variable), "type": "text",
                                    "label": _text(element, "Label") or "Computer name", "variable": variable,
                                    "required": True, "validate": "netbios"}
            if _child(element, "Validation") is not None:
                spec["validate"] = {"max_length": _NETBIOS_MAX}
                self.validation(element, spec, what)
        elif folded == "freetext":
            spec = {"id": unique_id(self.ids, variable), "type": "text", "label": label, "variable": variable}
            self.validation(element, spec, what)
            if _text(element, "CharacterCasing"):
                self.note(element, f"{what}: CharacterCasing", "fields do not change case as you type",
                          "add |upper or |lower where the value is used")
        elif folded == "dropdownlist":
            choices = []
            for opt in element:
                if opt.tag.casefold() != "option":
                    continue
                choices.append({"value": _text(opt, "Value"), "label": _text(opt, "Text") or _text(opt, "Value")})
                for toggle in opt:
                    if toggle.tag.casefold() == "toggle":
                        self.toggle(toggle, f'{variable} == "{_text(opt, "Value")}"')
                    elif toggle.tag.casefold() == "group":
                        self.note(toggle, f"{what}: option {_text(opt, 'Text')} in group {_text(toggle)}",
                                  "a choice is not shown or hidden by groups", "offer it to roles, or give it "
                                  "`requires:` with the group's condition")
            if not choices:
                self.note(element, what, "no fixed options", "offer a catalog list instead")
                return None
            spec = {"id": unique_id(self.ids, variable), "type": "choice", "label": label, "variable": variable,
                    "choices": choices}
            self.validation(element, spec, what)
            if _text(element, "NoSelectionMessage"):
                spec["required"] = True
        elif folded == "checkbox":
            true_value = _text(element, "TrueValue") or "TRUE"
            false_value = _text(element, "FalseValue") or "FALSE"
            spec = {"id": unique_id(self.ids, variable), "type": "checkbox", "label": label, "variable": variable}
            if (true_value.casefold(), false_value.casefold()) != ("true", "false"):
                spec = {"id": spec["id"], "type": "choice", "label": label, "variable": variable, "required": True,
                        "choices": [{"value": true_value, "label": "Yes"}, {"value": false_value, "label": "No"}],
                        "default": false_value}
            else:
                self.checkboxes.add(variable.casefold())
                self.note(element, what, "a checkbox writes True/False where TsGui wrote TRUE/FALSE",
                          "task sequence conditions compare without case; a script that compares with case must "
                          "change")
            if _child(element, "Checked") is not None and spec["type"] == "checkbox":
                spec["default"] = True
            for toggle in element:
                if toggle.tag.casefold() == "toggle":
                    enabled = _text(toggle, "Enabled") or "TRUE"
                    if spec["type"] == "checkbox":
                        enabled = "True" if enabled.casefold() == "true" else "False"
                    self.toggle(toggle, f'{variable} == "{enabled}"')
        elif folded == "infobox":
            return {"info": _text(element, "Value") or _text(element, "Label")}
        elif folded in ("heading", "separator"):
            return None
        elif folded == "nouioption":
            start = self.start_value(element, what)
            if start is not None and variable:
                self.rules.append({"name": f"{self.path.name}:{self.lines.get(id(element), 0)} {variable}",
                                   "set": {variable: start}})
            return None
        else:
            why = _ELEMENTS.get(folded, f"TsGui option type {kind!r} has no Prestart counterpart")
            self.note(element, what, why, "see docs/migrating.md")
            return None
        if not variable:
            self.note(element, what, "it writes no variable", "add <Variable>")
            return None
        if _attr(element, "ID"):
            self.ids_by_option[_attr(element, "ID")] = variable
        start = self.start_value(element, what)
        if start is not None and spec["type"] == "checkbox":
            spec["default"] = start.casefold() in ("true", "{{true}}")
        elif start is not None:
            spec["default"] = start
        groups = [_text(g) for g in element if g.tag.casefold() == "group"]
        if groups:
            spec["_groups"] = groups
        return spec

    def toggle(self, toggle: ET.Element, shown_when: str) -> None:
        group = _attr(toggle, "Group")
        if _attr(toggle, "Invert").casefold() == "true":
            shown_when = f"not ({shown_when})"
        if group in self.group_when:
            self.group_when[group] = f"({self.group_when[group]}) or ({shown_when})"
        else:
            self.group_when[group] = shown_when

    # -- pages ---------------------------------------------------------------------------------

    def page(self, element: ET.Element, index: int, title: str) -> dict[str, Any]:
        fields: list[dict[str, Any]] = []
        info: list[str] = []
        self._walk(element, [], fields, info)
        page: dict[str, Any] = {"id": unique_id(self.ids, f"page-{index}"), "title": title}
        if info:
            page["text"] = "\n".join(info)
        if fields:
            page["fields"] = fields
        else:
            page["type"] = "info"
            page.setdefault("text", title or "Information")
        return page

    def _walk(self, element: ET.Element, inherited: list[list[str]], fields: list[dict[str, Any]],
              info: list[str]) -> None:
        """Options in document order; the groups of each enclosing Page, Row, Column or Container come along."""
        own = [_text(g) for g in element if g.tag.casefold() == "group"]
        levels = [*inherited, own] if own else inherited
        for child in element:
            tag = child.tag.casefold()
            if tag == "guioption":
                spec = self.option(child)
                if spec is None:
                    continue
                if "info" in spec:
                    if spec["info"]:
                        info.append(spec["info"].replace("{", "{{").replace("}", "}}"))
                    continue
                option_groups = spec.pop("_groups", [])
                spec["_levels"] = [*levels, option_groups] if option_groups else levels
                fields.append(spec)
            elif tag in ("row", "column", "container", "page"):
                self._walk(child, levels, fields, info)

    def resolve_groups(self, pages: list[dict[str, Any]]) -> None:
        """A field shows while its groups are on: one of its own groups, and one at each enclosing level."""
        for page in pages:
            for spec in page.get("fields", ()):
                parts = []
                for level in spec.pop("_levels", []):
                    conditions = [self.group_when[g] for g in level if g in self.group_when]
                    if conditions:
                        parts.append(conditions[0] if len(conditions) == 1 else
                                     " or ".join(f"({c})" for c in conditions))
                if parts:
                    spec["when"] = " and ".join(f"({p})" if " or " in p else p for p in parts)


class TsGuiImporter:
    """`prestart import tsgui Config.xml`."""

    name = "tsgui"
    summary = "TsGui configuration (Config.xml)"
    usage = "Config.xml"

    def convert(self, paths: Sequence[Path]) -> Imported:
        if len(paths) != 1:
            raise InputError("prestart import tsgui takes one Config.xml", "import each file on its own")
        path = paths[0]
        root, lines = read_xml(path)
        if root.tag.casefold() != "tsgui":
            raise InputError(f"{path}: the root element is <{root.tag}>, not <TsGui>",
                             "give a TsGui configuration (Config.xml)")
        convert = _Convert(path, lines or element_lines(root, b""))
        heading = _child(root, "Heading")
        title = _text(heading, "Title") if heading is not None else ""
        pages: list[dict[str, Any]] = []
        for child in root:
            tag = child.tag.casefold()
            if tag == "page":
                pages.append(convert.page(child, len(pages) + 1, title))
            elif tag == "hardwareeval":
                convert.note(child, "<HardwareEval/>", "TsGui sets its own TsGui_IsLaptop, TsGui_IsVM, ... "
                             "variables", "use Prestart's facts IsLaptop, IsDesktop, IsServer, IsVM, IsUEFI")
            elif tag == "nouioption":
                convert.option(child)
            elif tag in ("authentication", "buttons", "footer", "leftpane"):
                convert.note(child, f"<{child.tag}>", _ELEMENTS.get(tag, "not carried over"),
                             "see docs/migrating.md")
        convert.resolve_groups(pages)
        profile: dict[str, Any] = {"version": 1, "title": title or f"Imported from {path.name}"}
        if convert.rules:
            profile["rules"] = convert.rules
        if pages:
            profile["pages"] = pages
        convert.notes.sort(key=lambda n: n.line)
        return Imported(profile, convert.notes)
