"""Entry points the `prestart` CLI wires in: `sequence plan`, `sequence normalize`, and the check contract."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agent.errors import InputError, Problem, SourceUnavailable
from agent.tasksequence import plan as _plan
from agent.tasksequence import xml as _xml
from agent.tasksequence.model import Sequence

if TYPE_CHECKING:
    from agent.catalog.model import Catalog
    from agent.profile.model import Profile


def _load_values(path: str | os.PathLike[str], what: str) -> dict[str, str]:
    """A JSON object of name to text (facts/*.json, a json sink's output)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such {what} file", f"check the path given for the {what}") from exc
    except OSError as exc:
        raise SourceUnavailable(f"{path}: cannot read ({exc.strerror})", "check permissions and try again") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})", f"the {what} file is one JSON object") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the {what} must be one JSON object of name to value", "wrap them in {...}")
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            out[key] = "True" if value else "False"
        elif isinstance(value, str | int | float):
            out[key] = str(value)
        elif value is None:
            out[key] = ""
        else:
            raise InputError(f"{path}: {key}: a value must be text or a number", "variables are text")
    return out


def cmd_plan(
    path: str | os.PathLike[str],
    facts_path: str | os.PathLike[str] | None = None,
    variables_path: str | os.PathLike[str] | None = None,
    fail: str | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """`prestart sequence plan FILE.xml [--facts F] [--variables V.json] [--fail STEP]`: the plan as JSON.

    Facts come first and variables override them. Raises PrestartError subclasses (InputError for bad files,
    UsageError for an unknown --fail step); returns 0 after printing.
    """
    sequence = _xml.read_file(path)
    values: dict[str, str] = {}
    if facts_path:
        values.update(_load_values(facts_path, "facts"))
    if variables_path:
        values.update(_load_values(variables_path, "variables"))
    entries = _plan.plan(sequence, values, fail=fail)
    stream = out or sys.stdout
    json.dump([entry.to_dict() for entry in entries], stream, indent=2, ensure_ascii=False)
    stream.write("\n")
    return 0


def cmd_normalize(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> int:
    """`prestart sequence normalize FILE.xml [-o OUT]`: read and write back (in place, atomically, by default).

    `output="-"` prints to standard output instead.
    """
    data = _xml.write(_xml.read_file(path))
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(data) if hasattr(sys.stdout, "buffer") else sys.stdout.write(data.decode("utf-8"))
        return 0
    from agent import files

    files.write_bytes(output if output is not None else path, data)
    return 0


def contract(
    sequence: Sequence | str | os.PathLike[str],
    settable: set[str],
    offered: Mapping[str, set[str]],
) -> list[Problem]:
    """For `prestart check PROFILE --task-sequence FILE.xml`: warnings as Problems (path, message, hint).

    `settable`: every variable the profile may set; `offered`: variable -> the values its choices offer.
    """
    file = ""
    if not isinstance(sequence, Sequence):
        file = str(sequence)
        sequence = _xml.read_file(sequence)
    return _plan.contract(sequence, settable, offered, file=file)


def profile_contract(profile: Profile, catalog: Catalog | None) -> tuple[set[str], dict[str, set[str]]]:
    """What a profile can set, and the values it offers per variable (for the variable contract)."""
    from agent.templates import parse_template

    settable: set[str] = set()
    offered: dict[str, set[str]] = {}

    def offer(name: str, values: set[str]) -> None:
        settable.add(name)
        offered.setdefault(name, set()).update(v for v in values if v)

    for rule in profile.rules:
        for name, template in rule.set:
            parsed = parse_template(template)
            offer(name, {template} if parsed.is_constant else set())
    for _page, fld in profile.fields():
        items = list(catalog.items(fld.list)) if (catalog is not None and fld.list) else []
        values = {c.value for c in fld.choices} | {item.value for item in items}
        if fld.type == "checkbox":
            values = {"True", "False"}
        if fld.variable:
            offer(fld.variable, values if fld.type in ("choice", "checkbox") else set())
        if fld.array:
            settable.update(fld.array.name(i) for i in range(1, max(len(values), 1) + 1))
        for name, template in fld.set:
            parsed = parse_template(template)
            if parsed.is_constant:
                offer(name, {template})
            elif items and not parsed.names:
                offer(name, {parsed.render(lambda _n: "", item) for item in items})
            else:
                offer(name, set())
    return settable, offered


def contract_warnings(profile: Profile, xml_path: Path, catalog: Catalog | None) -> list[Problem]:
    """`prestart check PROFILE --task-sequence FILE.xml`: the sequence's reads against the profile's writes."""
    settable, offered = profile_contract(profile, catalog)
    return contract(xml_path, settable, offered)
