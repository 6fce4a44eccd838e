"""The shape of an Open311 document: the names of the elements (XML) or keys (JSON) under
each path, so that ours can be compared with the standard's examples field by field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def xml_shape(document: str | bytes) -> dict[str, set[str]]:
    """Element path -> the names of the elements under it (every item of a list merged)."""
    root = ET.fromstring(document)
    shape: dict[str, set[str]] = {}

    def walk(element: ET.Element, path: str) -> None:
        shape.setdefault(path, set())
        for child in element:
            shape[path].add(child.tag)
            walk(child, f"{path}/{child.tag}")

    walk(root, root.tag)
    return {path: names for path, names in shape.items() if names}


def json_shape(document: Any, path: str = "$") -> dict[str, set[str]]:
    """Key path -> the keys of the objects there (the items of an array merged as ``[]``)."""
    shape: dict[str, set[str]] = {}
    if isinstance(document, list):
        for item in document:
            for key, names in json_shape(item, f"{path}[]").items():
                shape.setdefault(key, set()).update(names)
    elif isinstance(document, dict):
        shape.setdefault(path, set()).update(document)
        for key, value in document.items():
            for sub, names in json_shape(value, f"{path}.{key}").items():
                shape.setdefault(sub, set()).update(names)
    return shape
