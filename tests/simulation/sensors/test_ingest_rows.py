"""What ingest does with each row: stored once, in any order, bad rows rejected, the latest
value and extents kept, features of interest made from the thing's location."""

from __future__ import annotations

from sqlalchemy import func, select

from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.scope import Scope
from simulation.sensors.ingest import ingest
from simulation.sensors.records import ObservationIn
from simulation.sensors.times import parse_time
from tests.simulation.sensors.network import VILLAGE_A, Network

ALL = Scope.everything()
T0 = parse_time("2026-12-01T08:00:00Z")
MINUTE = 60_000_000


def _count(db: OpsDatabase) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(t.Observation)) or 0)


def test_rows_land_once_whatever_their_order_and_repeats(
    sensing_db: OpsDatabase, network: Network
) -> None:
    stream = network.datastreams["a-level"]
    first = ingest(
        sensing_db, [ObservationIn(stream, T0 + k * MINUTE, float(k)) for k in (2, 0, 1)], ALL
    )
    assert not first.rejected and len(first.created) == 3
    again = ingest(
        sensing_db,
        [ObservationIn(stream, T0 + MINUTE, 99.0), ObservationIn(stream, T0 + 3 * MINUTE, 3.0),
         ObservationIn(stream, T0 + 3 * MINUTE, 4.0)],
        ALL,
    )  # fmt: skip
    assert again.ids[0] == first.ids[2]  # the earlier row's id, its result kept
    assert again.ids[1] == again.ids[2] and [c.result for c in again.created] == [3.0]
    assert _count(sensing_db) == 4
    with sensing_db.transaction() as session:
        kept = session.scalar(
            select(t.Observation.result_number).where(t.Observation.id == first.ids[2])
        )
        ds = session.get(t.Datastream, stream)
        assert ds is not None
        assert kept == 1.0
        assert (ds.latest_phenomenon_us, ds.latest_result_number) == (T0 + 3 * MINUTE, 3.0)
        assert (ds.phenomenon_start_us, ds.phenomenon_end_us) == (T0, T0 + 3 * MINUTE)


def test_an_older_row_does_not_replace_the_latest(
    sensing_db: OpsDatabase, network: Network
) -> None:
    stream = network.datastreams["a-level"]
    ingest(sensing_db, [ObservationIn(stream, T0 + 10 * MINUTE, 5.0)], ALL)
    ingest(sensing_db, [ObservationIn(stream, T0, 1.0, result_us=T0 + 20 * MINUTE)], ALL)
    with sensing_db.transaction() as session:
        ds = session.get(t.Datastream, stream)
        assert ds is not None
        assert (ds.latest_phenomenon_us, ds.latest_result_number) == (T0 + 10 * MINUTE, 5.0)
        assert ds.phenomenon_start_us == T0
        assert ds.result_start_us == ds.result_end_us == T0 + 20 * MINUTE


def test_bad_rows_are_rejected_with_their_reason_and_the_good_land(
    sensing_db: OpsDatabase, network: Network
) -> None:
    a, b = network.datastreams["a-level"], network.datastreams["b-level"]
    rows = [
        ObservationIn(a, T0, 1.0),
        ObservationIn(999, T0, 1.0),
        ObservationIn(a, T0 + MINUTE, 2.0, phenomenon_end_us=T0),
        ObservationIn(a, T0 + 2 * MINUTE, float("inf")),
        ObservationIn(a, T0 + 3 * MINUTE, 1.0, feature_id=12345),
        ObservationIn(b, T0, 1.0),  # thing b has no location: no feature to default to
        ObservationIn(a, T0 + 4 * MINUTE, {"state": "open"}),
    ]
    result = ingest(sensing_db, rows, ALL)
    reasons = {r.index: r.reason for r in result.rejected}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert "Datastream 999 does not exist" in reasons[1]
    assert "ends before it starts" in reasons[2]
    assert "finite" in reasons[3]
    assert "FeatureOfInterest 12345" in reasons[4]
    assert "has no Location" in reasons[5]
    assert result.ids[1] is None and result.ids[0] is not None and result.ids[6] is not None
    assert _count(sensing_db) == 2


def test_a_datastream_outside_the_scope_is_rejected_like_a_missing_one(
    sensing_db: OpsDatabase, network: Network
) -> None:
    result = ingest(
        sensing_db,
        [ObservationIn(network.datastreams["a-level"], T0, 1.0)],
        Scope.of("440106001002"),
    )
    assert "does not exist or is outside your jurisdiction" in result.rejected[0].reason
    assert _count(sensing_db) == 0


def test_one_feature_of_interest_is_made_per_location_and_reused(
    sensing_db: OpsDatabase, network: Network
) -> None:
    level, text = network.datastreams["a-level"], network.datastreams["a-text"]
    one = ingest(sensing_db, [ObservationIn(level, T0, 1.0), ObservationIn(text, T0, "dry")], ALL)
    two = ingest(sensing_db, [ObservationIn(level, T0 + MINUTE, 2.0)], ALL)
    features = {c.feature_id for c in one.created + two.created}
    assert len(features) == 1
    with sensing_db.transaction() as session:
        feature = session.get(t.FeatureOfInterest, features.pop())
        assert feature is not None
        assert feature.source_location_id == network.locations["a"]
        assert feature.jurisdiction == VILLAGE_A
        assert feature.feature == {"type": "Point", "coordinates": [113.33, 23.13]}
        stored = session.scalars(select(t.Observation).order_by(t.Observation.id)).all()
        pairs = [(o.result_number, o.result_text) for o in stored]
        assert pairs == [(1.0, None), (None, "dry"), (2.0, None)]


def test_created_rows_carry_what_events_need(sensing_db: OpsDatabase, network: Network) -> None:
    result = ingest(sensing_db, [ObservationIn(network.datastreams["a-level"], T0, 4.0)], ALL)
    (stored,) = result.created
    assert stored.thing_id == network.things["a"]
    assert stored.jurisdiction == VILLAGE_A
    assert stored.id == result.ids[0]
