"""XML from untrusted bytes: the C parser when no DTD can be present, defusedxml when one may be."""

# Without `<!DOCTYPE` there can be no entity or external declaration (the attacks defusedxml blocks), and
# defusedxml's pure-Python parser is several times slower on a 5,000-step task sequence. The scan is only a
# router: a value that merely *mentions* `<!DOCTYPE` (inside CDATA, say) takes the defusedxml path and parses
# as usual; it is not refused.

from __future__ import annotations

import xml.etree.ElementTree as ET


class UnsafeXml(ValueError):
    """The document declares what the caller refused: a DTD (if forbidden), entities or external references."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # defusedxml's class name, e.g. "EntitiesForbidden" or "DTDForbidden"


def fromstring(data: bytes | str, *, forbid_dtd: bool = False, keep_comments: bool = False) -> ET.Element:
    """The root element of `data`; raises ET.ParseError when it is not well-formed, UnsafeXml when unsafe.

    `keep_comments` keeps comments and processing instructions inside the root as ET.Comment and
    ET.ProcessingInstruction elements (for lossless round trips).
    """
    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
    except UnicodeDecodeError:
        # Bytes that are not UTF-8 (UTF-16, say) cannot be scanned as text: always the careful path.
        return _defused(data, forbid_dtd, keep_comments)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return _defused(data, forbid_dtd, keep_comments)
    if not keep_comments:
        root: ET.Element = ET.fromstring(data)  # safe: no DTD, see above
        return root
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    parser.feed(data)
    kept: ET.Element = parser.close()
    return kept


def _defused(data: bytes | str, forbid_dtd: bool, keep_comments: bool = False) -> ET.Element:
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    try:
        if not keep_comments:
            root: ET.Element = SafeET.fromstring(data, forbid_dtd=forbid_dtd)
            return root
        parser = SafeET.DefusedXMLParser(
            target=ET.TreeBuilder(insert_comments=True, insert_pis=True), forbid_dtd=forbid_dtd
        )
        parser.feed(data)
        kept: ET.Element = parser.close()
    except DefusedXmlException as exc:
        raise UnsafeXml(type(exc).__name__) from exc
    return kept
