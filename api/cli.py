"""The ``cimtwin`` command line: each command parses its arguments and calls one operation."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.cli_raster import register as register_raster_commands
from api.errors import DOMAIN_ERRORS

app = typer.Typer(
    help="CIMTwin: import IFC into a city model, tile it as 3D Tiles, serve it to a browser.\n\n"
    "A city is a folder. Start with `cimtwin init --city DIR --crs EPSG:4547`, then "
    "`cimtwin import ifc FILE... --city DIR`, `cimtwin tile --city DIR` and "
    "`cimtwin serve --city DIR`. `cimtwin demo` does all of it for a generated district.",
    no_args_is_help=True,
    add_completion=False,
)
import_app = typer.Typer(help="Import data into a city.", no_args_is_help=True)
app.add_typer(import_app, name="import")
register_raster_commands(import_app)
export_app = typer.Typer(help="Export the city model.", no_args_is_help=True)
app.add_typer(export_app, name="export")
console = Console(stderr=True, soft_wrap=True)

CityOption = Annotated[
    Path, typer.Option("--city", help="The city folder (holds city.gpkg and tiles/).")
]


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn domain errors into one line on stderr and exit code 1."""
    try:
        yield
    except DOMAIN_ERRORS as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not sys.stderr.isatty(),
    )


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def init(
    city: CityOption,
    crs: Annotated[str, typer.Option(help="The city's projected CRS, e.g. EPSG:4547.")],
    name: Annotated[str | None, typer.Option(help="A display name (default: folder name).")] = None,
) -> None:
    """Create an empty city in a folder, with one projected CRS for everything in it."""
    from cim.store import CityStore

    with _clear_errors(), CityStore.create(city, crs, name) as store:
        console.print(f"created city {store.name!r} in {city} ({store.crs})")


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
    report: Annotated[
        Path | None, typer.Option(help="Also write the import reports to this JSON file.")
    ] = None,
) -> None:
    """Import IFC files: geometry, spatial tree, property sets, placed on the map, checked.

    The model is placed by --origin when given, else by its IfcMapConversion, else by its
    IfcSite RefLatitude/RefLongitude; the report says which. All files import or none.
    A file holding a building the city already has becomes that source's next version,
    with a diff; the previous version stays in the history. --check-only prints the
    model check (schema validation, units, georeference, storeys, geometry) and stores
    nothing.
    """
    from bim.importer import ImportOptions, import_ifc
    from cim.store import CityStore

    with _clear_errors(), CityStore.open(city) as store:
        user = _user_origin(origin, crs or store.crs) if origin else None
        options = ImportOptions(
            user_origin=user, kernel=kernel, replaces=replaces, check_only=check_only,
            validate=validate,
        )  # fmt: skip
        with _progress() as progress:
            tasks = {path: progress.add_task(f"import {path.name}", total=100) for path in files}
            reports = import_ifc(
                store, files, options, lambda path, pct: progress.update(tasks[path], completed=pct)
            )
        for item in reports:
            _print_import(item)
        if report is not None:
            report.write_text(json.dumps([r.to_dict() for r in reports], indent=2, default=str))


def _print_import(item: Any) -> None:
    if item.check_only:
        typer.echo(item.to_text())
        console.print(f"{item.source}: checked, nothing stored")
        return
    geo = item.georeference
    console.print(
        f"{item.source}: {sum(item.objects_by_class.values())} objects,"
        f" {item.elements_with_mesh} meshes, {item.triangles} triangles,"
        f" {len(item.without_mesh)} without mesh; placed by {geo['method']}"
        f" ({geo['crs']}, origin {', '.join(f'{v:.3f}' for v in geo['origin'])})"
        f" in {item.seconds:.1f} s"
    )
    if item.diff is not None:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in item.diff["counts"].items())
        console.print(f"  version {item.version}, replacing {item.replaces}: {counts}")
    for finding in item.findings:
        if finding["level"] != "info":
            console.print(f"  [yellow]{finding['level']}:[/yellow] {finding['message']}")
    for warning in item.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)


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
            help="What the features are: building, road, landuse, water, parcel, district, green.",
        ),
    ] = "building",
    where: Annotated[
        str | None, typer.Option(help='An OGR SQL filter, e.g. "building IS NOT NULL".')
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option(help="Column of stable source ids (default: OSM ids, else the feature id)."),
    ] = None,
    height_field: Annotated[
        str | None, typer.Option(help="Column of building heights in metres (default: height).")
    ] = None,
    levels_field: Annotated[
        str | None,
        typer.Option(help="Column of storey counts (default: building_levels, building:levels)."),
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
    levels x --storey-height, else --default-height; the report counts each.
    """
    from cim.gis import VectorOptions, import_vector
    from cim.store import CityStore

    options = VectorOptions(
        layer=layer, cls=cls, where=where, id_field=id_field, height_field=height_field,
        levels_field=levels_field, storey_height=storey_height, default_height=default_height,
        crs=crs,
    )  # fmt: skip
    with _clear_errors(), CityStore.open(city) as store:
        result = import_vector(store, file, options)
    heights = ", ".join(f"{k} {v}" for k, v in result.heights.items())
    console.print(
        f"{result.source}: {result.imported} of {result.features_read} features as {result.cls},"
        f" {result.repaired} repaired, {len(result.skipped)} skipped"
        + (f"; heights from {heights}" if heights else "")
    )
    for item in result.skipped[:10]:
        console.print(f"  skipped {item['id']}: {item['reason']}", highlight=False)


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
    """
    from cim.cityjson import import_cityjson
    from cim.store import CityStore

    with _clear_errors(), CityStore.open(city) as store:
        result = import_cityjson(store, file, crs)
    kinds = ", ".join(f"{k} {v}" for k, v in result.objects_by_type.items())
    console.print(
        f"{result.source} (CityJSON {result.version}, {result.crs}): {kinds};"
        f" {result.triangles} triangles, {len(result.without_geometry)} without geometry"
    )


@export_app.command("cityjson")
def export_cityjson_command(
    out: Annotated[Path, typer.Argument(help="The CityJSON file to write (.city.json).")],
    city: CityOption,
) -> None:
    """Export the city as CityJSON 2.0: objects, attributes, element meshes and LODs."""
    from cim.export import export_cityjson
    from cim.store import CityStore

    with _clear_errors(), CityStore.open(city) as store:
        written = export_cityjson(store, out)
    console.print(f"wrote {out}: {written['objects']} objects, {written['vertices']} vertices")


@export_app.command("gpkg")
def export_gpkg_command(
    out: Annotated[Path, typer.Argument(help="The GeoPackage to write.")],
    city: CityOption,
) -> None:
    """Export the city as a GeoPackage with one layer per class (footprints, heights, ids)."""
    from cim.export import export_geopackage
    from cim.store import CityStore

    with _clear_errors(), CityStore.open(city) as store:
        written = export_geopackage(store, out)
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in written.items()))


def _user_origin(text: str, crs: str) -> Any:
    from bim.errors import GeoreferenceError
    from bim.georef import UserOrigin

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (2, 3):
        raise GeoreferenceError(f"--origin {text!r}: expected E,N or E,N,H in metres")
    return UserOrigin(crs, (values[0], values[1], values[2] if len(values) == 3 else 0.0))


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
    """
    from cim.store import CityStore
    from tiles.tileset import TilingOptions, write_tileset

    with _clear_errors(), CityStore.open(city) as store, _progress() as progress:
        options = TilingOptions(max_features=max_features, content_format=content_format,
                                quantize=quantize, compress=compress, workers=workers)  # fmt: skip
        task = progress.add_task("tile", total=None)
        summary = write_tileset(store, options, on_progress=_advance(progress, task))
    console.print(
        f"wrote {summary.tileset}: {summary.tiles} tiles ({summary.written} drawn,"
        f" {summary.reused} unchanged, {summary.removed} removed), {summary.features} features,"
        f" {summary.triangles} triangles, {summary.bytes_written / 1e6:.1f} MB in"
        f" {summary.seconds:.1f} s"
    )


def _advance(progress: Progress, task: Any) -> Callable[[int, int], None]:
    return lambda done, total: progress.update(task, completed=done, total=total)


@app.command()
def info(city: CityOption) -> None:
    """Print the city as JSON: CRS, counts by class, extent and sources."""
    from cim.store import CityStore

    with _clear_errors(), CityStore.open(city) as store:
        _print_json(
            {
                "name": store.name,
                "crs": store.crs,
                "path": str(store.path),
                "objects_by_class": store.counts_by_class(),
                "extent": store.extent(),
                "sources": [
                    {k: s[k] for k in ("source", "kind", "sha256", "imported_at")}
                    | {"georeference": s["report"].get("georeference", {}).get("method")}
                    for s in store.sources()
                ],
                "tiled": (store.city_dir / "tiles" / "tileset.json").is_file(),
            }
        )


@app.command()
def serve(
    city: CityOption,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API, the tiles and the viewer (open http://HOST:PORT/ in a browser)."""
    import uvicorn

    from api.app import create_app
    from cim.store import CityStore

    with _clear_errors():
        CityStore.open(city).close()
        console.print(f"serving {city} on http://{host}:{port}/ (API docs at /docs)")
        uvicorn.run(create_app(city), host=host, port=port, log_level="info")


@app.command()
def demo(
    city: Annotated[Path, typer.Option("--city", help="Where to build the demo.")] = Path(
        "demo-city"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve it after building.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Build a demo district in Guangzhou (EPSG:4547) from authored IFC and serve it.

    A second run reuses what the first built.
    """
    from api.demo import build_demo

    with _clear_errors():
        result = build_demo(city, log=lambda line: console.print(line, highlight=False))
        console.print(
            f"demo city in {city}: {len(result.imported)} imported, {len(result.reused)} reused,"
            f" tiles {'rebuilt' if result.tiled else 'reused'}"
        )
    if serve_after:
        serve(city, host, port)


def main() -> None:
    """Entry point of the ``cimtwin`` console script."""
    app()


if __name__ == "__main__":
    main()
