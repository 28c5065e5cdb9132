"""Size limits on the files the agent reads from outside, checked before a byte is read (docs/security.md)."""

from __future__ import annotations

import os

from agent.errors import InputError

MiB = 1024 * 1024
PROFILE_BYTES = 16 * MiB  # profiles, answers files and media definitions (YAML or JSON); real ones are < 1 MiB
FACTS_BYTES = 1 * MiB  # a --facts file: a few dozen names
CATALOG_BYTES = 64 * MiB  # a signed catalog file; 10,000 items are about 5 MiB
VARIABLES_DAT_BYTES = 16 * MiB  # MDT's VARIABLES.DAT


def read_bytes(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The file's bytes, refused with InputError (exit 13) when it is larger than `limit`; OSError passes."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise InputError(
                f"{os.fspath(path)}: {size:,} bytes is too large for {what} (at most {limit // MiB} MiB)",
                "check that this is the right file",
            )
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while we read, or a device with no size
        raise InputError(f"{os.fspath(path)}: more than {limit // MiB} MiB; too large for {what}",
                         "check that this is the right file")
    return data
