"""Load YAML keeping the line of every node, so problems can say FILE:LINE: path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import InputError

if TYPE_CHECKING:  # PyYAML is imported where YAML is read: media carry the profile and catalog as JSON
    import yaml


class Located:
    """A YAML document as plain data plus a map of path -> line number (1-based)."""

    __slots__ = ("data", "file", "lines")

    def __init__(self, data: Any, lines: dict[str, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line(self, path: str) -> int:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 0)


def join(path: str, key: str | int) -> str:
    """Child path: `a.b`, `a[0]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# Aliases let a small file name a huge tree ("billion laughs"): a profile needs no more nodes than this.
MAX_NODES = 200_000
# No profile, catalog or answers file nests deeper than a few levels; past this, nesting is an attack.
MAX_DEPTH = 64
# Every value the agent reads is text, a number, true/false or null: YAML's dates are read as the text
# written (`note: 2026-01-01` is "2026-01-01"), and tags that build other Python types are refused.
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Python refuses to turn integers of more than 4,300 digits into text; hex and octal are read without that limit.
_MAX_INT_BITS = 14_000
_REFUSED_TAGS = {
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:set": "a set",
    "tag:yaml.org,2002:omap": "an ordered map",
    "tag:yaml.org,2002:pairs": "a list of pairs",
}


def _scalar(node: yaml.Node, loader: Any) -> Any:
    """A scalar as plain data: dates as the text written; binary and other non-text tags refused."""
    if node.tag == _TIMESTAMP:
        return str(node.value)
    what = _REFUSED_TAGS.get(node.tag)
    if what:
        raise InputError(
            f"line {node.start_mark.line + 1}: `!!{node.tag.rsplit(':', 1)[-1]}` ({what}) is not allowed",
            "write the value as plain text",
        )
    try:
        value = loader.construct_object(node, deep=True)
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:  # `0xfff...`: no limit on reading
            raise ValueError("too many digits")
        return value
    except ValueError as exc:  # an integer with thousands of digits (Python's int limit)
        raise InputError(
            f"line {node.start_mark.line + 1}: value is not a usable number ({exc.__class__.__name__})",
            "write a shorter number, or quote it to make it text",
        ) from None


def _convert(node: yaml.Node, path: str, lines: dict[str, int], loader: Any, depth: int = 0) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if depth > MAX_DEPTH:
        raise InputError(
            f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep",
            "flatten the document; no Prestart file needs that much nesting",
        )
    if node.tag in _REFUSED_TAGS:
        return _scalar(node, loader)
    if len(lines) > MAX_NODES:
        raise InputError(
            f"line {node.start_mark.line + 1}: more than {MAX_NODES:,} values (YAML aliases expanding?)",
            "write the profile out without `&anchor`/`*alias` chains",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if isinstance(key, (dict, list)):
                key = str(key)
            child = join(path, key if isinstance(key, str) else str(key))
            if key in result:
                raise InputError(
                    f"line {key_node.start_mark.line + 1}: {child}: duplicate key {key!r}",
                    "each key may appear only once in a mapping",
                )
            result[key] = _convert(value_node, child, lines, loader, depth + 1)
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, join(path, i), lines, loader, depth + 1) for i, child in enumerate(node.value)]
    return _scalar(node, loader)


def load_text(text: str, file: str, *, fast: bool = True) -> Located:
    """Parse YAML text; a syntax error names the file, line and column.

    With `fast`, a document that is a JSON object (a profile compiled by the media builder: JSON is YAML
    too) is read with the json module, many times faster than a YAML reader, and without line numbers
    (`lines` empty); callers that find a problem in it load the text again with `fast=False` to report lines.
    """
    if fast and text.lstrip().startswith("{"):
        from agent import safejson

        try:
            return Located(safejson.loads(text), {}, file)
        except safejson.JsonProblem as exc:
            raise InputError(f"{file}: {exc}", "save plain JSON or YAML text") from None
        except json.JSONDecodeError:
            pass  # not strict JSON after all: YAML flow style; fall through
    import yaml

    try:
        # libyaml's C loader where PyYAML was built with it; the pure Python one otherwise.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        lines: dict[str, int] = {}
        try:
            node = loader.get_single_node()
            data = None if node is None else _convert(node, "", lines, loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise InputError(
            f"{where}: not valid YAML: {exc.problem or exc}", "check indentation and quoting there"
        ) from exc
    except yaml.YAMLError as exc:  # unmarked errors, e.g. control characters the reader refuses
        raise InputError(f"{file}: not valid YAML: {exc}", "save the file as plain UTF-8 text") from exc
    except InputError as exc:
        raise InputError(f"{file}:{exc.message}", exc.hint) from exc
    except RecursionError:  # the composer itself recursed too deep before our depth check saw the node
        raise InputError(
            f"{file}: nested too deeply to read", "flatten the document; no Prestart file needs that much nesting"
        ) from None
    return Located(data, lines if node is not None else {}, file)


def read_text(path: str | Path) -> str:
    """A text file's contents; an unreadable file is the caller's input problem."""
    from agent import limits

    try:
        return limits.read_bytes(path, limits.PROFILE_BYTES, "a profile, answers or media file").decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}", "check the path and permissions") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text", "save the file as UTF-8") from exc


def load_file(path: str | Path, *, fast: bool = True) -> Located:
    """Read and parse a YAML file; an unreadable file is the caller's input problem."""
    return load_text(read_text(path), str(path), fast=fast)


def add_lines(problems: list[Any], file: str | Path) -> list[Any]:
    """Fill in the line of each problem found in `file` by a reader that keeps no lines (catalogs are read
    without them at boot). JSON is YAML, so the located loader knows every path's line."""
    try:
        located = load_file(file, fast=False)
    except InputError:
        return problems  # unreadable: the problems say what they can without lines
    for problem in problems:
        if not problem.line and problem.file in ("", str(file)):
            problem.line = located.line(problem.path)
    return problems
