"""The demo district: buildings authored as IFC, imported like a user's files, then tiled.

The demo goes through the same use cases (:mod:`api.usecases`) as the command line and
the API's jobs.

A run reuses what an earlier run built: files already written are kept, sources already
imported with the same content are not imported again, and tiles are rebuilt only when
something changed or they are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyogrio
import shapely

from api.demo_gis import ZONES_LAYER, write_dem, write_layers, write_ortho, write_zones
from api.usecases.ifc import import_ifc_files, retile
from api.usecases.jurisdictions import import_jurisdictions
from api.usecases.rasters import import_dem_with_terrain, import_ortho_with_imagery
from bim.authoring import BuildingSpec, write_demo_building
from cim.data import JURISDICTIONS_FILE, data_file, demo_district
from cim.gis import VectorOptions, import_vector
from cim.layout import CityLayout
from cim.model import file_sha256
from cim.scope import Scope
from cim.store import CityStore
from cim.zones import import_zones

# The district's definition: data/demo/district.json.
DEMO_CRS = demo_district().crs
DEMO_NAME = demo_district().name
DISTRICT = tuple(BuildingSpec(**asdict(building)) for building in demo_district().buildings)
GIS_LAYERS = tuple((layer.layer, layer.cls) for layer in demo_district().gis_layers)


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
    store_path = CityLayout(city_dir).store
    store = (
        CityStore.open(city_dir)
        if store_path.is_file()
        else CityStore.create(city_dir, DEMO_CRS, DEMO_NAME)
    )
    with store:
        imported = {s["source"]: s["sha256"] for s in store.sources(scope=Scope.everything())}
        pending = []
        for spec in DISTRICT:
            path = CityLayout(city_dir).sources / f"{_slug(spec.name)}.ifc"
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
            for report in import_ifc_files(store, pending):
                result.imported.append(report.source)
                log(
                    f"imported {report.source}: {report.elements_with_mesh} elements,"
                    f" {report.triangles} triangles, placed by {report.georeference['method']}"
                )
        changed = _gis_layers(store, city_dir, log, result)
        changed = _rasters(store, city_dir, log, result) or changed
        _jurisdictions(store, log, result)
        # always: re-tiling redraws only tiles whose inputs (or the tiler) changed
        summary = retile(store)
        result.tiled = summary.written > 0 or summary.removed > 0
        log(f"tiled {summary.features} features into {summary.content_files} tiles"
            f" ({summary.written} drawn, {summary.reused} unchanged)")  # fmt: skip
    return result


def _gis_layers(
    store: CityStore, city_dir: Path, log: Callable[[str], None], result: DemoResult
) -> bool:
    """Generate (once) and import (when missing) the district's GIS layers."""
    layers = CityLayout(city_dir).sources / "district.gpkg"
    if not layers.is_file():
        footprints = [
            b.footprint
            for b in store.objects(cls="IfcBuilding", scope=Scope.everything())
            if b.footprint
        ]
        bim_area = shapely.union_all(footprints).buffer(10.0)
        write_layers(layers, bim_area, footprints[0], DEMO_CRS)
        log(f"generated {layers.name}: streets, parcels and building footprints")
    done = {s["source"] for s in store.sources(scope=Scope.everything())}
    changed = False
    for layer, cls in GIS_LAYERS:
        if f"{layers.name}#{layer}" in done:
            continue
        options = VectorOptions(layer=layer, cls=cls, id_field="ref" if cls == "building" else None)
        report = import_vector(store, layers, options)
        result.imported.append(report.source)
        changed = True
        log(
            f"imported {report.source}: {report.imported} {cls} features"
            + (f", {report.conflated} replaced by BIM" if report.conflated else "")
        )
    return _zones(store, layers, done, log, result) or changed


def _zones(
    store: CityStore, layers: Path, done: set[str], log: Callable[[str], None], result: DemoResult
) -> bool:
    """Import (when missing) the district's planning zones as class ``zone``; a layers file
    generated before the demo had zones gets them first."""
    if f"{layers.name}#{ZONES_LAYER}" in done:
        return False
    if ZONES_LAYER not in [str(name) for name, _ in pyogrio.list_layers(layers)]:
        write_zones(layers, DEMO_CRS)
    report = import_zones(store, layers, layer=ZONES_LAYER).vector
    result.imported.append(report.source)
    log(f"imported {report.source}: {report.imported} planning zones")
    return True


def _rasters(
    store: CityStore, city_dir: Path, log: Callable[[str], None], result: DemoResult
) -> bool:
    """Generate and import the district's DEM (terrain tiles) and orthophoto (imagery tiles)."""
    kinds = {s["kind"] for s in store.sources(scope=Scope.everything())}
    sources = CityLayout(city_dir).sources
    changed = False
    if "dem" not in kinds:
        dem = import_dem_with_terrain(store, write_dem(sources / "dem.tif", DEMO_CRS))
        result.imported.append(dem.report.source)
        changed = True
        log(f"imported {dem.report.source}: {dem.terrain.tiles} terrain tiles,"
            f" {dem.report.buildings_rebased} buildings set on the ground")  # fmt: skip
    if "ortho" not in kinds:
        ortho_path = write_ortho(sources / "ortho.tif", sources / "district.gpkg", DEMO_CRS)
        ortho = import_ortho_with_imagery(store, ortho_path)
        result.imported.append(ortho.report.source)
        log(f"imported {ortho.report.source}: {ortho.imagery.tiles} imagery tiles")
    return changed


def _jurisdictions(store: CityStore, log: Callable[[str], None], result: DemoResult) -> None:
    """Load the demo's jurisdiction tree (again when the data file changed): every object
    gets the code of its smallest jurisdiction."""
    path = data_file(JURISDICTIONS_FILE)
    if (store.jurisdiction_origin() or {}).get("sha256") == file_sha256(path):
        return
    done = import_jurisdictions(store, path, "code", "name")
    result.imported.append(done.source)
    log(f"imported {done.source}: {len(done.nodes)} jurisdictions,"
        f" {done.assignment.assigned} objects assigned,"
        f" {done.assignment.unassigned} outside them")  # fmt: skip


def _slug(name: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in name).strip("-")
