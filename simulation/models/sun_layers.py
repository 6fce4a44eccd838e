"""The layers of a sunlight run: per-building values, sill points, failing homes, shadows,
the ground raster and the façade chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import shapely
from shapely.geometry import Polygon

from cim.results import Chart, ChartSeries, Feature, ObjectValues, RasterLayer, VectorLayer
from simulation.models.sun_hours import Edges, FloatArray
from simulation.models.sun_obstacles import Building
from simulation.models.sun_position import SunPath, sun_at
from simulation.models.sun_rule import FAIL, FAILS_DUE_TO_PROPOSED, Assessment, ground_hours

CHART_BARS = 30


class GroundSettings(Protocol):
    """What the ground raster reads of the parameters."""

    ground_resolution: float
    ground_margin: float
    min_spell_minutes: float


def _point_owners(assessment: Assessment, owners: Sequence[int]) -> np.ndarray:
    home_of = np.array([face.home for face in assessment.faces], dtype=np.int64)
    return np.asarray(owners, dtype=np.int64)[home_of[assessment.points.face]]


def _r(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 3)


def building_values(
    buildings: list[Building],
    assessment: Assessment,
    owners: Sequence[int],
    verdicts: list[str | None],
) -> list[ObjectValues]:
    """``sun_hours`` (the least hours over a building's checked sill points: its worst
    window) with the hours per floor and face, and ``sun_pass``."""
    owner_of = _point_owners(assessment, owners)
    checked = assessment.checked[assessment.points.face]
    hours: dict[str, float | str | None] = {}
    details: dict[str, dict[str, Any]] = {}
    for index, building in enumerate(buildings):
        mine = np.flatnonzero(checked & (owner_of == index))
        if len(mine) == 0:
            hours[building.id] = None
            continue
        hours[building.id] = _r(float(assessment.hours[mine].min()))
        faces: dict[str, dict[str, Any]] = {}
        for face in np.unique(assessment.points.face[mine]):
            on_face = mine[assessment.points.face[mine] == face]
            floors = assessment.points.floor[on_face]
            label = f"{assessment.faces[face].compass} #{int(face)}"
            faces[label] = {
                str(int(floor) + 1): {
                    "min_hours": _r(float(assessment.hours[on_face[floors == floor]].min())),
                    "max_hours": _r(float(assessment.hours[on_face[floors == floor]].max())),
                    "min_hours_without_proposed": _r(
                        float(assessment.hours_without[on_face[floors == floor]].min())
                    ),
                }
                for floor in np.unique(floors)
            }
        details[building.id] = {"verdict": verdicts[index], "faces": faces}
    passes: dict[str, float | str | None] = {
        b.id: verdicts[index] for index, b in enumerate(buildings)
    }
    return [
        ObjectValues("sun_hours", "Hours of sun at the worst window sill", "h", hours, details),
        ObjectValues("sun_pass", "Sunlight rule", "", passes),
    ]


def sill_points_layer(
    buildings: list[Building], assessment: Assessment, owners: Sequence[int], crs: str
) -> VectorLayer:
    """The checked sill points with their hours (with and without the proposal)."""
    owner_of = _point_owners(assessment, owners)
    read = np.flatnonzero(assessment.checked[assessment.points.face])
    required = assessment.required_hours - 1e-9
    xyz = assessment.points.xyz[read]
    geometries = shapely.points(xyz)
    features = [
        Feature(
            geometry,
            {
                "building": buildings[int(owner_of[i])].id,
                "face": int(assessment.points.face[i]),
                "facing": assessment.faces[int(assessment.points.face[i])].compass,
                "floor": int(assessment.points.floor[i]) + 1,
                "height": round(float(assessment.points.xyz[i, 2]), 2),
                "hours": _r(float(assessment.hours[i])),
                "hours_without_proposed": _r(float(assessment.hours_without[i])),
                "pass": bool(assessment.hours[i] >= required),
            },
        )
        for geometry, i in zip(geometries, read, strict=True)
    ]
    return VectorLayer("sill_points", "Window-sill points and their hours of sun", features, crs)


def failing_homes_layer(
    buildings: list[Building], verdicts: list[str | None], values: list[ObjectValues], crs: str
) -> VectorLayer:
    """The footprints of the homes that fail the rule, with their verdict and hours."""
    hours = values[0].values
    features = [
        Feature(
            shapely.unary_union(building.parts),
            {
                "building": building.id,
                "name": building.name,
                "verdict": verdict,
                "hours": hours.get(building.id),
            },
        )
        for building, verdict in zip(buildings, verdicts, strict=True)
        if verdict in (FAIL, FAILS_DUE_TO_PROPOSED)
    ]
    return VectorLayer("failing_homes", "Homes failing the sunlight rule", features, crs)


def shadow_polygon(footprint: Polygon, height: float, azimuth: float, elevation: float) -> Any:
    """The shadow on flat ground of a prism ``height`` tall when the sun stands at
    ``azimuth`` (grid frame) and ``elevation`` degrees: the footprint swept along the
    shadow of its top (each edge's sweep, so concave footprints are exact)."""
    length = height / np.tan(np.radians(elevation))
    shift = -length * np.array([np.sin(np.radians(azimuth)), np.cos(np.radians(azimuth))])
    pieces = [footprint, shapely.affinity.translate(footprint, *shift)]
    for ring in (footprint.exterior, *footprint.interiors):
        coords = np.asarray(ring.coords)[:, :2]
        quads = np.stack([coords[:-1], coords[1:], coords[1:] + shift, coords[:-1] + shift], 1)
        pieces.extend(shapely.polygons(quads).tolist())
    return shapely.unary_union([p for p in pieces if p.is_valid and not p.is_empty])


def shadows_layer(
    buildings: list[Building],
    instant: dt.datetime,
    latitude: float,
    longitude: float,
    north: float,
    crs: str,
) -> VectorLayer:
    """Each building's shadow at ``instant`` (none when the sun is down)."""
    azimuth, elevation = sun_at(instant, latitude, longitude)
    features: list[Feature] = []
    if elevation > 0.5:
        for building in buildings:
            shadow = shapely.unary_union(
                [
                    shadow_polygon(footprint, top - building.base, azimuth + north, elevation)
                    for footprint, top in building.prisms
                ]
            )
            properties = {
                "building": building.id,
                "proposed": building.proposed,
                "time": instant.isoformat(),
                "sun_azimuth": round(azimuth, 3),
                "sun_elevation": round(elevation, 3),
            }
            features.append(Feature(shadow, properties))
    title = f"Shadows at {instant.strftime('%H:%M')} (Beijing time)"
    return VectorLayer("shadows", title, features, crs)


def ground_layer(
    buildings: list[Building],
    existing: Edges,
    proposed: Edges,
    path: SunPath,
    settings: GroundSettings,
    bounds: tuple[float, float, float, float],
    crs: str,
    max_cells: int,
) -> tuple[RasterLayer, float]:
    """Hours of sun on the ground (everything built) over the homes' box and a margin,
    NaN inside buildings; the cell size is coarsened to stay under ``max_cells``."""
    margin = settings.ground_margin
    x0, y0 = bounds[0] - margin, bounds[1] - margin
    width, height = bounds[2] - bounds[0] + 2 * margin, bounds[3] - bounds[1] + 2 * margin
    resolution = settings.ground_resolution
    while (width / resolution) * (height / resolution) > max_cells:
        resolution *= 1.5
    columns, rows = (
        max(1, int(np.ceil(width / resolution))),
        max(1, int(np.ceil(height / resolution))),
    )
    top = y0 + rows * resolution
    xs = x0 + (np.arange(columns) + 0.5) * resolution
    ys = top - (np.arange(rows) + 0.5) * resolution
    grid_x, grid_y = np.meshgrid(xs, ys)
    xy = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    parts = [part for b in buildings for part in b.parts]
    bases = np.array([b.base for b in buildings for _ in b.parts])
    tree = shapely.STRtree(parts)
    cells = shapely.points(xy)
    inside = np.zeros(len(xy), dtype=np.bool_)
    inside[tree.query(cells, predicate="within")[0]] = True
    nearest = tree.query_nearest(cells, all_matches=False)
    ground = np.zeros(len(xy))
    ground[nearest[0]] = bases[nearest[1]]
    edges = _joined(existing, proposed)
    outside = np.flatnonzero(~inside)
    values: FloatArray = np.full(len(xy), np.nan)
    values[outside] = ground_hours(
        xy[outside], ground[outside], edges, path, settings.min_spell_minutes
    )
    array = values.reshape(rows, columns).astype(np.float32)
    transform = (x0, resolution, 0.0, top, 0.0, -resolution)
    layer = RasterLayer("ground_hours", "Hours of sun on the ground", "h", array, transform, crs)
    return layer, resolution


def _joined(first: Edges, second: Edges) -> Edges:
    if second.size == 0:
        return first
    if first.size == 0:
        return second
    return Edges(
        np.concatenate([first.a, second.a]),
        np.concatenate([first.b, second.b]),
        np.concatenate([first.top, second.top]),
        np.concatenate([first.prism, second.prism + int(first.prism.max()) + 1]),
    )


def facade_chart(
    buildings: list[Building],
    assessment: Assessment,
    owners: Sequence[int],
    verdicts: list[str | None],
    with_proposal: bool,
) -> Chart:
    """Bars of the least hours per façade (ground floor), failing buildings first, up to 30."""
    owner_of = _point_owners(assessment, owners)
    checked = assessment.checked[assessment.points.face]
    lowest = assessment.points.floor == 0
    rank = {FAIL: 0, FAILS_DUE_TO_PROPOSED: 0, "pass": 1, None: 2}
    bars: list[tuple[int, float, str, float, float]] = []
    for face in np.unique(assessment.points.face[checked & lowest]):
        mine = checked & lowest & (assessment.points.face == face)
        owner = int(owner_of[mine][0])
        building = buildings[owner]
        label = f"{building.name or building.id} {assessment.faces[face].compass}"
        hours = float(assessment.hours[mine].min())
        without = float(assessment.hours_without[mine].min())
        bars.append((rank[verdicts[owner]], hours, label, hours, without))
    bars.sort(key=lambda bar: (bar[0], bar[1]))
    bars = bars[:CHART_BARS]
    series = [ChartSeries("hours", [b[2] for b in bars], [_r(b[3]) for b in bars])]
    if with_proposal:
        series.append(
            ChartSeries("without proposed", [b[2] for b in bars], [_r(b[4]) for b in bars])
        )
    return Chart("hours_by_facade", "Hours of sun per façade", "façade", "hours", "bar", series)
