"""A strict reader for plain YAML (top-level `key: value` lines); anything else is left to PyYAML."""

# Importing PyYAML costs ~17 ms at start (its reader compiles a huge regular expression), and the only YAML
# a headless boot reads is the small answers file. This reads the shapes answers files take and gives up
# (NOT_PLAIN) on anything else, so that whatever it returns is what `yaml.safe_load` returns. The subset:
#   - top-level `key: value` lines at column 0, keys unique, blank and `#` comment lines anywhere;
#   - a value is empty (None), a scalar, a flat flow sequence `[a, 'b c']`, or after an empty value a block
#     sequence of `- scalar` lines at one indentation; a `#` after a space starts a comment;
#   - scalars are plain (first character alphanumeric, then alphanumerics, `_ . / @ -` and inner spaces) or
#     quoted on one line (`'...'` with `''` for a quote; `"..."` without backslashes).
# Plain scalars resolve as YAML 1.1 does in PyYAML's SafeLoader; a spelling close to a boolean, null or
# number without being an unmistakable one is not plain.
# It uses string methods only: compiling even one regular expression for this costs ~0.2 ms at start.

from __future__ import annotations


class _NotPlain:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_PLAIN"


NOT_PLAIN = _NotPlain()
"""What `load` returns for text outside the subset: read it with PyYAML, which also reports lines."""

# YAML 1.1 booleans and nulls, exactly as PyYAML resolves them; other spellings of these words (`tRUE`,
# `oN`) are strings to PyYAML but booleans to other readers: not plain, so nobody has to guess.
_WORDS: dict[str, object] = {
    **dict.fromkeys(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"), False),
    **dict.fromkeys(("null", "Null", "NULL"), None),
}
_NEAR_WORDS = frozenset(word.lower() for word in _WORDS)
# A scalar that starts with a digit and is made only of these may be an octal, hex, binary or sexagesimal
# int, a float or a timestamp in YAML 1.1 (`007`, `0x1F`, `1_000`, `1.5`, `1:30`, `2026-11-20`); the space
# is there to be safe (`1 2` is a string to PyYAML, but a timestamp may hold a space).
_NUMBERISH = "0123456789_.xXbBoOabcdefABCDEFeE+-: "
# What a plain scalar may hold besides alphanumerics: deleted before `str.isalnum()` checks the rest.
_PUNCTUATION = str.maketrans("", "", "_./@- ")


def _plain(text: str) -> object:
    """A plain scalar resolved as PyYAML's SafeLoader does; NOT_PLAIN if it is not one or needs a closer look."""
    # Alphanumeric first (no indicator such as `-`, `.`, `~`, `&`, `!`), then no `:`, `#`, `,`, brackets...
    if not (text[:1].isalnum() and text.translate(_PUNCTUATION).isalnum()):
        return NOT_PLAIN
    if text in _WORDS:
        return _WORDS[text]
    if "0" <= text[0] <= "9":
        if text.strip(_NUMBERISH):
            return text  # `7zip`, `2HL3`: no YAML 1.1 number or timestamp has those letters
        # Only a plain decimal integer (str.isdigit() would also take other scripts' digits).
        if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
            try:
                return int(text)
            except ValueError:  # more digits than sys.get_int_max_str_digits(): PyYAML would raise
                return NOT_PLAIN
        return NOT_PLAIN
    if text.lower() in _NEAR_WORDS:
        return NOT_PLAIN
    return text


def _quoted(line: str, pos: int) -> tuple[object, int]:
    """The quoted scalar whose quote is at `pos`, on this line: (value, end just past it), NOT_PLAIN if none."""
    if line[pos] == '"':
        end = line.find('"', pos + 1)
        if end < 0 or line.find("\\", pos + 1, end) >= 0:
            return NOT_PLAIN, pos  # escapes are left to PyYAML
        return line[pos + 1 : end], end + 1
    end = pos
    while True:
        end = line.find("'", end + 1)
        if end < 0:
            return NOT_PLAIN, pos
        if line[end + 1 : end + 2] != "'":
            return line[pos + 1 : end].replace("''", "'"), end + 1
        end += 1  # `''` stands for one quote


def _skip_spaces(line: str, pos: int) -> int:
    while line[pos : pos + 1] == " ":  # a loop, not a slice and lstrip: a long line stays linear
        pos += 1
    return pos


def _ends(line: str, pos: int) -> bool:
    """Whether only spaces and a comment follow `pos`; the `#` of a comment must follow a space."""
    rest = line[pos:]
    after = rest.lstrip(" ")
    return not after or (after[0] == "#" and len(after) < len(rest))


def _value(line: str, pos: int) -> tuple[object, int]:
    """The scalar after `pos` in a block context (a line's value, a `- item`): (value, end)."""
    pos = _skip_spaces(line, pos)
    if line[pos : pos + 1] in ("'", '"'):
        return _quoted(line, pos)
    end = line.find(" #", pos)  # a plain scalar holds no `#`, so the first ` #` starts the comment
    text = line[pos : end if end >= 0 else len(line)].rstrip(" ")
    return _plain(text), pos + len(text)


def _flow(line: str, pos: int) -> tuple[object, int]:
    """The flat flow sequence whose items start at `pos`, after its `[`: (list, end just past the `]`)."""
    items: list[object] = []
    pos = _skip_spaces(line, pos)
    if line[pos : pos + 1] == "]":
        return items, pos + 1
    while True:
        if line[pos : pos + 1] in ("'", '"'):
            item, pos = _quoted(line, pos)
        else:
            # A plain item runs to the next `,` or `]`; one holding `[`, `{`, `#` or `:` is refused by _plain.
            # The `]` is looked for only up to the comma, so that a long line is read in linear time.
            comma = line.find(",", pos)
            end = comma if comma >= 0 else len(line)
            close = line.find("]", pos, end)
            text = line[pos : close if close >= 0 else end].rstrip(" ")
            item, pos = _plain(text), pos + len(text)
        if item is NOT_PLAIN:
            return NOT_PLAIN, pos  # also a trailing comma, which PyYAML takes but other readers may not
        items.append(item)
        pos = _skip_spaces(line, pos)
        separator = line[pos : pos + 1]
        if separator == "]":
            return items, pos + 1
        if separator != ",":
            return NOT_PLAIN, pos
        pos = _skip_spaces(line, pos + 1)


def load(text: str) -> object:
    """The document in `text` if it is plain YAML (see the module comment), else NOT_PLAIN; never raises."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # a lone `\r` is left to fail the printable check below
    data: dict[str, object] = {}
    # The key whose value was empty, which block sequence lines may still fill, and their indentation.
    open_key: str | None = None
    sequence: list[object] | None = None
    indent = 0
    for line in text.split("\n"):
        # Tabs, `\r`, control characters, NEL, line separators, BOMs and non-printing characters: YAML either
        # refuses them or gives them a meaning (indentation, line breaks) that this reader does not model.
        if not line.isprintable():
            return NOT_PLAIN
        body = line.lstrip(" ")
        if not body or body[0] == "#":
            continue
        if body[0] == "-" and open_key is not None:
            # A block sequence item, each at the indentation of the first.
            at = len(line) - len(body)
            if sequence is None:
                sequence, indent = [], at
                data[open_key] = sequence
            if at != indent or body[1:2] != " ":
                return NOT_PLAIN  # `-x`, an empty item, or a nested sequence
            item, end = _value(line, at + 1)
            if item is NOT_PLAIN or not _ends(line, end):
                return NOT_PLAIN
            sequence.append(item)
            continue
        if len(body) != len(line):
            return NOT_PLAIN  # indented: nested, or the next line of a multi-line scalar
        if line[0] in ("'", '"'):
            key, pos = _quoted(line, 0)
            pos = _skip_spaces(line, pos)
        else:
            pos = line.find(":")
            key = _plain(line[:pos].rstrip(" ")) if pos > 0 else NOT_PLAIN
        # A key ends at a colon followed by a space or the line's end (`a:b` is one scalar); PyYAML refuses
        # keys longer than 1024 characters.
        if line[pos : pos + 1] != ":" or line[pos + 1 : pos + 2] not in ("", " ") or pos > 1000:
            return NOT_PLAIN
        if not isinstance(key, str) or key in data:
            return NOT_PLAIN  # a key that is a boolean, number or null; a duplicate (PyYAML says which line)
        open_key = sequence = None
        pos += 1
        if _ends(line, pos):
            data[key] = None
            open_key = key
            continue
        start = _skip_spaces(line, pos)
        value, pos = _flow(line, start + 1) if line[start] == "[" else _value(line, start)
        if value is NOT_PLAIN or not _ends(line, pos):
            return NOT_PLAIN
        data[key] = value
    return data if data else NOT_PLAIN
