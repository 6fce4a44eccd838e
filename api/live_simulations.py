"""Simulations started by the live twin: the flood recomputed when a water level raises an
alert, and pollution fields refreshed as observations arrive.

A listener of the app's events queues what matters (``"alert"`` events raised, stored
observations) for a thread of its own, so that publishing never waits:

- an alert raised on a datastream whose observed property is a water level (its name or
  definition contains one of ``CIMTWIN_FLOOD_PROPERTIES``, default ``water level``)
  submits a ``flood`` run with ``{"datastream_id": ...}`` (and ``gauge_datum_m`` when the
  datastream's properties give ``gaugeDatum``: the height of the gauge's zero, in the
  city's heights) in the alert's jurisdiction,
  its trigger naming the alert and the rule. A ``"simulation"`` event tells the viewers
  (``status`` ``queued``, the job's URL), and the alert's incident (when it opened one)
  gets a ``simulation`` step holding the same; once the job ends, another event and step
  carry the run's id, URL and summary (or the job's error);
- an observation of a property with a live field (``CIMTWIN_LIVE_FIELDS``, default
  ``PM2.5``: names or definitions, comma-separated) marks its field stale; a stale field
  is recomputed (a ``pollution`` run in the city's root jurisdiction) at most every
  ``CIMTWIN_FIELD_REFRESH_SECONDS`` of the app's clock, and never while its last run is
  still queued.

The listener is on only while the operational database holds a datastream of one of those
properties (checked at start, every ``CIMTWIN_SILENCE_CHECK_SECONDS`` and by
:meth:`LiveSimulations.refresh`), so ingest without them makes no events for it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI
from sqlalchemy import select

from api.events import Event, event_hub_of
from api.hub_worker import WAKE, HubWorker
from api.incident_json import incident_event
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident
from cim.scope import Scope
from simulation.incidents.records import incident_record
from simulation.incidents.steps import append_step
from simulation.sensors.records import StoredObservation

log = logging.getLogger(__name__)

EVENT_KIND = "simulation"
STEP_ACTION = "simulation"
# The datastream property holding the height of a gauge's zero (m, city heights).
GAUGE_DATUM = "gaugeDatum"
# How often the thread looks for stale fields whose wait is over (seconds, real time).
TICK_SECONDS = 1.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000


class Submitter(Protocol):
    """Where runs go: submitted as jobs, and asked whether one is still waiting."""

    def submit(
        self, model: str, parameters: dict[str, Any], jurisdiction: str | None,
        trigger: dict[str, Any],
    ) -> str:  # fmt: skip
        """Queue a run of ``model``; the job's id."""
        ...

    def queued(self, job_id: str) -> bool:
        """Whether job ``job_id`` waits in the queue (not started)."""
        ...

    def outcome(self, job_id: str) -> JobOutcome | None:
        """How job ``job_id`` ended (None while it has not)."""
        ...


@dataclass(frozen=True)
class JobOutcome:
    """A finished job: ``succeeded`` with its result (``run_id``...), or ``failed``."""

    status: str
    result: dict[str, Any] | None
    error: str | None


class JobSubmitter:
    """Runs submitted to the city's job queue through :func:`api.simulations.submit_run`."""

    def __init__(self, city_dir: Path) -> None:
        self.city_dir = city_dir

    def submit(
        self, model: str, parameters: dict[str, Any], jurisdiction: str | None,
        trigger: dict[str, Any],
    ) -> str:  # fmt: skip
        """Queue a run (the model and its parameters are checked first)."""
        from api.simulations import submit_run  # type: ignore[import-not-found,unused-ignore]

        job = submit_run(self.city_dir, model, parameters, jurisdiction, trigger=trigger)
        return str(job.id)

    def queued(self, job_id: str) -> bool:
        """Whether the job is recorded as queued."""
        job = self._job(job_id)
        return job is not None and job.status == "queued"

    def outcome(self, job_id: str) -> JobOutcome | None:
        """The job's end as recorded (a job gone from the table failed)."""
        job = self._job(job_id)
        if job is None:
            return JobOutcome("failed", None, "the job is no longer recorded")
        if job.status not in ("succeeded", "failed"):
            return None
        result = job.result if isinstance(job.result, dict) else None
        return JobOutcome(job.status, result, job.error)

    def _job(self, job_id: str) -> Any:
        from api.jobtable import JobTable

        return JobTable(self.city_dir).get(job_id, scope=Scope.everything())


@dataclass(frozen=True)
class _FloodRun:
    """A flood run an alert started, followed until its job ends."""

    job_id: str
    jurisdiction: str
    link: dict[str, Any]  # what the "simulation" events and steps carry
    incident_id: int | None
    rule_id: int | None
    alert: dict[str, Any]  # the alert's id and place


@dataclass
class _Field:
    """The refresh state of one live field."""

    stale: bool = False
    last_submit_us: int | None = None
    last_job: str | None = None


def _terms(text: str) -> tuple[str, ...]:
    return tuple(part.strip().casefold() for part in text.split(",") if part.strip())


class LiveSimulations(HubWorker):
    """The runs one app starts from what its sensors report."""

    name = "live simulations"

    def __init__(
        self,
        app: FastAPI,
        submitter: Submitter | None = None,
        *,
        fields: str | None = None,
        refresh_seconds: float | None = None,
        flood_properties: str | None = None,
        recheck_seconds: float | None = None,
    ) -> None:
        from api.settings import get_settings

        settings = get_settings()
        self.app = app
        self.submitter = submitter or JobSubmitter(app.state.city_dir)
        # a live field's property as spelled in the setting, by its folded name
        self.fields = {
            term.strip().casefold(): term.strip()
            for term in (settings.live_fields if fields is None else fields).split(",")
            if term.strip()
        }
        self.refresh_us = int(
            _US * (settings.field_refresh_seconds if refresh_seconds is None else refresh_seconds)
        )
        self.flood_terms = _terms(
            settings.flood_properties if flood_properties is None else flood_properties
        )
        self.recheck_seconds = (
            settings.silence_check_seconds if recheck_seconds is None else recheck_seconds
        )
        super().__init__(event_hub_of(app), self.recheck_seconds, wake_seconds=TICK_SECONDS)
        self.submitted: list[str] = []
        self._states: dict[str, _Field] = {}
        self._following: list[_FloodRun] = []
        self._properties: dict[int, tuple[str, str]] = {}  # datastream -> (name, definition)

    def refresh(self) -> None:
        """Look again for datastreams of the watched properties (in the thread)."""
        self.wake_periodic()

    def tick(self) -> None:
        """Submit the stale fields whose wait is over now (in the thread)."""
        self.put(WAKE)

    # --- the listener (publishing threads) ------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Queue raised alerts, stored observations and datastream changes."""
        if (
            (event.kind == "alert" and event.data.get("status") == "active")
            or (event.kind == "observation" and isinstance(event.source, StoredObservation))
            or (event.kind == "entity" and event.data.get("type") == "Datastream")
        ):
            self.put(event)

    # --- the thread -----------------------------------------------------------------------

    def handle(self, batch: list[object], periodic: bool) -> None:
        """Look for watched datastreams when due, handle the batch's events, submit the
        fields due, follow the flood runs submitted."""
        if periodic:
            self._recheck()
        for item in batch:
            if isinstance(item, Event):
                self._handle(item)
        self._submit_due()
        self._follow()

    def _handle(self, event: Event) -> None:
        if event.kind == "entity":
            self._properties.pop(int(event.data.get("id", -1)), None)
        elif event.kind == "alert":
            datastream = event.data.get("datastreamId")
            if isinstance(datastream, int) and self._matches(datastream, self.flood_terms):
                self._flood(event)
        elif isinstance(event.source, StoredObservation):
            stream = event.source.datastream_id
            for folded, spelled in self.fields.items():
                if self._matches(stream, (folded,), exact=True):
                    self._states.setdefault(spelled, _Field()).stale = True

    def _matches(self, datastream: int, terms: tuple[str, ...], exact: bool = False) -> bool:
        """Whether the datastream's observed property (name or definition) is one of
        ``terms`` (``exact``) or contains one."""
        known = self._properties.get(datastream)
        if known is None:
            known = self._property_of(datastream)
            self._properties[datastream] = known
        if exact:
            return any(term in known for term in terms)
        return any(term in text for term in terms for text in known)

    def _property_of(self, datastream: int) -> tuple[str, str]:
        with self._db().transaction() as session:
            row = session.execute(
                select(t.ObservedProperty.name, t.ObservedProperty.definition)
                .join(t.Datastream, t.Datastream.observed_property_id == t.ObservedProperty.id)
                .where(t.Datastream.id == datastream)
            ).first()
        return ("", "") if row is None else (str(row[0]).casefold(), str(row[1]).casefold())

    def _recheck(self) -> None:
        """Listen while some datastream observes a watched property."""
        with self._db().transaction() as session:
            rows = session.execute(
                select(t.ObservedProperty.name, t.ObservedProperty.definition)
                .join(t.Datastream, t.Datastream.observed_property_id == t.ObservedProperty.id)
                .distinct()
            ).all()
        texts = [(str(name).casefold(), str(definition).casefold()) for name, definition in rows]
        watched = any(
            any(term in text for term in self.flood_terms for text in pair)
            or any(term in pair for term in self.fields)
            for pair in texts
        )
        self.listen(watched)

    # --- the runs -------------------------------------------------------------------------

    def _flood(self, alert: Event) -> None:
        """Submit the flood run of a raised alert; note it on the incident; tell viewers."""
        data = alert.data
        trigger = {"alert": data["id"], "rule": data.get("ruleId")}
        parameters: dict[str, Any] = {"datastream_id": data["datastreamId"]}
        datum = self._gauge_datum(data["datastreamId"])
        if datum is not None:
            parameters["gauge_datum_m"] = datum
        job_id = self.submitter.submit("flood", parameters, alert.jurisdiction, trigger)
        self.submitted.append(job_id)
        incident = data.get("incidentId")
        run = _FloodRun(
            job_id, alert.jurisdiction,
            {"model": "flood", "job": job_id, "url": f"/api/jobs/{job_id}", "trigger": trigger},
            incident if isinstance(incident, int) else None, data.get("ruleId"),
            {key: data.get(key) for key in ("id", "cityObject", "lon", "lat")},
        )  # fmt: skip
        self._following.append(run)
        self._tell(run, run.link | {"status": "queued"})

    def _gauge_datum(self, datastream: int) -> float | None:
        """The height of the gauge's zero (m, city heights) its datastream's properties give
        (``gaugeDatum``), if any."""
        with self._db().transaction() as session:
            found = session.get(t.Datastream, datastream)
            datum = (found.properties or {}).get(GAUGE_DATUM) if found is not None else None
        if isinstance(datum, bool) or not isinstance(datum, int | float):
            return None
        return float(datum)

    def _follow(self) -> None:
        """Tell how the flood runs that ended did: the run's id, or the job's error."""
        for run in list(self._following):
            outcome = self.submitter.outcome(run.job_id)
            if outcome is None:
                continue
            self._following.remove(run)
            result = outcome.result or {}
            run_id = result.get("run_id")
            link = run.link | {"status": outcome.status}
            if run_id is not None:
                url = f"/api/simulations/runs/{run_id}"
                link |= {"run": run_id, "url": url, "summary": result.get("summary")}
            if outcome.error:
                link["error"] = outcome.error
            self._tell(run, link)

    def _tell(self, run: _FloodRun, link: dict[str, Any]) -> None:
        """Publish a ``"simulation"`` event of ``run``; note ``link`` on its incident."""
        alert = run.alert
        events = [Event(EVENT_KIND, run.jurisdiction, link | {
            "alertId": alert["id"], "incidentId": run.incident_id,
            "cityObject": alert["cityObject"], "lon": alert["lon"], "lat": alert["lat"],
        })]  # fmt: skip
        if run.incident_id is not None:
            step = self._note_on_incident(run.incident_id, run.rule_id, link)
            if step is not None:
                events.append(step)
        self.hub.publish_all(events)

    def _note_on_incident(
        self, incident_id: int, rule_id: int | None, link: dict[str, Any]
    ) -> Event | None:
        """Add a ``simulation`` step holding ``link`` to the incident; its event."""
        now = self.now_us()
        with self._db().transaction() as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                return None
            step = append_step(
                session, incident, STEP_ACTION, from_status=incident.status,
                actor=f"rule:{rule_id}" if rule_id is not None else "system",
                actor_kind="system", actor_jurisdiction=None, now_us=now, data=link,
            )  # fmt: skip
            record = incident_record(incident, step.id)
        return incident_event(record, STEP_ACTION, now, record.last_step_id)

    def _submit_due(self) -> None:
        """Submit a pollution run for each stale field whose wait is over and whose last
        run is not still queued."""
        now = self.now_us()
        for name, state in self._states.items():
            if not state.stale:
                continue
            if state.last_submit_us is not None and now - state.last_submit_us < self.refresh_us:
                continue
            if state.last_job is not None and self.submitter.queued(state.last_job):
                continue
            job_id = self.submitter.submit(
                "pollution", {"observed_property": name}, self._root(), {"live_field": name}
            )
            self.submitted.append(job_id)
            state.stale, state.last_submit_us, state.last_job = False, now, job_id

    def _root(self) -> str | None:
        """The city's root jurisdiction (None without a single one)."""
        from cim.store import CityStore

        with CityStore.open(self.app.state.city_dir) as store:
            roots = [j.code for j in store.jurisdictions(scope=Scope.everything())
                     if j.parent_code is None]  # fmt: skip
        return roots[0] if len(roots) == 1 else None

    def now_us(self) -> int:
        """The app's clock, in microseconds since the epoch."""
        from api.auth.state import auth_state_of

        return int((auth_state_of(self.app).clock() - _EPOCH).total_seconds() * _US)

    def _db(self) -> OpsDatabase:
        from api.auth.state import auth_state_of

        return auth_state_of(self.app).db


def live_simulations_of(app: FastAPI) -> LiveSimulations | None:
    """The app's running live simulations (None before it starts or without a city)."""
    found: LiveSimulations | None = getattr(app.state, "live_simulations", None)
    return found


@asynccontextmanager
async def run_live_simulations(app: FastAPI) -> AsyncIterator[LiveSimulations | None]:
    """While the app serves, start the runs its sensors call for (not without a city)."""
    import asyncio

    city: Path = app.state.city_dir
    if not city.is_dir():
        yield None
        return
    live = LiveSimulations(app, getattr(app.state, "live_submitter", None))
    live.start()
    app.state.live_simulations = live
    try:
        yield live
    finally:
        app.state.live_simulations = None
        await asyncio.to_thread(live.stop)
