"""Time limits and escalation with a controlled clock: overdue flags, one level up per
limit elapsed, never above the province, idempotent; the parent's manager may then act."""

from __future__ import annotations

import pytest

from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.codes import category
from simulation.incidents.escalation import escalate_overdue
from simulation.incidents.incidents import (
    allowed_actions,
    get_incident,
    incident_history,
    list_incidents,
    report_incident,
    take_step,
)
from simulation.incidents.records import IncidentQuery
from tests.simulation.incidents.people import (
    CITY,
    COUNTY,
    HUACHENG,
    PROVINCE,
    T0,
    TOWN,
    VILLAGE,
    ZHANG,
    person,
    report,
)

LIMIT = category("waterlogging").limit_us("reported") or 0
HUACHENG_PROVINCE = person("gd_inspector", PROVINCE)


def test_an_incident_is_overdue_once_its_limit_has_passed(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    due = T0 + LIMIT
    assert record.due_us == due
    assert not record.overdue(due) and record.overdue(due + 1)
    everything = Scope.everything()
    assert list_incidents(ops_db, everything, IncidentQuery(overdue_at_us=due))[1] == 0
    assert list_incidents(ops_db, everything, IncidentQuery(overdue_at_us=due + 1))[1] == 1
    assert escalate_overdue(ops_db, due) == []


def test_one_level_per_limit_elapsed_and_never_above_the_province(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    due = T0 + LIMIT

    (first,) = escalate_overdue(ops_db, due + 1)
    assert (first.escalated_to, first.escalation_level) == (TOWN, 1)
    assert escalate_overdue(ops_db, due + 1) == []  # idempotent
    assert escalate_overdue(ops_db, due + LIMIT - 1) == []
    (second,) = escalate_overdue(ops_db, due + 2 * LIMIT)  # two more limits: two levels
    assert (second.escalated_to, second.escalation_level) == (CITY, 3)
    (third,) = escalate_overdue(ops_db, due + 10 * LIMIT)
    assert (third.escalated_to, third.escalation_level) == (PROVINCE, 4)
    assert escalate_overdue(ops_db, due + 20 * LIMIT) == []

    steps = [
        s for s in incident_history(ops_db, record.id, Scope.everything()) if s.action == "escalate"
    ]
    assert [(s.data or {})["to"] for s in steps] == [TOWN, COUNTY, CITY, PROVINCE]
    assert [(s.data or {})["from"] for s in steps] == [VILLAGE, TOWN, COUNTY, CITY]
    assert (steps[0].actor, steps[0].actor_kind, steps[0].to_status) == (
        "system",
        "system",
        "reported",
    )
    assert (steps[0].data or {})["overdueBy"] == 0
    assert (steps[1].data or {})["overdueBy"] == 2 * LIMIT // 1_000_000
    assert third.last_step_id == steps[-1].id
    assert get_incident(ops_db, record.id, Scope.everything()).version == 5


def test_a_new_status_restarts_the_count_but_keeps_the_level(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    escalate_overdue(ops_db, T0 + LIMIT + 1)
    county_manager = person("tianhe", COUNTY, "manager")
    now = T0 + LIMIT + 5
    registered = take_step(ops_db, record.id, "register", county_manager, now_us=now)
    assert registered.escalated_to == TOWN and not registered.overdue(now)
    assert escalate_overdue(ops_db, now + 1) == []
    limit = category("waterlogging").limit_us("registered") or 0
    (again,) = escalate_overdue(ops_db, now + limit + 1)
    assert (again.escalated_to, again.escalation_level) == (COUNTY, 2)


def test_after_escalation_the_parents_manager_can_act(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    escalate_overdue(ops_db, T0 + 3 * LIMIT + 1)
    escalated = get_incident(ops_db, record.id, Scope.everything())
    assert escalated.escalated_to == CITY
    city_manager = person("guangzhou", CITY, "manager")
    assert "register" in allowed_actions(escalated, city_manager)
    assert "register" in allowed_actions(escalated, ZHANG)  # the town keeps it too
    done = take_step(ops_db, record.id, "register", city_manager, now_us=T0 + 3 * LIMIT + 2)
    assert done.status == "registered"
    escalated_list, total = list_incidents(
        ops_db, city_manager.scope, IncidentQuery(escalated=True)
    )
    assert total == 1 and escalated_list[0].id == record.id


def test_final_and_suspended_incidents_are_never_escalated(ops_db: OpsDatabase) -> None:
    rejected = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    take_step(ops_db, rejected.id, "reject", ZHANG, now_us=T0 + 1, note="Duplicate")
    suspended = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    take_step(ops_db, suspended.id, "register", ZHANG, now_us=T0 + 1)
    take_step(ops_db, suspended.id, "suspend", ZHANG, now_us=T0 + 2, note="Needs works")
    assert escalate_overdue(ops_db, T0 + 100 * LIMIT) == []


def test_an_incident_changed_while_escalation_looked_is_left_for_the_next_run(
    ops_db: OpsDatabase,
) -> None:
    from cim.ops.incident_tables import Incident
    from simulation.incidents.actors import Actor
    from simulation.incidents.escalation import _escalate

    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    late = T0 + LIMIT + 1
    with ops_db.transaction() as session:
        row = session.get(Incident, record.id)  # read by the escalation...
        assert row is not None
        # ... and meanwhile changed by someone else
        take_step(ops_db, record.id, "register", ZHANG, now_us=late)
        assert _escalate(session, row, late, Actor.system()) is None
    after = get_incident(ops_db, record.id, Scope.everything())
    assert (after.status, after.version, after.escalated_to) == ("registered", 2, None)
    assert [s.action for s in incident_history(ops_db, record.id, Scope.everything())] == [
        "report",
        "register",
    ]


def test_incidents_escalated_as_far_as_owed_do_not_fill_a_run(
    ops_db: OpsDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.incidents import escalation

    monkeypatch.setattr(escalation, "BATCH", 1)
    first = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    second = report_incident(ops_db, report(), HUACHENG, now_us=T0 + 1)
    at_province = report_incident(
        ops_db, report(jurisdiction=PROVINCE), HUACHENG_PROVINCE, now_us=T0
    )
    late = T0 + LIMIT + 2
    assert [r.id for r in escalate_overdue(ops_db, late)] == [first.id]
    assert [r.id for r in escalate_overdue(ops_db, late)] == [second.id]
    assert escalate_overdue(ops_db, late) == []
    assert get_incident(ops_db, at_province.id, Scope.everything()).escalation_level == 0
