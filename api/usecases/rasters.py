"""Rasters into the city: a DEM with its terrain tiles, an orthophoto with its imagery tiles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.usecases import Progress, no_progress
from cim.raster import DemReport, OrthoReport, import_dem, import_ortho
from cim.store import CityStore
from tiles.imagery import ImagerySummary, write_imagery
from tiles.terrain import TerrainSummary, write_terrain
from tiles.tileset import TILES_DIR, write_tileset


@dataclass
class DemOutcome:
    """What a DEM import did: the raster, its terrain tiles, and whether 3D tiles moved."""

    report: DemReport
    terrain: TerrainSummary
    retiled: bool


@dataclass
class OrthoOutcome:
    """What an orthophoto import did: the raster and its imagery tiles."""

    report: OrthoReport
    imagery: ImagerySummary


def import_dem_with_terrain(
    store: CityStore, path: Path, max_level: int | None = None, progress: Progress = no_progress
) -> DemOutcome:
    """Store a DEM, write its terrain tiles, set buildings on the ground and, when some
    moved and the city is tiled, rewrite the 3D tiles."""
    progress(0, path.name, f"importing the DEM {path.name}")
    report = import_dem(store, path)
    progress(40, path.name, "writing terrain tiles")
    terrain = write_terrain(store.city_dir, max_level)
    retiled = report.buildings_rebased > 0 and (store.city_dir / TILES_DIR).is_dir()
    if retiled:
        progress(70, None, "rewriting 3D tiles: buildings moved onto the ground")
        write_tileset(store)
    progress(100, None, f"{terrain.tiles} terrain tiles")
    return DemOutcome(report, terrain, retiled)


def import_ortho_with_imagery(
    store: CityStore, path: Path, max_zoom: int | None = None, progress: Progress = no_progress
) -> OrthoOutcome:
    """Store an orthophoto in web mercator and write its XYZ imagery tiles."""
    progress(0, path.name, f"importing the orthophoto {path.name}")
    report = import_ortho(store, path)
    progress(50, path.name, "writing imagery tiles")
    imagery = write_imagery(store.city_dir, max_zoom)
    progress(100, None, f"{imagery.tiles} imagery tiles")
    return OrthoOutcome(report, imagery)
