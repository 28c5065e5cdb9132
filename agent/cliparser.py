"""The whole `prestart` command line: one table of options per command, and the argparse parser built from it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from agent import __version__
from agent.errors import UsageError

EXIT_CODES_HELP = """\
exit codes (Win32 codes; a task sequence shows them in hex):
  0     success: variables committed
  5     ERROR_ACCESS_DENIED: sign-in failed too many times
  13    ERROR_INVALID_DATA: profile, catalog, answers or signature invalid
  21    ERROR_NOT_READY: a preflight check failed
  87    ERROR_INVALID_PARAMETER: bad command line
  1168  ERROR_NOT_FOUND: an unattended run cannot resolve a required value
  1223  ERROR_CANCELLED: the user cancelled or the countdown ran out
  1359  ERROR_INTERNAL_ERROR: an unexpected error (logged with a traceback)
On any non-zero exit no variable is written."""


class Option(NamedTuple):
    """One `--name` of a command; `metavar` None makes it a switch (True when given)."""

    flag: str
    metavar: str | None
    help: str

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")


class Command(NamedTuple):
    """A command the boot engine starts: its positional arguments (by name) and options."""

    positionals: tuple[str, ...]
    options: tuple[Option, ...]


RUN = Command(
    (),
    (
        Option("--profile", "FILE", "the profile (YAML); default: profile.yaml beside the agent"),
        Option("--catalog", "FILE", "the catalog (JSON, signed or not); default: the media's"),
        Option(
            "--trust-key",
            "FILE",
            "public key the catalog must be signed with; when given, an unsigned catalog is refused",
        ),
        Option("--ca-bundle", "FILE", "CA certificates for catalog refresh and sign-in"),
        Option("--facts", "FILE", "a JSON object of facts that replaces gathering"),
        Option("--smbios", "FILE", "read SMBIOS from a `dmidecode --dump-bin` file"),
        Option("--answers", "FILE", "answers: field id -> value, confirm page id -> typed text"),
        Option("--unattended", None, "answer every page from --answers; show no window"),
        Option(
            "--sink",
            "KIND:PATH",
            "write variables to a file instead of the engine: "
            "json:PATH, mdt:PATH (VARIABLES.DAT) or cmd:PATH (set lines)",
        ),
        Option("--hook", "NAME", "the boot engine: configmgr, mdt or winpe (default: detect)"),
        Option(
            "--log-dir",
            "DIR",
            "where prestart.log and the receipt go (default: _SMSTSLogPath, else X:\\Windows\\Temp\\SMSTSLog)",
        ),
        Option("--no-refresh", None, "use the catalog snapshot; do not fetch a newer one"),
        Option("--role", "ROLE", "start in this role instead of the profile's"),
    ),
)

PREVIEW = Command(
    ("profile",),
    (
        Option("--facts", "FILE", "a JSON object of facts instead of this machine's"),
        Option("--catalog", "FILE", "the catalog to show (JSON, signed or not)"),
        Option("--role", "ROLE", "start in this role instead of the profile's"),
        Option("--kiosk-windowed", None, "show a kiosk profile in a normal window"),
    ),
)


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage; a task sequence expects 87 (ERROR_INVALID_PARAMETER)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the top level and that one command (what parse_args needs)."""
    parser = _Parser(
        prog="prestart",
        description="Prestart: gather facts, apply rules, ask what is left, and hand task sequence variables "
        "to the boot engine (ConfigMgr, MDT or plain WinPE).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"prestart {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add in _COMMANDS.items():
        if only is None or name == only:
            add(sub)
    return parser


def _add_run(sub: argparse._SubParsersAction[Any]) -> None:
    run = sub.add_parser(
        "run",
        help="run the agent (what the boot engine starts)",
        description="Load the profile and catalog, gather facts, apply rules, show the pages (or answer them "
        "from --answers with --unattended), confirm, and commit every variable at once. Without --profile the "
        "files beside the executable are used (profile.yaml, catalog.json, catalog.pub, ca-bundle.pem).",
        epilog="example:\n  prestart run --profile technician.yaml --catalog catalog.json --facts laptop.json \\\n"
        "      --answers answers.yaml --unattended --sink json:out.json\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_table(run, RUN)


def _add_check(sub: argparse._SubParsersAction[Any]) -> None:
    check = sub.add_parser(
        "check",
        help="validate a profile (every problem, with file:line: path)",
        description="Check a profile's structure and meaning; exit 13 when any problem.",
    )
    check.add_argument("profile", metavar="PROFILE")
    check.add_argument("--catalog", metavar="FILE", help="also check lists and {item.*} against this catalog")
    check.add_argument(
        "--task-sequence",
        metavar="FILE.xml",
        action="append",
        default=[],
        help="warn about variables the sequence reads that nothing sets, and offered values no condition matches",
    )


def _add_compile(sub: argparse._SubParsersAction[Any]) -> None:
    comp = sub.add_parser(
        "compile",
        help="validate a profile and write it as compact JSON for media",
        description="The media builder stores profiles compiled: JSON is YAML too, and the agent "
        "reads it about 20x faster than YAML (it matters with thousands of rules).",
    )
    comp.add_argument("profile", metavar="PROFILE")
    comp.add_argument("-o", "--output", metavar="FILE", required=True)
    comp.add_argument("--catalog", metavar="FILE")


def _add_schema(sub: argparse._SubParsersAction[Any]) -> None:
    schema = sub.add_parser("schema", help="print a JSON Schema (2020-12) for editors")
    schema.add_argument("kind", nargs="?", default="profile", choices=["profile", "catalog", "answers"])


def _add_facts(sub: argparse._SubParsersAction[Any]) -> None:
    facts = sub.add_parser("facts", help="print this machine's facts as JSON (MDT names)")
    facts.add_argument("--smbios", metavar="FILE", help="a `dmidecode --dump-bin` file instead of this machine")
    facts.add_argument("--facts", metavar="FILE", help="merge facts from a JSON file over the gathered ones")


def _add_preview(sub: argparse._SubParsersAction[Any]) -> None:
    preview = sub.add_parser(
        "preview",
        help="show the UI on any desktop; commit nothing, print the variables",
        description="Show the same pages as `run` would, on this desktop. Nothing is "
        "committed; the variables that would be set are printed as JSON.",
    )
    _add_table(preview, PREVIEW)


def _add_table(parser: argparse.ArgumentParser, command: Command) -> None:
    """A command whose arguments the tables above hold (the boot engine's commands: run and preview)."""
    for name in command.positionals:
        parser.add_argument(name, metavar=name.upper())
    for option in command.options:
        if option.metavar is None:
            parser.add_argument(option.flag, action="store_true", help=option.help)
        else:
            parser.add_argument(option.flag, metavar=option.metavar, help=option.help)


def _add_pin_hash(sub: argparse._SubParsersAction[Any]) -> None:
    pin = sub.add_parser("pin-hash", help="make a scrypt hash of a technician PIN for kiosk.technician_unlock")
    pin.add_argument("--stdin", action="store_true", help="read the PIN from standard input instead of prompting")


def _add_sequence(sub: argparse._SubParsersAction[Any]) -> None:
    seq = sub.add_parser("sequence", help="task sequences: what will run, normalise the XML")
    seq_sub = seq.add_subparsers(dest="sequence_command", metavar="ACTION", parser_class=_Parser)
    plan = seq_sub.add_parser("plan", help="print what will run as JSON")
    plan.add_argument("xml", metavar="FILE.xml")
    plan.add_argument("--facts", metavar="FILE")
    plan.add_argument("--variables", metavar="V.json")
    plan.add_argument("--fail", metavar="STEP_NAME", help="simulate this step failing")
    norm = seq_sub.add_parser("normalize", help="read and write the sequence XML back")
    norm.add_argument("xml", metavar="FILE.xml")
    norm.add_argument("-o", "--output", metavar="OUT", help="write here ('-' = standard output); default: in place")


_COMMANDS = {
    "run": _add_run,
    "check": _add_check,
    "compile": _add_compile,
    "schema": _add_schema,
    "facts": _add_facts,
    "preview": _add_preview,
    "pin-hash": _add_pin_hash,
    "sequence": _add_sequence,
}


def parse_args(arguments: Sequence[str]) -> argparse.Namespace:
    """argparse's reading of `arguments` (UsageError on a mistake; SystemExit after --help or --version)."""
    given = arguments[0] if arguments and arguments[0] in _COMMANDS else None
    return build_parser(only=given).parse_args(arguments)


def print_help() -> None:
    build_parser().print_help()
