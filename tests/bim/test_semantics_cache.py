"""Property sets read with the per-type cache are those read element by element."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import pytest

from bim.semantics import Definitions, TypePsets, attributes_of
from tests.conftest import FZK, REVIT, TEKLA


@pytest.mark.parametrize("name", [REVIT, FZK, TEKLA])
def test_cached_type_psets_give_the_same_attributes(ifc_dir: Path, name: str) -> None:
    model = ifcopenshell.open(str(ifc_dir / name))
    cache: TypePsets = {}
    products = [
        p for p in model.by_type("IfcProduct") if isinstance(p, ifcopenshell.entity_instance)
    ]
    for product in products:
        assert attributes_of(product, cache) == attributes_of(product), product.GlobalId
    assert 0 < len(cache) < len(products)  # types are read once each


@pytest.mark.parametrize("name", [REVIT, FZK, TEKLA])
def test_cached_definitions_give_the_same_attributes(ifc_dir: Path, name: str) -> None:
    model = ifcopenshell.open(str(ifc_dir / name))
    types: TypePsets = {}
    definitions: Definitions = {}
    products = [
        p for p in model.by_type("IfcProduct") if isinstance(p, ifcopenshell.entity_instance)
    ]
    for product in products:
        cached = attributes_of(product, types, definitions)
        assert cached == attributes_of(product), product.GlobalId
    assert 0 < len(definitions) <= len(model.by_type("IfcRelDefines"))  # each read once
