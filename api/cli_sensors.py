"""``cimtwin sensors``: list a city's datastreams, replay a recorded air-quality file into them,
fit the demo's PM2.5 model to such a file.

Added to :mod:`api.cli` as a command group by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import CityOption, clear_errors, console, print_json, say

sensors_app = typer.Typer(
    help="The city's sensors (OGC SensorThings datastreams): list them, replay a recorded"
    " series into them.\n\n"
    "A first session on the demo city:\n\n"
    "    cimtwin sensors list --city demo-city   (the ids of the datastreams)\n"
    "    cimtwin sensors replay air_quality_pm25_long.csv --city demo-city"
    " --map BETR801=23 --map 'London Westminster=25'\n\n"
    "The demo's sensors get a new value every few seconds while `cimtwin demo` serves.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    """Add the ``sensors`` command group to ``app``."""
    app.add_typer(sensors_app, name="sensors")


@sensors_app.command("list")
def list_command(
    city: CityOption,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the city's datastreams: id, name, thing, city object, jurisdiction, latest value and
    its level (normal, warning, alarm past the datastream's thresholds; stale when old).

    Example:

        cimtwin sensors list --city demo-city
    """
    from rich.console import Console
    from rich.table import Table

    from api.usecases.sensors import datastream_rows

    with clear_errors():
        rows = datastream_rows(city)
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} datastreams", title_justify="left")
    for column in ("id", "datastream", "thing", "city object", "jurisdiction", "latest", "at",
                   "level"):  # fmt: skip
        table.add_column(column)
    for row in rows:
        latest = "" if row["latest"] is None else f"{row['latest']} {row['unit'] or ''}"
        table.add_row(str(row["id"]), row["name"], row["thing"], row["cityObject"] or "",
                      row["jurisdiction"], latest.strip(), row["latestTime"] or "",
                      row["level"])  # fmt: skip
    Console(width=max(console.width, 160)).print(table)  # one line per datastream


@sensors_app.command("replay")
def replay_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A long-format CSV: city,country,date.utc,location,parameter,value,unit"
            " (OpenAQ's export, as pandas ships air_quality_pm25_long.csv)."
        ),
    ],
    city: CityOption,
    station_map: Annotated[
        list[str],
        typer.Option(
            "--map",
            help="STATION=DATASTREAM_ID: store this station's rows into that datastream"
            " (repeat for each; `cimtwin sensors list` gives the ids).",
        ),
    ],
    parameter: Annotated[
        str, typer.Option(help="The parameter to read (the file's `parameter` column).")
    ] = "pm25",
    shift_to_now: Annotated[
        bool,
        typer.Option(
            "--shift-to-now",
            help="Move every time by the same whole number of hours, so the newest row falls"
            " in the current hour (a recorded series as today's).",
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Replay a recorded series into the city's datastreams: each mapped station's rows are
    stored as observations of its datastream, at their own times (or shifted to now).

    A row already stored (same datastream, same time) is kept once; the stations of the
    file that are not mapped are named and skipped. The datastreams' latest values and
    time extents follow.

    Examples:

        cimtwin sensors replay air_quality_pm25_long.csv --city demo-city --map BETR801=23
        cimtwin sensors replay pm25.csv --city demo-city --map BETR801=23 --shift-to-now
    """
    from api.usecases.sensors import parse_station_map, replay_file

    with clear_errors():
        mapping = parse_station_map(station_map)
        outcome = replay_file(city, file, mapping, parameter=parameter, shift_to_now=shift_to_now)
    if json_output:
        print_json(outcome)
        return
    for station in outcome["stations"]:
        say(f"{station['station']} -> datastream {station['datastream']}: {station['rows']} rows,"
            f" {station['stored']} stored, {station['already']} already there,"
            f" {station['rejected']} rejected")  # fmt: skip
        for reason in station["reasons"]:
            say(f"  rejected: {reason}")
    if outcome["unmapped"]:
        say(f"not mapped (skipped): {', '.join(outcome['unmapped'])}")


@sensors_app.command("fit")
def fit_command(
    file: Annotated[Path, typer.Argument(help="A long-format CSV (see `replay`).")],
    station: Annotated[str, typer.Option(help="The station whose series to fit.")],
    utc_offset: Annotated[
        float, typer.Option(help="The station's local time then, hours from UTC.")
    ] = 0.0,
    parameter: Annotated[str, typer.Option(help="The parameter to read.")] = "pm25",
) -> None:
    """Fit the demo's series model to a station's record and print it as JSON.

    Log-normal values around a daily shape (two harmonics of the local hour) and a weekly
    one, with correlated noise of the record's spread and hour-to-hour correlation: the
    `profiles` of data/demo/sensors.json come from this command on pandas' PM2.5 file.

    Example:

        cimtwin sensors fit air_quality_pm25_long.csv --station BETR801 --utc-offset 2
    """
    from simulation.sensors.longcsv import read_long_csv
    from simulation.sensors.profile import fit_profile

    with clear_errors():
        found = {s.station: s for s in read_long_csv(file, parameter)}
        if station not in found:
            say(f"no station {station!r} in {file.name}: it has {', '.join(found)}")
            raise typer.Exit(1)
        series = found[station]
        model = fit_profile(series.times_us, series.values, utc_offset)
    print_json({key: [round(v, 4) for v in value] if isinstance(value, tuple) else round(value, 4)
                for key, value in model.to_dict().items()})  # fmt: skip
