"""The zoning checks on hand-computed cases."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, box

from simulation.models.zoning_checks import (
    NOT_ASSESSED,
    OK,
    VIOLATION,
    Building,
    Zone,
    check_height,
    check_parcel,
    check_setback,
    coverage,
    floor_area_ratio,
    governing_zones,
    green_ratio,
    setback_distance,
    status_of,
)

PARCEL = box(0, 0, 100, 50)  # 5 000 m²
ZONE = Zone("z1", box(-10, -10, 200, 200), "A-01", max_height_m=30.0, max_far=2.0,
            max_coverage=0.3, min_green_ratio=0.35, setback_m=8.0)  # fmt: skip


def test_a_building_over_the_height_limit_is_a_violation_by_its_excess() -> None:
    check = check_height(Building("b", box(10, 10, 20, 20), height_m=36.5), [ZONE])
    assert (check.status, check.limit, check.actual, check.amount) == (VIOLATION, 30, 36.5, 6.5)
    assert check.zone == "A-01" and check.unit == "m"


def test_the_height_tolerance_absorbs_a_small_excess() -> None:
    building = Building("b", box(10, 10, 20, 20), height_m=30.4)
    assert check_height(building, [ZONE]).status == VIOLATION
    assert check_height(building, [ZONE], tolerance=0.5).status == OK


def test_a_building_crossing_zones_gets_the_strictest_limit() -> None:
    low = Zone("z2", box(0, 0, 15, 100), "B-02", max_height_m=24.0)
    high = Zone("z3", box(15, 0, 100, 100), "B-03", max_height_m=60.0)
    building = Building("b", box(10, 10, 30, 20), height_m=40.0)  # 25 % in low, 75 % in high
    assert [z.id for z in governing_zones(building.footprint, [low, high])] == ["z3", "z2"]
    check = check_height(building, [low, high])
    assert (check.zone, check.limit, check.amount) == ("B-02", 24.0, 16.0)


def test_a_sliver_of_a_zone_does_not_govern() -> None:
    sliver = Zone("z4", box(0, 0, 10.05, 100), "S", max_height_m=10.0)  # 0.5 % of the footprint
    high = Zone("z5", box(10, 0, 100, 100), "H", max_height_m=60.0)
    check = check_height(Building("b", box(10, 10, 20, 20), height_m=40.0), [sliver, high])
    assert (check.zone, check.status) == ("H", OK)


def test_no_zone_or_no_height_is_not_assessed() -> None:
    assert check_height(Building("b", box(0, 0, 1, 1), height_m=5.0), []).status == NOT_ASSESSED
    unknown = check_height(Building("b", box(10, 10, 20, 20), height_m=None), [ZONE])
    assert (unknown.status, unknown.limit) == (NOT_ASSESSED, 30.0)


def test_far_counts_each_building_pro_rata_to_its_footprint_inside() -> None:
    inside = Building("a", box(10, 10, 30, 30), floor_area_m2=4000.0)  # 400 m², 10 storeys
    half = Building("b", box(90, 10, 110, 20), floor_area_m2=1000.0)  # half inside
    outside = Building("c", box(200, 0, 210, 10), floor_area_m2=None)
    assert floor_area_ratio(PARCEL, [inside, half, outside]) == pytest.approx(4500 / 5000)
    assert floor_area_ratio(PARCEL, [inside, Building("d", box(50, 5, 60, 15))]) is None


def test_a_parcel_over_its_far_and_coverage_is_listed_with_both_amounts() -> None:
    dense = Building("a", box(0, 0, 60, 50), floor_area_m2=3000.0 * 5)  # coverage 0.6, FAR 3
    found = check_parcel("p", PARCEL, [ZONE], [dense], None, ["far", "coverage", "green_ratio"])
    checks = {c.indicator: c for c in found}
    assert checks["far"].actual == pytest.approx(3.0) and checks["far"].amount == pytest.approx(1)
    assert checks["coverage"].actual == pytest.approx(0.6)
    assert checks["coverage"].amount == pytest.approx(0.3)
    assert checks["green_ratio"].status == NOT_ASSESSED  # no green layer: never a violation
    assert checks["green_ratio"].note == "the city has no green layer"


def test_coverage_counts_overlapping_footprints_once() -> None:
    assert coverage(PARCEL, [box(0, 0, 10, 10), box(5, 0, 15, 10)]) == pytest.approx(150 / 5000)


def test_the_green_ratio_is_a_minimum() -> None:
    greens = [box(0, 0, 100, 15), box(0, 10, 100, 20), box(0, 200, 10, 210)]  # 2 000 m² inside
    assert green_ratio(PARCEL, greens) == pytest.approx(0.4)
    check = check_parcel("p", PARCEL, [ZONE], [], [box(0, 0, 100, 10)], ["green_ratio"])[0]
    assert (check.status, check.actual) == (VIOLATION, pytest.approx(0.2))
    assert check.amount == pytest.approx(0.15)  # limit - actual for a minimum
    assert check_parcel("p", PARCEL, [ZONE], [], greens, ["green_ratio"])[0].status == OK


def test_the_setback_is_measured_to_the_boundary_facing_the_road() -> None:
    road = LineString([(-50, -10), (150, -10)]).buffer(3)  # south of the parcel, 7 m off
    footprint = box(40, 5, 60, 45)  # 5 m from the south edge, 40 m from the east and west
    assert setback_distance(footprint, PARCEL, [road], 15.0) == (pytest.approx(5.0), True)
    check = check_setback(Building("b", footprint), PARCEL, [ZONE], [road], 15.0)
    assert (check.status, check.amount) == (VIOLATION, pytest.approx(3.0))  # 8 m asked
    far_road = LineString([(-50, 90), (150, 90)]).buffer(3)  # north, 37 m off: not facing
    assert setback_distance(footprint, PARCEL, [far_road], 15.0) == (pytest.approx(5.0), False)
    north = LineString([(-50, 60), (150, 60)]).buffer(3)  # north, 7 m off: 5 m from the top
    north_only = box(40, 1, 60, 40)
    assert setback_distance(north_only, PARCEL, [north], 15.0) == (pytest.approx(10.0), True)
    assert check_setback(Building("b", north_only), PARCEL, [ZONE], [north], 15.0).status == OK


def test_without_roads_the_setback_is_to_the_whole_boundary() -> None:
    assert setback_distance(box(40, 5, 60, 45), PARCEL, None, 15.0) == (pytest.approx(5.0), False)
    crossing = box(90, 10, 110, 20)
    assert setback_distance(crossing, PARCEL, None, 15.0)[0] == 0.0
    check = check_setback(Building("b", crossing), PARCEL, [ZONE], None, 15)
    assert (check.status, check.amount, check.note) == (
        VIOLATION,
        8.0,
        "crosses the parcel boundary",
    )
    assert check_setback(Building("b", crossing), None, [ZONE], None, 15).status == NOT_ASSESSED


def test_an_object_status_is_its_worst_check() -> None:
    ok = check_height(Building("b", box(10, 10, 20, 20), height_m=10.0), [ZONE])
    bad = check_height(Building("b", box(10, 10, 20, 20), height_m=40.0), [ZONE])
    none = check_height(Building("b", box(10, 10, 20, 20), height_m=None), [ZONE])
    assert status_of([ok, none]) == OK
    assert status_of([ok, bad, none]) == VIOLATION
    assert status_of([none]) == NOT_ASSESSED
