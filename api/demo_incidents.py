"""The demo's closed loop: its alert rules, made through the rules domain, and a history of
incidents in every status of the workflow, played in time order before the demo serves.

The history (:mod:`api.demo_script`) goes through the same paths as live use: the rules
evaluated on the day of sensor history (:class:`~simulation.incidents.alerting.AlertEvaluator`,
batch by batch at each observation's time) open the sensor incidents; citizens post their
reports to the city's Open311 endpoint with the demo's Open311 key (:mod:`api.demo_open311`);
inspectors, the 12345 hotline and operators report, and every step is taken by its demo
account, through :mod:`simulation.incidents.incidents` (so its checks of permission,
jurisdiction, department and status apply); overdue incidents are escalated as they fall
due, as the server does. All times lie before the build time.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

import shapely
from fastapi import FastAPI
from sqlalchemy import func, select

from api.auth.accounts import create_key, revoke_key
from api.auth.principal import Principal
from api.auth.state import auth_state_of, configure
from api.demo_accounts import demo_account
from api.demo_open311 import post_service_request
from api.demo_photos import photo_png
from api.demo_script import (
    IncidentScript,
    PlannedIncident,
    PlannedRule,
    PlannedStep,
    incident_script,
    rule_plan,
)
from api.errors import ApiError
from api.incident_actor import actor_of
from api.sta.linking import city_placement, jurisdiction_at
from cim.crs import to_lonlat
from cim.errors import ObjectNotFoundError
from cim.ops import sensor_tables as t
from cim.ops import users
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident
from cim.ops.keys import list_keys
from cim.scope import Scope
from cim.store import CityStore
from simulation.incidents.actors import Actor
from simulation.incidents.alerting import AlertEvaluator, AlertOutcome
from simulation.incidents.codes import category
from simulation.incidents.escalation import escalate_overdue
from simulation.incidents.incidents import get_incident, report_incident, take_step
from simulation.incidents.records import AttachmentIn, IncidentRecord, IncidentReport
from simulation.incidents.rules import RuleIn, RuleRecord, create_rule, list_rules
from simulation.sensors.records import StoredObservation

US = 1_000_000
MINUTE_US = 60 * US
# How long after an incident falls overdue the history escalates it (the server looks
# every 30 s).
ESCALATION_DELAY_US = 30 * US
# The demo's rules exist from this long before the build (before the sensor history).
RULES_AGE_US = 48 * 3600 * US


class DemoIncidentError(ApiError):
    """The demo's incident script names something the demo city lacks."""


@dataclass
class IncidentBuild:
    """What :func:`ensure_demo_incidents` did."""

    rules_made: list[str] = field(default_factory=list)
    # the script's incidents by key, and those the rules opened on the sensor history
    incidents: dict[str, int] = field(default_factory=dict)
    by_rules: list[int] = field(default_factory=list)
    steps: int = 0
    photos: int = 0
    escalations: int = 0
    # the Open311 key made now (shown once), or None
    open311_key: str | None = None


# --- the rules --------------------------------------------------------------------------


def ensure_demo_rules(db: OpsDatabase, *, now_us: int) -> tuple[list[RuleRecord], list[str]]:
    """Make the demo's rules the database lacks (by name), by their account, dated
    :data:`RULES_AGE_US` before ``now_us``; every demo rule, and the names made now."""
    plan = rule_plan()
    maker = account_actor(db, plan.created_by)
    existing = {rule.name: rule for rule in list_rules(db, Scope.everything())}
    made: list[str] = []
    for planned in plan.rules:
        if planned.name in existing:
            continue
        rule = _rule_in(db, planned, maker)
        existing[planned.name] = create_rule(
            db, rule, creator=maker.name, scope=maker.scope, now_us=now_us - RULES_AGE_US
        )
        made.append(planned.name)
    return [existing[p.name] for p in plan.rules], made


def _rule_in(db: OpsDatabase, planned: PlannedRule, maker: Actor) -> RuleIn:
    assert maker.jurisdiction is not None
    stream = property_id = None
    with db.transaction() as session:
        if planned.datastream is not None:
            stream = session.scalar(
                select(t.Datastream.id).where(t.Datastream.name == planned.datastream)
            )
            if stream is None:
                raise DemoIncidentError(f"the demo rule {planned.name!r}: no datastream"
                                        f" {planned.datastream!r}")  # fmt: skip
        elif planned.observed_property is not None:
            property_id = session.scalar(
                select(t.ObservedProperty.id).where(
                    t.ObservedProperty.name == planned.observed_property
                )
            )
            if property_id is None:
                raise DemoIncidentError(f"the demo rule {planned.name!r}: no observed property"
                                        f" {planned.observed_property!r}")  # fmt: skip
    return RuleIn(
        name=planned.name,
        jurisdiction=maker.jurisdiction,
        condition=planned.condition,
        raise_value=planned.raise_value,
        clear_value=planned.clear_value,
        duration_s=planned.duration_s,
        datastream_id=stream,
        observed_property_id=property_id,
        object_class=planned.object_class,
        category=planned.category,
        priority=planned.priority,
    )


# --- accounts as actors -------------------------------------------------------------------


def account_actor(db: OpsDatabase, name: str) -> Actor:
    """The demo account ``name`` as stored, as the incident domain sees it signed in."""
    user = users.find_user(db, demo_account(name).name)
    if user is None:
        raise DemoIncidentError(f"the demo account {name!r} is not in the city's database")
    principal = Principal.user(user.name, user.jurisdiction, frozenset(user.roles))
    return actor_of(principal, principal.scope, db)


# --- the history --------------------------------------------------------------------------


class _Timeline:
    """Things to do at given times, done in time order (ties: in the order added)."""

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, Callable[[int], None]]] = []
        self._order = count()

    def at(self, when_us: int, do: Callable[[int], None]) -> None:
        heapq.heappush(self._queue, (when_us, next(self._order), do))

    def run(self) -> None:
        while self._queue:
            when, _, do = heapq.heappop(self._queue)
            do(when)


def ensure_demo_incidents(
    store: CityStore,
    db: OpsDatabase,
    *,
    now_us: int,
    log: Callable[[str], None] = print,
) -> IncidentBuild:
    """Make the demo's rules (when missing) and, when the city has no incident yet, play
    its history up to ``now_us``: the rules on the sensor observations stored up to then,
    the script's reports and steps, the escalations (the demo accounts must exist)."""
    build = IncidentBuild()
    rules, build.rules_made = ensure_demo_rules(db, now_us=now_us)
    if build.rules_made:
        log(f"made {len(build.rules_made)} demo alert rules")
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return build  # played before: the incidents stay as people left them
    history = _History(store, db, build, rules, now_us)
    try:
        history.play(incident_script())
    finally:
        history.close()
    log(f"played the demo's incident history: {len(build.incidents)} scripted incidents,"
        f" {len(build.by_rules)} opened by rules on the sensor history, {build.steps} steps,"
        f" {build.photos} photos, {build.escalations} escalations")  # fmt: skip
    return build


class _History:
    """One playing of the script (see :func:`ensure_demo_incidents`)."""

    def __init__(
        self,
        store: CityStore,
        db: OpsDatabase,
        build: IncidentBuild,
        rules: list[RuleRecord],
        now_us: int,
    ) -> None:
        self.store, self.db, self.build, self.now_us = store, db, build, now_us
        self.rules = {rule.name: rule for rule in rules}
        self.timeline = _Timeline()
        self.evaluator = AlertEvaluator(db, classes_of=object_classes(store))
        self.app: FastAPI | None = None
        # planned rule incidents waiting for their rule to open one, by rule id
        self.waiting: dict[int, PlannedIncident] = {}

    def play(self, script: IncidentScript) -> None:
        api_key = self._open311_key(script)
        for planned in script.incidents:
            if planned.via == "rule":
                rule = self.rules.get(planned.rule or "")
                if rule is None:
                    raise DemoIncidentError(f"incident {planned.key!r}: no demo rule"
                                            f" {planned.rule!r}")  # fmt: skip
                self.waiting[rule.id] = planned
                continue
            when = self.now_us + round(planned.at_min * MINUTE_US)
            if planned.via == "open311":
                self.timeline.at(when, partial(self._citizen_report, planned, api_key))
            else:
                reporter = account_actor(self.db, planned.by or "")
                self.timeline.at(when, partial(self._report, planned, reporter))
        for when, batch in self._sensor_history():
            self.timeline.at(when, partial(self._evaluate, batch))
        self.timeline.at(self.now_us, self._escalate)
        self.timeline.run()

    # the paths of a report

    def _report(self, planned: PlannedIncident, reporter: Actor, when: int) -> None:
        place = self._place(planned.at or {})
        photos = () if planned.photo is None else (self._photo(planned, planned.photo, 0),)
        source = planned.via
        report = IncidentReport(
            category=planned.category,
            title=planned.title,
            description=planned.description,
            source=source,
            jurisdiction=place.jurisdiction,
            lon=place.lon,
            lat=place.lat,
            city_object=place.city_object,
            address=place.address,
            attributes=planned.attributes,
            attachments=photos,
        )
        record = report_incident(self.db, report, reporter, now_us=when)
        self._watch(record)
        self.build.incidents[planned.key] = record.id
        self.build.photos += len(photos)
        self._schedule_steps(planned, record.id, when)

    def _schedule_steps(self, planned: PlannedIncident, incident_id: int, reported: int) -> None:
        for index, step in enumerate(planned.steps, start=1):
            when = reported + round(step.after_min * MINUTE_US)
            if when >= self.now_us:
                raise DemoIncidentError(f"incident {planned.key!r}: step {step.action} at"
                                        f" {step.after_min} min falls after the build")  # fmt: skip
            self.timeline.at(when, partial(self._step, planned, incident_id, step, index))

    def _step(
        self, planned: PlannedIncident, incident_id: int, step: PlannedStep, index: int, when: int
    ) -> None:
        photos = () if step.photo is None else (self._photo(planned, step.photo, index),)
        actor = account_actor(self.db, step.by)
        record = take_step(self.db, incident_id, step.action, actor, now_us=when,
                           note=step.note, department=step.department,
                           attachments=photos)  # fmt: skip
        self._watch(record)
        self.build.steps += 1
        self.build.photos += len(photos)

    def _evaluate(self, batch: list[StoredObservation], when: int) -> None:
        for outcome in self.evaluator.evaluate(batch, when):
            self._opened(outcome, when)

    def _opened(self, outcome: AlertOutcome, when: int) -> None:
        touch = outcome.incident
        if touch is None or not touch.created:
            return
        self._watch(get_incident(self.db, touch.incident_id, Scope.everything()))
        planned = self.waiting.pop(outcome.rule.id, None)
        if planned is None:
            self.build.by_rules.append(touch.incident_id)
            return
        self.build.incidents[planned.key] = touch.incident_id
        self._schedule_steps(planned, touch.incident_id, when)

    def _watch(self, record: IncidentRecord) -> None:
        """Look for overdue incidents soon after ``record`` falls overdue in its status
        (unless a step moves it on first, it is escalated then)."""
        if record.due_us is not None and record.due_us + ESCALATION_DELAY_US < self.now_us:
            self.timeline.at(record.due_us + ESCALATION_DELAY_US, self._escalate)

    def _escalate(self, when: int) -> None:
        """Escalate what is overdue at ``when``; look again one limit later for each
        incident escalated now (it goes one level further then)."""
        escalated = escalate_overdue(self.db, when)
        self.build.escalations += len(escalated)
        for record in escalated:
            limit = category(record.category).limit_us(record.status)
            if limit is not None and when + limit < self.now_us:
                self.timeline.at(when + limit, self._escalate)

    # what the reports need

    def _open311_key(self, script: IncidentScript) -> str:
        """A new Open311 client key of the demo (an older one of the same name revoked:
        its secret is gone); the key itself."""
        now = datetime.fromtimestamp(self.now_us / US, UTC)
        for older in list_keys(self.db):
            if older.name == script.open311_key_name and not older.revoked:
                revoke_key(self.db, older.id, now=now, actor="demo")
        _, secret = create_key(self.db, script.open311_key_name, actions=["report"],
                               jurisdiction=script.open311_key_jurisdiction, now=now,
                               actor="demo")  # fmt: skip
        self.build.open311_key = secret
        return secret

    def _citizen_report(self, planned: PlannedIncident, api_key: str, when: int) -> None:
        """Post the citizen's report to the city's Open311 endpoint."""
        place = self._place(planned.at or {})
        fields = [
            ("api_key", api_key),
            ("service_code", planned.category),
            ("lat", f"{place.lat:.7f}"),
            ("long", f"{place.lon:.7f}"),
            ("address_string", place.address or ""),
            ("description", f"{planned.title}\n{planned.description}"),
            *(planned.citizen or {}).items(),
            *((f"attribute[{code}]", str(value))
              for code, value in (planned.attributes or {}).items()),
        ]  # fmt: skip
        media = None if planned.photo is None else self._photo(planned, planned.photo, 0)
        incident_id = post_service_request(self._open311_app(), fields, at_us=when, media=media)
        self.build.incidents[planned.key] = incident_id
        self.build.photos += media is not None
        self._watch(get_incident(self.db, incident_id, Scope.everything()))
        self._schedule_steps(planned, incident_id, when)

    def _open311_app(self) -> FastAPI:
        """The city's app (not started: no worker, engine or replay), on this database."""
        if self.app is None:
            from api.app import create_app

            self.app = create_app(self.store.city_dir, worker=False)
            configure(self.app, url=self.db.engine.url.render_as_string(hide_password=False))
        return self.app

    def close(self) -> None:
        """Close the database the app opened for the citizens' reports."""
        if self.app is not None:
            auth_state_of(self.app).close()

    def _photo(self, planned: PlannedIncident, kind: str, index: int) -> AttachmentIn:
        seed = zlib.crc32(f"{planned.key}:{index}".encode())
        return AttachmentIn(f"{planned.key}-{index}-{kind}.png", "image/png", photo_png(kind, seed))

    def _place(self, at: dict[str, Any]) -> _Place:
        return place_of(self.store, at)

    def _sensor_history(self) -> Iterator[tuple[int, list[StoredObservation]]]:
        """The stored observations before the build, grouped by phenomenon time."""
        query = (
            select(t.Observation.id, t.Observation.datastream_id, t.Observation.phenomenon_us,
                   t.Observation.result_number, t.Datastream.thing_id, t.Datastream.jurisdiction)
            .join(t.Datastream, t.Datastream.id == t.Observation.datastream_id)
            .where(t.Observation.phenomenon_us <= self.now_us)
            .order_by(t.Observation.phenomenon_us, t.Observation.id)
        )  # fmt: skip
        with self.db.transaction() as session:
            rows = session.execute(query).all()
        batch: list[StoredObservation] = []
        for row in rows:
            if batch and row.phenomenon_us != batch[0].phenomenon_us:
                yield batch[0].phenomenon_us, batch
                batch = []
            batch.append(StoredObservation(row.id, row.datastream_id, row.thing_id,
                                           row.jurisdiction, row.phenomenon_us, None, None,
                                           row.result_number, None))  # fmt: skip
        if batch:
            yield batch[0].phenomenon_us, batch


def object_classes(store: CityStore) -> Callable[[Collection[str]], Mapping[str, str]]:
    """What class rules ask of the city: the class of each object found among ids."""

    def classes_of(ids: Collection[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for object_id in ids:
            with suppress(ObjectNotFoundError):
                found[object_id] = store.get_object(object_id, scope=Scope.everything()).cls
        return found

    return classes_of


def city_demo_incidents(city_dir: Path, log: Callable[[str], None] = print) -> IncidentBuild:
    """:func:`ensure_demo_incidents` on the demo city in ``city_dir`` (its own databases),
    up to now."""
    from api.demo_sensors import now_us
    from api.settings import get_settings

    db = OpsDatabase.for_city(city_dir, get_settings().database_url)
    try:
        with CityStore.open(city_dir) as store:
            return ensure_demo_incidents(store, db, now_us=now_us(), log=log)
    finally:
        db.close()


@dataclass(frozen=True)
class _Place:
    city_object: str | None
    lon: float
    lat: float
    jurisdiction: str
    address: str | None


def place_of(store: CityStore, at: dict[str, Any]) -> _Place:
    """Where a scripted incident lies: a city object by id, a BIM building by name (their
    placement), or a point of the district on a street or nearest an object of a class."""
    everything = Scope.everything()
    if "object" in at or "building" in at:
        if "object" in at:
            found = store.get_object(str(at["object"]), scope=everything)
        else:
            named = [b for b in store.objects(cls="IfcBuilding", scope=everything)
                     if b.name == at["building"]]  # fmt: skip
            if not named:
                raise DemoIncidentError(f"no building {at['building']!r} in the demo city")
            found = named[0]
        placement = city_placement(store, everything, found.id)
        if placement.jurisdiction is None:
            raise DemoIncidentError(f"{found.id} lies outside every jurisdiction")
        return _Place(found.id, placement.lon, placement.lat, placement.jurisdiction, found.name)
    point = shapely.Point(float(at["x"]), float(at["y"]))
    if "street" in at:
        found = store.get_object(str(at["street"]), scope=everything)
    else:
        candidates = [o for o in store.objects(cls=str(at["nearest"]), scope=everything)
                      if o.footprint is not None]  # fmt: skip
        found = min(candidates, key=lambda o: o.footprint.distance(point))  # type: ignore[union-attr]
    lon, lat = to_lonlat(point.x, point.y, store.crs)
    code = jurisdiction_at(store, {"type": "Point", "coordinates": [lon, lat]})
    if code is None:
        raise DemoIncidentError(f"the point {at} lies outside every jurisdiction")
    return _Place(found.id, lon, lat, code, found.name or None)
