"""The alert engine's wiring: observation events carry their stored observation to it, and
it listens to ingest only while a rule is enabled."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.alert_engine import alert_engine_of
from api.auth.state import auth_state_of
from api.events import Event, event_hub_of
from api.sta.publish import observation_events
from cim.ops import OpsDatabase
from cim.scope import Scope
from simulation.incidents.rules import RuleIn, create_rule
from tests.api.sta.writing import empty_city_app
from tests.simulation.incidents.alert_rows import T0, VILLAGE_A, store, stream


def test_an_observation_event_carries_its_stored_observation(tmp_path: Path) -> None:
    with OpsDatabase.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as db:
        gauge = stream(db)
        created = store(db, gauge, [(T0, 2.0), (T0 + 1, 3.0)])
        events = observation_events(db, created, "http://host")
    assert [event.source for event in events] == created
    plain = Event("observation", VILLAGE_A, events[0].data)
    assert plain == events[0] and plain.source is None  # never compared
    assert "source" not in repr(events[0])


def test_the_engine_listens_only_while_a_rule_is_enabled(tmp_path: Path) -> None:
    app = empty_city_app(tmp_path / "city")
    hub = event_hub_of(app)
    with TestClient(app):
        engine = alert_engine_of(app)
        assert engine is not None and engine.drain()
        assert not engine.listening and not hub.has_takers  # ingest makes no events
        db = auth_state_of(app).db
        gauge = stream(db)
        made = create_rule(db, RuleIn("high", VILLAGE_A, "above", 1.0, datastream_id=gauge),
                           creator="t", scope=Scope.everything(), now_us=T0)  # fmt: skip
        assert not engine.listening  # a rule written behind its back (the demo, a command)
        engine.check_silence()  # is read at its next tick
        assert engine.drain() and engine.listening and hub.has_takers
        hub.publish_all(observation_events(db, store(db, gauge, [(T0, 2.0)]), "/"))
        assert engine.drain() and engine.evaluated == 1
        from simulation.incidents.rules import delete_rule

        delete_rule(db, made.id, scope=Scope.everything(), now_us=T0)
        engine.rules_changed()
        assert not engine.listening
    assert alert_engine_of(app) is None  # stopped with the app
