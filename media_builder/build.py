"""Build orchestration: plan, catalog and agents once, then each boot image's outputs in parallel, atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import Cancelled, DataError, InputError, InternalError, SourceUnavailable, UsageError
from agent.files import flush_path, flush_tree, publish_mode
from media_builder import bootcheck, bootfiles, scan
from media_builder import outputs as output_kinds
from media_builder import wim as wimlib
from media_builder.bootfiles import BOOT_KINDS, BootSet
from media_builder.definition import BootImage, MediaDefinition
from media_builder.efi import Anchor
from media_builder.manifest import FORMAT, file_record, sha256_file, tool_versions, tree_records, write_manifest
from media_builder.progress import Progress, Timer
from media_builder.stage import AgentBinary, Staged, stage

# Temp folders live beside their targets (same file system, so the final rename is atomic) and are hidden.
_TEMP_PREFIXES = (".work-", ".tree-", ".new-", ".old-")


@dataclass(frozen=True)
class BuildOptions:
    """What the command line asked for."""

    out_dir: Path
    force: bool = False
    dry_run: bool = False
    jobs: int = 0  # 0: one worker per boot image, at most the CPU count
    cache_dir: Path | None = None  # frozen agents, by content hash
    # Secure Boot report (docs/secure-boot.md): CA certificates to check signatures with, and an SVN to test for.
    anchors: tuple[Anchor, ...] = ()
    min_svn: tuple[int, int] | None = None


@dataclass(frozen=True)
class PlannedOutput:
    image: str
    kind: str
    target: Path
    exists: bool


@dataclass(frozen=True)
class Plan:
    """Everything a build would do, so `--dry-run` can print it and the build can follow it."""

    definition: MediaDefinition
    out_dir: Path
    epoch: int
    epoch_source: str
    jobs: int
    agents: Mapping[str, str]  # arch -> where the agent comes from
    outputs: tuple[PlannedOutput, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        d = self.definition
        text = [
            f"media definition {d.file} ({d.name})",
            f"  profile {d.profile}",
            f"  catalog from {len(d.catalog.sources)} source(s), signed with {d.catalog.signing_key}",
            f"  timestamps pinned to {self.epoch} ({self.epoch_source})",
            f"  {len(d.boot_images)} boot image(s), {self.jobs} in parallel",
            f"  Secure Boot: {_SECURE_BOOT_PLAN[d.secure_boot]} (docs/secure-boot.md)",
        ]
        text += [f"  agent {arch}: {where}" for arch, where in sorted(self.agents.items())]
        for image in d.boot_images:
            text.append(f"boot image {image.name}: {image.arch}, {image.wim} index {image.index}, hook {image.hook}")
            text.append("  inject the payload into a copy of the WIM (`wimlib-imagex update`), read it back")
            for out in self.outputs:
                if out.image == image.name:
                    note = " (exists: replaced with --force)" if out.exists else ""
                    text.append(f"  write {out.kind} -> {out.target}{note}")
        text.append(f"write {self.out_dir / 'manifest.json'}")
        return text


def build_epoch(definition: MediaDefinition, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH when set; else the newest input's modification time, so the same inputs give the same
    timestamps (a clock reading would make every build differ)."""
    env = os.environ if environ is None else environ
    raw = env.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        if not raw.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds", "unset it or fix it")
        return int(raw), "SOURCE_DATE_EPOCH"
    mtimes = [int(p.stat().st_mtime) for p in definition.input_files() if p.is_file()]
    return (max(mtimes) if mtimes else 315532800), "newest input file"


def make_plan(definition: MediaDefinition, options: BuildOptions, environ: Mapping[str, str] | None = None) -> Plan:
    epoch, source = build_epoch(definition, environ)
    out_dir = options.out_dir.resolve()
    planned = []
    for image in definition.boot_images:
        for kind in definition.outputs_for(image):
            for folder in _folders(definition, kind):
                target = out_dir / image.name / folder
                planned.append(PlannedOutput(image.name, kind, target, target.exists()))
    agents: dict[str, str] = {}
    for image in definition.boot_images:
        if image.arch in definition.agent.binaries:
            agents[image.arch] = f"prebuilt {definition.agent.binaries[image.arch]}"
        else:
            agents[image.arch] = "frozen with PyInstaller " + ("(onefile)" if definition.agent.onefile else "(onedir)")
    jobs = options.jobs or min(len(definition.boot_images), os.cpu_count() or 1)
    return Plan(definition, out_dir, epoch, source, max(1, jobs), agents, tuple(planned))


_SECURE_BOOT_PLAN = {
    "auto": "CA 2023 boot files where the image carries the _EX files, else CA 2011 with a warning",
    "2023": "CA 2023 boot files (an image without the _EX files is an error)",
    "2011": "CA 2011 boot files (legacy media)",
    "both": "one output per CA (-ca2023 and -ca2011-legacy)",
}


def _folders(definition: MediaDefinition, kind: str) -> tuple[str, ...]:
    """Output folder names of `kind`: with `secure_boot: both`, one per CA, named so nobody mixes them up."""
    if definition.secure_boot == "both" and kind in BOOT_KINDS:
        return (f"{kind}-ca2023", f"{kind}-ca2011-legacy")
    return (kind,)


def _signed_catalog(definition: MediaDefinition, epoch: int) -> bytes:
    from media_builder.catalog_build import build_catalog, signed_bytes
    from media_builder.sources.base import parse_sources

    configs, problems = parse_sources(
        list(definition.catalog.sources), base_dir=definition.base_dir, path="catalog.sources"
    )
    if problems:
        from agent.errors import ValidationFailed

        raise ValidationFailed(problems, f"media definition {definition.file}")
    # The catalog's `generated` time follows the build epoch, so its signed bytes are reproducible too.
    catalog = build_catalog(configs, serial=None, now=dt.datetime.fromtimestamp(epoch, dt.UTC))
    check_catalog_secrets(definition, catalog)  # what is signed, before it is signed
    return signed_bytes(catalog, definition.catalog.signing_key)


def check_catalog_secrets(definition: MediaDefinition, catalog: Any) -> None:
    """Stop before signing when the catalog would carry a secret the definition does not allow."""
    findings = scan.scan_catalog(
        catalog,
        env_names=definition.secret_env,
        key_files=[definition.catalog.signing_key],
        allowed=definition.catalog.allow_secrets,
    )
    scan.require_clean(findings, where="catalog")


def _agents(definition: MediaDefinition, options: BuildOptions, progress: Progress) -> dict[str, AgentBinary]:
    from media_builder.pe import check_arch

    found: dict[str, AgentBinary] = {}
    for image in definition.boot_images:
        if image.arch not in found:
            exe = definition.agent.binaries.get(image.arch)
            if exe is None:
                from media_builder.freeze import freeze

                progress.info(f"freezing the agent for {image.arch} (cached by content hash)")
                cache = options.cache_dir or options.out_dir / ".cache"
                exe = freeze(onefile=definition.agent.onefile, cache_dir=cache, arch=image.arch)
            found[image.arch] = AgentBinary.at(exe)
        # Every image checks, so the message names the image whose architecture does not match.
        check_arch(found[image.arch].exe, image.arch, image=image.name)
    return found


def _refuse_sources_inside(definition: MediaDefinition, out_dir: Path) -> None:
    """The builder never writes where it reads, whatever --force says: no input may lie in the output folder,
    and the output folder may not lie in an ADK media folder the ISO and USB outputs copy from."""
    out = out_dir.resolve()
    clashes = [p for p in definition.input_files() if _under(p.resolve(), out)]
    clashes += [img.media for img in definition.boot_images if img.media and _under(out, img.media.resolve())]
    if clashes:
        raise UsageError(
            f"the output folder {out_dir} holds inputs of the build: {', '.join(str(p) for p in clashes)}",
            "build into a folder of its own with -o DIR; --force never replaces a source",
        )


def _clean_stale(folder: Path) -> None:
    """Undo what a killed build left behind: an output moved aside but not yet replaced goes back to its name
    (the old output stays until a new one is complete); then the temp folders go (they are never outputs)."""
    if not folder.is_dir():
        return
    for old in folder.glob(".old-*"):
        for moved in old.iterdir() if old.is_dir() else ():
            target = folder / moved.name
            if not target.exists():
                os.replace(moved, target)
    for child in folder.iterdir():
        if child.is_dir() and child.name.startswith(_TEMP_PREFIXES):
            shutil.rmtree(child, ignore_errors=True)


def _replace(new: Path, target: Path) -> None:
    """Put the finished folder `new` at `target`; an old target is moved aside first, then removed.

    A kill between the two renames leaves the old output in `.old-*`; the next build's _clean_stale puts it
    back before anything else, so an interrupted --force rebuild leaves the old output or the new one.
    """
    if target.exists() and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old output
        return
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=".old-", dir=target.parent))
        os.replace(target, old / target.name)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old / target.name, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE): no moment without an output at `b`.
    False where the system cannot (other systems, old kernels, file systems without it)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done: int = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


class _Builder:
    """The per-boot-image work; one instance per build, shared by the worker threads."""

    def __init__(self, plan: Plan, options: BuildOptions, progress: Progress) -> None:
        from agent.profile import load_profile

        # Kiosk media get the escape checks (F8 command support in the boot image).
        self.kiosk = load_profile(plan.definition.profile).is_kiosk
        self.plan = plan
        self.options = options
        self.progress = progress
        self.cancel = threading.Event()
        self.catalog = b""
        self.agents: dict[str, AgentBinary] = {}

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("build cancelled", "run the build again; nothing partial was left behind")

    def image(self, image: BootImage) -> dict[str, Any]:
        d = self.plan.definition
        epoch = self.plan.epoch
        timer = Timer()
        image_dir = self.plan.out_dir / image.name
        image_dir.mkdir(parents=True, exist_ok=True)
        _clean_stale(image_dir)
        report = self.progress.task(image.name)
        work = Path(tempfile.mkdtemp(prefix=".work-", dir=image_dir))
        try:
            with timer.step("wim_check"):
                info = wimlib.wim_info(image.wim).image(image.index)
                if info.architecture and info.architecture != image.arch:
                    raise InputError(
                        f"boot image {image.name}: {image.wim} image {image.index} is {info.architecture}, "
                        f"but the definition says arch: {image.arch}",
                        "fix `arch:` or point `wim:` at the right boot.wim",
                    )
            with timer.step("stage"):
                staged = stage(
                    image,
                    root=work / "stage",
                    agent=self.agents[image.arch],
                    profile=d.profile,
                    catalog=self.catalog,
                    public_key=d.catalog.public_key,
                    ca_bundle=d.ca_bundle,
                    epoch=epoch,
                )
            with timer.step("scan"):
                findings = scan.scan_files(staged.payload, env_names=d.secret_env, key_files=[d.catalog.signing_key],
                                           allowed=d.catalog.allow_secrets)
                scan.require_clean(findings, where=f"boot image {image.name}")
            self._check_cancel()
            built = work / "boot.wim"
            with timer.step("inject"):
                wimlib.update_copy(
                    image.wim,
                    built,
                    image.index,
                    staged.payload,
                    epoch=epoch,
                    progress=lambda w, f: report(f"inject: {w}", f),
                )
            with timer.step("read_back"):
                wimlib.verify_payload(built, image.index, staged.payload)
            record = self._record(image, staged, built)
            if self.kiosk:
                from media_builder.escapes import kiosk_warnings

                record["warnings"] = kiosk_warnings(image.name, image.wim, image.index)
                for warning in record["warnings"]:
                    self.progress.info(f"warning: {warning}")
            ctx = output_kinds.OutputContext(d, image, built, staged, epoch, report)
            boot_sets = self._boot_sets(image, work, record)
            for kind in d.outputs_for(image):
                for boot in boot_sets if kind in BOOT_KINDS else [None]:
                    self._check_cancel()
                    folder = kind + (boot.suffix if boot is not None else "")
                    with timer.step(folder):
                        kind_ctx = dataclasses.replace(ctx, boot=boot)
                        record["outputs"].append(self._output(kind, kind_ctx, image_dir, record, folder))
            record["timings"] = timer.timings
            return record
        except OSError as exc:  # staging or injecting; the outputs translate their own
            raise _disk_error(exc, f"boot image {image.name}", image_dir) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _boot_sets(self, image: BootImage, work: Path, record: dict[str, Any]) -> list[BootSet]:
        """The Secure Boot CA sets for the ISO, USB and PXE outputs, from the image's own Windows/Boot files."""
        if not BOOT_KINDS & set(self.plan.definition.outputs_for(image)):
            return []
        files = bootfiles.image_boot_files(image.wim, image.index, work / "bootfiles")
        sets, warnings = bootfiles.choose(self.plan.definition.secure_boot, files, image.arch, image.name)
        for warning in warnings:
            self.progress.info(f"warning: {warning}")
        record.setdefault("warnings", []).extend(warnings)
        names = ", ".join(f"{s.label}" for s in sets)
        self.progress.info(f"boot image {image.name}: Secure Boot {names}")
        return sets

    def _record(self, image: BootImage, staged: Staged, built: Path) -> dict[str, Any]:
        return {
            "name": image.name,
            "arch": image.arch,
            "hook": image.hook,
            "index": image.index,
            "source_wim": str(image.wim),
            "payload_dir": staged.payload_dir,
            "command_line": staged.command_line,
            "payload": {k: sha256_file(v) for k, v in sorted(staged.payload.items())},
            "wim_sha256": sha256_file(built),
            "outputs": [],
        }

    def _output(
        self, kind: str, ctx: output_kinds.OutputContext, image_dir: Path, record: dict[str, Any], folder: str
    ) -> Any:
        output = output_kinds.get(kind)
        target = image_dir / folder
        new = Path(tempfile.mkdtemp(prefix=".new-", dir=image_dir))
        try:
            publish_mode(new)  # mkdtemp makes it 0700; as an output it gets the usual permissions
            output.write(ctx, new)
            problems = output.verify(new, record)  # read back before it is visible under its real name
            if problems:
                raise DataError(
                    f"{kind} output of {ctx.image.name} failed verification: " + "; ".join(problems),
                    "this is a bug or a damaged input; report it with the manifest",
                )
            # On disk before it takes its real name: a power cut leaves the old output or the whole new one.
            # The writers themselves do not flush (intermediate files never reach the disk at all).
            flush_tree(new, progress=lambda fraction: ctx.progress(f"{kind}: flushing to disk", fraction))
            _replace(new, target)
            flush_path(image_dir)
        except OSError as exc:
            shutil.rmtree(new, ignore_errors=True)
            raise _disk_error(exc, f"the {kind} output of {ctx.image.name}", image_dir) from exc
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        files = tree_records(target, self.plan.out_dir)
        ctx.progress(f"{folder} written and verified", 1.0)
        result: dict[str, Any] = {
            "kind": kind,
            "path": target.relative_to(self.plan.out_dir).as_posix(),
            "files": files,
        }
        if ctx.boot is not None or kind == "wim":  # the wim: the EFI binaries inside the image
            sb = bootcheck.report(
                kind, target, ctx.image.arch, self.options.anchors, self.options.min_svn, ctx.image.index
            )
            media = (ctx.boot.generation, ctx.boot.label) if ctx.boot is not None else (None, "the boot image")
            result["secure_boot"] = {"media": media[0], "label": media[1], **sb.as_dict()}
            chains = sb.generation()
            if media[0] == "2023" and "2023" not in chains and chains not in ("unsigned", "untrusted"):
                warning = (
                    f"{folder} of {ctx.image.name}: built as CA 2023 media, but its boot manager chains to {chains}"
                )
                record.setdefault("warnings", []).append(warning)
                self.progress.info(f"warning: {warning}")
        return result


def run_build(
    definition: MediaDefinition,
    options: BuildOptions,
    progress: Progress,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build every boot image's outputs and write the manifest; return the manifest (empty for --dry-run)."""
    started = time.perf_counter()
    plan = make_plan(definition, options, environ)
    if options.dry_run:
        for line in plan.lines():
            progress.info(line)
        return {}
    _refuse_sources_inside(definition, plan.out_dir)
    existing = [str(o.target) for o in plan.outputs if o.exists]
    if existing and not options.force:
        raise UsageError(
            f"{len(existing)} output(s) already exist: {', '.join(existing)}",
            "pass --force to replace them, or -o DIR to build somewhere else",
        )
    timer = Timer()
    builder = _Builder(plan, options, progress)
    with timer.step("inputs"):
        inputs = [
            file_record(p, definition.base_dir) if _under(p, definition.base_dir) else _abs_record(p)
            for p in dict.fromkeys(definition.input_files())
            if p.is_file()
        ]
        by_path = {
            Path(r["path"]) if Path(r["path"]).is_absolute() else definition.base_dir / r["path"]: r["sha256"]
            for r in inputs
        }
        source_wims = {img.wim: by_path[img.wim] for img in definition.boot_images if img.wim in by_path}
    with timer.step("catalog"):
        builder.catalog = _signed_catalog(definition, plan.epoch)
    with timer.step("agent"):
        builder.agents = _agents(definition, options, progress)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    with timer.step("boot_images"), ThreadPoolExecutor(max_workers=plan.jobs, thread_name_prefix="media") as pool:
        futures = [pool.submit(builder.image, image) for image in definition.boot_images]
        try:
            errors: list[BaseException] = []
            for future in futures:
                try:
                    records.append(future.result())
                except Exception as exc:  # keep waiting: the others clean up their own temp folders
                    builder.cancel.set()
                    errors.append(exc)
            if errors:
                raise errors[0]
        except KeyboardInterrupt:
            builder.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    # The source WIMs must be untouched: the build only ever reads them.
    for wim, digest in source_wims.items():
        if sha256_file(wim) != digest:
            raise InternalError(f"{wim} changed during the build", "restore it from a backup and report a bug")
    manifest = {
        "manifest": FORMAT,
        "name": definition.name,
        "definition": str(definition.file),
        "epoch": plan.epoch,
        "epoch_source": plan.epoch_source,
        "catalog_sha256": hashlib.sha256(builder.catalog).hexdigest(),
        "tools": tool_versions(freeze=any(a.startswith("frozen") for a in plan.agents.values())),
        "inputs": inputs,
        "boot_images": records,
        "timings": {**timer.timings, "total": round(time.perf_counter() - started, 3)},
    }
    try:
        write_manifest(plan.out_dir, manifest)
        flush_path(plan.out_dir)
    except OSError as exc:
        raise _disk_error(
            exc, "the manifest", plan.out_dir, "the outputs are complete; free space and build again"
        ) from exc
    return manifest


def _disk_error(
    exc: OSError, what: str, folder: Path, then: str = "the previous output, if any, is unchanged"
) -> SourceUnavailable:
    """An OSError while writing `what` into `folder`: a file we read, or the disk we write to."""
    reason = exc.strerror or str(exc)
    if exc.filename and not _under(Path(exc.filename), folder):
        return SourceUnavailable(
            f"{what}: cannot read {exc.filename}: {reason}", "check that file and its disk, then build again"
        )
    return SourceUnavailable(
        f"cannot write {what} in {folder}: {reason}" + (f" ({exc.filename})" if exc.filename else ""),
        f"free space on that disk or check it for errors, or build elsewhere with -o DIR; {then}",
    )


def _under(path: Path, base: Path) -> bool:
    with contextlib.suppress(ValueError):
        path.relative_to(base)
        return True
    return False


def _abs_record(path: Path) -> dict[str, Any]:
    return {"path": str(path), "size": path.stat().st_size, "sha256": sha256_file(path)}
