"""3D Tiles 1.0 Batched 3D Model (b3dm) content: a glb with a feature table and a batch table.

Layout (3D Tiles 1.0, b3dm): a 28-byte header (magic ``b3dm``, version 1, total length,
then the JSON and binary lengths of the feature table and the batch table), the feature
table JSON (``BATCH_LENGTH``), the batch table JSON (one array per property), then the glb
whose ``_BATCHID`` attribute indexes the batch. Each JSON ends padded with spaces so the
next part starts on an 8-byte boundary, and the glb's length is a multiple of 8.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from tiles.errors import TilesError

MAGIC = b"b3dm"
HEADER_BYTES = 28


def wrap_b3dm(glb: bytes, batch_length: int, batch_table: dict[str, list[Any]]) -> bytes:
    """The b3dm holding ``glb`` with ``batch_length`` batches described by ``batch_table``."""
    feature_json = _padded_json({"BATCH_LENGTH": batch_length}, HEADER_BYTES)
    batch_json = _padded_json(batch_table, HEADER_BYTES + len(feature_json)) if batch_table else b""
    if len(glb) % 8:
        raise TilesError(f"a b3dm's glb must end on an 8-byte boundary ({len(glb)} bytes)")
    body = glb
    total = HEADER_BYTES + len(feature_json) + len(batch_json) + len(body)
    header = struct.pack("<4s6I", MAGIC, 1, total, len(feature_json), 0, len(batch_json), 0)
    return header + feature_json + batch_json + body


def read_b3dm(data: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The feature table, batch table and glb of b3dm ``data``; raises on a malformed file."""
    if len(data) < HEADER_BYTES:
        raise TilesError(f"{len(data)} bytes, too short for a b3dm header")
    magic, version, total, ft_json, ft_bin, bt_json, bt_bin = struct.unpack_from("<4s6I", data)
    if magic != MAGIC or version != 1:
        raise TilesError(f"not a b3dm version 1 (magic {magic!r}, version {version})")
    if total != len(data):
        raise TilesError(f"the header says {total} bytes, the file has {len(data)}")
    start = HEADER_BYTES
    offsets = [start, start + ft_json, start + ft_json + ft_bin]
    offsets += [offsets[2] + bt_json, offsets[2] + bt_json + bt_bin]
    if offsets[-1] > total:
        raise TilesError("the feature and batch tables run past the end of the file")
    misaligned = [o for o in offsets[1:] if o % 8]
    if misaligned:
        raise TilesError(f"table boundaries not on 8-byte boundaries: {misaligned}")
    feature_table = json.loads(data[offsets[0] : offsets[1]] or b"{}")
    batch_table = json.loads(data[offsets[2] : offsets[3]] or b"{}")
    return feature_table, batch_table, data[offsets[4] :]


def _padded_json(value: dict[str, Any], offset: int) -> bytes:
    text = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return text + b" " * (-(offset + len(text)) % 8)
