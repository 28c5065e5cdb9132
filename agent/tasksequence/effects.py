"""Which task sequence variables a step may write when it runs, and how sure we can be of the value."""

# The plan and the variable contract both need this. What a step writes is read from what the XML shows:
# Set Task Sequence Variable (name and value), Set Dynamic Variables rules (each with its own condition),
# output variables (Run PowerShell Script, Run Command Line), settings that name a destination variable
# (Download Package Content's base name, ...), scripts embedded in the step that assign through
# Microsoft.SMS.TSEnvironment, and MDT's own scripts: Gather may set any variable (CustomSettings.ini rules
# and the machine), Next Phase sets Phase. A script kept in a package is not visible here: what it writes is
# not seen (docs/task-sequences.md says so; give such variables with --variables).

from __future__ import annotations

import base64
import binascii
import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from agent import safexml
from agent.tasksequence.model import Action, Condition, SetVariableAction

ANY = "*"  # Write.name when the step may write any variable


@dataclass(frozen=True)
class Write:
    """One variable a step may write: its value when known from the XML (None: decided at run time)."""

    name: str  # the variable, or ANY
    value: str | None
    why: str  # what writes it, e.g. "output variable of Run PowerShell Script"
    condition: Condition | None = None  # a Set Dynamic Variables rule's own condition
    numbered: bool = False  # writes name01, name02, ... (a download's destination base name)


GATHER = "MDT Gather: CustomSettings.ini rules and the machine"
SET_DYNAMIC = "SMS_TaskSequence_SetDynamicVariablesAction"
RUN_POWERSHELL = "SMS_TaskSequence_RunPowerShellScriptAction"
MDT_GATHER = "BDD_Gather"

# MDT's scripts (ZTI*, LTI*; PSD* in PowerShell Deployment) read and write the environment through
# ZTIUtility/PSDUtility: any of them may set any variable, except those known to set only these.
_MDT_PREFIXES = ("zti", "lti", "psd")
_MDT_SCRIPTS: dict[str, tuple[str, ...]] = {
    "ztinextphase.wsf": ("Phase",),
    "psdnextphase.ps1": ("Phase",),
}
_SCRIPT_NAME = re.compile(r"([A-Za-z0-9_.-]+\.(?:wsf|ps1|vbs))", re.I)
# $tsenv.Value("Name") = ... (not ==), in PowerShell; the name may be quoted either way.
_ASSIGN = re.compile(r"\.Value\(\s*[\"']([A-Za-z_][A-Za-z0-9_.-]*)[\"']\s*\)\s*=(?!=)")
_ASSIGN_DYNAMIC = re.compile(r"\.Value\(\s*[^\"'\s)][^)]*\)\s*=(?!=)")


def script_text(step: Action) -> str:
    """The script embedded in a Run PowerShell Script step (SourceScript: base64 of UTF-16), or ""."""
    encoded = step.setting("SourceScript")
    if not encoded:
        return ""
    try:
        raw = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return encoded  # not base64: some exports keep the script as text
    if raw.startswith(codecs.BOM_UTF16_LE):
        return raw[2:].decode("utf-16-le", "replace")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _script_writes(text: str, what: str) -> list[Write]:
    if "tsenv" not in text.casefold():  # Microsoft.SMS.TSEnvironment, $tsenv, tsenv2.exe, ...
        return []
    out = [Write(name, None, f"{what} assigns it through the TS environment") for name in _ASSIGN.findall(text)]
    if _ASSIGN_DYNAMIC.search(text):
        out.append(Write(ANY, None, f"{what} assigns variables whose names it computes"))
    return out


def _rules(step: Action) -> list[Write]:
    """Set Dynamic Variables: <Rules><Rule>[<condition>]<Variables><Variable Name=..>value</Variable>."""
    from agent.tasksequence import xml as tx

    text = step.setting("Rules")
    if not text.strip():
        return []
    try:
        root = safexml.fromstring(text, forbid_dtd=True)
    except (ET.ParseError, safexml.UnsafeXml):
        return [Write(ANY, None, "Set Dynamic Variables rules that cannot be read")]
    out: list[Write] = []
    for rule in root.iter("Rule"):
        found = rule.find("condition")
        condition = tx.read_condition(found) if found is not None else None
        for variable in rule.iter("Variable"):
            name = variable.get("Name", "")
            if not name:
                continue
            secret = variable.get("IsSecret", "").casefold() == "true"
            value = None if secret else (variable.text or "")
            why = "a Set Dynamic Variables rule" + (" (secret value)" if secret else "")
            out.append(Write(name, value, why, condition))
    return out


def writes(step: Action) -> list[Write]:
    """Every variable this step may write, in a stable order."""
    out: list[Write] = []
    if isinstance(step, SetVariableAction):
        if step.variable_name:
            # "Do not display this value": the XML holds it encrypted, so the plan cannot know it.
            hidden = step.setting("DoNotShowVariableValue").casefold() == "true"
            value = None if hidden else step.variable_value
            why = "Set Task Sequence Variable" + (" (hidden value)" if hidden else "")
            out.append(Write(step.variable_name, value, why))
        return out
    if step.type == SET_DYNAMIC:
        return _rules(step)
    if step.type == MDT_GATHER:
        out.append(Write(ANY, None, GATHER))
    for var in step.variables:
        prop = (var.property or var.name).casefold()
        if not var.value or prop in ("basevariablename", "variablename"):
            continue
        if prop == "outputvariablename" or prop.endswith("outputvariable"):
            out.append(Write(var.value, None, "the step's output variable"))
        elif prop.endswith("variable") or prop.endswith("variablename"):
            numbered = prop == "destinationvariable"
            out.append(Write(var.value, None, f"the step's {var.property or var.name} setting", numbered=numbered))
    command = " ".join(filter(None, [step.action or "", step.setting("CommandLine")]))
    folded = command.casefold()
    # A cheap test first: most command lines run no script (thousands of steps in a large sequence).
    scripts = _SCRIPT_NAME.findall(command) if (".wsf" in folded or ".ps1" in folded or ".vbs" in folded) else []
    for script in scripts:
        key = script.casefold()
        if key in _MDT_SCRIPTS:
            out += [Write(name, None, f"MDT's {script}") for name in _MDT_SCRIPTS[key]]
        elif key.startswith(_MDT_PREFIXES) and step.type != MDT_GATHER:
            what = GATHER if key in ("ztigather.wsf", "psdgather.ps1") else f"MDT's {script} writes the environment"
            out.append(Write(ANY, None, what))
    out += _script_writes(command, "its command line")
    if step.type == RUN_POWERSHELL:
        out += _script_writes(script_text(step), "its script")
    return out


def named(step: Action) -> set[str]:
    """The folded names this step may write (not ANY), for the variable contract."""
    return {w.name.casefold() for w in writes(step) if w.name != ANY}
