"""A small mixed city for the planner's viewer: two IFC buildings, GIS blocks, the parcels
under the North Hall and the first two blocks, and streets."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, box

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.gis import VectorOptions, import_vector
from cim.store import CityStore
from tiles.tileset import write_tileset

CRS = "EPSG:4547"
E, N = 430_760.0, 2_557_880.0
# GIS blocks west of the two halls: (ref, use, year, address, height)
BLOCKS = [
    ("b1", "residential", 1998, "天河路 101号", 18.0),
    ("b2", "office", 2012, "天河路 103号", 45.0),
    ("b3", "retail", 2005, "体育西路 8号", 9.0),
]
# Parcels (number, west, south, east, north): one under the North Hall and one under each of
# the first two blocks; the South Hall and the third block stand on none.
PARCELS = [
    ("TH-0001", E - 5, N - 5, E + 25, N + 17),
    ("TH-0002", E - 95, N - 65, E - 65, N - 35),
    ("TH-0003", E - 65, N - 65, E - 35, N - 35),
]


def build_planner_city(folder: Path) -> Path:
    """Author, import and tile the city in ``folder/city``; return the city folder."""
    specs = [
        BuildingSpec("North Hall", E, N, storeys=2),
        BuildingSpec("South Hall", E + 30, N - 40, storeys=3, rotation_deg=20.0),
    ]
    sources = [write_demo_building(s, folder / "sources" / f"{i}.ifc") for i, s in enumerate(specs)]
    blocks = gpd.GeoDataFrame(
        {"ref": [b[0] for b in BLOCKS], "use": [b[1] for b in BLOCKS],
         "year": [b[2] for b in BLOCKS], "addr:street": [b[3] for b in BLOCKS],
         "height": [b[4] for b in BLOCKS], "name": ["Block One", "Block Two", "Block Three"]},
        geometry=[box(E - 90 + 30 * i, N - 60, E - 70 + 30 * i, N - 40) for i in range(3)],
        crs=CRS,
    )  # fmt: skip
    layers = folder / "district.gpkg"
    blocks.to_file(layers, layer="blocks", driver="GPKG")
    streets = gpd.GeoDataFrame(
        {"ref": ["s1"], "name": ["Tianhe Road"]},
        geometry=[LineString([(E - 100, N - 20), (E + 60, N - 20)])],
        crs=CRS,
    )
    streets.to_file(layers, layer="streets", driver="GPKG")
    parcels = gpd.GeoDataFrame(
        {"parcel_no": [p[0] for p in PARCELS]},
        geometry=[box(*p[1:]) for p in PARCELS],
        crs=CRS,
    )
    parcels.to_file(layers, layer="parcels", driver="GPKG")
    with CityStore.create(folder / "city", CRS, "Planner district") as store:
        import_ifc(store, sources)
        import_vector(store, layers, VectorOptions(layer="blocks", id_field="ref"))
        import_vector(store, layers, VectorOptions(layer="streets", cls="road", id_field="ref"))
        parcel_layer = VectorOptions(layer="parcels", cls="parcel", id_field="parcel_no")
        import_vector(store, layers, parcel_layer)
        write_tileset(store)
    return folder / "city"
