"""Author small but realistic demo building IFC4 files with ``ifcopenshell.api``.

Each building is a rectangular box of exterior walls with windows, a door, floor slabs,
a roof slab and one space per storey, georeferenced to EPSG:4547 (CGCS2000 / 3-degree
Gauss-Kruger CM 114E) through an ``IfcMapConversion``.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.attribute
import ifcopenshell.api.context
import ifcopenshell.api.feature
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.style
import ifcopenshell.api.unit
import numpy as np

__all__ = ["BuildingSpec", "write_demo_building"]

CRS_NAME = "EPSG:4547"
WALL_THICKNESS = 0.25
SLAB_THICKNESS = 0.2
SILL_HEIGHT = 0.9
OPENING_OVERCUT = 0.1  # openings stick out of both wall faces to avoid coplanar booleans
# Lining offsets (from the wall's outer face) keep the fillers inside the wall thickness:
# the window body spans y in [0.0875, 0.1625], the door body y in [0, 0.2].
WINDOW_LINING = {"LiningDepth": 0.05, "LiningToPanelOffsetY": 0.025, "LiningOffset": 0.0875}
DOOR_LINING = {"LiningDepth": 0.05, "LiningOffset": 0.1}
MIN_PLAN_SIZE = 3.0
MIN_STOREY_HEIGHT = 2.6

Entity = ifcopenshell.entity_instance


@dataclass(frozen=True)
class BuildingSpec:
    """Parameters of one demo building.

    Sizes are in metres; ``easting``/``northing`` place the local origin in EPSG:4547 and
    ``rotation_deg`` turns the local x axis counter-clockwise from grid east.
    """

    name: str
    easting: float
    northing: float
    elevation: float = 10.0
    rotation_deg: float = 0.0
    width: float = 20.0
    depth: float = 12.0
    storeys: int = 3
    storey_height: float = 3.5
    use: str = "office"
    year_built: int = 2020
    facade_rgb: tuple[float, float, float] = (0.85, 0.8, 0.7)

    def __post_init__(self) -> None:
        """Reject specs that cannot produce a valid building."""
        if not self.name.strip():
            raise ValueError("name must not be empty")
        numbers = (self.easting, self.northing, self.elevation, self.rotation_deg)
        if not all(math.isfinite(v) for v in (*numbers, self.width, self.depth)):
            raise ValueError("coordinates, rotation and sizes must be finite")
        if self.storeys < 1:
            raise ValueError(f"storeys must be >= 1, got {self.storeys}")
        if min(self.width, self.depth) < MIN_PLAN_SIZE:
            raise ValueError(f"width and depth must be >= {MIN_PLAN_SIZE} m")
        if not self.storey_height >= MIN_STOREY_HEIGHT:
            raise ValueError(f"storey_height must be >= {MIN_STOREY_HEIGHT} m")
        if len(self.facade_rgb) != 3 or not all(0.0 <= c <= 1.0 for c in self.facade_rgb):
            raise ValueError("facade_rgb must be three floats in [0, 1]")


class _Model(NamedTuple):
    """Authoring state shared by the private helpers."""

    file: ifcopenshell.file
    body: Entity
    styles: dict[str, Entity]


class _Opening(NamedTuple):
    """A window or door hole in wall coordinates: left edge, sill height and size."""

    kind: str
    left: float
    sill: float
    width: float
    height: float


class _Wall(NamedTuple):
    """Plan frame of one wall: start point, direction (degrees from local x) and length."""

    name: str
    x: float
    y: float
    angle_deg: float
    length: float


def write_demo_building(spec: BuildingSpec, path: pathlib.Path) -> pathlib.Path:
    """Author one IFC4 building file at `path` and return the path.

    Parameters
    ----------
    spec : BuildingSpec
        Building parameters.
    path : pathlib.Path
        Output ``.ifc`` file; parent directories are created.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = pathlib.Path(path)
    model, project = _new_model(spec)
    building = _add_spatial_tree(model, project, spec)
    storeys = [_add_storey(model, building, spec, level) for level in range(spec.storeys)]
    _add_slab(model, storeys[-1], spec, spec.storeys * spec.storey_height, roof=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.file.write(str(path))
    return path


def _new_model(spec: BuildingSpec) -> tuple[_Model, Entity]:
    """Create the file, project, SI units, body context, georeferencing and styles."""
    f = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(f, "IfcProject", name="CIMTwin Demo District")
    length = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")
    units = [length] + [
        ifcopenshell.api.unit.add_si_unit(f, unit_type=kind)
        for kind in ("AREAUNIT", "VOLUMEUNIT", "PLANEANGLEUNIT")
    ]
    ifcopenshell.api.unit.assign_unit(f, units=units)
    model3d = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        f, "Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model3d
    )
    _georeference(f, spec, length)
    return _Model(f, body, _add_styles(f, spec)), project


def _georeference(f: ifcopenshell.file, spec: BuildingSpec, length_unit: Entity) -> None:
    """Attach an IfcMapConversion to EPSG:4547 for the spec's origin and rotation."""
    angle = math.radians(spec.rotation_deg)
    ifcopenshell.api.georeference.add_georeferencing(f, name=CRS_NAME)
    ifcopenshell.api.georeference.edit_georeferencing(
        f,
        projected_crs={
            "Name": CRS_NAME,
            "Description": "CGCS2000 / 3-degree Gauss-Kruger CM 114E",
            "GeodeticDatum": "CGCS2000",
            "MapProjection": "Gauss-Kruger",
            "MapZone": "CM 114E",
            "MapUnit": length_unit,
        },
        coordinate_operation={
            "Eastings": float(spec.easting),
            "Northings": float(spec.northing),
            "OrthogonalHeight": float(spec.elevation),
            "XAxisAbscissa": math.cos(angle),
            "XAxisOrdinate": math.sin(angle),
            "Scale": 1.0,
        },
    )


def _add_styles(f: ifcopenshell.file, spec: BuildingSpec) -> dict[str, Entity]:
    """Create the facade, slab, glazing and door surface styles."""
    colours: dict[str, tuple[tuple[float, float, float], float]] = {
        "wall": (spec.facade_rgb, 0.0),
        "slab": ((0.6, 0.6, 0.6), 0.0),
        "window": ((0.55, 0.75, 0.95), 0.5),
        "door": ((0.45, 0.3, 0.15), 0.0),
    }
    styles = {}
    for key, (rgb, transparency) in colours.items():
        style = ifcopenshell.api.style.add_style(f, name=f"CIMTwin {key}")
        colour = {"Name": None, "Red": rgb[0], "Green": rgb[1], "Blue": rgb[2]}
        shading = {"SurfaceColour": colour, "Transparency": transparency}
        ifcopenshell.api.style.add_surface_style(f, style=style, attributes=shading)
        styles[key] = style
    return styles


def _add_spatial_tree(model: _Model, project: Entity, spec: BuildingSpec) -> Entity:
    """Create IfcSite > IfcBuilding with building property sets and return the building."""
    f = model.file
    site = ifcopenshell.api.root.create_entity(f, "IfcSite", name=f"{spec.name} Site")
    _edit(f, site, RefElevation=float(spec.elevation))
    building = ifcopenshell.api.root.create_entity(f, "IfcBuilding", name=spec.name)
    _edit(f, building, ElevationOfRefHeight=float(spec.elevation))
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(f, products=[building], relating_object=site)
    for product in (site, building):
        ifcopenshell.api.geometry.edit_object_placement(f, product=product)
    common = {"NumberOfStoreys": spec.storeys, "YearOfConstruction": str(spec.year_built)}
    _pset(model, building, "Pset_BuildingCommon", common)
    _pset(model, building, "CIMTwin_Demo", {"Use": spec.use, "YearBuilt": spec.year_built})
    return building


def _add_storey(model: _Model, building: Entity, spec: BuildingSpec, level: int) -> Entity:
    """Create storey ``level`` (0-based) with its slab, walls, openings and space."""
    f = model.file
    z = level * spec.storey_height
    storey = ifcopenshell.api.root.create_entity(f, "IfcBuildingStorey", name=f"Level {level + 1}")
    _edit(f, storey, Elevation=z)
    ifcopenshell.api.aggregate.assign_object(f, products=[storey], relating_object=building)
    ifcopenshell.api.geometry.edit_object_placement(f, product=storey, matrix=_matrix(0, 0, z))
    _add_slab(model, storey, spec, z, roof=False)
    t = WALL_THICKNESS
    w, d = spec.width, spec.depth
    walls = [
        _Wall("South", 0.0, 0.0, 0.0, w),
        _Wall("East", w, t, 90.0, d - 2 * t),
        _Wall("North", w, d, 180.0, w),
        _Wall("West", 0.0, d - t, 270.0, d - 2 * t),
    ]
    for wall in walls:
        _add_wall(model, storey, spec, wall, z, with_door=level == 0 and wall.name == "South")
    _add_space(model, storey, spec, level, z)
    return storey


def _add_slab(model: _Model, storey: Entity, spec: BuildingSpec, top: float, roof: bool) -> None:
    """Add a full-footprint slab whose top face is at height ``top``."""
    f = model.file
    name = "Roof" if roof else f"Floor {storey.Name}"
    slab = _element(model, storey, "IfcSlab", "ROOF" if roof else "FLOOR", name)
    footprint = [(0.0, 0.0), (spec.width, 0.0), (spec.width, spec.depth), (0.0, spec.depth)]
    rep = ifcopenshell.api.geometry.add_slab_representation(
        f, model.body, depth=SLAB_THICKNESS, polyline=[*footprint, footprint[0]]
    )
    _place(model, slab, rep, _matrix(0.0, 0.0, top - SLAB_THICKNESS), "slab")
    _pset(model, slab, "Pset_SlabCommon", {"IsExternal": roof, "LoadBearing": True})


def _add_wall(
    model: _Model, storey: Entity, spec: BuildingSpec, wall: _Wall, z: float, with_door: bool
) -> None:
    """Add one exterior wall with evenly spaced windows and optionally a central door."""
    f = model.file
    height = spec.storey_height - SLAB_THICKNESS
    name = f"{wall.name} Wall {storey.Name}"
    ifc_wall = _element(model, storey, "IfcWall", "SOLIDWALL", name)
    rep = ifcopenshell.api.geometry.add_wall_representation(
        f, model.body, length=wall.length, height=height, thickness=WALL_THICKNESS
    )
    frame = _matrix(wall.x, wall.y, z, wall.angle_deg)
    _place(model, ifc_wall, rep, frame, "wall")
    _pset(model, ifc_wall, "Pset_WallCommon", {"IsExternal": True, "LoadBearing": True})
    for opening in _opening_layout(wall.length, height, with_door):
        _add_filled_opening(model, storey, ifc_wall, frame, opening)


def _opening_layout(length: float, height: float, with_door: bool) -> list[_Opening]:
    """Spread windows (about one per 5 m) and optionally a central door along a wall."""
    n_slots = max(1, int(length // 5.0)) + int(with_door)
    spacing = length / n_slots
    door_slot = n_slots // 2 if with_door else -1
    layout = []
    for slot in range(n_slots):
        centre = (slot + 0.5) * spacing
        if slot == door_slot:
            width = min(1.0, 0.6 * spacing)
            layout.append(_Opening("door", centre - width / 2, 0.0, width, 2.1))
        else:
            width = min(1.5, 0.6 * spacing)
            win_h = min(1.5, height - SILL_HEIGHT - 0.3)
            layout.append(_Opening("window", centre - width / 2, SILL_HEIGHT, width, win_h))
    return layout


def _add_filled_opening(
    model: _Model, storey: Entity, wall: Entity, frame: np.ndarray, hole: _Opening
) -> None:
    """Void ``wall`` with an IfcOpeningElement and fill it with an IfcWindow or IfcDoor."""
    f = model.file
    name = f"{hole.kind.title()} {wall.Name}"
    opening = ifcopenshell.api.root.create_entity(f, "IfcOpeningElement", "OPENING", name)
    depth = WALL_THICKNESS + 2 * OPENING_OVERCUT
    rep = ifcopenshell.api.geometry.add_wall_representation(
        f, model.body, length=hole.width, height=hole.height, thickness=depth
    )
    ifcopenshell.api.geometry.assign_representation(f, product=opening, representation=rep)
    # Voiding first, so that the placement is made relative to the wall's placement.
    ifcopenshell.api.feature.add_feature(f, feature=opening, element=wall)
    local = _matrix(hole.left, -OPENING_OVERCUT, hole.sill)
    ifcopenshell.api.geometry.edit_object_placement(f, product=opening, matrix=frame @ local)
    is_window = hole.kind == "window"
    ifc_class = "IfcWindow" if is_window else "IfcDoor"
    filler = _element(model, storey, ifc_class, hole.kind.upper(), name)
    _edit(f, filler, OverallWidth=hole.width, OverallHeight=hole.height)
    add_rep = getattr(ifcopenshell.api.geometry, f"add_{hole.kind}_representation")
    rep = add_rep(
        f,
        context=model.body,
        overall_width=hole.width,
        overall_height=hole.height,
        lining_properties=dict(WINDOW_LINING if is_window else DOOR_LINING),
    )
    _place(model, filler, rep, frame @ _matrix(hole.left, 0.0, hole.sill), hole.kind)
    ifcopenshell.api.feature.add_filling(f, opening=opening, element=filler)
    pset = "Pset_WindowCommon" if is_window else "Pset_DoorCommon"
    _pset(model, filler, pset, {"IsExternal": True})


def _add_space(model: _Model, storey: Entity, spec: BuildingSpec, level: int, z: float) -> None:
    """Add one space filling the storey's interior as an extruded volume."""
    f = model.file
    t = WALL_THICKNESS
    label = spec.use.strip().title() or "Room"
    space = ifcopenshell.api.root.create_entity(f, "IfcSpace", "SPACE", f"{label} {level + 1}-1")
    _edit(f, space, LongName=f"{label} open plan, Level {level + 1}")
    ifcopenshell.api.aggregate.assign_object(f, products=[space], relating_object=storey)
    inner = [(t, t), (spec.width - t, t), (spec.width - t, spec.depth - t), (t, spec.depth - t)]
    height = spec.storey_height - SLAB_THICKNESS
    rep = ifcopenshell.api.geometry.add_slab_representation(
        f, model.body, depth=height, polyline=[*inner, inner[0]]
    )
    ifcopenshell.api.geometry.assign_representation(f, product=space, representation=rep)
    ifcopenshell.api.geometry.edit_object_placement(f, product=space, matrix=_matrix(0.0, 0.0, z))
    area = (spec.width - 2 * t) * (spec.depth - 2 * t)
    props = {"IsExternal": False, "GrossPlannedArea": area, "NetPlannedArea": area}
    _pset(model, space, "Pset_SpaceCommon", props)


def _element(model: _Model, storey: Entity, ifc_class: str, kind: str, name: str) -> Entity:
    """Create an element of ``ifc_class`` contained in ``storey``."""
    element = ifcopenshell.api.root.create_entity(model.file, ifc_class, kind, name)
    ifcopenshell.api.spatial.assign_container(
        model.file, products=[element], relating_structure=storey
    )
    return element


def _place(model: _Model, product: Entity, rep: Entity, matrix: np.ndarray, style: str) -> None:
    """Assign a styled body representation and a world placement to ``product``."""
    f = model.file
    ifcopenshell.api.geometry.assign_representation(f, product=product, representation=rep)
    ifcopenshell.api.style.assign_representation_styles(
        f, shape_representation=rep, styles=[model.styles[style]]
    )
    ifcopenshell.api.geometry.edit_object_placement(f, product=product, matrix=matrix)


def _edit(f: ifcopenshell.file, entity: Entity, **attributes: Any) -> None:
    """Set plain attributes of ``entity`` through ``attribute.edit_attributes``."""
    ifcopenshell.api.attribute.edit_attributes(f, product=entity, attributes=attributes)


def _pset(model: _Model, product: Entity, name: str, properties: dict[str, Any]) -> None:
    """Add property set ``name`` with ``properties`` to ``product``."""
    pset = ifcopenshell.api.pset.add_pset(model.file, product=product, name=name)
    ifcopenshell.api.pset.edit_pset(model.file, pset=pset, properties=properties)


def _matrix(x: float, y: float, z: float, angle_deg: float = 0.0) -> np.ndarray:
    """Return a 4x4 placement matrix: rotation about z by ``angle_deg`` then translation."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    m[:3, 3] = [x, y, z]
    return m
