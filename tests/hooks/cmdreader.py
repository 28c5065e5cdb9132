"""A small reader of our .cmd files that applies cmd.exe's batch-file rules, to check what a CALL would set."""

from __future__ import annotations


def _percent_phase(line: str) -> str:
    # Phase 1 of cmd's parser, in a batch file: `%%` is one `%`; anything else with `%` would expand.
    out, i = [], 0
    while i < len(line):
        if line[i] == "%":
            if line[i + 1 : i + 2] != "%":
                raise AssertionError(f"lone % would be expanded by cmd: {line!r}")
            out.append("%")
            i += 2
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def _quote_phase(line: str) -> str:
    # Phase 2: `"` toggles quoting; outside quotes `^` escapes the next character and & | < > are operators.
    out, quoted, i = [], False, 0
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
            out.append(c)
        elif not quoted and c == "^":
            if i + 1 == len(line):
                raise AssertionError(f"caret at the end continues the line: {line!r}")
            i += 1
            out.append(line[i])
        elif not quoted and c in "&|<>":
            raise AssertionError(f"unescaped {c!r} outside quotes would be an operator: {line!r}")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def read_cmd(data: bytes) -> dict[str, str]:
    """The variables a CALL of this file sets (delayed expansion off), in order."""
    text = data.decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "bare LF or CR in a .cmd file"
    env: dict[str, str] = {}
    for raw in text.split("\r\n"):
        if not raw or raw == "@echo off" or raw.startswith("rem ") or raw == "chcp 65001 >nul 2>&1":
            continue
        line = _quote_phase(_percent_phase(raw))
        assert line.startswith('set "'), f"unexpected line {raw!r}"
        arg = line[len("set ") :]
        # `set "name=value"`: the text between the first and the last quote.
        body = arg[1 : arg.rindex('"')]
        name, _, value = body.partition("=")
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env
