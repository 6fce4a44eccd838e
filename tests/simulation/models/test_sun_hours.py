"""Shading behind prisms against the closed form of a wall and a point, spells, faces."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from simulation.models import sun_hours, sun_position
from simulation.models.sun_sills import Home, faces_of, sill_points

LATITUDE, LONGITUDE = 39.9, 116.4  # Beijing


@pytest.fixture(scope="module")
def path() -> sun_position.SunPath:
    return sun_position.rule_sun_path("major_cold", 2026, LATITUDE, LONGITUDE, 1.0)[2]


@pytest.fixture(scope="module")
def fine_path() -> sun_position.SunPath:
    """The same window at 6-second steps: the sun's path "directly"."""
    return sun_position.rule_sun_path("major_cold", 2026, LATITUDE, LONGITUDE, 0.1)[2]


def _wall_minutes(
    path: sun_position.SunPath,
    height: float,
    distance: float,
    z: float,
    wall_azimuth: float,
    face_azimuth: float,
) -> float:
    """Minutes of sun on a face behind an endless wall, from the closed form: blocked while
    tan(elevation) < (H - z) / (D / cos(Δazimuth))."""
    tangent = np.tan(np.radians(path.elevation))
    towards_wall = np.cos(np.radians(path.azimuth - wall_azimuth))
    in_front = np.cos(np.radians(path.azimuth - face_azimuth)) > 0
    blocked = (towards_wall > 0) & (tangent * distance < (height - z) * towards_wall)
    return float(((path.elevation > 0) & in_front & ~blocked).sum() * path.step_minutes)


def _model_minutes(
    path: sun_position.SunPath, wall: Polygon, height: float, z: float, face_azimuth: float
) -> float:
    edges = sun_hours.prism_edges([wall], [height])
    points = np.array([[0.0, 0.0, z]])
    lit = sun_hours.facing(np.array([face_azimuth]), path.azimuth, path.elevation)
    lit &= ~sun_hours.shaded(points, edges, path.azimuth, path.elevation)
    return float(sun_hours.spell_minutes(lit, path.step_minutes, 0.0)[0])


@pytest.mark.parametrize(
    ("height", "distance", "z"),
    [(30.0, 60.0, 0.9), (20.0, 40.0, 0.9), (15.0, 40.0, 3.9), (10.0, 20.0, 0.9), (45.0, 90.0, 6.9)],
)
def test_south_wall_hours_match_the_sun_path(
    path: sun_position.SunPath,
    fine_path: sun_position.SunPath,
    height: float,
    distance: float,
    z: float,
) -> None:
    wall = box(-3000.0, -distance - 2.0, 3000.0, -distance)
    minutes = _model_minutes(path, wall, height, z, 180.0)
    expected = _wall_minutes(fine_path, height, distance, z, 180.0, 180.0)
    assert 0 < minutes < 480
    assert minutes == pytest.approx(expected, abs=1.0)  # within one step
    assert minutes == _wall_minutes(path, height, distance, z, 180.0, 180.0)


@pytest.mark.parametrize(("wall_azimuth", "face_azimuth"), [(90.0, 90.0), (270.0, 270.0)])
def test_east_and_west_walls_hours_match_the_sun_path(
    path: sun_position.SunPath,
    fine_path: sun_position.SunPath,
    wall_azimuth: float,
    face_azimuth: float,
) -> None:
    height, distance, z = 25.0, 30.0, 0.9
    side = 1.0 if wall_azimuth == 90.0 else -1.0
    wall = box(side * distance, -3000.0, side * (distance + 2.0), 3000.0)
    minutes = _model_minutes(path, wall, height, z, face_azimuth)
    expected = _wall_minutes(fine_path, height, distance, z, wall_azimuth, face_azimuth)
    unobstructed = _wall_minutes(fine_path, 0.0, distance, z, wall_azimuth, face_azimuth)
    assert 0 < minutes < unobstructed - 30
    assert minutes == pytest.approx(expected, abs=1.0)


def test_a_wall_behind_the_face_or_lower_than_the_sill_casts_nothing(
    path: sun_position.SunPath,
) -> None:
    north = box(-3000.0, 20.0, 3000.0, 22.0)
    assert _model_minutes(path, north, 100.0, 0.9, 180.0) == pytest.approx(480.0, abs=0.2)
    south_low = box(-3000.0, -22.0, 3000.0, -20.0)
    assert _model_minutes(path, south_low, 0.5, 0.9, 180.0) == pytest.approx(480.0, abs=0.2)


def test_a_narrow_tower_shades_only_while_the_sun_is_behind_it(
    path: sun_position.SunPath,
) -> None:
    tower = box(-5.0, -45.0, 5.0, -35.0)  # due south, 10 m wide, 35 m away
    minutes = _model_minutes(path, tower, 100.0, 0.9, 180.0)
    # The tower subtends about 2·atan(5 / 35) = 16° of azimuth; the sun moves about a
    # quarter of a degree a minute at noon, so it hides the sun some 40 to 80 minutes.
    assert 480 - 80 < minutes < 480 - 40


def test_a_concave_building_shades_its_own_courtyard(path: sun_position.SunPath) -> None:
    # A U open to the north, 30 m high: its south wing hides the sun from the courtyard.
    u_shape = Polygon(
        [(-20, -20), (20, -20), (20, 20), (10, 20), (10, -10), (-10, -10), (-10, 20), (-20, 20)]
    )
    edges = sun_hours.prism_edges([u_shape], [30.0])
    point = np.array([[0.0, 10.0, 0.9]])  # in the courtyard, 20 m north of its south wall
    shade = sun_hours.shaded(point, edges, path.azimuth, path.elevation)
    assert shade[0].all()


def test_points_beyond_the_sun_are_never_shaded(path: sun_position.SunPath) -> None:
    edges = sun_hours.prism_edges([box(-10.0, -10.0, 10.0, 10.0)], [50.0])
    far = np.array([[0.0, 2000.0, 0.0], [0.0, -2000.0, 0.0]])
    assert not sun_hours.shaded(far, edges, path.azimuth, path.elevation).any()


def test_spells_shorter_than_the_minimum_do_not_count() -> None:
    lit = np.array([[1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1], [0] * 12, [1] * 12], dtype=bool)
    assert sun_hours.spell_minutes(lit, 1.0, 0.0).tolist() == [10.0, 0.0, 12.0]
    assert sun_hours.spell_minutes(lit, 1.0, 3.0).tolist() == [8.0, 0.0, 12.0]
    assert sun_hours.spell_minutes(lit, 2.0, 6.0).tolist() == [16.0, 0.0, 24.0]


def test_the_sun_must_be_in_front_of_the_face(path: sun_position.SunPath) -> None:
    front = sun_hours.facing(np.array([180.0, 0.0, 90.0]), path.azimuth, path.elevation)
    assert front[0].all() and not front[1].any()
    assert front[2].sum() == (path.azimuth < 180.0).sum()


def test_searching_per_face_finds_what_searching_per_point_finds(
    path: sun_position.SunPath,
) -> None:
    """The faces' sill points grouped (edges ruled out per face first) shade exactly as
    each point searched alone, over a seeded random block of buildings."""
    rng = np.random.default_rng(7)
    footprints, tops = [], []
    for row in range(4):
        for column in range(4):
            x, y = column * 45.0 + rng.uniform(0, 10), row * 40.0 + rng.uniform(0, 10)
            footprints.append(box(x, y, x + rng.uniform(15, 35), y + rng.uniform(8, 14)))
            tops.append(float(rng.uniform(6, 60)))
    homes = [Home(footprint, 0.0, 3, 3.0) for footprint in footprints]
    faces = faces_of(homes)
    points = sill_points(homes, faces, spacing=2.0, all_floors=True)
    key = points.face * 10 + points.floor
    _, member = np.unique(key, return_inverse=True)
    ends = np.stack(
        [
            np.stack([points.xyz[member == g, :2][0], points.xyz[member == g, :2][-1]])
            for g in range(member.max() + 1)
        ]
    )
    edges = sun_hours.prism_edges(footprints, tops)
    alone = sun_hours.shaded(points.xyz, edges, path.azimuth, path.elevation)
    grouped = sun_hours.shaded(
        points.xyz, edges, path.azimuth, path.elevation,
        sun_hours.Groups(member.astype(np.int64), ends),
    )  # fmt: skip
    assert alone.any() and not alone.all()
    assert (grouped == alone).all()
