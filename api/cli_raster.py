"""``cimtwin import dem`` and ``cimtwin import ortho``: rasters into a city, then tiled.

Added to the ``import`` group of :mod:`api.cli` by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import CityOption, clear_errors, progress_bar, say


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
    """Import a DEM: terrain tiles for the viewer, buildings set on the ground (re-tiled).

    Example:

        cimtwin import dem tianhe-dem.tif --city guangzhou --max-level 14
    """
    from api.usecases.rasters import import_dem_with_terrain
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store, progress_bar("dem") as progress:
        done = import_dem_with_terrain(store, file, max_level, progress)
    report, terrain = done.report, done.terrain
    w, s, e, n = report.bounds
    say(
        f"{report.source}: lon {w:.5f}..{e:.5f}, lat {s:.5f}..{n:.5f},"
        f" heights {report.min_height:.1f}..{report.max_height:.1f} m;"
        f" {terrain.tiles} terrain tiles (levels 0..{terrain.max_level});"
        f" {report.buildings_rebased} buildings re-based"
        + (", 3D tiles rewritten" if done.retiled else "")
    )


def import_ortho_command(
    file: Annotated[Path, typer.Argument(help="An RGB(A) GeoTIFF orthophoto (any CRS).")],
    city: CityOption,
    max_zoom: Annotated[
        int | None, typer.Option(help="Deepest XYZ zoom (default: native, at most 18).")
    ] = None,
) -> None:
    """Import an orthophoto: web-mercator XYZ imagery tiles for the viewer.

    Example:

        cimtwin import ortho tianhe-ortho.tif --city guangzhou --max-zoom 17
    """
    from api.usecases.rasters import import_ortho_with_imagery
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store, progress_bar("ortho") as progress:
        done = import_ortho_with_imagery(store, file, max_zoom, progress)
    w, s, e, n = done.imagery.rectangle
    say(
        f"{done.report.source}: lon {w:.5f}..{e:.5f}, lat {s:.5f}..{n:.5f},"
        f" {done.report.resolution_m:.2f} m pixels; {done.imagery.tiles} imagery tiles"
        f" (zoom {done.imagery.min_zoom}..{done.imagery.max_zoom})"
    )
