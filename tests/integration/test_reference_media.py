"""`prestart-media build media.yaml` builds every output the bundled example's media definition lists, and
the external contract's (../shared/spec, where it is beside the repo), once stand-ins exist."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agent import files
from examples.workspace import make_workspace
from media_builder.cli import main
from tests.conftest import CONTRACT, EXAMPLE

ROOTS = [EXAMPLE] + ([CONTRACT] if (CONTRACT / "media.yaml").is_file() else [])


@pytest.mark.parametrize("root", ROOTS, ids=["example", "contract"][: len(ROOTS)])
def test_builds_and_verifies_every_listed_output(root: Path, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", root)
    out = tmp_path / "out"
    assert main(["build", str(workspace.media_yaml), "-o", str(out), "-q"]) == 0
    assert main(["verify", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    import yaml

    listed = yaml.safe_load(workspace.media_yaml.read_text(encoding="utf-8"))["outputs"]
    for image in manifest["boot_images"]:
        assert sorted(Path(o["path"]).name for o in image["outputs"]) == sorted(listed)
    # Outputs get the permissions the umask gives (0644 and 0755 under 022), not 0600/0700 temp modes.
    for path in [out, *out.rglob("*")]:
        want = files.new_dir_mode() if path.is_dir() else files.new_file_mode()
        assert stat.S_IMODE(path.stat().st_mode) == want, path


def test_a_second_workspace_in_the_same_folder_starts_afresh(tmp_path: Path) -> None:
    first = make_workspace(tmp_path / "ws")
    second = make_workspace(tmp_path / "ws")  # what a second `./dev demo` does
    assert second.key == first.key and second.standin.wim.is_file()
