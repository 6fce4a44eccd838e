"""An element's type, aggregate and spatial container, read with its model's facts known.

IfcOpenShell's ``util.element`` helpers parse the schema out of the file header on every
call (and build a new file wrapper for it); an import asks them for every element. These
read the same relationships, with the schema and the classes present worked out once per
model (:class:`ModelFacts`); ``tests/bim/test_semantics_cache.py`` compares them with the
helpers on the shared files.
"""

from __future__ import annotations

from dataclasses import dataclass

import ifcopenshell

from bim.reader import optional_attribute


@dataclass(frozen=True)
class ModelFacts:
    """What a model is and holds, worked out once for the reads of all its elements:
    IfcOpenShell's ``util.element`` helpers parse the schema out of the header on every
    call, which an import makes for every element."""

    ifc2x3: bool
    classified: bool  # it holds an IfcRelAssociatesClassification

    @classmethod
    def of(cls, model: ifcopenshell.file) -> ModelFacts:
        """The facts of ``model``."""
        classified = bool(model.by_type("IfcRelAssociatesClassification"))
        return cls(ifc2x3=model.schema == "IFC2X3", classified=classified)


def type_of(
    entity: ifcopenshell.entity_instance, facts: ModelFacts
) -> ifcopenshell.entity_instance | None:
    """``element_util.get_type`` with the schema known: the type object itself, else the
    type it is typed by (IFC4 and later) or defined by (IFC2X3), else None."""
    if entity.is_a("IfcTypeObject"):
        return entity
    if not facts.ifc2x3:
        typed = optional_attribute(entity, "IsTypedBy")
        return typed[0].RelatingType if typed else None
    for relationship in optional_attribute(entity, "IsDefinedBy") or ():
        if relationship.is_a("IfcRelDefinesByType"):
            return relationship.RelatingType
    return None


def aggregate_of(
    entity: ifcopenshell.entity_instance, facts: ModelFacts
) -> ifcopenshell.entity_instance | None:
    """``element_util.get_aggregate`` with the schema known: the whole ``entity`` is a part
    of (in IFC2X3 only through IfcRelAggregates, which shares Decomposes with nesting)."""
    decomposes = optional_attribute(entity, "Decomposes")
    if not decomposes:
        return None
    relationship = decomposes[0]
    if facts.ifc2x3 and not relationship.is_a("IfcRelAggregates"):
        return None
    return relationship.RelatingObject


def container_of(
    entity: ifcopenshell.entity_instance, facts: ModelFacts
) -> ifcopenshell.entity_instance | None:
    """``element_util.get_container`` with the schema known: the spatial element holding
    ``entity``, else the one holding its parent in the tree (the whole it is a part of,
    nested in, fills, voids or adheres to)."""
    seen: set[int] = set()
    current: ifcopenshell.entity_instance | None = entity
    while current is not None and current.id() not in seen:
        seen.add(current.id())
        contained = optional_attribute(current, "ContainedInStructure")
        if contained:
            return contained[0].RelatingStructure
        current = _tree_parent(current, facts)
    return None


def _tree_parent(
    entity: ifcopenshell.entity_instance, facts: ModelFacts
) -> ifcopenshell.entity_instance | None:
    """``element_util.get_parent`` without its direct-container case (the caller's)."""
    parent = aggregate_of(entity, facts)
    if parent is None and facts.ifc2x3:
        decomposes = optional_attribute(entity, "Decomposes")
        if decomposes and decomposes[0].is_a("IfcRelNests"):
            parent = decomposes[0].RelatingObject
    elif parent is None:
        nests = optional_attribute(entity, "Nests")
        parent = nests[0].RelatingObject if nests else None
    for inverse, relating in (
        ("FillsVoids", "RelatingOpeningElement"),
        ("VoidsElements", "RelatingBuildingElement"),
        ("AdheresToElement", "RelatingElement"),
    ):
        if parent is not None:
            break
        relationships = optional_attribute(entity, inverse)
        parent = getattr(relationships[0], relating) if relationships else None
    return parent
