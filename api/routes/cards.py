"""The building card: an object's planning figures (``cim.planning``), scoped like the object."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ScopeDep, StoreDep
from cim.planning import planning_card

router = APIRouter(prefix="/api/objects", tags=["objects"])


@router.get("/{object_id}/card")
def get_card(object_id: str, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """Height above ground, storeys above and below ground (with the storey list), gross
    floor area and how it was obtained, footprint area, use, year, address, plot, position
    in the city CRS and in longitude/latitude, the vertical datum, and the source's own
    attributes (internal fields left out). 404 outside the caller's jurisdiction."""
    return planning_card(store, object_id, scope=scope)
