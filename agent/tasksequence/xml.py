"""Read and write ConfigMgr task sequence XML (`<sequence>`) without loss; parsing is hardened with defusedxml."""

# XML from a catalog is untrusted: defusedxml refuses DTDs, entity expansion and external references.
# Writing uses the standard library ElementTree, which keeps attribute insertion order (3.8+).
# Whitespace between elements is layout, not content: it is dropped on read and re-created by the writer.
# Everything else is content and comes back: comments, the XML declaration, the encoding and byte order
# mark, CRLF line ends (model.Prolog), and the older <SmsTaskSequencePackage> wrapper around a sequence.

from __future__ import annotations

import codecs
import gc
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from agent import files, safexml
from agent.errors import InputError, SourceUnavailable
from agent.tasksequence.model import (
    ACTION_TYPES,
    COMMENT,
    EXPRESSION_TYPES,
    PROCESSING_INSTRUCTION,
    Action,
    Attrs,
    Condition,
    Expression,
    GenericAction,
    GenericExpression,
    Group,
    Node,
    Operand,
    Operator,
    OSCondition,
    OSPlatform,
    Prolog,
    RawElement,
    Sequence,
    Var,
)

# Anything bigger is not a task sequence (the provider's Sequence property is far smaller); refuse early.
MAX_BYTES = 64 * 1024 * 1024

_STEP_KNOWN = ("type", "name", "description", "disable", "continueOnError", "runIn", "timeout")
_GROUP_KNOWN = ("name", "description", "disable", "continueOnError")
_BOOL = {"true": True, "false": False}


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Document:
    """A task sequence file as read: the sequence and, for the older export format, the wrapper around it.

    `wrapper` is the `<SmsTaskSequencePackage>` (or other) root with the sequence's place marked by an
    empty RawElement tagged "sequence"; None when the file is the `<sequence>` itself.
    """

    sequence: Sequence
    wrapper: RawElement | None = None

    @property
    def kind(self) -> str:
        return "sequence" if self.wrapper is None else f"<{self.wrapper.tag}> wrapper"


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARATION = re.compile(r"<\?xml\s[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_OUTSIDE = re.compile(r"\s*(<!--.*?-->|<\?(?!xml\s).*?\?>)", re.S)


def decode(data: bytes, *, file: str = "task sequence") -> tuple[str, Prolog]:
    """Bytes to text by byte order mark, then declared encoding, then UTF-8; the Prolog says which."""
    bom = False
    encoding = "utf-8"
    for mark, codec in _BOMS:
        if data.startswith(mark):
            bom, encoding, data = True, codec, data[len(mark):]
            break
    else:
        if data[:2] == b"<\x00":
            encoding = "utf-16-le"  # UTF-16 without a byte order mark still starts with "<"
        elif data[:2] == b"\x00<":
            encoding = "utf-16-be"
        else:
            declared = _DECLARED_ENCODING.match(data)
            if declared:
                encoding = declared.group(1).decode("ascii")
    try:
        codec = _codec(encoding, bom)
        text = data.decode(codec)
    except LookupError as exc:
        raise InputError(f"{file}: unknown encoding {encoding!r}", "save the file as UTF-8 or UTF-16") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{file}: byte {exc.start} is not {encoding} text", "save the file as UTF-8 or UTF-16 and try again"
        ) from exc
    return text, Prolog(encoding=codec, bom=bom)


def _codec(encoding: str, bom: bool) -> str:
    """The Python codec for a declared or detected encoding. A declaration of UTF-16 on bytes without a
    byte order mark (a tool re-saved the file as UTF-8 and kept the line) reads what is there: UTF-8."""
    codec = codecs.lookup(encoding).name
    if codec in ("utf-16", "utf-32") and not bom:
        return "utf-8"
    return codec


def _prolog(text: str, prolog: Prolog) -> Prolog:
    """The declaration, line ends and comments outside the root element, read from the text."""
    body = text.lstrip("\ufeff")
    declaration = None
    found = _DECLARATION.match(body.lstrip())
    if found:
        declaration = found.group(0)
        body = body.lstrip()[found.end():]
    before: list[str] = []
    while True:
        item = _OUTSIDE.match(body)
        if item is None:
            break
        before.append(item.group(1))
        body = body[item.end():]
    after: list[str] = []
    tail = body.rstrip()
    while tail.endswith(("-->", "?>")):
        start = tail.rfind("<!--") if tail.endswith("-->") else tail.rfind("<?")
        if start < 0:
            break
        after.append(tail[start:])
        tail = tail[:start].rstrip()
    newline = "\r\n" if "\r\n" in text else "\n"
    return replace(
        prolog, declaration=declaration, newline=newline, before=tuple(before), after=tuple(reversed(after))
    )


def read(data: bytes | str, *, file: str = "task sequence") -> Sequence:
    """Parse task sequence XML. The root is `<sequence>`; an export wrapper around one is accepted too."""
    return read_document(data, file=file).sequence


def read_document(data: bytes | str, *, file: str = "task sequence") -> Document:
    """Parse task sequence XML into a Document that remembers a wrapper around the sequence, if any."""
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{file}: {len(data)} bytes is too large for a task sequence", "check that this is the right file"
        )
    if isinstance(data, bytes):
        text, prolog = decode(data, file=file)
    else:
        # Text has no bytes to keep: written back, it is UTF-8 unless its declaration names an 8-bit encoding.
        declared = _DECLARED_ENCODING.match(data.lstrip("\ufeff")[:200].encode("utf-8", "replace"))
        try:
            codec = _codec(declared.group(1).decode("ascii"), False) if declared else "utf-8"
        except LookupError as exc:
            raise InputError(f"{file}: unknown encoding in the XML declaration", "declare UTF-8") from exc
        prolog = Prolog(encoding=codec)
        text = data
    try:
        root = safexml.fromstring(text, keep_comments=True)
    except safexml.UnsafeXml as exc:
        raise InputError(
            f"{file}: refused unsafe XML ({exc.kind})",
            "task sequence XML has no DTD or entities; export it again from ConfigMgr",
        ) from exc
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(
            f"{file}:{line}:{column}: not well-formed XML ({exc})", "fix the XML or export it again"
        ) from exc
    except (LookupError, ValueError) as exc:  # an XML declaration naming an encoding Python does not know
        raise InputError(
            f"{file}: cannot read the XML: {exc}", "save it as UTF-8 or UTF-16, or export it again"
        ) from None
    prolog = _prolog(text, prolog)
    # Building ~100k small frozen objects triggers many full GC passes that find nothing to free (there are
    # no cycles here); pausing the collector halves the time for a 5,000-step sequence.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        element, wrapper = _root(root, file)
        sequence = replace(_sequence(element), prolog=prolog)
        return Document(sequence, wrapper)
    except RecursionError:  # groups nested hundreds deep: no console builds that, and our reader recurses
        raise InputError(
            f"{file}: groups are nested too deeply to read", "check that this is a real task sequence export"
        ) from None
    finally:
        if was_enabled:
            gc.enable()


def _root(root: ET.Element, file: str) -> tuple[ET.Element, RawElement | None]:
    if root.tag == "sequence":
        return root, None
    # e.g. an older SmsTaskSequencePackage export: <SequenceData><sequence ...>
    found = root.find(".//sequence")
    if found is None:
        hint = "give the task sequence XML (SMS_TaskSequencePackage.Sequence)"
        if root.tag == "INSTANCE":
            hint = "this object.xml has no Sequence property; give the console export .zip it came from"
        raise InputError(f"{file}: the root element is <{root.tag}>, not <sequence>", hint)
    return found, _raw(root, slot=found)


def read_file(path: str | os.PathLike[str]) -> Sequence:
    """Read a task sequence XML file; errors name the file."""
    return read_document(read_bytes(path), file=str(path)).sequence


def read_bytes(path: str | os.PathLike[str], what: str = "task sequence XML") -> bytes:
    """A file's bytes, with errors that say what is wrong with the path."""
    try:
        if Path(path).stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: too large for a task sequence", "check that this is the right file")
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", f"check the path of the {what}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a folder, not a file", f"give the {what} inside it") from exc
    except PermissionError as exc:
        raise SourceUnavailable(f"{path}: cannot read (permission denied)", "check permissions and try again") from exc
    except OSError as exc:
        raise SourceUnavailable(f"{path}: cannot read ({exc.strerror})", "check the disk and try again") from exc


def _text(el: ET.Element) -> str | None:
    # Blank text in an element with children is indentation; a leaf's text is content, kept exactly.
    text = el.text
    if text is not None and len(el) and not text.strip():
        return None
    return text or None


def _raw(el: ET.Element, slot: ET.Element | None = None) -> RawElement:
    """Keep an element whole; `slot` (the wrapped sequence) becomes an empty placeholder."""
    tail = el.tail if el.tail and el.tail.strip() else None
    tag = el.tag
    if tag is ET.Comment:
        return RawElement(COMMENT, text=el.text, tail=tail)
    if tag is ET.ProcessingInstruction:
        return RawElement(PROCESSING_INSTRUCTION, text=el.text, tail=tail)
    if el is slot:
        return RawElement("sequence", tail=tail)
    return RawElement(
        tag=tag,
        attrs=tuple(el.attrib.items()),
        text=_text(el),
        children=tuple(_raw(child, slot) for child in el),
        tail=tail,
    )


def _var(el: ET.Element) -> Var:
    attrib = el.attrib
    # Hot path (tens of thousands per large sequence): most variables carry only name and property.
    others = () if len(attrib) <= 2 else tuple((k, v) for k, v in attrib.items() if k not in ("name", "property"))
    if others == () and len(attrib) == 2 and "property" not in attrib:
        others = tuple((k, v) for k, v in attrib.items() if k != "name")
    return Var(attrib.get("name", ""), el.text or "", attrib.get("property"), others)


def _operand(el: ET.Element) -> Operand:
    if el.tag == "expression":
        kind = el.get("type", "")
        props: list[Var] = []
        extra: list[RawElement] = []
        order: list[str] = []
        for child in el:
            if child.tag == "variable" and not len(child):
                props.append(_var(child))
                order.append("v")
            else:
                extra.append(_raw(child))
                order.append("*")
        cls = EXPRESSION_TYPES.get(kind, GenericExpression)
        attrs = tuple((k, v) for k, v in el.attrib.items() if k != "type")
        return cls(
            type=kind, props=tuple(props), attrs=attrs, extra=tuple(extra), child_order=tuple(order) if extra else ()
        )
    if el.tag == "operator":
        attrs = tuple((k, v) for k, v in el.attrib.items() if k != "type")
        return Operator(type=el.get("type", ""), operands=tuple(_operand(c) for c in el), attrs=attrs)
    if el.tag == "osConditionGroup":
        platforms: list[OSPlatform | RawElement] = []
        for child in el:
            if child.tag == "osExpressionGroup":
                platforms.append(
                    OSPlatform(
                        name=child.get("name", ""),
                        operands=tuple(_operand(c) for c in child),
                        attrs=tuple((k, v) for k, v in child.attrib.items() if k != "name"),
                    )
                )
            else:
                platforms.append(_raw(child))
        attrs = tuple((k, v) for k, v in el.attrib.items() if k != "type")
        return OSCondition(type=el.get("type", "or"), platforms=tuple(platforms), attrs=attrs)
    return _raw(el)


def _condition(el: ET.Element) -> Condition:
    return Condition(operands=tuple(_operand(c) for c in el), attrs=tuple(el.attrib.items()))


def read_condition(el: ET.Element) -> Condition:
    """A `<condition>` element as a model Condition (Set Dynamic Variables rules carry their own)."""
    return _condition(el)


def _common(el: ET.Element, known: tuple[str, ...]) -> tuple[dict[str, object], Attrs, tuple[str, ...]]:
    """Known attributes parsed into fields; anything unknown or unparsable stays in attrs, in order."""
    fields: dict[str, object] = {}
    attrs: list[tuple[str, str]] = []
    for key, value in el.attrib.items():
        if key not in known:
            attrs.append((key, value))
        elif key in ("disable", "continueOnError"):
            flag = _BOOL.get(value.strip().casefold())
            if flag is None:
                attrs.append((key, value))  # not a boolean: keep it verbatim rather than guess
            elif key == "disable":
                fields["enabled"] = not flag
            else:
                fields["continue_on_error"] = flag
        elif key == "timeout":
            if value.strip().isdigit():
                fields["timeout"] = int(value)
            else:
                attrs.append((key, value))
        elif key == "runIn":
            fields["supported_environment"] = value
        elif key != "type":
            fields[key] = value
    return fields, tuple(attrs), tuple(el.attrib)


def _step(el: ET.Element) -> Action:
    fields, attrs, attr_order = _common(el, _STEP_KNOWN)
    condition: Condition | None = None
    action: str | None = None
    variables: tuple[Var, ...] = ()
    extra: list[RawElement] = []
    order: list[str] = []
    for child in el:
        if child.tag == "condition" and "condition" not in order:
            condition = _condition(child)
            order.append("condition")
        elif child.tag == "action" and "action" not in order and not len(child) and not child.attrib:
            action = child.text or ""
            order.append("action")
        elif child.tag == "defaultVarList" and "defaultVarList" not in order and not child.attrib:
            variables = tuple(_var(v) for v in child if v.tag == "variable")
            if any(v.tag != "variable" or len(v) for v in child):
                # Keep the odd one out whole rather than half-modelled.
                extra.append(_raw(child))
                variables = ()
                order.append("*")
            else:
                order.append("defaultVarList")
        else:
            extra.append(_raw(child))
            order.append("*")
    kind = el.get("type", "")
    cls = ACTION_TYPES.get(kind, GenericAction)
    return cls(
        type=kind,
        name=str(fields.get("name", "")),
        description=str(fields.get("description", "")),
        enabled=bool(fields.get("enabled", True)),
        continue_on_error=bool(fields.get("continue_on_error", False)),
        condition=condition,
        timeout=fields.get("timeout"),  # type: ignore[arg-type]
        supported_environment=str(fields.get("supported_environment", "")),
        action=action,
        variables=variables,
        attrs=attrs,
        extra=tuple(extra),
        attr_order=attr_order,
        child_order=tuple(order),
    )


def _node(el: ET.Element) -> Node:
    if el.tag == "step":
        return _step(el)
    if el.tag == "group":
        return _group(el)
    return _raw(el)


def _group(el: ET.Element) -> Group:
    fields, attrs, attr_order = _common(el, _GROUP_KNOWN)
    condition: Condition | None = None
    children: list[Node] = []
    order: list[str] = []
    for child in el:
        if child.tag == "condition" and condition is None:
            condition = _condition(child)
            order.append("condition")
        else:
            children.append(_node(child))
            order.append("*")
    return Group(
        name=str(fields.get("name", "")),
        description=str(fields.get("description", "")),
        enabled=bool(fields.get("enabled", True)),
        continue_on_error=bool(fields.get("continue_on_error", False)),
        condition=condition,
        children=tuple(children),
        attrs=attrs,
        attr_order=attr_order,
        child_order=tuple(order),
    )


def _sequence(el: ET.Element) -> Sequence:
    return Sequence(children=tuple(_node(c) for c in el), attrs=tuple(el.attrib.items()))


# ---------------------------------------------------------------- writing


def write(sequence: Sequence, *, indent: bool = True) -> bytes:
    """Serialize as the file came (its declaration, encoding and line ends; by default UTF-8 without a
    declaration, like SMS_TaskSequencePackage.Sequence), with whitespace between elements re-created."""
    return write_document(Document(sequence), indent=indent)


def write_document(document: Document, *, indent: bool = True) -> bytes:
    """Serialize a Document: the sequence, inside its wrapper when it came in one."""
    sequence = document.sequence
    root = _sequence_element(sequence)
    if document.wrapper is not None:
        holder = ET.Element("holder")
        _put_raw(holder, document.wrapper, slot=[root])
        root = holder[0]
    if indent:
        ET.indent(root, space="  ")
    prolog = sequence.prolog
    end = "\n" if indent else ""
    parts = [prolog.declaration + end] if prolog.declaration else []
    parts += [item + end for item in prolog.before]
    parts.append(ET.tostring(root, encoding="unicode") + end)
    parts += [item + end for item in prolog.after]
    text = "".join(parts)
    if prolog.newline != "\n":
        text = text.replace("\n", prolog.newline)
    bom = next((mark for mark, codec in _BOMS if codec == prolog.encoding), b"") if prolog.bom else b""
    return bom + text.encode(prolog.encoding, errors="xmlcharrefreplace")


def _sequence_element(sequence: Sequence) -> ET.Element:
    root = ET.Element("sequence", dict(sequence.attrs))
    for child in sequence.children:
        _put_node(root, child)
    return root


def write_file(path: str | os.PathLike[str], sequence: Sequence) -> None:
    """Write atomically (agent.files)."""
    files.write_bytes(path, write(sequence))


def _put_raw(parent: ET.Element, raw: RawElement, slot: list[ET.Element] | None = None) -> None:
    """Write a kept element back; in a wrapper, the first empty <sequence> placeholder takes the sequence."""
    if raw.tag in (COMMENT, PROCESSING_INSTRUCTION):
        node = ET.Comment(raw.text) if raw.tag == COMMENT else ET.ProcessingInstruction(raw.text or "")
        node.tail = raw.tail
        parent.append(node)
        return
    if slot and raw.tag == "sequence" and not raw.attrs and not raw.children and raw.text is None:
        element = slot.pop()  # once: a later empty <sequence/> in the wrapper is its own element
        element.tail = raw.tail
        parent.append(element)
        return
    el = ET.SubElement(parent, raw.tag, dict(raw.attrs))
    el.text = raw.text
    el.tail = raw.tail
    for child in raw.children:
        _put_raw(el, child, slot)


def _put_var(parent: ET.Element, var: Var) -> None:
    attrib = {"name": var.name}
    if var.property is not None:
        attrib["property"] = var.property
    attrib.update(var.attrs)
    el = ET.SubElement(parent, "variable", attrib)
    el.text = var.value


def _put_operand(parent: ET.Element, op: Operand) -> None:
    if isinstance(op, RawElement):
        _put_raw(parent, op)
    elif isinstance(op, Expression):
        el = ET.SubElement(parent, "expression", {"type": op.type, **dict(op.attrs)})
        props, extras = iter(op.props), iter(op.extra)
        for part in op.child_order:
            if part == "v":
                var = next(props, None)
                if var is not None:
                    _put_var(el, var)
            else:
                raw = next(extras, None)
                if raw is not None:
                    _put_raw(el, raw)
        for var in props:
            _put_var(el, var)
        for raw in extras:
            _put_raw(el, raw)
    elif isinstance(op, Operator):
        el = ET.SubElement(parent, "operator", {"type": op.type, **dict(op.attrs)})
        for inner in op.operands:
            _put_operand(el, inner)
    else:
        el = ET.SubElement(parent, "osConditionGroup", {"type": op.type, **dict(op.attrs)})
        for platform in op.platforms:
            if isinstance(platform, RawElement):
                _put_raw(el, platform)
                continue
            pel = ET.SubElement(el, "osExpressionGroup", {"name": platform.name, **dict(platform.attrs)})
            for inner in platform.operands:
                _put_operand(pel, inner)


def _put_condition(parent: ET.Element, condition: Condition) -> None:
    el = ET.SubElement(parent, "condition", dict(condition.attrs))
    for op in condition.operands:
        _put_operand(el, op)


def _attributes(
    known: dict[str, tuple[str, bool]], attrs: Attrs, attr_order: tuple[str, ...], canonical: tuple[str, ...]
) -> dict[str, str]:
    """Known fields and unknown attributes in the file's order; new or changed ones in ConfigMgr's order."""
    raw = dict(attrs)
    out: dict[str, str] = {}
    for name in (*attr_order, *canonical, *raw):
        if name in out:
            continue
        if name in raw:
            out[name] = raw[name]
        elif name in known:
            value, wanted = known[name]
            if wanted or name in attr_order:
                out[name] = value
    return out


def _b(flag: bool) -> str:
    return "true" if flag else "false"


def _put_step(parent: ET.Element, step: Action) -> None:
    # A file's step without a type (MDT writes those) or a description must not gain an empty one; a step
    # built in code gets all three, as the console writes them.
    built = not step.attr_order
    known = {
        "type": (step.type, built or bool(step.type)),
        "name": (step.name, built or bool(step.name)),
        "description": (step.description, built or bool(step.description)),
        "disable": (_b(not step.enabled), not step.enabled),
        "continueOnError": (_b(step.continue_on_error), step.continue_on_error),
        "runIn": (step.supported_environment, bool(step.supported_environment)),
        "timeout": ("" if step.timeout is None else str(step.timeout), step.timeout is not None),
    }
    if step.timeout is None:
        known.pop("timeout")
    el = ET.SubElement(parent, "step", _attributes(known, step.attrs, step.attr_order, _STEP_KNOWN))
    order = step.child_order or ("condition", "action", "defaultVarList")
    extras = iter(step.extra)
    done: set[str] = set()

    def put(part: str) -> None:
        if part == "*":
            raw = next(extras, None)
            if raw is not None:
                _put_raw(el, raw)
            return
        if part in done:
            return
        done.add(part)
        if part == "condition" and step.condition is not None:
            _put_condition(el, step.condition)
        elif part == "action" and step.action is not None:
            ET.SubElement(el, "action").text = step.action
        elif part == "defaultVarList" and (step.variables or "defaultVarList" in step.child_order):
            lst = ET.SubElement(el, "defaultVarList")  # an empty <defaultVarList /> that was there stays
            for var in step.variables:
                _put_var(lst, var)

    for part in order:
        put(part)
    for part in ("condition", "action", "defaultVarList"):
        put(part)  # anything added after reading
    for raw in extras:
        _put_raw(el, raw)


def _put_group(parent: ET.Element, group: Group) -> None:
    built = not group.attr_order
    known = {
        "name": (group.name, built or bool(group.name)),
        "description": (group.description, built or bool(group.description)),
        "disable": (_b(not group.enabled), not group.enabled),
        "continueOnError": (_b(group.continue_on_error), group.continue_on_error),
    }
    el = ET.SubElement(parent, "group", _attributes(known, group.attrs, group.attr_order, _GROUP_KNOWN))
    order = group.child_order or ("condition",)
    children = iter(group.children)
    wrote_condition = False
    for part in order:
        if part == "condition":
            if group.condition is not None and not wrote_condition:
                _put_condition(el, group.condition)
            wrote_condition = True
        else:
            child = next(children, None)
            if child is not None:
                _put_node(el, child)
    if not wrote_condition and group.condition is not None:
        # Added in code after reading: ConfigMgr puts the condition first.
        holder = ET.Element("holder")
        _put_condition(holder, group.condition)
        el.insert(0, holder[0])
    for child in children:
        _put_node(el, child)


def _put_node(parent: ET.Element, node: Node) -> None:
    if isinstance(node, Group):
        _put_group(parent, node)
    elif isinstance(node, Action):
        _put_step(parent, node)
    else:
        _put_raw(parent, node)


# ---------------------------------------------------------------- comparing documents

# Elements whose content is other elements: blank text in them is layout. Anywhere else (a variable's value,
# an action's command line) every character is content.
_ELEMENT_ONLY = frozenset((
    "sequence", "group", "step", "defaultVarList", "condition", "operator", "expression", "osConditionGroup",
    "osExpressionGroup", "globalVarList", "referenceList", "SmsTaskSequencePackage", "SequenceData",
))


def _canonical(el: ET.Element) -> tuple[object, ...]:
    tag = el.tag if isinstance(el.tag, str) else (COMMENT if el.tag is ET.Comment else PROCESSING_INSTRUCTION)
    text = el.text
    if text is not None and not text.strip() and (len(el) or tag in _ELEMENT_ONLY):
        text = None
    children = tuple(
        (_canonical(child), child.tail if child.tail and child.tail.strip() else None) for child in el
    )
    return (tag, tuple(el.attrib.items()), text or None, children)


def difference(before: bytes, after: bytes) -> str | None:
    """None when two files hold the same document (elements, attribute order, text, comments, declaration,
    encoding; layout whitespace aside), else where they first differ, in words."""
    first, second = read_document(before).sequence.prolog, read_document(after).sequence.prolog
    for name in ("declaration", "encoding", "bom", "before", "after"):
        if getattr(first, name) != getattr(second, name):
            return f"the {name} differs: {getattr(first, name)!r} became {getattr(second, name)!r}"
    roots = [safexml.fromstring(decode(data)[0], keep_comments=True) for data in (before, after)]
    return _first_difference(_canonical(roots[0]), _canonical(roots[1]), "")


def _first_difference(a: tuple[object, ...], b: tuple[object, ...], path: str) -> str | None:
    where = f"{path}/{a[0]}"
    if a[:3] != b[:3]:
        return f"{where}: {a[:3]!r} became {b[:3]!r}"
    kids_a, kids_b = a[3], b[3]
    assert isinstance(kids_a, tuple) and isinstance(kids_b, tuple)
    if len(kids_a) != len(kids_b):
        return f"{where}: {len(kids_a)} children became {len(kids_b)}"
    for i, (x, y) in enumerate(zip(kids_a, kids_b, strict=True)):
        if x[1] != y[1]:
            return f"{where}[{i}]: text after it {x[1]!r} became {y[1]!r}"
        found = _first_difference(x[0], y[0], f"{where}[{i}]")
        if found:
            return found
    return None
