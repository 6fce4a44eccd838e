"""Reading and checking glb tile content: chunks, accessors, positions, metadata, feature ids.

:func:`read_glb` and :func:`feature_properties` read what the tiler wrote;
:func:`check_glb` returns the problems of one glb against its tile's box.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

from tiles.b3dm import read_b3dm
from tiles.errors import TilesError
from tiles.meshopt import decode_attributes, decode_indices

FloatArray = npt.NDArray[np.float64]

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 0.01  # metres
GLB_MAGIC = b"glTF"
_JSON_CHUNK = b"JSON"
_BIN_CHUNK = b"BIN\0"
_COMPONENT_TYPES: dict[int, np.dtype[Any]] = {
    5120: np.dtype("<i1"),
    5121: np.dtype("<u1"),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_OFFSET_TYPES: dict[str, np.dtype[Any]] = {
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
}
# glTF is y up, 3D Tiles z up: (x, y, z) in the glb is (x, -z, y) in the tile.
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Box:
    """An oriented box: its centre and the three half axes as the columns of ``axes``."""

    centre: FloatArray
    axes: FloatArray

    def corners(self) -> FloatArray:
        """The eight corners, ``(8, 3)``."""
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
        return self.centre + signs @ self.axes.T

    def outside(self, points: FloatArray) -> FloatArray:
        """The points that lie outside the box beyond the tolerances."""
        local = np.linalg.solve(self.axes, (points - self.centre).T).T
        lengths = np.linalg.norm(self.axes, axis=0)
        limit = 1.0 + RELATIVE_TOLERANCE + ABSOLUTE_TOLERANCE / lengths
        return points[np.any(np.abs(local) > limit, axis=1)]


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """Read a binary glTF file.

    Returns
    -------
    tuple[dict[str, Any], bytes]
        The JSON document and the BIN chunk.

    Raises
    ------
    ValueError
        When the file is not a glTF 2.0 glb with a JSON and a BIN chunk.
    """
    return parse_glb(path.read_bytes(), path.name)


def parse_glb(data: bytes, name: str) -> tuple[dict[str, Any], bytes]:
    """The JSON document and BIN chunk of glb ``data`` (``name`` labels errors)."""
    if len(data) < 12:
        raise ValueError(f"{name}: {len(data)} bytes, too short for a glb header")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC:
        raise ValueError(f"{name}: not a glb (magic {magic!r}, expected b'glTF')")
    if version != 2:
        raise ValueError(f"{name}: glb version {version}, expected 2")
    if length != len(data):
        raise ValueError(f"{name}: header says {length} bytes, the file has {len(data)}")
    chunks: list[tuple[bytes, bytes]] = []
    offset = 12
    while offset < length:
        if offset + 8 > length:
            raise ValueError(f"{name}: truncated chunk header at byte {offset}")
        chunk_length, chunk_type = struct.unpack_from("<I4s", data, offset)
        start, end = offset + 8, offset + 8 + chunk_length
        if end > length:
            raise ValueError(f"{name}: chunk {chunk_type!r} runs past the end of the file")
        chunks.append((chunk_type, data[start:end]))
        offset = end
    if not chunks or chunks[0][0] != _JSON_CHUNK:
        raise ValueError(f"{name}: the first chunk is not JSON")
    if len(chunks) < 2 or chunks[1][0] != _BIN_CHUNK:
        raise ValueError(f"{name}: no BIN chunk after the JSON chunk")
    try:
        document = json.loads(chunks[0][1].decode("utf-8"))
    except ValueError as exc:
        raise ValueError(f"{name}: the JSON chunk does not parse: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{name}: the JSON chunk is not an object")
    return document, chunks[1][1]


def feature_properties(path: Path) -> list[dict[str, Any]]:
    """Decode the rows of a glb's EXT_structural_metadata property tables.

    Returns
    -------
    list[dict[str, str]]
        One mapping per feature (e.g. ``id``, ``class``, ``name``), tables in order;
        strings and numbers; a number equal to its noData is left out.

    Raises
    ------
    ValueError
        When the glb or its metadata cannot be read.
    """
    document, binary = read_glb(path)
    try:
        return _feature_rows(document, binary)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from exc
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"{path.name}: malformed EXT_structural_metadata: {exc!r}") from exc


def _feature_rows(document: dict[str, Any], binary: bytes) -> list[dict[str, Any]]:
    metadata = document.get("extensions", {}).get("EXT_structural_metadata")
    if not isinstance(metadata, dict):
        raise ValueError("no EXT_structural_metadata")
    classes = _classes(metadata)
    rows: list[dict[str, Any]] = []
    for table in metadata.get("propertyTables", []):
        definitions = classes.get(table.get("class"), {}).get("properties", {})
        count = int(table["count"])
        table_rows: list[dict[str, Any]] = [{} for _ in range(count)]
        for name, prop in table.get("properties", {}).items():
            definition = definitions.get(name, {})
            values = _column(document, binary, definition, prop, count)
            for row, value in zip(table_rows, values, strict=True):
                if value != definition.get("noData"):
                    row[name] = value
        rows += table_rows
    return rows


def check_b3dm(path: Path, box: Box | None) -> list[str]:
    """The problems of a b3dm: its layout, batch table lengths and the glb inside."""
    try:
        feature_table, batch_table, glb = read_b3dm(path.read_bytes())
        document, binary = parse_glb(glb, path.name)
    except (OSError, ValueError, TilesError) as exc:
        return [f"{path.name}: {exc}"]
    problems: list[str] = []
    length = feature_table.get("BATCH_LENGTH")
    if not isinstance(length, int) or length < 0:
        return [f"BATCH_LENGTH must be an integer >= 0, found {length!r}"]
    for name, values in batch_table.items():
        if not isinstance(values, list) or len(values) != length:
            problems.append(f"batch table property {name!r} does not hold {length} values")
    for mesh in document.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            try:
                ids = _read_accessor(document, binary, primitive["attributes"]["_BATCHID"])
            except (KeyError, ValueError) as exc:
                problems.append(f"a primitive has no readable _BATCHID ({exc})")
                continue
            if len(ids) and (ids.min() < 0 or ids.max() >= length):
                problems.append(f"_BATCHID values reach {ids.max():g}, BATCH_LENGTH is {length}")
    if len(glb) % 8 or (len(path.read_bytes()) - len(glb)) % 8:
        problems.append("the glb does not start and end on 8-byte boundaries")
    if box is not None:
        problems += _check_positions(document, box)
    return problems


def check_glb(path: Path, box: Box | None) -> list[str]:
    """The problems of a glb against its tile's box (positions, metadata, feature ids)."""
    try:
        document, binary = read_glb(path)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    problems: list[str] = []
    used = set(document.get("extensionsUsed", []))
    if box is not None:
        problems += _check_positions(document, box)
    metadata = document.get("extensions", {}).get("EXT_structural_metadata")
    counts: list[int | None] = []
    if metadata is not None:
        if "EXT_structural_metadata" not in used:
            problems.append("EXT_structural_metadata is not listed in extensionsUsed")
        counts = _check_metadata(document, binary, metadata, problems)
    problems += _check_feature_ids(document, binary, counts, used)
    problems += _check_compressed_views(document, binary, used)
    return problems


def _check_compressed_views(document: dict[str, Any], binary: bytes, used: set[str]) -> list[str]:
    """Every EXT_meshopt_compression view must decode to its declared length."""
    problems: list[str] = []
    for index, view in enumerate(document.get("bufferViews", [])):
        if "EXT_meshopt_compression" not in view.get("extensions", {}):
            continue
        if "EXT_meshopt_compression" not in used:
            problems.append("EXT_meshopt_compression is not listed in extensionsUsed")
        try:
            _view_bytes(document, binary, index)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _check_positions(document: dict[str, Any], box: Box) -> list[str]:
    problems: list[str] = []
    meshes = document.get("meshes", [])
    for matrix, mesh_index in _mesh_instances(document):
        if not 0 <= mesh_index < len(meshes):
            problems.append(f"a node refers to mesh {mesh_index}, which does not exist")
            continue
        for prim_index, primitive in enumerate(meshes[mesh_index].get("primitives", [])):
            label = f"mesh {mesh_index} primitive {prim_index}"
            accessor = _accessor(document, primitive.get("attributes", {}).get("POSITION"))
            if accessor is None:
                problems.append(f"{label}: no valid POSITION accessor")
                continue
            low, high = accessor.get("min"), accessor.get("max")
            if not (is_numbers(low, 3) and is_numbers(high, 3)):
                problems.append(f"{label}: the POSITION accessor has no 3-number min/max")
                continue
            corners = Box(
                (np.asarray(low, float) + np.asarray(high, float)) / 2,
                np.diag((np.asarray(high, float) - np.asarray(low, float)) / 2),
            ).corners()
            world = corners @ matrix[:3, :3].T + matrix[:3, 3]
            outside = box.outside(world @ _Y_UP_TO_Z_UP.T)
            if len(outside):
                problems.append(
                    f"{label}: POSITION min/max reach outside the tile's box"
                    f" (e.g. {np.round(outside[0], 3).tolist()} in the tile frame)"
                )
    return problems


def _mesh_instances(document: dict[str, Any]) -> list[tuple[FloatArray, int]]:
    """The world matrix and mesh index of every node of the default scene with a mesh."""
    nodes = document.get("nodes", [])
    scenes = document.get("scenes", [])
    scene = document.get("scene", 0)
    if scenes and isinstance(scene, int) and 0 <= scene < len(scenes):
        roots = scenes[scene].get("nodes", [])
    else:
        children = {c for node in nodes for c in node.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    result: list[tuple[FloatArray, int]] = []
    stack: list[tuple[int, FloatArray, int]] = [(r, np.eye(4), 0) for r in roots]
    while stack:
        index, parent_matrix, depth = stack.pop()
        if not 0 <= index < len(nodes) or depth > 64:
            continue
        node = nodes[index]
        matrix = parent_matrix @ _node_matrix(node)
        if "mesh" in node:
            result.append((matrix, int(node["mesh"])))
        stack += [(child, matrix, depth + 1) for child in node.get("children", [])]
    return result


def _node_matrix(node: dict[str, Any]) -> FloatArray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T
    x, y, z, w = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(node.get("scale", (1.0, 1.0, 1.0)), dtype=np.float64)
    matrix[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return matrix


def _check_metadata(
    document: dict[str, Any], binary: bytes, metadata: Any, problems: list[str]
) -> list[int | None]:
    """Check the property tables; return each table's count (None when unusable)."""
    if not isinstance(metadata, dict):
        problems.append("EXT_structural_metadata is not an object")
        return []
    if "schema" not in metadata:
        problems.append("EXT_structural_metadata has no embedded schema")
    classes = _classes(metadata)
    problems += _check_no_data(classes)
    counts: list[int | None] = []
    for index, table in enumerate(metadata.get("propertyTables", [])):
        label = f"propertyTables[{index}]"
        count = table.get("count") if isinstance(table, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problems.append(f"{label}: count must be an integer >= 0, found {count!r}")
            counts.append(None)
            continue
        counts.append(count)
        cls = table.get("class")
        if cls not in classes:
            problems.append(f"{label}: class {cls!r} is not in the schema")
            continue
        definitions = classes[cls].get("properties", {})
        properties = table.get("properties", {})
        # EXT_structural_metadata lets a table omit optional properties, but the reference
        # validator (and readers that walk the class) expect every one: hold tables to that.
        missing, extra = set(definitions) - set(properties), set(properties) - set(definitions)
        if missing or extra:
            problems.append(
                f"{label}: properties differ from class {cls!r}"
                f" (missing {sorted(missing)}, not in the class {sorted(extra)})"
            )
        for key in sorted(set(definitions) & set(properties)):
            try:
                _column(document, binary, definitions[key], properties[key], count)
            except ValueError as exc:
                problems.append(f"{label}.{key}: {exc}")
    return counts


def _check_no_data(classes: dict[str, Any]) -> list[str]:
    """A ``noData`` is allowed on optional, non-BOOLEAN properties only, of their type."""
    problems: list[str] = []
    for cls, definition in classes.items():
        properties = definition.get("properties", {}) if isinstance(definition, dict) else {}
        for name, prop in properties.items():
            if not isinstance(prop, dict) or "noData" not in prop:
                continue
            label = f"class {cls!r} property {name!r}"
            no_data, kind = prop["noData"], prop.get("type")
            if prop.get("required"):
                problems.append(f"{label}: a required property cannot have a noData value")
            elif kind == "BOOLEAN":
                problems.append(f"{label}: a BOOLEAN property cannot have a noData value")
            elif (kind == "STRING") != isinstance(no_data, str) or (
                kind == "SCALAR" and not is_number(no_data)
            ):
                problems.append(f"{label}: noData {no_data!r} does not match its type {kind!r}")
    return problems


def _classes(metadata: dict[str, Any]) -> dict[str, Any]:
    schema = metadata.get("schema")
    classes = schema.get("classes") if isinstance(schema, dict) else None
    return classes if isinstance(classes, dict) else {}


_SCALAR_TYPES = {"INT8": "<i1", "UINT8": "<u1", "INT16": "<i2", "UINT16": "<u2", "INT32": "<i4",
                 "UINT32": "<u4", "INT64": "<i8", "UINT64": "<u8", "FLOAT32": "<f4",
                 "FLOAT64": "<f8"}  # fmt: skip


def _column(
    document: dict[str, Any], binary: bytes, definition: dict[str, Any], prop: Any, count: int
) -> list[Any]:
    """Decode a STRING or SCALAR property column of ``count`` values, checking its views."""
    kind = definition.get("type")
    if kind == "STRING":
        return list(_string_column(document, binary, prop, count))
    if kind != "SCALAR" or definition.get("componentType") not in _SCALAR_TYPES:
        raise ValueError(f"type {kind!r} {definition.get('componentType')!r} is not checked here")
    if not isinstance(prop, dict):
        raise ValueError("the property is not an object")
    raw = _view_bytes(document, binary, prop.get("values"), "values")
    dtype = np.dtype(_SCALAR_TYPES[definition["componentType"]])
    if len(raw) != count * dtype.itemsize:
        raise ValueError(f"{len(raw)} bytes of values for {count} {definition['componentType']}")
    return np.frombuffer(raw, dtype=dtype).tolist()


def _string_column(document: dict[str, Any], binary: bytes, prop: Any, count: int) -> list[str]:
    """Decode a STRING property of a property table, checking its buffer views."""
    if not isinstance(prop, dict):
        raise ValueError("the property is not an object")
    values = _view_bytes(document, binary, prop.get("values"), "values")
    offset_type = prop.get("stringOffsetType", "UINT32")
    if offset_type not in _OFFSET_TYPES:
        raise ValueError(f"unknown stringOffsetType {offset_type!r}")
    raw = _view_bytes(document, binary, prop.get("stringOffsets"), "stringOffsets")
    dtype = _OFFSET_TYPES[offset_type]
    if len(raw) % dtype.itemsize:
        raise ValueError(f"stringOffsets length {len(raw)} is not a multiple of {offset_type}")
    offsets = np.frombuffer(raw, dtype=dtype).astype(np.int64)
    if len(offsets) - 1 != count:
        raise ValueError(f"count is {count} but there are {len(offsets)} string offsets")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("stringOffsets decrease")
    if len(offsets) and (offsets[0] < 0 or offsets[-1] > len(values)):
        raise ValueError(f"stringOffsets run past the {len(values)} bytes of values")
    try:
        return [values[start:end].decode("utf-8") for start, end in pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise ValueError(f"a string is not UTF-8: {exc}") from exc


def _view_bytes(
    document: dict[str, Any], binary: bytes, index: Any, role: str = "bufferView"
) -> bytes:
    """The bytes of a buffer view in the BIN chunk."""
    views = document.get("bufferViews", [])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(views):
        raise ValueError(f"{role} {index!r} is not a bufferView (there are {len(views)})")
    view = views[index]
    meshopt = view.get("extensions", {}).get("EXT_meshopt_compression")
    if isinstance(meshopt, dict):
        return _decompressed(binary, meshopt, view, f"{role} bufferView {index}")
    if view.get("buffer", 0) != 0:
        raise ValueError(f"{role} bufferView {index} is not in the glb's BIN chunk")
    start, length = int(view.get("byteOffset", 0)), int(view.get("byteLength", -1))
    if start < 0 or length < 0 or start + length > len(binary):
        raise ValueError(
            f"{role} bufferView {index} (offset {start}, length {length}) lies outside"
            f" the {len(binary)}-byte BIN chunk"
        )
    return binary[start : start + length]


def _decompressed(
    binary: bytes, meshopt: dict[str, Any], view: dict[str, Any], label: str
) -> bytes:
    """The bytes of an EXT_meshopt_compression buffer view, decoded."""
    start, length = int(meshopt.get("byteOffset", 0)), int(meshopt.get("byteLength", -1))
    if meshopt.get("buffer", 0) != 0 or start < 0 or length < 0 or start + length > len(binary):
        raise ValueError(f"{label}: its compressed data lies outside the BIN chunk")
    count, stride, mode = meshopt.get("count"), meshopt.get("byteStride"), meshopt.get("mode")
    if (
        not isinstance(count, int)
        or not isinstance(stride, int)
        or count * stride != view.get("byteLength")
    ):
        raise ValueError(f"{label}: count x byteStride differs from the view's byteLength")
    source = binary[start : start + length]
    try:
        if mode == "ATTRIBUTES":
            return decode_attributes(source, count, stride)
        if mode == "INDICES":
            dtype = "<u2" if stride == 2 else "<u4"
            return decode_indices(source, count).astype(dtype).tobytes()
    except (TilesError, IndexError) as exc:
        raise ValueError(f"{label}: {exc}") from exc
    raise ValueError(f"{label}: meshopt mode {mode!r} is not checked here")


def _accessor(document: dict[str, Any], index: Any) -> dict[str, Any] | None:
    accessors = document.get("accessors", [])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(accessors):
        return None
    accessor = accessors[index]
    return accessor if isinstance(accessor, dict) else None


def _read_accessor(document: dict[str, Any], binary: bytes, index: Any) -> FloatArray:
    """The data of an accessor as ``(count, components)`` float64."""
    accessor = _accessor(document, index)
    if accessor is None:
        raise ValueError(f"accessor {index!r} does not exist")
    dtype = _COMPONENT_TYPES.get(accessor.get("componentType", 0))
    components = _COMPONENTS.get(accessor.get("type", ""))
    count = accessor.get("count")
    if dtype is None or components is None or not isinstance(count, int) or count < 0:
        raise ValueError(f"accessor {index} has an invalid componentType, type or count")
    if "bufferView" not in accessor:
        return np.zeros((count, components))
    raw = _view_bytes(document, binary, accessor["bufferView"], f"accessor {index}")
    view = document["bufferViews"][accessor["bufferView"]]
    stride = int(view.get("byteStride") or dtype.itemsize * components)
    start = int(accessor.get("byteOffset", 0))
    needed = start + stride * (count - 1) + dtype.itemsize * components if count else 0
    if needed > len(raw):
        raise ValueError(f"accessor {index} needs {needed} bytes, its bufferView has {len(raw)}")
    data = np.ndarray(
        (count, components), dtype=dtype, buffer=raw, offset=start, strides=(stride, dtype.itemsize)
    )
    return data.astype(np.float64)


def _check_feature_ids(
    document: dict[str, Any], binary: bytes, counts: list[int | None], used: set[str]
) -> list[str]:
    problems: list[str] = []
    for mesh_index, mesh in enumerate(document.get("meshes", [])):
        for prim_index, primitive in enumerate(mesh.get("primitives", [])):
            extension = primitive.get("extensions", {}).get("EXT_mesh_features")
            if extension is None:
                continue
            label = f"mesh {mesh_index} primitive {prim_index}"
            if "EXT_mesh_features" not in used:
                problems.append(f"{label}: EXT_mesh_features is not listed in extensionsUsed")
            for fid_index, feature_ids in enumerate(extension.get("featureIds", [])):
                problems += _check_feature_id_set(
                    document,
                    binary,
                    primitive,
                    feature_ids,
                    counts,
                    f"{label} featureIds[{fid_index}]",
                )
    return problems


def _check_feature_id_set(
    document: dict[str, Any],
    binary: bytes,
    primitive: dict[str, Any],
    feature_ids: dict[str, Any],
    counts: list[int | None],
    label: str,
) -> list[str]:
    table = feature_ids.get("propertyTable")
    if not isinstance(table, int) or not 0 <= table < len(counts):
        return [f"{label}: propertyTable {table!r} is not a property table of the glb"]
    attribute = feature_ids.get("attribute")
    if attribute is None:
        return []  # texture or implicit (vertex index) feature ids: not checked
    name = f"_FEATURE_ID_{attribute}"
    index = primitive.get("attributes", {}).get(name)
    if index is None:
        return [f"{label}: the primitive has no {name} attribute"]
    try:
        values = _read_accessor(document, binary, index)[:, 0]
    except ValueError as exc:
        return [f"{label}: {name}: {exc}"]
    problems: list[str] = []
    count = counts[table]
    null = feature_ids.get("nullFeatureId")
    values = values if null is None else values[values != null]
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        problems.append(f"{label}: {name} holds values that are not integers")
    elif count is not None and len(values) and (values.min() < 0 or values.max() >= count):
        problems.append(
            f"{label}: {name} values span {values.min():g}..{values.max():g},"
            f" outside [0, {count}) of propertyTable {table}"
        )
    feature_count = feature_ids.get("featureCount")
    if not isinstance(feature_count, int) or feature_count < 1:
        problems.append(f"{label}: featureCount must be an integer >= 1, found {feature_count!r}")
    elif len(np.unique(values)) > feature_count:
        problems.append(
            f"{label}: {len(np.unique(values))} distinct feature ids, featureCount {feature_count}"
        )
    return problems


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_numbers(value: Any, length: int) -> bool:
    return isinstance(value, list) and len(value) == length and all(map(is_number, value))
