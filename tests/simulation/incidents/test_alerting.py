"""Evaluating rules on stored observations: thresholds with hysteresis and minimum duration,
late rows, rates, silence; on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from cim.ops import OpsDatabase
from cim.ops.incident_tables import Alert, AlertState, Incident, IncidentStep
from cim.scope import Scope
from simulation.incidents.alerting import AlertEvaluator
from simulation.incidents.rules import RuleIn, RuleRecord, create_rule, update_rule
from tests.simulation.incidents.alert_rows import MINUTE, T0, TOWN_A, store, stream

NOW = T0 + 10_000 * MINUTE


@pytest.fixture()
def db(ops_url: str) -> Iterator[OpsDatabase]:
    with OpsDatabase.open(ops_url) as opened:
        yield opened


def rule(db: OpsDatabase, gauge: int | None = None, **fields: Any) -> RuleRecord:
    given: dict[str, Any] = {
        "name": "Water level high", "jurisdiction": TOWN_A, "condition": "above",
        "raise_value": 2.5, "datastream_id": gauge,
    }  # fmt: skip
    given.update(fields)
    return create_rule(db, RuleIn(**given), creator="lin", scope=Scope.everything(), now_us=T0)


def feed(
    evaluator: AlertEvaluator, db: OpsDatabase, gauge: int, values: list[tuple[int, Any]]
) -> list[tuple[str, Any]]:
    """Store and evaluate ``(minute, value)`` rows in one batch; (status, value) of each
    alert raised or cleared."""
    created = store(db, gauge, [(T0 + minute * MINUTE, value) for minute, value in values])
    return [(o.status, o.value) for o in evaluator.evaluate(created, NOW)]


def alerts(db: OpsDatabase) -> list[tuple[str, float | None, int, int | None]]:
    with db.transaction() as session:
        rows = session.scalars(select(Alert).order_by(Alert.id))
        return [(a.status, a.peak_value, a.raised_us, a.cleared_us) for a in rows]


def test_hysteresis_raises_above_and_clears_only_past_the_clear_value(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge, clear_value=2.2)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 2.0), (1, 2.6)]) == [("active", 2.6)]
    assert feed(evaluator, db, gauge, [(2, 2.9), (3, 2.4)]) == []  # 2.4: above 2.2
    assert feed(evaluator, db, gauge, [(4, 2.1)]) == [("cleared", 2.1)]
    assert alerts(db) == [("cleared", 2.9, T0 + MINUTE, T0 + 4 * MINUTE)]
    assert feed(evaluator, db, gauge, [(5, 2.4)]) == []  # below the raise value: nothing


def test_a_below_rule_is_the_mirror_image(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge, condition="below", raise_value=0.5, clear_value=0.8)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 0.4), (1, 0.7), (2, 0.3), (3, 0.8)]) == [
        ("active", 0.4),
        ("cleared", 0.8),
    ]
    assert alerts(db)[0][1] == 0.3  # the lowest is the peak


def test_the_condition_must_hold_for_the_minimum_duration(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge, duration_s=600)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 2.6), (5, 2.7), (9, 2.6)]) == []
    assert feed(evaluator, db, gauge, [(10, 2.6)]) == [("active", 2.6)]
    assert alerts(db)[0][2] == T0 + 10 * MINUTE


def test_a_dip_restarts_the_minimum_duration(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge, duration_s=600)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 2.6), (5, 2.4), (6, 2.6), (14, 2.6)]) == []
    assert feed(evaluator, db, gauge, [(16, 2.6)]) == [("active", 2.6)]


def test_late_rows_neither_raise_nor_clear(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(10, 2.0)]) == []
    assert feed(evaluator, db, gauge, [(5, 9.0)]) == []  # older than what was evaluated
    assert feed(evaluator, db, gauge, [(12, 2.7), (11, 1.0)]) == [("active", 2.7)]  # ordered
    assert feed(evaluator, db, gauge, [(3, 0.0)]) == []  # a late low value does not clear
    with db.transaction() as session:
        state = session.scalars(select(AlertState)).one()
        assert (state.last_us, state.last_value) == (T0 + 12 * MINUTE, 2.7)


def test_text_results_are_not_evaluated(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, "flooded"), (1, True), (2, {"v": 9})]) == []


def test_a_rate_rule_compares_the_change_per_second(db: OpsDatabase) -> None:
    gauge = stream(db)
    # 0.01 per second is 0.6 a minute
    rule(db, gauge, condition="rate_above", raise_value=0.01, clear_value=0.0)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 1.0), (1, 1.5)]) == []  # 0.0083/s
    raised = feed(evaluator, db, gauge, [(2, 2.4)])  # 0.015/s
    assert raised == [("active", pytest.approx(0.015))]
    assert feed(evaluator, db, gauge, [(3, 2.5)]) == []  # still rising
    assert feed(evaluator, db, gauge, [(4, 2.5)]) == [("cleared", 0.0)]


def test_silence_raises_with_the_callers_clock_and_the_next_value_clears(
    db: OpsDatabase,
) -> None:
    gauge, other = stream(db), stream(db, "never heard from")
    rule(db, gauge, condition="silent", raise_value=None, duration_s=900, category="sensor_offline")
    rule(db, other, condition="silent", raise_value=None, duration_s=900)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 1.0)]) == []
    assert evaluator.check_silence(T0 + 14 * MINUTE) == []
    (raised,) = evaluator.check_silence(T0 + 16 * MINUTE)
    assert (raised.status, raised.time_us, raised.datastream_id) == ("active", T0 + 16 * MINUTE,
                                                                    gauge)  # fmt: skip
    assert raised.incident is not None and raised.incident.change == "report"
    assert evaluator.check_silence(T0 + 30 * MINUTE) == []  # raised once
    assert feed(evaluator, db, gauge, [(31, "back")]) == [("cleared", None)]
    with db.transaction() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.alert_active, incident.category) == (False, "sensor_offline")


def _steps(db: OpsDatabase) -> list[tuple[int, str, str | None, str]]:
    with db.transaction() as session:
        rows = session.scalars(select(IncidentStep).order_by(IncidentStep.id))
        return [(s.incident_id, s.action, s.from_status, s.to_status) for s in rows]


def test_an_alert_opens_an_incident_and_later_ones_update_it(db: OpsDatabase) -> None:
    gauge = stream(db, city_object="culvert-7")
    made = rule(db, gauge, clear_value=2.2, category="waterlogging", priority=2)
    evaluator = AlertEvaluator(db)
    (first,) = evaluator.evaluate(store(db, gauge, [(T0, 2.6)]), NOW)
    assert first.incident is not None and first.incident.created
    incident_id = first.incident_id
    opened = first.incident.record
    assert (opened.status, opened.source, opened.reporter, opened.priority) == (
        "reported", "sensor", f"rule:{made.id}", 2,
    )  # fmt: skip
    assert (opened.city_object, opened.jurisdiction, opened.rule_id) == (
        "culvert-7", "440106001001", made.id,
    )  # fmt: skip
    assert (opened.lon, opened.lat, opened.alert_active) == (113.3, 23.1, True)
    assert opened.last_step_id == first.incident.step_id
    later = store(db, gauge, [(T0 + MINUTE, 2.0), (T0 + 2 * MINUTE, 3.0)])
    cleared, raised = evaluator.evaluate(later, NOW)
    assert (cleared.status, raised.status) == ("cleared", "active")
    assert cleared.incident_id == raised.incident_id == incident_id
    assert raised.incident is not None and not raised.incident.created
    assert _steps(db) == [
        (incident_id, "report", None, "reported"),
        (incident_id, "alert_cleared", "reported", "reported"),
        (incident_id, "alert_raised", "reported", "reported"),
    ]
    with db.transaction() as session:  # people close it
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.version == 3 and incident.alert_active
        incident.status = "closed"
    outcomes = evaluator.evaluate(
        store(db, gauge, [(T0 + 3 * MINUTE, 2.0), (T0 + 4 * MINUTE, 2.8)]), NOW
    )
    assert [o.status for o in outcomes] == ["cleared", "active"]
    assert outcomes[0].incident is None  # a closed incident is left as it is
    assert outcomes[1].incident_id not in (None, incident_id)
    assert outcomes[1].incident is not None and outcomes[1].incident.created


def test_a_rule_without_category_raises_alerts_only(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge)
    (raised,) = AlertEvaluator(db).evaluate(store(db, gauge, [(T0, 3.0)]), NOW)
    assert (raised.incident_id, raised.incident) == (None, None)
    with db.transaction() as session:
        assert session.scalars(select(Incident)).all() == []


def test_property_and_class_rules_apply_inside_their_jurisdiction(db: OpsDatabase) -> None:
    from tests.simulation.incidents.alert_rows import TOWN_B, observed_property_of, sibling

    gauge = stream(db, city_object="bridge-1")
    in_town, in_b = sibling(db, gauge, "second"), sibling(db, gauge, "far", jurisdiction=TOWN_B)
    in_pump = sibling(db, gauge, "pump", city_object="pump-3")
    prop = observed_property_of(db, gauge)
    by_property = rule(db, None, observed_property_id=prop, name="level")
    by_class = rule(db, None, object_class="IfcBridge", name="bridges", raise_value=1.0)
    asked: list[set[str]] = []

    def classes_of(ids: Any) -> dict[str, str]:
        asked.append(set(ids))
        return {"bridge-1": "IfcBridge", "pump-3": "IfcBuilding"}

    evaluator = AlertEvaluator(db, classes_of)
    created = [obs for ds in (gauge, in_town, in_b, in_pump)
               for obs in store(db, ds, [(T0, 2.0 if ds == gauge else 3.0)])]  # fmt: skip
    raised = {(o.rule.id, o.datastream_id) for o in evaluator.evaluate(created, NOW)}
    assert raised == {(by_property.id, in_town), (by_property.id, in_pump),
                      (by_class.id, gauge)}  # fmt: skip
    evaluator.evaluate(store(db, gauge, [(T0 + MINUTE, 3.0)]), NOW)
    assert asked == [{"bridge-1", "pump-3"}]  # cached


def test_a_rule_change_takes_effect_after_invalidation(db: OpsDatabase) -> None:
    gauge = stream(db)
    made = rule(db, gauge)
    evaluator = AlertEvaluator(db)
    assert feed(evaluator, db, gauge, [(0, 2.0)]) == []
    update_rule(db, made.id, {"raise_value": 1.5}, scope=Scope.everything(), now_us=T0)
    assert feed(evaluator, db, gauge, [(1, 2.0)]) == []  # the evaluator still has 2.5
    evaluator.invalidate()
    assert feed(evaluator, db, gauge, [(2, 2.0)]) == [("active", 2.0)]
    update_rule(db, made.id, {"enabled": False}, scope=Scope.everything(), now_us=T0)
    evaluator.invalidate()
    assert not evaluator.has_rules()
    assert alerts(db)[0][0] == "cleared"  # disabling cleared it
    update_rule(db, made.id, {"enabled": True}, scope=Scope.everything(), now_us=T0)
    evaluator.invalidate()
    assert feed(evaluator, db, gauge, [(3, 2.0)]) == [("active", 2.0)]  # a new alert
    assert [a[0] for a in alerts(db)] == ["cleared", "active"]


def test_a_failed_batch_leaves_nothing_half_written(db: OpsDatabase, monkeypatch: Any) -> None:
    from simulation.incidents import alerting

    gauge = stream(db)
    rule(db, gauge, category="waterlogging")
    evaluator = AlertEvaluator(db)

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(alerting, "raise_on_incident", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        evaluator.evaluate(store(db, gauge, [(T0, 1.0), (T0 + MINUTE, 3.0)]), NOW)
    assert alerts(db) == []
    with db.transaction() as session:
        assert session.scalars(select(AlertState)).all() == []
    monkeypatch.undo()  # the evaluator read its states again: the next batch raises
    assert feed(evaluator, db, gauge, [(2, 3.5)]) == [("active", 3.5)]


def test_states_are_kept_in_memory_and_persisted_for_a_restart(db: OpsDatabase) -> None:
    gauge = stream(db)
    rule(db, gauge, duration_s=600)
    evaluator = AlertEvaluator(db, persist_every=1000)

    def stored() -> tuple[int | None, int | None]:
        with db.transaction() as session:
            state = session.scalars(select(AlertState)).one()
            return state.condition_since_us, state.last_us

    assert feed(evaluator, db, gauge, [(0, 2.0)]) == []
    assert stored() == (None, T0)  # a new state is written at once
    assert feed(evaluator, db, gauge, [(1, 2.1)]) == []
    assert stored() == (None, T0)  # only its last value moved: written later
    assert feed(evaluator, db, gauge, [(2, 2.6)]) == []
    assert stored() == (T0 + 2 * MINUTE, T0 + 2 * MINUTE)  # the condition started
    assert feed(evaluator, db, gauge, [(5, 2.7)]) == []
    evaluator.persist()
    assert stored() == (T0 + 2 * MINUTE, T0 + 5 * MINUTE)
    restarted = AlertEvaluator(db)
    assert feed(restarted, db, gauge, [(4, 9.0)]) == []  # late for the stored state too
    assert feed(restarted, db, gauge, [(12, 2.6)]) == [("active", 2.6)]  # since minute 2
