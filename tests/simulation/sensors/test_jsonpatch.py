"""JSON Patch (RFC 6902) on an entity's JSON."""

from __future__ import annotations

from typing import Any

import pytest

from simulation.sensors.errors import SensorInputError
from simulation.sensors.jsonpatch import apply_patch

THING: dict[str, Any] = {"name": "a", "description": "b", "properties": {"tags": ["x", "y"]}}


def test_every_operation_applies_in_order_and_leaves_the_input_alone() -> None:
    patched = apply_patch(
        THING,
        [
            {"op": "test", "path": "/name", "value": "a"},
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/properties/tags/-", "value": "z"},
            {"op": "add", "path": "/properties/a~1b", "value": 1},
            {"op": "remove", "path": "/properties/tags/0"},
            {"op": "copy", "from": "/name", "path": "/properties/old"},
            {"op": "move", "from": "/description", "path": "/properties/note"},
        ],
    )
    assert patched == {
        "name": "renamed",
        "properties": {"tags": ["y", "z"], "a/b": 1, "old": "renamed", "note": "b"},
    }
    assert THING == {"name": "a", "description": "b", "properties": {"tags": ["x", "y"]}}


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ({"op": "replace"}, "array of operations"),
        ([{"op": "rename", "path": "/name"}], "'op' must be one of"),
        ([{"op": "test", "path": "/name", "value": "z"}], "test failed"),
        ([{"op": "replace", "path": "/colour", "value": 1}], "nothing at /colour"),
        ([{"op": "add", "path": "name", "value": 1}], "JSON Pointer"),
        ([{"op": "add", "path": "/properties/tags/7", "value": 1}], "no array position"),
        ([{"op": "remove", "path": ""}], "whole entity"),
        ([{"op": "add", "path": "/name"}], "needs a 'value'"),
    ],
)
def test_a_bad_operation_refuses_the_whole_patch(operations: Any, message: str) -> None:
    with pytest.raises(SensorInputError, match=message):
        apply_patch(
            THING,
            [{"op": "replace", "path": "/name", "value": "x"}, *operations]
            if isinstance(operations, list)
            else operations,
        )
