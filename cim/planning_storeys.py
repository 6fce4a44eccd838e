"""A building's storeys in planning terms: their order, the ground floor, above or below ground.

An IFC storey's ``Elevation`` is its floor level in the model's length unit, relative to the
building's reference height; the ground floor is the storey at that reference (elevation
closest to zero from above, a storey named as a basement excepted). Storeys below it are
below ground. Without elevations, the storeys' geometry (their lowest point) orders them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from cim.model import CityObject

#: A storey whose elevation lies at most this far below zero can still be the ground floor
#: (a finished floor a step below the reference, e.g. -0.15 m).
GROUND_TOLERANCE = 0.5
#: Names that say a storey lies below ground (B1, -1, 地下一层, Basement, Untergeschoss...).
_BASEMENT = re.compile(
    r"^\s*(b\d|-\s*\d|ug\b|sous-sol)|basement|cellar|地下|keller|untergeschoss|kellergeschoss",
    re.IGNORECASE,
)
_UNIT = re.compile(r"\(([0-9.eE+-]+) m\)\s*$")


@dataclass(frozen=True)
class Storey:
    """A storey of a building, with its floor level relative to the ground floor's.

    Attributes
    ----------
    id, name:
        The storey object's id and name.
    elevation:
        Floor level in metres relative to the ground floor (None when unknown).
    above_ground:
        Whether the storey counts as above ground (the ground floor does).
    base, top:
        The lowest and highest point of the storey's contents (city heights), if any.
    """

    id: str
    name: str
    elevation: float | None
    above_ground: bool
    base: float | None
    top: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "name": self.name, "elevation": _round(self.elevation),
                "above_ground": self.above_ground, "base": _round(self.base),
                "top": _round(self.top)}  # fmt: skip


@dataclass(frozen=True)
class StoreyList:
    """A building's storeys, top first, and how they were ordered.

    ``method`` is ``elevation`` (IFC storey elevations) or ``geometry`` (their lowest
    points); ``ground`` is the id of the ground floor, if any storey.
    """

    storeys: tuple[Storey, ...]
    method: str
    ground: str | None

    @property
    def above(self) -> int:
        """The number of storeys above ground, the ground floor included."""
        return sum(1 for s in self.storeys if s.above_ground)

    @property
    def below(self) -> int:
        """The number of storeys below ground."""
        return sum(1 for s in self.storeys if not s.above_ground)


def length_scale(report: dict[str, Any] | None) -> float | None:
    """Metres per model length unit, from an IFC import report's ``length-unit`` finding."""
    for finding in (report or {}).get("findings", ()):
        if finding.get("code") == "no-length-unit":
            return 1.0
        if finding.get("code") == "length-unit":
            match = _UNIT.search(str(finding.get("message", "")))
            if match:
                scale = float(match.group(1))
                return scale if math.isfinite(scale) and scale > 0 else None
    return None


def storey_list(storeys: list[CityObject], scale: float | None) -> StoreyList:
    """Order ``storeys`` top first and tell which lie above ground.

    ``scale`` converts the storeys' ``Elevation`` to metres; without it (or without an
    elevation on every storey) the storeys' lowest points order them instead.
    """
    if not storeys:
        return StoreyList((), "none", None)
    raw = [_number(s.attributes.get("Elevation")) for s in storeys]
    if scale is not None and all(v is not None for v in raw):
        levels = [float(v) * scale for v in raw if v is not None]
        method = "elevation"
    elif all(s.base_height is not None for s in storeys):
        levels = [float(s.base_height) for s in storeys if s.base_height is not None]
        method = "geometry"
    else:
        ordered = [Storey(s.id, s.name, None, True, s.base_height, s.top_height) for s in storeys]
        return StoreyList(tuple(ordered), "none", None)
    ground_index = _ground_floor(storeys, levels, relative=method == "elevation")
    zero = levels[ground_index]
    rows = [
        Storey(s.id, s.name, level - zero, level >= zero - 1e-6, s.base_height, s.top_height)
        for s, level in zip(storeys, levels, strict=True)
    ]
    rows.sort(key=lambda s: (s.elevation or 0.0, s.name), reverse=True)
    return StoreyList(tuple(rows), method, storeys[ground_index].id)


def _ground_floor(storeys: list[CityObject], levels: list[float], relative: bool) -> int:
    """The index of the ground floor: the lowest storey at or above the reference (zero,
    for elevations relative to the building) not named as a basement, else the lowest."""
    order = sorted(range(len(levels)), key=lambda i: levels[i])
    named_above = [i for i in order if not _BASEMENT.search(storeys[i].name or "")]
    if relative:
        candidates = [i for i in named_above if levels[i] >= -GROUND_TOLERANCE]
        if candidates:
            return candidates[0]
    return named_above[0] if named_above else order[-1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
