"""Every refusal of a step names what is missing: the role, the jurisdiction, the
department, the status, the note, the department dispatched to, the version seen; and a
refused step leaves the incident as it was."""

from __future__ import annotations

import threading

import pytest

from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.errors import (
    IncidentInputError,
    IncidentNotFoundError,
    NotAllowedError,
    WrongStatusError,
)
from simulation.incidents.incidents import (
    get_incident,
    incident_history,
    report_incident,
    take_step,
)
from simulation.incidents.records import IncidentRecord
from tests.simulation.incidents.people import (
    CITY,
    COUNTY,
    COUNTY_MANAGER,
    COUNTY_WATER,
    ENVIRONMENT,
    HUACHENG,
    OTHER_MANAGER,
    OTHER_TOWN,
    T0,
    TOWN,
    VIEWER,
    WATER,
    ZHANG,
    report,
)


def _dispatched(db: OpsDatabase) -> IncidentRecord:
    record = report_incident(db, report(), HUACHENG, now_us=T0)
    take_step(db, record.id, "register", ZHANG, now_us=T0 + 1)
    return take_step(db, record.id, "dispatch", ZHANG, now_us=T0 + 2, department="water")


def _unchanged(db: OpsDatabase, before: IncidentRecord) -> None:
    after = get_incident(db, before.id, Scope.everything())
    assert after == IncidentRecord(**{**before.__dict__, "last_step_id": None})
    assert len(incident_history(db, before.id, Scope.everything())) == before.version


def test_a_role_without_the_permission_is_refused_naming_it(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    with pytest.raises(
        NotAllowedError,
        match=r"registering needs the 'dispatch' permission \(manager\); huacheng is an operator",
    ):
        take_step(ops_db, record.id, "register", HUACHENG, now_us=T0 + 1)
    take_step(ops_db, record.id, "register", ZHANG, now_us=T0 + 1)
    with pytest.raises(
        NotAllowedError,
        match=r"dispatching needs the 'dispatch' permission \(manager\); huacheng is an operator",
    ):
        take_step(ops_db, record.id, "dispatch", HUACHENG, now_us=T0 + 2, department="water")
    with pytest.raises(NotAllowedError, match="commenting needs the 'report' permission"):
        take_step(ops_db, record.id, "comment", VIEWER, now_us=T0 + 2, note="hello")
    with pytest.raises(NotAllowedError, match="reporting needs the 'report' permission"):
        report_incident(ops_db, report(), VIEWER, now_us=T0)


def test_another_jurisdiction_does_not_see_the_incident(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    with pytest.raises(IncidentNotFoundError, match=f"no incident {record.id}"):
        take_step(ops_db, record.id, "register", OTHER_MANAGER, now_us=T0 + 1)
    with pytest.raises(NotAllowedError, match=f"jurisdiction {TOWN[:9]}.*outside liwan's"):
        report_incident(ops_db, report(jurisdiction="440106001002"), OTHER_MANAGER, now_us=T0)
    _unchanged(ops_db, get_incident(ops_db, record.id, Scope.everything()))


def test_only_the_department_dispatched_to_takes_it_up(ops_db: OpsDatabase) -> None:
    record = _dispatched(ops_db)
    with pytest.raises(
        NotAllowedError,
        match=r"dispatched to \(water of 440106001000\); huanbao works for environment",
    ):
        take_step(ops_db, record.id, "accept", ENVIRONMENT, now_us=T0 + 3)
    with pytest.raises(NotAllowedError, match="zhang works for no department"):
        take_step(ops_db, record.id, "accept", ZHANG, now_us=T0 + 3)
    _unchanged(ops_db, record)
    assert take_step(ops_db, record.id, "accept", WATER, now_us=T0 + 3).status == "handling"


def test_the_department_must_be_of_the_node_dispatched_to(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    take_step(ops_db, record.id, "register", COUNTY_MANAGER, now_us=T0 + 1)
    record = take_step(
        ops_db, record.id, "dispatch", COUNTY_MANAGER, now_us=T0 + 2, department="water"
    )
    assert record.department_jurisdiction == COUNTY
    # the town's water office works for water, but not for Tianhe's
    with pytest.raises(NotAllowedError, match="water department of 440106000000; shuiwu works in"):
        take_step(ops_db, record.id, "accept", WATER, now_us=T0 + 3)
    assert take_step(ops_db, record.id, "accept", COUNTY_WATER, now_us=T0 + 3).status == "handling"


def test_a_step_the_status_does_not_allow_is_a_conflict(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    with pytest.raises(WrongStatusError, match="'close' starts from verified"):
        take_step(ops_db, record.id, "close", ZHANG, now_us=T0 + 1)
    with pytest.raises(IncidentInputError, match="unknown action 'burn': use register"):
        take_step(ops_db, record.id, "burn", ZHANG, now_us=T0 + 1)
    _unchanged(ops_db, record)


@pytest.mark.parametrize("action", ["reject", "suspend", "comment"])
def test_a_step_that_needs_a_note_is_refused_without_one(ops_db: OpsDatabase, action: str) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    if action == "suspend":
        record = take_step(ops_db, record.id, "register", ZHANG, now_us=T0 + 1)
    with pytest.raises(IncidentInputError, match="needs a note"):
        take_step(ops_db, record.id, action, ZHANG, now_us=T0 + 2, note="   ")
    _unchanged(ops_db, record)


def test_a_dispatch_needs_a_known_department_of_a_node_above_the_incident(
    ops_db: OpsDatabase,
) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    record = take_step(ops_db, record.id, "register", COUNTY_MANAGER, now_us=T0 + 1)
    with pytest.raises(IncidentInputError, match="dispatching needs a department: use water"):
        take_step(ops_db, record.id, "dispatch", COUNTY_MANAGER, now_us=T0 + 2)
    with pytest.raises(IncidentInputError, match="unknown department 'police'"):
        take_step(ops_db, record.id, "dispatch", COUNTY_MANAGER, now_us=T0 + 2, department="police")
    with pytest.raises(
        IncidentInputError, match="incident's jurisdiction 440106001001 or a node above"
    ):
        take_step(
            ops_db, record.id, "dispatch", COUNTY_MANAGER, now_us=T0 + 2,
            department="water", department_jurisdiction=OTHER_TOWN,
        )  # fmt: skip
    with pytest.raises(NotAllowedError, match="water department of 440100000000: it is outside"):
        take_step(
            ops_db, record.id, "dispatch", COUNTY_MANAGER, now_us=T0 + 2,
            department="water", department_jurisdiction=CITY,
        )  # fmt: skip
    _unchanged(ops_db, record)


def test_a_step_on_a_stale_version_is_refused(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    seen = record.version
    take_step(ops_db, record.id, "comment", HUACHENG, now_us=T0 + 1, note="Still there")
    with pytest.raises(WrongStatusError, match="changed meanwhile"):
        take_step(ops_db, record.id, "register", ZHANG, now_us=T0 + 2, expected_version=seen)
    assert (
        take_step(
            ops_db, record.id, "register", ZHANG, now_us=T0 + 2, expected_version=seen + 1
        ).status
        == "registered"
    )


def test_two_concurrent_steps_cannot_both_pass(ops_db: OpsDatabase) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def register(index: int) -> None:
        barrier.wait()
        try:
            take_step(ops_db, record.id, "register", ZHANG, now_us=T0 + index)
            outcomes.append("registered")
        except WrongStatusError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("registered") == 1, outcomes
    history = incident_history(ops_db, record.id, Scope.everything())
    assert [step.action for step in history] == ["report", "register"]
