"""Jurisdictions into the city: read a GIS layer, check the tree, replace the stored set and
re-assign every object, in one transaction (a refused or failed set changes nothing)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cim.jurisdiction_layer import read_features
from cim.jurisdictions import Finding, Jurisdiction, check
from cim.model import file_sha256
from cim.store import CityStore
from cim.store_jurisdictions import Assignment


@dataclass
class JurisdictionImport:
    """What an import of jurisdictions did: the nodes stored, the warnings, the assignment."""

    source: str
    layer: str
    nodes: list[Jurisdiction]
    findings: list[Finding]
    assignment: Assignment

    def by_level(self) -> dict[str, int]:
        """How many nodes of each level, from the top level down."""
        return dict(Counter(node.level for node in self.nodes))

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary (boundaries left out)."""
        return {
            "source": self.source,
            "layer": self.layer,
            "nodes": len(self.nodes),
            "by_level": self.by_level(),
            "findings": [finding.to_dict() for finding in self.findings],
            "objects_by_jurisdiction": self.assignment.counts,
            "objects_unassigned": self.assignment.unassigned,
        }


def import_jurisdictions(
    store: CityStore,
    path: Path,
    code_field: str,
    name_field: str,
    layer: str | None = None,
    crs: str | None = None,
) -> JurisdictionImport:
    """Replace the city's jurisdictions by the features of a layer and re-assign its objects.

    Raises :class:`cim.jurisdictions.JurisdictionError` (its ``findings`` listing every
    finding) when a check fails; the stored set and every object's code are then unchanged.
    """
    features, layer_name = read_features(path, store.crs, code_field, name_field, layer, crs)
    checked = check(features)
    nodes = checked.accepted()
    origin = {"file": path.name, "layer": layer_name, "sha256": file_sha256(path),
              "warnings": len(checked.warnings)}  # fmt: skip
    with store.transaction() as writer:
        assignment = writer.replace_jurisdictions(nodes, origin)
    return JurisdictionImport(path.name, layer_name, nodes, checked.findings, assignment)
