"""Property sets read with the per-type cache are those read element by element."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.util.element as element_util
import pytest

from bim.relations import ModelFacts, aggregate_of, container_of, type_of
from bim.semantics import Definitions, TypePsets, attributes_of, parent_of
from tests.conftest import FZK, OPEN_HOUSE, REVIT, TEKLA


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


@pytest.mark.parametrize("name", [REVIT, FZK, TEKLA, OPEN_HOUSE])
def test_model_facts_give_the_same_attributes_types_and_parents(ifc_dir: Path, name: str) -> None:
    """Type, aggregate and classification read with the model's facts known are IfcOpenShell's."""
    model = ifcopenshell.open(str(ifc_dir / name))
    facts = ModelFacts.of(model)
    assert facts.ifc2x3 == (model.schema == "IFC2X3")
    products = [
        p for p in model.by_type("IfcProduct") if isinstance(p, ifcopenshell.entity_instance)
    ]
    typed = 0
    for product in products:
        assert attributes_of(product, None, None, facts) == attributes_of(product), product
        assert type_of(product, facts) == element_util.get_type(product)
        assert aggregate_of(product, facts) == element_util.get_aggregate(product)
        assert container_of(product, facts) == element_util.get_container(product)
        assert parent_of(product, facts) == parent_of(product)
        typed += type_of(product, facts) is not None
    assert typed > 0 or name == OPEN_HOUSE
