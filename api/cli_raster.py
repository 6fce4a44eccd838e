"""``cimtwin import dem`` and ``cimtwin import ortho``: rasters into a city, then tiled.

Added to the ``import`` group of :mod:`api.cli` by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cim.layout import CityLayout

CityOption = Annotated[
    Path, typer.Option("--city", help="The city folder (holds city.gpkg and tiles/).")
]


def register(import_app: typer.Typer) -> None:
    """Add the ``dem`` and ``ortho`` commands to the ``import`` command group."""
    import_app.command("dem")(import_dem_command)
    import_app.command("ortho")(import_ortho_command)


def import_dem_command(
    file: Annotated[Path, typer.Argument(help="A single-band GeoTIFF DEM (any CRS).")],
    city: CityOption,
    max_level: Annotated[
        int | None, typer.Option(help="Deepest terrain tile level (default: DEM resolution).")
    ] = None,
) -> None:
    """Import a DEM: terrain tiles for the viewer, buildings set on the ground (re-tiled)."""
    from api.cli import _clear_errors, console
    from cim.raster import import_dem
    from cim.store import CityStore
    from tiles.terrain import write_terrain
    from tiles.tileset import write_tileset

    with _clear_errors(), CityStore.open(city) as store:
        report = import_dem(store, file)
        summary = write_terrain(store.city_dir, max_level)
        retile = report.buildings_rebased > 0 and CityLayout(store.city_dir).tiles.is_dir()
        if retile:
            write_tileset(store)
    w, s, e, n = report.bounds
    console.print(
        f"{report.source}: lon {w:.5f}..{e:.5f}, lat {s:.5f}..{n:.5f},"
        f" heights {report.min_height:.1f}..{report.max_height:.1f} m;"
        f" {summary.tiles} terrain tiles (levels 0..{summary.max_level});"
        f" {report.buildings_rebased} buildings re-based"
        + (", 3D tiles rewritten" if retile else ""),
        highlight=False,
    )


def import_ortho_command(
    file: Annotated[Path, typer.Argument(help="An RGB(A) GeoTIFF orthophoto (any CRS).")],
    city: CityOption,
    max_zoom: Annotated[
        int | None, typer.Option(help="Deepest XYZ zoom (default: native, at most 18).")
    ] = None,
) -> None:
    """Import an orthophoto: web-mercator XYZ imagery tiles for the viewer."""
    from api.cli import _clear_errors, console
    from cim.raster import import_ortho
    from cim.store import CityStore
    from tiles.imagery import write_imagery

    with _clear_errors(), CityStore.open(city) as store:
        report = import_ortho(store, file)
        summary = write_imagery(store.city_dir, max_zoom)
    w, s, e, n = summary.rectangle
    console.print(
        f"{report.source}: lon {w:.5f}..{e:.5f}, lat {s:.5f}..{n:.5f},"
        f" {report.resolution_m:.2f} m pixels; {summary.tiles} imagery tiles"
        f" (zoom {summary.min_zoom}..{summary.max_zoom})",
        highlight=False,
    )
