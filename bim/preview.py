"""A preview of an IFC model before it is imported: its meshes as one binary glTF (GLB).

The GLB holds the model in its own frame, in metres: +X, +Y, +Z of the model are glTF's
X, Y, Z (the viewer loads it with Z up and X forward, so no axis is swapped), with the
centre of the model's bounds as the node's translation so that float32 positions keep
millimetres. The viewer places the model with a model matrix (east-north-up at the chosen
origin, turned by the chosen rotation), which is what a user origin does to the stored
model (:class:`bim.georef.UserOrigin`). Nothing is stored.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.util.unit
import numpy as np

from bim.geometry import DEFAULT_KERNEL, iterate_shapes, planned_products
from bim.georef import candidates
from bim.reader import open_ifc, read_schema
from cim.model import FloatArray, Material

# Below the ground by design: not where a building stands.
UNDERGROUND = ("IfcSite", "IfcFooting", "IfcPile", "IfcGeographicElement")
# glTF constants: float components, vertex buffer target, triangles.
_FLOAT, _ARRAY_BUFFER, _TRIANGLES = 5126, 34962, 4


@dataclass
class ModelPreview:
    """What the preview of one file found, and its GLB.

    Attributes
    ----------
    source:
        The file's name.
    schema:
        The schema of its header.
    unit:
        The project's length unit: ``name`` and ``metres`` (one unit in metres).
    georeference:
        The first usable georeference the file carries (see :func:`bim.georef.candidates`),
        as in an import report, or None: the model then needs a user origin.
    bounds:
        ``[[min x, min y, min z], [max x, max y, max z]]`` of the meshes in the model's
        frame (metres), or None without any mesh.
    base:
        The lowest point of the elements a building stands on (all but the site, footings,
        piles and terrain: :data:`UNDERGROUND`), else of every mesh; None without a mesh.
    elements, triangles:
        Meshed elements and their triangles.
    without_geometry:
        Products with a body representation that no mesh came out of.
    """

    source: str
    schema: str
    unit: dict[str, Any]
    georeference: dict[str, Any] | None
    bounds: list[list[float]] | None = None
    base: float | None = None
    elements: int = 0
    triangles: int = 0
    without_geometry: int = 0
    glb: bytes = field(default=b"", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the GLB, JSON-ready."""
        return {k: v for k, v in self.__dict__.items() if k != "glb"}


def preview_ifc(path: Path, kernel: str = DEFAULT_KERNEL) -> ModelPreview:
    """Mesh ``path`` and describe it, without storing anything.

    Raises
    ------
    IfcReadError
        When the file is not a readable IFC file.
    """
    schema = read_schema(path)
    model = open_ifc(path)
    found = candidates(model)
    preview = ModelPreview(
        source=path.name,
        schema=schema,
        unit=_unit(model),
        georeference=found[0].to_dict() if found else None,
    )
    by_material: dict[Material, list[FloatArray]] = {}
    meshed: set[str] = set()
    bases: list[float] = []
    for shape in iterate_shapes(model, kernel, fallback=None, workers=1):
        if len(shape.vertices) and model.by_guid(shape.guid).is_a() not in UNDERGROUND:
            bases.append(float(shape.vertices[:, 2].min()))
        for material, faces in shape.parts:
            if len(faces):
                by_material.setdefault(material, []).append(shape.vertices[faces.reshape(-1)])
                preview.triangles += len(faces)
        meshed.add(shape.guid)
    preview.elements = len(meshed)
    preview.without_geometry = _without_geometry(model, meshed)
    triangles = {m: np.concatenate(c).reshape(-1, 3) for m, c in by_material.items()}
    if triangles:
        points = np.concatenate(list(triangles.values()))
        low, high = points.min(axis=0), points.max(axis=0)
        preview.bounds = [low.tolist(), high.tolist()]
        preview.base = min(bases) if bases else float(low[2])
        preview.glb = to_glb(triangles, (low + high) / 2)
    return preview


def _unit(model: ifcopenshell.file) -> dict[str, Any]:
    unit = ifcopenshell.util.unit.get_project_unit(model, "LENGTHUNIT")
    name = ifcopenshell.util.unit.get_full_unit_name(unit) if unit is not None else None
    return {"name": name, "metres": float(ifcopenshell.util.unit.calculate_unit_scale(model))}


def _without_geometry(model: ifcopenshell.file, meshed: set[str]) -> int:
    """Products with a representation, other than openings, that gave no mesh."""
    return sum(
        1
        for product in planned_products(model)
        if getattr(product, "Representation", None) is not None
        and not product.is_a("IfcOpeningElement")
        and product.GlobalId not in meshed
    )


def to_glb(triangles: dict[Material, FloatArray], centre: FloatArray) -> bytes:
    """A GLB of ``triangles`` (per material, ``(3n, 3)`` corners in metres), flat-shaded.

    The corners are written relative to ``centre``, which becomes the node's translation.
    """
    binary = bytearray()
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []
    primitives: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []
    for material, corners in triangles.items():
        local = (corners - centre).astype(np.float32)
        normals = _flat_normals(corners - centre)
        attributes = {}
        for name, data in (("POSITION", local), ("NORMAL", normals)):
            accessor: dict[str, Any] = {
                "bufferView": len(views), "componentType": _FLOAT, "count": len(data),
                "type": "VEC3",
            }  # fmt: skip
            if name == "POSITION":
                accessor["min"] = local.min(axis=0).tolist()
                accessor["max"] = local.max(axis=0).tolist()
            views.append(_view(binary, data.tobytes(), _ARRAY_BUFFER))
            attributes[name] = len(accessors)
            accessors.append(accessor)
        r, g, b, a = material.rgba
        materials.append({
            "name": material.name,
            "pbrMetallicRoughness": {"baseColorFactor": [r, g, b, a], "metallicFactor": 0.0,
                                     "roughnessFactor": 1.0},
            "alphaMode": "BLEND" if a < 1.0 else "OPAQUE",
            "doubleSided": True,
        })  # fmt: skip
        primitives.append(
            {"attributes": attributes, "material": len(materials) - 1, "mode": _TRIANGLES}
        )
    document = {
        "asset": {"version": "2.0", "generator": "CIMTwin preview"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [float(v) for v in centre]}],
        "meshes": [{"primitives": primitives}],
        "materials": materials,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    return _pack(document, bytes(binary))


def _flat_normals(corners: FloatArray) -> FloatArray:
    """One unit normal per corner: its triangle's (zero for a degenerate triangle)."""
    a, b, c = corners[0::3], corners[1::3], corners[2::3]
    normal = np.cross(b - a, c - a).astype(np.float64)
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.divide(normal, length, out=np.zeros_like(normal), where=length > 0)
    return np.repeat(normal, 3, axis=0).astype(np.float32)


def _view(binary: bytearray, data: bytes, target: int) -> dict[str, Any]:
    offset = len(binary)
    binary.extend(data)
    binary.extend(b"\0" * (-len(binary) % 4))
    return {"buffer": 0, "byteOffset": offset, "byteLength": len(data), "target": target}


def _pack(document: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join((
        struct.pack("<4sII", b"glTF", 2, total),
        struct.pack("<I4s", len(text), b"JSON"), text,
        struct.pack("<I4s", len(binary), b"BIN\0"), binary,
    ))  # fmt: skip
