"""The closed loop's foundation: the workflow's transitions, the code lists, and a history
that cannot be edited on either backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from cim.ops import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentStep
from simulation.incidents.codes import categories, category, departments
from simulation.incidents.errors import IncidentInputError, WrongStatusError
from simulation.incidents.steps import append_step, due_time, enter_status
from simulation.incidents.workflow import ACTIONS, STATUSES, TIMED_STATUSES, next_status

T0 = 1_796_000_000_000_000


@pytest.fixture()
def ops_db(ops_url: str) -> Iterator[OpsDatabase]:
    with OpsDatabase.open(ops_url) as db:
        yield db


def test_the_loop_from_report_to_closure() -> None:
    status = "reported"
    for action in ("register", "dispatch", "accept", "handle", "verify", "close"):
        status = next_status(status, action)
    assert status == "closed" and STATUSES[status].final


def test_a_failed_check_goes_back_to_dispatch_and_suspension_resumes() -> None:
    assert next_status("handled", "send_back") == "registered"
    assert next_status("dispatched", "return") == "registered"
    assert next_status(next_status("handling", "suspend"), "resume") == "registered"
    assert next_status("dispatched", "comment") == "dispatched"


@pytest.mark.parametrize(
    ("status", "action"), [("reported", "dispatch"), ("closed", "comment"), ("handled", "close")]
)
def test_a_step_from_the_wrong_status_names_where_it_starts(status: str, action: str) -> None:
    with pytest.raises(WrongStatusError, match=f"'{action}' starts from"):
        next_status(status, action)


def test_every_action_leads_to_a_known_status_and_needs_a_known_permission() -> None:
    from api.auth.roles import ACTIONS as PERMISSIONS

    for action in ACTIONS.values():
        assert action.target is None or action.target in STATUSES
        assert set(action.sources) <= set(STATUSES)
        assert action.permission in PERMISSIONS


def test_every_category_has_a_department_and_a_limit_per_timed_status() -> None:
    for entry in categories().values():
        assert entry.department in departments()
        assert set(entry.limits_minutes) == set(TIMED_STATUSES)
        assert all(minutes > 0 for minutes in entry.limits_minutes.values())
    assert due_time("waterlogging", "reported", T0) == T0 + 10 * 60_000_000
    assert due_time("waterlogging", "suspended", T0) is None
    with pytest.raises(IncidentInputError, match=r"unknown category 'fire'.*waterlogging"):
        category("fire")


def _incident(db: OpsDatabase) -> int:
    with db.transaction() as session:
        incident = Incident(
            category="road_damage", title="Pothole", description="", priority=3,
            source="inspector", jurisdiction="440106001001", alert_active=False,
            reporter="huacheng", created_us=T0, escalation_level=0,
        )  # fmt: skip
        enter_status(incident, "reported", T0)
        session.add(incident)
        session.flush()
        append_step(
            session, incident, "report", from_status=None, actor="huacheng",
            actor_kind="user", actor_jurisdiction="440106001000", now_us=T0,
        )  # fmt: skip
        return incident.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incident_steps SET note = 'rewritten'",
        "DELETE FROM incident_steps",
        "DELETE FROM incidents",
    ],
)
def test_the_history_cannot_be_edited(ops_db: OpsDatabase, statement: str) -> None:
    incident_id = _incident(ops_db)
    with pytest.raises(DBAPIError, match="append-only"), ops_db.engine.begin() as connection:
        connection.execute(text(statement))
    with ops_db.transaction() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.version == 1
        assert incident.due_us == T0 + category("road_damage").limit_us("reported")  # type: ignore[operator]
        (step,) = session.scalars(select(IncidentStep)).all()
        assert (step.action, step.to_status, step.note) == ("report", "reported", "")


def test_an_incident_itself_changes_status(ops_db: OpsDatabase) -> None:
    incident_id = _incident(ops_db)
    with ops_db.transaction() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        enter_status(incident, next_status("reported", "reject"), T0 + 5)
    with ops_db.transaction() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.status, incident.closed_us, incident.due_us) == (
            "not_accepted",
            T0 + 5,
            None,
        )
