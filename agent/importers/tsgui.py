"""TsGui configurations (Config.xml) as Prestart pages, rules and preflight checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.importers import Imported


class TsGuiImporter:
    name = "tsgui"
    summary = "TsGui configuration (Config.xml)"
    usage = "Config.xml"

    def convert(self, paths: Sequence[Path]) -> Imported:
        raise NotImplementedError
