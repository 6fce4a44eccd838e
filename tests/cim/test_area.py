"""Areas in requests: checked, clipped to the city and carried into its CRS."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from cim.area import (
    MAX_VERTICES,
    CityExtent,
    bbox_area,
    city_bbox_area,
    city_extent,
    geojson_area,
    parse_bbox,
)
from cim.crs import transform_arrays
from cim.errors import AreaError
from cim.gis import VectorOptions, import_vector
from cim.scope import Scope
from tests.conftest import make_city

CRS = "EPSG:4547"
BOUNDS = (430_700.0, 2_557_800.0, 430_900.0, 2_558_000.0)  # Guangzhou, 200 m square
CITY = CityExtent(CRS, BOUNDS)


def _lon_lat(x: float, y: float) -> tuple[float, float]:
    lon, lat = transform_arrays(CRS, "EPSG:4326", np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def _ring(points: int, west: float, south: float, east: float, north: float) -> list[list[float]]:
    """A closed ring of ``points`` positions on the border of a box."""
    border = shapely.box(west, south, east, north).exterior
    steps = np.linspace(0.0, border.length, points, endpoint=False)
    ring = [[p.x, p.y] for p in (border.interpolate(d) for d in steps)]
    return [*ring, ring[0]]


def test_a_world_box_is_clipped_to_the_city_with_few_vertices() -> None:
    area = bbox_area([-180, -90, 180, 90], CITY)
    assert area.bounds == pytest.approx(BOUNDS)
    assert shapely.get_num_coordinates(area) < 100


def test_a_box_inside_the_city_is_carried_to_its_crs() -> None:
    west, south = _lon_lat(430_750.0, 2_557_850.0)
    east, north = _lon_lat(430_800.0, 2_557_900.0)
    area = bbox_area([west, south, east, north], CITY)
    assert area.area == pytest.approx(50 * 50, rel=0.01)
    assert area.bounds[0] == pytest.approx(430_750.0, abs=0.5)


def test_a_box_elsewhere_and_a_city_without_geometry_give_an_empty_area() -> None:
    assert bbox_area([0, 0, 1, 1], CITY).is_empty
    assert bbox_area([-180, -90, 180, 90], CityExtent(CRS, None)).is_empty


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([float("nan"), 0, 1, 1], "finite"),
        ([0, 0, float("inf"), 1], "finite"),
        ([0, 0, 1e400, 1], "finite"),
        ([0, 0, 2**1100, 1], "finite"),
        ([-200, 0, 1, 1], "longitude must lie in"),
        ([0, -91, 1, 1], "latitude in"),
        ([2, 0, 1, 1], "min_lon <= max_lon"),
        ([0, 0, 1], "four numbers"),
        ([0, 0, "a", 1], "not a number"),
        ([0, 0, True, 1], "not a number"),
    ],
)
def test_bad_boxes_are_refused_with_the_reason(values: list, message: str) -> None:
    with pytest.raises(AreaError, match=message):
        bbox_area(values, CITY)


def test_a_box_in_the_city_crs_is_checked_and_clipped() -> None:
    area = city_bbox_area([430_850.0, 2_557_950.0, 431_000.0, 2_558_100.0], CITY)
    assert area.bounds == (430_850.0, 2_557_950.0, 430_900.0, 2_558_000.0)
    assert city_bbox_area([0, 0, 1, 1], CITY).is_empty
    with pytest.raises(AreaError, match="min_x <= max_x"):
        city_bbox_area([431_000.0, 0, 430_000.0, 1], CITY)
    with pytest.raises(AreaError, match="finite"):
        city_bbox_area([float("nan"), 0, 1, 1], CITY)


def test_bbox_parameter_text() -> None:
    assert parse_bbox("1,2,3.5,4") == [1.0, 2.0, 3.5, 4.0]
    for text in ("1,2,3", "a,b,c,d", "", "1,2,3,4,5"):
        with pytest.raises(AreaError, match="four numbers"):
            parse_bbox(text)


def test_a_polygon_inside_the_city_is_carried_to_its_crs() -> None:
    west, south = _lon_lat(430_750.0, 2_557_850.0)
    east, north = _lon_lat(430_800.0, 2_557_900.0)
    polygon = {"type": "Polygon", "coordinates": [_ring(40, west, south, east, north)]}
    area = geojson_area(polygon, CITY)
    assert area.area == pytest.approx(50 * 50, rel=0.01)
    multi = {"type": "MultiPolygon", "coordinates": [polygon["coordinates"]]}
    assert geojson_area(multi, CITY).area == pytest.approx(area.area)


def test_a_polygon_of_the_largest_size_over_the_world_is_clipped() -> None:
    polygon = {"type": "Polygon", "coordinates": [_ring(MAX_VERTICES - 1, -180, -90, 180, 90)]}
    area = geojson_area(polygon, CITY)
    assert area.bounds == pytest.approx(BOUNDS)
    assert shapely.get_num_coordinates(area) < 100


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [0, 0]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon"}, "list of rings"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "four positions"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
         "not a valid polygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, float("nan")], [0, 0]]]},
         "finite"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, 100], [1, 1], [0, 0]]]}, "latitude"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1], [0, 0]]]}, "position"),
        ({"type": "Polygon", "coordinates": [_ring(MAX_VERTICES + 1, 0, 0, 1, 1)]},
         "more than 10000 vertices"),
        ({"type": "MultiPolygon", "coordinates": [[_ring(MAX_VERTICES // 2 + 1, 0, 0, 1, 1)]] * 2},
         "more than 10000 vertices"),
    ],
)  # fmt: skip
def test_bad_polygons_are_refused_with_the_reason(geometry: dict, message: str) -> None:
    with pytest.raises(AreaError, match=message):
        geojson_area(geometry, CITY)


def test_the_city_extent_holds_footprints_without_meshes(tmp_path: Path) -> None:
    store = make_city(tmp_path, CRS)
    road = LineString([(430_000.0, 2_557_000.0), (431_000.0, 2_558_000.0)]).buffer(5)
    frame = gpd.GeoDataFrame(
        {"ref": ["r1", "b1"]}, geometry=[road, box(*BOUNDS)], crs=CRS
    )  # the road has a footprint but no mesh
    frame.iloc[[0]].to_file(tmp_path / "roads.gpkg", layer="roads", driver="GPKG")
    frame.iloc[[1]].to_file(tmp_path / "blocks.gpkg", layer="blocks", driver="GPKG")
    import_vector(store, tmp_path / "roads.gpkg", VectorOptions(cls="road", id_field="ref"))
    import_vector(store, tmp_path / "blocks.gpkg", VectorOptions(id_field="ref"))
    extent = city_extent(store, scope=Scope.everything())
    assert extent.bounds == pytest.approx(road.union(box(*BOUNDS)).bounds)
    # the objects layer's extent, as GDAL and QGIS read it, follows what the imports added
    with sqlite3.connect(store.path) as conn:
        row = conn.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'city_objects'"
        ).fetchone()
    assert row == pytest.approx(extent.bounds)
    store.close()


def test_a_city_beyond_its_crs_clips_to_where_the_crs_is_used() -> None:
    far = CityExtent(CRS, (1e9, 1e9, 1e9 + 10, 1e9 + 10))  # no inverse projection there
    used = far.crs84_box().bounds
    assert used == pytest.approx((112.5, 21.52, 115.5, 45.45))  # China between 112.5E and 115.5E
    area = bbox_area([-180, -90, 180, 90], far)
    assert area.is_empty
