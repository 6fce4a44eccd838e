"""Typed rows the city store answers with, besides whole :class:`~cim.model.CityObject` values.

These are the store interface's vocabulary for bulk reads (search, per-object values,
tiling): plain values and raw blobs, decoded only when asked, so a caller that needs one
field of a million rows does not build a million objects. Any backend returns the same
types.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shapely.geometry.base import BaseGeometry

from cim import gpkg
from cim.errors import QueryError

T = TypeVar("T")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the city CRS; :meth:`checked` refuses NaN, infinities and
    inverted corners."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float

    @classmethod
    def checked(cls, min_x: float, min_y: float, max_x: float, max_y: float) -> Box:
        """A box after checking that its numbers are finite and its corners in order."""
        values = (min_x, min_y, max_x, max_y)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise QueryError(f"bounding box {list(values)}: every number must be finite")
        if min_x > max_x or min_y > max_y:
            raise QueryError(
                f"bounding box {list(values)}: expected min x <= max x and min y <= max y"
            )
        return cls(float(min_x), float(min_y), float(max_x), float(max_y))

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(min x, min y, max x, max y)``."""
        return self.min_x, self.min_y, self.max_x, self.max_y


@dataclass(frozen=True)
class ObjectRecord:
    """An object's row without its footprint: ids, class, name, heights, raw attributes."""

    fid: int  # the row id: stable while the object is stored, used by the tiler's index
    id: str
    cls: str
    name: str
    building_id: str | None
    storey_id: str | None
    base_height: float | None
    top_height: float | None
    attributes_json: str  # the attributes as stored (JSON text); see :meth:`attributes`

    def attributes(self) -> dict[str, Any]:
        """The decoded attributes (an empty mapping when there are none)."""
        value = json.loads(self.attributes_json or "{}")
        return value if isinstance(value, dict) else {}

    def content(self) -> tuple[Any, ...]:
        """Every field but the row id: what a tile's hash depends on."""
        return (self.id, self.cls, self.name, self.building_id, self.storey_id,
                self.base_height, self.top_height, self.attributes_json)  # fmt: skip


@dataclass(frozen=True)
class MeshBlob:
    """One stored mesh part as bytes: material (JSON text), vertices (``<f8`` x, y, z in
    the city CRS) and faces (``<u4`` vertex indices, three per triangle)."""

    material: str
    vertices: bytes
    faces: bytes

    @property
    def triangle_count(self) -> int:
        """The number of triangles."""
        return len(self.faces) // 12


@dataclass(frozen=True)
class TileRow:
    """One mesh part of an object, with the object's row and footprint blob: what the tiler
    draws. An object with several parts gives several rows with the same record."""

    record: ObjectRecord
    mesh: MeshBlob
    geometry: bytes | None  # the GeoPackage footprint blob; see :meth:`footprint`

    def footprint(self) -> BaseGeometry | None:
        """The decoded footprint, or None."""
        return gpkg.decode_geometry(self.geometry)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a query's answer and how many items match in all."""

    items: list[T]
    matched: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether items are left after this page."""
        return self.offset + len(self.items) < self.matched
