"""Rasters into the city: a DEM (terrain) and an orthophoto (imagery), any CRS.

The DEM is stored as ``<city>/terrain/dem.tif`` (float32, EPSG:4326, NaN for no data) and
the orthophoto as ``<city>/imagery/ortho.tif`` (uint8 RGBA, EPSG:3857, alpha 0 outside).
After a DEM import, buildings stand on the ground: their base is the lowest DEM height
under their footprint and their mesh is shifted up by as much.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioIOError
from rasterio.warp import calculate_default_transform, reproject

from cim.crs import transform_arrays
from cim.errors import CimError
from cim.layout import CityLayout
from cim.model import file_sha256
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import GIS_BUILDING_CLASSES

DEM_PATH = CityLayout.DEM
ORTHO_PATH = CityLayout.ORTHO
FloatArray = npt.NDArray[np.float64]


class RasterError(CimError):
    """A raster file cannot be imported as asked."""


@dataclass
class DemReport:
    """What a DEM import did."""

    source: str
    bounds: tuple[float, float, float, float]
    min_height: float
    max_height: float
    resolution_deg: float
    buildings_rebased: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


@dataclass
class OrthoReport:
    """What an orthophoto import did."""

    source: str
    bounds: tuple[float, float, float, float]
    resolution_m: float
    size: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _open(path: Path) -> rasterio.DatasetReader:
    if not path.is_file():
        raise RasterError(f"{path}: no such file")
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterError(f"{path}: GDAL cannot read it as a raster ({exc})") from exc
    if dataset.crs is None:
        dataset.close()
        raise RasterError(f"{path}: the raster has no CRS (georeference it, e.g. gdal_edit -a_srs)")
    return dataset


def _write_atomic(target: Path, profile: dict[str, Any], bands: np.ndarray, rgba: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with rasterio.open(partial, "w", driver="GTiff", **profile) as out:
        out.write(bands)
        if rgba:
            out.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue,
                               ColorInterp.alpha)  # fmt: skip
    os.replace(partial, target)


def _record(store: CityStore, kind: str, path: Path, report: dict[str, Any]) -> None:
    with store.transaction():
        writer = store.writer()
        for old in store.sources(scope=Scope.everything()):
            if old["kind"] == kind:
                writer.remove_source(old["source"])
        writer.record_source(f"{kind}:{path.name}", str(path), file_sha256(path), kind, report)


def import_dem(store: CityStore, path: Path) -> DemReport:
    """Store a single-band DEM as ``terrain/dem.tif`` (EPSG:4326) and re-base buildings."""
    with _open(path) as src:
        if src.count != 1:
            raise RasterError(f"{path}: a DEM has one band, this raster has {src.count}")
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        grid = np.full((1, height, width), np.nan, dtype=np.float32)
        reproject(
            rasterio.band(src, 1), grid, src_nodata=src.nodata, dst_transform=transform,
            dst_crs="EPSG:4326", dst_nodata=np.nan, resampling=Resampling.bilinear,
        )  # fmt: skip
    if not np.isfinite(grid).any():
        raise RasterError(f"{path}: the DEM holds no valid height")
    profile = {"width": width, "height": height, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": transform, "nodata": np.nan}  # fmt: skip
    _write_atomic(CityLayout(store.city_dir).dem, profile, grid, rgba=False)
    west, north = transform.c, transform.f
    bounds = (west, north + transform.e * height, west + transform.a * width, north)
    report = DemReport(
        f"dem:{path.name}", bounds, float(np.nanmin(grid)), float(np.nanmax(grid)),
        float(transform.a),
    )  # fmt: skip
    report.buildings_rebased = rebase_buildings(store)
    _record(store, "dem", path, report.to_dict())
    return report


def import_ortho(store: CityStore, path: Path) -> OrthoReport:
    """Store an RGB(A) image as ``imagery/ortho.tif`` (uint8 RGBA, EPSG:3857)."""
    with _open(path) as src:
        if src.count < 3:
            raise RasterError(f"{path}: an orthophoto has 3 or more bands, this has {src.count}")
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds
        )
        bands = np.zeros((4, height, width), dtype=np.uint8)
        common = {"dst_transform": transform, "dst_crs": "EPSG:3857"}
        for index in range(3):
            data = src.read(index + 1)
            if data.dtype != np.uint8:
                data = _stretch(data, src.nodata)
            reproject(data, bands[index], src_transform=src.transform, src_crs=src.crs,
                      src_nodata=src.nodata, resampling=Resampling.bilinear, **common)  # fmt: skip
        mask = src.dataset_mask()
        reproject(mask, bands[3], src_transform=src.transform, src_crs=src.crs,
                  resampling=Resampling.nearest, **common)  # fmt: skip
    profile = {"width": width, "height": height, "count": 4, "dtype": "uint8",
               "crs": "EPSG:3857", "transform": transform, "photometric": "RGB"}  # fmt: skip
    _write_atomic(CityLayout(store.city_dir).ortho, profile, bands, rgba=True)
    west, north = transform.c, transform.f
    bounds = (west, north + transform.e * height, west + transform.a * width, north)
    report = OrthoReport(f"ortho:{path.name}", bounds, float(transform.a), (width, height))
    _record(store, "ortho", path, report.to_dict())
    return report


def _stretch(data: np.ndarray, nodata: float | None) -> np.ndarray:
    """Scale a non-byte band to 1..255 between its 2nd and 98th percentiles (0 stays no data)."""
    values = data.astype(np.float64)
    valid = values != nodata if nodata is not None else np.isfinite(values)
    low, high = np.percentile(values[valid], (2, 98)) if valid.any() else (0.0, 1.0)
    scaled = np.clip((values - low) / max(high - low, 1e-9) * 254 + 1, 1, 255)
    return np.where(valid, scaled, 0).astype(np.uint8)


def read_dem(city_dir: Path) -> tuple[FloatArray, tuple[float, float, float, float]] | None:
    """The stored DEM as float64 (NaN for no data) and ``(west, north, dx, dy)``, or None."""
    path = CityLayout(city_dir).dem
    if not path.is_file():
        return None
    with rasterio.open(path) as dem:
        grid = dem.read(1).astype(np.float64)
        t = dem.transform
    return grid, (t.c, t.f, t.a, t.e)


def bilinear(
    grid: FloatArray, geo: tuple[float, float, float, float], lon: FloatArray, lat: FloatArray
) -> FloatArray:
    """Bilinear heights of ``grid`` at lon/lat; nearest valid cell next to no data; NaN outside."""
    west, north, dx, dy = geo
    col = (np.asarray(lon, dtype=np.float64) - west) / dx - 0.5
    row = (np.asarray(lat, dtype=np.float64) - north) / dy - 0.5
    rows, cols = grid.shape
    inside = (col >= -0.5) & (col <= cols - 0.5) & (row >= -0.5) & (row <= rows - 0.5)
    c = np.clip(col, 0, cols - 1)
    r = np.clip(row, 0, rows - 1)
    c0 = np.minimum(np.floor(c).astype(np.int64), max(cols - 2, 0))
    r0 = np.minimum(np.floor(r).astype(np.int64), max(rows - 2, 0))
    c1, r1 = np.minimum(c0 + 1, cols - 1), np.minimum(r0 + 1, rows - 1)
    fc, fr = c - c0, r - r0
    top = grid[r0, c0] * (1 - fc) + grid[r0, c1] * fc
    bottom = grid[r1, c0] * (1 - fc) + grid[r1, c1] * fc
    value = top * (1 - fr) + bottom * fr
    nearest = grid[np.rint(r).astype(np.int64), np.rint(c).astype(np.int64)]
    value = np.where(np.isnan(value), nearest, value)
    return np.where(inside, value, np.nan)


def sample_heights(city_dir: Path, crs: str, xy: np.ndarray) -> FloatArray:
    """DEM heights at ``(n, 2)`` points of the city CRS; NaN outside the DEM, or no DEM."""
    points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    dem = read_dem(city_dir)
    if dem is None or len(points) == 0:
        return np.full(len(points), np.nan)
    lon, lat = transform_arrays(crs, "EPSG:4326", points[:, 0], points[:, 1])
    return bilinear(dem[0], dem[1], lon, lat)


def base_height_at(city_dir: Path, crs: str, footprint: shapely.Geometry | None) -> float | None:
    """The lowest DEM height at the footprint's vertices, or None (no DEM, outside it)."""
    if footprint is None or footprint.is_empty:
        return None
    heights = sample_heights(city_dir, crs, shapely.get_coordinates(footprint))
    finite = heights[np.isfinite(heights)]
    return float(finite.min()) if finite.size else None


def rebase_buildings(store: CityStore) -> int:
    """Put every building on the DEM in one transaction; return how many moved."""
    with store.transaction():
        return ground_buildings(store)


def footprint_bases(
    city_dir: Path, crs: str, footprints: Sequence[Any] | npt.NDArray[np.object_]
) -> FloatArray:
    """The lowest DEM height under each footprint's vertices, NaN where none (no DEM, outside).

    One pass: the DEM is read once and every vertex of every footprint sampled together.
    """
    geometries = np.empty(len(footprints), dtype=object)
    geometries[:] = list(footprints)
    bases = np.full(len(geometries), np.nan)
    dem = read_dem(city_dir) if len(geometries) else None
    if dem is None:
        return bases
    coordinates, owner = shapely.get_coordinates(geometries, return_index=True)
    if len(coordinates) == 0:
        return bases
    lon, lat = transform_arrays(crs, "EPSG:4326", coordinates[:, 0], coordinates[:, 1])
    np.fmin.at(bases, owner, bilinear(dem[0], dem[1], lon, lat))
    return bases


def ground_buildings(store: CityStore) -> int:
    """Inside an open transaction: set buildings' bases on the DEM, shift their meshes as much.

    Buildings already on the ground (or outside the DEM) are left as they are. The DEM is
    read once for all of them.
    """
    writer = store.writer()
    buildings = [
        obj
        for cls in GIS_BUILDING_CLASSES
        for obj in store.objects(cls=cls, scope=Scope.everything())
    ]
    bases = footprint_bases(store.city_dir, store.crs, [obj.footprint for obj in buildings])
    old = np.array([obj.base_height or 0.0 for obj in buildings], dtype=np.float64)
    moved = np.flatnonzero(np.isfinite(bases) & (np.abs(bases - old) >= 1e-6))
    shifts: dict[str, float] = {}
    heights = []
    for index in moved.tolist():
        obj, base = buildings[index], float(bases[index])
        shift = base - float(old[index])
        top = (obj.top_height if obj.top_height is not None else float(old[index])) + shift
        heights.append((obj.id, base, top))
        shifts[obj.id] = shift
    writer.set_heights_many(heights)
    writer.shift_meshes(shifts)
    return len(moved)
