"""An incident's whole loop in the domain, on SQLite and PostgreSQL: report, register,
dispatch, take up, handle with a photo, verify, close; who may take each step now."""

from __future__ import annotations

import pytest

from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.codes import category
from simulation.incidents.errors import IncidentNotFoundError
from simulation.incidents.incidents import (
    allowed_actions,
    get_incident,
    incident_history,
    report_incident,
    take_step,
)
from tests.simulation.incidents.people import (
    COUNTY_MANAGER,
    HUACHENG,
    MINUTE,
    OTHER_MANAGER,
    T0,
    TOWN,
    VILLAGE,
    WATER,
    ZHANG,
    photo,
    report,
)


def test_the_whole_loop_from_report_to_closure(ops_db: OpsDatabase) -> None:
    reported = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    assert (reported.status, reported.priority, reported.reporter) == ("reported", 1, "huacheng")
    assert reported.due_us == T0 + category("waterlogging").limit_us("reported")  # type: ignore[operator]
    assert reported.version == 1 and reported.last_step_id is not None

    steps = [
        ("register", ZHANG, {}),
        ("dispatch", ZHANG, {"department": "water", "department_jurisdiction": TOWN}),
        ("accept", WATER, {}),
        ("handle", WATER, {"note": "Drain cleared", "attachments": [photo("after.png")]}),
        ("verify", HUACHENG, {"note": "No water left"}),
        ("close", ZHANG, {}),
    ]
    now = T0
    for action, actor, extra in steps:
        now += MINUTE
        record = take_step(ops_db, reported.id, action, actor, now_us=now, **extra)  # type: ignore[arg-type]
    assert record.status == "closed" and record.closed_us == now and record.due_us is None
    assert (record.department, record.department_jurisdiction) == ("water", TOWN)
    assert record.version == 7

    history = incident_history(ops_db, reported.id, Scope.of(TOWN))
    assert [(s.action, s.from_status, s.to_status, s.actor) for s in history] == [
        ("report", None, "reported", "huacheng"),
        ("register", "reported", "registered", "zhang"),
        ("dispatch", "registered", "dispatched", "zhang"),
        ("accept", "dispatched", "handling", "shuiwu"),
        ("handle", "handling", "handled", "shuiwu"),
        ("verify", "handled", "verified", "huacheng"),
        ("close", "verified", "closed", "zhang"),
    ]
    handle = history[4]
    assert (handle.note, handle.department, handle.at_us) == (
        "Drain cleared",
        "water",
        T0 + 4 * MINUTE,
    )
    (attached,) = handle.attachments
    assert attached.media_type == "image/png" and attached.filename == "after.png"
    assert history[2].data == {"department": "water", "departmentJurisdiction": TOWN}


def test_each_step_restarts_the_time_limit_of_the_new_status(ops_db: OpsDatabase) -> None:
    reported = report_incident(
        ops_db, report(category="road_damage", priority=2), HUACHENG, now_us=T0
    )
    assert reported.priority == 2
    registered = take_step(ops_db, reported.id, "register", ZHANG, now_us=T0 + 7)
    limit = category("road_damage").limit_us("registered")
    assert (registered.status_since_us, registered.due_us) == (T0 + 7, T0 + 7 + limit)  # type: ignore[operator]
    suspended = take_step(ops_db, reported.id, "suspend", ZHANG, now_us=T0 + 9, note="Needs budget")
    assert suspended.due_us is None and not suspended.overdue(T0 + 10**12)


def test_the_actions_offered_follow_status_role_and_department(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    assert allowed_actions(record, ZHANG) == ["register", "reject", "comment"]
    assert allowed_actions(record, HUACHENG) == ["comment"]
    assert allowed_actions(record, OTHER_MANAGER) == []
    assert allowed_actions(record, COUNTY_MANAGER) == ["register", "reject", "comment"]
    take_step(ops_db, record.id, "register", ZHANG, now_us=T0 + 1)
    record = take_step(ops_db, record.id, "dispatch", ZHANG, now_us=T0 + 2, department="water")
    assert record.department_jurisdiction == TOWN  # the dispatcher's own node by default
    assert allowed_actions(record, WATER) == ["accept", "return", "comment"]
    assert allowed_actions(record, HUACHENG) == ["comment"]
    assert allowed_actions(record, ZHANG) == ["suspend", "comment"]


def test_outside_the_scope_an_incident_is_not_found(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    assert get_incident(ops_db, record.id, Scope.of(VILLAGE)).id == record.id
    with pytest.raises(IncidentNotFoundError):
        get_incident(ops_db, record.id, OTHER_MANAGER.scope)
    with pytest.raises(IncidentNotFoundError):
        incident_history(ops_db, record.id, OTHER_MANAGER.scope)
    with pytest.raises(IncidentNotFoundError):
        get_incident(ops_db, record.id + 1000, Scope.everything())
