"""JSON Patch (RFC 6902) on an entity's JSON, for SensorThings 1.1's PATCH with
``Content-Type: application/json-patch+json``: add, remove, replace, move, copy and test
along JSON Pointers (RFC 6901). Any failing operation refuses the whole patch."""

from __future__ import annotations

import copy
from typing import Any

from simulation.sensors.errors import SensorInputError

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


def apply_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """``document`` with ``operations`` applied (the input is left as it was)."""
    if not isinstance(operations, list):
        raise SensorInputError("a JSON Patch is an array of operations")
    result = copy.deepcopy(document)
    for number, operation in enumerate(operations):
        where = f"JSON Patch operation {number}"
        if not isinstance(operation, dict) or operation.get("op") not in OPERATIONS:
            raise SensorInputError(f"{where}: 'op' must be one of {', '.join(OPERATIONS)}")
        result = _apply(result, operation, where)
    return result


def _apply(document: Any, operation: dict[str, Any], where: str) -> Any:
    op = operation["op"]
    path = _pointer(operation.get("path"), where)
    if op in ("add", "replace", "test") and "value" not in operation:
        raise SensorInputError(f"{where}: '{op}' needs a 'value'")
    if op == "test":
        if _get(document, path, where) != operation["value"]:
            raise SensorInputError(f"{where}: test failed at {operation['path']!r}")
        return document
    if op == "remove":
        return _remove(document, path, where)
    if op == "replace":
        _get(document, path, where)
        return _add(_remove(document, path, where), path, operation["value"], where)
    if op == "add":
        return _add(document, path, copy.deepcopy(operation["value"]), where)
    source = _pointer(operation.get("from"), where)
    value = copy.deepcopy(_get(document, source, where))
    if op == "move":
        document = _remove(document, source, where)
    return _add(document, path, value, where)


def _pointer(text: Any, where: str) -> list[str]:
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise SensorInputError(f"{where}: a path is a JSON Pointer such as '/name'")
    return [p.replace("~1", "/").replace("~0", "~") for p in text.split("/")[1:]]


def _index(container: list[Any], token: str, where: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or int(token) > len(container) - (0 if adding else 1):
        raise SensorInputError(f"{where}: no array position {token!r}")
    return int(token)


def _parent(document: Any, path: list[str], where: str) -> Any:
    if not path:
        raise SensorInputError(f"{where}: the whole entity cannot be replaced by a patch")
    return _get(document, path[:-1], where)


def _get(document: Any, path: list[str], where: str) -> Any:
    found = document
    for token in path:
        if isinstance(found, dict) and token in found:
            found = found[token]
        elif isinstance(found, list):
            found = found[_index(found, token, where, adding=False)]
        else:
            raise SensorInputError(f"{where}: nothing at /{'/'.join(path)}")
    return found


def _add(document: Any, path: list[str], value: Any, where: str) -> Any:
    parent = _parent(document, path, where)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, path[-1], where, adding=True), value)
    else:
        raise SensorInputError(f"{where}: /{'/'.join(path[:-1])} holds no object or array")
    return document


def _remove(document: Any, path: list[str], where: str) -> Any:
    parent = _parent(document, path, where)
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, path[-1], where, adding=False)]
    else:
        raise SensorInputError(f"{where}: nothing at /{'/'.join(path)}")
    return document
