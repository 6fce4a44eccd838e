"""Alert rules: validated whole (one target, thresholds with hysteresis, durations, known
categories), made and read inside the caller's jurisdiction, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.errors import (
    IncidentInputError,
    IncidentNotFoundError,
    NotAllowedError,
)
from simulation.incidents.rules import (
    RuleIn,
    create_rule,
    delete_rule,
    get_rule,
    list_rules,
    update_rule,
)
from tests.simulation.incidents.alert_rows import T0, TOWN_A, TOWN_B, VILLAGE_A, stream

COUNTY = Scope.of("440106000000")


@pytest.fixture()
def db(ops_url: str) -> Iterator[OpsDatabase]:
    with OpsDatabase.open(ops_url) as opened:
        yield opened


def _rule(gauge: int | None = None, **fields: Any) -> RuleIn:
    given: dict[str, Any] = {
        "name": "Water level high", "jurisdiction": TOWN_A, "condition": "above",
        "raise_value": 2.5, "duration_s": 600, "datastream_id": gauge,
        "category": "waterlogging",
    }  # fmt: skip
    given.update(fields)
    return RuleIn(**given)


def test_a_rule_is_stored_with_its_defaults_and_read_back(db: OpsDatabase) -> None:
    gauge = stream(db)
    made = create_rule(db, _rule(gauge), creator="lin", scope=COUNTY, now_us=T0)
    assert made.clear_value == 2.5  # default: the raise value
    assert (made.created_by, made.created_us, made.priority, made.enabled) == ("lin", T0, 3, True)
    assert get_rule(db, made.id, COUNTY) == made
    assert list_rules(db, Scope.of(TOWN_A)) == [made]
    assert list_rules(db, Scope.of(TOWN_B)) == []
    with pytest.raises(IncidentNotFoundError, match=f"no alert rule {made.id}"):
        get_rule(db, made.id, Scope.of(TOWN_B))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"datastream_id": None}, r"exactly one .*given: none"),
        ({"observed_property_id": 1}, r"exactly one .*given: datastream, observed property"),
        ({"condition": "above", "clear_value": 2.6}, "clears at or below its raise value 2.5"),
        ({"condition": "below", "clear_value": 2.4}, "clears at or above its raise value 2.5"),
        ({"condition": "between"}, "condition 'between': one of above, below"),
        ({"raise_value": None}, "needs a raise value"),
        ({"raise_value": float("nan")}, "finite number"),
        ({"raise_value": True}, "finite number"),
        ({"duration_s": -1}, "duration must be 0 to"),
        ({"duration_s": 1.5}, "whole number of seconds"),
        ({"condition": "silent", "raise_value": None, "duration_s": 0}, "silent rule needs"),
        ({"condition": "silent", "duration_s": 900}, "no raise or clear value"),
        ({"category": "fire"}, "unknown category 'fire'"),
        ({"priority": 7}, "priority 7"),
        ({"name": "  "}, "needs a name"),
        ({"name": "a\x00b"}, "needs a name"),
        ({"datastream_id": None, "object_class": "Ifc\x00"}, "an object class of 1 to 64"),
        ({"jurisdiction": "4401"}, "not 12 digits"),
        ({"jurisdiction": "440106002000"}, "outside the rule's jurisdiction 440106002000"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_problem(
    db: OpsDatabase, fields: dict[str, Any], message: str
) -> None:
    gauge = stream(db)
    with pytest.raises(IncidentInputError, match=message):
        create_rule(db, _rule(gauge, **fields), creator="lin", scope=COUNTY, now_us=T0)
    assert list_rules(db, Scope.everything()) == []


def test_hysteresis_is_accepted_in_the_right_direction(db: OpsDatabase) -> None:
    gauge = stream(db)
    above = create_rule(db, _rule(gauge, clear_value=2.2), creator="lin", scope=COUNTY, now_us=T0)
    below = create_rule(
        db, _rule(gauge, condition="below", raise_value=0.5, clear_value=0.8),
        creator="lin", scope=COUNTY, now_us=T0,
    )  # fmt: skip
    silent = create_rule(
        db, _rule(gauge, condition="silent", raise_value=None, duration_s=900, category=None),
        creator="lin", scope=COUNTY, now_us=T0,
    )  # fmt: skip
    assert (above.clear_value, below.clear_value, silent.raise_value) == (2.2, 0.8, None)


def test_a_rule_stays_inside_the_creators_jurisdiction(db: OpsDatabase) -> None:
    mine, theirs = stream(db, "mine"), stream(db, "theirs", jurisdiction=TOWN_B)
    town = Scope.of(TOWN_A)
    with pytest.raises(NotAllowedError, match="440106000000 is outside yours"):
        create_rule(db, _rule(mine, jurisdiction="440106000000"), creator="a", scope=town,
                    now_us=T0)  # fmt: skip
    with pytest.raises(IncidentInputError, match=f"Datastream {theirs} does not exist or is out"):
        create_rule(db, _rule(theirs, jurisdiction=TOWN_A), creator="a", scope=town, now_us=T0)
    with pytest.raises(IncidentInputError, match="ObservedProperty 999 does not exist"):
        create_rule(db, _rule(None, observed_property_id=999), creator="a", scope=town,
                    now_us=T0)  # fmt: skip
    made = create_rule(db, _rule(mine, jurisdiction=VILLAGE_A), creator="a", scope=town, now_us=T0)
    assert made.jurisdiction == VILLAGE_A


def test_a_change_is_checked_whole_and_a_delete_needs_the_scope(db: OpsDatabase) -> None:
    gauge = stream(db)
    made = create_rule(db, _rule(gauge, clear_value=2.2), creator="lin", scope=COUNTY, now_us=T0)
    with pytest.raises(IncidentInputError, match="clears at or below its raise value 2"):
        update_rule(db, made.id, {"raise_value": 2.0}, scope=COUNTY, now_us=T0 + 1)
    with pytest.raises(IncidentInputError, match="a rule has no field colour"):
        update_rule(db, made.id, {"colour": "red"}, scope=COUNTY, now_us=T0 + 1)
    changed = update_rule(
        db, made.id, {"raise_value": 3.0, "enabled": False}, scope=COUNTY, now_us=T0 + 1
    )
    assert (changed.raise_value, changed.clear_value, changed.enabled) == (3.0, 2.2, False)
    assert changed.updated_us == T0 + 1 and changed.created_us == T0
    below = update_rule(db, made.id, {"condition": "below"}, scope=COUNTY, now_us=T0 + 2)
    assert below.clear_value == 3.0  # a new condition takes the raise value as clear value
    with pytest.raises(IncidentNotFoundError):
        delete_rule(db, made.id, scope=Scope.of(TOWN_B), now_us=T0 + 3)
    assert delete_rule(db, made.id, scope=COUNTY, now_us=T0 + 3).id == made.id
    assert list_rules(db, Scope.everything()) == []
