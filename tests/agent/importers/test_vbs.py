"""UI++'s VBScript conditions and values: what translates, and what is refused rather than guessed."""

from __future__ import annotations

import pytest

from agent.expr import check, parse
from agent.importers.vbs import Untranslatable, condition, value


def mapper(name: str) -> str | None:
    return {"XOnBattery": "IsOnBattery", "XHWMemory": "Memory"}.get(name, None if name.startswith("XHW") else name)


@pytest.mark.parametrize(
    ("text", "expected", "truth"),
    [
        ('"%Site%" = "Ottawa"', 'Site == "Ottawa"', {"Site": "ottawa"}),
        ('"%XOnBattery%" = "False"', 'IsOnBattery == "False"', {"IsOnBattery": "False"}),
        ("%XHWMemory% >= 4000", "Memory >= 4000", {"Memory": "8192"}),
        ('"%A%" = "1" Or "%B%" = "2" And Not "%C%" <> ""', 'A == "1" or B == "2" and not (C != "")', {"B": "2"}),
        ('("%A%" = "1" Or "%B%" = "2") And "%C%" = ""', '((A == "1" or B == "2")) and C == ""', {"A": "1"}),
    ],
)
def test_conditions_translate_and_mean_the_same(text: str, expected: str, truth: dict[str, str]) -> None:
    translated, _ = condition(text, mapper)
    assert translated == expected
    parse(translated)
    assert check(translated, lambda n: next((v for k, v in truth.items() if k.casefold() == n.casefold()), ""))


@pytest.mark.parametrize(
    "text",
    ['Left("%X%", 2) = "AB"', '"%XHWChassisType%" = "Laptop"', '"pre-%X%" = "pre-1"', '"%A%" = '],
)
def test_conditions_that_are_refused(text: str) -> None:
    with pytest.raises(Untranslatable):
        condition(text, mapper)


@pytest.mark.parametrize(
    ("text", "expected"),
    [('"OU=X,DC=corp"\'', "OU=X,DC=corp"), ('"%Name%"', "{Name}"), ('"a" & "%B%" & "c"', "a{B}c"),
     ('"say ""hi"""', 'say "hi"'), ('"{braces}"', "{{braces}}")],
)
def test_values(text: str, expected: str) -> None:
    assert value(text, mapper) == expected


@pytest.mark.parametrize("text", ['Trim("%A%")', '"a" &', '"a" "b"', ""])
def test_values_that_are_refused(text: str) -> None:
    with pytest.raises(Untranslatable):
        value(text, mapper)
