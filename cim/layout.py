"""The files of a city folder, named in one place.

::

    <city>/city.gpkg            the store (GeoPackage)
    <city>/sources/             input files the demo authors or generates
    <city>/terrain/dem.tif      the DEM (float32, EPSG:4326)
    <city>/terrain/tiles/       heightmap-1.0 terrain tiles (layer.json)
    <city>/imagery/ortho.tif    the orthophoto (RGBA, EPSG:3857)
    <city>/imagery/tiles/       XYZ PNG imagery tiles (imagery.json)
    <city>/tiles/               the 3D Tiles tileset (tileset.json, manifest.json)
    <city>/.tiles.partial/      the tileset being written, swapped in when complete
    <city>/.tiles-index-*/      a tiling run's temporary index
    <city>/.uploads/<job>/      files uploaded over HTTP, until their import job ends
    <city>/jobs.sqlite          the job queue and the jobs table (SQLite, WAL)
    <city>/ops.sqlite           the operational database: users, keys, sessions, audit (WAL)
    <city>/demo-secret.key      the token-signing secret `cimtwin demo` generated (mode 600)
    <city>/.worker.lock         held by the city's job worker while it runs
    <city>/.tiling.lock         held by a tiling run (records the holder's pid)
    <city>/simulations/<run>/   one simulation run: run.json, values.json, rasters, vectors
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class CityLayout:
    """Where each file of the city in folder ``root`` lives."""

    root: Path

    #: Paths relative to the city folder.
    STORE: ClassVar[str] = "city.gpkg"
    SOURCES: ClassVar[str] = "sources"
    DEM: ClassVar[Path] = Path("terrain", "dem.tif")
    TERRAIN: ClassVar[Path] = Path("terrain", "tiles")
    TERRAIN_LAYER: ClassVar[str] = "layer.json"
    ORTHO: ClassVar[Path] = Path("imagery", "ortho.tif")
    IMAGERY: ClassVar[Path] = Path("imagery", "tiles")
    IMAGERY_META: ClassVar[str] = "imagery.json"
    TILES: ClassVar[str] = "tiles"
    TILESET: ClassVar[str] = "tileset.json"
    TILES_INDEX_PREFIX: ClassVar[str] = ".tiles-index-"
    UPLOADS: ClassVar[str] = ".uploads"
    JOBS: ClassVar[str] = "jobs.sqlite"
    OPS: ClassVar[str] = "ops.sqlite"
    DEMO_SECRET: ClassVar[str] = "demo-secret.key"
    WORKER_LOCK: ClassVar[str] = ".worker.lock"
    TILING_LOCK: ClassVar[str] = ".tiling.lock"
    SIMULATIONS: ClassVar[str] = "simulations"

    @property
    def store(self) -> Path:
        """The GeoPackage holding the city model."""
        return self.root / self.STORE

    @property
    def sources(self) -> Path:
        """Input files kept with the city (the demo's authored IFC and generated layers)."""
        return self.root / self.SOURCES

    @property
    def dem(self) -> Path:
        """The stored DEM."""
        return self.root / self.DEM

    @property
    def terrain(self) -> Path:
        """The terrain tiles folder."""
        return self.root / self.TERRAIN

    @property
    def terrain_layer(self) -> Path:
        """The terrain tiles' ``layer.json`` (present once terrain is written)."""
        return self.terrain / self.TERRAIN_LAYER

    @property
    def ortho(self) -> Path:
        """The stored orthophoto."""
        return self.root / self.ORTHO

    @property
    def imagery(self) -> Path:
        """The imagery tiles folder."""
        return self.root / self.IMAGERY

    @property
    def imagery_meta(self) -> Path:
        """The imagery tiles' ``imagery.json`` (zoom range and bounds)."""
        return self.imagery / self.IMAGERY_META

    @property
    def tiles(self) -> Path:
        """The 3D Tiles folder."""
        return self.root / self.TILES

    @property
    def tileset(self) -> Path:
        """The root tileset JSON."""
        return self.tiles / self.TILESET

    @property
    def tiles_staging(self) -> Path:
        """The tileset being written, swapped in for :attr:`tiles` when complete."""
        return self.root / f".{self.TILES}.partial"

    def stale_tile_indexes(self) -> list[Path]:
        """Temporary index folders a killed tiling run left behind."""
        return sorted(self.root.glob(f"{self.TILES_INDEX_PREFIX}*"))

    @property
    def uploads(self) -> Path:
        """Files uploaded over HTTP, one folder per import job."""
        return self.root / self.UPLOADS

    def upload(self, job_id: str) -> Path:
        """The folder of one import job's uploaded files."""
        return self.uploads / job_id

    @property
    def jobs(self) -> Path:
        """The job queue and jobs table."""
        return self.root / self.JOBS

    @property
    def ops(self) -> Path:
        """The operational database's SQLite file (unless a server database is configured)."""
        return self.root / self.OPS

    @property
    def demo_secret(self) -> Path:
        """The secret the demo server signs its tokens with."""
        return self.root / self.DEMO_SECRET

    @property
    def worker_lock(self) -> Path:
        """The lock the city's job worker holds."""
        return self.root / self.WORKER_LOCK

    @property
    def tiling_lock(self) -> Path:
        """The lock a tiling run holds."""
        return self.root / self.TILING_LOCK

    @property
    def simulations(self) -> Path:
        """The simulation runs, one folder each (:mod:`cim.result_store`)."""
        return self.root / self.SIMULATIONS
