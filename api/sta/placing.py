"""The ``place`` of a SensorThings write: where a new or moved entity lands, from the city
store (opened only when an entity names a city object or has a geometry)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from api.sta.linking import city_placement, jurisdiction_at
from cim.errors import CityNotFoundError
from cim.scope import Scope
from cim.store import CityStore
from simulation.sensors.write_common import Place, Placed


class CityPlace:
    """A ``place`` callable over the city in ``city_dir`` for a caller of ``scope`` whose own
    jurisdiction is ``home``; close it (or use it in ``with``) to close the store."""

    def __init__(self, city_dir: Path, scope: Scope, home: str) -> None:
        self.city_dir = city_dir
        self.scope = scope
        self.home = home
        self._stack = ExitStack()
        self._store: CityStore | None = None
        self._missing = False

    def _open(self) -> CityStore | None:
        if self._store is None and not self._missing:
            try:
                self._store = self._stack.enter_context(CityStore.open(self.city_dir))
            except CityNotFoundError:
                self._missing = True
        return self._store

    def __call__(self, city_object: str | None, geometry: dict[str, Any] | None) -> Placed:
        if city_object is not None:
            store = self._open()
            if store is None:
                raise CityNotFoundError(f"no city model here to place city object {city_object!r}")
            placement = city_placement(store, self.scope, city_object)
            return Placed(placement.jurisdiction or self.home, city_object, placement.geometry)
        if geometry is not None:
            store = self._open()
            if store is not None:
                shape = geometry.get("geometry") if geometry.get("type") == "Feature" else geometry
                code = jurisdiction_at(store, shape) if isinstance(shape, dict) else None
                return Placed(code or self.home)
        return Placed(self.home)

    def close(self) -> None:
        """Close the store if it was opened."""
        self._stack.close()

    def __enter__(self) -> Place:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
