"""The redacted JSON receipt of a run: who, what machine, which catalog, what was chosen and set, and why."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent import __version__, files
from agent.secretprint import SecretPrint

MASK = "********"
IDENTITY = ("Make", "Model", "SerialNumber", "UUID", "AssetTag", "MacAddress001", "HostName")


class Receipt:
    """Filled in as the run goes; written once at the end, whatever the outcome.

    Runtime state (it changes as the run goes), so a plain class beside the frozen records.
    """

    def __init__(self) -> None:
        self.profile = ""
        self.mode = ""
        self.role = ""
        self.user = ""
        self.facts: dict[str, str] = {}
        self.catalog: dict[str, Any] = {}
        self.rules_fired: list[str] = []
        self.preflight: list[dict[str, Any]] = []
        self.choices: dict[str, Any] = {}
        self.variables: dict[str, dict[str, str]] = {}
        self.plan: list[dict[str, str]] = []
        self.exit_code: int | None = None
        self.result = ""
        self.message = ""
        self.secrets: set[str | SecretPrint] = set()
        self.secret_fields: set[str] = set()
        self.directory: dict[str, str] = {}  # field id -> what the computer name check found

    def mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if isinstance(secret, SecretPrint):
                text = secret.redact(text, MASK)
            elif secret:
                text = text.replace(secret, MASK)
        return text

    def set_variables(self, values: Mapping[str, str], sources: Mapping[str, str], secret_names: Iterable[str]) -> None:
        hidden = {n.casefold() for n in secret_names}
        self.variables = {
            name: {
                "value": MASK if name.casefold() in hidden else self.mask(value),
                "source": sources.get(name, ""),
            }
            for name, value in values.items()
        }

    def to_dict(self) -> dict[str, Any]:
        choices = {k: (MASK if k in self.secret_fields else _mask_any(v, self.mask)) for k, v in self.choices.items()}
        return {
            "receipt": 1,
            "agent": f"prestart {__version__}",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "result": self.result,
            "exit_code": self.exit_code,
            "message": self.mask(self.message),
            "profile": self.profile,
            "mode": self.mode,
            "role": self.role,
            "user": self.user,
            "machine": {k: self.facts[k] for k in IDENTITY if self.facts.get(k)},
            "facts": {k: self.mask(v) for k, v in self.facts.items()},
            "catalog": self.catalog,
            "rules_fired": self.rules_fired,
            "preflight": self.preflight,
            "choices": choices,
            "variables": self.variables,
            "plan": self.plan,
            "directory": {k: self.mask(v) for k, v in self.directory.items()},
        }

    def render(self) -> bytes:
        """The receipt file's bytes. Never fails on odd values: anything JSON lacks is written as its text,
        and a lone surrogate as a backslash escape, so a run never loses its receipt to a strange input."""
        import json  # here, not at the top: `run` and `preview` create the receipt before Tk starts

        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
        return text.encode("utf-8", "backslashreplace")

    def write(self, path: Path) -> None:
        files.write_bytes(path, self.render())


def _mask_any(value: Any, mask: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_mask_any(v, mask) for v in value]
    return value
