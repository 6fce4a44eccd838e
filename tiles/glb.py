"""Binary glTF content: meshes merged per material, with feature ids and a property table.

Each tile is one glb. Triangles of every feature that share a material become one
primitive (one draw call), carrying ``_FEATURE_ID_0`` (EXT_mesh_features) that indexes an
EXT_structural_metadata property table with the features' id, class and name.
Vertices arrive in the tileset's local east-north-up frame (z up) and are written y up, as
glTF requires; 3D Tiles rotates them back.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

from cim.model import FloatArray, IndexArray, Material

METADATA_CLASS = "element"
PROPERTIES = ("id", "class", "name")
_ARRAY_BUFFER = 34962
_FLOAT = 5126
_UINT32 = "UINT32"


@dataclass
class Feature:
    """One pickable object in a tile: its properties and its triangles per material."""

    properties: dict[str, str]
    parts: list[tuple[Material, FloatArray, IndexArray]]


@dataclass
class _Buffer:
    """The binary chunk being assembled with its buffer views and accessors."""

    data: bytearray = field(default_factory=bytearray)
    views: list[dict[str, object]] = field(default_factory=list)
    accessors: list[dict[str, object]] = field(default_factory=list)

    def view(self, payload: bytes, target: int | None = None) -> int:
        self.data.extend(b"\0" * (-len(self.data) % 8))
        entry: dict[str, object] = {
            "buffer": 0,
            "byteOffset": len(self.data),
            "byteLength": len(payload),
        }
        if target is not None:
            entry["target"] = target
        self.data.extend(payload)
        self.views.append(entry)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, with_bounds: bool = False) -> int:
        entry: dict[str, object] = {
            "bufferView": self.view(array.astype("<f4").tobytes(), _ARRAY_BUFFER),
            "componentType": _FLOAT,
            "count": len(array),
            "type": kind,
        }
        if with_bounds:
            entry["min"] = array.min(axis=0).astype(float).tolist()
            entry["max"] = array.max(axis=0).astype(float).tolist()
        self.accessors.append(entry)
        return len(self.accessors) - 1


def build_glb(features: list[Feature]) -> bytes:
    """Return the glb bytes of ``features`` (vertices in a local z-up frame, metres)."""
    buffer = _Buffer()
    groups = _group_by_material(features)
    materials, primitives = [], []
    for index, (material, (positions, normals, ids)) in enumerate(groups.items()):
        materials.append(_material_json(material))
        primitives.append(
            {
                "attributes": {
                    "POSITION": buffer.accessor(positions, "VEC3", with_bounds=True),
                    "NORMAL": buffer.accessor(normals, "VEC3"),
                    "_FEATURE_ID_0": buffer.accessor(ids, "SCALAR"),
                },
                "material": index,
                "mode": 4,
                "extensions": {
                    "EXT_mesh_features": {
                        "featureIds": [
                            {
                                "featureCount": len(np.unique(ids)),
                                "attribute": 0,
                                "propertyTable": 0,
                            }
                        ]
                    }
                },
            }
        )
    document = {
        "asset": {"version": "2.0", "generator": "CIMTwin"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": primitives}],
        "materials": materials,
        "extensions": {"EXT_structural_metadata": _metadata(features, buffer)},
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data)}],
    }
    return _pack(document, bytes(buffer.data))


def _group_by_material(
    features: list[Feature],
) -> dict[Material, tuple[FloatArray, FloatArray, FloatArray]]:
    pieces: dict[Material, list[tuple[FloatArray, FloatArray, FloatArray]]] = {}
    for feature_id, feature in enumerate(features):
        for material, vertices, faces in feature.parts:
            corners = vertices[faces]
            normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
            length = np.linalg.norm(normals, axis=1)
            keep = length > 1e-12
            if not keep.any():
                continue
            corners, normals = corners[keep], normals[keep] / length[keep, None]
            positions = corners.reshape(-1, 3)[:, [0, 2, 1]] * (1.0, 1.0, -1.0)
            vertex_normals = np.repeat(normals, 3, axis=0)[:, [0, 2, 1]] * (1.0, 1.0, -1.0)
            ids = np.full(len(positions), feature_id, dtype=np.float64)
            pieces.setdefault(material, []).append((positions, vertex_normals, ids))
    return {
        material: tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[misc]
        for material, parts in pieces.items()
    }


def _material_json(material: Material) -> dict[str, object]:
    r, g, b, a = material.rgba
    return {
        "name": material.name,
        "pbrMetallicRoughness": {
            "baseColorFactor": [r, g, b, a],
            "metallicFactor": 0.0,
            "roughnessFactor": 0.9,
        },
        "alphaMode": "BLEND" if a < 0.999 else "OPAQUE",
        "doubleSided": True,
    }


def _metadata(features: list[Feature], buffer: _Buffer) -> dict[str, object]:
    table: dict[str, object] = {}
    for key in PROPERTIES:
        encoded = [feature.properties.get(key, "").encode("utf-8") for feature in features]
        offsets = np.cumsum([0] + [len(e) for e in encoded]).astype("<u4")
        table[key] = {
            "values": buffer.view(b"".join(encoded) or b"\0"),
            "stringOffsets": buffer.view(offsets.tobytes()),
            "stringOffsetType": _UINT32,
        }
    return {
        "schema": {
            "id": "cimtwin",
            "classes": {
                METADATA_CLASS: {
                    "properties": {
                        key: {"type": "STRING", "description": f"the object's {key}"}
                        for key in PROPERTIES
                    }
                }
            },
        },
        "propertyTables": [{"class": METADATA_CLASS, "count": len(features), "properties": table}],
    }


def _pack(document: dict[str, object], binary: bytes) -> bytes:
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(text), b"JSON"),
            text,
            struct.pack("<I4s", len(binary), b"BIN\0"),
            binary,
        ]
    )
