"""Opening IFC files with checks that name the problem before IfcOpenShell meets it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ifcopenshell

from bim.errors import IfcReadError

SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3", "IFC4X3_ADD2", "IFC4X3_ADD1", "IFC4X3_TC1")
_SCHEMA_PATTERN = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
_TRAILER = b"END-ISO-10303-21;"
_NO_SUCH_ATTRIBUTE = 0  # what IfcOpenShell's get_attribute_category says of an unknown name


def read_schema(path: Path) -> str:
    """Return the schema named in the STEP header of ``path``, checking the file's frame."""
    if not path.exists():
        raise IfcReadError(f"{path}: no such file")
    if not path.is_file():
        raise IfcReadError(f"{path}: not a file")
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
        handle.seek(max(0, path.stat().st_size - 4096))
        tail = handle.read()
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISO-10303-21;"):
        raise IfcReadError(f"{path}: not an IFC file (no ISO-10303-21 STEP header)")
    match = _SCHEMA_PATTERN.search(head)
    if match is None:
        raise IfcReadError(f"{path}: the STEP header names no FILE_SCHEMA")
    schema = match.group(1).decode("ascii", "replace").strip().upper()
    if schema not in SUPPORTED_SCHEMAS:
        raise IfcReadError(
            f"{path}: unsupported schema {schema!r} (supported: IFC2X3, IFC4, IFC4X3_ADD2)"
        )
    if _TRAILER not in tail:
        raise IfcReadError(f"{path}: truncated file (no END-ISO-10303-21; at its end)")
    return schema


def open_ifc(path: Path) -> ifcopenshell.file:
    """Open an IFC file after checking its header, schema and end.

    Raises
    ------
    IfcReadError
        With one line naming the problem.
    """
    read_schema(path)
    try:
        model = ifcopenshell.open(str(path))
    except Exception as exc:  # IfcOpenShell raises bare errors for parse failures
        raise IfcReadError(f"{path}: IfcOpenShell cannot parse it: {exc}") from exc
    if not model.by_type("IfcProject"):
        raise IfcReadError(f"{path}: the model has no IfcProject")
    return model


def has_attribute(entity: ifcopenshell.entity_instance, name: str) -> bool:
    """Whether the entity's class has an attribute ``name`` (direct, inverse or derived).

    Unlike ``hasattr``: for a name the class lacks (an attribute of another schema)
    IfcOpenShell's lookup first imports the schema's rule module (10-20 ms the first time
    in every process, more from a cold disk); this asks the schema only.
    """
    return bool(entity.get_attribute_category(name) != _NO_SUCH_ATTRIBUTE)


def optional_attribute(entity: ifcopenshell.entity_instance, name: str) -> Any:
    """``entity.<name>``, or None when the entity's class has no attribute of that name
    (``getattr(entity, name, None)`` without its cost: see :func:`has_attribute`)."""
    return getattr(entity, name) if has_attribute(entity, name) else None
