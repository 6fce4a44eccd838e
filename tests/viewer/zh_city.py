"""The planner city with Chinese names: an IFC building named 天河体育中心 and GIS buildings
with Chinese names and addresses split over street and house number."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.gis import VectorOptions, import_vector
from cim.store import CityStore
from tests.viewer.planner_city import CRS, E, N, build_planner_city
from tiles.tileset import write_tileset

STADIUM = "天河体育中心"
# GIS buildings north of the halls: (ref, name, street, house number)
PLACES = [
    ("p1", "广州图书馆", "珠江东路", "4号"),
    ("p2", "重庆大厦", "天河路", "385号"),
]


def build_zh_city(folder: Path) -> Path:
    """The planner city of ``folder/city`` with the Chinese-named buildings, tiled."""
    city = build_planner_city(folder)
    stadium = write_demo_building(
        BuildingSpec(STADIUM, E - 60, N + 30, storeys=2, use="sports"),
        folder / "sources" / "stadium.ifc",
    )
    places = gpd.GeoDataFrame(
        {"ref": [p[0] for p in PLACES], "name": [p[1] for p in PLACES],
         "addr:street": [p[2] for p in PLACES], "addr:housenumber": [p[3] for p in PLACES],
         "height": [24.0, 60.0], "use": ["culture", "office"]},
        geometry=[box(E + 20 + 30 * i, N + 30, E + 40 + 30 * i, N + 50) for i in range(2)],
        crs=CRS,
    )  # fmt: skip
    layers = folder / "places.gpkg"
    places.to_file(layers, layer="places", driver="GPKG")
    with CityStore.open(city) as store:
        import_ifc(store, [stadium])
        import_vector(store, layers, VectorOptions(layer="places", id_field="ref"))
        write_tileset(store)
    return city
