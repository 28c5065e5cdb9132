"""Proof under qemu/OVMF Secure Boot: the outputs verify says boot, boot; those it says are refused, are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.standin import make_winpe_standin
from examples.workspace import make_workspace
from tests.agent.facts.varstores import make_varstore
from tests.media_builder.efi_lab import Lab, make_ca, signed_boot_files
from tests.media_builder.ovmf import boot

# What the verifier must say for each output and machine state (so this test cannot pass with everything refused).
EXPECTED = {
    "2023": {"a": False, "b": True, "c": True},
    "2011": {"a": True, "b": False, "c": False},
}
# The first-stage boot manager each output starts: the lab's apps print their own names.
MARKERS = {
    ("iso", "2023"): "cdboot-2023",
    ("usb", "2023"): "bootmgfw-2023",
    ("pxe", "2023"): "bootmgfw-2023",
    ("iso", "2011"): "cdboot-2011",
}


def _build(ws_root: Path, media_yaml: Path, out: Path, lab: Lab, secure_boot: str | None) -> dict[str, Any]:
    data = yaml.safe_load(media_yaml.read_text(encoding="utf-8"))
    if secure_boot is not None:
        data["secure_boot"] = secure_boot
    data["outputs"] = ["iso", "usb", "pxe"]
    media_yaml.write_text(yaml.safe_dump(data), encoding="utf-8")
    test_cas = [a for role, pem in lab.test_cas() for a in ("--test-ca", f"{role}={pem}")]
    build = [sys.executable, "-m", "media_builder", "build", str(media_yaml), "-o", str(out), "-q", *test_cas]
    result = subprocess.run(build, capture_output=True, text=True, cwd=ws_root, timeout=300)
    assert result.returncode == 0, result.stderr
    verify = [sys.executable, "-m", "media_builder", "verify", str(out), *test_cas]
    checked = subprocess.run(verify, capture_output=True, text=True, cwd=ws_root, timeout=300)
    assert checked.returncode == 0, checked.stderr
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return manifest


@pytest.fixture(scope="module")
def built(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The default build (CA 2023) and a `secure_boot: 2011` build of the stand-in with the lab's signed files."""
    root = tmp_path_factory.mktemp("qemu-ws")
    ws = make_workspace(root)
    shutil.rmtree(ws.standin.root)
    image, media = signed_boot_files(lab)
    make_winpe_standin(ws.standin.root, boot_files=image, media_files=media)
    found: dict[str, dict[str, Any]] = {}
    for generation, choice in (("2023", None), ("2011", "2011")):
        manifest = _build(root, ws.media_yaml, root / f"out-{generation}", lab, choice)
        for output in manifest["boot_images"][0]["outputs"]:
            found[f"{output['kind']}-{generation}"] = {**output, "folder": root / f"out-{generation}" / output["path"]}
    return found


@pytest.fixture(scope="module")
def varstores(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """(a) only the lab's PCA 2011 in db, (b) only its UEFI CA 2023, (c) both, with PCA 2011 revoked in dbx."""
    folder = tmp_path_factory.mktemp("qemu-vars")
    pk = make_ca(folder, "Lab Platform Key").pem
    return {
        "a": make_varstore(folder / "a.fd", pk=pk, db=[lab.ca2011.pem]),
        "b": make_varstore(folder / "b.fd", pk=pk, db=[lab.ca2023.pem]),
        "c": make_varstore(folder / "c.fd", pk=pk, db=[lab.ca2011.pem, lab.ca2023.pem], dbx_certs=[lab.ca2011.pem]),
    }


CASES = [
    ("iso", "2023", "a"),
    ("iso", "2023", "b"),
    ("iso", "2023", "c"),
    ("usb", "2023", "a"),
    ("usb", "2023", "b"),
    ("pxe", "2023", "a"),
    ("pxe", "2023", "c"),
    ("iso", "2011", "a"),
    ("iso", "2011", "b"),
    ("iso", "2011", "c"),
]


@pytest.mark.parametrize(("kind", "generation", "state"), CASES)
def test_ovmf_agrees_with_the_verifier(
    built: dict[str, dict[str, Any]],
    varstores: dict[str, Path],
    kind: str,
    generation: str,
    state: str,
    tmp_path: Path,
) -> None:
    output = built[f"{kind}-{generation}"]
    report = output["secure_boot"]
    assert report["media"] == generation and report["ca"] == generation
    says_boots = report["boots"][state]["boots"]
    assert says_boots is EXPECTED[generation][state], report["boots"][state]
    folder: Path = output["folder"]
    if kind == "iso":
        marker = boot(varstores[state], tmp_path, iso=next(folder.glob("*.iso")))
    elif kind == "pxe":
        marker = boot(varstores[state], tmp_path, pxe=folder)
    else:
        marker = boot(varstores[state], tmp_path, usb=folder)
    if says_boots:
        assert marker == MARKERS[(kind, generation)]
    else:
        assert marker == "", f"the firmware started {marker!r}, which the verifier said it would refuse"
