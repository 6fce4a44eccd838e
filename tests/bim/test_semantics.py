"""Semantics kept from real files: layer sets, classification, types, quantities."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.guid
import pytest

from bim.semantics import attributes_of, parent_of
from tests.conftest import FZK, REVIT


def test_revit_wall_keeps_layers_classification_and_type(ifc_dir: Path) -> None:
    model = ifcopenshell.open(str(ifc_dir / REVIT))
    walls = [attributes_of(w) for w in model.by_type("IfcWall")]
    layered = [a for a in walls if a.get("material_layers")]
    assert layered, "no Revit wall kept its material layer set"
    assert layered[0]["material_layers"][0]["thickness"] == pytest.approx(0.15)
    codes = {c["code"] for a in walls for c in a.get("classification", [])}
    assert "B2010" in codes  # Uniformat: exterior walls
    assert {a["type"]["class"] for a in walls if "type" in a} == {"IfcWallType"}


def test_archicad_wall_keeps_quantities_in_metres(ifc_dir: Path) -> None:
    model = ifcopenshell.open(str(ifc_dir / FZK))
    wall = model.by_type("IfcWallStandardCase")[0]
    attributes = attributes_of(wall)
    assert attributes["material_layers"][0]["thickness"] == pytest.approx(0.24)
    assert "BaseQuantities" in attributes["qtos"] and "BaseQuantities" not in attributes["psets"]
    parent = parent_of(wall)
    assert parent is not None and parent.is_a("IfcBuildingStorey")


def test_descriptive_attributes_are_read_by_each_schema_s_own_layout() -> None:
    """IFC4 gave IfcBeam a PredefinedType that IFC2X3 lacks: one class name, two layouts."""
    beams = []
    for schema, extra in (("IFC2X3", {}), ("IFC4", {"PredefinedType": "JOIST"}),
                          ("IFC2X3", {})):  # fmt: skip
        model = ifcopenshell.file(schema=schema)
        beams.append(model.create_entity(
            "IfcBeam", GlobalId=ifcopenshell.guid.new(), Name="B", Tag="T-7", ObjectType="", **extra
        ))  # fmt: skip
    first, second, third = (attributes_of(beam) for beam in beams)
    assert first["Tag"] == second["Tag"] == third["Tag"] == "T-7"
    assert "PredefinedType" not in first and "PredefinedType" not in third
    assert second["PredefinedType"] == "JOIST"
    assert "ObjectType" not in second  # empty text is left out
    assert "Description" not in first and "LongName" not in first  # unset or not in the class
