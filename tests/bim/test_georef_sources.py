"""Every way a file can carry its georeference reaches the city CRS to the centimetre."""

from __future__ import annotations

import math
from pathlib import Path

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.api.owner.settings as owner_settings
import numpy as np
import pytest

from bim.importer import import_ifc
from cim.scope import Scope
from tests.conftest import make_city

EASTING, NORTHING, HEIGHT = 430800.0, 2557900.0, 12.0
ANGLE = 30.0  # grid east to the model's x axis, anticlockwise


def wall_model(schema: str, length_unit: str = "METRE") -> tuple[ifcopenshell.file, object]:
    """A project with one 4 x 0.2 x 3 m wall at the origin along x, in ``length_unit``."""
    model = ifcopenshell.api.project.create_file(version=schema)
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="P")
    if length_unit == "FOOT":
        unit = ifcopenshell.api.unit.add_conversion_based_unit(model, name="foot")
    else:
        prefix = "MILLI" if length_unit == "MILLIMETRE" else None
        unit = ifcopenshell.api.unit.add_si_unit(model, unit_type="LENGTHUNIT", prefix=prefix)
    ifcopenshell.api.unit.assign_unit(model, units=[unit])
    model_context = ifcopenshell.api.context.add_context(model, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        model, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW",
        parent=model_context,
    )  # fmt: skip
    site = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSite", name="S")
    building = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding", name="B")
    storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey", name="L1")
    ifcopenshell.api.aggregate.assign_object(model, products=[site], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(model, products=[building], relating_object=site)
    ifcopenshell.api.aggregate.assign_object(model, products=[storey], relating_object=building)
    wall = ifcopenshell.api.root.create_entity(model, ifc_class="IfcWall", name="W")
    ifcopenshell.api.geometry.edit_object_placement(model, product=wall)
    representation = ifcopenshell.api.geometry.add_wall_representation(
        model,
        context=body,
        length=4.0,
        height=3.0,
        thickness=0.2,  # SI metres, the API converts
    )
    ifcopenshell.api.geometry.assign_representation(
        model, product=wall, representation=representation
    )
    ifcopenshell.api.spatial.assign_container(model, products=[wall], relating_structure=storey)
    return model, project


def wall_vertices(tmp_path: Path, model: ifcopenshell.file) -> np.ndarray:
    path = tmp_path / "model.ifc"
    model.write(str(path))
    store = make_city(tmp_path)
    import_ifc(store, path)
    wall = store.objects(cls="IfcWall", scope=Scope.everything())[0]
    (part,) = store.meshes([wall.id], scope=Scope.everything())[wall.id]
    store.close()
    return part.vertices


def expected_point(x: float, y: float, z: float, scale: float = 1.0) -> np.ndarray:
    cos, sin = math.cos(math.radians(ANGLE)), math.sin(math.radians(ANGLE))
    return np.array([EASTING + scale * (x * cos - y * sin), NORTHING + scale * (x * sin + y * cos),
                     HEIGHT + scale * z])  # fmt: skip


def has_vertex(vertices: np.ndarray, point: np.ndarray) -> bool:
    return bool(np.linalg.norm(vertices - point, axis=1).min() < 0.01)


def give_ifc2x3_an_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    """IFC2X3 needs an owner history on every rooted entity: give the API a user."""
    scratch = ifcopenshell.api.project.create_file(version="IFC2X3")
    user = ifcopenshell.api.owner.add_person_and_organisation(
        scratch, person=ifcopenshell.api.owner.add_person(scratch),
        organisation=ifcopenshell.api.owner.add_organisation(scratch),
    )  # fmt: skip
    application = ifcopenshell.api.owner.add_application(scratch)
    monkeypatch.setattr(owner_settings, "get_user", lambda f: f.add(user) if f != scratch else user)
    monkeypatch.setattr(
        owner_settings, "get_application",
        lambda f: f.add(application) if f != scratch else application,
    )  # fmt: skip


def test_ifc2x3_property_set_convention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    give_ifc2x3_an_owner(monkeypatch)
    model, project = wall_model("IFC2X3")
    conversion = ifcopenshell.api.pset.add_pset(model, product=project, name="ePSet_MapConversion")
    ifcopenshell.api.pset.edit_pset(model, pset=conversion, properties={
        "Eastings": EASTING, "Northings": NORTHING, "OrthogonalHeight": HEIGHT,
        "XAxisAbscissa": math.cos(math.radians(ANGLE)),
        "XAxisOrdinate": math.sin(math.radians(ANGLE)), "Scale": 1.0})  # fmt: skip
    crs = ifcopenshell.api.pset.add_pset(model, product=project, name="ePSet_ProjectedCRS")
    ifcopenshell.api.pset.edit_pset(model, pset=crs, properties={"Name": "EPSG:4547"})
    vertices = wall_vertices(tmp_path, model)
    assert has_vertex(vertices, expected_point(4.0, 0.0, 3.0))
    assert has_vertex(vertices, expected_point(0.0, 0.2, 0.0))


@pytest.mark.parametrize("unit", ["METRE", "MILLIMETRE", "FOOT"])
def test_ifc4x3_map_conversion_scaled_with_units(tmp_path: Path, unit: str) -> None:
    model, _ = wall_model("IFC4X3_ADD2", unit)
    ifcopenshell.api.georeference.add_georeferencing(model, ifc_class="IfcMapConversionScaled",
                                                     name="EPSG:4547")  # fmt: skip
    unit_scale = {"METRE": 1.0, "MILLIMETRE": 0.001, "FOOT": 0.3048}[unit]
    ifcopenshell.api.georeference.edit_georeferencing(model, coordinate_operation={
        "Eastings": EASTING, "Northings": NORTHING, "OrthogonalHeight": HEIGHT,
        "XAxisAbscissa": math.cos(math.radians(ANGLE)),
        "XAxisOrdinate": math.sin(math.radians(ANGLE)), "Scale": unit_scale,
        "FactorX": 1.0, "FactorY": 1.0, "FactorZ": 1.0})  # fmt: skip
    vertices = wall_vertices(tmp_path, model)
    assert has_vertex(vertices, expected_point(4.0, 0.0, 3.0))
    assert has_vertex(vertices, expected_point(0.0, 0.2, 0.0))


def test_map_conversion_in_another_crs_is_reprojected(tmp_path: Path) -> None:
    model, _ = wall_model("IFC4")
    ifcopenshell.api.georeference.add_georeferencing(model, name="EPSG:32649")  # UTM 49N
    utm_e, utm_n = 231062.09, 2559233.97  # the same place as EASTING, NORTHING in EPSG:4547
    ifcopenshell.api.georeference.edit_georeferencing(model, coordinate_operation={
        "Eastings": utm_e, "Northings": utm_n, "OrthogonalHeight": HEIGHT,
        "XAxisAbscissa": 1.0, "XAxisOrdinate": 0.0})  # fmt: skip
    vertices = wall_vertices(tmp_path, model)
    from pyproj import Transformer

    expected_origin = Transformer.from_crs("EPSG:32649", "EPSG:4547", always_xy=True).transform(
        utm_e, utm_n
    )
    assert has_vertex(vertices, np.array([*expected_origin, HEIGHT]))
