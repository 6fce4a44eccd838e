"""What changed between two versions of a source, by GlobalId."""

from __future__ import annotations

import json
from typing import Any

VOLATILE_ATTRIBUTES = ("step_id",)  # changes with every export, says nothing of the model

State = dict[str, tuple[str, str | None, str]]  # id -> (class, geometry digest, attributes)


def diff(old: State, new: State) -> dict[str, Any]:
    """Elements added, removed, changed in geometry or in properties, from ``old`` to ``new``."""
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    geometry, properties = [], []
    for object_id in sorted(old.keys() & new.keys()):
        old_class, old_digest, old_attributes = old[object_id]
        new_class, new_digest, new_attributes = new[object_id]
        if old_digest != new_digest:
            geometry.append(object_id)
        if old_class != new_class or _stable(old_attributes) != _stable(new_attributes):
            properties.append(object_id)
    return {
        "added": added,
        "removed": removed,
        "changed_geometry": geometry,
        "changed_properties": properties,
        "unchanged": len(old.keys() & new.keys()) - len(set(geometry) | set(properties)),
        "counts": {"added": len(added), "removed": len(removed),
                   "changed_geometry": len(geometry), "changed_properties": len(properties)},
    }  # fmt: skip


def _stable(attributes: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(attributes or "{}")
    return {key: value for key, value in data.items() if key not in VOLATILE_ATTRIBUTES}
