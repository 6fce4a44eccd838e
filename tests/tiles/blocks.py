"""Cities of GIS-like building blocks for tiling tests: footprints, heights, LOD1 meshes."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from cim.model import CityObject
from cim.store import CityStore
from tests.conftest import LOCAL_ORIGIN, box_mesh


def add_blocks(
    store: CityStore, count: int, seed: int = 0, spacing: float = 30.0, layer: str = "blocks"
) -> list[str]:
    """Add ``count`` block buildings of varied size and height on a grid; return their ids."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(count)))
    ids = []
    with store.transaction() as writer:
        for index in range(count):
            x = LOCAL_ORIGIN[0] + spacing * (index % side)
            y = LOCAL_ORIGIN[1] + spacing * (index // side)
            width, depth = rng.uniform(5.0, spacing - 4.0, size=2)
            height = float(rng.lognormal(2.5, 0.6))
            base = LOCAL_ORIGIN[2]
            object_id = f"{layer}:{index}"
            writer.add_object(CityObject(
                id=object_id, cls="building", name=f"block {index}", source=layer,
                attributes={"use": ["residential", "office", "retail"][index % 3],
                            "start_date": f"{1950 + index % 70}-05-01"},
                footprint=box(x, y, x + width, y + depth), base_height=base,
                top_height=base + height,
            ))  # fmt: skip
            mesh = box_mesh((x, y, base), (x + width, y + depth, base + height))
            writer.add_mesh(object_id, [mesh])
            ids.append(object_id)
        writer.record_source(layer, "", "", "gis", {"objects": count})
    return ids
