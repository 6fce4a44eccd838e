"""The checks on a jurisdiction set, and finding the smallest node holding each point."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from cim.jurisdictions import (
    TOLERANCE,
    Finding,
    JurisdictionError,
    check,
    smallest_containing,
)
from tests.cim.jurisdiction_sets import (
    CITY,
    COUNTY,
    EAST,
    NORTH,
    PROVINCE,
    SOUTH,
    WEST,
    X0,
    Y0,
    feature,
    replaced,
    square,
    tree,
)


def kinds(findings: list[Finding]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(f.severity, f.kind, f.codes) for f in findings}


def test_a_well_formed_tree_passes_with_levels_and_parents_from_the_codes() -> None:
    checked = check(tree())
    assert checked.findings == []  # towns and villages share whole edges: no overlap
    nodes = checked.accepted()
    assert [(n.code, n.level, n.parent_code) for n in nodes] == [
        (PROVINCE, "province", None),
        (CITY, "city", PROVINCE),
        (COUNTY, "county", CITY),
        (WEST, "town", COUNTY),
        (EAST, "town", COUNTY),
        (SOUTH, "village", WEST),
        (NORTH, "village", WEST),
    ]
    assert all(n.boundary.geom_type == "MultiPolygon" for n in nodes)


def test_a_child_outside_its_parent_is_refused_naming_both() -> None:
    features = replaced(tree(), NORTH, square(100, 900, 1000, 1700))  # 100 m into the east town
    checked = check(features)
    assert ("error", "outside_parent", (NORTH, WEST)) in kinds(checked.findings)
    # and it overlaps its aunt, not a sibling: siblings are checked within one parent only
    assert not any(f.kind == "sibling_overlap" for f in checked.findings)
    with pytest.raises(JurisdictionError, match=f"{NORTH} lies 11.1 % outside its parent {WEST}"):
        checked.accepted()


def test_digitising_noise_past_the_parent_is_a_warning_that_says_so() -> None:
    # 0.4 m past the west town's east edge over an 800 m edge: 0.05 % of the village
    features = replaced(tree(), NORTH, square(100, 900, 900.4, 1700))
    checked = check(features)
    assert checked.errors == []
    (warning,) = [f for f in checked.warnings if f.kind == "outside_parent"]
    assert warning.codes == (NORTH, WEST)
    assert "within the 0.1 % tolerance, counted as inside" in warning.message
    assert len(checked.accepted()) == 7


def test_overlapping_siblings_are_refused_and_a_sliver_is_a_warning() -> None:
    overlapping = replaced(tree(), SOUTH, square(100, 100, 900, 1000))  # 100 m into the north
    assert ("error", "sibling_overlap", (SOUTH, NORTH)) in kinds(check(overlapping).findings)
    sliver = replaced(tree(), SOUTH, square(100, 100, 900, 900.5))  # 0.06 % of either
    checked = check(sliver)
    assert checked.errors == []
    (warning,) = checked.warnings
    assert (warning.kind, warning.codes) == ("sibling_overlap", (SOUTH, NORTH))
    assert f"within the {TOLERANCE * 100:g} % tolerance" in warning.message


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("4401060010", "is not 12 digits"),
        ("44010600100a", "is not 12 digits"),
        ("000106001001", "has no province"),
        ("440100000001", "under an empty county"),
    ],
)
def test_a_malformed_code_is_refused_naming_it(code: str, why: str) -> None:
    checked = check([*tree(), feature(code, square(100, 100, 200, 200))])
    (error,) = checked.errors
    assert error.kind == "bad_code" and error.codes == (code,)
    assert code in error.message and why in error.message and "feature #8" in error.message


def test_a_feature_without_a_code_is_refused() -> None:
    (error,) = check([*tree(), feature(None, square(100, 100, 200, 200))]).errors
    assert error.kind == "bad_code" and "feature #8 has no code" in error.message


def test_codes_read_as_numbers_from_a_gis_column_are_accepted() -> None:
    features = [feature(int(f.code), f.geometry) for f in tree()[:3]]
    features.append(feature(float(WEST), square(100, 100, 900, 1700)))
    nodes = check(features).accepted()
    assert [n.code for n in nodes] == [PROVINCE, CITY, COUNTY, WEST]


def test_a_duplicate_code_is_refused() -> None:
    checked = check([*tree(), feature(EAST, square(900, 100, 1700, 1700))])
    assert kinds(checked.errors) == {("error", "duplicate_code", (EAST,))}
    assert "appears 2 times" in checked.errors[0].message


def test_a_missing_parent_is_refused_but_the_top_of_the_file_needs_none() -> None:
    without_west = [f for f in tree() if f.code != WEST]
    assert kinds(check(without_west).errors) == {
        ("error", "missing_parent", (SOUTH, WEST)),
        ("error", "missing_parent", (NORTH, WEST)),
    }
    # a file that starts at the county: the county's city is not needed
    county_down = [f for f in tree() if f.code not in (PROVINCE, CITY)]
    assert check(county_down).findings == []


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        (Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)]), "Self-inters"),
        (Point(X0, Y0), "a Point, not a polygon"),
        (LineString([(X0, Y0), (X0 + 1, Y0)]), "a LineString, not a polygon"),
        (None, "no polygon"),
        (Polygon(), "no polygon"),
    ],
)
def test_an_invalid_polygon_is_refused(shape: object, why: str) -> None:
    features = [f for f in tree() if f.code != NORTH] + [feature(NORTH, shape)]
    (error,) = check(features).errors
    assert error.kind == "invalid_polygon" and error.codes == (NORTH,) and why in error.message


def test_a_nameless_node_is_named_by_its_code_with_a_warning() -> None:
    features = [f if f.code != EAST else feature(EAST, f.geometry, "  ") for f in tree()]
    checked = check(features)
    assert kinds(checked.warnings) == {("warning", "no_name", (EAST,))}
    assert {n.code: n.name for n in checked.accepted()}[EAST] == EAST


def test_an_empty_layer_is_refused() -> None:
    with pytest.raises(JurisdictionError, match="no feature"):
        check([]).accepted()


def test_each_point_gets_the_deepest_node_holding_it() -> None:
    nodes = check(tree()).accepted()
    points = np.array(
        [
            Point(X0 + 500, Y0 + 500),  # south village
            Point(X0 + 500, Y0 + 1500),  # north village
            Point(X0 + 1200, Y0 + 500),  # east town, which has no villages
            Point(X0 + 1800, Y0 + 1800),  # the city, outside the county
            Point(X0 + 1950, Y0 + 1950),  # the province only
            Point(X0 + 5000, Y0 + 5000),  # outside everything
            None,  # an object without a point
            Point(X0 + 500, Y0 + 900),  # on the edge the villages share
        ],
        dtype=object,
    )
    codes = smallest_containing(points, nodes).tolist()
    assert codes[:7] == [SOUTH, NORTH, EAST, CITY, PROVINCE, None, None]
    assert codes[7] in (SOUTH, NORTH)


def test_equal_levels_go_to_the_smaller_node() -> None:
    # two overlapping villages (a sliver within tolerance): the point in both takes the smaller
    features = replaced(tree(), SOUTH, square(100, 100, 600, 900.5))
    nodes = check(features).accepted()
    (code,) = smallest_containing(np.array([Point(X0 + 300, Y0 + 900.2)]), nodes).tolist()
    assert code == SOUTH


def test_many_points_at_once() -> None:
    nodes = check(tree()).accepted()
    rng = np.random.default_rng(1)
    xy = rng.uniform(-300, 2100, size=(20_000, 2)) + np.array([X0, Y0])
    codes = smallest_containing(shapely.points(xy), nodes)
    # against the plain rule, one point at a time: the deepest node that covers it
    by_depth = sorted(nodes, key=lambda n: -n.depth)
    for index in rng.choice(len(xy), 300, replace=False):
        point = Point(*xy[index])
        expected = next((n.code for n in by_depth if n.boundary.covers(point)), None)
        assert codes[index] == expected


def test_an_overlay_geos_fails_on_is_retried_on_a_millimetre_grid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exact = shapely.intersection

    def fragile(one: object, other: object, grid_size: float | None = None) -> object:
        if grid_size is None:  # as GEOS does on some nearly degenerate valid rings
            raise shapely.errors.GEOSException("TopologyException: side location conflict")
        return exact(one, other, grid_size=grid_size)

    monkeypatch.setattr(shapely, "intersection", fragile)
    overlapping = replaced(tree(), SOUTH, square(100, 100, 900, 1000))
    assert ("error", "sibling_overlap", (SOUTH, NORTH)) in kinds(check(overlapping).findings)
