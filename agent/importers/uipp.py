"""UI++ configurations (UI++.xml) as Prestart pages, rules and preflight checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.importers import Imported


class UippImporter:
    name = "uipp"
    summary = "UI++ configuration (UI++.xml)"
    usage = "UI++.xml"

    def convert(self, paths: Sequence[Path]) -> Imported:
        raise NotImplementedError
