"""agent.cliargs: the boot engine's command lines read without argparse, exactly as argparse reads them."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent import cliargs, cliparser
from agent.cli import main
from agent.errors import UsageError

FUZZ = settings(
    max_examples=int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Values as people and build scripts write them: paths with spaces, '=' and backslashes, UNC and drive
# paths, empty strings, non-ASCII names.
VALUES = st.one_of(
    st.sampled_from(["", "X:\\sms\\bin\\profile.json", "\\\\server\\share\\a b.json", "json:C:\\out=1.json",
                     "Ωmega.yaml", "a=b", "technician"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12).filter(
        lambda text: not text.startswith("-")
    ),
)  # fmt: skip


@st.composite
def plain_command_lines(draw: st.DrawFn) -> list[str]:
    """A run or preview command line in the forms the boot engine and people use."""
    name = draw(st.sampled_from(sorted(cliargs.FAST)))
    command = cliargs.FAST[name]
    tokens: list[list[str]] = [[draw(VALUES)] for _ in command.positionals]
    for option in draw(st.lists(st.sampled_from(command.options), max_size=8)):  # repeats: the last one wins
        if option.metavar is None:
            tokens.append([option.flag])
        elif draw(st.booleans()):
            tokens.append([f"{option.flag}={draw(VALUES | st.just('-x'))}"])  # after '=', even '-x' is a value
        else:
            tokens.append([option.flag, draw(VALUES)])
    order = draw(st.permutations(range(len(tokens))))
    return [name] + [token for index in order for token in tokens[index]]


def _argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(cliparser.parse_args(argv))
    except (UsageError, SystemExit):
        return None


@FUZZ
@given(plain_command_lines())
@example(["preview", "profile.json"])
@example(["run", "--profile=", "--unattended", "--unattended", "--role", "a", "--role=b"])
@example(["preview", "", "--facts", "f.json"])  # an empty positional is still one
def test_plain_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    fast = cliargs.parse_fast(argv)
    assert fast is not None, argv  # the forms the boot engine uses never pay for argparse
    assert vars(fast) == _argparse(argv)


ODD_TOKENS = st.sampled_from(
    ["-h", "--help", "--", "-", "--prof", "--profile", "--unattended=yes", "--kiosk", "-x", "--nope", "--facts=",
     "--role", "-1", "--version", "extra", "--sink json:a b", ""]
)  # fmt: skip


@FUZZ
@given(plain_command_lines(), st.lists(st.tuples(st.integers(0, 20), ODD_TOKENS), min_size=1, max_size=3))
@example(["run"], [(1, "--prof"), (2, "p.yaml")])  # an abbreviation argparse accepts: argparse reads it
@example(["run"], [(1, "--profile")])  # the value is missing
@example(["run", "--role"], [(2, "-1")])  # a value that starts with '-'
@example(["preview", "p.json"], [(1, "--")])
@example(["preview"], [(1, "-")])  # '-' is a positional to argparse
def test_every_other_command_line_is_left_to_argparse_or_read_the_same(
    plain: list[str], odd: list[tuple[int, str]]
) -> None:
    argv = list(plain)
    for position, token in odd:
        argv.insert(min(max(position, 1), len(argv)), token)
    fast = cliargs.parse_fast(argv)
    if fast is not None:  # whatever it reads, it reads as argparse does, and argparse accepts it
        assert vars(fast) == _argparse(argv), argv


@pytest.mark.parametrize(
    "argv",
    [[], ["facts"], ["check", "p.yaml"], ["sequence", "plan", "ts.xml"], ["--version"], ["run", "-h"],
     ["run", "--prof", "p.yaml"], ["run", "--profile"], ["preview"], ["preview", "a", "b"], ["run", "x"],
     ["run", "--unattended=1"], ["run", "--role", "-1"], ["run", "--", "--role"]],
)  # fmt: skip
def test_what_it_cannot_read_it_leaves_to_argparse(argv: list[str]) -> None:
    assert cliargs.parse_fast(argv) is None


def test_mistakes_still_get_argparse_messages_and_exit_87(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile"]) == 87
    assert "argument --profile: expected one argument" in capsys.readouterr().err
    assert main(["preview", "a.yaml", "b.yaml"]) == 87
    assert "unrecognized arguments: b.yaml" in capsys.readouterr().err
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for option in cliargs.RUN.options:  # the table is what --help shows
        assert option.flag in out
    assert "--trust-key FILE" in out and "--role ROLE" in out and "exit codes" in out
