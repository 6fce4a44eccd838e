"""The preview of an IFC file before its import: a GLB in the model's frame, its findings."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bim.authoring import BuildingSpec, write_demo_building
from bim.errors import IfcReadError
from bim.preview import preview_ifc
from tests.conftest import OPEN_HOUSE
from tests.tiles.test_tileset import validate_glbs


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON and binary chunks of a GLB, its header checked."""
    magic, version, total = struct.unpack_from("<4sII", data)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    document = json.loads(data[20 : 20 + length])
    binary_length, binary_kind = struct.unpack_from("<I4s", data, 20 + length)
    assert binary_kind == b"BIN\0"
    start = 28 + length
    return document, data[start : start + binary_length]


def positions(document: dict[str, Any], binary: bytes) -> np.ndarray:
    """Every POSITION of the GLB in the model's frame (the node's translation added)."""
    found = []
    for primitive in document["meshes"][0]["primitives"]:
        accessor = document["accessors"][primitive["attributes"]["POSITION"]]
        view = document["bufferViews"][accessor["bufferView"]]
        data = np.frombuffer(binary, np.float32, accessor["count"] * 3, view["byteOffset"])
        found.append(data.reshape(-1, 3))
    return np.concatenate(found) + np.asarray(document["nodes"][0]["translation"])


def test_an_ungeoreferenced_model_is_previewed_in_its_own_frame(
    ifc_dir: Path, tmp_path: Path
) -> None:
    preview = preview_ifc(ifc_dir / OPEN_HOUSE)
    assert preview.georeference is None
    assert preview.schema == "IFC4"
    assert preview.unit == {"name": "MILLIMETRE", "metres": 0.001}
    assert preview.elements > 20 and preview.triangles > 500
    document, binary = read_glb(preview.glb)
    points = positions(document, binary)
    assert len(points) == 3 * preview.triangles
    assert preview.bounds is not None
    np.testing.assert_allclose(points.min(axis=0), preview.bounds[0], atol=1e-3)
    np.testing.assert_allclose(points.max(axis=0), preview.bounds[1], atol=1e-3)
    # the site's terrain block reaches 8 m down; the house stands at its ground floor slab
    assert preview.bounds[0][2] == pytest.approx(-8.13)
    assert preview.base == pytest.approx(-0.4, abs=0.05)
    glb = tmp_path / "preview.glb"
    glb.write_bytes(preview.glb)
    report = validate_glbs([glb], tmp_path)[str(glb)]
    assert report["numErrors"] == 0, report


def test_a_georeferenced_model_names_its_georeference(tmp_path: Path) -> None:
    path = write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0, 2), tmp_path / "h.ifc")
    preview = preview_ifc(path)
    assert preview.georeference is not None
    assert preview.georeference["method"] == "IfcMapConversion"
    assert preview.georeference["origin"][:2] == [430760.0, 2557880.0]
    assert preview.unit["metres"] == 1.0
    assert preview.without_geometry == 0
    assert "glb" not in preview.to_dict()


def test_a_file_that_is_not_ifc_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.ifc"
    path.write_text("hello")
    with pytest.raises(IfcReadError, match="not an IFC file"):
        preview_ifc(path)
