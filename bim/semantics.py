"""What an IFC element means: class, name, container, property sets and materials."""

from __future__ import annotations

from typing import Any

import ifcopenshell
import ifcopenshell.util.classification
import ifcopenshell.util.element as element_util
import ifcopenshell.util.unit

from bim.reader import optional_attribute
from bim.relations import ModelFacts, aggregate_of, container_of, type_of

SPATIAL_ROOTS = ("IfcSpatialStructureElement", "IfcSpatialElement")
BODY_IDENTIFIERS = ("Body", "Facetation", "Body-FallBack", "Mesh")
#: the descriptive attributes kept, when the element's class has them and they are set
DESCRIPTIVE = ("Description", "ObjectType", "Tag", "PredefinedType", "LongName", "Elevation")


_spatial_classes: dict[str, bool] = {}  # by schema-qualified class, e.g. IFC2X3.IfcWall


def is_spatial(entity: ifcopenshell.entity_instance) -> bool:
    """Whether ``entity`` is a site, building, storey, space or other spatial element.

    Answered once per class and schema: a root the schema lacks (IFC2X3 has no
    IfcSpatialElement) raises inside IfcOpenShell, which costs more than the test itself.
    """
    qualified = entity.is_a(True)
    known = _spatial_classes.get(qualified)
    if known is None:
        known = _spatial_classes[qualified] = any(_is_a(entity, root) for root in SPATIAL_ROOTS)
    return known


def _is_a(entity: ifcopenshell.entity_instance, name: str) -> bool:
    try:
        return bool(entity.is_a(name))
    except RuntimeError:
        return False


def parent_of(
    entity: ifcopenshell.entity_instance, facts: ModelFacts | None = None
) -> ifcopenshell.entity_instance | None:
    """The spatial container, else the aggregating whole, else None (the project is skipped)."""
    if is_spatial(entity):
        container = None
    else:
        container = container_of(entity, facts) if facts else element_util.get_container(entity)
    parent = container or (
        aggregate_of(entity, facts) if facts else element_util.get_aggregate(entity)
    )
    if parent is None:
        for fills in optional_attribute(entity, "FillsVoids") or ():
            host = fills.RelatingOpeningElement.VoidsElements[0].RelatingBuildingElement
            parent = container_of(host, facts) if facts else element_util.get_container(host)
    if parent is None or parent.is_a("IfcProject"):
        return None
    return parent


TypePsets = dict[int, dict[str, dict[str, Any]]]
#: the property sets each relationship (by step id) defines, as (name, properties), read so far
Definitions = dict[int, list[tuple[str, dict[str, Any]]]]


def attributes_of(
    entity: ifcopenshell.entity_instance,
    type_psets: TypePsets | None = None,
    definitions: Definitions | None = None,
    facts: ModelFacts | None = None,
) -> dict[str, Any]:
    """Property sets, quantities, materials, type and the descriptive attributes.

    ``type_psets`` keeps the property sets of each type object read so far, for a caller
    that reads many occurrences of few types (a model's elements): the type's sets are
    then read once, and each occurrence's own sets are laid over a copy. ``definitions``
    likewise keeps each property set definition read, for models where many occurrences
    share one (it is then read once). ``facts`` (:class:`ModelFacts` of the entity's
    model) spares working them out again for every element.
    """
    attributes: dict[str, Any] = {
        key: value
        for key, position in _descriptive_positions(entity)
        if (value := entity[position]) not in (None, "")
    }
    attributes["step_id"] = entity.id()
    element_type = type_of(entity, facts) if facts else element_util.get_type(entity)
    psets, quantities = _property_and_quantity_sets(entity, element_type, type_psets, definitions)
    attributes["psets"] = psets
    if quantities:
        attributes["qtos"] = quantities
    if element_type is not None and element_type != entity:
        attributes["type"] = {
            "id": element_type.GlobalId,
            "class": element_type.is_a(),
            "name": element_type.Name or "",
        }
    materials = element_util.get_materials(entity)
    if materials:
        attributes["materials"] = sorted({m.Name or "" for m in materials} - {""})
    layers = _material_layers(entity)
    if layers:
        attributes["material_layers"] = layers
    references = _classification_references(entity) if not facts or facts.classified else []
    if references:
        attributes["classification"] = references
    return attributes


#: where each class (schema-qualified) keeps the :data:`DESCRIPTIVE` attributes it has
_POSITIONS: dict[str, tuple[tuple[str, int], ...]] = {}


def _descriptive_positions(entity: ifcopenshell.entity_instance) -> tuple[tuple[str, int], ...]:
    """(name, position) of the descriptive attributes of ``entity``'s class, read once per
    class: reading by position costs a tenth of looking each name up on every element."""
    kind = entity.is_a(True)
    positions = _POSITIONS.get(kind)
    if positions is None:
        names = list(entity.get_attribute_names())
        positions = tuple((key, names.index(key)) for key in DESCRIPTIVE if key in names)
        _POSITIONS[kind] = positions
    return positions


def _material_layers(entity: ifcopenshell.entity_instance) -> list[dict[str, Any]]:
    """The layers of the element's material layer set, outside in: material and thickness."""
    material = element_util.get_material(entity, should_skip_usage=True)
    if material is None or not material.is_a("IfcMaterialLayerSet"):
        return []
    unit = _length_unit(entity)
    return [
        {"material": layer.Material.Name if layer.Material else "",
         "thickness": float(layer.LayerThickness) * unit, "name": optional_attribute(layer, "Name")}
        for layer in material.MaterialLayers
    ]  # fmt: skip


def _classification_references(entity: ifcopenshell.entity_instance) -> list[dict[str, Any]]:
    """Classification references (e.g. Uniformat, OmniClass, GB/T 51269 codes)."""
    references = []
    for reference in ifcopenshell.util.classification.get_references(entity):
        source = ifcopenshell.util.classification.get_classification(reference)
        identification = optional_attribute(reference, "Identification") or optional_attribute(
            reference, "ItemReference"
        )
        references.append({
            "system": source.Name if source is not None else None,
            "code": identification, "name": reference.Name,
        })  # fmt: skip
    return references


def _length_unit(entity: ifcopenshell.entity_instance) -> float:
    return float(ifcopenshell.util.unit.calculate_unit_scale(entity.file))


def _property_and_quantity_sets(
    entity: ifcopenshell.entity_instance,
    element_type: ifcopenshell.entity_instance | None,
    type_psets: TypePsets | None,
    definitions: Definitions | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Property sets and quantity sets (the type's included), read in one pass."""
    psets: dict[str, dict[str, Any]] = {}
    quantities: dict[str, dict[str, Any]] = {}
    for name, props in _psets(entity, element_type, type_psets, definitions).items():
        definition = entity.file.by_id(props["id"]) if "id" in props else None
        target = (
            quantities
            if definition is not None and definition.is_a("IfcElementQuantity")
            else psets
        )
        target[name] = {key: value for key, value in props.items() if key != "id"}
    return psets, quantities


def _psets(
    entity: ifcopenshell.entity_instance,
    element_type: ifcopenshell.entity_instance | None,
    type_psets: TypePsets | None,
    definitions: Definitions | None,
) -> dict[str, dict[str, Any]]:
    """What ``element_util.get_psets`` gives, with the type's sets read once per type."""
    if type_psets is None or optional_attribute(entity, "IsDefinedBy") is None:
        return dict(element_util.get_psets(entity))
    if element_type == entity:
        return dict(element_util.get_psets(entity))
    if element_type is None:
        return _own_psets(entity, definitions)
    if element_type.id() not in type_psets:
        type_psets[element_type.id()] = element_util.get_psets(element_type, should_inherit=False)
    merged = {name: dict(props) for name, props in type_psets[element_type.id()].items()}
    for name, props in _own_psets(entity, definitions).items():
        merged.setdefault(name, {}).update(props)
    return merged


def _own_psets(
    entity: ifcopenshell.entity_instance, definitions: Definitions | None
) -> dict[str, dict[str, Any]]:
    """``element_util.get_psets(entity, should_inherit=False)`` of an occurrence, the sets
    of each relationship read once into ``definitions``."""
    if definitions is None:
        return dict(element_util.get_psets(entity, should_inherit=False))
    psets: dict[str, dict[str, Any]] = {}
    for relationship in entity.IsDefinedBy:
        sets = definitions.get(relationship.id())
        if sets is None:
            sets = definitions[relationship.id()] = _defined_sets(relationship)
        for name, props in sets:
            psets.setdefault(name, {}).update(props)
    return psets


def _defined_sets(relationship: ifcopenshell.entity_instance) -> list[tuple[str, dict[str, Any]]]:
    """The property sets a definition relationship gives its objects, as (name, properties)."""
    if not relationship.is_a("IfcRelDefinesByProperties"):
        return []
    definition = relationship.RelatingPropertyDefinition
    members = (
        definition.wrappedValue if definition.is_a("IfcPropertySetDefinitionSet") else (definition,)
    )
    return [(member.Name, element_util.get_property_definition(member)) for member in members]


def missing_geometry_reason(entity: ifcopenshell.entity_instance) -> str:
    """Why a product with a representation yielded no mesh, in one phrase."""
    if entity.is_a("IfcOpeningElement"):
        return "opening: subtracted from the element it voids, not a solid of its own"
    representations = entity.Representation.Representations if entity.Representation else ()
    identifiers = sorted({r.RepresentationIdentifier or "?" for r in representations})
    kinds = sorted({r.RepresentationType or "?" for r in representations})
    if not set(identifiers) & set(BODY_IDENTIFIERS) and "?" not in identifiers:
        return f"no body representation (only {', '.join(identifiers)})"
    return f"the geometry kernel produced no triangles for its {', '.join(kinds)} representation"
