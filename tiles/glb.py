"""Binary glTF content: one primitive per material, quantized, with feature ids and metadata.

Each tile is one glb. The triangles of every feature that share a material become one
indexed primitive (one draw call) with flat normals and a per-vertex feature id:
``_FEATURE_ID_0`` (EXT_mesh_features) indexing an EXT_structural_metadata property table,
or ``_BATCHID`` for 3D Tiles 1.0 batch tables. Vertices arrive in the tileset's local
east-north-up frame (z up) and are written y up, as glTF requires; 3D Tiles rotates them
back.

Quantized (the default, KHR_mesh_quantization): positions are unsigned 16-bit integers on
the tile's box, dequantized by the node's translation and scale (sub-millimetre to a few
centimetres, by tile size); normals are normalized signed bytes; feature ids unsigned
16-bit. Vertices equal in position, normal and feature are shared through the index.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cim.model import FloatArray, Material
from tiles.meshopt import encode_attributes, encode_indices
from tiles.metadata import property_table

_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_BYTE, _UNSIGNED_SHORT, _UNSIGNED_INT, _FLOAT = 5120, 5123, 5125, 5126
_QUANTIZED_STEPS = 65535
MESHOPT = "EXT_meshopt_compression"
_MIN_NORMAL_LENGTH = 1e-12


@dataclass
class Surface:
    """The triangles of one material in a tile.

    ``corners`` is ``(m, 3, 3)``: three corners per triangle, local frame, z up;
    ``feature_ids`` is ``(m,)``: the row of each triangle's feature in the property table;
    ``vertex_ids`` (optional) ``(m, 3)``: which source vertex each corner is, so that
    corners of one vertex with one normal are shared without comparing their values.
    """

    material: Material
    corners: FloatArray
    feature_ids: npt.NDArray[np.int64]
    vertex_ids: npt.NDArray[np.int64] | None = None


@dataclass
class _Buffer:
    """The binary chunk being assembled with its buffer views and accessors."""

    data: bytearray = field(default_factory=bytearray)
    views: list[dict[str, Any]] = field(default_factory=list)
    accessors: list[dict[str, Any]] = field(default_factory=list)
    compress: bool = False
    fallback_length: int = 0  # bytes of the uncompressed views (buffer 1, no data)

    def vertex_view(self, payload: bytes, stride: int) -> int:
        """A vertex attribute view, meshopt-compressed when that makes it smaller."""
        encoded = encode_attributes(payload, stride) if self.compress and payload else b""
        if not encoded or len(encoded) >= len(payload):
            return self.view(payload, _ARRAY_BUFFER, stride)
        return self._compressed(encoded, payload, stride, "ATTRIBUTES", _ARRAY_BUFFER, stride)

    def index_view(self, indices: np.ndarray, dtype: str) -> int:
        """An index view, meshopt-compressed when that makes it smaller."""
        payload = indices.astype(dtype).tobytes()
        encoded = encode_indices(indices) if self.compress and len(indices) else b""
        if not encoded or len(encoded) >= len(payload):
            return self.view(payload, _ELEMENT_ARRAY_BUFFER)
        size = np.dtype(dtype).itemsize
        return self._compressed(encoded, payload, size, "INDICES", _ELEMENT_ARRAY_BUFFER, None)

    def _compressed(
        self, encoded: bytes, raw: bytes, size: int, mode: str, target: int, stride: int | None
    ) -> int:
        self.data.extend(b"\0" * (-len(self.data) % 8))
        self.fallback_length += -self.fallback_length % 8
        extension = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(encoded),
                     "byteStride": size, "count": len(raw) // size, "mode": mode}  # fmt: skip
        entry: dict[str, Any] = {"buffer": 1, "byteOffset": self.fallback_length,
                                 "byteLength": len(raw), "target": target,
                                 "extensions": {MESHOPT: extension}}  # fmt: skip
        if stride is not None:
            entry["byteStride"] = stride
        self.data.extend(encoded)
        self.fallback_length += len(raw)
        self.views.append(entry)
        return len(self.views) - 1

    def view(self, payload: bytes, target: int | None = None, stride: int | None = None) -> int:
        self.data.extend(b"\0" * (-len(self.data) % 8))
        entry: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.data),
                                 "byteLength": len(payload)}  # fmt: skip
        if target is not None:
            entry["target"] = target
        if stride is not None:
            entry["byteStride"] = stride
        self.data.extend(payload)
        self.views.append(entry)
        return len(self.views) - 1

    def accessor(self, view: int, component: int, count: int, kind: str, **extra: Any) -> int:
        entry = {"bufferView": view, "componentType": component, "count": count, "type": kind}
        self.accessors.append({**entry, **extra})
        return len(self.accessors) - 1


def build_glb(
    surfaces: list[Surface],
    rows: list[dict[str, Any]],
    *,
    quantize: bool = True,
    batch_ids: bool = False,
    compress: bool = True,
) -> bytes:
    """The glb of ``surfaces`` whose feature ``i`` has the properties ``rows[i]``.

    With ``batch_ids`` the feature ids are a ``_BATCHID`` attribute and no metadata is
    written (the b3dm batch table carries it).
    """
    buffer = _Buffer(compress=compress)
    prepared = [p for p in (_prepare(surface) for surface in surfaces) if p is not None]
    low, step = _quantization(prepared) if quantize else (np.zeros(3), np.ones(3))
    id_name = "_BATCHID" if batch_ids else "_FEATURE_ID_0"
    materials: list[dict[str, Any]] = []
    primitives: list[dict[str, Any]] = []
    for material, positions, normals, ids, keys in prepared:
        attributes, indices = _vertex_data(buffer, (positions, normals, ids, keys), low, step,
                                           quantize)  # fmt: skip
        primitive: dict[str, Any] = {
            "attributes": {
                "POSITION": attributes[0],
                "NORMAL": attributes[1],
                id_name: attributes[2],
            },
            "indices": indices,
            "material": len(materials),
            "mode": 4,
        }
        if not batch_ids:
            count = len(np.unique(ids))
            primitive["extensions"] = {"EXT_mesh_features": {"featureIds": [
                {"featureCount": count, "attribute": 0, "propertyTable": 0}]}}  # fmt: skip
        materials.append(_material_json(material))
        primitives.append(primitive)
    node: dict[str, Any] = {"mesh": 0}
    if quantize:
        node["translation"], node["scale"] = low.tolist(), step.tolist()
    used = [] if batch_ids else ["EXT_mesh_features", "EXT_structural_metadata"]
    document: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "CIMTwin"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [node],
        "meshes": [{"primitives": primitives}],
        "materials": materials,
    }
    if not batch_ids:
        document["extensions"] = {"EXT_structural_metadata": property_table(rows, buffer.view)}
    if quantize:
        used.append("KHR_mesh_quantization")
        document["extensionsRequired"] = ["KHR_mesh_quantization"]
    buffer.data.extend(b"\0" * (-len(buffer.data) % 8))
    buffers: list[dict[str, Any]] = [{"byteLength": len(buffer.data)}]
    if buffer.fallback_length:
        buffers.append({"byteLength": buffer.fallback_length,
                        "extensions": {MESHOPT: {"fallback": True}}})  # fmt: skip
        used.append(MESHOPT)
        document["extensionsRequired"] = [*document.get("extensionsRequired", []), MESHOPT]
    if used:
        document["extensionsUsed"] = used
    document |= {"accessors": buffer.accessors, "bufferViews": buffer.views, "buffers": buffers}
    return pack_glb(document, bytes(buffer.data))


_Prepared = tuple[
    Material, FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64] | None
]


def _prepare(surface: Surface) -> _Prepared | None:
    """Flat normals, degenerate triangles dropped, y up: per-corner arrays."""
    corners = surface.corners
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normals, axis=1)
    keep = length > _MIN_NORMAL_LENGTH
    if not keep.any():
        return None
    corners, normals = corners[keep], normals[keep] / length[keep, None]
    positions = corners.reshape(-1, 3)[:, [0, 2, 1]] * (1.0, 1.0, -1.0)
    vertex_normals = np.repeat(normals, 3, axis=0)[:, [0, 2, 1]] * (1.0, 1.0, -1.0)
    ids = np.repeat(surface.feature_ids[keep], 3)
    keys = None if surface.vertex_ids is None else surface.vertex_ids[keep].ravel()
    return surface.material, positions, vertex_normals, ids, keys


def _quantization(prepared: list[_Prepared]) -> tuple[FloatArray, FloatArray]:
    """The offset and step that map the tile's positions onto 0..65535 per axis."""
    if not prepared:
        return np.zeros(3), np.ones(3)
    low = np.min([p[1].min(axis=0) for p in prepared], axis=0)
    high = np.max([p[1].max(axis=0) for p in prepared], axis=0)
    step = np.maximum((high - low) / _QUANTIZED_STEPS, 1e-6)
    return low, step


def _vertex_data(
    buffer: _Buffer,
    corners: tuple[FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64] | None],
    low: FloatArray,
    step: FloatArray,
    quantize: bool,
) -> tuple[tuple[int, int, int], int]:
    """Write shared vertices and indices; return the three attribute accessors and indices."""
    positions, normals, ids, keys = corners
    count = len(positions)
    if quantize:
        vertices = np.zeros(count, dtype=[("p", "<u2", 3), ("n", "i1", 4), ("id", "<u2")])
        vertices["p"] = np.clip(np.rint((positions - low) / step), 0, _QUANTIZED_STEPS)
        vertices["n"][:, :3] = np.rint(normals * 127.0)
        vertices["id"] = ids
    else:
        vertices = np.zeros(count, dtype=[("p", "<f4", 3), ("n", "<f4", 3), ("id", "<f4")])
        vertices["p"], vertices["n"], vertices["id"] = positions, normals, ids
    if keys is None:  # compare the vertices' bytes
        _, first, inverse = np.unique(vertices.view(f"V{vertices.itemsize}"), return_index=True,
                                      return_inverse=True)  # fmt: skip
    else:  # the same source vertex with the same normal
        code = np.rint(normals * 127.0).astype(np.int64) + 128
        combined = (keys << 24) | (code[:, 0] << 16) | (code[:, 1] << 8) | code[:, 2]
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    shared = vertices[first]
    n = len(shared)
    if quantize:
        padded = np.zeros((n, 4), dtype="<u2")
        padded[:, :3] = shared["p"]
        p_view = buffer.vertex_view(padded.tobytes(), 8)
        n_view = buffer.vertex_view(np.ascontiguousarray(shared["n"]).tobytes(), 4)
        id_view = buffer.vertex_view(shared["id"].astype("<u4").tobytes(), 4)
        p_components, n_components, id_component = _UNSIGNED_SHORT, _BYTE, _UNSIGNED_SHORT
    else:
        p_view = buffer.view(np.ascontiguousarray(shared["p"]).tobytes(), _ARRAY_BUFFER)
        n_view = buffer.view(np.ascontiguousarray(shared["n"]).tobytes(), _ARRAY_BUFFER)
        id_view = buffer.view(np.ascontiguousarray(shared["id"]).tobytes(), _ARRAY_BUFFER)
        p_components, n_components, id_component = _FLOAT, _FLOAT, _FLOAT
    p_values = shared["p"].astype(np.float64)
    position = buffer.accessor(p_view, p_components, n, "VEC3",
                               min=p_values.min(axis=0).tolist(),
                               max=p_values.max(axis=0).tolist())  # fmt: skip
    normal_extra = {"normalized": True} if quantize else {}
    normal = buffer.accessor(n_view, n_components, n, "VEC3", **normal_extra)
    feature = buffer.accessor(id_view, id_component, n, "SCALAR")
    index_type, index_dtype = (_UNSIGNED_SHORT, "<u2") if n <= 65535 else (_UNSIGNED_INT, "<u4")
    index_view = buffer.index_view(inverse.ravel(), index_dtype)
    indices = buffer.accessor(index_view, index_type, count, "SCALAR")
    return (position, normal, feature), indices


def _material_json(material: Material) -> dict[str, Any]:
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


def pack_glb(document: dict[str, Any], binary: bytes) -> bytes:
    """A glb of ``document`` and its BIN chunk, padded so the file ends on 8 bytes (b3dm)."""
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(20 + len(text)) % 8)
    binary += b"\0" * (-len(binary) % 8)
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
