"""Profile patterns cannot hang the agent: `like` is linear, validation regexes have a time limit, `check` warns
about nested repetition (issue 19)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import expr, patterns
from tests.conftest import SPEC, exit_status, run_prestart


def test_like_with_many_wildcards_on_a_long_value_is_instant() -> None:
    start = time.monotonic()
    assert not expr.like("a" * 200, "%a%a%a%a%b")
    assert expr.like("a" * 200 + "b", "%a%a%a%a%b")
    assert time.monotonic() - start < 0.5


def _like_by_regex(value: str, pattern: str) -> bool:
    import re

    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(body, value, re.DOTALL | re.IGNORECASE) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abAB%_.ßİ", max_size=8), st.text(alphabet="abAB.ß", max_size=12))
def test_like_agrees_with_the_regex_it_replaced(pattern: str, value: str) -> None:
    assert patterns.like(value, pattern) == _like_by_regex(value, pattern)


def test_a_catastrophic_validation_pattern_times_out_instead_of_hanging() -> None:
    start = time.monotonic()
    with pytest.raises(patterns.PatternTimeout):
        patterns.fullmatch(r"(a|aa)+b", "a" * 60)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("pattern,warned", [
    (r"([A-Za-z]+\s?)+", True), (r"(a*)*", True), (r"(?:x|y+)+", True),
    (r"[A-Za-z]+(\s[A-Za-z]+)*", True),  # safe in fact, but the rule is simple and only warns
    (r"[A-Za-z][A-Za-z ]*", False),  # what the warning suggests instead
    (r"[A-Z]{2}-[0-9]{4}", False), (r"(ab)+", False), (r"[a-z]+", False),
])
def test_nested_repetition_is_named(pattern: str, warned: bool) -> None:
    assert bool(patterns.pattern_problem(pattern)) == warned


def test_a_repeat_count_past_the_limit_is_a_problem_not_a_crash() -> None:
    assert "not a valid pattern" in (patterns.pattern_problem("a{4294967296}") or "")


def _profile(tmp_path: Path, regex: str) -> Path:
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["pages"][0]["fields"].append({"id": "owner", "type": "text", "label": "Owner", "variable": "PrestartOwner",
                                       "validate": {"regex": regex}})
    path = tmp_path / "profile.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_check_warns_about_a_catastrophic_pattern_and_refuses_an_impossible_one(tmp_path: Path) -> None:
    done = run_prestart("check", str(_profile(tmp_path, r"([A-Za-z]+\s?)+")))
    assert done.returncode == 0 and "a repeated group holds another repetition" in done.stderr
    done = run_prestart("check", str(_profile(tmp_path, "a{4294967296}")))
    assert done.returncode == exit_status(13), done.stderr
    assert "validate.regex" in done.stderr and "Traceback" not in done.stderr


def test_an_unattended_run_with_a_catastrophic_pattern_ends_quickly(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")
                       + "owner: " + "Abcdefghij" * 3 + "!\n", encoding="utf-8")
    start = time.monotonic()
    done = run_prestart("run", "--profile", str(_profile(tmp_path, r"([A-Za-z]+\s?)+")), "--catalog",
                        str(SPEC / "catalog.json"), "--facts", str(SPEC / "facts" / "laptop.json"), "--answers",
                        str(answers), "--unattended", "--sink", f"json:{tmp_path / 'out.json'}", "--log-dir",
                        str(tmp_path / "log"), timeout=60)
    assert time.monotonic() - start < 10
    assert done.returncode == exit_status(13), done.stderr
    assert "Owner" in done.stderr and not (tmp_path / "out.json").exists()
