"""Open311 documents as the standard writes them: XML without a namespace (the element
names of GeoReport v2, a list's items named after it) and JSON by the Spark convention (a
list is a JSON array, an empty element is null)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import orjson
from fastapi import Response

from api.errors import Open311RequestError

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
FORMATS = {"xml": XML_TYPE, "json": JSON_TYPE}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# The element of each item of a list, by the list's element.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot hold, even escaped (control characters but tab and newlines).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def checked_format(fmt: str) -> str:
    """``xml`` or ``json`` (400 naming the formats otherwise)."""
    if fmt not in FORMATS:
        raise Open311RequestError(f"unknown format {fmt!r}: ask for .xml or .json")
    return fmt


def xml_document(root: str, value: Any) -> bytes:
    """``value`` as an XML document whose root element is ``root``."""
    element = ET.Element(root)
    _fill(element, value)
    ET.indent(element)
    # text first, encoded once: writing UTF-8 element by element costs three times as much
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode()


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    elif value is not None:
        element.text = xml_text(value)


def xml_text(value: Any) -> str:
    """A scalar as XML text: booleans as ``true``/``false``, characters XML cannot hold
    left out."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def answer(fmt: str, root: str, value: Any, status_code: int = 200) -> Response:
    """``value`` answered in ``fmt`` (``root``: its XML root element)."""
    content = xml_document(root, value) if fmt == "xml" else orjson.dumps(value)
    return Response(content, status_code=status_code, media_type=FORMATS[fmt])


def error_answer(fmt: str, status_code: int, description: str) -> Response:
    """The standard's error document: ``[{"code", "description"}]`` or ``<errors>``."""
    return answer(fmt, "errors", [{"code": status_code, "description": description}], status_code)
