"""Alert rules evaluated on ingest: a listener of the app's ``"observation"`` events and a
thread of its own that evaluates them in batches.

The listener only queues the stored observation each event carries (``Event.source``), so
the ingest paths (SensorThings over HTTP, data arrays, MQTT, the demo replay, all through
:func:`api.sta.publish.observation_events`) never wait for rules. The engine's thread
takes everything queued at once as one batch
(:meth:`simulation.incidents.alerting.AlertEvaluator.evaluate`: one transaction), checks
silent rules every ``CIMTWIN_SILENCE_CHECK_SECONDS`` with the app's clock (and then writes
the rule states whose last value alone moved, as it does when it stops), and publishes an
``"alert"`` event per alert raised or cleared and an ``"incident"`` event per incident step
an alert added (:func:`api.incident_json.incident_event`, as for every incident change).

The engine listens only while some rule is enabled (it queues nothing otherwise); rule
writes call
:meth:`AlertEngine.rules_changed`, and each silence tick reads the rules again (rules written
by another process count within ``CIMTWIN_SILENCE_CHECK_SECONDS``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.events import Event, event_hub_of
from api.hub_worker import STOP, HubWorker
from api.incident_json import incident_event
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.incidents.alerting import AlertEvaluator, AlertOutcome
from simulation.sensors.records import StoredObservation
from simulation.sensors.times import format_time

log = logging.getLogger(__name__)

# Most observations evaluated in one batch (one transaction).
BATCH_MAX = 5000
# Entity changes that change which rules apply to a datastream, or where it is.
PLACING_TYPES = frozenset({"Datastream", "Thing", "Location"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AlertEngine(HubWorker):
    """The rules of one app, evaluated on what it stores."""

    name = "alert engine"
    batch_max = BATCH_MAX

    def __init__(self, app: FastAPI, silence_seconds: float | None = None) -> None:
        from api.settings import get_settings

        period = (
            get_settings().silence_check_seconds if silence_seconds is None else silence_seconds
        )
        super().__init__(event_hub_of(app), period)
        self.app = app
        self.silence_seconds = period
        self.evaluated = 0
        self._evaluator: AlertEvaluator | None = None

    def check_silence(self) -> None:
        """Check silent rules now (in the engine's thread; :meth:`drain` waits for it)."""
        self.wake_periodic()

    def rules_changed(self) -> None:
        """Rules were created, changed or deleted: read them again, and listen to ingest
        only when some rule is enabled."""
        evaluator = self.evaluator()
        evaluator.invalidate()
        self.listen(evaluator.has_rules())

    # --- the listener (publishing threads) ------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Queue a stored observation; forget datastream placements that changed."""
        if event.kind == "observation":
            if isinstance(event.source, StoredObservation):
                self.put(event.source)
        elif (
            event.kind == "entity"
            and event.data.get("type") in PLACING_TYPES
            and self._evaluator is not None
        ):
            self._evaluator.invalidate(rules=False)

    # --- the engine's thread --------------------------------------------------------------

    def evaluator(self) -> AlertEvaluator:
        """The evaluator over the app's current operational database."""
        db = _database(self.app)
        with self._lock:
            if self._evaluator is None or self._evaluator.db is not db:
                self._evaluator = AlertEvaluator(db, _classes_resolver(self.app.state.city_dir))
            return self._evaluator

    def now_us(self) -> int:
        """The app's clock, in microseconds since the epoch."""
        from api.auth.state import auth_state_of

        return (auth_state_of(self.app).clock() - _EPOCH) // _MICROSECOND

    def handle(self, batch: list[object], periodic: bool) -> None:
        """Evaluate the batch's observations; check silent rules when due; keep the rules'
        states before the thread stops."""
        observations = [item for item in batch if isinstance(item, StoredObservation)]
        if observations:
            self._evaluate(observations)
        if periodic:
            self._silence()
        if STOP in batch and self._evaluator is not None:
            self._evaluator.persist()

    def _evaluate(self, observations: list[StoredObservation]) -> None:
        outcomes = self.evaluator().evaluate(observations, self.now_us())
        self.evaluated += len(observations)
        self._publish(outcomes)

    def _silence(self) -> None:
        evaluator = self.evaluator()
        evaluator.invalidate()  # rules another process wrote (the demo, a command) too
        self.listen(evaluator.has_rules())
        self._publish(evaluator.check_silence(self.now_us()))
        evaluator.persist()

    def _publish(self, outcomes: list[AlertOutcome]) -> None:
        if not outcomes:
            return
        now = self.now_us()
        events: list[Event] = []
        for outcome in outcomes:
            events.append(Event("alert", outcome.jurisdiction, alert_json(outcome)))
            if outcome.incident is not None:
                touch = outcome.incident
                events.append(incident_event(touch.record, touch.change, now, touch.step_id))
        self.hub.publish_all(events)


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _database(app: FastAPI) -> OpsDatabase:
    from api.auth.state import auth_state_of

    return auth_state_of(app).db


def _classes_resolver(city_dir: Path) -> Any:
    """``classes_of(object ids)``: the class of each object of the city store."""

    def classes_of(ids: Collection[str]) -> Mapping[str, str]:
        from cim.store import CityStore

        with CityStore.open(city_dir) as store:
            return {r.id: r.cls for r in store.records(ids, scope=Scope.everything())}

    return classes_of


def alert_json(outcome: AlertOutcome) -> dict[str, Any]:
    """The data of an ``"alert"`` event."""
    return {
        "id": outcome.alert_id,
        "ruleId": outcome.rule.id,
        "ruleName": outcome.rule.name,
        "datastreamId": outcome.datastream_id,
        "cityObject": outcome.city_object,
        "status": outcome.status,
        "value": outcome.value,
        "time": format_time(outcome.time_us),
        "incidentId": outcome.incident_id,
        "category": outcome.rule.category,
        "lon": outcome.lon,
        "lat": outcome.lat,
    }


def alert_engine_of(app: FastAPI) -> AlertEngine | None:
    """The app's running engine (None before the app has started, or when it has no city
    folder)."""
    engine: AlertEngine | None = getattr(app.state, "alert_engine", None)
    return engine


@asynccontextmanager
async def run_alert_engine(app: FastAPI) -> AsyncIterator[AlertEngine | None]:
    """While the app serves, run its alert engine (not for an app without a city folder)."""
    import asyncio

    city: Path = app.state.city_dir
    if not city.is_dir():
        yield None
        return
    engine = AlertEngine(app)
    engine.start()
    app.state.alert_engine = engine
    try:
        yield engine
    finally:
        app.state.alert_engine = None
        await asyncio.to_thread(engine.stop)
