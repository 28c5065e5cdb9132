"""`prestart-media`: check a media definition, build boot media, inspect and verify outputs, manage the catalog."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from agent.cliparser import RawHelpFormatter, example_epilog
from agent.errors import ExitCode, PrestartError, UsageError, ValidationFailed
from agent.log import StreamSink, add_sink, remove_sink

if TYPE_CHECKING:
    from media_builder.efi import Anchor

PROG = "prestart-media"
# pyproject.toml: [project.optional-dependencies], module -> package.
_BUILDER_EXTRA = {  # module -> the package of the `builder` extra (pyproject.toml) that brings it
    "pycdlib": "pycdlib",
    "PyInstaller": "pyinstaller",
    "requests_ntlm": "requests-ntlm",
    "pefile": "pefile",
    "asn1crypto": "asn1crypto",
    "cryptography": "cryptography",
    "pyfatfs": "pyfatfs",
    "fs": "pyfatfs",
    "virt": "virt-firmware",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 87, like every other bad command line) instead of exiting with 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"run `{self.prog} --help`")


EXIT_CODES_HELP = """\
exit codes (Win32 codes, as the agent's):
  0     success
  13    ERROR_INVALID_DATA: invalid media definition, profile, catalog or key; a source unreachable;
        an output that fails verification
  87    ERROR_INVALID_PARAMETER: bad command line, including outputs that exist without --force
  1223  ERROR_CANCELLED: interrupted; no partial output is left behind"""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Build Prestart boot media from a media definition (media.yaml): the agent, its profile and "
        "a signed catalog in WIM, ISO, USB, PXE and ConfigMgr prestart outputs (docs/media-builder.md).",
        epilog=EXIT_CODES_HELP + "\n\n" + example_epilog(
            "prestart-media keygen keys/", "prestart-media check media.yaml", "prestart-media build media.yaml -o out/"
        ),
        formatter_class=RawHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command run")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def command(name: str, summary: str, description: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description, epilog=example_epilog(*examples),
                              formatter_class=RawHelpFormatter)

    media_help = "the media definition (media.yaml)"
    check = command(
        "check", "validate a media definition, its profile and catalog files; list every problem",
        "Check the media definition, the profile it names and its catalog files in one pass: every problem as "
        "FILE:LINE: path: message (hint: ...). Exit 13 when there is any.",
        "prestart-media check media.yaml",
    )
    check.add_argument("media", type=Path, help=media_help)

    build = command(
        "build", "build every boot image's outputs and a manifest",
        "Build every output of every boot image, verify each by reading it back, and write OUTPUT/manifest.json. "
        "Sources (the WIM, the ADK media, the profile) are only read; an output appears whole or not at all.",
        "prestart-media build media.yaml -o out/ --force",
    )
    build.add_argument("media", type=Path, help=media_help)
    build.add_argument("-o", "--output", type=Path, default=Path("out"), metavar="DIR",
                       help="output folder (default: ./out)")
    build.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    build.add_argument("--force", action="store_true", help="replace outputs that already exist")
    build.add_argument("--jobs", type=int, default=0, metavar="N", help="boot images built in parallel (0: automatic)")
    build.add_argument(
        "--cache", type=Path, default=None, metavar="DIR", help="frozen agent cache (default: OUTPUT/.cache)"
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    inspect = command(
        "inspect", "describe a built output (or the whole output folder), or an .efi file",
        "Say what an output holds: the command the engine runs, the payload, WIM images, El Torito entries, "
        "and the Secure Boot report; or what an .efi file is signed by.",
        "prestart-media inspect out/winpe-x64/iso",
    )
    inspect.add_argument("output", type=Path, help="an output folder, the build's output folder, or an .efi file")
    verify = command(
        "verify", "read a built output back and compare it with the manifest",
        "Read every file of an output (or of every output) back and compare it with the build's manifest.",
        "prestart-media verify out/",
    )
    verify.add_argument("output", type=Path, help="an output folder, or the build's output folder")
    for cmd in (build, inspect, verify):
        _secure_boot_options(cmd)

    keygen = command(
        "keygen", "create the catalog signing key pair (catalog.key, catalog.pub)",
        "Create DIR/catalog.key (Ed25519, readable by its owner only) and DIR/catalog.pub; never overwrite a key.",
        "prestart-media keygen keys/",
    )
    keygen.add_argument("dir", type=Path, help="the folder for the two key files")
    fetch = command(
        "fetch", "fetch and sign the catalog a media definition describes",
        "Read the catalog sources of a media definition, merge them in order and write the signed catalog.",
        "prestart-media fetch media.yaml -o catalog.json",
    )
    fetch.add_argument("media", type=Path, help=media_help)
    fetch.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="where to write the catalog")
    publish = command(
        "publish", "fetch, sign and publish the catalog into a folder for refresh",
        "As fetch, written as DIR/catalog.json for the web server that profiles' catalog.refresh.url points at.",
        "prestart-media publish media.yaml /srv/www/prestart/",
    )
    publish.add_argument("media", type=Path, help=media_help)
    publish.add_argument("dir", type=Path, help="the folder the web server serves")
    for catalog_cmd in (fetch, publish):
        catalog_cmd.add_argument("--serial", type=int, default=None, help="catalog serial (default: from the time)")
        catalog_cmd.add_argument("--valid-days", type=int, default=None, metavar="N", help="set not_after N days ahead")
    return parser


def _secure_boot_options(cmd: argparse.ArgumentParser) -> None:
    """Options of the Secure Boot report (docs/secure-boot.md)."""
    cmd.add_argument(
        "--ca-cert",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a Microsoft Secure Boot CA certificate to check signatures with, recognised by its key; replaces the "
        "copy of that CA shipped with virt-firmware, used by default (repeatable)",
    )
    cmd.add_argument(
        "--test-ca",
        action="append",
        default=[],
        metavar="ROLE=FILE",
        help="a lab CA standing in for a Microsoft CA, e.g. windows-2023=lab-ca.pem (repeatable)",
    )
    cmd.add_argument(
        "--min-svn", default=None, metavar="MAJOR.MINOR", help="also report machines with this boot manager SVN in dbx"
    )


def _secure_boot_args(args: argparse.Namespace) -> tuple[tuple[Anchor, ...], tuple[int, int] | None]:
    from media_builder.bootcheck import parse_svn
    from media_builder.efi import load_anchors

    test_cas = []
    for item in args.test_ca:
        role, sep, file = item.partition("=")
        if not sep or not file:
            raise UsageError(f"--test-ca {item!r} is not ROLE=FILE", "e.g. --test-ca windows-2023=lab-ca.pem")
        test_cas.append((role, Path(file)))
    min_svn = None
    if args.min_svn is not None:
        try:
            min_svn = parse_svn(args.min_svn)
        except ValueError:
            raise UsageError(f"--min-svn {args.min_svn!r} is not MAJOR.MINOR", "e.g. --min-svn 7.0") from None
    return load_anchors(args.ca_cert, test_cas=test_cas), min_svn


def _is_pe(path: Path) -> bool:
    """Whether `path` is a PE file (an EFI binary `inspect` reads on its own rather than as part of a build)."""
    from media_builder.efi import is_pe

    try:
        with open(path, "rb") as fh:
            return is_pe(fh.read(4096))
    except OSError:
        return False


def _run(args: argparse.Namespace) -> int:
    if args.command == "check":
        from media_builder.definition import load_definition

        definition = load_definition(args.media)
        images = ", ".join(f"{i.name} ({i.arch}, {i.hook})" for i in definition.boot_images)
        print(f"{definition.file}: OK: {images}; outputs: {', '.join(definition.outputs)}")
        return 0
    if args.command == "build":
        from media_builder.build import BuildOptions, run_build
        from media_builder.definition import load_definition
        from media_builder.progress import Progress

        if args.jobs < 0:
            raise UsageError("--jobs must be 0 (automatic) or more", "e.g. --jobs 2")
        definition = load_definition(args.media)
        anchors, min_svn = _secure_boot_args(args)
        options = BuildOptions(
            out_dir=args.output,
            force=args.force,
            dry_run=args.dry_run,
            jobs=args.jobs,
            cache_dir=args.cache,
            anchors=anchors,
            min_svn=min_svn,
        )
        progress = Progress(sys.stdout if args.dry_run else sys.stderr, quiet=args.quiet and not args.dry_run)
        manifest = run_build(definition, options, progress)
        if manifest:
            from media_builder.bootcheck import describe_ca

            for image in manifest["boot_images"]:
                for output in image["outputs"]:
                    size = sum(f["size"] for f in output["files"])
                    sb = output.get("secure_boot")
                    ca = (
                        f", {sb['label']} media (its boot manager {describe_ca(sb['ca'])})"
                        if sb and sb["media"]
                        else ""
                    )
                    print(f"{output['path']}: {len(output['files'])} file(s), {size} bytes{ca}")
            print(f"manifest: {args.output / 'manifest.json'} (total {manifest['timings']['total']:.1f} s)")
        return 0
    if args.command == "inspect":
        anchors, min_svn = _secure_boot_args(args)
        if args.output.suffix.casefold() == ".efi" or _is_pe(args.output):
            from media_builder.bootcheck import efi_file_lines

            print("\n".join(efi_file_lines(args.output, anchors, min_svn)))
            return 0
        from media_builder.verify import inspect

        print("\n".join(inspect(args.output, anchors=anchors, min_svn=min_svn)))
        return 0
    if args.command == "verify":
        from media_builder.verify import require_verified

        anchors, min_svn = _secure_boot_args(args)
        count, report = require_verified(args.output, anchors=anchors, min_svn=min_svn)
        print("\n".join(report))
        print(f"{args.output}: {count} output(s) verified against the manifest")
        return 0
    from media_builder import catalog_build

    if args.command == "keygen":
        return int(catalog_build.cmd_keygen(args.dir))
    if args.command == "fetch":
        return int(catalog_build.cmd_fetch(*_catalog_parts(args.media), args.output, serial=args.serial,
                                           valid_days=args.valid_days))
    if args.command == "publish":
        return int(catalog_build.cmd_publish(*_catalog_parts(args.media), args.dir, serial=args.serial,
                                             valid_days=args.valid_days))
    raise UsageError(f"unknown command {args.command!r}", f"run `{PROG} --help`")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; PrestartError.code becomes the exit status, with the message and the hint on stderr."""
    try:
        args = _parser().parse_args(argv)
        # The agent's modules (prestart.proc logs every failed command) and the libraries (requests, urllib3)
        # log to stderr as "name: message", warnings and errors only unless --verbose.
        sink = StreamSink(level=logging.DEBUG if args.verbose else logging.WARNING)
        add_sink(sink)
        try:
            return _run(args)
        finally:
            remove_sink(sink)
    except ValidationFailed as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"{PROG}: hint: {exc.hint}", file=sys.stderr)
        return int(exc.code)
    except PrestartError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"{PROG}: hint: {exc.hint}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted; no partial output was left behind", file=sys.stderr)
        return int(ExitCode.CANCELLED)
    except ModuleNotFoundError as exc:
        # The builder's own libraries are the `builder` extra: an agent-only install lacks them.
        missing = (exc.name or "").partition(".")[0]
        if missing not in _BUILDER_EXTRA:
            raise
        print(f"{PROG}: error: this command needs {_BUILDER_EXTRA[missing]}, which is not installed", file=sys.stderr)
        print(f"{PROG}: hint: install the media builder's extra: pip install 'prestart[builder]'", file=sys.stderr)
        return int(ExitCode.INVALID_DATA)
    except BrokenPipeError:
        # The reader stopped early (`prestart-media inspect out | head`): what it read is all it wanted.
        # stdout goes to the null device, so the interpreter's last flush cannot fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())


def _catalog_parts(media: Path) -> tuple[list[Any], Path, Path, Callable[[Any], None]]:
    """(raw sources, signing key, base folder, secret check) of a media definition, for fetch and publish (no
    profile needed): the catalog is checked for secrets before it is signed, as a build does."""
    from media_builder.build import check_catalog_secrets
    from media_builder.definition import load_definition

    definition = load_definition(media, check_profile=False)

    def check(catalog: Any) -> None:
        check_catalog_secrets(definition, catalog)

    return list(definition.catalog.sources), definition.catalog.signing_key, definition.base_dir, check
