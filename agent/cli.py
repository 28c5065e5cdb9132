"""The `prestart` command line: parse, dispatch to the command, turn its outcome into an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from agent import cliparser
from agent.errors import ExitCode, InputError, PrestartError, UsageError, ValidationFailed
from agent.run import RunOptions, current_redactor, load_catalog_arg, preview, run
from agent.stdio import make_std_streams_safe


def main(argv: Sequence[str] | None = None) -> int:
    make_std_streams_safe()  # a Windows pipe is cp1252: JSON and names like Łódź must still come out
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = cliparser.parse_args(arguments)
    except UsageError as exc:
        _print_error(exc)
        return int(exc.code)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if args.command is None:
        cliparser.print_help()
        return int(ExitCode.INVALID_PARAMETER)
    command = args.command
    try:
        handler = {
            "run": cmd_run,
            "check": cmd_check,
            "compile": cmd_compile,
            "schema": cmd_schema,
            "facts": cmd_facts,
            "preview": cmd_preview,
            "pin-hash": cmd_pin_hash,
            "sequence": cmd_sequence,
            "import": cmd_import,
        }[command]
        return handler(args)
    except PrestartError as exc:
        redactor = current_redactor()
        if redactor is not None:
            exc.message, exc.hint = redactor.redact(exc.message), redactor.redact(exc.hint)
        _print_error(exc)
        # POSIX keeps only 8 bits of an exit code (1223 -> 199); say the real one.
        print(f"prestart: exit {int(exc.code)} ({_win32_name(exc.code)})", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("prestart: cancelled", file=sys.stderr)
        return int(ExitCode.CANCELLED)
    except BrokenPipeError:
        # The reader stopped early (`prestart schema | head -1`): what it read is all it wanted.
        _discard_stdout()
        return 0
    except Exception as exc:  # a bug: say so, keep the traceback (in the log when there is one)
        text = f"{exc.__class__.__name__}: {exc}"
        trace = traceback.format_exc()
        redactor = current_redactor()
        if redactor is not None:  # secrets typed during the run must not reach stderr either
            text, trace = redactor.redact(text), redactor.redact(trace)
            print("prestart: the traceback is in prestart.log", file=sys.stderr)
        else:
            print(trace, file=sys.stderr, end="")
        print(f"prestart: internal error: {text}", file=sys.stderr)
        print(f"prestart: exit {int(ExitCode.INTERNAL_ERROR)} (ERROR_INTERNAL_ERROR)", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)


def _discard_stdout() -> None:
    """Point stdout at the null device, so flushing what is left at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _win32_name(code: ExitCode) -> str:
    return "ERROR_SUCCESS" if code == 0 else f"ERROR_{code.name}"


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_error(exc: PrestartError) -> None:
    if isinstance(exc, ValidationFailed):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"prestart: {len(exc.problems)} problem(s)", file=sys.stderr)
        return
    print(f"prestart: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"prestart: hint: {exc.hint}", file=sys.stderr)


# -- check / schema / facts --------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from agent.errors import DataError, Problem, ValidationFailed
    from agent.profile import check_file

    # An invalid catalog is reported beside the profile's problems, not instead of them.
    catalog_problems: list[Problem | str] = []
    try:
        loaded = load_catalog_arg(args.catalog)
    except ValidationFailed as exc:
        from agent.yamlio import add_lines

        loaded, catalog_problems = None, add_lines(exc.problems, args.catalog)
    except (InputError, DataError) as exc:
        loaded, catalog_problems = None, [str(exc)]
    profile, found, warnings = check_file(args.profile, loaded.catalog if loaded else None)
    problems = catalog_problems + list(found)
    if profile is not None and args.task_sequence:
        from agent.tasksequence.cli import contract_warnings

        for xml in args.task_sequence:
            warnings += contract_warnings(profile, Path(xml), loaded.catalog if loaded else None)
    for warning in warnings:
        print(f"{warning} [warning]", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"prestart: {args.profile}: {len(problems)} problem(s); exit 13", file=sys.stderr)
        return int(ExitCode.INVALID_DATA)
    extra = f", {len(warnings)} warning(s)" if warnings else ""
    print(f"{args.profile}: ok{extra}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from agent import files
    from agent.profile import compile_profile

    loaded = load_catalog_arg(args.catalog)
    files.write_text(args.output, compile_profile(args.profile, loaded.catalog if loaded else None))
    print(f"{args.output}: compiled from {args.profile}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.kind == "profile":
        from agent.profile.schema import profile_json_schema

        doc = profile_json_schema()
    elif args.kind == "catalog":
        from agent.catalog.schema import catalog_json_schema

        doc = catalog_json_schema()
    else:
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Prestart answers",
            "description": "field id -> value (text, true/false, or a list of ids); confirm page id -> typed text",
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "array"]},
        }
    _print_json(doc)
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    from agent.facts import cli_facts

    _print_json(cli_facts(args.smbios, args.facts))
    return 0


def cmd_pin_hash(args: argparse.Namespace) -> int:
    from agent.auth.pin import hash_pin

    if args.stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
        if not pin:
            raise UsageError("no PIN on standard input", "pipe it in: `printf %s YOURPIN | prestart pin-hash --stdin`")
    else:
        import getpass

        if not sys.stdin.isatty():  # getpass would echo the PIN, or end with EOFError on an empty input
            raise UsageError("no terminal to type the PIN at", "run it in a terminal, or pipe the PIN in with --stdin")
        try:
            pin = getpass.getpass("PIN: ")
            again = getpass.getpass("PIN again: ")
        except EOFError:
            raise UsageError("no PIN given (the input ended)", "type the PIN, then Enter") from None
        if again != pin:
            raise UsageError("the two PINs differ", "type the same PIN twice")
    if len(pin) < 4:
        raise UsageError("a PIN needs at least 4 characters", "choose a longer PIN")
    print(hash_pin(pin))
    return 0


def cmd_sequence(args: argparse.Namespace) -> int:
    from agent.tasksequence import cli as ts_cli

    if args.sequence_command == "plan":
        return ts_cli.cmd_plan(args.xml, args.facts, args.variables, args.fail, sequence=args.sequence)
    if args.sequence_command == "normalize":
        return ts_cli.cmd_normalize(args.xml, args.output, sequence=args.sequence)
    if args.sequence_command == "list":
        return ts_cli.cmd_list(args.xml)
    raise UsageError("prestart sequence: choose `plan`, `normalize` or `list`", "see `prestart sequence --help`")


def cmd_import(args: argparse.Namespace) -> int:
    from agent.importers import import_files

    imported, report = import_files(args.source, [Path(f) for f in args.files], Path(args.output))
    print(f"{args.output}: imported from {', '.join(args.files)}; "
          f"{len(imported.notes)} item(s) did not carry over, see {report}")
    return 0


# -- run and preview: agent.run -----------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    return run(RunOptions.from_namespace(args))


def cmd_preview(args: argparse.Namespace) -> int:
    _print_json(preview(RunOptions.from_namespace(args, preview=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
