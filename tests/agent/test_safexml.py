"""safexml: plain documents take the C parser, any DTD takes defusedxml, and mentions of one are not refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from agent import safexml

LAUGH = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>'


def test_plain_documents_parse() -> None:
    assert safexml.fromstring(b"<r><v>1</v></r>").find("v").text == "1"  # type: ignore[union-attr]


def test_entities_are_refused_with_the_kind_named() -> None:
    with pytest.raises(safexml.UnsafeXml) as caught:
        safexml.fromstring(LAUGH)
    assert caught.value.kind == "EntitiesForbidden"


def test_a_bare_dtd_is_refused_only_when_asked() -> None:
    doc = b'<!DOCTYPE r SYSTEM "r.dtd"><r>x</r>'
    assert safexml.fromstring(doc).text == "x"
    with pytest.raises(safexml.UnsafeXml, match="DTDForbidden"):
        safexml.fromstring(doc, forbid_dtd=True)


@pytest.mark.parametrize("text", ["<!DOCTYPE", "<!ENTITY x 'y'>", "]]><!DOCTYPE"])
def test_a_value_that_mentions_a_dtd_reads_back(text: str) -> None:
    doc = "<r><![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]></r>"
    assert "".join(safexml.fromstring(doc.encode(), forbid_dtd=True).itertext()) == text


def test_utf16_takes_the_careful_path() -> None:
    doc = LAUGH.decode().replace('version="1.0"', 'version="1.0" encoding="utf-16"').encode("utf-16")
    with pytest.raises(safexml.UnsafeXml):
        safexml.fromstring(doc)


def test_malformed_documents_raise_parse_error() -> None:
    for doc in (b"<r>", b"<!DOCTYPE r><r>"):
        with pytest.raises(ET.ParseError):
            safexml.fromstring(doc)
