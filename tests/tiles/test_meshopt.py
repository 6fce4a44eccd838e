"""The meshopt codecs round-trip, and the decoder CesiumJS uses reads what they write."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PROJECT_ROOT
from tiles.errors import TilesError
from tiles.meshopt import decode_attributes, decode_indices, encode_attributes, encode_indices

DECODER = PROJECT_ROOT / "viewer" / "node_modules" / "meshoptimizer" / "meshopt_decoder.mjs"
CHECK_SCRIPT = """
import fs from 'fs';
const { MeshoptDecoder } = await import(process.argv[2]);
await MeshoptDecoder.ready;
const cases = JSON.parse(fs.readFileSync(process.argv[3]));
const bad = [];
for (const [i, c] of cases.entries()) {
  const target = new Uint8Array(c.count * c.stride);
  MeshoptDecoder.decodeGltfBuffer(target, c.count, c.stride,
    new Uint8Array(Buffer.from(c.encoded, 'base64')), c.mode, 'NONE');
  if (Buffer.compare(Buffer.from(target), Buffer.from(c.raw, 'base64')) !== 0) bad.push(i);
}
process.stdout.write(JSON.stringify(bad));
"""


def _samples() -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(7)
    samples = []
    for stride in (4, 8, 12, 16):
        for count in (1, 15, 16, 17, 255, 256, 257, 2_000):
            shape = (count, stride)
            samples.append((rng.integers(0, 256, shape, dtype=np.uint8), stride))
            smooth = np.cumsum(rng.integers(-3, 4, shape), axis=0) % 256
            samples.append((smooth.astype(np.uint8), stride))
            samples.append((np.zeros(shape, dtype=np.uint8), stride))
    return samples


def test_attributes_round_trip() -> None:
    for data, stride in _samples():
        encoded = encode_attributes(data.tobytes(), stride)
        assert decode_attributes(encoded, len(data), stride) == data.tobytes()


def test_smooth_data_shrinks() -> None:
    positions = np.zeros((4_096, 4), dtype="<u2")
    positions[:, :3] = np.cumsum(np.ones((4_096, 3)), axis=0) % 65_536
    encoded = encode_attributes(positions.tobytes(), 8)
    assert len(encoded) < positions.nbytes / 3
    indices = np.arange(9_000) // 3 + np.tile([0, 1, 2], 3_000)
    assert len(encode_indices(indices)) < indices.astype("<u2").nbytes / 1.5


def test_indices_round_trip() -> None:
    rng = np.random.default_rng(3)
    for values in (np.arange(1_000), rng.integers(0, 2**20, 500), np.array([5]), np.zeros(0)):
        encoded = encode_indices(values)
        assert np.array_equal(decode_indices(encoded, len(values)), values)


def test_bad_input_is_named() -> None:
    with pytest.raises(TilesError, match="stride of 6"):
        encode_attributes(bytes(12), 6)
    with pytest.raises(TilesError, match="header 0xa0"):
        decode_attributes(b"\x00" + bytes(40), 1, 4)
    with pytest.raises(TilesError, match="extra or missing"):
        decode_attributes(encode_attributes(bytes(64), 4) + b"\0", 16, 4)
    with pytest.raises(TilesError, match="header 0xd1"):
        decode_indices(b"\xa0", 0)


def test_the_decoder_cesium_uses_reads_our_streams(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed to run the meshopt decoder"
    assert DECODER.is_file(), f"{DECODER} is missing: run `npm ci` in the viewer folder"
    cases = [
        {"mode": "ATTRIBUTES", "count": len(data), "stride": stride, "raw": data.tobytes(),
         "encoded": encode_attributes(data.tobytes(), stride)}
        for data, stride in _samples()
    ]  # fmt: skip
    rng = np.random.default_rng(11)
    for count in (1, 3, 300, 3_000):
        values = rng.integers(0, 60_000, count)
        for dtype in ("<u2", "<u4"):
            cases.append({"mode": "INDICES", "count": count, "stride": np.dtype(dtype).itemsize,
                          "raw": values.astype(dtype).tobytes(),
                          "encoded": encode_indices(values)})  # fmt: skip
    encoded = [
        {**case, "raw": base64.b64encode(case["raw"]).decode(),
         "encoded": base64.b64encode(case["encoded"]).decode()}
        for case in cases
    ]  # fmt: skip
    (tmp_path / "cases.json").write_text(json.dumps(encoded))
    (tmp_path / "check.mjs").write_text(CHECK_SCRIPT)
    completed = subprocess.run(
        [node, str(tmp_path / "check.mjs"), DECODER.as_uri(), str(tmp_path / "cases.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
