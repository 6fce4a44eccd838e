"""The demo district: buildings authored as IFC, imported like a user's files, then tiled.

A run reuses what an earlier run built: files already written are kept, sources already
imported with the same content are not imported again, and tiles are rebuilt only when
something changed or they are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from bim.reader import file_sha256
from cim.store import CityStore
from tiles.tileset import TILES_DIR, write_tileset

DEMO_CRS = "EPSG:4547"
DEMO_NAME = "Guangzhou Tianhe demo district"
# Around Huacheng Square, Tianhe, Guangzhou (113.3245 E, 23.1190 N = E 430806, N 2557876).
DISTRICT = (
    BuildingSpec(
        "Tianhe Office A",
        430760.0,
        2557840.0,
        10.0,
        0.0,
        36.0,
        18.0,
        8,
        3.8,
        "office",
        2012,
        (0.78, 0.80, 0.84),
    ),
    BuildingSpec(
        "Tianhe Office B",
        430820.0,
        2557840.0,
        10.0,
        0.0,
        30.0,
        18.0,
        12,
        3.8,
        "office",
        2016,
        (0.70, 0.76, 0.82),
    ),
    BuildingSpec(
        "Huacheng Library",
        430760.0,
        2557900.0,
        10.5,
        15.0,
        40.0,
        24.0,
        4,
        4.5,
        "library",
        2004,
        (0.86, 0.80, 0.68),
    ),
    BuildingSpec(
        "Zhujiang Apartments 1",
        430840.0,
        2557905.0,
        10.5,
        -10.0,
        22.0,
        14.0,
        10,
        3.0,
        "residential",
        2009,
        (0.90, 0.86, 0.78),
    ),
    BuildingSpec(
        "Zhujiang Apartments 2",
        430880.0,
        2557870.0,
        10.5,
        -10.0,
        22.0,
        14.0,
        9,
        3.0,
        "residential",
        2010,
        (0.88, 0.83, 0.74),
    ),
    BuildingSpec(
        "Tianhe Primary School",
        430700.0,
        2557870.0,
        10.0,
        90.0,
        30.0,
        16.0,
        3,
        3.6,
        "education",
        1998,
        (0.93, 0.72, 0.55),
    ),
)


@dataclass
class DemoResult:
    """What a demo build did."""

    city_dir: Path
    written: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    tiled: bool = False


def build_demo(city_dir: Path, log: Callable[[str], None] = print) -> DemoResult:
    """Build (or reuse) the demo district in ``city_dir`` and return what was done."""
    result = DemoResult(city_dir)
    store_path = city_dir / "city.gpkg"
    store = (
        CityStore.open(city_dir)
        if store_path.is_file()
        else CityStore.create(city_dir, DEMO_CRS, DEMO_NAME)
    )
    with store:
        imported = {s["source"]: s["sha256"] for s in store.sources()}
        pending = []
        for spec in DISTRICT:
            path = city_dir / "sources" / f"{_slug(spec.name)}.ifc"
            if not path.is_file():
                write_demo_building(spec, path)
                result.written.append(path.name)
                log(f"authored {path.name} ({spec.storeys} storeys)")
            if imported.get(path.name) == file_sha256(path):
                result.reused.append(path.name)
            else:
                pending.append(path)
        if pending:
            log(f"importing {len(pending)} IFC files")
            for report in import_ifc(store, pending):
                result.imported.append(report.source)
                log(
                    f"imported {report.source}: {report.elements_with_mesh} elements,"
                    f" {report.triangles} triangles, placed by {report.georeference['method']}"
                )
        if pending or not (city_dir / TILES_DIR / "tileset.json").is_file():
            summary = write_tileset(store)
            result.tiled = True
            log(f"tiled {summary.features} features into {summary.content_files} tiles")
    return result


def _slug(name: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in name).strip("-")
