"""Shared fuzzing helpers: how many examples, JSON-like values, and mutations of a reference document."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# PRESTART_FUZZ_EXAMPLES=10000 is the long mode (docs/security.md records a run); CI keeps the default.
EXAMPLES = int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "200"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# Words our formats use, so generated documents reach past the first "unknown key" check.
WORDS = [
    "version", "title", "mode", "role", "rules", "when", "set", "lookup", "list", "match", "lock", "preflight",
    "name", "check", "severity", "message", "pages", "id", "type", "fields", "choices", "value", "label",
    "variable", "required", "default", "validate", "regex", "min_length", "max_length", "roles", "array", "base",
    "digits", "countdown", "seconds", "on_timeout", "type_to_confirm", "ldap", "server", "groups", "allow_pin",
    "max_attempts", "kiosk", "technician_unlock", "pin_hash", "catalog", "refresh", "url", "audit", "items",
    "lists", "serial", "generated", "expires", "source", "schema", "requires", "form", "info", "confirm",
    "login", "choice", "multi", "checkbox", "text", "password", "netbios", "{item.id}", "{SerialNumber|right:4}",
    "IsLaptop == \"True\"", "Model like \"%Latitude%\"", "exists Make", "(", "%", "{", "}", "|upper",
]

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=30)
)
KEYS = st.sampled_from(WORDS) | st.text(max_size=12)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


def mutate(data: st.DataObject, doc: Any, *, max_changes: int = 4) -> Any:
    """A copy of `doc` with 1..max_changes random replacements, deletions or insertions anywhere in the tree."""
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, max_changes), label="changes")):
        path = data.draw(st.sampled_from(list(_paths(doc))), label="path")
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="op")
        if not path:
            if op == "replace":
                doc = data.draw(JSONISH, label="root")
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if op == "replace":
            parent[last] = data.draw(JSONISH, label="value")
        elif op == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[data.draw(KEYS, label="key")] = data.draw(JSONISH, label="value")
        else:
            parent.insert(last, data.draw(JSONISH, label="value"))
    return doc


def mutate_bytes(data: st.DataObject, blob: bytes, *, max_changes: int = 6) -> bytes:
    """`blob` with random byte flips, insertions, deletions and a possible truncation."""
    out = bytearray(blob)
    for _ in range(data.draw(st.integers(1, max_changes), label="changes")):
        if not out:
            out += data.draw(st.binary(max_size=16))
            continue
        at = data.draw(st.integers(0, len(out) - 1), label="at")
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="op")
        if op == "flip":
            out[at] = data.draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=16) | st.sampled_from(
                [b"<", b">", b"]]>", b"<![CDATA[", b"&amp;", b"&#0;", b"\x00", b"<!DOCTYPE x>", b"</var>", b'"']))
        elif op == "delete":
            del out[at:at + data.draw(st.integers(1, 32))]
        else:
            del out[at:]
    return bytes(out)


# -- hostile shapes (issue 19): what an attacker or bad luck puts into a file ------------------------------


def _nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


HOSTILE_TEXT = st.one_of(
    st.builds(_nested, st.integers(50, 6000), st.sampled_from(["list", "map"])),  # deep nesting
    st.integers(4000, 6000).map(lambda n: "9" * n),  # past Python's 4,300-digit int limit
    st.sampled_from(['"\\ud800"', '"\\udfff x"', '"a\\udc00b"', '"\\ud83d"']),  # lone surrogates (JSON escapes)
    st.sampled_from(["2026-01-01", "2026-01-01 10:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-02:00",
                     "!!timestamp 2026-01-01"]),  # dates, in and out of range
    st.sampled_from(["!!binary aGVsbG8=", "!!set {a: null}", "!!omap [{a: 1}]", "!!python/object:os.system {}",
                     "!!float .nan", "!!int 0x" + "f" * 5000]),  # binary and other typed values
    st.sampled_from(["\ufeff", "\x00", "\u2028", "\x85"]),  # odd characters: BOM, NUL, line separators
)

HOSTILE_XML_PROLOGS = st.sampled_from([
    b'<?xml version="1.0" encoding="tf-8"?>', b'<?xml version="1.0" encoding="utf-32"?>',
    b'<?xml version="1.0" encoding="x-mac-klingon"?>', b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf",
    b'<?xml version="1.0" encoding="utf-16"?>', b"",
])


def splice(data: st.DataObject, text: str, snippet: str) -> str:
    """`text` with `snippet` put in at a random place (often after a `:` or `[`, where a value goes)."""
    anchors = [i + 1 for i, ch in enumerate(text) if ch in ":[,"] or [0]
    at = data.draw(st.sampled_from(anchors) | st.integers(0, len(text)), label="at")
    return text[:at] + " " + snippet + text[at:]


def nested_xml(depth: int) -> bytes:
    return b'<sequence version="3.00">' + b'<group name="g">' * depth + b"</group>" * depth + b"</sequence>"
