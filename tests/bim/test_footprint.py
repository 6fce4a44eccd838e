"""Footprints of triangle meshes: exact areas, holes, bad winding, and the one-sided union."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

import bim.footprint
from bim.footprint import footprint_of, is_closed_and_oriented
from tests.conftest import TEKLA

# City-scale coordinates, as the importer gives them (EPSG:4547 near Guangzhou).
CITY = np.array([430700.0, 2557800.0, 10.0])
L_SHAPE = Polygon([(0, 0), (6, 0), (6, 2), (2, 2), (2, 5), (0, 5)])  # area 18


def prism(outline: Polygon, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """A closed mesh of ``outline`` extruded from ``low`` to ``high``, faces wound outwards."""
    outline = shapely.orient_polygons(outline)  # shell counter-clockwise, holes clockwise
    coords = np.unique(shapely.get_coordinates(outline), axis=0)
    index = {tuple(p): i for i, p in enumerate(coords)}
    n = len(coords)
    caps = []
    for triangle in shapely.constrained_delaunay_triangles(outline).geoms:
        a, b, c = (index[tuple(p)] for p in shapely.get_coordinates(triangle)[:3])
        if shapely.area(shapely.Polygon(coords[[a, b, c]])) == 0:
            continue
        (ux, uy), (vx, vy) = coords[b] - coords[a], coords[c] - coords[a]
        ccw = ux * vy - uy * vx > 0
        a, b = (a, b) if ccw else (b, a)
        caps += [(a, c, b), (a + n, b + n, c + n)]  # bottom faces down, top faces up
    sides = []
    for ring in (outline.exterior, *outline.interiors):
        ring_ids = [index[tuple(p)] for p in np.asarray(ring.coords)[:-1]]
        for i, j in zip(ring_ids, ring_ids[1:] + ring_ids[:1], strict=True):
            sides += [(i, j, j + n), (i, j + n, i + n)]
    vertices = np.vstack([np.column_stack([coords, np.full(n, low)]),
                          np.column_stack([coords, np.full(n, high)])])  # fmt: skip
    return vertices, np.array(caps + sides, dtype=np.uint32)


def full_union(points: np.ndarray, faces: np.ndarray) -> shapely.Geometry:
    """The reference: the union of every projected triangle with an area."""
    corners = points[faces][:, :, :2]
    polygons = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    return shapely.union_all(polygons[shapely.area(polygons) > bim.footprint.MIN_TRIANGLE_AREA])


def turned(vertices: np.ndarray, degrees: float, offset: np.ndarray = CITY) -> np.ndarray:
    """``vertices`` turned about the vertical and moved to city coordinates."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return vertices @ rotation.T + offset


def test_prism_helper_makes_closed_oriented_meshes() -> None:
    vertices, faces = prism(L_SHAPE, 0.0, 3.0)
    assert is_closed_and_oriented(faces)
    tri = vertices[faces]
    volume = np.einsum("ij,ij->", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    assert volume == pytest.approx(18.0 * 3.0)  # positive: faces wound outwards


def test_box_footprint_is_its_rectangle() -> None:
    vertices, faces = prism(box(0, 0, 8, 6), 0.0, 3.0)
    footprint = footprint_of(vertices + CITY, faces)
    assert footprint is not None
    assert footprint.area == pytest.approx(48.0)
    expected = box(CITY[0], CITY[1], CITY[0] + 8, CITY[1] + 6)
    assert footprint.symmetric_difference(expected).area < 1e-6


def test_l_shaped_prism_footprint_is_the_l() -> None:
    vertices, faces = prism(L_SHAPE, 0.0, 3.0)
    points = turned(vertices, 30.0)
    footprint = footprint_of(points, faces)
    assert footprint is not None
    assert footprint.area == pytest.approx(L_SHAPE.area, rel=1e-9)
    expected = Polygon(turned(np.column_stack([L_SHAPE.exterior.coords, np.zeros(7)]), 30.0)[:, :2])
    assert footprint.symmetric_difference(expected).area < 1e-6


def test_mesh_with_a_hole_keeps_the_hole() -> None:
    ring = box(0, 0, 10, 10).difference(box(3, 3, 7, 7))
    vertices, faces = prism(ring, 0.0, 2.5)
    footprint = footprint_of(vertices + CITY, faces)
    assert footprint is not None
    assert footprint.area == pytest.approx(100.0 - 16.0)
    assert footprint.geom_type == "Polygon" and len(footprint.interiors) == 1


def test_inconsistent_winding_falls_back_to_the_full_union() -> None:
    vertices, faces = prism(L_SHAPE, 0.0, 3.0)
    flipped = faces.copy()
    flipped[::3] = flipped[::3, ::-1]
    assert not is_closed_and_oriented(flipped)
    footprint = footprint_of(vertices + CITY, flipped)
    assert footprint is not None and footprint.area == pytest.approx(L_SHAPE.area)


def test_open_mesh_falls_back_to_the_full_union() -> None:
    vertices, faces = prism(L_SHAPE, 0.0, 3.0)
    normals_z = np.cross(*(vertices[faces[:, 1:]] - vertices[faces[:, :1]]).transpose(1, 0, 2))[
        :, 2
    ]
    open_faces = faces[normals_z >= 0]  # no bottom
    assert not is_closed_and_oriented(open_faces)
    footprint = footprint_of(vertices + CITY, open_faces)
    assert footprint is not None and footprint.area == pytest.approx(L_SHAPE.area)


def test_overlapping_layers_are_unioned() -> None:
    """A horizontal I beam: its upward faces lie over each other, the footprint does not."""
    profile = Polygon([(-0.1, 0), (0.1, 0), (0.1, 0.02), (0.01, 0.02), (0.01, 0.28), (0.1, 0.28),
                       (0.1, 0.3), (-0.1, 0.3), (-0.1, 0.28), (-0.01, 0.28), (-0.01, 0.02),
                       (-0.1, 0.02)])  # fmt: skip
    vertices, faces = prism(profile, 0.0, 6.0)
    beam = vertices[:, [2, 0, 1]]  # a rotation: extruded along x, web vertical
    assert is_closed_and_oriented(faces)
    footprint = footprint_of(turned(beam, 15.0), faces)
    assert footprint is not None
    assert footprint.area == pytest.approx(6.0 * 0.2, rel=1e-6)


def test_separate_overlapping_bodies_are_unioned() -> None:
    first, first_faces = prism(box(0, 0, 4, 4), 0.0, 3.0)
    second, second_faces = prism(box(2, 2, 6, 6), 1.0, 2.0)
    vertices = np.vstack([first, second])
    faces = np.vstack([first_faces, second_faces + len(first)])
    assert is_closed_and_oriented(faces)
    footprint = footprint_of(vertices + CITY, faces)
    assert footprint is not None and footprint.area == pytest.approx(16.0 + 16.0 - 4.0)


@pytest.mark.parametrize("seed", range(12))
def test_one_sided_union_equals_the_full_union(seed: int) -> None:
    rng = np.random.default_rng(seed)
    outline = shapely.Polygon(rng.uniform(0, 20, (3, 2))).convex_hull
    for _ in range(4):  # a random union of rectangles, some with holes
        x, y = rng.uniform(0, 20, 2)
        part = box(x, y, x + rng.uniform(1, 9), y + rng.uniform(1, 9))
        outline = outline.union(part) if rng.random() < 0.7 else outline.difference(part)
    outline = max(getattr(outline, "geoms", [outline]), key=lambda g: g.area)
    vertices, faces = prism(outline.simplify(0.01), 0.0, float(rng.uniform(0.3, 4)))
    points = turned(vertices, float(rng.uniform(0, 360)))
    footprint, reference = footprint_of(points, faces), full_union(points, faces)
    assert footprint is not None
    assert footprint.area == pytest.approx(reference.area, rel=0.005)
    assert footprint.symmetric_difference(reference).area <= 0.005 * reference.area


def test_vertical_faces_alone_have_no_footprint() -> None:
    wall = np.array([[0, 0, 0], [5, 0, 0], [5, 0, 3], [0, 0, 3]], dtype=float) + CITY
    assert footprint_of(wall, np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)) is None
    assert footprint_of(wall, np.zeros((0, 3), dtype=np.uint32)) is None


def test_large_meshes_get_their_convex_hull(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bim.footprint, "MAX_TRIANGLES_FOR_UNION", 10)
    vertices, faces = prism(L_SHAPE, 0.0, 3.0)
    footprint = footprint_of(vertices, faces)
    assert footprint is not None and footprint.area == pytest.approx(L_SHAPE.convex_hull.area)


def test_closed_and_oriented_check() -> None:
    _, faces = prism(box(0, 0, 1, 1), 0.0, 1.0)
    assert is_closed_and_oriented(faces)
    assert not is_closed_and_oriented(faces[1:])  # a hole in the surface
    assert not is_closed_and_oriented(np.vstack([faces, faces[:1]]))  # a doubled face
    flipped = faces.copy()
    flipped[0] = flipped[0, ::-1]
    assert not is_closed_and_oriented(flipped)
    assert is_closed_and_oriented(faces[:, ::-1].copy())  # wound inwards is still consistent
    assert not is_closed_and_oriented(np.zeros((0, 3), dtype=np.uint32))


def test_footprint_does_not_depend_on_the_order_of_the_triangles(ifc_dir: Path) -> None:
    """A Tekla beam whose 5 mm simplification gave 1.19 or 1.23 m2 by the triangle order."""
    model = ifcopenshell.open(str(ifc_dir / TEKLA))
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    shape = ifcopenshell.geom.create_shape(settings, model.by_guid("1BaEk4000FrJ4oDZStEJKp"))
    points = np.frombuffer(shape.geometry.verts_buffer, dtype=np.float64).reshape(-1, 3) + CITY
    faces = np.frombuffer(shape.geometry.faces_buffer, dtype=np.int32).reshape(-1, 3)
    faces = faces.astype(np.uint32)
    reference = footprint_of(points, faces)
    assert reference is not None
    assert reference.area == pytest.approx(full_union(points, faces).area, rel=0.05)
    rng = np.random.default_rng(0)
    for _ in range(20):
        shuffled = footprint_of(points, faces[rng.permutation(len(faces))])
        assert shuffled is not None
        assert shuffled.area == pytest.approx(reference.area, rel=1e-6)
        tolerance = bim.footprint.SIMPLIFY_TOLERANCE
        assert shapely.hausdorff_distance(shuffled, reference, densify=0.01) <= 2 * tolerance


def _triangles(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    corners = points[faces][:, :, :2]
    return shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))


def _upward(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The faces whose projection winds counter-clockwise, with an area."""
    a, b = (points[faces[:, i], :2] - points[faces[:, 0], :2] for i in (1, 2))
    return faces[a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] > bim.footprint.MIN_TRIANGLE_AREA]


@pytest.mark.parametrize("seed", range(6))
def test_union_of_faces_is_the_union_of_its_triangles(seed: int) -> None:
    """Coverages dissolved by edge matching, overlapping patches unioned: the same outline."""
    rng = np.random.default_rng(seed)
    profile = Polygon([(0, 0), (0.3, 0), (0.3, 0.02), (0.02, 0.02), (0.02, 0.2), (0.3, 0.2),
                       (0.3, 0.22), (0, 0.22)])  # a C channel  # fmt: skip
    bodies = [prism(profile, 0.0, float(rng.uniform(2, 6)))]
    bodies += [prism(box(x, y, x + 1, y + 2), 0.0, 1.0) for x, y in rng.uniform(-1, 1, (2, 2))]
    vertices, faces, offset = [], [], 0
    for index, (body, body_faces) in enumerate(bodies):
        vertices.append(body[:, [2, 0, 1]] if index == 0 else body)  # the channel lies down
        faces.append(body_faces + offset)
        offset += len(body)
    points = turned(np.vstack(vertices), float(rng.uniform(0, 360)))
    up = _upward(points, np.vstack(faces))
    triangles = _triangles(points, up)
    union = bim.footprint.union_of_faces(triangles, up)
    reference = shapely.union_all(triangles)
    assert union.is_valid
    assert union.area == pytest.approx(reference.area, rel=1e-9)
    assert union.symmetric_difference(reference).area < 1e-9 * reference.area


def test_a_patch_covering_the_plane_twice_falls_back_to_the_general_union() -> None:
    """Eight triangles around a vertex, each a quarter turn: one patch that wraps twice."""
    angles = np.radians(90.0 * np.arange(8))
    rim = np.column_stack([np.cos(angles), np.sin(angles), np.zeros(8)])
    points = np.vstack([[0.0, 0.0, 0.0], rim]) + CITY
    faces = np.array([[0, 1 + k, 1 + (k + 1) % 8] for k in range(8)], dtype=np.uint32)
    assert len(set(bim.footprint._patches(faces).tolist())) == 1
    union = bim.footprint.union_of_faces(_triangles(points, faces), faces)
    assert union.is_valid and union.area == pytest.approx(2.0)  # the diamond, once


def test_patches_are_faces_joined_by_edges() -> None:
    _, first = prism(box(0, 0, 1, 1), 0.0, 1.0)
    _, second = prism(L_SHAPE, 0.0, 1.0)
    faces = np.vstack([first, second + 8])
    labels = bim.footprint._patches(faces)
    assert len(set(labels[: len(first)].tolist())) == 1
    assert len(set(labels[len(first) :].tolist())) == 1
    assert labels[0] != labels[-1]
