"""Read and write ConfigMgr task sequence XML (`<sequence>`) without loss; parsing is hardened with defusedxml."""

# XML from a catalog is untrusted: defusedxml refuses DTDs, entity expansion and external references.
# Writing uses the standard library ElementTree, which keeps attribute insertion order (3.8+).
# Whitespace between elements is layout, not content: it is dropped on read and re-created by the writer.

from __future__ import annotations

import gc
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from agent import files, safexml
from agent.errors import InputError, SourceUnavailable
from agent.tasksequence.model import (
    ACTION_TYPES,
    EXPRESSION_TYPES,
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


def read(data: bytes | str, *, file: str = "task sequence") -> Sequence:
    """Parse task sequence XML. The root is `<sequence>`; an export wrapper around one is accepted too."""
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{file}: {len(data)} bytes is too large for a task sequence", "check that this is the right file"
        )
    try:
        root = safexml.fromstring(data)
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
    # Building ~100k small frozen objects triggers many full GC passes that find nothing to free (there are
    # no cycles here); pausing the collector halves the time for a 5,000-step sequence.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _sequence(_root(root, file))
    except RecursionError:  # groups nested hundreds deep: no console builds that, and our reader recurses
        raise InputError(
            f"{file}: groups are nested too deeply to read", "check that this is a real task sequence export"
        ) from None
    finally:
        if was_enabled:
            gc.enable()


def _root(root: ET.Element, file: str) -> ET.Element:
    if root.tag != "sequence":
        # e.g. an SmsTaskSequencePackage export: <SequenceData><sequence ...>
        found = root.find(".//sequence")
        if found is None:
            raise InputError(
                f"{file}: the root element is <{root.tag}>, not <sequence>",
                "give the task sequence XML (SMS_TaskSequencePackage.Sequence)",
            )
        root = found
    return root


def read_file(path: str | os.PathLike[str]) -> Sequence:
    """Read a task sequence XML file; errors name the file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", "check the path of the task sequence XML") from exc
    except OSError as exc:
        raise SourceUnavailable(f"{path}: cannot read ({exc.strerror})", "check permissions and try again") from exc
    return read(data, file=str(path))


def _text(el: ET.Element) -> str | None:
    # Blank text in an element with children is indentation; a leaf's text is content, kept exactly.
    text = el.text
    if text is not None and len(el) and not text.strip():
        return None
    return text or None


def _raw(el: ET.Element) -> RawElement:
    tail = el.tail if el.tail and el.tail.strip() else None
    return RawElement(
        tag=el.tag,
        attrs=tuple(el.attrib.items()),
        text=_text(el),
        children=tuple(_raw(child) for child in el),
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
        for child in el:
            if child.tag == "variable":
                props.append(_var(child))
            else:
                extra.append(_raw(child))
        cls = EXPRESSION_TYPES.get(kind, GenericExpression)
        attrs = tuple((k, v) for k, v in el.attrib.items() if k != "type")
        return cls(type=kind, props=tuple(props), attrs=attrs, extra=tuple(extra))
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
            if any(v.tag != "variable" for v in child):
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
    """Serialize to UTF-8 XML (no declaration, like SMS_TaskSequencePackage.Sequence)."""
    root = ET.Element("sequence", dict(sequence.attrs))
    for child in sequence.children:
        _put_node(root, child)
    if indent:
        ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode").encode("utf-8") + (b"\n" if indent else b"")


def write_file(path: str | os.PathLike[str], sequence: Sequence) -> None:
    """Write atomically (agent.files)."""
    files.write_bytes(path, write(sequence))


def _put_raw(parent: ET.Element, raw: RawElement) -> None:
    el = ET.SubElement(parent, raw.tag, dict(raw.attrs))
    el.text = raw.text
    el.tail = raw.tail
    for child in raw.children:
        _put_raw(el, child)


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
        for var in op.props:
            _put_var(el, var)
        for raw in op.extra:
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
    known = {
        "type": (step.type, True),
        "name": (step.name, True),
        "description": (step.description, True),
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
        elif part == "defaultVarList" and step.variables:
            lst = ET.SubElement(el, "defaultVarList")
            for var in step.variables:
                _put_var(lst, var)

    for part in order:
        put(part)
    for part in ("condition", "action", "defaultVarList"):
        put(part)  # anything added after reading
    for raw in extras:
        _put_raw(el, raw)


def _put_group(parent: ET.Element, group: Group) -> None:
    known = {
        "name": (group.name, True),
        "description": (group.description, True),
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
