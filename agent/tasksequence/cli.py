"""Entry points the `prestart` CLI wires in: `sequence plan|normalize|list`, and the check contract."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agent.errors import InputError, Problem, SourceUnavailable, UsageError
from agent.tasksequence import exports as _exports
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
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a folder, not a {what} file", f"give the {what} file inside it") from exc
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


@dataclass(frozen=True)
class Loaded:
    """A task sequence as found in a file: the sequence, what kind of file held it, how to write it back."""

    sequence: Sequence
    kind: str  # "sequence", "<SmsTaskSequencePackage> wrapper", "object.xml", "export zip"
    document: _xml.Document | None = None  # set when normalize can write the file back as it came
    exported: _exports.Exported | None = None


_ROOT_TAG = re.compile(r"<([A-Za-z_][A-Za-z0-9_.:-]*)")


def _root_tag(text: str) -> str:
    """The root element's name, found without parsing (comments and declarations skipped)."""
    head = re.sub(r"<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>", "", text[:65536], flags=re.S)
    found = _ROOT_TAG.search(head)
    return found.group(1) if found else ""


def load(path: str | os.PathLike[str], which: str | None = None) -> Loaded:
    """Read what users have: sequence XML, the older wrapper, object.xml, or a console export zip."""
    file = str(path)
    data = _xml.read_bytes(path)
    if data[:4] == _exports.ZIP_MAGIC:
        found = _exports.read_zip(path)
        chosen = _exports.choose(found, which, file=file)
        return Loaded(chosen.sequence, "export zip", exported=chosen)
    if which is not None:
        raise UsageError(f"--sequence {which}: {file} holds one task sequence", "leave out --sequence")
    text, _prolog = _xml.decode(data, file=file)
    if _root_tag(text) == "INSTANCE":
        exported = _exports.read_instance(data, file=file)
        return Loaded(exported.sequence, "object.xml", exported=exported)
    if _root_tag(text) != "sequence" and "<sequence" not in text and "&lt;sequence" in text:
        # An older export that keeps the sequence as escaped text in <SequenceData>.
        inner = _exports.sequence_text(data, file=file)
        sequence = _xml.read(inner, file=f"{file}: SequenceData")
        return Loaded(sequence, "wrapper with the sequence as text")
    document = _xml.read_document(data, file=file)
    return Loaded(document.sequence, document.kind, document=document)


def cmd_plan(
    path: str | os.PathLike[str],
    facts_path: str | os.PathLike[str] | None = None,
    variables_path: str | os.PathLike[str] | None = None,
    fail: str | None = None,
    *,
    sequence: str | None = None,
    out: TextIO | None = None,
) -> int:
    """`prestart sequence plan FILE [--facts F] [--variables V.json] [--fail STEP] [--sequence ID]`: JSON.

    FILE is sequence XML, an export's object.xml or the export zip (`--sequence` picks one of several).
    Facts come first and variables override them. Raises PrestartError subclasses (InputError for bad files,
    UsageError for an unknown or ambiguous --fail step); returns 0 after printing.
    """
    loaded = load(path, sequence)
    values: dict[str, str] = {}
    if facts_path:
        values.update(_load_values(facts_path, "facts"))
    if variables_path:
        values.update(_load_values(variables_path, "variables"))
    entries = _plan.plan(loaded.sequence, values, fail=fail)
    stream = out or sys.stdout
    shown = [{"index": entry.index, **entry.to_dict()} for entry in entries]
    json.dump(shown, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
    return 0


def cmd_list(path: str | os.PathLike[str], *, out: TextIO | None = None) -> int:
    """`prestart sequence list FILE`: the task sequences a file holds, with the packages they reference."""
    file = str(path)
    data = _xml.read_bytes(path)
    if data[:4] == _exports.ZIP_MAGIC:
        found = _exports.read_zip(path)
    else:
        loaded = load(path)
        found = [loaded.exported or _exports.Exported("", "", file, loaded.sequence)]
    stream = out or sys.stdout
    json.dump([e.to_dict() for e in found], stream, indent=2, ensure_ascii=False)
    stream.write("\n")
    return 0


def cmd_normalize(
    path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None, *, sequence: str | None = None
) -> int:
    """`prestart sequence normalize FILE [-o OUT] [--sequence ID]`: read and write back.

    In place (atomically) by default, as the same kind of file: a `<sequence>` stays one, a wrapper stays a
    wrapper. An object.xml or an export zip is not rewritten in place (that would change its kind): `-o`
    writes the sequence it holds as `<sequence>` XML. `output="-"` prints to standard output instead.
    Before writing, the output is read back and compared with the input as a document; any difference is
    refused, so a file is never changed in meaning.
    """
    loaded = load(path, sequence)
    if loaded.document is None and output is None:
        raise UsageError(
            f"{path}: is {'an' if loaded.kind[0] in 'aeio' else 'a'} {loaded.kind}; normalize writes the "
            "task sequence it holds as <sequence> XML, which would change the file's kind",
            "give -o OUT.xml (or -o - for standard output)",
        )
    if loaded.document is not None:
        data = _xml.write_document(loaded.document)
        different = _xml.difference(_xml.read_bytes(path), data)
    else:
        data = _xml.write(loaded.sequence)
        different = _xml.difference(_xml.write(loaded.sequence, indent=False), data)
    if different is not None:
        from agent.errors import InternalError

        raise InternalError(
            f"{path}: normalizing would change the document ({different}); nothing was written",
            "please report this with the file",
        )
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
    """For `prestart check PROFILE --task-sequence FILE`: warnings as Problems (path, message, hint).

    `settable`: every variable the profile may set; `offered`: variable -> the values its choices offer.
    An export zip is checked sequence by sequence, each named by where it is in the zip.
    """
    if isinstance(sequence, Sequence):
        return _plan.contract(sequence, settable, offered, file="")
    if _xml.read_bytes(sequence)[:4] == _exports.ZIP_MAGIC:
        problems: list[Problem] = []
        for exported in _exports.read_zip(sequence):
            problems += _plan.contract(exported.sequence, settable, offered, file=exported.source)
        return problems
    return _plan.contract(load(sequence).sequence, settable, offered, file=str(sequence))


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
