"""Generate a large, varied IFC4 file for benchmarks with ``ifcopenshell.api``.

A few buildings, each with a few storeys holding a grid of columns, beams, floor slabs,
perimeter walls (some with window openings) and partition walls (some with door
openings), all with extruded bodies of varied sizes, surface styles, materials, types,
property sets and base quantities. The project is georeferenced to EPSG:4547 near
E 430 800, N 2 557 900 through an ``IfcMapConversion``.

Usage: ``.venv/bin/python bench/generate_ifc.py OUT.ifc [--elements 5000] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.feature
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.material
import ifcopenshell.api.profile
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.style
import ifcopenshell.api.type
import ifcopenshell.api.unit
import numpy as np

CRS_NAME = "EPSG:4547"
EASTING, NORTHING, HEIGHT = 430800.0, 2557900.0, 12.0
SLAB_THICKNESS = 0.25
BUILDING_SPACING = 90.0
ELEMENTS_PER_BAY = 4.6  # column, slab, two beams and some walls per grid bay
STRUCTURE_SHARE = 0.8  # the rest of a storey's quota goes to partition walls

Entity = ifcopenshell.entity_instance


@dataclass
class _Context:
    """Authoring state shared by the helpers."""

    file: ifcopenshell.file
    body: Entity
    rng: np.random.Generator
    styles: dict[str, Entity]
    profiles: dict[str, list[Entity]]
    by_material: dict[str, list[Entity]]
    by_type: dict[Entity, list[Entity]]
    types: dict[str, list[Entity]]
    count: int = 0


def generate(path: Path, elements: int = 5000, seed: int = 0) -> Path:
    """Write an IFC4 file of ``elements`` building elements to ``path`` and return the path.

    Parameters
    ----------
    path:
        Output ``.ifc`` file; parent folders are created.
    elements:
        Number of walls, slabs, columns and beams (openings and spatial elements come on top).
    seed:
        Seed of the random sizes and layout (GlobalIds are random all the same).
    """
    if elements < 1:
        raise ValueError(f"elements must be >= 1, got {elements}")
    rng = np.random.default_rng(seed)
    f = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(f, "IfcProject", name="Generated district")
    _units(f)
    model3d = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        f, "Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model3d
    )
    _georeference(f)
    ctx = _Context(f, body, rng, _styles(f), _profiles(f, rng), defaultdict(list), {}, {})
    ctx.types = _types(ctx)
    site = ifcopenshell.api.root.create_entity(f, "IfcSite", name="Generated site")
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=project)
    site.ObjectPlacement = f.createIfcLocalPlacement(None, _axes(f, 0.0, 0.0, 0.0))
    n_buildings = max(1, min(4, elements // 1500))
    for index, quota in enumerate(_split(elements, n_buildings)):
        _building(ctx, site, index, quota)
    for material_name, products in ctx.by_material.items():
        material = ifcopenshell.api.material.add_material(f, name=material_name)
        ifcopenshell.api.material.assign_material(f, products=products, material=material)
    for element_type, products in ctx.by_type.items():
        ifcopenshell.api.type.assign_type(
            f,
            related_objects=products,
            relating_type=element_type,
            should_map_representations=False,
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    f.write(str(path))
    return path


def _units(f: ifcopenshell.file) -> None:
    """Assign metres, square and cubic metres and radians."""
    kinds = ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT", "PLANEANGLEUNIT")
    units = [ifcopenshell.api.unit.add_si_unit(f, unit_type=kind) for kind in kinds]
    ifcopenshell.api.unit.assign_unit(f, units=units)


def _georeference(f: ifcopenshell.file) -> None:
    """Attach an IfcMapConversion to EPSG:4547, rotated a few degrees from grid north."""
    angle = math.radians(7.5)
    ifcopenshell.api.georeference.add_georeferencing(f, name=CRS_NAME)
    ifcopenshell.api.georeference.edit_georeferencing(
        f,
        projected_crs={"Name": CRS_NAME, "Description": "CGCS2000 / 3-degree GK CM 114E"},
        coordinate_operation={
            "Eastings": EASTING,
            "Northings": NORTHING,
            "OrthogonalHeight": HEIGHT,
            "XAxisAbscissa": math.cos(angle),
            "XAxisOrdinate": math.sin(angle),
            "Scale": 1.0,
        },
    )


def _styles(f: ifcopenshell.file) -> dict[str, Entity]:
    """Surface styles by material name."""
    colours = {
        "Concrete C30/37": ((0.7, 0.7, 0.68), 0.0),
        "Steel S355": ((0.45, 0.5, 0.55), 0.0),
        "Brick": ((0.72, 0.4, 0.3), 0.0),
        "Plasterboard": ((0.93, 0.92, 0.88), 0.0),
        "Glass": ((0.55, 0.75, 0.95), 0.6),
    }
    styles = {}
    for name, (rgb, transparency) in colours.items():
        style = ifcopenshell.api.style.add_style(f, name=name)
        shading = {
            "SurfaceColour": {"Name": None, "Red": rgb[0], "Green": rgb[1], "Blue": rgb[2]},
            "Transparency": transparency,
        }
        ifcopenshell.api.style.add_surface_style(f, style=style, attributes=shading)
        styles[name] = style
    return styles


def _profiles(f: ifcopenshell.file, rng: np.random.Generator) -> dict[str, list[Entity]]:
    """A small catalogue of shared column and beam profiles (rectangles, circles, I shapes)."""
    catalogue: dict[str, list[Entity]] = {"concrete": [], "steel": [], "beam": []}
    for size in (0.3, 0.4, 0.5, 0.6):
        catalogue["concrete"].append(
            f.createIfcRectangleProfileDef("AREA", f"C{int(size * 100)}", None, size, size)
        )
    catalogue["concrete"].append(f.createIfcCircleProfileDef("AREA", "D450", None, 0.225))
    for depth in (0.2, 0.3, 0.4, 0.5):
        width = round(float(rng.uniform(0.5, 0.8)) * depth, 3)
        for key in ("steel", "beam"):
            catalogue[key].append(
                f.createIfcIShapeProfileDef(
                    "AREA", f"I{int(depth * 1000)}", None, width, depth, 0.012, 0.018, 0.01
                )
            )
    return catalogue


def _types(ctx: _Context) -> dict[str, list[Entity]]:
    """Element types per class, each with a type property set."""
    types: dict[str, list[Entity]] = {}
    for ifc_class, names in {
        "IfcWallType": ("Exterior brick 300", "Partition 100", "Partition 150"),
        "IfcSlabType": ("Floor slab 250",),
        "IfcColumnType": ("Concrete column", "Steel column"),
        "IfcBeamType": ("Steel beam",),
    }.items():
        types[ifc_class] = []
        for name in names:
            element_type = ifcopenshell.api.root.create_entity(ctx.file, ifc_class, name=name)
            properties = {"Manufacturer": "Generated", "Code": name}
            _pset(ctx, element_type, "CIMTwin_TypeData", properties)
            types[ifc_class].append(element_type)
    return types


def _building(ctx: _Context, site: Entity, index: int, quota: int) -> None:
    """Add building ``index`` with storeys sharing ``quota`` elements."""
    f, rng = ctx.file, ctx.rng
    building = ifcopenshell.api.root.create_entity(f, "IfcBuilding", name=f"Building {index + 1}")
    ifcopenshell.api.aggregate.assign_object(f, products=[building], relating_object=site)
    x, y = index * BUILDING_SPACING, float(rng.uniform(-20.0, 20.0))
    angle = float(rng.uniform(-20.0, 20.0))
    building.ObjectPlacement = f.createIfcLocalPlacement(
        site.ObjectPlacement, _axes(f, x, y, 0.0, angle)
    )
    n_storeys = int(rng.integers(3, 7))
    _pset(
        ctx,
        building,
        "Pset_BuildingCommon",
        {"NumberOfStoreys": n_storeys, "YearOfConstruction": str(int(rng.integers(1990, 2025)))},
    )
    spans = (float(rng.uniform(5.0, 8.0)), float(rng.uniform(5.0, 7.0)))
    elevation = 0.0
    for level, storey_quota in enumerate(_split(quota, n_storeys)):
        height = float(rng.uniform(3.0, 4.2))
        storey = ifcopenshell.api.root.create_entity(
            f, "IfcBuildingStorey", name=f"B{index + 1} Level {level + 1}"
        )
        storey.Elevation = elevation
        ifcopenshell.api.aggregate.assign_object(f, products=[storey], relating_object=building)
        storey.ObjectPlacement = f.createIfcLocalPlacement(
            building.ObjectPlacement, _axes(f, 0.0, 0.0, elevation)
        )
        _storey(ctx, storey, storey_quota, spans, height)
        elevation += height


def _storey(
    ctx: _Context, storey: Entity, quota: int, spans: tuple[float, float], height: float
) -> None:
    """Fill a storey with a structural grid and partitions: exactly ``quota`` elements."""
    bays = max(1, int(quota * STRUCTURE_SHARE / ELEMENTS_PER_BAY))
    nx = max(1, round(math.sqrt(bays * 1.5)))
    ny = max(1, bays // nx)
    sx, sy = spans
    wall_height = height - SLAB_THICKNESS
    products: list[Entity] = []
    makers: list[Any] = []
    for i in range(nx):
        for j in range(ny):
            makers.append(lambda i=i, j=j: _slab(ctx, storey, i * sx, j * sy, sx, sy))
    for i in range(nx + 1):
        for j in range(ny + 1):
            makers.append(lambda i=i, j=j: _column(ctx, storey, i * sx, j * sy, wall_height))
    for i in range(nx):
        for j in range(ny + 1):
            makers.append(lambda i=i, j=j: _beam(ctx, storey, (i * sx, j * sy), 0.0, sx, height))
    for i in range(nx + 1):
        for j in range(ny):
            makers.append(lambda i=i, j=j: _beam(ctx, storey, (i * sx, j * sy), 90.0, sy, height))
    for start, angle, length in _perimeter(nx, ny, sx, sy):
        makers.append(
            lambda s=start, a=angle, n=length: _wall(ctx, storey, s, a, n, wall_height, True)
        )
    for make in makers[:quota]:
        products.append(make())
    while len(products) < quota:
        start = (float(ctx.rng.uniform(0.5, nx * sx - 4.0)), float(ctx.rng.uniform(0.5, ny * sy)))
        length = float(ctx.rng.uniform(2.0, min(8.0, max(2.5, nx * sx - start[0]))))
        angle = 0.0 if ctx.rng.random() < 0.5 else 90.0
        products.append(_wall(ctx, storey, start, angle, length, wall_height, False))
    ifcopenshell.api.spatial.assign_container(
        ctx.file, products=products, relating_structure=storey
    )


def _perimeter(
    nx: int, ny: int, sx: float, sy: float
) -> list[tuple[tuple[float, float], float, float]]:
    """Outer wall segments between grid nodes: start, direction (degrees) and length."""
    segments = []
    for i in range(nx):
        segments.append(((i * sx, -0.3), 0.0, sx))
        segments.append((((i + 1) * sx, ny * sy + 0.3), 180.0, sx))
    for j in range(ny):
        segments.append(((nx * sx + 0.3, j * sy), 90.0, sy))
        segments.append(((-0.3, (j + 1) * sy), 270.0, sy))
    return segments


def _slab(ctx: _Context, storey: Entity, x: float, y: float, sx: float, sy: float) -> Entity:
    """A floor slab over one bay, its top at the storey's elevation."""
    f = ctx.file
    slab = _element(ctx, "IfcSlab", "FLOOR", "Floor slab", "IfcSlabType", "Concrete C30/37")
    outline = [(0.0, 0.0), (sx, 0.0), (sx, sy), (0.0, sy)]
    rep = ifcopenshell.api.geometry.add_slab_representation(
        f, ctx.body, depth=SLAB_THICKNESS, polyline=[*outline, outline[0]]
    )
    _place(ctx, slab, storey, rep, (x, y, -SLAB_THICKNESS), 0.0, "Concrete C30/37")
    _pset(ctx, slab, "Pset_SlabCommon", {"IsExternal": False, "LoadBearing": True})
    _qto(ctx, slab, "Qto_SlabBaseQuantities", {"Depth": SLAB_THICKNESS, "GrossArea": sx * sy})
    return slab


def _column(ctx: _Context, storey: Entity, x: float, y: float, height: float) -> Entity:
    """A concrete or steel column of a catalogue profile."""
    steel = ctx.rng.random() < 0.3
    material = "Steel S355" if steel else "Concrete C30/37"
    column = _element(ctx, "IfcColumn", "COLUMN", "Column", "IfcColumnType", material, int(steel))
    profiles = ctx.profiles["steel" if steel else "concrete"]
    profile = profiles[int(ctx.rng.integers(len(profiles)))]
    rep = ifcopenshell.api.geometry.add_profile_representation(
        ctx.file, ctx.body, profile=profile, depth=height
    )
    _place(ctx, column, storey, rep, (x, y, 0.0), float(ctx.rng.choice([0.0, 90.0])), material)
    _pset(ctx, column, "Pset_ColumnCommon", {"IsExternal": False, "LoadBearing": True})
    return column


def _beam(
    ctx: _Context,
    storey: Entity,
    start: tuple[float, float],
    angle_deg: float,
    length: float,
    storey_height: float,
) -> Entity:
    """A steel I beam along a grid line, its top under the slab of the storey above."""
    f = ctx.file
    beam = _element(ctx, "IfcBeam", "BEAM", "Beam", "IfcBeamType", "Steel S355")
    profile = ctx.profiles["beam"][int(ctx.rng.integers(len(ctx.profiles["beam"])))]
    rep = ifcopenshell.api.geometry.add_profile_representation(
        f, ctx.body, profile=profile, depth=length
    )
    z = storey_height - SLAB_THICKNESS - profile.OverallDepth / 2
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    axes = f.createIfcAxis2Placement3D(
        f.createIfcCartesianPoint((*start, z)),
        f.createIfcDirection((c, s, 0.0)),
        f.createIfcDirection((-s, c, 0.0)),
    )
    beam.ObjectPlacement = f.createIfcLocalPlacement(storey.ObjectPlacement, axes)
    _represent(ctx, beam, rep, "Steel S355")
    _pset(ctx, beam, "Pset_BeamCommon", {"Span": length, "LoadBearing": True})
    _qto(ctx, beam, "Qto_BeamBaseQuantities", {"Length": length})
    return beam


def _wall(
    ctx: _Context,
    storey: Entity,
    start: tuple[float, float],
    angle_deg: float,
    length: float,
    height: float,
    exterior: bool,
) -> Entity:
    """An exterior (windows) or partition (door) wall; some get their openings."""
    f, rng = ctx.file, ctx.rng
    thickness = 0.3 if exterior else float(rng.choice([0.1, 0.15]))
    material = "Brick" if exterior else "Plasterboard"
    variant = 0 if exterior else 1 + int(thickness > 0.12)
    wall = _element(ctx, "IfcWall", "SOLIDWALL", "Wall", "IfcWallType", material, variant)
    rep = ifcopenshell.api.geometry.add_wall_representation(
        f, ctx.body, length=length, height=height, thickness=thickness
    )
    _place(ctx, wall, storey, rep, (*start, 0.0), angle_deg, material)
    _pset(ctx, wall, "Pset_WallCommon", {"IsExternal": exterior, "LoadBearing": exterior})
    _qto(ctx, wall, "Qto_WallBaseQuantities", {"Length": length, "Height": height})
    if exterior and rng.random() < 0.5:
        for k in range(int(rng.integers(1, 3))):
            width = min(1.6, length / 3)
            left = (k + 0.5) * length / 2 - width / 2
            _opening(ctx, wall, left, 0.9, width, min(1.5, height - 1.2), thickness)
    elif not exterior and length > 2.0 and rng.random() < 0.3:
        _opening(ctx, wall, float(rng.uniform(0.2, length - 1.1)), 0.0, 0.9, 2.1, thickness)
    return wall


def _opening(
    ctx: _Context,
    wall: Entity,
    left: float,
    sill: float,
    width: float,
    height: float,
    thickness: float,
) -> None:
    """Void ``wall`` with a box-shaped IfcOpeningElement that sticks out of both faces."""
    f = ctx.file
    opening = ifcopenshell.api.root.create_entity(f, "IfcOpeningElement", "OPENING", "Opening")
    rep = ifcopenshell.api.geometry.add_wall_representation(
        f, ctx.body, length=width, height=height, thickness=thickness + 0.2
    )
    ifcopenshell.api.geometry.assign_representation(f, product=opening, representation=rep)
    opening.ObjectPlacement = f.createIfcLocalPlacement(
        wall.ObjectPlacement, _axes(f, left, -0.1, sill)
    )
    ifcopenshell.api.feature.add_feature(f, feature=opening, element=wall)


def _element(
    ctx: _Context,
    ifc_class: str,
    predefined: str,
    label: str,
    type_class: str,
    material: str,
    variant: int = 0,
) -> Entity:
    """Create a numbered element, recording its material and type for bulk assignment."""
    ctx.count += 1
    element = ifcopenshell.api.root.create_entity(
        ctx.file, ifc_class, predefined, f"{label} {ctx.count}"
    )
    element.Tag = f"G{ctx.count:06d}"
    ctx.by_material[material].append(element)
    ctx.by_type.setdefault(ctx.types[type_class][variant], []).append(element)
    return element


def _place(
    ctx: _Context,
    product: Entity,
    storey: Entity,
    rep: Entity,
    xyz: tuple[float, float, float],
    angle_deg: float,
    style: str,
) -> None:
    """Place ``product`` relative to its storey and give it a styled body."""
    product.ObjectPlacement = ctx.file.createIfcLocalPlacement(
        storey.ObjectPlacement, _axes(ctx.file, *xyz, angle_deg)
    )
    _represent(ctx, product, rep, style)


def _represent(ctx: _Context, product: Entity, rep: Entity, style: str) -> None:
    """Assign the body representation ``rep`` to ``product`` with surface style ``style``."""
    ifcopenshell.api.geometry.assign_representation(ctx.file, product=product, representation=rep)
    ifcopenshell.api.style.assign_representation_styles(
        ctx.file, shape_representation=rep, styles=[ctx.styles[style]]
    )


def _axes(f: ifcopenshell.file, x: float, y: float, z: float, angle_deg: float = 0.0) -> Entity:
    """An IfcAxis2Placement3D at ``(x, y, z)`` turned ``angle_deg`` about the vertical."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return f.createIfcAxis2Placement3D(
        f.createIfcCartesianPoint((float(x), float(y), float(z))),
        f.createIfcDirection((0.0, 0.0, 1.0)),
        f.createIfcDirection((c, s, 0.0)),
    )


def _pset(ctx: _Context, product: Entity, name: str, properties: dict[str, Any]) -> None:
    """Add property set ``name`` to ``product``."""
    pset = ifcopenshell.api.pset.add_pset(ctx.file, product=product, name=name)
    ifcopenshell.api.pset.edit_pset(ctx.file, pset=pset, properties=properties)


def _qto(ctx: _Context, product: Entity, name: str, quantities: dict[str, Any]) -> None:
    """Add quantity set ``name`` to ``product``."""
    qto = ifcopenshell.api.pset.add_qto(ctx.file, product=product, name=name)
    ifcopenshell.api.pset.edit_qto(ctx.file, qto=qto, properties=quantities)


def _split(total: int, parts: int) -> list[int]:
    """``total`` shared among ``parts`` as evenly as integers allow."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the .ifc file to write")
    parser.add_argument("--elements", type=int, default=5000, help="building elements")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()
    started = time.perf_counter()
    generate(args.out, args.elements, args.seed)
    seconds = time.perf_counter() - started
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {args.elements} elements, {size:.1f} MB in {seconds:.1f} s")


if __name__ == "__main__":
    main()
