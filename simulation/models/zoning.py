"""The zoning model (控高, 控规指标): every building and parcel checked against its zone.

Reads the zones (class ``zone``, see :mod:`cim.zones`), buildings, parcels, roads and green
areas of the city in the run's scope, gathers each building's height above ground and
gross floor area, and applies the pure checks of
:mod:`simulation.models.zoning_checks`. The result lists every violation with its amount
(the ``violations`` layer is the exportable report), the zones with their counts, and per
object a status and the height / FAR excess for the viewer's colouring.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from cim.errors import CimError
from cim.model import CityObject
from cim.planning import TYPICAL_STOREY_HEIGHT, planning_card
from cim.raster import footprint_bases
from cim.results import (
    Chart,
    ChartSeries,
    Feature,
    ObjectValues,
    Progress,
    SimulationResult,
    VectorLayer,
)
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import BIM_BUILDING_CLASS, GIS_BUILDING_CLASSES, flatten, levels_of
from cim.zones import ZONE_CLASS, zone_indicators
from simulation.models.errors import ModelError
from simulation.models.spec import ModelInputs, ModelSpec
from simulation.models.zoning_checks import (
    INDICATORS,
    NOT_ASSESSED,
    VIOLATION,
    Building,
    Check,
    Zone,
    check_height,
    check_parcel,
    check_setback,
    share_inside,
    status_of,
)

Indicator = Literal["height", "setback", "far", "coverage", "green_ratio"]
ALL_INDICATORS: tuple[Indicator, ...] = ("height", "setback", "far", "coverage", "green_ratio")
PARCEL_CLASS = "parcel"
ROAD_CLASS = "road"
GREEN_CLASSES = ("green", "PlantCover")
LANDUSE_CLASS = "landuse"
#: Land-use values (OSM ``landuse``/``leisure``/``natural``, or a ``use`` column) that are green.
GREEN_USES = frozenset({"grass", "park", "forest", "meadow", "garden", "recreation_ground",
                        "village_green", "wood", "scrub", "greenery", "green", "绿地"})  # fmt: skip
GREEN_KEYS = ("landuse", "leisure", "natural", "use", "land_use", "type")
#: A building stands on the parcel holding at least this share of its footprint.
PLOT_SHARE = 0.5


class ZoningParameters(BaseModel):
    """The parameters of a zoning check."""

    model_config = ConfigDict(extra="forbid")

    zone_layer: str = Field(
        ZONE_CLASS,
        description="The zones: a class of city objects (default: zone, as `cimtwin import"
        " zones` stores them) or the source name of a layer (`file.gpkg#layer`).",
        min_length=1,
        max_length=200,
    )
    indicators: list[Indicator] = Field(
        default_factory=lambda: list(ALL_INDICATORS),
        description="The indicators to check: height, setback (buildings), far, coverage,"
        " green_ratio (parcels).",
        min_length=1,
    )
    height_tolerance_m: float = Field(
        0.0, ge=0.0, le=50.0,
        description="A building is over its height limit only beyond this margin (metres).",
    )  # fmt: skip
    zone_min_share: float = Field(
        0.01, ge=0.0, le=1.0,
        description="A zone governs an object covering at least this share of its area;"
        " an object crossing zones gets the strictest limit of those governing it.",
    )  # fmt: skip
    road_distance_m: float = Field(
        15.0, ge=0.0, le=200.0,
        description="A parcel boundary faces a road when it lies within this distance of one"
        " (metres); setbacks are measured to that boundary.",
    )  # fmt: skip


@dataclass
class CityFacts:
    """What the checks read from the store."""

    zones: list[Zone]
    buildings: list[Building]
    names: dict[str, str]
    parcels: list[CityObject]
    roads: list[BaseGeometry] | None
    greens: list[BaseGeometry] | None


def run(inputs: ModelInputs, params: ZoningParameters, progress: Progress) -> SimulationResult:
    """Check every building and parcel in scope against the zones."""
    progress(0, "reading zones")
    facts = read_facts(inputs.store, inputs.scope, params)
    progress(30, f"checking {len(facts.buildings)} buildings")
    checks = check_all(facts, params, progress)
    progress(95, "building the report")
    return build_result(facts, checks, params, inputs.store.crs)


def read_facts(store: CityStore, scope: Scope, params: ZoningParameters) -> CityFacts:
    """Zones, buildings (height, floor area), parcels, roads and greens of the city."""
    buildings, names = read_buildings(store, scope)
    parcels = [p for p in store.objects(cls=PARCEL_CLASS, scope=scope) if _area(p.footprint)]
    checked = [b.footprint for b in buildings] + [p.footprint for p in parcels if p.footprint]
    zones = read_zones(store, scope, params.zone_layer, checked)
    roads = [r.footprint for r in store.objects(cls=ROAD_CLASS, scope=scope) if r.footprint]
    return CityFacts(zones, buildings, names, parcels, roads or None, read_greens(store, scope))


def read_zones(
    store: CityStore, scope: Scope, layer: str, checked: list[BaseGeometry]
) -> list[Zone]:
    """The zones of a class (else of a source), with their limits checked.

    A zone is a rule over the land, stored in the jurisdiction of its centre; so a run
    limited to a scope reads the zones meeting the buildings and parcels it checks (those
    in scope), whatever their own jurisdiction, and no other.
    """
    everything = Scope.everything()
    objects = store.objects(cls=layer, scope=everything)
    if not objects:
        objects = [o for o in store.objects_in_box(None, None, scope=everything)
                   if o.source == layer]  # fmt: skip
    objects = [o for o in objects if _area(o.footprint)]
    if not scope.unlimited:
        tree = STRtree(checked)
        objects = [o for o in objects if len(tree.query(o.footprint, predicate="intersects"))]
    if not objects:
        raise ModelError(
            f"the city has no zones in {layer!r} over the objects in scope: import a zoning"
            " layer with `cimtwin import zones FILE --city DIR` (or give zone_layer)"
        )
    zones = []
    for obj in objects:
        try:
            limits = zone_indicators(obj.attributes, f"zone {obj.id}")
        except CimError as exc:
            raise ModelError(str(exc)) from exc
        assert obj.footprint is not None
        zones.append(Zone(obj.id, obj.footprint, limits.zone_code, limits.max_height_m,
                          limits.max_far, limits.max_coverage, limits.min_green_ratio,
                          limits.setback_m))  # fmt: skip
    return zones


def read_buildings(store: CityStore, scope: Scope) -> tuple[list[Building], dict[str, str]]:
    """Every building with its height above ground and gross floor area.

    IFC buildings get both from :func:`cim.planning.planning_card`; GIS buildings (those
    not replaced by a BIM building) by the same rules in one pass: the height of the top
    above the DEM under the footprint (else above its base), the floor area as footprint
    area times storeys above ground (their levels, else estimated from a measured height).
    """
    buildings: list[Building] = []
    names: dict[str, str] = {}
    for obj in store.objects(cls=BIM_BUILDING_CLASS, scope=scope):
        if not _area(obj.footprint):
            continue
        card = planning_card(store, obj.id, scope=scope)
        height = card["height"]["value"] if card["height"] else None
        area = card["gross_floor_area"]["value"] if card["gross_floor_area"] else None
        assert obj.footprint is not None
        buildings.append(Building(obj.id, obj.footprint, height, area))
        names[obj.id] = obj.name
    gis = [o for cls in GIS_BUILDING_CLASSES for o in store.objects(cls=cls, scope=scope)
           if _area(o.footprint) and not o.attributes.get("replaced_by")]  # fmt: skip
    grounds = footprint_bases(store.city_dir, store.crs, [o.footprint for o in gis])
    for obj, dem in zip(gis, grounds.tolist(), strict=True):
        assert obj.footprint is not None
        ground = dem if np.isfinite(dem) else obj.base_height
        height = None if ground is None or obj.top_height is None else obj.top_height - ground
        storeys = levels_of(obj.attributes)
        if storeys is None and obj.attributes.get("height_source") == "height" and height:
            storeys = max(1, round(height / TYPICAL_STOREY_HEIGHT))
        area = obj.footprint.area * storeys if storeys else None
        buildings.append(Building(obj.id, obj.footprint, height, area))
        names[obj.id] = obj.name or str(obj.attributes.get("ref") or "")
    return buildings, names


def read_greens(store: CityStore, scope: Scope) -> list[BaseGeometry] | None:
    """Green areas (green / PlantCover objects, green land use), None when there are none."""
    greens = [o.footprint for cls in GREEN_CLASSES for o in store.objects(cls=cls, scope=scope)
              if o.footprint is not None]  # fmt: skip
    for obj in store.objects(cls=LANDUSE_CLASS, scope=scope):
        flat = flatten(obj.attributes)
        tags = obj.attributes.get("osm_tags")
        if isinstance(tags, dict):
            flat = {**tags, **flat}
        if obj.footprint is not None and any(
            str(flat.get(key, "")).lower() in GREEN_USES for key in GREEN_KEYS
        ):
            greens.append(obj.footprint)
    return greens or None


def check_all(facts: CityFacts, params: ZoningParameters, progress: Progress) -> list[Check]:
    """Every check of every building and parcel, buildings first."""
    zone_tree = STRtree([z.geometry for z in facts.zones])
    parcel_tree = STRtree([p.footprint for p in facts.parcels])
    building_tree = STRtree([b.footprint for b in facts.buildings])
    road_tree = STRtree(facts.roads or [])
    green_tree = STRtree(facts.greens or [])
    wanted = set(params.indicators)
    checks: list[Check] = []
    step = max(1, len(facts.buildings) // 10)
    for index, building in enumerate(facts.buildings):
        if index % step == 0:
            progress(30 + 40 * index // max(1, len(facts.buildings)), "checking buildings")
        zones = [facts.zones[i] for i in zone_tree.query(building.footprint)]
        if "height" in wanted:
            checks.append(check_height(building, zones, params.height_tolerance_m,
                                       params.zone_min_share))  # fmt: skip
        if "setback" in wanted:
            parcel = _plot(building, facts.parcels, parcel_tree)
            roads = None
            if facts.roads is not None and parcel is not None:  # those the parcel may face
                near = road_tree.query(parcel, predicate="dwithin", distance=params.road_distance_m)
                roads = [facts.roads[i] for i in near]
            checks.append(check_setback(building, parcel, zones, roads, params.road_distance_m,
                                        params.zone_min_share))  # fmt: skip
    progress(70, f"checking {len(facts.parcels)} parcels")
    parcel_indicators = [i for i in params.indicators if INDICATORS[i][3] == PARCEL_CLASS]
    if not parcel_indicators:
        return checks
    for parcel in facts.parcels:
        assert parcel.footprint is not None
        zones = [facts.zones[i] for i in zone_tree.query(parcel.footprint)]
        near = [facts.buildings[i] for i in building_tree.query(parcel.footprint)]
        greens = None  # None: the city has no green layer; else the greens meeting the parcel
        if facts.greens is not None:
            greens = [facts.greens[i] for i in green_tree.query(parcel.footprint)]
        checks.extend(check_parcel(parcel.id, parcel.footprint, zones, near, greens,
                                   parcel_indicators, params.zone_min_share))  # fmt: skip
    return checks


def _plot(building: Building, parcels: list[CityObject], tree: STRtree) -> BaseGeometry | None:
    """The parcel holding most (at least half) of the building's footprint."""
    best: tuple[float, BaseGeometry] | None = None
    for index in tree.query(building.footprint):
        geometry = parcels[index].footprint
        assert geometry is not None
        share = share_inside(building.footprint, geometry)
        if share >= PLOT_SHARE and (best is None or share > best[0]):
            best = (share, geometry)
    return None if best is None else best[1]


def build_result(
    facts: CityFacts, checks: list[Check], params: ZoningParameters, crs: str
) -> SimulationResult:
    """The run's values, layers, chart and summary."""
    by_object: dict[str, list[Check]] = {}
    for check in checks:
        by_object.setdefault(check.object_id, []).append(check)
    geometries: dict[str, BaseGeometry] = {b.id: b.footprint for b in facts.buildings}
    geometries.update({p.id: p.footprint for p in facts.parcels if p.footprint is not None})
    kinds = {b.id: "building" for b in facts.buildings}
    kinds.update({p.id: PARCEL_CLASS for p in facts.parcels})
    names = {**facts.names, **{p.id: _parcel_name(p) for p in facts.parcels}}
    violations = [c for c in checks if c.status == VIOLATION]
    features = [
        Feature(geometries[c.object_id], {**c.to_dict(), "object_kind": kinds[c.object_id],
                                          "object_name": names.get(c.object_id, "")})
        for c in violations
    ]  # fmt: skip
    statuses = {oid: status_of(found) for oid, found in by_object.items()}
    details = {oid: {c.indicator: c.to_dict() for c in found} for oid, found in by_object.items()}
    counted = Counter(c.indicator for c in violations)
    not_assessed = Counter(c.indicator for c in checks if c.status == NOT_ASSESSED)
    summary: dict[str, Any] = {
        "zones": len(facts.zones),
        "buildings_checked": len(facts.buildings),
        "parcels_checked": len(facts.parcels) if _any_parcel_indicator(params) else 0,
        "violations": len(violations),
        "violations_by_indicator": {i: counted.get(i, 0) for i in params.indicators},
        "not_assessed_by_indicator": {i: not_assessed.get(i, 0) for i in params.indicators},
        "buildings_violating": sum(
            1 for oid, s in statuses.items() if s == VIOLATION and kinds[oid] == "building"),
        "parcels_violating": sum(
            1 for oid, s in statuses.items() if s == VIOLATION and kinds[oid] == PARCEL_CLASS),
        "max_height_excess_m": _max_amount(violations, "height"),
        "max_far_excess": _max_amount(violations, "far"),
    }  # fmt: skip
    chart = Chart(
        "violations_by_indicator", "Violations by indicator", "indicator", "violations", "bar",
        [ChartSeries("violations", list(params.indicators),
                     [float(counted.get(i, 0)) for i in params.indicators])],
    )  # fmt: skip
    values = [
        ObjectValues("zoning_status", "Zoning status", "", dict(statuses), details),
        ObjectValues("height_excess_m", "Height above the limit", "m",
                     _amounts(checks, "height", 3)),
        ObjectValues("far_excess", "Floor area ratio above the limit", "",
                     _amounts(checks, "far", 4)),
    ]  # fmt: skip
    vectors = [
        VectorLayer("violations", "Zoning violations", features, crs),
        VectorLayer("zones", "Planning zones", _zone_features(facts.zones, checks), crs),
    ]
    return SimulationResult("zoning", params.model_dump(), summary, [], vectors, values, [chart])


def _zone_features(zones: list[Zone], checks: list[Check]) -> list[Feature]:
    """Each zone with its limits and the number of objects checked against it / violating."""
    checked = Counter(c.zone for c in checks if c.zone is not None and c.status != NOT_ASSESSED)
    failed = Counter(c.zone for c in checks if c.zone is not None and c.status == VIOLATION)
    features = []
    for zone in zones:
        properties: dict[str, Any] = {"zone_id": zone.id, "zone_code": zone.label}
        properties.update({INDICATORS[i][0]: zone.limit(i) for i in INDICATORS})
        properties.update(checks=checked.get(zone.label, 0), violations=failed.get(zone.label, 0))
        features.append(Feature(zone.geometry, properties))
    return features


def _amounts(checks: list[Check], indicator: str, digits: int) -> dict[str, float | str | None]:
    """actual - limit of each assessed object (negative: under the limit), None otherwise."""
    return {c.object_id: None if c.amount is None else round(c.amount, digits)
            for c in checks if c.indicator == indicator}  # fmt: skip


def _max_amount(violations: list[Check], indicator: str) -> float | None:
    amounts = [c.amount for c in violations if c.indicator == indicator and c.amount is not None]
    return round(max(amounts), 4) if amounts else None


def _any_parcel_indicator(params: ZoningParameters) -> bool:
    return any(INDICATORS[i][3] == PARCEL_CLASS for i in params.indicators)


def _parcel_name(parcel: CityObject) -> str:
    for key in ("parcel_no", "plot_no", "宗地号", "地块编号", "ref"):
        if parcel.attributes.get(key):
            return str(parcel.attributes[key])
    return parcel.name


def _area(geometry: BaseGeometry | None) -> bool:
    return geometry is not None and not geometry.is_empty and geometry.area > 0


MODEL = ModelSpec(
    name="zoning",
    title_en="Height limits and zoning",
    title_zh="控高与控规指标核查",
    description="Every building checked against its zone's height limit and setback, every"
    " parcel against its floor area ratio, site coverage and green ratio; violations listed"
    " with their amount.",
    parameters_type=ZoningParameters,
    run=run,
)
