"""The media definition: the reference file is accepted, and every problem is reported with file, line and path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from agent.errors import ValidationFailed
from media_builder.definition import load_definition
from tests.media_builder.conftest import MediaWorkspace

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "media.schema.json"


def test_spec_media_yaml_validates_against_the_json_schema(spec_dir: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.safe_load((spec_dir / "media.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_the_schema_file_for_editors_is_the_one_the_builder_checks_with() -> None:
    from media_builder.schema import media_json_schema

    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == media_json_schema()


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    bad = {"version": 2, "name": "x", "profile": "p", "catalog": {}, "agent": {}, "boot_images": [], "outputs": ["dvd"]}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert len(errors) >= 4


def test_reference_definition_loads_with_absolute_paths(workspace: MediaWorkspace) -> None:
    d = load_definition(workspace.media_yaml)
    assert d.name == "contoso-lab"
    assert [i.name for i in d.boot_images] == ["winpe-x64"]
    image = d.boot_images[0]
    assert image.wim == workspace.standin.wim.resolve()
    assert image.hook == "configmgr" and image.arch == "amd64" and image.index == 1
    assert d.agent.binaries["amd64"] == workspace.agent.resolve()
    assert d.outputs == ("wim", "iso", "usb", "pxe", "configmgr-prestart")
    assert d.catalog.public_key.name == "catalog.pub"


def test_every_problem_is_reported_with_file_line_and_path(workspace: MediaWorkspace) -> None:
    workspace.media_yaml.write_text(
        """version: 1
name: contoso lab
profile: technician.yaml
colour: blue
catalog:
  sources:
    - file: catalog.json
  signing_key: keys/catalog.key
agent:
  amd64: dist/amd64/missing.exe
boot_images:
  - name: winpe-x64
    arch: sparc
    wim: winpe/amd64/media/sources/boot.wim
    hook: sccm
    index: 0
  - name: winpe-x64
    arch: amd64
    wim: nowhere.wim
    hook: winpe
outputs: [wim, dvd, iso]
""",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    text = [str(p) for p in caught.value.problems]
    file = str(workspace.media_yaml.resolve())
    expect = {
        "name": 2,
        "colour": 4,
        "agent.amd64": 10,
        "boot_images[0].arch": 13,
        "boot_images[0].hook": 15,
        "boot_images[0].index": 16,
        "boot_images[1].name": 17,
        "boot_images[1].wim": 19,
        "outputs[1]": 21,
        "boot_images[1].media": 17,  # iso needs a media folder; the image itself has the line
    }
    for path, line in expect.items():
        assert any(t.startswith(f"{file}:{line}: {path}: ") for t in text), (path, text)
    assert all("(hint: " in t for t in text if "unknown" in t)


def test_signing_key_readable_by_others_is_refused(workspace: MediaWorkspace) -> None:
    workspace.key.chmod(0o644)
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    assert any("chmod 600" in str(p) and p.path == "catalog.signing_key" for p in caught.value.problems)


def test_profile_problems_come_through_with_the_profile_file(workspace: MediaWorkspace) -> None:
    (workspace.root / "technician.yaml").write_text("version: 1\ntitle: x\npages: 7\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    assert any("technician.yaml" in p.file for p in caught.value.problems)


def test_yaml_syntax_error_names_the_line(workspace: MediaWorkspace) -> None:
    from agent.errors import InputError

    workspace.media_yaml.write_text("version: 1\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_definition(workspace.media_yaml)
    assert "media.yaml:" in str(caught.value)


def test_check_names_the_catalogs_and_the_profiles_problems_too(workspace: MediaWorkspace) -> None:
    """One `prestart-media check`: the definition's, the catalog file's (with lines) and the profile's
    problems, the profile checked against the catalog the file sources make."""
    catalog = workspace.root / "catalog.json"
    data = json.loads(catalog.read_text(encoding="utf-8"))
    data["lists"]["deployments"][1]["id"] = data["lists"]["deployments"][0]["id"].upper()
    catalog.write_text(json.dumps(data, indent=2), encoding="utf-8")
    profile = workspace.root / "technician.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("list: applications", "list: apps"),
                       encoding="utf-8")
    workspace.media_yaml.write_text(workspace.media_yaml.read_text(encoding="utf-8") + "colour: blue\n",
                                    encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert f"{catalog.resolve()}:21: lists.deployments[1].id: duplicate id 'WIN11-LAB'" in text
    assert f"{workspace.media_yaml.resolve()}:31: colour: unknown key" in text
    assert "technician.yaml" not in text  # an invalid catalog cannot say which lists exist

    data["lists"]["deployments"][1]["id"] = "win11-core"
    catalog.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "technician.yaml:84: pages[1].fields[2].list: list 'apps' is missing from the catalog" in text
    assert "colour: unknown key" in text


def test_a_wrong_type_hides_no_missing_file_or_duplicate(workspace: MediaWorkspace) -> None:
    workspace.media_yaml.write_text(
        """version: 1
name: contoso-lab
profile: nosuch.yaml
catalog:
  sources: [{file: catalog.json}]
  signing_key: keys/catalog.key
agent:
  amd64: dist/amd64/prestart.exe
boot_images:
  - {name: WINPE-X64, arch: amd64, wim: nowhere.wim, hook: winpe}
  - name: winpe-x64
    arch: amd64
    wim: winpe/amd64/media/sources/boot.wim
    index: first
    colour: red
    hook: winpe
outputs: wim
""",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        load_definition(workspace.media_yaml)
    found = {(p.path, p.message) for p in caught.value.problems}
    paths = {path for path, _ in found}
    assert {"outputs", "boot_images[1].index", "boot_images[1].colour"} <= paths  # structure...
    assert {"profile", "boot_images[0].wim"} <= paths  # ...and meaning, in the same pass
    assert ("boot_images[1].name", "duplicate boot image name 'winpe-x64'") in found
