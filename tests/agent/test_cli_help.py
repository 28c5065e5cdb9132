"""`--help` answers questions: every argument has help text, every command's help ends with an example,
options are named alike across both tools, and both list their exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from agent.cliparser import build_parser
from media_builder.cli import _parser as media_parser
from tests.conftest import run_prestart


def _commands(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _commands(sub, f"{name} {sub_name}")


ALL = list(_commands(build_parser(), "prestart")) + list(_commands(media_parser(), "prestart-media"))


@pytest.mark.parametrize(("name", "parser"), ALL, ids=[name for name, _ in ALL])
def test_every_argument_has_help_and_the_help_ends_with_an_example(name: str, parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, f"{name}: {action.option_strings or action.dest}"
    text = parser.format_help()
    last = text.rstrip().rsplit("\n\n", 1)[-1]
    assert last.startswith("example"), f"{name} --help ends with:\n{last}"
    assert name.split()[0] + " " in last  # the example runs this tool


def test_output_options_are_named_alike() -> None:
    for name, parser in ALL:
        for action in parser._actions:
            if "-o" in action.option_strings:
                assert action.option_strings == ["-o", "--output"], name


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_prestart_help_lists_the_exit_codes(argv: list[str]) -> None:
    done = run_prestart(*argv)
    assert done.returncode == 0
    for code in ("0 ", "13 ", "21 ", "87 ", "1223 ", "1359 "):
        assert f"\n  {code}" in done.stdout


def test_prestart_media_help_lists_its_exit_codes() -> None:
    text = media_parser().format_help()
    assert "exit codes" in text
    for code in ("0 ", "13 ", "87 ", "1223 "):
        assert f"\n  {code}" in text


def test_run_help_says_where_logs_go_off_winpe() -> None:
    text = " ".join(run_prestart("run", "--help").stdout.split())
    assert "prestart-logs in the temporary folder" in text
    assert "profile.json beside the agent" in text and "profile.yaml" not in text
