"""City objects and their geometry, the types every layer of CIMTwin exchanges."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Material:
    """A surface appearance: a name and a linear RGBA colour in 0..1."""

    name: str
    rgba: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Return the material as a JSON-ready mapping."""
        return {"name": self.name, "rgba": list(self.rgba)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Material:
        """Build a material from :meth:`to_dict` output."""
        r, g, b, a = (float(v) for v in data["rgba"])
        return cls(name=str(data["name"]), rgba=(r, g, b, a))


@dataclass
class MeshPart:
    """Triangles of one material, vertices in the city CRS (float64 x, y, height)."""

    material: Material
    vertices: FloatArray
    faces: IndexArray

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.uint32).reshape(-1, 3)

    @property
    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """``(min_x, min_y, min_z, max_x, max_y, max_z)`` of the vertices."""
        low, high = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return (*map(float, low), *map(float, high))  # type: ignore[return-value]


@dataclass
class CityObject:
    """One object of the city model, joined everywhere by its id.

    Attributes
    ----------
    id:
        The join key: an IFC GlobalId, or ``<layer>:<source id>`` for GIS features.
    cls:
        The class, e.g. ``IfcWall`` or ``building``.
    name:
        A human name, possibly empty.
    parent_id:
        The id of the containing object (storey of a wall, building of a storey), if any.
    source:
        The name of the source the object came from.
    attributes:
        Everything else: property sets, materials, type, description.
    footprint:
        The 2D footprint in the city CRS, if the object has geometry.
    base_height, top_height:
        The lowest and highest point of the object's geometry.
    building_id, storey_id:
        The building and storey the object lies in, if any.
    digest:
        A hash of the geometry (millimetre-rounded), to tell changed versions apart.
    """

    id: str
    cls: str
    name: str = ""
    parent_id: str | None = None
    source: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    footprint: BaseGeometry | None = None
    base_height: float | None = None
    top_height: float | None = None
    building_id: str | None = None
    storey_id: str | None = None
    digest: str | None = None


def mesh_digest(parts: list[MeshPart]) -> str:
    """A hash of mesh parts that ignores sub-millimetre noise and vertex order within a part."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        corners = np.round(part.vertices[part.faces] * 1000).astype(np.int64)
        rows = corners.reshape(len(part.faces), -1)
        triangles = rows[np.lexsort(rows.T[::-1])]
        digest.update(part.material.name.encode())
        digest.update(triangles.tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (a source's fingerprint in the store), read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
