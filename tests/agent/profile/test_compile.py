"""`prestart compile`: stamped JSON for media; the agent trusts the stamp only while it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import agent.profile as profile_module
from agent.catalog.model import catalog_from_dict
from agent.profile import check_file, compile_profile, load_profile, stamp_holds
from examples.workspace import reference_case, reference_run_args
from tests.conftest import SPEC, run_prestart


@pytest.mark.parametrize("name", ["technician.yaml", "kiosk.yaml"])
def test_compiled_profile_is_the_same_profile(tmp_path: Path, name: str, spec_catalog) -> None:  # type: ignore[no-untyped-def]
    compiled = tmp_path / "profile.json"
    compiled.write_text(compile_profile(SPEC / name, spec_catalog), encoding="utf-8")
    data = json.loads(compiled.read_text(encoding="utf-8"))
    stamp = data.pop("compiled")
    assert stamp["by"] == profile_module.COMPILED_BY
    assert data == yaml.safe_load((SPEC / name).read_text(encoding="utf-8"))
    assert stamp_holds(compiled.read_text(encoding="utf-8"))
    from_json = load_profile(compiled, spec_catalog)
    from_yaml = load_profile(SPEC / name, spec_catalog)
    assert from_json.rules == from_yaml.rules and from_json.pages == from_yaml.pages
    # Compiling the compiled file again gives the same bytes: the stamp is replaced, not nested.
    assert compile_profile(compiled, spec_catalog) == compiled.read_text(encoding="utf-8")


def test_hand_edited_compiled_profile_is_checked_in_full(tmp_path: Path) -> None:
    compiled = tmp_path / "profile.json"
    compiled.write_text(compile_profile(SPEC / "technician.yaml"), encoding="utf-8")
    # Someone "fixes" media by hand, adding a rule that does nothing (a meaning check, not the schema's).
    text = compiled.read_text(encoding="utf-8")
    text = text.replace('"rules":[', '"rules":[{"when":"Model like \\"%x%\\""},', 1)
    compiled.write_text(text, encoding="utf-8")
    assert not stamp_holds(text)
    _, problems, _ = check_file(compiled)
    shown = [str(p) for p in problems]
    assert any("rules[0]: the rule does nothing" in s for s in shown), shown
    assert all(f"{compiled}:1:" in s for s in shown)  # located: the JSON is read again as YAML


def test_profile_compiled_by_another_agent_version_is_checked_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = tmp_path / "profile.json"
    compiled.write_text(compile_profile(SPEC / "technician.yaml"), encoding="utf-8")
    assert stamp_holds(compiled.read_text(encoding="utf-8"))
    monkeypatch.setattr(profile_module, "COMPILED_BY", "prestart 99.0")
    assert not stamp_holds(compiled.read_text(encoding="utf-8"))
    profile, problems, _ = check_file(compiled)
    assert profile is not None and not problems  # still a valid profile, just not trusted blindly


def test_compiled_profile_is_still_checked_against_the_boot_catalog(tmp_path: Path, spec_catalog) -> None:  # type: ignore[no-untyped-def]
    compiled = tmp_path / "profile.json"
    compiled.write_text(compile_profile(SPEC / "technician.yaml", spec_catalog), encoding="utf-8")
    # The catalog at boot (a live refresh, a newer snapshot) lost a list the profile uses.
    raw = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    del raw["lists"]["applications"]
    _, problems, _ = check_file(compiled, catalog_from_dict(raw))
    assert any("list 'applications' is missing from the catalog" in str(p) for p in problems), problems


def test_cli_compile_writes_a_stamped_profile_the_agent_runs(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    done = run_prestart("compile", str(SPEC / "technician.yaml"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert stamp_holds(out.read_text(encoding="utf-8"))
    sink = tmp_path / "vars.json"
    case = reference_case(profile=out)
    done = run_prestart(*reference_run_args(case, sink, tmp_path / "log"))
    assert done.returncode == 0, done.stderr
    got = json.loads(sink.read_text(encoding="utf-8"))
    expected = case["variables"]
    assert isinstance(expected, dict)
    assert {name: got.get(name) for name in expected} == expected


def _conditions(data: dict[str, Any]) -> set[str]:
    """Every condition a profile holds, wherever the format allows one."""
    found = {rule["when"] for rule in data.get("rules", []) if rule.get("when")}
    found |= {check["check"] for check in data.get("preflight", []) if check.get("check")}
    for page in data.get("pages", []):
        found |= {page["when"]} if page.get("when") else set()
        for fld in page.get("fields", []):
            found |= {fld["when"]} if fld.get("when") else set()
            found |= {c["requires"] for c in fld.get("choices", []) if isinstance(c, dict) and c.get("requires")}
    return found


@pytest.mark.parametrize("name", ["technician.yaml", "kiosk.yaml"])
def test_compiled_profile_carries_every_condition_parsed(name: str) -> None:
    from agent.expr import parse, tree_from_data

    text = compile_profile(SPEC / name)
    trees = json.loads(text)["compiled"]["trees"]
    source = yaml.safe_load((SPEC / name).read_text(encoding="utf-8"))
    assert set(trees) == _conditions(source) and trees
    assert all(tree_from_data(data) == parse(condition) for condition, data in trees.items())


def test_a_compiled_profile_loads_and_runs_without_parsing_a_condition(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec_catalog
) -> None:
    import agent.expr as expr
    from agent.facts import load_facts_file
    from agent.flow import Flow

    compiled = tmp_path / "profile.json"
    compiled.write_text(compile_profile(SPEC / "technician.yaml"), encoding="utf-8")
    monkeypatch.setattr(expr, "_PARSED", {})
    monkeypatch.setattr(expr, "_Parser", None)  # parsing anything now fails
    profile = load_profile(compiled, spec_catalog)
    flow = Flow(profile, spec_catalog, load_facts_file(SPEC / "facts" / "laptop.json"), {})
    assert flow.fired  # the rules ran on the compiled trees


def test_trees_that_are_not_trees_mean_a_full_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stamp that holds over trees this agent cannot read (a writer with the same version string but
    another format): the trees are ignored and the profile is checked and parsed in full."""
    import hashlib

    import agent.expr as expr

    text = compile_profile(SPEC / "technician.yaml")
    data = json.loads(text)
    condition = next(iter(data["compiled"]["trees"]))
    data["compiled"]["trees"][condition] = ["c", "~", "x", "y"]
    head = f'{{"compiled":{{"by":{json.dumps(data["compiled"]["by"])},"sha256":"'
    rest = json.dumps({k: v for k, v in data.items() if k != "compiled"}, ensure_ascii=False, separators=(",", ":"))
    signed = f'"trees":{json.dumps(data["compiled"]["trees"], ensure_ascii=False, separators=(",", ":"))}}},{rest[1:]}'
    forged = f"{head}{hashlib.sha256(signed.encode()).hexdigest()}\",{signed}\n"
    assert stamp_holds(forged)
    path = tmp_path / "profile.json"
    path.write_text(forged, encoding="utf-8")
    monkeypatch.setattr(expr, "_PARSED", {})
    profile, problems, _ = check_file(path)
    assert profile is not None and not problems
    assert expr.parse(condition) == expr._Parser(condition, expr._tokenize_careful(condition)).parse()
