"""`prestart-media`: check a media definition, build boot media, inspect and verify outputs, manage the catalog."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from agent.errors import ExitCode, PrestartError, UsageError, ValidationFailed
from agent.log import StreamSink, add_sink, remove_sink

PROG = "prestart-media"


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 87, like every other bad command line) instead of exiting with 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"run `{self.prog} --help`")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Build Prestart boot media from a media definition (media.yaml).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command run")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="validate a media definition and its profile; list every problem")
    check.add_argument("media", type=Path, help="the media definition (media.yaml)")

    build = sub.add_parser("build", help="build every boot image's outputs and a manifest")
    build.add_argument("media", type=Path, help="the media definition (media.yaml)")
    build.add_argument("-o", "--out", type=Path, default=Path("out"), help="output folder (default: ./out)")
    build.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    build.add_argument("--force", action="store_true", help="replace outputs that already exist")
    build.add_argument("--jobs", type=int, default=0, metavar="N", help="boot images built in parallel")
    build.add_argument(
        "--cache", type=Path, default=None, metavar="DIR", help="frozen agent cache (default: OUT/.cache)"
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    inspect = sub.add_parser("inspect", help="describe a built output (or the whole output folder)")
    inspect.add_argument("output", type=Path)
    verify = sub.add_parser("verify", help="read a built output back and compare it with the manifest")
    verify.add_argument("output", type=Path)

    keygen = sub.add_parser("keygen", help="create the catalog signing key pair (catalog.key, catalog.pub)")
    keygen.add_argument("dir", type=Path)
    fetch = sub.add_parser("fetch", help="fetch and sign the catalog a media definition describes")
    fetch.add_argument("media", type=Path)
    fetch.add_argument("-o", "--out", type=Path, required=True, metavar="FILE")
    publish = sub.add_parser("publish", help="fetch, sign and publish the catalog into a folder for refresh")
    publish.add_argument("media", type=Path)
    publish.add_argument("dir", type=Path)
    for catalog_cmd in (fetch, publish):
        catalog_cmd.add_argument("--serial", type=int, default=None, help="catalog serial (default: from the time)")
        catalog_cmd.add_argument("--valid-days", type=int, default=None, metavar="N", help="set not_after N days ahead")
    return parser


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
        options = BuildOptions(
            out_dir=args.out, force=args.force, dry_run=args.dry_run, jobs=args.jobs, cache_dir=args.cache
        )
        progress = Progress(sys.stdout if args.dry_run else sys.stderr, quiet=args.quiet and not args.dry_run)
        manifest = run_build(definition, options, progress)
        if manifest:
            for image in manifest["boot_images"]:
                for output in image["outputs"]:
                    size = sum(f["size"] for f in output["files"])
                    print(f"{output['path']}: {len(output['files'])} file(s), {size} bytes")
            print(f"manifest: {args.out / 'manifest.json'} (total {manifest['timings']['total']:.1f} s)")
        return 0
    if args.command == "inspect":
        from media_builder.verify import inspect

        print("\n".join(inspect(args.output)))
        return 0
    if args.command == "verify":
        from media_builder.verify import require_verified

        count = require_verified(args.output)
        print(f"{args.output}: {count} output(s) verified against the manifest")
        return 0
    from media_builder import catalog_build

    if args.command == "keygen":
        return int(catalog_build.cmd_keygen(args.dir))
    if args.command == "fetch":
        return int(catalog_build.cmd_fetch(args.media, args.out, serial=args.serial, valid_days=args.valid_days))
    if args.command == "publish":
        return int(catalog_build.cmd_publish(args.media, args.dir, serial=args.serial, valid_days=args.valid_days))
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


if __name__ == "__main__":
    sys.exit(main())
