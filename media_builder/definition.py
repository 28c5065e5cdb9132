"""The media definition (media.yaml): load with line numbers, validate every field, resolve paths."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import InputError, Problem, ValidationFailed
from agent.yamlio import Located, load_file

ARCHES = ("amd64", "x86", "arm64")
HOOKS = ("configmgr", "mdt", "winpe")
OUTPUT_KINDS = ("wim", "iso", "usb", "pxe", "configmgr-prestart")
# Outputs that copy the ADK media folder (bootmgr, boot/, efi/) need one.
NEEDS_MEDIA = frozenset({"iso", "usb", "pxe"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # used in folder and file names
_PACKAGE_ID = re.compile(r"^[A-Z0-9]{8}$")  # ConfigMgr package IDs: site code + 5 hex digits
_LABEL = re.compile(r"^[A-Z0-9_]{1,32}$")  # ISO 9660 d-characters; the volume id holds 32
_TOP = {"version", "name", "profile", "catalog", "agent", "ca_bundle", "boot_images", "outputs"}
_CATALOG = {"sources", "signing_key", "allow_secrets"}
_AGENT_FLAGS = {"freeze", "onefile"}
_IMAGE = {"name", "arch", "wim", "index", "hook", "media", "label", "package_id", "etfsboot", "efisys"}


@dataclass(frozen=True)
class CatalogDef:
    """Where the catalog comes from (raw source entries, parsed by catalog_build) and the key that signs it."""

    sources: tuple[Any, ...]
    signing_key: Path
    # Folded catalog attribute or hidden task sequence variable name -> why it may go on media anyway.
    allow_secrets: Mapping[str, str] = field(default_factory=dict)

    @property
    def public_key(self) -> Path:
        """The public half, written by `prestart-media keygen` beside the private key."""
        return self.signing_key.with_name("catalog.pub")


@dataclass(frozen=True)
class AgentDef:
    """The agent binary per architecture: prebuilt paths, or frozen for this host."""

    binaries: Mapping[str, Path] = field(default_factory=dict)
    freeze: bool = False
    onefile: bool = False


@dataclass(frozen=True)
class BootImage:
    """One boot image the team maintains, and where its ADK media folder lives."""

    name: str
    arch: str
    wim: Path
    index: int
    hook: str
    media: Path | None = None
    label: str = ""
    package_id: str = "PRST0001"
    etfsboot: Path | None = None
    efisys: Path | None = None

    @property
    def volume_label(self) -> str:
        """The ISO volume label: given, or the name folded to ISO 9660 d-characters."""
        if self.label:
            return self.label
        return re.sub(r"[^A-Z0-9_]", "_", self.name.upper())[:32]


@dataclass(frozen=True)
class MediaDefinition:
    """A whole media definition, every path absolute."""

    file: Path
    version: int
    name: str
    profile: Path
    catalog: CatalogDef
    agent: AgentDef
    boot_images: tuple[BootImage, ...]
    outputs: tuple[str, ...]
    ca_bundle: Path | None = None
    # Names of environment variables that hold credentials (`*_env` keys): the secret scan looks for their values.
    secret_env: tuple[str, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def outputs_for(self, image: BootImage) -> tuple[str, ...]:
        """The outputs that apply to `image`: the ConfigMgr prestart folder only for ConfigMgr images."""
        return tuple(o for o in self.outputs if o != "configmgr-prestart" or image.hook == "configmgr")

    def input_files(self) -> list[Path]:
        """Every local file the build reads, for the manifest and the default epoch."""
        files = [self.file, self.profile, self.catalog.public_key]
        files += [p for p in self.agent.binaries.values()]
        files += [img.wim for img in self.boot_images]
        for src in self.catalog.sources:
            if isinstance(src, Mapping) and isinstance(src.get("file"), str):
                files.append(self.base_dir / src["file"])
        if self.ca_bundle:
            files.append(self.ca_bundle)
        return files


class _Collector:
    """Collects problems, finding the line of each path (or its nearest parent) in the YAML."""

    def __init__(self, file: Path, doc: Located) -> None:
        self.file = file
        self.doc = doc
        self.problems: list[Problem] = []

    def line_of(self, path: str) -> int:
        return self.doc.line(path)

    def add(self, path: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(path, message, file=str(self.file), line=self.line_of(path), hint=hint))

    def adopt(self, problem: Problem) -> None:
        """Take a problem found by someone else's validator; fill in where it is when it does not say."""
        if not problem.file:
            problem.file = str(self.file)
        if not problem.line and problem.file == str(self.file):
            problem.line = self.line_of(problem.path)
        self.problems.append(problem)


def _env_names(data: Any) -> list[str]:
    """Values of every `*_env` key anywhere in the definition (names of credential variables)."""
    found: list[str] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                found.append(value)
            else:
                found += _env_names(value)
    elif isinstance(data, list):
        for item in data:
            found += _env_names(item)
    return found


def load_definition(path: str | os.PathLike[str], *, check_profile: bool = True) -> MediaDefinition:
    """Load and validate a media definition; raise ValidationFailed listing every problem."""
    file = Path(path).resolve()
    if not file.is_file():
        raise InputError(
            f"{file}: media definition not found", "check the path, or start from ../shared/spec/media.yaml"
        )
    doc = load_file(file, fast=False)  # every problem names its line; the builder is not on the boot path
    data = doc.data
    out = _Collector(file, doc)
    if not isinstance(data, Mapping):
        out.add("", "a media definition must be a mapping", "start from ../shared/spec/media.yaml")
        raise ValidationFailed(out.problems, f"media definition {file}")
    base = file.parent

    for key in data:
        if key not in _TOP:
            out.add(str(key), "unknown key", f"known keys: {', '.join(sorted(_TOP))}")

    version = data.get("version")
    if version != 1:
        out.add("version", f"version {version!r} is not supported", "set `version: 1`")

    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        out.add("name", "name must be 1-64 letters, digits, '.', '_' or '-'", "e.g. `name: contoso-lab`")
        name = "media"

    def local(key_path: str, raw: Any, *, required: bool, is_dir: bool = False, hint: str = "") -> Path | None:
        if raw is None:
            if required:
                out.add(key_path, "required", hint)
            return None
        if not isinstance(raw, str) or not raw:
            out.add(key_path, "must be a path (relative to the media definition)", hint)
            return None
        resolved = (base / raw).resolve()
        if is_dir and not resolved.is_dir():
            out.add(key_path, f"folder not found: {resolved}", hint or "check the path; it is relative to this file")
        elif not is_dir and not resolved.is_file():
            out.add(key_path, f"file not found: {resolved}", hint or "check the path; it is relative to this file")
        return resolved

    profile = local("profile", data.get("profile"), required=True, hint="name the agent profile, e.g. technician.yaml")
    if profile is not None and profile.is_file() and check_profile:
        from agent.errors import ValidationFailed as ProfileInvalid
        from agent.profile import load_profile

        try:
            load_profile(profile)
        except ProfileInvalid as exc:
            for problem in exc.problems:
                out.adopt(problem)

    catalog = _catalog(data.get("catalog"), out, base, local)
    agent = _agent(data.get("agent"), out, local)
    ca_bundle = local("ca_bundle", data.get("ca_bundle"), required=False)
    images = _images(data.get("boot_images"), out, local)
    outputs = _outputs(data.get("outputs"), out)

    for index, image in enumerate(images):
        where = f"boot_images[{index}]"
        if image.arch not in agent.binaries and not agent.freeze:
            out.add(
                f"{where}.arch",
                f"no agent binary for {image.arch}",
                f"add `agent.{image.arch}: PATH`, or `agent.freeze: true` to freeze it on this host",
            )
        binary = agent.binaries.get(image.arch)
        if binary is not None and binary.is_file():
            from media_builder.pe import check_arch

            try:
                check_arch(binary, image.arch, image=image.name)
            except InputError as exc:
                out.add(f"agent.{image.arch}", exc.message, exc.hint)
        if image.media is None and NEEDS_MEDIA & set(outputs):
            need = ", ".join(sorted(NEEDS_MEDIA & set(outputs)))
            out.add(f"{where}.media", f"required for the {need} output(s)", "point it at the ADK media folder")
    if "configmgr-prestart" in outputs and not any(img.hook == "configmgr" for img in images):
        out.add("outputs", "configmgr-prestart needs a boot image with `hook: configmgr`", "remove it or change a hook")

    if out.problems:
        raise ValidationFailed(out.problems, f"media definition {file}")
    assert profile is not None and catalog is not None  # both were required above
    return MediaDefinition(
        file=file,
        version=1,
        name=name,
        profile=profile,
        catalog=catalog,
        agent=agent,
        boot_images=tuple(images),
        outputs=outputs,
        ca_bundle=ca_bundle,
        secret_env=tuple(dict.fromkeys(_env_names(data))),
    )


def _catalog(raw: Any, out: _Collector, base: Path, local: Any) -> CatalogDef | None:
    if not isinstance(raw, Mapping):
        out.add("catalog", "required: a mapping with `sources` and `signing_key`", "see ../shared/spec/media.yaml")
        return None
    for key in raw:
        if key not in _CATALOG:
            out.add(f"catalog.{key}", "unknown key", f"known keys: {', '.join(sorted(_CATALOG))}")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources:
        out.add("catalog.sources", "must be a non-empty list of sources", "e.g. `- file: catalog.json`")
        sources = []
    else:
        from media_builder.catalog_build import parse_sources

        _, problems = parse_sources(sources, base_dir=base, path="catalog.sources")
        for problem in problems:
            out.adopt(problem)
    key = local(
        "catalog.signing_key",
        raw.get("signing_key"),
        required=True,
        hint="create one with `prestart-media keygen keys/`",
    )
    if key is not None and key.is_file():
        if os.name == "posix" and key.stat().st_mode & 0o077:
            out.add("catalog.signing_key", "the private key is readable by other users", f"run: chmod 600 {key}")
        if not key.with_name("catalog.pub").is_file():
            out.add("catalog.signing_key", "catalog.pub is missing beside the key", "run `prestart-media keygen` again")
    allowed = _allow_secrets(raw.get("allow_secrets"), out)
    return CatalogDef(sources=tuple(sources), signing_key=key or base / "catalog.key", allow_secrets=allowed)


def _allow_secrets(raw: Any, out: _Collector) -> dict[str, str]:
    """`allow_secrets: [{name: join_password, reason: ...}]`: secret-looking names that may go on media."""
    if raw is None:
        return {}
    hint = "e.g. `allow_secrets: [{name: product_key, reason: a KMS client key, public by design}]`"
    if not isinstance(raw, list):
        out.add("catalog.allow_secrets", "must be a list of {name, reason}", hint)
        return {}
    allowed: dict[str, str] = {}
    for index, entry in enumerate(raw):
        path = f"catalog.allow_secrets[{index}]"
        if not isinstance(entry, Mapping) or set(entry) - {"name", "reason"}:
            out.add(path, "must be a mapping with `name` and `reason` only", hint)
            continue
        name, reason = entry.get("name"), entry.get("reason")
        if not isinstance(name, str) or not name.strip():
            out.add(f"{path}.name", "required: the catalog attribute or task sequence variable name", hint)
        elif not isinstance(reason, str) or not reason.strip():
            out.add(f"{path}.reason", "required: why this value may be readable by anyone with the media", hint)
        else:
            allowed[name.strip().casefold()] = reason.strip()
    return allowed


def _agent(raw: Any, out: _Collector, local: Any) -> AgentDef:
    if not isinstance(raw, Mapping):
        out.add(
            "agent",
            "required: a prebuilt binary per architecture, or `freeze: true`",
            "e.g. `amd64: dist/amd64/prestart.exe`",
        )
        return AgentDef()
    binaries: dict[str, Path] = {}
    for key, value in raw.items():
        if key in _AGENT_FLAGS:
            if not isinstance(value, bool):
                out.add(f"agent.{key}", "must be true or false")
        elif key in ARCHES:
            path = local(
                f"agent.{key}", value, required=True, hint="freeze it with `freeze: true`, or build it on Windows"
            )
            if path is not None:
                binaries[key] = path
        else:
            out.add(f"agent.{key}", "unknown key", f"use an architecture ({', '.join(ARCHES)}), `freeze` or `onefile`")
    return AgentDef(binaries=binaries, freeze=raw.get("freeze") is True, onefile=raw.get("onefile") is True)


def _images(raw: Any, out: _Collector, local: Any) -> list[BootImage]:
    if not isinstance(raw, list) or not raw:
        out.add("boot_images", "must be a non-empty list of boot images", "see ../shared/spec/media.yaml")
        return []
    images: list[BootImage] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"boot_images[{index}]"
        if not isinstance(item, Mapping):
            out.add(where, "a boot image must be a mapping")
            continue
        for key in item:
            if key not in _IMAGE:
                out.add(f"{where}.{key}", "unknown key", f"known keys: {', '.join(sorted(_IMAGE))}")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            out.add(f"{where}.name", "name must be 1-64 letters, digits, '.', '_' or '-'", "e.g. `name: winpe-x64`")
            name = f"image{index}"
        elif name.casefold() in seen:
            out.add(f"{where}.name", f"duplicate boot image name {name!r}", "every boot image needs its own name")
        seen.add(name.casefold())
        arch = item.get("arch")
        if arch not in ARCHES:
            out.add(f"{where}.arch", f"unknown architecture {arch!r}", f"choose one of: {', '.join(ARCHES)}")
            arch = "amd64"
        hook = item.get("hook")
        if hook not in HOOKS:
            out.add(f"{where}.hook", f"unknown hook {hook!r}", f"choose one of: {', '.join(HOOKS)}")
            hook = "winpe"
        index_raw = item.get("index", 1)
        if not isinstance(index_raw, int) or isinstance(index_raw, bool) or index_raw < 1:
            out.add(f"{where}.index", "index must be a whole number of 1 or more", "WinPE is index 1 of boot.wim")
            index_raw = 1
        label = item.get("label", "")
        if label and (not isinstance(label, str) or not _LABEL.match(label)):
            out.add(f"{where}.label", "a volume label is 1-32 of A-Z, 0-9 and _", "e.g. `label: CONTOSO_PE`")
            label = ""
        package_id = item.get("package_id", "PRST0001")
        if not isinstance(package_id, str) or not _PACKAGE_ID.match(package_id):
            out.add(
                f"{where}.package_id", "a package ID is 8 upper-case letters or digits", "e.g. `package_id: PRST0001`"
            )
            package_id = "PRST0001"
        wim = local(f"{where}.wim", item.get("wim"), required=True, hint="the boot.wim to inject into")
        media = local(f"{where}.media", item.get("media"), required=False, is_dir=True)
        images.append(
            BootImage(
                name=name,
                arch=str(arch),
                wim=wim or Path("boot.wim"),
                index=index_raw,
                hook=str(hook),
                media=media,
                label=str(label or ""),
                package_id=package_id,
                etfsboot=local(f"{where}.etfsboot", item.get("etfsboot"), required=False),
                efisys=local(f"{where}.efisys", item.get("efisys"), required=False),
            )
        )
    return images


def _outputs(raw: Any, out: _Collector) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        out.add("outputs", "must be a non-empty list of outputs", f"choose from: {', '.join(OUTPUT_KINDS)}")
        return ()
    kinds: list[str] = []
    for index, kind in enumerate(raw):
        if kind not in OUTPUT_KINDS:
            out.add(f"outputs[{index}]", f"unknown output {kind!r}", f"choose from: {', '.join(OUTPUT_KINDS)}")
        elif kind in kinds:
            out.add(f"outputs[{index}]", f"{kind} is listed twice")
        else:
            kinds.append(kind)
    return tuple(kinds)
