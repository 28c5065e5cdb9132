"""Tests for agent.templates: `{Name}`, `{item.attr}`, filters, literal braces and `%NAME%`."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.catalog.model import Item
from agent.errors import InputError
from agent.templates import Template, TemplateError, parse_template, render
from agent.variables import Variables

FUZZ = settings(
    max_examples=int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FACTS = Variables(
    {
        "Make": "Dell Inc.",
        "Model": "Latitude 7440",
        "SerialNumber": "5cg1234xyz",
        "Padded": "  spaced out  ",
        "PrestartDeployment": "Windows 11 Enterprise",
        "OSDComputerName": "PC-1234XYZ",
    }
)
ITEM = Item(
    id="win11",
    label="Windows 11 Enterprise",
    value="win11",
    attrs={
        "id": "win11",
        "label": "Windows 11 Enterprise",
        "advertisement_id": "CM120001",
        "kind": "full",
        "name": "LAB-042",
        "Enabled": True,
        "size": 4.0,
    },
)


def r(text: str, item: Item | None = None) -> str:
    return render(text, FACTS.lookup, item)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the reference profiles' templates
        ("VM-{SerialNumber|right:8|upper}", "VM-G1234XYZ"),
        ("PC-{SerialNumber|right:7|upper}", "PC-1234XYZ"),
        ("LAB-{SerialNumber|right:6|upper}", "LAB-234XYZ"),
        ("{SerialNumber|right:4}", "4xyz"),
        (
            "This erases every disk of {Make} {Model} (serial {SerialNumber}) and installs "
            "{PrestartDeployment} as {OSDComputerName}.",
            "This erases every disk of Dell Inc. Latitude 7440 (serial 5cg1234xyz) and installs "
            "Windows 11 Enterprise as PC-1234XYZ.",
        ),
        # filters, left to right
        ("{Model|upper}", "LATITUDE 7440"),
        ("{Model|lower}", "latitude 7440"),
        ("[{Padded|trim}]", "[spaced out]"),
        ("[{Padded}]", "[  spaced out  ]"),
        ("{Model|left:3}", "Lat"),
        ("{Model|right:4}", "7440"),
        ("{Model|left:100}", "Latitude 7440"),
        ("{Model|right:100}", "Latitude 7440"),
        ("{Model|left:0}", ""),
        ("{Model|right:0}", ""),
        ("{Model|left:8|right:3|upper}", "UDE"),
        ("{Padded|trim|left:6}", "spaced"),
        ("{Padded|left:6|trim}", "spac"),
        # default replaces empty values only, verbatim
        ("{Missing|default:UNKNOWN}", "UNKNOWN"),
        ("{Missing|default:n/a|upper}", "N/A"),
        ("{Missing|upper|default:none yet}", "none yet"),
        ("{Model|default:UNKNOWN}", "Latitude 7440"),
        ("{Missing|default:}", ""),
        ("{Missing|default: a b }", " a b "),
        ("{Missing|default:%COMPUTERNAME%}", "%COMPUTERNAME%"),
        # names are case-insensitive (the lookup folds case); blanks around parts are ignored
        ("{serialnumber|RIGHT:4|Upper}", "4XYZ"),
        ("{ Model | left:3 }", "Lat"),
        # missing variables are empty
        ("<{Missing}>", "<>"),
        # %NAME% passes through for the task sequence; braces are doubled to be literal
        ("%OSDComputerName%", "%OSDComputerName%"),
        ("%_SMSTSMDataPath%\\Logs\\{Model}", "%_SMSTSMDataPath%\\Logs\\Latitude 7440"),
        ("{{Model}}", "{Model}"),
        ("{{{Model}}}", "{Latitude 7440}"),
        ("a}}b{{c", "a}b{c"),
        ("", ""),
        ("plain text", "plain text"),
        ("Ünïcödé ✓ {Model|left:3}", "Ünïcödé ✓ Lat"),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert r(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{item.advertisement_id}", "CM120001"),
        ("{item.label}", "Windows 11 Enterprise"),
        ("{ITEM.Kind|upper}", "FULL"),
        ("{item.name}-{SerialNumber|right:3}", "LAB-042-xyz"),
        ("{item.enabled}", "True"),  # booleans the Windows way, via Item.attr
        ("{item.size}", "4"),
        ("{item.missing|default:none}", "none"),
    ],
)
def test_item_attributes(text: str, expected: str) -> None:
    assert r(text, ITEM) == expected


def test_item_attribute_without_item_is_empty() -> None:
    assert r("[{item.name}]") == "[]"
    assert r("{item.name|default:no item}") == "no item"


def test_template_metadata() -> None:
    template = parse_template("{Make} {item.label|upper} {Model} {make} {ITEM.kind} %Other% {{Literal}}")
    assert template.names == frozenset({"Make", "Model", "make"})
    assert template.item_attrs == frozenset({"label", "kind"})
    assert not template.is_constant
    constant = parse_template("%OSDComputerName% {{not a name}}")
    assert constant.is_constant
    assert constant.names == frozenset() and constant.item_attrs == frozenset()
    assert constant.render(lambda name: "never called") == "%OSDComputerName% {not a name}"


def test_render_calls_lookup_with_names_as_written() -> None:
    seen: list[str] = []

    def lookup(name: str) -> str:
        seen.append(name)
        return name

    assert parse_template("{SerialNumber}-{serialnumber}").render(lookup) == "SerialNumber-serialnumber"
    assert seen == ["SerialNumber", "serialnumber"]


def test_parse_is_memoised() -> None:
    assert parse_template("{Model|upper}") is parse_template("{Model|upper}")
    assert isinstance(parse_template("x"), Template)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("PC-{SerialNumber", 4, "not closed"),
        ("{", 1, "not closed"),
        ("PC-{}", 5, "expected a variable name"),
        ("{ }", 2, "expected a variable name"),
        ("{|upper}", 2, "expected a variable name"),
        ("{Model|bogus}", 8, "unknown filter 'bogus'"),
        ("{Model| }", 9, "expected a filter name after '|'"),
        ("{Model|}", 8, "expected a filter name after '|'"),
        ("{Model|left}", 8, "filter 'left' needs a whole number"),
        ("{Model|left:}", 13, "filter 'left' needs a whole number"),
        ("{Model|right:x}", 14, "filter 'right' needs a whole number"),
        ("{Model|right:-1}", 14, "filter 'right' needs a whole number"),
        ("{Model|left:1.5}", 13, "filter 'left' needs a whole number"),
        ("{Model|default}", 8, "filter 'default' needs a text"),
        ("{Model|upper:2}", 13, "takes no ':' argument"),
        ("x}", 2, "unmatched '}'"),
        ("{a {b}", 4, "to close the '{' at column 1"),
        ("{item.}", 7, "expected an attribute name after 'item.'"),
        ("{Serial Number}", 2, "is not a variable name"),
        ("{9Lives}", 2, "is not a variable name"),
        ("{%Model%}", 2, "is not a variable name"),
    ],
)
def test_error_columns(text: str, column: int, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    error = caught.value
    assert error.column == column
    assert error.text == text
    assert fragment in str(error)
    assert str(error).startswith(f"column {column}: ")
    assert isinstance(error, InputError)


_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "{{",
        "}}",
        "|",
        ":",
        "Model",
        "item.",
        "item.name",
        "upper",
        "left",
        "right:3",
        "default:x",
        "trim",
        "lower",
        " ",
        "%",
        "%X%",
        "9",
        "-",
        "\n",
        "é",
    ]
)


@given(st.text() | st.lists(_PIECES, max_size=14).map("".join))
@FUZZ
def test_any_text_parses_or_raises_template_error(text: str) -> None:
    try:
        template = parse_template(text)
    except TemplateError as error:
        assert 1 <= error.column <= len(text) + 1
        return
    rendered = template.render(FACTS.lookup, ITEM)
    assert isinstance(rendered, str)
    if template.is_constant:
        assert rendered == re.sub(r"\{\{|\}\}", lambda m: m.group()[0], text)


@given(st.text().filter(lambda t: "{" not in t and "}" not in t))
@FUZZ
def test_text_without_braces_renders_unchanged(text: str) -> None:
    assert r(text) == text
