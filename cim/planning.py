"""The planning figures of a city object, computed from the store: a building card.

A planner asks of a building its height above ground, its storeys above and below ground,
its gross floor area (and how it was obtained), footprint area, use, year, address, the plot
it stands on and where it is (city CRS and longitude/latitude, heights relative to the
ground with the vertical datum named). :func:`planning_card` answers for an IFC building,
a GIS building, or any object (then with its building's storeys and its own level).

Ground: the DEM under the footprint (its lowest point) when the city has one covering it;
else, for an IFC building, the floor of its ground floor (its spaces' lowest point, else
the storey's); else the building's base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cim.crs import parse_crs, to_lonlat
from cim.errors import ObjectNotFoundError
from cim.model import CityObject
from cim.planning_area import FloorArea, bim_floor_area, estimated_floor_area
from cim.planning_storeys import StoreyList, length_scale, storey_list
from cim.raster import base_height_at
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import (
    BIM_BUILDING_CLASS,
    STOREY_CLASS,
    flatten,
    height_band,
    is_building,
    levels_of,
    use_of,
    year_of,
)

#: Fields of the platform, not of the source: never shown as attributes.
INTERNAL_FIELDS = frozenset({"step_id", "height_source", "psets", "qtos", "osm_tags", "fid"})
PLOT_CLASSES = ("parcel",)
#: Where a plot's number is read, first key found wins.
PLOT_NUMBER_KEYS = ("parcel_no", "plot_no", "宗地号", "地块编号", "ref")
#: A plot holds a building when it covers at least this share of the footprint.
PLOT_SHARE = 0.5
#: Storey height assumed to count the storeys of a GIS building known by its height only.
TYPICAL_STOREY_HEIGHT = 3.0
UNDERGROUND_KEYS = ("building:levels:underground", "levels_underground", "地下层数")
ADDRESS_KEYS = ("address", "addr:full", "地址")
#: OSM address parts: the street line, then the place line.
STREET_PARTS = ("addr:street", "addr:housenumber")
PLACE_PARTS = ("addr:postcode", "addr:city")
#: How a GIS import found a building's height: measured (``height``) or estimated.
ESTIMATED_HEIGHT_SOURCES = ("levels", "default")


@dataclass(frozen=True)
class Ground:
    """The ground height under an object (city heights, metres) and where it came from:
    ``dem``, ``ground-floor`` or ``base``."""

    height: float
    method: str


@dataclass(frozen=True)
class Context:
    """What the figures of one object are computed from."""

    store: CityStore
    scope: Scope
    obj: CityObject
    building: CityObject | None
    flat: dict[str, Any]


def planning_card(store: CityStore, object_id: str, *, scope: Scope) -> dict[str, Any]:
    """The planning figures of the object ``object_id`` (not found outside ``scope``)."""
    obj = store.get_object(object_id, scope=scope)
    building = obj if is_building(obj.cls) else _building_of(store, obj, scope)
    attributes = (building or obj).attributes
    ctx = Context(store, scope, obj, building, flatten(attributes))
    storeys = _storeys(ctx)
    ground = _ground(ctx, storeys)
    card: dict[str, Any] = {
        "id": obj.id, "class": obj.cls, "name": obj.name, "kind": _kind(obj, building),
        "names": _names(flatten(obj.attributes)),
        "building": _ref(building) if building is not None and building is not obj else None,
        "storey": _storey_ref(store, obj, scope),
        "footprint_area": _area(obj),
        "position": _position(store, obj),
        "vertical_datum": vertical_datum(store.crs),
        "ground": None if ground is None else {"height": _r(ground.height),
                                               "method": ground.method},
        "source_attributes": source_attributes(obj.attributes),
    }  # fmt: skip
    card["height"] = _height(obj, ground)
    card["base_level"] = (
        None if ground is None or obj.base_height is None or obj is building
        else _r(obj.base_height - ground.height)
    )  # fmt: skip
    card.update(_building_figures(ctx, storeys, card["height"]))
    return card


def _building_figures(
    ctx: Context, storeys: dict[str, Any], height: dict[str, Any] | None
) -> dict[str, Any]:
    """Use, year, address, storeys, floor area, plot and height class of the building."""
    building = ctx.building
    figures: dict[str, Any] = dict.fromkeys(
        ("use", "year", "address", "gross_floor_area", "plot", "height_class")
    )
    figures["storeys"] = storeys
    if building is None:
        return figures
    use = use_of(building.attributes)
    figures.update(use=use, year=year_of(building.attributes), address=address(ctx.flat),
                   plot=_plot(ctx.store, building, ctx.scope))  # fmt: skip
    area = _floor_area(ctx, storeys)
    figures["gross_floor_area"] = None if area is None else area.to_dict()
    if height is not None and height["value"] > 0:
        band = height_band(height["value"], use, storeys.get("above"))
        figures["height_class"] = {"code": band.code, "zh": band.zh, "en": band.en}
    return figures


def _building_of(store: CityStore, obj: CityObject, scope: Scope) -> CityObject | None:
    if obj.building_id is None or obj.building_id == obj.id:
        return None
    try:
        return store.get_object(obj.building_id, scope=scope)
    except ObjectNotFoundError:
        return None


def _kind(obj: CityObject, building: CityObject | None) -> str:
    if obj is building:
        return "bim-building" if obj.cls == BIM_BUILDING_CLASS else "gis-building"
    return "element" if building is not None else "feature"


def _storeys(ctx: Context) -> dict[str, Any]:
    """``{above, below, method, estimate, ground, list}`` for the object's building."""
    building = ctx.building
    empty: dict[str, Any] = {"above": None, "below": None, "method": None, "estimate": False,
                             "ground": None, "list": []}  # fmt: skip
    if building is None:
        return empty
    if building.cls == BIM_BUILDING_CLASS:
        found = ctx.store.objects(cls=STOREY_CLASS, building_id=building.id, scope=ctx.scope)
        listed = storey_list(found, _scale(ctx.store, building, ctx.scope))
        if listed.method != "none":
            return _storey_summary(listed)
    levels = levels_of(building.attributes)
    below = _underground(ctx.flat)
    if levels is not None:
        return {**empty, "above": levels, "below": below, "method": "attribute"}
    top, base = building.top_height, building.base_height
    if building.attributes.get("height_source") == "height" and top is not None:
        estimated = max(1, round((top - (base or 0.0)) / TYPICAL_STOREY_HEIGHT))
        return {**empty, "above": estimated, "below": below, "method": "height", "estimate": True}
    return empty


def _storey_summary(listed: StoreyList) -> dict[str, Any]:
    return {"above": listed.above, "below": listed.below, "method": listed.method,
            "estimate": False, "ground": listed.ground,
            "list": [s.to_dict() for s in listed.storeys]}  # fmt: skip


def _scale(store: CityStore, building: CityObject, scope: Scope) -> float | None:
    """Metres per length unit of the IFC source the building came from."""
    for source in store.sources(scope=scope):
        if source["source"] == building.source:
            return length_scale(source.get("report"))
    return None


def _underground(flat: dict[str, Any]) -> int | None:
    for key in UNDERGROUND_KEYS:
        value = flat.get(key)
        try:
            number = float(value) if isinstance(value, str | int | float) else math.nan
        except ValueError:
            continue
        if math.isfinite(number) and 0 <= number < 100 and not isinstance(value, bool):
            return int(number)
    return None


def _ground(ctx: Context, storeys: dict[str, Any]) -> Ground | None:
    """The ground under the building (or the object, outside any building)."""
    subject = ctx.building or ctx.obj
    dem = base_height_at(ctx.store.city_dir, ctx.store.crs, subject.footprint)
    if dem is not None:
        return Ground(dem, "dem")
    ground_id = storeys.get("ground")
    if ctx.building is not None and ground_id is not None:
        floor = _floor_level(ctx, ground_id)
        if floor is not None:
            return Ground(floor, "ground-floor")
    if subject.base_height is not None:
        return Ground(subject.base_height, "base")
    return None


def _floor_level(ctx: Context, storey_id: str) -> float | None:
    """The floor of a storey: its spaces' lowest point, else the storey's own."""
    spaces = ctx.store.objects(cls="IfcSpace", storey_id=storey_id, scope=ctx.scope)
    bases = [s.base_height for s in spaces if s.base_height is not None]
    if bases:
        return float(min(bases))
    try:
        storey = ctx.store.get_object(storey_id, scope=ctx.scope)
    except ObjectNotFoundError:
        return None
    return storey.base_height


def _height(obj: CityObject, ground: Ground | None) -> dict[str, Any] | None:
    """The height of the object's top above the ground, and whether it is an estimate."""
    if ground is None or obj.top_height is None:
        return None
    source = obj.attributes.get("height_source")
    return {"value": _r(obj.top_height - ground.height), "top": _r(obj.top_height),
            "method": ground.method, "source": source,
            "estimate": source in ESTIMATED_HEIGHT_SOURCES}  # fmt: skip


def _floor_area(ctx: Context, storeys: dict[str, Any]) -> FloorArea | None:
    building = ctx.building
    if building is None:
        return None
    if building.cls == BIM_BUILDING_CLASS:
        store, scope, bid = ctx.store, ctx.scope, building.id
        area = bim_floor_area(
            building,
            store.objects(cls=STOREY_CLASS, building_id=bid, scope=scope),
            store.objects(cls="IfcSlab", building_id=bid, scope=scope),
            store.objects(cls="IfcSpace", building_id=bid, scope=scope),
        )
        if area is not None:
            return area
    count = (storeys.get("above") or 0) + (storeys.get("below") or 0)
    return estimated_floor_area(_area(building), count or None)


def _plot(store: CityStore, building: CityObject, scope: Scope) -> dict[str, Any] | None:
    """The parcel that covers most of the building's footprint (at least half of it)."""
    footprint = building.footprint
    if footprint is None or footprint.is_empty or footprint.area <= 0:
        return None
    best: tuple[float, CityObject] | None = None
    for cls in PLOT_CLASSES:
        for plot in store.objects_in_box(cls, footprint.bounds, scope=scope):
            if plot.footprint is None or plot.footprint.is_empty:
                continue
            shared = plot.footprint.intersection(footprint).area
            if shared >= PLOT_SHARE * footprint.area and (best is None or shared > best[0]):
                best = (shared, plot)
    if best is None:
        return None
    plot = best[1]
    number = next((str(plot.attributes[k]) for k in PLOT_NUMBER_KEYS if plot.attributes.get(k)),
                  None)  # fmt: skip
    return {**_ref(plot), "number": number, "area": _area(plot),
            "attributes": source_attributes(plot.attributes)}  # fmt: skip


def address(flat: dict[str, Any]) -> str | None:
    """A postal address from an address field, else from OSM ``addr:*`` parts."""
    for key in ADDRESS_KEYS:
        value = flat.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    lines = [
        " ".join(str(flat[k]).strip() for k in parts if str(flat.get(k) or "").strip())
        for parts in (STREET_PARTS, PLACE_PARTS)
    ]
    text = ", ".join(line for line in lines if line)
    return text or None


def source_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The object's attributes as its source gave them: OSM tags merged in, the platform's
    internal fields left out, and a column GDAL renamed from a tag (``building_levels``
    for ``building:levels``) given once, under the tag's name."""
    tags = attributes.get("osm_tags")
    tags = tags if isinstance(tags, dict) else {}
    renamed = {key.replace(":", "_") for key in tags}
    merged = {k: v for k, v in attributes.items() if k not in INTERNAL_FIELDS and k not in renamed}
    merged.update({k: v for k, v in tags.items() if k not in merged})
    return dict(sorted(merged.items()))


def _names(flat: dict[str, Any]) -> dict[str, str]:
    """The object's names by language (OSM ``name:zh``, ``name:en``...)."""
    return {
        key.split(":", 1)[1]: value
        for key, value in flat.items()
        if key.startswith("name:") and isinstance(value, str) and value.strip()
    }


def vertical_datum(crs: str) -> str | None:
    """The vertical datum the city CRS names (its height part, for a compound CRS), or None
    when it names none: heights are then as the sources give them."""
    parsed = parse_crs(crs)
    if parsed.is_compound and len(parsed.sub_crs_list) > 1:
        return str(parsed.sub_crs_list[1].name)
    if parsed.is_vertical:
        return str(parsed.name)
    return None


def _position(store: CityStore, obj: CityObject) -> dict[str, Any] | None:
    """The footprint's centre in the city CRS and in longitude/latitude."""
    if obj.footprint is None or obj.footprint.is_empty:
        return None
    centre = obj.footprint.centroid
    lon, lat = to_lonlat(centre.x, centre.y, store.crs)
    if not all(math.isfinite(v) for v in (lon, lat)):
        return None
    return {"crs": store.crs, "crs_name": str(parse_crs(store.crs).name),
            "x": round(centre.x, 3), "y": round(centre.y, 3),
            "lon": round(lon, 7), "lat": round(lat, 7)}  # fmt: skip


def _storey_ref(store: CityStore, obj: CityObject, scope: Scope) -> dict[str, str] | None:
    if obj.storey_id is None or obj.storey_id == obj.id:
        return None
    try:
        return _ref(store.get_object(obj.storey_id, scope=scope))
    except ObjectNotFoundError:
        return None


def _ref(obj: CityObject) -> dict[str, str]:
    return {"id": obj.id, "class": obj.cls, "name": obj.name}


def _area(obj: CityObject) -> float | None:
    if obj.footprint is None or obj.footprint.is_empty:
        return None
    area = float(obj.footprint.area)
    return round(area, 2) if area > 0 else None


def _r(value: float) -> float:
    return round(float(value), 3)
