"""Lists of incidents: every filter in SQL, paging and order, always within the scope."""

from __future__ import annotations

import pytest

from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.errors import IncidentInputError
from simulation.incidents.incidents import list_incidents, report_incident, take_step
from simulation.incidents.records import IncidentQuery, IncidentRecord
from tests.simulation.incidents.people import (
    COUNTY,
    COUNTY_MANAGER,
    HUACHENG,
    OTHER_TOWN,
    T0,
    TOWN,
    ZHANG,
    person,
    report,
)


@pytest.fixture()
def incidents(ops_db: OpsDatabase) -> list[IncidentRecord]:
    """Four incidents: three in the town, one in the other town."""
    other = person("liwan_inspector", OTHER_TOWN)
    made = [
        report_incident(ops_db, report(), HUACHENG, now_us=T0),
        report_incident(
            ops_db,
            report(
                category="road_damage",
                title="Pothole",
                source="hotline",
                lon=113.2,
                lat=23.0,
                address="No. 5 Tianhe Road, 100% broken",
            ),
            HUACHENG,
            now_us=T0 + 10,
        ),
        report_incident(
            ops_db, report(title="Blocked drain", lon=None, lat=None), HUACHENG, now_us=T0 + 20
        ),
        report_incident(
            ops_db,
            report(jurisdiction="440106002001", title="Flooded tunnel"),
            other,
            now_us=T0 + 30,
        ),
    ]
    take_step(ops_db, made[1].id, "register", ZHANG, now_us=T0 + 40)
    return made


def _ids(db: OpsDatabase, scope: Scope, **query: object) -> list[int]:
    return [r.id for r in list_incidents(db, scope, IncidentQuery(**query))[0]]  # type: ignore[arg-type]


def test_filters_keep_what_they_name(ops_db: OpsDatabase, incidents: list[IncidentRecord]) -> None:
    a, b, c, d = (r.id for r in incidents)
    county = COUNTY_MANAGER.scope
    assert _ids(ops_db, county) == [d, c, b, a]
    assert _ids(ops_db, county, statuses=("registered",)) == [b]
    assert _ids(ops_db, county, categories=("road_damage",)) == [b]
    assert _ids(ops_db, county, sources=("hotline",)) == [b]
    assert _ids(ops_db, county, jurisdiction=OTHER_TOWN) == [d]
    assert _ids(ops_db, county, ids=(a, d, 10_000)) == [d, a]
    assert _ids(ops_db, county, bbox=(113.3, 23.1, 113.4, 23.2)) == [d, a]
    assert _ids(ops_db, county, created_from_us=T0 + 10, created_to_us=T0 + 30) == [c, b]
    assert _ids(ops_db, county, updated_since_us=T0 + 40) == [b]
    assert _ids(ops_db, county, text="drain") == [c]
    assert _ids(ops_db, county, text="100%") == [b]
    assert _ids(ops_db, county, text="TUNNEL") == [d]
    assert _ids(ops_db, county, order="updated") == [b, d, c, a]
    assert _ids(ops_db, county, order="due") == [a, c, d, b]  # registered's limit is later


def test_lists_are_limited_to_the_scope(
    ops_db: OpsDatabase, incidents: list[IncidentRecord]
) -> None:
    a, b, c, d = (r.id for r in incidents)
    town = Scope.of(TOWN)
    assert _ids(ops_db, town) == [c, b, a]
    assert _ids(ops_db, town, ids=(d,)) == []
    assert _ids(ops_db, town, jurisdiction=COUNTY) == [c, b, a]  # a wider filter widens nothing
    records, total = list_incidents(ops_db, town, IncidentQuery(limit=2, offset=1))
    assert [r.id for r in records] == [b, a] and total == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (IncidentQuery(limit=0), "limit 0: use 1 to 1000"),
        (IncidentQuery(offset=-1), "offset -1 is negative"),
        (IncidentQuery(order="oldest"), "order 'oldest'"),  # type: ignore[arg-type]
        (IncidentQuery(bbox=(114, 23, 113, 24)), "bbox 114,23,113,24: use west,south,east,north"),
        (IncidentQuery(jurisdiction="4401"), "jurisdiction code '4401' is not 12 digits"),
    ],
)
def test_bad_filters_are_refused(ops_db: OpsDatabase, query: IncidentQuery, message: str) -> None:
    with pytest.raises(IncidentInputError, match=message):
        list_incidents(ops_db, Scope.everything(), query)
