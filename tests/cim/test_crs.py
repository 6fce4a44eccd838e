"""Coordinate reference systems: parsing, refusing unusable ones, and the local ENU frame."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from pyproj import Transformer

from cim.crs import (
    LocalFrame,
    check_origin,
    crs_text,
    enu_rotation,
    horizontal_crs,
    in_area_of_use,
    parse_crs,
    parse_origin,
    require_projected,
    transformer,
)
from cim.errors import CimError, CrsError, OriginError

ORIGIN = (432700.0, 2557900.0, 10.0)  # Guangzhou Tianhe in EPSG:4547


def _ecef(crs: str, points: np.ndarray) -> np.ndarray:
    """ECEF of city-CRS points, computed independently of cim.crs."""
    to_geodetic = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    rows = []
    for x, y, z in points.tolist():  # point by point: pyproj warns on one-element arrays
        lon, lat = to_geodetic.transform(x, y)
        rows.append(to_ecef.transform(lon, lat, z))
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize("text", ["EPSG:99999999", "not a crs", "", "+proj=nonsense"])
def test_parse_errors_raise_crs_error(text: str) -> None:
    with pytest.raises(CrsError, match="unknown CRS"):
        parse_crs(text)


def test_crs_error_is_a_cim_error() -> None:
    assert issubclass(CrsError, CimError)


@pytest.mark.parametrize(
    "text", ["EPSG:4547", "epsg:4547", "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000"]
)
def test_parse_accepts_codes_and_proj_strings(text: str) -> None:
    assert parse_crs(text).is_projected


def test_parse_accepts_wkt() -> None:
    wkt = parse_crs("EPSG:25832").to_wkt()
    assert parse_crs(wkt).to_epsg() == 25832
    assert crs_text(parse_crs(wkt)) == "EPSG:25832"


@pytest.mark.parametrize("text", ["EPSG:4326", "EPSG:4979", "EPSG:4978"])
def test_non_projected_crs_is_refused(text: str) -> None:
    with pytest.raises(CrsError, match="not a projected CRS"):
        require_projected(parse_crs(text), text)


def test_projected_crs_in_feet_is_refused() -> None:
    with pytest.raises(CrsError, match="foot"):
        require_projected(parse_crs("EPSG:2263"), "EPSG:2263")


def test_projected_crs_in_metres_is_accepted() -> None:
    crs = parse_crs("EPSG:4547")
    assert require_projected(crs, "EPSG:4547") is crs


def test_crs_text_is_the_shortest_stable_name() -> None:
    assert crs_text(parse_crs("epsg:4547")) == "EPSG:4547"
    custom = "+proj=tmerc +lat_0=0 +lon_0=113.5 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m"
    text = crs_text(parse_crs(custom))
    assert not text.startswith("EPSG:")
    assert parse_crs(text).is_projected


def test_transformer_is_cached_and_always_xy() -> None:
    assert transformer("EPSG:4547", "EPSG:4326") is transformer("EPSG:4547", "EPSG:4326")
    lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(ORIGIN[0], ORIGIN[1])
    assert 113.2 < lon < 113.4
    assert 23.0 < lat < 23.2


def test_enu_rotation_is_orthonormal_and_points_up() -> None:
    rotation = enu_rotation(113.32, 23.12)
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    at_equator = enu_rotation(0.0, 0.0)
    assert np.allclose(at_equator, [[0, 1, 0], [0, 0, 1], [1, 0, 0]], atol=1e-12)


def test_local_frame_origin_maps_to_zero() -> None:
    frame = LocalFrame("EPSG:4547", ORIGIN)
    local = frame.to_local(np.array([ORIGIN]))
    assert np.abs(local).max() < 1e-6
    lon, lat, height = frame.geodetic_origin
    assert (lon, lat, height) == (
        pytest.approx(113.34, abs=0.01),
        pytest.approx(23.12, abs=0.01),
        10.0,
    )


def test_local_frame_east_is_x() -> None:
    frame = LocalFrame("EPSG:4547", ORIGIN)
    east = frame.to_local(np.array([[ORIGIN[0] + 100.0, ORIGIN[1], ORIGIN[2]]]))[0]
    assert east[0] == pytest.approx(100.0, abs=0.1)
    assert abs(east[1]) < 1.0  # grid convergence of ~0.27 deg, 68 km west of the CM
    assert abs(east[2]) < 0.01  # the earth curves away by 100^2 / 2R = 0.8 mm
    north = frame.to_local(np.array([[ORIGIN[0], ORIGIN[1] + 100.0, ORIGIN[2]]]))[0]
    assert north[1] == pytest.approx(100.0, abs=0.1)
    up = frame.to_local(np.array([[ORIGIN[0], ORIGIN[1], ORIGIN[2] + 25.0]]))[0]
    assert np.allclose(up, [0.0, 0.0, 25.0], atol=1e-6)


def test_to_ecef_matrix_inverts_to_local() -> None:
    frame = LocalFrame("EPSG:4547", ORIGIN)
    points = np.array(
        [
            ORIGIN,
            [ORIGIN[0] + 100.0, ORIGIN[1], ORIGIN[2]],
            [ORIGIN[0] - 850.0, ORIGIN[1] + 1200.0, 55.0],
            [ORIGIN[0] + 3.5, ORIGIN[1] - 7.25, -12.0],
        ]
    )
    local = frame.to_local(points)
    matrix = frame.to_ecef_matrix()
    assert matrix.shape == (4, 4)
    assert np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0])
    rotation = matrix[:3, :3]
    assert np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    ecef = (matrix @ np.column_stack([local, np.ones(len(local))]).T).T[:, :3]
    assert np.abs(ecef - _ecef("EPSG:4547", points)).max() < 1e-3
    assert np.allclose(frame.ecef_origin, _ecef("EPSG:4547", np.array([ORIGIN]))[0], atol=1e-6)


def test_to_geodetic() -> None:
    frame = LocalFrame("EPSG:4547", ORIGIN)
    geodetic = frame.to_geodetic(np.array([ORIGIN, [ORIGIN[0], ORIGIN[1], 99.0]]))
    assert geodetic[:, 2].tolist() == [10.0, 99.0]
    assert np.allclose(geodetic[0, :2], frame.geodetic_origin[:2], atol=1e-12)


@pytest.mark.parametrize(
    ("text", "horizontal"),
    [
        ("EPSG:5555", "EPSG:25832"),  # ETRS89 / UTM 32N + DHHN92 height
        ("EPSG:25832+5783", "EPSG:25832"),
        ("EPSG:4547+5773", "EPSG:4547"),
        ("EPSG:4547", "EPSG:4547"),
        ("epsg:4547", "epsg:4547"),  # not compound: kept as given
    ],
)
def test_horizontal_part_of_a_compound_crs(text: str, horizontal: str) -> None:
    assert horizontal_crs(text) == horizontal


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [
        (175.0, -40.0, True),
        (-176.5, -44.0, True),  # the Chatham Islands, across the antimeridian
        (0.0, -40.0, False),
        (175.0, 10.0, False),
        (math.nan, -40.0, False),
        (math.inf, -40.0, False),
    ],
)
def test_area_of_use_across_the_antimeridian(lon: float, lat: float, inside: bool) -> None:
    assert in_area_of_use("EPSG:3851", lon, lat) is inside  # NZGD2000 / NZCS2000


@pytest.mark.parametrize(
    ("text", "crs", "origin"),
    [
        ("430700,2557800", "EPSG:4547", (430700.0, 2557800.0, 0.0)),
        (" 430700 , 2557800 , 12.5 ", "EPSG:4547", (430700.0, 2557800.0, 12.5)),
        ("458658.78,5438232.79,113.7", "EPSG:5555", (458658.78, 5438232.79, 113.7)),
    ],
)
def test_origin_is_parsed(text: str, crs: str, origin: tuple[float, float, float]) -> None:
    assert parse_origin(text, crs) == origin


@pytest.mark.parametrize(
    ("text", "crs", "message"),
    [
        ("nan,inf", "EPSG:4547", "finite"),
        ("430700,2557800,inf", "EPSG:4547", "finite"),
        ("430700,-nan", "EPSG:4547", "finite"),
        ("east,north", "EPSG:4547", "expected E,N or E,N,H"),
        ("430700", "EPSG:4547", "expected E,N or E,N,H"),
        ("1,2,3,4", "EPSG:4547", "expected E,N or E,N,H"),
        ("", "EPSG:4547", "expected E,N or E,N,H"),
        ("1,2", "EPSG:4547", "lands at lon 109.5131, lat 0.0000, outside the area of use"),
        ("2557800,430700", "EPSG:4547", "outside the area of use of EPSG:4547"),  # swapped
        ("1e300,1e300", "EPSG:4547", "lands nowhere"),
        ("430700,2557800", "EPSG:25832", "outside the area of use of EPSG:25832"),
        ("113.3,23.1", "EPSG:4326", "not a projected CRS in metres"),
    ],
)
def test_unusable_origins_are_refused(text: str, crs: str, message: str) -> None:
    with pytest.raises(OriginError, match=re.escape(message)):
        parse_origin(text, crs)
    assert issubclass(OriginError, CimError)


def test_origin_in_an_unknown_crs_is_a_crs_error() -> None:
    with pytest.raises(CrsError, match="unknown CRS"):
        parse_origin("1,2", "EPSG:0")


def test_checked_origin_values_need_two_or_three_finite_numbers() -> None:
    assert check_origin([430700.0, 2557800.0], "EPSG:4547") == (430700.0, 2557800.0, 0.0)
    for values in ([430700.0], [430700.0, 2557800.0, 1.0, 2.0], [430700.0, math.nan]):
        with pytest.raises(OriginError):
            check_origin(values, "EPSG:4547")
