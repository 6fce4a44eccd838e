"""The ``cimtwin`` command line: each command parses its arguments and calls one use case.

The commands of the ``import`` group for rasters live in :mod:`api.cli_raster`; what both
modules share (console, error line, progress bar, ``--city``) in :mod:`api.cli_common`.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_common import CityOption, clear_errors, console, print_json, progress_bar, say
from api.cli_jurisdictions import register as register_jurisdiction_commands
from api.cli_raster import register as register_raster_commands
from api.cli_sensors import register as register_sensor_commands
from api.cli_serve import register as register_serve_commands
from api.cli_simulate import register as register_simulate_commands
from api.cli_users import register as register_user_commands
from api.cli_zones import register as register_zone_commands
from cim.layout import CityLayout
from cim.scope import Scope

app = typer.Typer(
    help="CIMTwin: import IFC into a city model, tile it as 3D Tiles, serve it to a browser.\n\n"
    "A city is a folder. A first session:\n\n"
    "    cimtwin init --city guangzhou --crs EPSG:4547\n"
    "    cimtwin import ifc tower.ifc --city guangzhou --tile\n"
    "    cimtwin serve --city guangzhou   (then open http://127.0.0.1:8000/)\n\n"
    "`cimtwin demo` does all of it for a generated district. `cimtwin COMMAND --help`"
    " explains each command, with examples.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
import_app = typer.Typer(
    help="Import data into a city: IFC models, GIS layers, CityJSON, a DEM, an orthophoto,"
    " jurisdictions.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
register_raster_commands(import_app)
register_jurisdiction_commands(import_app)
register_zone_commands(import_app)
export_app = typer.Typer(help="Export the city model.", no_args_is_help=True)
app.add_typer(export_app, name="export")
register_user_commands(app)
register_serve_commands(app)
register_sensor_commands(app)
register_simulate_commands(app)


@app.command()
def init(
    city: CityOption,
    crs: Annotated[str, typer.Option(help="The city's projected CRS, e.g. EPSG:4547.")],
    name: Annotated[str | None, typer.Option(help="A display name (default: folder name).")] = None,
) -> None:
    """Create an empty city in a folder, with one projected CRS for everything in it.

    Example (Guangzhou, CGCS2000 / 3-degree Gauss-Kruger CM 114E):

        cimtwin init --city guangzhou --crs EPSG:4547 --name "Tianhe district"
    """
    from cim.store import CityStore

    with clear_errors(), CityStore.create(city, crs, name) as store:
        say(f"created city {store.name!r} in {city} ({store.crs})")


@import_app.command("ifc")
def import_ifc_command(
    files: Annotated[list[Path], typer.Argument(help="IFC files (IFC2X3, IFC4, IFC4X3).")],
    city: CityOption,
    origin: Annotated[
        str | None,
        typer.Option(
            help="E,N[,H]: place the model origin here (overrides the file's georeference)."
        ),
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS of --origin (default: the city's CRS).")
    ] = None,
    kernel: Annotated[
        str,
        typer.Option(
            help="IfcOpenShell geometry library tried first: hybrid-cgal-simple-opencascade,"
            " opencascade or cgal-simple; opencascade meshes what it fails on."
        ),
    ] = "hybrid-cgal-simple-opencascade",
    replaces: Annotated[
        str | None,
        typer.Option(
            help="The source this file is a new version of (default: found by the"
            " IfcBuilding GlobalIds it shares with the city, or the same file name)."
        ),
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Check and report only; store nothing.")
    ] = False,
    validate: Annotated[
        bool, typer.Option(help="Run IfcOpenShell's schema validation for the report.")
    ] = True,
    tile: Annotated[
        bool, typer.Option("--tile", help="Rewrite the 3D Tiles after the import.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Also write the import reports to this JSON file.")
    ] = None,
    proposed: Annotated[
        bool,
        typer.Option(
            "--proposed",
            help="Mark the model as a proposed building (what-if models, e.g. sunlight).",
        ),
    ] = False,
) -> None:
    """Import IFC files: geometry, spatial tree, property sets, placed on the map, checked.

    The model is placed by --origin when given, else by its IfcMapConversion, else by its
    IfcSite RefLatitude/RefLongitude; the report says which. All files import or none.
    A file holding a building the city already has becomes that source's next version,
    with a diff; the previous version stays in the history. --check-only prints the
    model check (schema validation, units, georeference, storeys, geometry) and stores
    nothing.

    Examples:

        cimtwin import ifc tower.ifc podium.ifc --city guangzhou --tile
        cimtwin import ifc house.ifc --city guangzhou --origin 430700,2557800,10
        cimtwin import ifc house.ifc --city guangzhou --origin 113.32,23.12 --crs EPSG:4326
        cimtwin import ifc tower.ifc --city guangzhou --check-only
    """
    from api.usecases.ifc import ImportOutcome, import_and_retile
    from bim.importer import ImportOptions
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        user = _user_origin(origin, crs or store.crs) if origin else None
        options = ImportOptions(
            user_origin=user, kernel=kernel, replaces=replaces, check_only=check_only,
            validate=validate, proposed=proposed,
        )  # fmt: skip
        with progress_bar("import") as progress:
            outcome: ImportOutcome = import_and_retile(
                store, files, options, tile=tile and not check_only, progress=progress
            )
    for item in outcome.reports:
        _print_import(item)
    if outcome.tiling is not None:  # its "tileset" is the URL; say where the file is
        _print_tiling({**outcome.tiling, "tileset": CityLayout(city).tileset})
    if report is not None:
        report.write_text(json.dumps(outcome.reports, indent=2, default=str))


def _print_import(item: dict[str, Any]) -> None:
    if item["check_only"]:
        from bim.check import to_text

        typer.echo(to_text(item))
        say(f"{item['source']}: checked, nothing stored")
        return
    geo = item["georeference"]
    say(
        f"{item['source']}: {sum(item['objects_by_class'].values())} objects,"
        f" {item['elements_with_mesh']} meshes, {item['triangles']} triangles,"
        f" {len(item['without_mesh'])} without mesh; placed by {geo['method']}"
        f" ({geo['crs']}, origin {', '.join(f'{v:.3f}' for v in geo['origin'])})"
        f" in {item['seconds']:.1f} s"
    )
    if item["diff"] is not None:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in item["diff"]["counts"].items())
        say(f"  version {item['version']}, replacing {item['replaces']}: {counts}")
    for finding in item["findings"]:
        if finding["level"] != "info":
            console.print(f"  [yellow]{finding['level']}:[/yellow] {finding['message']}")
    for warning in item["warnings"]:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)


def _print_tiling(tiling: dict[str, Any]) -> None:
    say(
        f"wrote {tiling['tileset']}: {tiling['tiles']} tiles ({tiling['written']} drawn,"
        f" {tiling['reused']} unchanged, {tiling['removed']} removed), {tiling['features']}"
        f" features, {tiling['triangles']} triangles, {tiling['bytes_written'] / 1e6:.1f} MB"
        f" in {tiling['seconds']:.1f} s"
    )


@import_app.command("gis")
def import_gis_command(
    file: Annotated[
        Path,
        typer.Argument(help="GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet or OSM PBF."),
    ],
    city: CityOption,
    layer: Annotated[
        str | None, typer.Option(help="The layer to read (needed when there are several).")
    ] = None,
    cls: Annotated[
        str,
        typer.Option(
            "--class",
            help="What the features are: building, road, landuse, water, parcel, district, green,"
            " zone.",
        ),
    ] = "building",
    where: Annotated[
        str | None, typer.Option(help='An OGR SQL filter, e.g. "building IS NOT NULL".')
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option(
            help="Column of stable source ids (default: OSM ids, else the feature id); an"
            " empty value falls back to the default."
        ),
    ] = None,
    height_field: Annotated[
        str | None,
        typer.Option(
            help="Column of building heights in metres (default: height); empty values fall"
            " through to levels."
        ),
    ] = None,
    levels_field: Annotated[
        str | None,
        typer.Option(
            help="Column of storey counts (default: building_levels, building:levels); empty"
            " values fall through to --default-height."
        ),
    ] = None,
    storey_height: Annotated[
        float, typer.Option(help="Metres per storey when only levels are known.")
    ] = 3.0,
    default_height: Annotated[
        float,
        typer.Option(
            help="Height when neither height nor levels is known (counted in the report)."
        ),
    ] = 10.0,
    crs: Annotated[
        str | None, typer.Option(help="The file's CRS, when the file does not say.")
    ] = None,
) -> None:
    """Import one GIS layer: reprojected to the city CRS, invalid geometries repaired.

    Ids are `<layer>:<source id>` and stay the same when the same data comes again, so a
    re-import replaces the layer. Buildings get an LOD1 block from their height, else
    levels x --storey-height, else --default-height; the report counts each. A chosen
    column must exist; a value that is empty, unreadable or out of bounds (height over
    1000 m, levels over 300, not positive) falls through to the next rule and is counted.

    Examples:

        cimtwin import gis buildings.gpkg --city guangzhou --layer buildings --height-field h
        cimtwin import gis osm.pbf --city guangzhou --layer multipolygons --where "building<>''"
        cimtwin import gis roads.shp --city guangzhou --class road
    """
    from cim.gis import VectorOptions, import_vector
    from cim.store import CityStore

    options = VectorOptions(
        layer=layer, cls=cls, where=where, id_field=id_field, height_field=height_field,
        levels_field=levels_field, storey_height=storey_height, default_height=default_height,
        crs=crs,
    )  # fmt: skip
    with clear_errors(), CityStore.open(city) as store:
        result = import_vector(store, file, options)
    heights = ", ".join(f"{k} {v}" for k, v in result.heights.items())
    console.print(
        f"{result.source}: {result.imported} of {result.features_read} features as {result.cls},"
        f" {result.repaired} repaired, {len(result.skipped)} skipped"
        + (f"; heights from {heights}" if heights else "")
    )
    for item in result.skipped[:10]:
        console.print(f"  skipped {item['id']}: {item['reason']}", highlight=False)
    if result.fallbacks:
        fell = ", ".join(f"{k} {v}" for k, v in result.fallbacks.items())
        console.print(f"  fell through to the next rule: {fell}", highlight=False)
    for item in result.out_of_bounds[:10]:
        console.print(
            f"  refused {item['field']} {item['value']} of {item['id']}: out of bounds",
            highlight=False,
        )
    for warning in result.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)


@import_app.command("cityjson")
def import_cityjson_command(
    file: Annotated[Path, typer.Argument(help="A CityJSON 1.1 or 2.0 file.")],
    city: CityOption,
    crs: Annotated[
        str | None, typer.Option(help="The file's CRS when its metadata names none.")
    ] = None,
) -> None:
    """Import a CityJSON file: every CityObject with its attributes and highest-LoD surfaces.

    Surfaces are triangulated with their holes, coloured by semantic type (roof, wall,
    ground), and reprojected from the file's CRS (metadata.referenceSystem, or --crs)
    into the city's. A re-import of the same file name replaces it.

    Example:

        cimtwin import cityjson district.city.json --city guangzhou --crs EPSG:4547
    """
    from cim.cityjson import import_cityjson
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        result = import_cityjson(store, file, crs)
    kinds = ", ".join(f"{k} {v}" for k, v in result.objects_by_type.items())
    console.print(
        f"{result.source} (CityJSON {result.version}, {result.crs}): {kinds};"
        f" {result.triangles} triangles, {len(result.without_geometry)} without geometry"
    )
    for warning in result.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)


@export_app.command("cityjson")
def export_cityjson_command(
    out: Annotated[Path, typer.Argument(help="The CityJSON file to write (.city.json).")],
    city: CityOption,
) -> None:
    """Export the city as CityJSON 2.0: objects, attributes, element meshes and LODs.

    Example:

        cimtwin export cityjson tianhe.city.json --city guangzhou
    """
    from cim.export import export_cityjson
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        written = export_cityjson(store, out, scope=Scope.everything())
    console.print(f"wrote {out}: {written['objects']} objects, {written['vertices']} vertices")


@export_app.command("gpkg")
def export_gpkg_command(
    out: Annotated[Path, typer.Argument(help="The GeoPackage to write.")],
    city: CityOption,
) -> None:
    """Export the city as a GeoPackage with one layer per class (footprints, heights, ids).

    Example (then open it in QGIS):

        cimtwin export gpkg tianhe.gpkg --city guangzhou
    """
    from cim.export import export_geopackage
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        written = export_geopackage(store, out, scope=Scope.everything())
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in written.items()))


def _user_origin(text: str, crs: str) -> Any:
    from bim.georef import UserOrigin
    from cim.crs import parse_origin

    return UserOrigin(crs, parse_origin(text, crs))


@app.command()
def tile(
    city: CityOption,
    content_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="glb: 3D Tiles 1.1 (default). b3dm: 3D Tiles 1.0 for older"
            " clients (batch table instead of EXT_structural_metadata).",
        ),
    ] = "glb",
    quantize: Annotated[
        bool,
        typer.Option(help="Quantize positions, normals and ids (KHR_mesh_quantization)."),
    ] = True,
    compress: Annotated[
        bool,
        typer.Option(help="Compress vertices and indices (EXT_meshopt_compression) where it pays."),
    ] = True,
    max_features: Annotated[
        int, typer.Option(help="Most objects a leaf tile holds.", min=1, max=65_535)
    ] = 500,
    workers: Annotated[
        int, typer.Option(help="Processes drawing tiles (0: one per CPU).", min=0)
    ] = 0,
) -> None:
    """Write the city as 3D Tiles into DIR/tiles: tileset.json, content/ and manifest.json.

    Coarse tiles show LOD1 blocks and LOD2 shells and are replaced by their children down
    to leaves with every element. A second run redraws only the tiles whose objects
    changed; manifest.json lists the files it wrote and removed ("purge": the URLs a
    cache in front of the tiles must drop).

    Examples:

        cimtwin tile --city guangzhou
        cimtwin tile --city guangzhou --format b3dm --no-compress   (for 3D Tiles 1.0 clients)
    """
    from api.usecases.ifc import retile, tiling_dict
    from cim.store import CityStore
    from tiles.tileset import TilingOptions

    with clear_errors(), CityStore.open(city) as store, progress_bar("tile") as progress:
        options = TilingOptions(max_features=max_features, content_format=content_format,
                                quantize=quantize, compress=compress, workers=workers)  # fmt: skip
        summary = retile(store, options, progress)
    _print_tiling({**tiling_dict(summary), "tileset": summary.tileset})


@app.command()
def info(city: CityOption) -> None:
    """Print the city as JSON: CRS, counts by class, extent and sources.

    Example:

        cimtwin info --city guangzhou
    """
    from api.usecases.summary import city_summary
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        print_json(city_summary(store))


#: New objects between two runs of the garbage collector (Python's default: 700). A command
#: loads hundreds of modules, tens of thousands of objects that last and hold no garbage;
#: collecting every 700 of them walks them over and over (a tenth of a small import's time).
GC_THRESHOLD = 50_000


def main() -> None:
    """Entry point of the ``cimtwin`` console script."""
    gc.set_threshold(GC_THRESHOLD)
    try:
        app()
    finally:
        # The process ends here: the interpreter's exit then skips collecting every object
        # of every module loaded (a tenth of a second or more after an import).
        gc.freeze()


if __name__ == "__main__":
    main()
