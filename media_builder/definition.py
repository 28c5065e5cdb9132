"""The media definition (media.yaml): load with line numbers, validate every field, resolve paths."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import InputError, Problem, ValidationFailed
from agent.schemakit import hides
from agent.yamlio import Located, load_file
from media_builder.schema import ARCHES, HOOKS, MEDIA, OUTPUT_KINDS, SECURE_BOOT
from media_builder.sources.base import parse_sources

__all__ = ["ARCHES", "HOOKS", "OUTPUT_KINDS", "BootImage", "MediaDefinition", "load_definition"]

# Outputs that copy the ADK media folder (bootmgr, boot/, efi/) need one.
NEEDS_MEDIA = frozenset({"iso", "usb", "pxe"})


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
    secure_boot: str = "auto"  # "auto" | "2023" | "2011" | "both"

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
    """Collects problems, finding the line of each path (or its nearest parent) in the YAML.

    `structural` holds the paths the schema refused: a meaning problem there (found on the placeholder
    that stands in for the refused part) would only repeat it, so it is left out.
    """

    def __init__(self, file: Path, doc: Located) -> None:
        self.file = file
        self.doc = doc
        self.problems: list[Problem] = []
        self.structural: list[str] = []

    def line_of(self, path: str) -> int:
        return self.doc.line(path)

    def add(self, path: str, message: str, hint: str = "") -> None:
        if any(hides(s, path) for s in self.structural):
            return
        self.problems.append(Problem(path, message, file=str(self.file), line=self.line_of(path), hint=hint))

    def adopt(self, problem: Problem) -> None:
        """Take a problem found by someone else's validator; fill in where it is when it does not say."""
        if not problem.file:
            problem.file = str(self.file)
        if not problem.line and problem.file == str(self.file):
            problem.line = self.line_of(problem.path)
        if problem.file == str(self.file) and any(hides(s, problem.path) for s in self.structural):
            return
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
            f"{file}: media definition not found", "check the path, or start from examples/reference/media.yaml"
        )
    doc = load_file(file, fast=False)  # every problem names its line; the builder is not on the boot path
    out = _Collector(file, doc)
    if not isinstance(doc.data, Mapping):
        out.add("", "a media definition must be a mapping", "start from examples/reference/media.yaml")
        raise ValidationFailed(out.problems, f"media definition {file}")
    base = file.parent

    # Structure first (media_builder/schema.py), then the meaning checks in the same pass, on what the
    # structure leaves: a wrong type or unknown key hides no missing file or duplicate name.
    MEDIA.check(doc.data, "", out.add)
    out.structural = [p.path for p in out.problems]
    data = MEDIA.clean(doc.data)
    name = str(data["name"])

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
    catalog, sources = _catalog(data["catalog"], out, base, local)
    if check_profile:
        # The catalog files are read now, not at build time, and the profile is checked against what
        # they hold: one `check` names every problem of all three files.
        built = _file_catalog(sources, out)
        if profile is not None and profile.is_file():
            from agent.profile import check_file

            for problem in check_file(profile, built)[1]:
                out.adopt(problem)
    agent = _agent(data["agent"], out, local)
    ca_bundle = local("ca_bundle", data.get("ca_bundle"), required=False)
    images = _images(data["boot_images"], out, local)
    outputs = _outputs(data["outputs"], out)
    secure_boot = "auto"
    if "secure_boot" in data:
        raw_sb = str(data["secure_boot"]) if isinstance(data["secure_boot"], (int, str)) else ""
        if raw_sb in SECURE_BOOT:
            secure_boot = raw_sb
        else:
            out.add(
                "secure_boot",
                f"unknown value {data['secure_boot']!r}",
                "use 2023 (the default when the image has the _EX boot files), 2011 (legacy) or both",
            )

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
        secure_boot=secure_boot,
    )


def _file_catalog(sources: list[Any], out: _Collector) -> Any:
    """The catalog the sources make when every one is a file; its problems, with lines, go to `out`.

    None when a source is remote (fetched at build time only) or any file is invalid.
    """
    from datetime import UTC, datetime

    from agent.errors import PrestartError
    from agent.yamlio import add_lines
    from media_builder.catalog_build import build_catalog
    from media_builder.sources.file import FileSource

    usable = bool(sources)
    for config in sources:
        if not isinstance(config.source, FileSource):
            usable = False
            continue
        try:
            config.source.fetch()
        except ValidationFailed as exc:
            for problem in add_lines(exc.problems, config.source.path):
                out.adopt(problem)
            usable = False
        except PrestartError as exc:
            out.add(config.path, exc.message, exc.hint)
            usable = False
    return build_catalog(sources, now=datetime.now(UTC)) if usable else None


def _catalog(raw: Any, out: _Collector, base: Path, local: Any) -> tuple[CatalogDef | None, list[Any]]:
    sources = raw["sources"]  # the schema made sure there is a list
    configs, problems = parse_sources(sources, base_dir=base, path="catalog.sources")
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
    return (
        CatalogDef(sources=tuple(sources), signing_key=key or base / "catalog.key", allow_secrets=allowed),
        configs,
    )


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
    if not raw:
        out.add(
            "agent",
            "required: a prebuilt binary per architecture, or `freeze: true`",
            "e.g. `amd64: dist/amd64/prestart.exe`",
        )
        return AgentDef()
    binaries: dict[str, Path] = {}
    for key, value in raw.items():
        if key in ARCHES:
            path = local(
                f"agent.{key}", value, required=True, hint="freeze it with `freeze: true`, or build it on Windows"
            )
            if path is not None:
                binaries[key] = path
    return AgentDef(binaries=binaries, freeze=raw.get("freeze") is True, onefile=raw.get("onefile") is True)


def _images(raw: list[Any], out: _Collector, local: Any) -> list[BootImage]:
    """The boot images; the schema already checked each one's keys, kinds, patterns and ranges."""
    images: list[BootImage] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"boot_images[{index}]"
        name = str(item["name"])
        if name.casefold() in seen:
            out.add(f"{where}.name", f"duplicate boot image name {name!r}", "every boot image needs its own name")
        seen.add(name.casefold())
        wim = local(f"{where}.wim", item.get("wim"), required=True, hint="the boot.wim to inject into")
        media = local(f"{where}.media", item.get("media"), required=False, is_dir=True)
        images.append(
            BootImage(
                name=name or f"image{index}",
                arch=str(item["arch"]),
                wim=wim or Path("boot.wim"),
                index=int(item.get("index", 1)),
                hook=str(item["hook"]),
                media=media,
                label=str(item.get("label", "")),
                package_id=str(item.get("package_id", "PRST0001")),
                etfsboot=local(f"{where}.etfsboot", item.get("etfsboot"), required=False),
                efisys=local(f"{where}.efisys", item.get("efisys"), required=False),
            )
        )
    return images


def _outputs(raw: list[str], out: _Collector) -> tuple[str, ...]:
    kinds: list[str] = []
    for index, kind in enumerate(raw):
        if kind in kinds:
            out.add(f"outputs[{index}]", f"{kind} is listed twice", "list each output once")
        else:
            kinds.append(kind)
    return tuple(kinds)
