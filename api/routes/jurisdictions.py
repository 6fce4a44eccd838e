"""The jurisdiction tree the caller may see: nested nodes with their boundaries in CRS84."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ScopeDep, StoreDep
from cim.crs import transform_arrays
from cim.jurisdictions import Jurisdiction
from cim.scope import Scope

router = APIRouter(prefix="/api/jurisdictions", tags=["jurisdictions"])

GeometryQuery = Query(True, description="Include each node's boundary (false: codes and names)")


class JurisdictionNode(BaseModel):
    """One jurisdiction and the nodes under it."""

    code: str = Field(description="12-digit statistical division code")
    name: str
    level: str = Field(description="province, city, county, town or village")
    parent_code: str | None = Field(description="The code of the level above (None: province)")
    boundary: dict[str, Any] | None = Field(
        description="GeoJSON MultiPolygon in CRS84 (longitude, latitude); null with geometry=false"
    )
    children: list[JurisdictionNode]


@router.get("", response_model=list[JurisdictionNode])
def list_jurisdictions(
    store: StoreDep, scope: ScopeDep, geometry: bool = GeometryQuery
) -> list[JurisdictionNode]:
    """The tree the caller may see: its own node (or every top node) with its subtree."""
    return nested(store.jurisdictions(scope=scope), store.crs, geometry)


@router.get("/{code}", response_model=JurisdictionNode)
def get_jurisdiction(
    code: str, store: StoreDep, scope: ScopeDep, geometry: bool = GeometryQuery
) -> JurisdictionNode:
    """One jurisdiction with its subtree (404 when missing or outside the caller's)."""
    node = store.jurisdiction(code, scope=scope)
    under = Scope.of(node.code)
    (root,) = nested(
        [n for n in store.jurisdictions(scope=scope) if under.contains(n.code)], store.crs, geometry
    )
    return root


def nested(nodes: list[Jurisdiction], crs: str, geometry: bool) -> list[JurisdictionNode]:
    """The nodes (parents first) as trees: a node whose parent is absent is a root."""
    boundaries = _crs84(nodes, crs) if geometry else [None] * len(nodes)
    built: dict[str, JurisdictionNode] = {}
    roots: list[JurisdictionNode] = []
    for node, boundary in zip(nodes, boundaries, strict=True):
        item = JurisdictionNode(
            code=node.code, name=node.name, level=node.level, parent_code=node.parent_code,
            boundary=boundary, children=[],
        )  # fmt: skip
        built[node.code] = item
        parent = built.get(node.parent_code or "")
        (roots if parent is None else parent.children).append(item)
    return roots


def _crs84(nodes: list[Jurisdiction], crs: str) -> list[dict[str, Any] | None]:
    """Every boundary as a GeoJSON geometry in CRS84, in one transformation."""
    if not nodes:
        return []

    def to_lon_lat(points: np.ndarray) -> np.ndarray:
        lon, lat = transform_arrays(crs, "EPSG:4326", points[:, 0], points[:, 1])
        return np.column_stack([lon, lat]).round(8)

    moved = shapely.transform(np.array([n.boundary for n in nodes], dtype=object), to_lon_lat)
    return [shapely.geometry.mapping(geometry) for geometry in moved]
