"""`prestart check`: every problem at once, as FILE:LINE: path: message, with a hint; exit 13."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import yaml

from agent.profile import check_file, load_profile
from agent.profile.schema import profile_json_schema
from tests.conftest import SPEC, run_prestart

BAD = textwrap.dedent(
    """\
    version: 1
    title: Broken
    colour: blue
    rules:
      - when: Model like
        set:
          _SMSTSSecret: x
          "9Lives": y
      - lookup: {list: nosuchlist, match: {uuid: UUID}}
        set: {Name: "{item.nothing}"}
    preflight:
      - name: memory
        check: Memory >=
    pages:
      - id: p1
        fields:
          - {id: a, type: choice, list: missing_list, variable: A}
          - {id: a, type: text, variable: "Bad Name", validate: {regex: "(", min_length: 5, max_length: 2}}
          - {id: c, type: checkbox, variable: C, default: "yes"}
          - {id: d, type: text, variable: D, default: "{item.label}"}
          - {id: e, type: texty, variable: E}
          - {id: f, type: text, label: [1, 2], variable: F}
    """
)


def _problems(tmp_path: Path, text: str, catalog=None):  # type: ignore[no-untyped-def]
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return check_file(path, catalog)


def test_reference_profiles_are_clean(spec_catalog) -> None:  # type: ignore[no-untyped-def]
    for name in ("technician.yaml", "kiosk.yaml"):
        profile, problems, warnings = check_file(SPEC / name, spec_catalog)
        assert profile is not None
        assert problems == [] and warnings == []


def test_schema_problems_all_reported_with_lines(tmp_path: Path) -> None:
    _, problems, _ = _problems(tmp_path, BAD)
    text = "\n".join(map(str, problems))
    # unknown key with its line, a typo'd kind with the allowed list, a wrong type
    assert f"{tmp_path / 'profile.yaml'}:3: colour: unknown key 'colour'" in text
    assert ":21: pages[0].fields[4].type: 'texty' is not one of choice, multi, checkbox, text, password" in text
    assert "pages[0].fields[5].label: expected text, found a list" in text


def test_structural_problems_hide_no_meaning_problem(tmp_path: Path, spec_catalog) -> None:  # type: ignore[no-untyped-def]
    """One pass: BAD's unknown key, unknown kind and wrong type come with every meaning problem."""
    _, problems, _ = _problems(tmp_path, BAD, spec_catalog)
    text = "\n".join(map(str, problems))
    assert "colour: unknown key 'colour'" in text  # structural...
    assert "pages[0].fields[4].type: 'texty' is not one of" in text
    assert "pages[0].fields[5].label: expected text, found a list" in text
    assert "rules[0].when: expression does not parse" in text  # ...and meaning, in the same pass
    assert "rules[1].lookup.list: list 'nosuchlist' is missing from the catalog" in text
    assert "preflight[0].check: expression does not parse" in text
    assert "pages[0].fields[1].id: duplicate field id 'a'" in text
    assert "pages[0].fields[3].default: {item.label} names nothing" in text
    assert [p.line for p in problems] == sorted(p.line for p in problems)  # in file order


def test_a_wrong_part_reports_once(tmp_path: Path) -> None:
    """What stands in for a wrong part is not checked again: one problem each, not a cascade."""
    text = "version: 1\npages:\n  - id: p\n    fields: notalist\n  - title: no id\n    text: hello\n  - 7\n"
    _, problems, _ = _problems(tmp_path, text)
    assert [(p.path, p.line) for p in problems] == [
        ("pages[0].fields", 4),
        ("pages[1].id", 5),
        ("pages[2]", 7),
    ], problems


def test_check_cli_lists_structural_and_meaning_problems_together(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\ntitel: x\nrules:\n  - when: IsVM ==\n    set: {A: b}\n", encoding="utf-8")
    done = run_prestart("check", str(path))
    assert done.returncode == 13
    assert f"{path}:2: titel: unknown key 'titel' (hint: did you mean 'title'?)" in done.stderr
    assert f"{path}:4: rules[0].when: expression does not parse" in done.stderr
    assert "docs/expressions.md" in done.stderr


def test_meaning_problems_all_reported(tmp_path: Path, spec_catalog) -> None:  # type: ignore[no-untyped-def]
    fixed = BAD.replace("colour: blue\n", "").replace("type: texty", "type: text").replace("label: [1, 2], ", "")
    _, problems, _ = _problems(tmp_path, fixed, spec_catalog)
    text = "\n".join(map(str, problems))
    assert "rules[0].when: expression does not parse" in text
    assert "rules[0].set._SMSTSSecret: variable '_SMSTSSecret' starts with '_' and is read-only" in text
    assert "rules[0].set.9Lives: variable name '9Lives' must start with a letter" in text
    assert "rules[1].lookup.list: list 'nosuchlist' is missing from the catalog" in text
    assert "preflight[0].check: expression does not parse" in text
    assert "pages[0].fields[0].list: list 'missing_list' is missing from the catalog" in text
    assert "pages[0].fields[1].id: duplicate field id 'a'" in text
    assert "pages[0].fields[1].variable: variable name 'Bad Name'" in text
    assert "pages[0].fields[1].validate.regex: regular expression does not compile" in text
    assert "min_length 5 is more than max_length 2" in text
    assert "pages[0].fields[2].default: a checkbox default is true or false" in text
    assert "pages[0].fields[3].default: {item.label} names nothing" in text
    # every problem carries a line number and a hint
    assert all(p.line > 0 for p in problems)
    assert all(p.hint for p in problems if "does not parse" not in p.message)


def test_item_attribute_missing_from_catalog_list(tmp_path: Path, spec_catalog) -> None:  # type: ignore[no-untyped-def]
    text = (SPEC / "technician.yaml").read_text(encoding="utf-8").replace("{item.advertisement_id}", "{item.advert}")
    _, problems, _ = _problems(tmp_path, text, spec_catalog)
    assert len(problems) == 1
    assert "{item.advert} names nothing: no item of catalog list 'deployments' has 'advert'" in str(problems[0])


def test_unknown_variable_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    text = "version: 1\nrules:\n  - when: Modle == 'x'\n    set: {A: b}\n"
    _, problems, warnings = _problems(tmp_path, text)
    assert problems == []
    assert "Modle is not a fact and nothing in the profile sets it" in str(warnings[0])


def test_cli_check_exit_13_and_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    done = run_prestart("check", str(path))
    assert done.returncode == 13
    lines = [line for line in done.stderr.splitlines() if line.startswith(str(path))]
    assert len(lines) >= 3
    assert all("(hint:" in line for line in lines)


def test_cli_check_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\npages:\n  - id: x\n   fields: []\n", encoding="utf-8")
    done = run_prestart("check", str(path))
    assert done.returncode == 13
    assert f"{path}:4:" in done.stderr


def test_json_schema_accepts_references_and_rejects_typos() -> None:
    schema = profile_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("technician.yaml", "kiosk.yaml"):
        assert list(validator.iter_errors(yaml.safe_load((SPEC / name).read_text(encoding="utf-8")))) == []
    assert list(validator.iter_errors({"version": 1, "pgaes": []}))


def test_cli_schema_prints_the_same_schema() -> None:
    done = run_prestart("schema")
    assert done.returncode == 0
    assert json.loads(done.stdout) == profile_json_schema()


def test_load_profile_builds_the_model() -> None:
    profile = load_profile(SPEC / "kiosk.yaml")
    assert profile.is_kiosk and profile.initial_role == "kiosk"
    assert profile.kiosk.technician_unlock is not None
    assert profile.kiosk.technician_unlock.max_attempts == 5
    assert profile.on_cancel == "reboot"
    confirm = profile.pages[-1]
    assert confirm.countdown is not None and confirm.countdown.on_timeout == "cancel"


def test_schema_files_for_editors_are_current() -> None:
    from tests.conftest import REPO

    assert json.loads((REPO / "schemas" / "profile.schema.json").read_text(encoding="utf-8")) == profile_json_schema()
    done = run_prestart("schema", "catalog")
    assert done.returncode == 0 and json.loads(done.stdout)["title"]
    # docs/catalog.md names this copy for editors
    assert json.loads((REPO / "schemas" / "catalog.schema.json").read_text(encoding="utf-8")) == json.loads(done.stdout)


def test_an_invalid_catalog_hides_no_profile_problem(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"schema": 1,\n "serial": -1,\n "lists": {"deployments": [{"id": "a"},\n'
                       ' {"id": "A", "requires": "x =="}]}}\n', encoding="utf-8")
    profile = tmp_path / "p.yaml"
    profile.write_text("version: 1\nrules:\n  - when: IsVM ==\n    set: {A: b}\n", encoding="utf-8")
    done = run_prestart("check", str(profile), "--catalog", str(catalog))
    assert done.returncode == 13
    assert f"{catalog}:2: serial: must be at least 0" in done.stderr
    assert f"{catalog}:4: lists.deployments[1].id: duplicate id 'A'" in done.stderr
    assert f"{catalog}:4: lists.deployments[1].requires:" in done.stderr
    assert f"{profile}:3: rules[0].when: expression does not parse" in done.stderr
