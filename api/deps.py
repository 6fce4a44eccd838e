"""Named FastAPI dependencies, so that routes read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from cim.scope import Scope
from cim.store import CityStore


def city_dir(request: Request) -> Path:
    """The folder of the city this app serves."""
    folder: Path = request.app.state.city_dir
    return folder


def open_store(folder: Annotated[Path, Depends(city_dir)]) -> Iterator[CityStore]:
    """Open the city store for one request."""
    store = CityStore.open(folder)
    try:
        yield store
    finally:
        store.close()


def caller_scope() -> Scope:
    """The part of the jurisdiction tree the caller may see."""
    return Scope.everything()


CityDirDep = Annotated[Path, Depends(city_dir)]
StoreDep = Annotated[CityStore, Depends(open_store)]
ScopeDep = Annotated[Scope, Depends(caller_scope)]
