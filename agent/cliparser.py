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
        Option("--profile", "FILE", "the profile (YAML, or compiled JSON); default: profile.json beside the agent"),
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
            "where prestart.log and the receipt go (default: _SMSTSLogPath, else X:\\Windows\\Temp\\SMSTSLog in "
            "WinPE, else prestart-logs in the temporary folder: $TMPDIR or /tmp, %%TEMP%% on Windows)",
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


class RawHelpFormatter(argparse.HelpFormatter):
    """Prose wrapped to the terminal; indented lines (examples, the exit code table) kept as written (prestart
    and prestart-media)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if not line or line.startswith(" ") or len(indent + line) <= width:
                lines.append(indent + line)
            else:
                lines.append(super()._fill_text(line, width, indent))
        return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage; a task sequence expects 87 (ERROR_INVALID_PARAMETER)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def example_epilog(*lines: str) -> str:
    """A command's epilog: its examples, as a user would type them (prestart and prestart-media)."""
    return "example" + ("s" if len(lines) > 1 else "") + ":\n" + "\n".join(f"  {line}" for line in lines)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the top level and that one command (what parse_args needs)."""
    parser = _Parser(
        prog="prestart",
        description="Prestart: gather facts, apply rules, ask what is left, and hand task sequence variables "
        "to the boot engine (ConfigMgr, MDT or plain WinPE).",
        epilog=EXIT_CODES_HELP + "\n\n" + example_epilog("prestart check profile.yaml --catalog catalog.json",
                                                     "prestart run --help"),
        formatter_class=RawHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"prestart {__version__}", help="print the version")
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
        "files the media builder put beside the executable are used (profile.json, catalog.json, catalog.pub, "
        "ca-bundle.pem). Logs go to --log-dir (see below).",
        epilog=EXIT_CODES_HELP + "\n\n" + example_epilog(
            "prestart run --profile technician.yaml --catalog catalog.json --facts laptop.json \\\n"
            "      --answers answers.yaml --unattended --sink json:out.json"
        ),
        formatter_class=RawHelpFormatter,
    )
    _add_table(run, RUN)


def _add_check(sub: argparse._SubParsersAction[Any]) -> None:
    check = sub.add_parser(
        "check",
        help="validate a profile (every problem, with file:line: path)",
        description="Check a profile's structure and meaning in one pass (and the catalog's, with --catalog); "
        "every problem as FILE:LINE: path: message (hint: ...); exit 13 when there is any.",
        epilog=example_epilog("prestart check technician.yaml --catalog catalog.json --task-sequence ts.xml"),
        formatter_class=RawHelpFormatter,
    )
    check.add_argument("profile", metavar="PROFILE", help="the profile (YAML)")
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
        epilog=example_epilog("prestart compile technician.yaml -o profile.json --catalog catalog.json"),
        formatter_class=RawHelpFormatter,
    )
    comp.add_argument("profile", metavar="PROFILE", help="the profile (YAML)")
    comp.add_argument("-o", "--output", metavar="FILE", required=True, help="where to write the compiled profile")
    comp.add_argument("--catalog", metavar="FILE", help="also check lists and {item.*} against this catalog")


def _add_schema(sub: argparse._SubParsersAction[Any]) -> None:
    schema = sub.add_parser(
        "schema",
        help="print a JSON Schema (2020-12) for editors",
        description="Print the JSON Schema (2020-12) of a profile, a catalog or an answers file, for an editor's "
        "completion and checks.",
        epilog=example_epilog("prestart schema profile > profile.schema.json"),
        formatter_class=RawHelpFormatter,
    )
    schema.add_argument("kind", nargs="?", default="profile", choices=["profile", "catalog", "answers"],
                        help="which file's schema (default: profile)")


def _add_facts(sub: argparse._SubParsersAction[Any]) -> None:
    facts = sub.add_parser(
        "facts",
        help="print this machine's facts as JSON (MDT names)",
        description="Gather this machine's facts (SMBIOS, network, firmware, power) as the agent would, and "
        "print them as JSON with MDT's names.",
        epilog=example_epilog(
            "prestart facts", "sudo dmidecode --dump-bin dump.bin && prestart facts --smbios dump.bin"
        ),
        formatter_class=RawHelpFormatter,
    )
    facts.add_argument("--smbios", metavar="FILE", help="a `dmidecode --dump-bin` file instead of this machine")
    facts.add_argument("--facts", metavar="FILE", help="merge facts from a JSON file over the gathered ones")


def _add_preview(sub: argparse._SubParsersAction[Any]) -> None:
    preview = sub.add_parser(
        "preview",
        help="show the UI on any desktop; commit nothing, print the variables",
        description="Show the same pages as `run` would, on this desktop. Nothing is "
        "committed; the variables that would be set are printed as JSON.",
        epilog=example_epilog("prestart preview technician.yaml --facts laptop.json --catalog catalog.json"),
        formatter_class=RawHelpFormatter,
    )
    _add_table(preview, PREVIEW)


def _add_table(parser: argparse.ArgumentParser, command: Command) -> None:
    """A command whose arguments the tables above hold (the boot engine's commands: run and preview)."""
    for name in command.positionals:
        parser.add_argument(name, metavar=name.upper(), help=_POSITIONAL_HELP[name])
    for option in command.options:
        if option.metavar is None:
            parser.add_argument(option.flag, action="store_true", help=option.help)
        else:
            parser.add_argument(option.flag, metavar=option.metavar, help=option.help)


_POSITIONAL_HELP = {"profile": "the profile (YAML, or compiled JSON)"}


def _add_pin_hash(sub: argparse._SubParsersAction[Any]) -> None:
    pin = sub.add_parser(
        "pin-hash",
        help="make a scrypt hash of a technician PIN for kiosk.technician_unlock",
        description="Ask for a PIN twice (or read it from standard input) and print its salted scrypt hash "
        "for a kiosk profile's `technician_unlock.pin_hash`. Only the hash goes on media.",
        epilog=example_epilog("prestart pin-hash", "printf %s YOURPIN | prestart pin-hash --stdin"),
        formatter_class=RawHelpFormatter,
    )
    pin.add_argument("--stdin", action="store_true", help="read the PIN from standard input instead of prompting")


def _add_sequence(sub: argparse._SubParsersAction[Any]) -> None:
    seq = sub.add_parser(
        "sequence",
        help="task sequences: what will run, normalise the XML, list an export",
        description="Read a ConfigMgr or MDT task sequence (the `<sequence>` XML, an export's object.xml, or the "
        "console export .zip): what it will run with given facts and variables (run, skip or decided at run "
        "time, with the reason), the XML read and written back without loss, or the sequences an export holds.",
        epilog=example_epilog("prestart sequence plan ts.xml --variables vars.json"),
        formatter_class=RawHelpFormatter,
    )
    seq_sub = seq.add_subparsers(dest="sequence_command", metavar="ACTION", parser_class=_Parser)
    which = "which task sequence of an export zip that holds several (package ID or name)"
    plan = seq_sub.add_parser(
        "plan",
        help="print what will run as JSON: run, skip or runtime, with the reason",
        description="Walk the sequence with the given facts and variables; print every step with whether it "
        "runs, is skipped or is decided at run time, and why, as JSON.",
        epilog=example_epilog("prestart sequence plan ts.xml --facts laptop.json --variables out.json"),
        formatter_class=RawHelpFormatter,
    )
    plan.add_argument("xml", metavar="FILE", help="sequence XML, an export's object.xml, or the export .zip")
    plan.add_argument("--facts", metavar="FILE", help="facts (a JSON object) the conditions may read")
    plan.add_argument("--variables", metavar="V.json", help="variables (a JSON object), e.g. a run's --sink json:")
    plan.add_argument("--fail", metavar="STEP", help="simulate this step failing: its path, name or plan index")
    plan.add_argument("--sequence", metavar="ID", help=which)
    norm = seq_sub.add_parser(
        "normalize",
        help="read and write the sequence XML back, as the same kind of file",
        description="Read the sequence and write it back without loss (comments, declaration, attribute order); "
        "a wrapper is written back as a wrapper.",
        epilog=example_epilog("prestart sequence normalize ts.xml -o -"),
        formatter_class=RawHelpFormatter,
    )
    norm.add_argument("xml", metavar="FILE", help="the task sequence XML (or an export, with -o)")
    norm.add_argument("-o", "--output", metavar="OUT", help="write here ('-' = standard output); default: in place")
    norm.add_argument("--sequence", metavar="ID", help=which)
    listing = seq_sub.add_parser(
        "list",
        help="the task sequences a file holds and the packages they reference",
        description="List the task sequences of an export zip (or one XML file) and the packages each references.",
        epilog=example_epilog("prestart sequence list export.zip"),
        formatter_class=RawHelpFormatter,
    )
    listing.add_argument("xml", metavar="FILE", help="an export .zip, an object.xml or a sequence XML")


def _add_import(sub: argparse._SubParsersAction[Any]) -> None:
    imp = sub.add_parser(
        "import",
        help="turn MDT rules, UI++ or TsGui configurations into a profile and a report",
        description="Write a profile that does what the source did, and beside it a report "
        "(PROFILE.import-report.txt) of everything that did not carry over, each with the line it came from. "
        "The profile passes `prestart check`; see docs/migrating.md.",
        epilog=example_epilog("prestart import mdt CustomSettings.ini Bootstrap.ini -o profile.yaml"),
        formatter_class=RawHelpFormatter,
    )
    imp.add_argument("source", metavar="SOURCE", choices=["mdt", "uipp", "tsgui"], help="mdt, uipp or tsgui")
    imp.add_argument("files", metavar="FILE", nargs="+",
                     help="mdt: CustomSettings.ini [Bootstrap.ini]; uipp: UI++.xml; tsgui: Config.xml")
    imp.add_argument("-o", "--output", metavar="PROFILE.yaml", required=True, help="where to write the profile")


_COMMANDS = {
    "run": _add_run,
    "check": _add_check,
    "compile": _add_compile,
    "schema": _add_schema,
    "facts": _add_facts,
    "preview": _add_preview,
    "pin-hash": _add_pin_hash,
    "sequence": _add_sequence,
    "import": _add_import,
}


def parse_args(arguments: Sequence[str]) -> argparse.Namespace:
    """argparse's reading of `arguments` (UsageError on a mistake; SystemExit after --help or --version)."""
    given = arguments[0] if arguments and arguments[0] in _COMMANDS else None
    return build_parser(only=given).parse_args(arguments)


def print_help() -> None:
    build_parser().print_help()
