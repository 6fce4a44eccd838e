"""Statistics of the buildings in a district: count, footprint area, gross floor area, heights."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import shapely

from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import Box
from cim.vocabulary import BUILDING_CLASSES, height_band, height_bands, levels_of, use_of

STOREY_HEIGHT = 3.0


def district_stats(store: CityStore, district: shapely.Geometry, *, scope: Scope) -> dict[str, Any]:
    """Statistics of the buildings in ``scope`` whose footprint centre lies in ``district``
    (city CRS).

    Candidates come from the store's spatial index (footprint envelopes meeting the
    district's), so the work grows with the district, not with the city.
    """
    boxes = [] if district.is_empty else [Box.checked(*district.bounds)]
    buildings = [
        b for box in boxes for cls in BUILDING_CLASSES
        for b in store.objects_in_box(cls, box, scope=scope)
        if b.footprint is not None and not b.attributes.get("replaced_by")
        and district.contains(b.footprint.representative_point())
    ]  # fmt: skip
    heights = np.array([_height(b) for b in buildings], dtype=np.float64)
    floor_areas = [gross_floor_area(store, b, scope=scope) for b in buildings]
    bands = Counter(height_band(h, use_of(b.attributes), levels_of(b.attributes)).code
                    for b, h in zip(buildings, heights, strict=True))  # fmt: skip
    return {
        "buildings": len(buildings),
        "by_class": {cls: sum(1 for b in buildings if b.cls == cls) for cls in BUILDING_CLASSES
                     if any(b.cls == cls for b in buildings)},
        "district_area": round(float(district.area), 2),
        "footprint_area": round(float(sum(b.footprint.area for b in buildings)), 2),  # type: ignore[union-attr]
        "gross_floor_area": round(float(sum(floor_areas)), 2),
        "height": _distribution(heights),
        "height_bands": [  # GB 50352-2019 3.1.2, by height and use
            {"code": band.code, "name": band.zh, "name_en": band.en, "count": bands[band.code]}
            for band in height_bands()
        ],
    }  # fmt: skip


def gross_floor_area(store: CityStore, building: CityObject, *, scope: Scope) -> float:
    """Storey footprints (those in ``scope``) summed for a BIM building; footprint x levels
    for a GIS one."""
    if building.cls == "IfcBuilding":
        storeys = store.objects(cls="IfcBuildingStorey", building_id=building.id, scope=scope)
        return float(sum(s.footprint.area for s in storeys if s.footprint is not None))
    assert building.footprint is not None
    levels = building.attributes.get("building_levels")
    if not isinstance(levels, int | float) or levels <= 0:
        levels = max(1, round(_height(building) / STOREY_HEIGHT))
    return float(building.footprint.area * levels)


def _height(building: CityObject) -> float:
    if building.top_height is None or building.base_height is None:
        return 0.0
    return float(building.top_height - building.base_height)


def _distribution(heights: np.ndarray) -> dict[str, float | None]:
    if len(heights) == 0:
        return {"min": None, "mean": None, "median": None, "max": None}
    values = {"min": heights.min(), "mean": heights.mean(), "median": np.median(heights),
              "max": heights.max()}  # fmt: skip
    return {key: round(float(value), 2) for key, value in values.items()}
