"""The redacted JSON receipt of a run: who, what machine, which catalog, what was chosen and set, and why."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent import __version__, files

MASK = "********"
IDENTITY = ("Make", "Model", "SerialNumber", "UUID", "AssetTag", "MacAddress001", "HostName")


@dataclass
class Receipt:
    """Filled in as the run goes; written once at the end, whatever the outcome."""

    profile: str = ""
    mode: str = ""
    role: str = ""
    user: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    catalog: dict[str, Any] = field(default_factory=dict)
    rules_fired: list[str] = field(default_factory=list)
    preflight: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, str]] = field(default_factory=dict)
    plan: list[dict[str, str]] = field(default_factory=list)
    exit_code: int | None = None
    result: str = ""
    message: str = ""
    secrets: set[str] = field(default_factory=set)
    secret_fields: set[str] = field(default_factory=set)

    def mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
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
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
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
        }

    def write(self, path: Path) -> None:
        files.write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")


def _mask_any(value: Any, mask: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_mask_any(v, mask) for v in value]
    return value
