"""The zoning checks (控规指标核查) as pure functions over shapely geometries and numbers.

Rules, as applied here:

- A zone *governs* an object when it covers at least ``min_share`` of the object's area
  (slivers from digitising are ignored). An object crossing zones is held to the
  **strictest** governing limit of each indicator (the lowest maximum, the highest
  minimum); the check names that zone.
- Height: the building's height above ground against ``max_height_m`` (a violation beyond
  ``tolerance``).
- Parcel floor area ratio (容积率): the sum of its buildings' gross floor areas, each
  counted pro rata to the share of its footprint inside the parcel, over the parcel's
  area. A building of unknown floor area makes the FAR "not assessed".
- Coverage (建筑密度): the footprint area inside the parcel over the parcel's area.
- Green ratio (绿地率): the green area inside the parcel over its area; without any green
  layer in the city it is "not assessed", never a violation.
- Setback (退线): the distance from the building (its part inside its parcel) to the
  parcel boundary facing a road (the boundary within ``road_distance`` of a road), or to
  the whole boundary when no road is near or the city has no roads.

Every check's ``amount`` is how far the actual value lies beyond the limit: actual -
limit for a maximum, limit - actual for a minimum (green ratio, setback). Positive
amounts are the violations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

#: indicator -> (zone field, "max" or "min", unit, which objects it applies to)
INDICATORS: dict[str, tuple[str, str, str, str]] = {
    "height": ("max_height_m", "max", "m", "building"),
    "setback": ("setback_m", "min", "m", "building"),
    "far": ("max_far", "max", "", "parcel"),
    "coverage": ("max_coverage", "max", "ratio", "parcel"),
    "green_ratio": ("min_green_ratio", "min", "ratio", "parcel"),
}
OK, VIOLATION, NOT_ASSESSED = "ok", "violation", "not_assessed"
#: Ratios are compared with this slack, so a FAR of exactly the limit is not a violation.
RATIO_EPSILON = 1e-9


@dataclass(frozen=True)
class Zone:
    """A planning zone: its geometry and limits (None where it sets none)."""

    id: str
    geometry: BaseGeometry
    code: str | None = None
    max_height_m: float | None = None
    max_far: float | None = None
    max_coverage: float | None = None
    min_green_ratio: float | None = None
    setback_m: float | None = None

    def limit(self, indicator: str) -> float | None:
        """The zone's limit for an indicator of :data:`INDICATORS`."""
        value: float | None = getattr(self, INDICATORS[indicator][0])
        return value

    @property
    def label(self) -> str:
        """The zone's code, else its id."""
        return self.code or self.id


@dataclass(frozen=True)
class Building:
    """What the checks know of a building: footprint, height above ground, floor area."""

    id: str
    footprint: BaseGeometry
    height_m: float | None = None
    floor_area_m2: float | None = None


@dataclass(frozen=True)
class Check:
    """The outcome of one indicator for one object."""

    object_id: str
    indicator: str
    status: str  # ok, violation, not_assessed
    zone: str | None = None
    limit: float | None = None
    actual: float | None = None
    amount: float | None = None
    note: str = ""

    @property
    def unit(self) -> str:
        """The unit of limit, actual and amount."""
        return INDICATORS[self.indicator][2]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, numbers rounded to the millimetre (or 1e-4 for ratios)."""
        digits = 3 if self.unit == "m" else 4
        return {"object_id": self.object_id, "indicator": self.indicator, "status": self.status,
                "zone_code": self.zone, "limit": _round(self.limit, digits),
                "actual": _round(self.actual, digits), "amount": _round(self.amount, digits),
                "unit": self.unit, "note": self.note}  # fmt: skip


def governing_zones(
    geometry: BaseGeometry, zones: Sequence[Zone], min_share: float = 0.01
) -> list[Zone]:
    """The zones covering at least ``min_share`` of ``geometry``'s area, largest share first."""
    area = geometry.area
    if area <= 0:
        return []
    shares = [(geometry.intersection(zone.geometry).area / area, zone) for zone in zones]
    kept = [(share, zone) for share, zone in shares if share >= min_share and share > 0]
    return [zone for _, zone in sorted(kept, key=lambda item: -item[0])]


def strictest(zones: Sequence[Zone], indicator: str) -> tuple[Zone, float] | None:
    """The zone with the strictest limit for ``indicator`` and that limit, or None."""
    limited = [(zone, limit) for zone in zones if (limit := zone.limit(indicator)) is not None]
    if not limited:
        return None
    maximum = INDICATORS[indicator][1] == "max"
    return (min if maximum else max)(limited, key=lambda item: item[1])


def judge(
    object_id: str,
    indicator: str,
    zones: Sequence[Zone],
    actual: float | None,
    tolerance: float = 0.0,
    note: str = "",
) -> Check:
    """Compare ``actual`` with the strictest governing limit of ``indicator``."""
    found = strictest(zones, indicator)
    if found is None:
        why = "no governing zone" if not zones else "no zone sets this limit"
        return Check(object_id, indicator, NOT_ASSESSED, note=why)
    zone, limit = found
    if actual is None:
        return Check(object_id, indicator, NOT_ASSESSED, zone.label, limit, note=note)
    maximum = INDICATORS[indicator][1] == "max"
    amount = actual - limit if maximum else limit - actual
    slack = max(tolerance, RATIO_EPSILON)
    status = VIOLATION if amount > slack else OK
    return Check(object_id, indicator, status, zone.label, limit, actual, amount, note)


def check_height(
    building: Building, zones: Sequence[Zone], tolerance: float = 0.0, min_share: float = 0.01
) -> Check:
    """The building's height above ground against the strictest governing height limit."""
    governing = governing_zones(building.footprint, zones, min_share)
    note = "" if building.height_m is not None else "height above ground unknown"
    return judge(building.id, "height", governing, building.height_m, tolerance, note)


def share_inside(footprint: BaseGeometry, parcel: BaseGeometry) -> float:
    """The share (0..1) of ``footprint``'s area inside ``parcel``."""
    area = footprint.area
    return float(footprint.intersection(parcel).area / area) if area > 0 else 0.0


def floor_area_ratio(parcel: BaseGeometry, buildings: Sequence[Building]) -> float | None:
    """Σ gross floor area (pro rata to the footprint inside) / parcel area; None when a
    building standing on the parcel has no known floor area."""
    total = 0.0
    for building in buildings:
        share = share_inside(building.footprint, parcel)
        if share <= 0:
            continue
        if building.floor_area_m2 is None:
            return None
        total += building.floor_area_m2 * share
    return total / parcel.area


def coverage(parcel: BaseGeometry, footprints: Sequence[BaseGeometry]) -> float:
    """Σ footprint area inside the parcel (overlaps counted once) / parcel area."""
    if not footprints:
        return 0.0
    inside = shapely.union_all(list(footprints)).intersection(parcel)
    return float(inside.area / parcel.area)


def green_ratio(parcel: BaseGeometry, greens: Sequence[BaseGeometry]) -> float:
    """Green area inside the parcel (overlaps counted once) / parcel area."""
    if not greens:
        return 0.0
    inside = shapely.union_all(list(greens)).intersection(parcel)
    return float(inside.area / parcel.area)


def facing_boundary(
    parcel: BaseGeometry, roads: Sequence[BaseGeometry] | None, road_distance: float
) -> tuple[BaseGeometry, bool]:
    """The parcel boundary facing a road (within ``road_distance`` of one) and whether a
    road was found; the whole boundary when none is near or ``roads`` is None."""
    boundary = parcel.boundary
    if roads:
        near = shapely.union_all(list(roads)).buffer(road_distance)
        facing = boundary.intersection(near)
        if not facing.is_empty and facing.length > 0:
            return facing, True
    return boundary, False


def setback_distance(
    footprint: BaseGeometry,
    parcel: BaseGeometry,
    roads: Sequence[BaseGeometry] | None,
    road_distance: float,
) -> tuple[float, bool]:
    """The distance from the footprint (its part inside the parcel; 0 when it crosses the
    boundary) to the boundary facing a road, and whether a road was found."""
    boundary, facing = facing_boundary(parcel, roads, road_distance)
    if not footprint.within(parcel):
        return 0.0, facing
    return float(footprint.distance(boundary)), facing


def check_setback(
    building: Building,
    parcel: BaseGeometry | None,
    zones: Sequence[Zone],
    roads: Sequence[BaseGeometry] | None,
    road_distance: float,
    min_share: float = 0.01,
) -> Check:
    """The building's setback from its parcel's road-facing boundary against the zone's."""
    governing = governing_zones(building.footprint, zones, min_share)
    if parcel is None:
        return judge(building.id, "setback", governing, None, note="on no parcel")
    distance, facing = setback_distance(building.footprint, parcel, roads, road_distance)
    note = "to the road-facing boundary" if facing else "to the parcel boundary"
    if not building.footprint.within(parcel):
        note = "crosses the parcel boundary"
    return judge(building.id, "setback", governing, distance, note=note)


def check_parcel(
    parcel_id: str,
    parcel: BaseGeometry,
    zones: Sequence[Zone],
    buildings: Sequence[Building],
    greens: Sequence[BaseGeometry] | None,
    indicators: Sequence[str],
    min_share: float = 0.01,
) -> list[Check]:
    """The parcel's FAR, coverage and green ratio (those in ``indicators``).

    ``buildings`` are those meeting the parcel; ``greens`` None means the city has no green
    layer (the green ratio is then not assessed).
    """
    governing = governing_zones(parcel, zones, min_share)
    checks = []
    if "far" in indicators:
        far = floor_area_ratio(parcel, buildings)
        unknown = [b.id for b in buildings if b.floor_area_m2 is None
                   and share_inside(b.footprint, parcel) > 0]  # fmt: skip
        note = f"floor area unknown for {', '.join(unknown[:5])}" if far is None else ""
        checks.append(judge(parcel_id, "far", governing, far, note=note))
    if "coverage" in indicators:
        actual = coverage(parcel, [b.footprint for b in buildings])
        checks.append(judge(parcel_id, "coverage", governing, actual))
    if "green_ratio" in indicators:
        if greens is None:
            checks.append(judge(parcel_id, "green_ratio", governing, None,
                                note="the city has no green layer"))  # fmt: skip
        else:
            checks.append(judge(parcel_id, "green_ratio", governing, green_ratio(parcel, greens)))
    return checks


def status_of(checks: Sequence[Check]) -> str:
    """An object's status: violation if any check fails, ok if any was assessed."""
    statuses = {check.status for check in checks}
    if VIOLATION in statuses:
        return VIOLATION
    return OK if OK in statuses else NOT_ASSESSED


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
