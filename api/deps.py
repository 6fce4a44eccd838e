"""Named FastAPI dependencies, so that routes read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from api.auth.deps import ScopeDep, caller_scope
from cim.store import CityStore

__all__ = ["CityDirDep", "ScopeDep", "StoreDep", "caller_scope", "city_dir", "open_store"]


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


CityDirDep = Annotated[Path, Depends(city_dir)]
StoreDep = Annotated[CityStore, Depends(open_store)]
