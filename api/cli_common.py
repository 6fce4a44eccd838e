"""What the command modules share: the console, the error line, progress bars, options."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.errors import DOMAIN_ERRORS
from api.usecases import Progress as ProgressCallback

console = Console(stderr=True, soft_wrap=True)

CityOption = Annotated[
    Path, typer.Option("--city", help="The city folder (holds city.gpkg and tiles/).")
]


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn domain errors into one line on stderr and exit code 1."""
    try:
        yield
    except DOMAIN_ERRORS as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressCallback]:
    """A bar on stderr (when it is a terminal) fed by a use case's progress callback."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not sys.stderr.isatty(),
    )
    with bar:
        task = bar.add_task(label, total=100)

        def tell(percent: int, _file: str | None, message: str | None) -> None:
            bar.update(task, completed=percent, description=message or label)

        yield tell


def say(line: str) -> None:
    """One line of plain text on stderr."""
    console.print(line, highlight=False)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
