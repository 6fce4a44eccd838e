"""The city at a glance: CRS, counts by class, extent, sources and whether it is tiled."""

from __future__ import annotations

from typing import Any

from cim.layout import CityLayout
from cim.scope import Scope
from cim.store import CityStore


def city_summary(store: CityStore) -> dict[str, Any]:
    """The city as JSON-ready data: what ``cimtwin info`` prints."""
    return {
        "name": store.name,
        "crs": store.crs,
        "path": str(store.path),
        "objects_by_class": store.counts_by_class(scope=Scope.everything()),
        "extent": store.extent(scope=Scope.everything()),
        "sources": [
            {k: s[k] for k in ("source", "kind", "sha256", "imported_at")}
            | {"georeference": s["report"].get("georeference", {}).get("method")}
            for s in store.sources(scope=Scope.everything())
        ],
        "tiled": CityLayout(store.city_dir).tileset.is_file(),
    }
