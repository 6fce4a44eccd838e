"""Jurisdiction assignment speed: every object of a generated city given its smallest node.

Usage::

    .venv/bin/python bench/bench_jurisdictions.py [--buildings 50000] [--towns 5]
        [--villages 4] [--sample 2000] [--seed 0]

It writes a city of generated buildings (``bench/generate_city.py``) and a jurisdiction
tree over it: province, city and county around the whole city, ``towns`` x ``towns``
towns splitting the county, ``villages`` x ``villages`` villages splitting each town
(5 and 4 give 25 towns and 400 villages, about Tianhe's count of subdistricts and
communities). Then it measures, in one run:

- the import of the tree (``CityWriter.replace_jurisdictions``: the layer written and
  every object re-assigned in SQL, one transaction), in objects per second;
- the point lookup alone (:func:`cim.jurisdictions.smallest_containing`, one STRtree query)
  against two peers on the same points: geopandas' spatial join (``sjoin`` with
  ``predicate="within"``, then the deepest node per point) and a plain Python loop testing
  each point against each node, deepest first (on ``--sample`` points: it is slow);
- the cost of the assignment on an import: the same batch of objects written into the city
  with its tree and into a copy without one.

It prints each figure and the ratios. The test suite only runs it tiny.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from generate_city import city_object, generate, write_city
from shapely.geometry import box

from cim.jurisdictions import Jurisdiction, smallest_containing
from cim.scope import Scope
from cim.store import CityStore


def tree_over(
    extent: tuple[float, float, float, float], towns: int, villages: int
) -> list[Jurisdiction]:
    """Province, city, county around ``extent``, then a grid of towns and of villages."""
    x0, y0, x1, y1 = extent
    nodes = [
        Jurisdiction.of(
            "440000000000", "province", box(x0 - 2000, y0 - 2000, x1 + 2000, y1 + 2000)
        ),
        Jurisdiction.of("440100000000", "city", box(x0 - 1000, y0 - 1000, x1 + 1000, y1 + 1000)),
        Jurisdiction.of("440106000000", "county", box(x0, y0, x1, y1)),
    ]
    tw, th = (x1 - x0) / towns, (y1 - y0) / towns
    for t in range(towns * towns):
        tx, ty = x0 + tw * (t % towns), y0 + th * (t // towns)
        town = f"440106{t + 1:03d}000"
        nodes.append(Jurisdiction.of(town, f"town {t + 1}", box(tx, ty, tx + tw, ty + th)))
        vw, vh = tw / villages, th / villages
        for v in range(villages * villages):
            vx, vy = tx + vw * (v % villages), ty + vh * (v // villages)
            code = f"{town[:9]}{v + 1:03d}"
            nodes.append(Jurisdiction.of(code, f"village {v + 1}", box(vx, vy, vx + vw, vy + vh)))
    return nodes


def sjoin_lookup(points: np.ndarray, nodes: list[Jurisdiction]) -> np.ndarray:
    """The peer: geopandas' spatial join, then the deepest (smallest) node per point."""
    left = gpd.GeoDataFrame(geometry=list(points))
    right = gpd.GeoDataFrame(
        {"code": [n.code for n in nodes], "depth": [n.depth for n in nodes],
         "area": [n.boundary.area for n in nodes]},
        geometry=[n.boundary for n in nodes],
    )  # fmt: skip
    joined = gpd.sjoin(left, right, predicate="within", how="inner")
    joined = joined.sort_values(["depth", "area"], ascending=[False, True])
    best = joined[~joined.index.duplicated(keep="first")]
    result = np.full(len(points), None, dtype=object)
    result[best.index.to_numpy()] = best["code"].to_numpy()
    return result


def loop_lookup(points: np.ndarray, nodes: list[Jurisdiction]) -> list[str | None]:
    """The other peer: each point against each node, deepest first, in Python."""
    ordered = sorted(nodes, key=lambda n: (-n.depth, n.boundary.area))
    return [next((n.code for n in ordered if n.boundary.covers(p)), None) for p in points]


def _timed(run: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def bench(
    work: Path, buildings: int, towns: int, villages: int, sample: int, seed: int
) -> dict[str, Any]:
    """Run every measurement in ``work`` and return the figures."""
    write_city(work / "city", buildings, seed)
    plain = CityStore.open(work / "city").copy_to(work / "plain")
    plain.close()
    figures: dict[str, Any] = {"buildings": buildings}
    with CityStore.open(work / "city") as store:
        extent = store.footprint_extent(scope=Scope.everything())
        assert extent is not None
        nodes = tree_over(extent, towns, villages)
        figures["jurisdictions"] = len(nodes)

        def replace() -> Any:
            with store.transaction() as writer:
                return writer.replace_jurisdictions(nodes)

        assignment, seconds = _timed(replace)
        figures |= {"replace_s": seconds, "replace_objects_per_s": buildings / seconds}
        figures |= {"assigned": assignment.assigned, "unassigned": assignment.unassigned}
        footprints = [
            obj.footprint for obj in store.objects(cls="building", scope=Scope.everything())
        ]
    points = shapely.point_on_surface(np.array(footprints, dtype=object))
    ours, seconds = _timed(lambda: smallest_containing(points, nodes))
    theirs, peer_seconds = _timed(lambda: sjoin_lookup(points, nodes))
    assert list(ours) == list(theirs), "the spatial join disagrees"
    figures |= {"lookup_s": seconds, "sjoin_s": peer_seconds}
    few = points[:sample]
    ours_few, seconds = _timed(lambda: smallest_containing(few, nodes))
    loop, loop_seconds = _timed(lambda: loop_lookup(few, nodes))
    assert list(ours_few) == loop, "the plain loop disagrees"
    figures |= {"sample": len(few), "lookup_sample_s": seconds, "loop_sample_s": loop_seconds}
    figures |= _import_cost(work, buildings, seed)
    return figures


def _import_cost(work: Path, buildings: int, seed: int) -> dict[str, float]:
    """Seconds to write the same new batch into the city with its tree and into the plain copy."""
    batch = [city_object(b) for b in generate(buildings + min(buildings, 20_000), seed)][buildings:]
    for index, obj in enumerate(batch):
        obj.id = f"extra:{index}"
    figures = {}
    for name in ("city", "plain"):
        with CityStore.open(work / name) as store:

            def write(store: CityStore = store) -> None:
                with store.transaction() as writer:
                    writer.add_objects(batch)

            figures[f"import_{name}_s"] = _timed(write)[1]
    figures["import_objects"] = len(batch)
    return figures


def main(argv: list[str]) -> None:
    """Parse the command line, run, print the figures and the last line as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=50_000)
    parser.add_argument("--towns", type=int, default=5, help="towns per side of the county")
    parser.add_argument("--villages", type=int, default=4, help="villages per side of a town")
    parser.add_argument("--sample", type=int, default=2_000, help="points of the plain loop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-jurisdictions-") as work:
        f = bench(Path(work), args.buildings, args.towns, args.villages, args.sample, args.seed)
    print(f"{f['buildings']} objects, {f['jurisdictions']} jurisdictions")
    print(f"  replace the set, re-assign all: {f['replace_s']:.2f} s"
          f" ({f['replace_objects_per_s']:.0f} objects/s; {f['assigned']} assigned,"
          f" {f['unassigned']} outside)")  # fmt: skip
    print(f"  lookup of {f['buildings']} points: STRtree {f['lookup_s'] * 1000:.0f} ms,"
          f" geopandas sjoin {f['sjoin_s'] * 1000:.0f} ms"
          f" (x{f['sjoin_s'] / f['lookup_s']:.1f})")  # fmt: skip
    print(f"  lookup of {f['sample']} points: STRtree {f['lookup_sample_s'] * 1000:.1f} ms,"
          f" Python loop {f['loop_sample_s'] * 1000:.0f} ms"
          f" (x{f['loop_sample_s'] / f['lookup_sample_s']:.0f})")  # fmt: skip
    print(f"  import of {f['import_objects']} objects: {f['import_city_s']:.2f} s with the tree,"
          f" {f['import_plain_s']:.2f} s without"
          f" (x{f['import_city_s'] / f['import_plain_s']:.2f})")  # fmt: skip
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
