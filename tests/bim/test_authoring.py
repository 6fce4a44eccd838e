"""Tests for :mod:`bim.authoring` (demo building IFC authoring)."""

from __future__ import annotations

import math
import multiprocessing
import pathlib
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.validate
import numpy as np
import pytest

from bim.authoring import BuildingSpec, write_demo_building

# Guangzhou Tianhe (113.32E, 23.12N) in EPSG:4547 (CM 114E, false easting 500000).
SPEC = BuildingSpec(
    name="Tianhe Tower A",
    easting=432_700.0,
    northing=2_557_900.0,
    elevation=12.5,
    rotation_deg=30.0,
    storeys=2,
    facade_rgb=(0.9, 0.7, 0.5),
)


@pytest.fixture(scope="module")
def ifc_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Author the two-storey demo building once for the module."""
    return write_demo_building(SPEC, tmp_path_factory.mktemp("bim") / "tower_a.ifc")


@pytest.fixture(scope="module")
def model(ifc_path: pathlib.Path) -> ifcopenshell.file:
    """The authored file, reopened from disk."""
    return ifcopenshell.open(str(ifc_path))


@pytest.fixture(scope="module")
def shapes(model: ifcopenshell.file) -> dict[int, Any]:
    """Triangulate every represented product except openings, keyed by entity id."""
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    products = _represented_products(model)
    iterator = ifcopenshell.geom.iterator(
        settings, model, multiprocessing.cpu_count(), include=products
    )
    result: dict[int, Any] = {}
    assert iterator.initialize()
    while True:
        shape = iterator.get()
        result[shape.id] = shape
        if not iterator.next():
            break
    return result


def _represented_products(model: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    return [
        p
        for p in model.by_type("IfcProduct")
        if p.Representation is not None and not p.is_a("IfcOpeningElement")
    ]


def _mesh(shape: Any) -> tuple[np.ndarray, np.ndarray]:
    verts = np.asarray(shape.geometry.verts, dtype=float).reshape(-1, 3)
    faces = np.asarray(shape.geometry.faces, dtype=int).reshape(-1, 3)
    return verts, faces


def _volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _diffuse(shape: Any) -> list[tuple[float, ...]]:
    return [tuple(m.diffuse.components) for m in shape.geometry.materials]


def test_schema_and_counts(model: ifcopenshell.file) -> None:
    assert model.schema == "IFC4"
    assert len(model.by_type("IfcProject")) == 1
    assert len(model.by_type("IfcSite")) == 1
    assert len(model.by_type("IfcBuildingStorey")) == 2
    assert len(model.by_type("IfcWall")) == 8
    assert len(model.by_type("IfcWindow")) >= 8
    assert len(model.by_type("IfcDoor")) >= 1
    assert len(model.by_type("IfcSlab")) >= 3
    assert len(model.by_type("IfcSpace")) >= 2


def test_units_and_context(model: ifcopenshell.file) -> None:
    units = model.by_type("IfcProject")[0].UnitsInContext.Units
    length = next(u for u in units if u.UnitType == "LENGTHUNIT")
    assert (length.Name, length.Prefix) == ("METRE", None)
    body = [
        c
        for c in model.by_type("IfcGeometricRepresentationSubContext")
        if c.ContextIdentifier == "Body"
    ]
    assert body and body[0].ContextType == "Model"


def test_spatial_structure(model: ifcopenshell.file) -> None:
    building = model.by_type("IfcBuilding")[0]
    assert building.Name == SPEC.name
    assert ifcopenshell.util.element.get_aggregate(building).is_a("IfcSite")
    storeys = sorted(model.by_type("IfcBuildingStorey"), key=lambda s: s.Elevation)
    assert [s.Name for s in storeys] == ["Level 1", "Level 2"]
    assert [s.Elevation for s in storeys] == pytest.approx([0.0, SPEC.storey_height])
    for storey in storeys:
        z = ifcopenshell.util.placement.get_local_placement(storey.ObjectPlacement)[2, 3]
        assert z == pytest.approx(storey.Elevation)
        assert ifcopenshell.util.element.get_aggregate(storey) == building
        walls = [
            e for e in ifcopenshell.util.element.get_decomposition(storey) if e.is_a("IfcWall")
        ]
        assert len(walls) == 4
    for element in model.by_type("IfcWall") + model.by_type("IfcWindow") + model.by_type("IfcDoor"):
        assert ifcopenshell.util.element.get_container(element) in storeys


def test_openings_void_walls_and_are_filled(model: ifcopenshell.file) -> None:
    for wall in model.by_type("IfcWall"):
        openings = [rel.RelatedOpeningElement for rel in wall.HasOpenings]
        assert openings, wall.Name
        fillers = [rel.RelatedBuildingElement for o in openings for rel in o.HasFillings]
        assert any(f.is_a("IfcWindow") for f in fillers), wall.Name
    for filler in model.by_type("IfcWindow") + model.by_type("IfcDoor"):
        assert len(filler.FillsVoids) == 1
    ground = next(s for s in model.by_type("IfcBuildingStorey") if s.Name == "Level 1")
    assert all(
        ifcopenshell.util.element.get_container(d) == ground for d in model.by_type("IfcDoor")
    )


def test_spaces(model: ifcopenshell.file, shapes: dict[int, Any]) -> None:
    for space in model.by_type("IfcSpace"):
        assert space.Name.startswith("Office ") and space.LongName
        assert ifcopenshell.util.element.get_aggregate(space).is_a("IfcBuildingStorey")
        items = space.Representation.Representations[0].Items
        assert items[0].is_a("IfcExtrudedAreaSolid")
        verts, faces = _mesh(shapes[space.id()])
        inner_w, inner_d = SPEC.width - 0.5, SPEC.depth - 0.5
        expected = inner_w * inner_d * (SPEC.storey_height - 0.2)
        assert _volume(verts, faces) == pytest.approx(expected, rel=1e-6)


def test_map_conversion(model: ifcopenshell.file) -> None:
    conversion = model.by_type("IfcMapConversion")[0]
    assert conversion.Eastings == pytest.approx(SPEC.easting)
    assert conversion.Northings == pytest.approx(SPEC.northing)
    assert conversion.OrthogonalHeight == pytest.approx(SPEC.elevation)
    assert conversion.XAxisAbscissa == pytest.approx(math.cos(math.radians(30.0)))
    assert conversion.XAxisOrdinate == pytest.approx(math.sin(math.radians(30.0)))
    assert conversion.Scale == pytest.approx(1.0)
    assert conversion.TargetCRS.is_a("IfcProjectedCRS")
    assert conversion.TargetCRS.Name == "EPSG:4547"
    assert conversion.SourceCRS.is_a("IfcGeometricRepresentationContext")


def test_psets(model: ifcopenshell.file) -> None:
    building = model.by_type("IfcBuilding")[0]
    psets = ifcopenshell.util.element.get_psets(building)
    assert psets["Pset_BuildingCommon"]["NumberOfStoreys"] == 2
    assert psets["Pset_BuildingCommon"]["YearOfConstruction"] == "2020"
    assert psets["CIMTwin_Demo"]["Use"] == "office"
    assert psets["CIMTwin_Demo"]["YearBuilt"] == 2020
    for wall in model.by_type("IfcWall"):
        common = ifcopenshell.util.element.get_psets(wall)["Pset_WallCommon"]
        assert common["IsExternal"] is True
        assert common["LoadBearing"] is True
    for space in model.by_type("IfcSpace"):
        assert "Pset_SpaceCommon" in ifcopenshell.util.element.get_psets(space)


def test_every_representation_triangulates(
    model: ifcopenshell.file, shapes: dict[int, Any]
) -> None:
    expected = {p.id() for p in _represented_products(model)}
    assert expected == set(shapes)
    for shape in shapes.values():
        verts, faces = _mesh(shape)
        assert len(faces) > 0 and np.isfinite(verts).all()


def test_walls_show_their_holes(model: ifcopenshell.file, shapes: dict[int, Any]) -> None:
    for wall in model.by_type("IfcWall"):
        solid = wall.Representation.Representations[0].Items[0]
        length = max(p[0] for p in solid.SweptArea.OuterCurve.Points.CoordList)
        box = length * solid.Depth * 0.25
        verts, faces = _mesh(shapes[wall.id()])
        assert len(faces) > 12
        assert 0.0 < _volume(verts, faces) < box - 0.1


def test_fillings_sit_inside_openings(model: ifcopenshell.file, shapes: dict[int, Any]) -> None:
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    for filler in model.by_type("IfcWindow") + model.by_type("IfcDoor"):
        opening = filler.FillsVoids[0].RelatingOpeningElement
        hole, _ = _mesh(ifcopenshell.geom.create_shape(settings, opening))
        verts, _ = _mesh(shapes[filler.id()])
        assert (verts.min(axis=0) >= hole.min(axis=0) - 1e-6).all(), filler.Name
        assert (verts.max(axis=0) <= hole.max(axis=0) + 1e-6).all(), filler.Name


def test_style_colours(model: ifcopenshell.file, shapes: dict[int, Any]) -> None:
    def colours(ifc_class: str) -> set[tuple[float, ...]]:
        return {c for e in model.by_type(ifc_class) for c in _diffuse(shapes[e.id()])}

    (wall_rgb,) = colours("IfcWall")
    assert wall_rgb == pytest.approx(SPEC.facade_rgb)
    (slab_rgb,) = colours("IfcSlab")
    assert slab_rgb[0] == pytest.approx(slab_rgb[1]) == pytest.approx(slab_rgb[2])
    (window_rgb,) = colours("IfcWindow")
    assert window_rgb[2] > window_rgb[0]
    window = shapes[model.by_type("IfcWindow")[0].id()]
    assert all(m.transparency == pytest.approx(0.5) for m in window.geometry.materials)
    (door_rgb,) = colours("IfcDoor")
    assert door_rgb[0] > door_rgb[1] > door_rgb[2]


def test_validates_without_errors(ifc_path: pathlib.Path) -> None:
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(str(ifc_path), logger, express_rules=True)
    assert logger.statements == []


def test_distinct_buildings_have_own_ids_and_georeference(tmp_path: pathlib.Path) -> None:
    other = BuildingSpec("Zhujiang Annex", easting=433_150.0, northing=2_557_620.0, storeys=1)
    files = [
        ifcopenshell.open(str(write_demo_building(spec, tmp_path / f"{i}.ifc")))
        for i, spec in enumerate((SPEC, other))
    ]
    ids = [{e.GlobalId for e in f.by_type("IfcRoot")} for f in files]
    assert ids[0].isdisjoint(ids[1])
    for f, spec in zip(files, (SPEC, other), strict=True):
        conversion = f.by_type("IfcMapConversion")[0]
        assert (conversion.Eastings, conversion.Northings) == (spec.easting, spec.northing)
        assert f.by_type("IfcBuilding")[0].Name == spec.name
    assert len(files[1].by_type("IfcBuildingStorey")) == 1
    assert files[1].by_type("IfcMapConversion")[0].XAxisOrdinate == pytest.approx(0.0)


@pytest.mark.parametrize(
    "overrides",
    [
        {"storeys": 0},
        {"width": 0.0},
        {"depth": -5.0},
        {"storey_height": 1.0},
        {"name": " "},
        {"facade_rgb": (1.2, 0.0, 0.0)},
        {"easting": math.nan},
    ],
)
def test_invalid_specs_are_rejected(overrides: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"name": "Bad", "easting": 432_700.0, "northing": 2_557_900.0}
    with pytest.raises(ValueError):
        BuildingSpec(**(kwargs | overrides))
