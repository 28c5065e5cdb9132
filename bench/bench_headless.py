"""Headless run at scale: 2,000 rules and 10,000 catalog applications vs the technician-laptop reference run."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

from bench.common import RUNS, SPEC, python, row, time_commands
from examples.workspace import reference_case, reference_run_args

# The ratio is the target, and this VM's speed drifts by up to 1.5x within minutes: 11-round medians of the
# same build gave 1.36x to 1.65x in one afternoon.
HEADLESS_RUNS = 21


def make_big_inputs(folder: Path, *, rules: int = 2000, apps: int = 10000) -> tuple[Path, Path]:
    """A profile with `rules` extra rules and a catalog with `apps` applications, built from the references."""
    profile = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    extra = []
    for i in range(rules):
        # A mix of the shapes real profiles use: model matches, fact comparisons, lookups.
        if i % 4 == 0:
            extra.append({"when": f'Model like "%Model{i}%"', "set": {f"XRule{i}": "{SerialNumber|right:4}"}})
        elif i % 4 == 1:
            extra.append({"when": f'Memory >= {i * 8} and IsLaptop == "True"', "set": {"XMemoryTier": str(i)}})
        elif i % 4 == 2:
            extra.append(
                {"lookup": {"list": "applications", "match": {"id": "XNoSuchVar"}}, "set": {"XFound": "{item.label}"}}
            )
        else:
            extra.append(
                {"when": f'Make in ["Vendor{i}", "Dell Inc."] or not exists XRule{i}', "set": {"XLast": f"rule{i}"}}
            )
    profile["rules"] = extra + profile["rules"]
    catalog = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    groups = ["Productivity", "Utilities", "Media", "Development", "Security"]
    catalog["lists"]["applications"] += [
        {"id": f"app{i}", "label": f"Application {i}", "value": f"App {i} 1.0", "group": groups[i % len(groups)]}
        for i in range(apps)
    ]
    profile_path = folder / "big.yaml"
    catalog_path = folder / "big-catalog.json"
    profile_path.write_text(yaml.safe_dump(profile, sort_keys=False, allow_unicode=True), encoding="utf-8")
    catalog_path.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    return profile_path, catalog_path


def run_argv(profile: Path, catalog: Path, out: Path, log_dir: Path) -> list[str]:
    """The technician-laptop reference run, with this profile and catalog."""
    case = reference_case(profile=profile, catalog=catalog)
    return [python(), "-m", "agent", *reference_run_args(case, out, log_dir)]


def main() -> list[str]:
    from agent.profile import compile_profile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big_profile, big_catalog = make_big_inputs(folder)
        compiled = folder / "big.json"
        compiled.write_text(compile_profile(big_profile), encoding="utf-8")
        ref = run_argv(SPEC / "technician.yaml", SPEC / "catalog.json", folder / "ref.json", folder / "log")
        big_yaml = run_argv(big_profile, big_catalog, folder / "out1.json", folder / "log")
        big_json = run_argv(compiled, big_catalog, folder / "out2.json", folder / "log")
        # Keep bytecode (this machine sets PYTHONDONTWRITEBYTECODE): a frozen agent never compiles at start.
        env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "prestart-pyc")}
        # Interleaved, and more runs than elsewhere (HEADLESS_RUNS).
        t_ref, t_json, t_yaml = time_commands([ref, big_json, big_yaml], env=env, runs=max(RUNS, HEADLESS_RUNS))
    return [
        row(
            "headless: technician-laptop reference run",
            f"{t_ref * 1000:.0f} ms",
            "1.00x",
            "`python -m agent run --profile technician.yaml ... --unattended`",
        ),
        row(
            "headless: 2,000 rules + 10,000 applications, compiled profile (as on media)",
            f"{t_json * 1000:.0f} ms",
            f"{t_json / t_ref:.2f}x (target ≤ 1.5x)",
            "`prestart compile big.yaml` first; interleaved with the reference run, "
            f"median of {max(RUNS, HEADLESS_RUNS)}",
        ),
        row(
            "headless: 2,000 rules + 10,000 applications, YAML profile",
            f"{t_yaml * 1000:.0f} ms",
            f"{t_yaml / t_ref:.2f}x",
            "YAML parsing alone is ~100 ms of it",
        ),
    ]


if __name__ == "__main__":
    for line in main():
        print(line)
    sys.exit(0)
