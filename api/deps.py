"""Named FastAPI dependencies, so that routes read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from api.auth.deps import ScopeDep, caller_scope
from api.auth.state import auth_state
from cim.ops.database import OpsDatabase
from cim.store import CityStore

__all__ = [
    "CityDirDep",
    "OpsDep",
    "ScopeDep",
    "StoreDep",
    "caller_scope",
    "city_dir",
    "open_store",
    "ops_database",
]


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


def ops_database(request: Request) -> OpsDatabase:
    """The app's operational database (users, keys, sensors...), opened at first use."""
    return auth_state(request).db


CityDirDep = Annotated[Path, Depends(city_dir)]
StoreDep = Annotated[CityStore, Depends(open_store)]
OpsDep = Annotated[OpsDatabase, Depends(ops_database)]
