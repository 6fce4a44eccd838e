"""``cimtwin import zones``: a zoning layer (控规) as ``zone`` objects with standard indicators.

Added to the ``import`` group of :mod:`api.cli` by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import CityOption, clear_errors, console, print_json


def register(import_app: typer.Typer) -> None:
    """Add the ``zones`` command to the ``import`` command group."""
    import_app.command("zones")(import_zones_command)


def _field(indicator: str, names: str) -> object:
    return typer.Option(help=f"Column of {indicator} (default: recognised among {names}).")


def import_zones_command(
    file: Annotated[
        Path, typer.Argument(help="A polygon layer: GeoPackage, GeoJSON, Shapefile, FlatGeobuf...")
    ],
    city: CityOption,
    layer: Annotated[
        str | None, typer.Option(help="The layer to read (needed when there are several).")
    ] = None,
    code_field: Annotated[
        str | None, _field("the zone codes", "zone_code, code, 单元编号, 地块编码")
    ] = None,
    max_height_field: Annotated[
        str | None, _field("height limits in metres", "max_height_m, max_height, 控高, 限高")
    ] = None,
    far_field: Annotated[
        str | None, _field("maximum floor area ratios", "max_far, far, 容积率")
    ] = None,
    coverage_field: Annotated[
        str | None, _field("maximum site coverage (0..1 or %)", "max_coverage, 建筑密度")
    ] = None,
    green_field: Annotated[
        str | None, _field("minimum green ratios (0..1 or %)", "min_green_ratio, 绿地率")
    ] = None,
    setback_field: Annotated[
        str | None, _field("setbacks in metres", "setback_m, setback, 退线")
    ] = None,
    land_use_field: Annotated[
        str | None, _field("land-use codes", "land_use, landuse, 用地性质")
    ] = None,
    id_field: Annotated[
        str | None, typer.Option(help="Column of stable source ids (default: the feature id).")
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="The file's CRS, when the file does not say.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout.")
    ] = False,
) -> None:
    """Import planning zones with their limits: height, FAR, coverage, green ratio, setback.

    Each column is mapped to a standard indicator (zone_code, max_height_m, max_far,
    max_coverage, min_green_ratio, setback_m, land_use); the usual English and Chinese
    names (控高, 容积率, 建筑密度, 绿地率, 退线...) are recognised by default. Every value is
    checked first (FAR above 0, coverage and green ratio in 0..1 or 0..100 %, heights and
    setbacks 0..1000 m): a bad value refuses the layer, naming the feature and the field,
    and nothing is stored. Re-importing the same layer replaces it. Then run
    `cimtwin simulate run zoning --city DIR`.

    Example:

        cimtwin import zones kongui.gpkg --city gz --layer zones --max-height-field H_LIMIT
    """
    from cim.store import CityStore
    from cim.zones import import_zones

    fields = {"zone_code": code_field, "max_height_m": max_height_field, "max_far": far_field,
              "max_coverage": coverage_field, "min_green_ratio": green_field,
              "setback_m": setback_field, "land_use": land_use_field}  # fmt: skip
    with clear_errors(), CityStore.open(city) as store:
        done = import_zones(store, file, fields, layer=layer, crs=crs, id_field=id_field)
    if json_output:
        print_json(done.to_dict())
        return
    vector = done.vector
    console.print(f"{vector.source}: {vector.imported} of {vector.features_read} zones imported,"
                  f" {len(vector.skipped)} skipped", highlight=False)  # fmt: skip
    for name, column in done.columns.items():
        if column is not None:
            share = f"{done.set_counts.get(name, 0)} set"
            unit = ", read as percent" if name in done.percent_columns else ""
            console.print(f"  {name} <- {column} ({share}{unit})", highlight=False)
    for warning in vector.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)
