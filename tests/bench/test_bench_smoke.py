"""Smoke tests of the benchmarks and their helpers: the generated city, the glb statistics,
and tiny runs that only check a benchmark runs to its end and prints its table.

Nothing here asserts a duration; the benchmarks' real sizes never run in the test suite.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import trimesh

from cim.scope import Scope
from cim.store import CityStore

BENCH = Path(__file__).resolve().parents[2] / "bench"
BUILDINGS = 200


def _load(name: str) -> ModuleType:
    """A module of ``bench/`` (not a package), loaded once from its file."""
    key = f"_cimtwin_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[key]


def test_generate_city_writes_buildings_with_meshes_and_attributes(tmp_path: Path) -> None:
    city = tmp_path / "city"
    done = subprocess.run(
        [sys.executable, str(BENCH / "generate_city.py"), str(city),
         "--buildings", str(BUILDINGS), "--seed", "3", "--batch", "64", "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["buildings"] == BUILDINGS
    assert figures["batches"] == 4  # 64 + 64 + 64 + 8, each its own transaction

    generated = _load("generate_city")
    with CityStore.open(city) as store:
        assert store.crs == "EPSG:4547"
        assert store.counts_by_class(scope=Scope.everything()) == {"building": BUILDINGS}
        index = {entry.object_id: entry for entry in store.mesh_index(scope=Scope.everything())}
        assert set(index) == {f"buildings:{n}" for n in range(BUILDINGS)}
        assert {entry.triangles for entry in index.values()} <= {12, 20}  # rectangles and Ls
        objects = store.objects(cls="building", scope=Scope.everything())
        meshes = store.meshes(index, scope=Scope.everything())
        assert [source["source"] for source in store.sources(scope=Scope.everything())] == [
            generated.SOURCE
        ]
        extent = store.extent(scope=Scope.everything())
    assert extent is not None
    assert abs((extent[0] + extent[3]) / 2 - 430000) < 2000
    assert abs((extent[1] + extent[4]) / 2 - 2557000) < 2000
    shapes = set()
    for obj in objects:
        attributes = obj.attributes
        assert attributes["use"] in generated.USES
        assert 1950 <= attributes["year"] <= 2024
        assert attributes["levels"] >= 1
        assert obj.base_height == 0.0
        assert 3.0 <= obj.top_height <= 150.0
        assert attributes["height"] == obj.top_height
        assert obj.footprint is not None
        low_x, low_y, high_x, high_y = obj.footprint.bounds
        assert 8.0 - 1e-6 <= high_x - low_x <= 60.0 + 1e-6
        assert 8.0 - 1e-6 <= high_y - low_y <= 60.0 + 1e-6
        (part,) = meshes[obj.id]
        mesh = trimesh.Trimesh(part.vertices, part.faces, process=False)
        assert mesh.is_watertight and mesh.is_winding_consistent
        assert np.isclose(mesh.volume, obj.footprint.area * obj.top_height, rtol=1e-6)
        shapes.add(len(part.faces))
    assert shapes == {12, 20}
    assert len({obj.attributes["use"] for obj in objects}) >= 3


def test_generation_is_deterministic_and_grows_from_the_centre() -> None:
    generated = _load("generate_city")
    small = list(generated.generate(50, seed=7))
    large = list(generated.generate(120, seed=7))
    again = list(generated.generate(50, seed=7))
    other = list(generated.generate(50, seed=8))
    for a, b, c in zip(small, large, again, strict=False):
        assert np.array_equal(a.ring, b.ring) and np.array_equal(a.ring, c.ring)
        assert (a.height, a.use, a.year) == (b.height, b.use, b.year) == (c.height, c.use, c.year)
    assert any(not np.array_equal(a.ring, b.ring) for a, b in zip(small, other, strict=True))


def _glb(document: dict[str, object]) -> bytes:
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<I4s", len(text), b"JSON") + text
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def test_content_stats_reads_glb_and_b3dm(tmp_path: Path) -> None:
    common = _load("common")
    merged = {  # two primitives: 4 unindexed triangles and 2 indexed ones
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}},
                                   {"attributes": {"POSITION": 0}, "indices": 1}]}],
        "accessors": [{"count": 12}, {"count": 6}],
    }  # fmt: skip
    per_element = {
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}] * 3,
        "accessors": [{"count": 8}, {"count": 36}],
    }
    (tmp_path / "a.glb").write_bytes(_glb(merged))
    feature_table, batch_table = b'{"BATCH_LENGTH":3}', b'{"id":[1,2,3]}  '
    glb = _glb(per_element)
    header = struct.pack(
        "<4s6I", b"b3dm", 1, 28 + len(feature_table) + len(batch_table) + len(glb),
        len(feature_table), 0, len(batch_table), 0,
    )  # fmt: skip
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.b3dm").write_bytes(header + feature_table + batch_table + glb)
    (tmp_path / "tileset.json").write_text("{}")
    stats = common.content_stats(tmp_path)
    assert (stats.files, stats.primitives, stats.meshes) == (2, 5, 4)
    assert stats.triangles == 4 + 2 + 3 * 12
    assert stats.max_primitives == 3
    assert stats.draw_calls_per_tile == 2.5
    assert stats.total_bytes == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert not stats.unreadable


def test_read_during_import_runs_and_prints_its_table(tmp_path: Path) -> None:
    """Tiny sizes: the benchmark sets up, serves, reads, imports twice and prints its figures."""
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_read_during_import.py"), "--work", str(tmp_path),
         "--buildings", "30", "--elements", "4", "--second-elements", "2", "--readers", "2",
         "--pause", "0.1", "--baseline", "1", "--info-every", "2", "--second-after", "0",
         "--json", str(figures)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("endpoint"))
    for column in ("requests", "2xx", "4xx", "5xx", "p50 ms", "p95 ms", "p99 ms", "p99 ratio"):
        assert column in header
    for name in ("GET /api/objects/{id}", "GET /api/search", "GET /tiles/tileset.json"):
        assert any(line.startswith(name) for line in lines)
    assert "cimtwin info:" in lines and "errors seen" in done.stdout
    result = json.loads(figures.read_text())
    assert {(row["endpoint"], row["phase"]) for row in result["rows"]} >= {
        ("all reads", "baseline"), ("all reads", "import")}  # fmt: skip
    # every read was let in: the server got the run's secret, the readers the admin's token
    assert all(row["4xx"] == 0 for row in result["rows"]), result["rows"]
    assert all(row["2xx"] > 0 for row in result["rows"] if row["endpoint"] == "all reads")
    # both imports ran to an end (which of two concurrent imports wins the store is not asserted)
    assert all(result["imports"][key]["returncode"] is not None for key in ("first", "second"))


def test_scope_benchmark_prints_each_read_under_each_scope() -> None:
    """Tiny sizes: every read runs unlimited, for a town and for the county, with ratios."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_scope.py"), "--objects", "400", "--towns", "4",
         "--repeat", "2"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "ratio" in line]
    assert len(lines) == 5 and all("town" in line and "county" in line for line in lines)


def test_sensor_stream_benchmark_prints_the_state_and_the_stream_delays() -> None:
    """Tiny sizes: the state of 40 datastreams over HTTP, 2 streams at 20 events/s."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_sensor_stream.py"), "--datastreams", "40",
         "--repeat", "1", "--subscribers", "2", "--rate", "20", "--seconds", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "GET /api/sensors/state (gzip), 40 datastreams" in done.stdout
    assert "40 of 40 delivered" in done.stdout, done.stdout
