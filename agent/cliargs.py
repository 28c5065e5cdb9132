"""The options of `prestart run` and `prestart preview` as data, and a reader of their plain forms without argparse."""

from __future__ import annotations

from types import SimpleNamespace

from agent.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class Option(Record):
    """One `--name` of a command; `metavar` None makes it a switch (True when given)."""

    flag: str
    metavar: str | None
    help: str

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")


class Command(Record):
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

FAST = {"run": RUN, "preview": PREVIEW}


def parse_fast(argv: Sequence[str]) -> SimpleNamespace | None:
    """`run` and `preview` arguments in their plain forms, read as argparse reads them; None for anything else.

    Plain forms: `--name VALUE`, `--name=VALUE`, switches, positionals that do not start with `-`. Help,
    mistakes, abbreviated options, `--` and values that start with `-` return None: argparse (agent.cliparser)
    then reads them and answers. Importing argparse, with the gettext it imports, and building the parser
    cost ~3 ms of every boot: a tenth of a frozen headless run (bench/tried.md). A property test holds this
    reader to argparse's result for every form it accepts.
    """
    if not argv or argv[0] not in FAST:
        return None
    command = FAST[argv[0]]
    options = {option.flag: option for option in command.options}
    values: dict[str, object] = {"command": argv[0]}
    values.update((option.dest, None if option.metavar else False) for option in command.options)
    given: list[str] = []
    tokens = iter(argv[1:])
    for token in tokens:
        if not token.startswith("-"):
            given.append(token)
            continue
        flag, equals, value = token.partition("=")
        option = options.get(flag)
        if option is None:
            return None
        if option.metavar is None:
            if equals:
                return None  # argparse: "ignored explicit argument"
            values[option.dest] = True
            continue
        if not equals:
            value = next(tokens, "-")  # a missing value reads as one that starts with "-": argparse's to answer
            if value.startswith("-"):
                return None
        values[option.dest] = value
    if len(given) != len(command.positionals):
        return None
    values.update(zip(command.positionals, given, strict=True))
    return SimpleNamespace(**values)
