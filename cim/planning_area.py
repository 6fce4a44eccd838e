"""A building's gross floor area, and how it was obtained.

Tried in turn, the first that gives an area wins: the building's own quantity
(``Qto_BuildingBaseQuantities.GrossFloorArea``), the sum of its storeys' quantities, the
sum of its floor slabs (their ``GrossArea`` quantity, else their footprint), the sum of
its spaces (``GrossFloorArea`` quantity, else ``Pset_SpaceCommon.GrossPlannedArea``), and
last, an estimate: the footprint area times the number of storeys.

Slabs count only when every storey has a floor slab (``FLOOR`` or ``BASESLAB``); a storey's
area is then the union of its floor slabs' footprints, so that footings under a base slab
or overlapping slabs are not counted twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely

from cim.model import CityObject

#: The IfcSlab types that are floors (a roof slab is not floor area).
FLOOR_SLABS = ("FLOOR", "BASESLAB")
GROSS_FLOOR_AREA = "GrossFloorArea"
SPACE_PLANNED_AREAS = (("Pset_SpaceCommon", "GrossPlannedArea"),
                       ("Pset_SpaceCommon", "NetPlannedArea"))  # fmt: skip


@dataclass(frozen=True)
class FloorArea:
    """A gross floor area in square metres, the method that gave it, from how many parts.

    ``method`` is one of ``qto-building``, ``qto-storeys``, ``slabs``, ``spaces`` or
    ``footprint-x-storeys``; only the last is an ``estimate``.
    """

    value: float
    method: str
    parts: int
    estimate: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"value": round(self.value, 2), "method": self.method, "parts": self.parts,
                "estimate": self.estimate}  # fmt: skip


def quantity(obj: CityObject, name: str) -> float | None:
    """The first quantity called ``name`` in the object's quantity sets (base quantities
    first), as a positive finite number, or None."""
    qtos = obj.attributes.get("qtos")
    if not isinstance(qtos, dict):
        return None
    for set_name in sorted(qtos, key=lambda n: (not n.endswith("BaseQuantities"), n)):
        props = qtos[set_name]
        if isinstance(props, dict) and (value := _positive(props.get(name))) is not None:
            return value
    return None


def bim_floor_area(
    building: CityObject, storeys: list[CityObject], slabs: list[CityObject],
    spaces: list[CityObject],
) -> FloorArea | None:  # fmt: skip
    """The gross floor area of an IFC building from its quantities, slabs or spaces."""
    own = quantity(building, GROSS_FLOOR_AREA)
    if own is not None:
        return FloorArea(own, "qto-building", 1, False)
    summed = _sum_all(storeys, lambda s: quantity(s, GROSS_FLOOR_AREA))
    if summed is not None:
        return FloorArea(summed, "qto-storeys", len(storeys), False)
    summed = _sum_all(storeys, lambda storey: _slab_floor_area(storey, slabs))
    if summed is not None:
        return FloorArea(summed, "slabs", len(storeys), False)
    summed = _sum_all(spaces, _space_area)
    if summed is not None:
        return FloorArea(summed, "spaces", len(spaces), False)
    return None


def estimated_floor_area(footprint_area: float | None, storeys: int | None) -> FloorArea | None:
    """Footprint area times storeys: the estimate for a building without quantities."""
    if footprint_area is None or not storeys or footprint_area <= 0:
        return None
    return FloorArea(footprint_area * storeys, "footprint-x-storeys", storeys, True)


def _slab_floor_area(storey: CityObject, slabs: list[CityObject]) -> float | None:
    """The area the floor slabs of ``storey`` cover (the union of their footprints)."""
    floors = [
        s.footprint
        for s in slabs
        if s.storey_id == storey.id
        and str(s.attributes.get("PredefinedType", "")).upper() in FLOOR_SLABS
        and s.footprint is not None
        and not s.footprint.is_empty
    ]
    return _positive(shapely.union_all(floors).area) if floors else None


def _space_area(space: CityObject) -> float | None:
    area = quantity(space, GROSS_FLOOR_AREA)
    if area is not None:
        return area
    psets = space.attributes.get("psets")
    if not isinstance(psets, dict):
        return None
    for set_name, prop in SPACE_PLANNED_AREAS:
        props = psets.get(set_name)
        if isinstance(props, dict) and (value := _positive(props.get(prop))) is not None:
            return value
    return None


def _sum_all(objects: list[CityObject], area_of: Any) -> float | None:
    """The sum of every object's area, or None when there is none or one lacks an area."""
    if not objects:
        return None
    areas = [area_of(obj) for obj in objects]
    if any(a is None for a in areas):
        return None
    return float(sum(areas))


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None
