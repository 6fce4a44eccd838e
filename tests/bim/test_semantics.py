"""Semantics kept from real files: layer sets, classification, types, quantities."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
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
