"""Standard streams that take any text: UTF-8 on pipes and files, never an encoding error on a console."""

from __future__ import annotations

import io
import os
import sys


def make_std_streams_safe() -> None:
    """Let stdout and stderr write any character, whatever the code page or the kind of handle.

    On Windows a piped or redirected stream uses the ANSI code page (cp1252 on a Western system): `–`
    comes out as byte 0x96 and a name like `Łódź` raises UnicodeEncodeError, which would end
    `prestart facts > facts.json` with an internal error. Pipes and files get UTF-8, the encoding of the
    JSON the agent prints. A console keeps its encoding (Windows consoles take Unicode already) and
    shows what it cannot encode as an escape instead of failing. PYTHONIOENCODING, when set, wins.
    """
    if os.environ.get("PYTHONIOENCODING"):
        return
    for stream in (sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):
            continue  # replaced by a caller (pytest's capture, an embedding program): theirs to configure
        try:
            console = stream.isatty()
        except ValueError:  # closed
            continue
        if console:
            stream.reconfigure(errors="backslashreplace")
        elif stream.encoding.replace("-", "").lower() != "utf8":
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
