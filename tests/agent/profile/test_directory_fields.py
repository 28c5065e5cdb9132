"""Profile checks for the directory fields (`type: ou`, `directory_check`), and the worked example in
docs/profiles.md, which must stay a profile `prestart check` accepts."""

from __future__ import annotations

import re
from pathlib import Path

from agent.profile import check_file, load_profile
from tests.conftest import REPO

LOGIN = """\
  - id: signin
    type: login
    ldap: {server: "ldaps://dc.corp.example", base_dn: "DC=corp,DC=example"}
"""


def _problems(tmp_path: Path, pages: str, *, login: bool = True) -> tuple[str, str]:
    path = tmp_path / "profile.yaml"
    path.write_text("version: 1\npages:\n" + (LOGIN if login else "") + pages, encoding="utf-8")
    _, problems, warnings = check_file(path, None)
    return "\n".join(map(str, problems)), "\n".join(map(str, warnings))


def test_the_worked_example_in_the_docs_is_a_clean_profile(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "profiles.md").read_text(encoding="utf-8")
    section = doc.split("## Directory: sign in, check the computer name, pick the OU", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    path = tmp_path / "example.yaml"
    path.write_text(example.group(1), encoding="utf-8")
    _, problems, _ = check_file(path, None)
    assert problems == []
    profile = load_profile(path)
    name, ou = profile.pages[1].fields
    assert name.directory_check is not None and name.directory_check.exists == "warn"
    assert name.directory_check.unavailable == "block"
    assert ou.ou is not None and ou.ou.view == "tree" and len(ou.ou.allow) == 2 and ou.variable == "MachineObjectOU"


def test_an_ou_field_needs_a_source_and_a_variable(tmp_path: Path) -> None:
    problems, _ = _problems(tmp_path, "  - id: p\n    fields:\n      - {id: ou, type: ou}\n")
    assert "an ou field needs `ou: {base_dn: ...}` (from the directory), `list` or `choices`" in problems
    assert "an ou field writes the chosen DN to `variable`" in problems


def test_directory_settings_on_the_wrong_field_or_without_a_login_page(tmp_path: Path) -> None:
    pages = """\
  - id: p
    fields:
      - {id: flag, type: checkbox, variable: Flag, directory_check: true}
      - {id: x, type: text, variable: X, ou: {base_dn: "OU=A,DC=corp"}}
      - {id: ou, type: ou, variable: MachineObjectOU, ou: {base_dn: "OU=A,DC=corp", filter: "ou=A"},
         choices: [{value: "OU=A,DC=corp"}]}
"""
    problems, _ = _problems(tmp_path, pages)
    assert "fields[0].directory_check: the computer name check applies to text fields" in problems
    assert "fields[1].ou: `ou` belongs to fields of `type: ou`" in problems
    assert "give `ou` (from the directory) or `list`/`choices` (a static list), not both" in problems
    assert "fields[2].ou.filter: an LDAP filter is written in parentheses" in problems
    lonely = "  - id: p\n    fields:\n      - {id: ou, type: ou, variable: V, ou: {base_dn: \"OU=A,DC=corp\"}}\n"
    problems, _ = _problems(tmp_path, lonely, login=False)
    assert "reads the directory, but no earlier login page signs in with `ldap:`" in problems


def test_a_static_ou_list_needs_no_directory(tmp_path: Path) -> None:
    pages = """\
  - id: p
    fields:
      - id: ou
        type: ou
        view: tree
        variable: OSDDomainOUName
        choices: [{value: "OU=Lab,DC=corp,DC=example", label: Lab}]
"""
    problems, warnings = _problems(tmp_path, pages, login=False)
    assert problems == "" and "directory" not in warnings
