"""``cimtwin import jurisdictions``: the jurisdiction tree from a GIS layer, checked, stored,
and every object re-assigned to the smallest jurisdiction containing it.

Added to the ``import`` group of :mod:`api.cli` by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli_common import CityOption, clear_errors, console, print_json

if TYPE_CHECKING:
    from api.usecases.jurisdictions import JurisdictionImport
    from cim.jurisdictions import Finding


#: Rows of the assignment table (all jurisdictions up to this many, else those with objects).
LISTED = 50


def register(import_app: typer.Typer) -> None:
    """Add the ``jurisdictions`` command to the ``import`` command group."""
    import_app.command("jurisdictions")(import_jurisdictions_command)


def import_jurisdictions_command(
    file: Annotated[
        Path, typer.Argument(help="A polygon layer: GeoPackage, GeoJSON, Shapefile, FlatGeobuf...")
    ],
    city: CityOption,
    code_field: Annotated[
        str, typer.Option(help="Column of 12-digit division codes (the level follows from it).")
    ],
    name_field: Annotated[str, typer.Option(help="Column of the jurisdictions' names.")],
    layer: Annotated[
        str | None, typer.Option(help="The layer to read (needed when there are several).")
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="The file's CRS, when the file does not say.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Import the jurisdiction tree (province > city > county > town > village) from a layer.

    Each feature is one node: its 12-digit code (2 digits province, 2 city, 2 county,
    3 town, 3 village) gives its level and its parent. The set is checked before anything
    is stored: codes well-formed and unique, every parent present (but for the file's top
    level), every child inside its parent, siblings not overlapping, polygons valid
    (up to 0.1 % of a node's area past a boundary is digitising noise: a warning). Any
    error refuses the whole set and changes nothing; otherwise it replaces the stored set
    and every city object gets the code of the smallest jurisdiction containing it.

    Example (a GeoPackage of several layers also needs --layer):

        cimtwin import jurisdictions towns.geojson --city gz --code-field code --name-field name
    """
    from api.usecases.jurisdictions import import_jurisdictions
    from cim.jurisdictions import JurisdictionError
    from cim.store import CityStore

    with clear_errors(), CityStore.open(city) as store:
        try:
            done = import_jurisdictions(store, file, code_field, name_field, layer, crs)
        except JurisdictionError as exc:
            if not exc.findings:
                raise
            _print_findings(exc.findings)
            errors = sum(finding.severity == "error" for finding in exc.findings)
            console.print(f"[red]error:[/red] {file.name} refused ({errors} error(s));"
                          " the stored jurisdictions are unchanged", highlight=False)  # fmt: skip
            raise typer.Exit(1) from None
    if json_output:
        print_json(done.to_dict())
    _print_import(done)


def _print_findings(findings: list[Finding]) -> None:
    for finding in findings:
        colour = "red" if finding.severity == "error" else "yellow"
        console.print(f"  [{colour}]{finding.severity}:[/{colour}] {finding.message}",
                      highlight=False)  # fmt: skip


def _print_import(done: JurisdictionImport) -> None:
    levels = ", ".join(f"{count} {level}" for level, count in done.by_level().items())
    console.print(f"{done.source} ({done.layer}): {len(done.nodes)} jurisdictions ({levels})",
                  highlight=False)  # fmt: skip
    _print_findings(done.findings)
    table = Table(title="objects by smallest jurisdiction", title_justify="left")
    for column in ("code", "level", "name", "objects"):
        table.add_column(column, justify="right" if column == "objects" else "left")
    counts = done.assignment.counts
    shown = [n for n in done.nodes if len(done.nodes) <= LISTED or counts.get(n.code)]
    for node in shown[:LISTED]:
        table.add_row(node.code, node.level, node.name, str(counts.get(node.code, 0)))
    if len(shown) > LISTED:
        rest = sum(counts.get(node.code, 0) for node in shown[LISTED:])
        table.add_row("…", "", f"{len(shown) - LISTED} more jurisdictions", str(rest))
    table.add_row("-", "-", "outside every jurisdiction", str(done.assignment.unassigned))
    console.print(table)
