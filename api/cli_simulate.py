"""``cimtwin simulate``: list the models, run one in the foreground, list and export runs.

Added to :mod:`api.cli` as a command group by :func:`register`. A run from the command line
sees the whole city (no jurisdiction) and is stored like a run of the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from api.cli_common import CityOption, clear_errors, console, print_json, progress_bar, say

simulate_app = typer.Typer(
    help="What-if models over the city (flood, sunlight, zoning, pollution fields): list them,"
    " run one, list and export the stored runs.\n\n"
    "A first session on the demo city:\n\n"
    "    cimtwin simulate models\n"
    "    cimtwin simulate run flood --city demo-city --set water_level=2.5\n"
    "    cimtwin simulate runs --city demo-city\n"
    "    cimtwin simulate export RUN --city demo-city --layer depth -o depth.tif\n\n"
    "`cimtwin simulate run --help` lists every model's parameters.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command group to ``app``."""
    app.add_typer(simulate_app, name="simulate")


def models_help() -> str:
    """Every model and each of its parameters (type, default, bounds, description)."""
    from api.simulations import available_models

    lines = ["**Models and their parameters** (--set NAME=VALUE):", ""]
    for spec in available_models():
        lines.append(f"* **{spec.name}**: {spec.title_en} ({spec.title_zh})")
        for line in parameter_lines(spec.parameters_type.model_json_schema()):
            lines.append(f"    * {line}")
    return "\n".join(lines)


def parameter_lines(schema: dict[str, Any]) -> list[str]:
    """One line per parameter of a JSON schema: name, type, default, bounds, description."""
    lines = []
    for name, field in schema.get("properties", {}).items():
        kind = field.get("type") or "/".join(
            str(option.get("type")) for option in field.get("anyOf", []) if "type" in option
        )
        facts = [kind] if kind else []
        if "default" in field:
            facts.append(f"default {json.dumps(field['default'], ensure_ascii=False)}")
        for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                          ("exclusiveMaximum", "<")):  # fmt: skip
            if key in field:
                facts.append(f"{sign} {field[key]}")
        if "enum" in field:
            facts.append("one of " + ", ".join(map(str, field["enum"])))
        description = field.get("description", "")
        lines.append(f"{name} ({', '.join(facts)}): {description}")
    return lines


class ModelHelpCommand(TyperCommand):
    """A command whose help ends with the models and their parameters, read when the help
    is shown (the models are not imported for other commands)."""

    @property
    def epilog(self) -> str:
        return models_help()

    @epilog.setter
    def epilog(self, _value: str | None) -> None:
        """Ignored: the epilog is the model list."""


@simulate_app.command("models")
def models_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the models and their parameters.

    Example:

        cimtwin simulate models
    """
    from api.simulations import available_models, model_dict

    with clear_errors():
        specs = available_models()
    if json_output:
        print_json([model_dict(spec) for spec in specs])
        return
    for spec in specs:
        typer.echo(f"{spec.name}: {spec.title_en} ({spec.title_zh}). {spec.description}")
        for line in parameter_lines(spec.parameters_type.model_json_schema()):
            typer.echo(f"  {line}")


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """``--set key=value`` pairs as parameters (a value is read as JSON when it parses:
    numbers, true/false, null, lists; otherwise it is text)."""
    parameters: dict[str, Any] = {}
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--set {setting!r} is not NAME=VALUE")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        parameters[key.strip()] = value
    return parameters


def read_parameters(path: Path) -> dict[str, Any]:
    """The parameters of a JSON file holding one object."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"--parameters {path}: {exc}") from None
    if not isinstance(content, dict):
        raise typer.BadParameter(f"--parameters {path} holds no JSON object")
    return content


@simulate_app.command("run", cls=ModelHelpCommand)
def run_command(
    model: Annotated[str, typer.Argument(help="The model's name (see `cimtwin simulate models`).")],
    city: CityOption,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="A parameter, NAME=VALUE (repeatable; overrides the file)."),
    ] = None,
    parameters_file: Annotated[
        Path | None, typer.Option("--parameters", help="A JSON file of parameters.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Run a model over the whole city in the foreground and store its result.

    Prints the summary and the run id; exits 2 naming the parameter when one is bad.

    Example:

        cimtwin simulate run flood --city demo-city --set water_level=2.5
    """
    from api.simulations import check_parameters, run_model
    from cim.scope import Scope
    from simulation.models import model as model_named
    from simulation.models.errors import ParametersError, UnknownModelError

    try:
        parameters = read_parameters(parameters_file) if parameters_file else {}
        parameters.update(parse_settings(settings or []))
        check_parameters(model_named(model), parameters)
    except (UnknownModelError, ParametersError, typer.BadParameter) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with clear_errors(), progress_bar(model) as tell:
        record = run_model(city, model, parameters, Scope.everything(),
                           lambda percent, message: tell(percent, None, message))  # fmt: skip
    if json_output:
        print_json({"run_id": record.id, "model": record.model, "summary": record.summary})
        return
    for key, value in record.summary.items():
        typer.echo(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    typer.echo(f"run: {record.id}")


@simulate_app.command("runs")
def runs_command(
    city: CityOption,
    model: Annotated[str | None, typer.Option("--model", help="Only this model's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the stored runs, newest first: id, model, when, summary, layers.

    Example:

        cimtwin simulate runs --city demo-city
    """
    from cim.result_store import ResultStore
    from cim.scope import Scope

    with clear_errors():
        if not city.is_dir():
            from cim.errors import CityNotFoundError

            raise CityNotFoundError(f"city folder {city} does not exist")
        records = ResultStore(city).runs(Scope.everything(), model, limit)
    if json_output:
        print_json([record.to_dict() for record in records])
        return
    if not records:
        say("no stored runs")
    for record in records:
        layers = [layer.name for layer in (*record.rasters, *record.vectors, *record.values)]
        summary = json.dumps(record.summary, ensure_ascii=False)
        typer.echo(f"{record.id}  {record.model}  {record.started}  {summary}"
                   f"  layers: {', '.join(dict.fromkeys(layers)) or '-'}")  # fmt: skip


@simulate_app.command("export")
def export_command(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id.")],
    city: CityOption,
    layer: Annotated[str, typer.Option("--layer", help="The raster, vector or values name.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The file: .csv, .geojson, .gpkg or .tif.")
    ],
) -> None:
    """Write one layer of a run to a file: a raster as GeoTIFF (.tif), a vector layer as
    CSV with WKT, GeoJSON (CRS84) or GeoPackage, per-object values as CSV.

    Example:

        cimtwin simulate export RUN --city demo-city --layer depth -o depth.tif
    """
    from api.simulation_export import export_layer

    with clear_errors():
        written = export_layer(city, run_id, layer, output)
    say(f"wrote {written} to {output}")
