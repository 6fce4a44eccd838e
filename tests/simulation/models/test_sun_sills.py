"""Sill points on faces, their groups, the grid's north, and a path in the south."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from simulation.models import sun_hours, sun_position
from simulation.models.sun_obstacles import grid_north_bearing
from simulation.models.sun_sills import Home, faces_of, sill_points


def test_faces_point_outwards_whatever_the_ring_order() -> None:
    clockwise = Polygon([(0, 0), (0, 10), (20, 10), (20, 0)])
    for footprint in (box(0, 0, 20, 10), clockwise):
        faces = faces_of([Home(footprint, 0.0, 1, 3.0)])
        assert sorted(face.compass for face in faces) == ["E", "N", "S", "W"]
        lengths = {face.compass: face.length for face in faces}
        assert lengths == {"S": 20.0, "N": 20.0, "E": 10.0, "W": 10.0}


def test_a_courtyard_has_faces_looking_into_it() -> None:
    ring = Polygon(box(0, 0, 30, 30).exterior, [box(10, 10, 20, 20).exterior.coords])
    faces = faces_of([Home(ring, 0.0, 1, 3.0)])
    inner = [f for f in faces if 10 <= f.start[0] <= 20 and 10 <= f.start[1] <= 20]
    assert len(inner) == 4
    south_wall = next(f for f in inner if f.start[1] == f.end[1] == 10)
    assert south_wall.compass == "N"  # the courtyard's south wall looks north into it


def test_points_are_spaced_offset_and_at_sill_height_of_each_floor() -> None:
    homes = [Home(box(0, 0, 20, 10), 5.0, 4, 3.0)]
    faces = faces_of(homes)
    ground = sill_points(homes, faces, sill_height=0.9, spacing=1.0)
    assert ground.size == 60 and set(ground.floor.tolist()) == {0}
    assert np.allclose(ground.xyz[:, 2], 5.9)
    south = ground.xyz[[faces[i].compass == "S" for i in ground.face]]
    assert np.allclose(south[:, 1], -0.1)  # just outside the wall
    assert np.allclose(np.sort(south[:, 0]), np.arange(20) + 0.5)
    every = sill_points(homes, faces, sill_height=0.9, spacing=2.0, all_floors=True)
    assert every.size == 30 * 4
    assert sorted(set(np.round(every.xyz[:, 2], 6).tolist())) == [5.9, 8.9, 11.9, 14.9]


def test_grid_north_follows_the_meridian_convergence() -> None:
    # CGCS2000 / 3-degree GK CM 114E; convergence ≈ (λ - λ0) sin φ, true north east of
    # grid north west of the central meridian.
    lon, lat = 113.3, 23.1
    expected = -(lon - 114.0) * math.sin(math.radians(lat))
    assert grid_north_bearing("EPSG:4547", lon, lat) == pytest.approx(expected, abs=0.01)
    assert grid_north_bearing("EPSG:4547", 114.0, lat) == pytest.approx(0.0, abs=1e-4)


def test_a_southern_path_with_falling_azimuths_shades_the_same_way() -> None:
    # Sydney in June: the sun goes east -> north -> west, azimuths falling through 0.
    start = dt.datetime(2026, 6, 21, 22, 0, tzinfo=dt.UTC)
    path = sun_position.sun_path(start, start + dt.timedelta(hours=6), -33.87, 151.21, 1.0)
    assert path.azimuth[0] > 0 and np.any(np.diff(path.azimuth) != 0)
    wall = box(-3000.0, 30.0, 3000.0, 32.0)  # 30 m north of the point
    edges = sun_hours.prism_edges([wall], [15.0])
    shade = sun_hours.shaded(np.array([[0.0, 0.0, 0.9]]), edges, path.azimuth, path.elevation)
    tangent = np.tan(np.radians(path.elevation))
    towards = np.cos(np.radians(path.azimuth))
    expected = (path.elevation > 0) & (towards > 0) & (tangent * 30.0 < 14.1 * towards)
    assert 0 < expected.sum() < path.size
    assert (shade[0] == expected).all()
