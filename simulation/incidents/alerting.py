"""Evaluating alert rules on stored observations, batch by batch.

:class:`AlertEvaluator` keeps the enabled rules in memory, indexed by target, and the rules
that apply to each datastream it has seen (a datastream rule; an observed-property rule;
an object-class rule when the datastream's Thing sits in a city object of that class, as
the ``classes_of`` callable the caller gives tells, the domain never opening the city
store); a rule applies only to datastreams inside its jurisdiction. Call
:meth:`~AlertEvaluator.invalidate` when rules or datastreams change.

For each rule and datastream, observations are taken in phenomenon-time order; one not
newer than the last evaluated (``alert_states.last_us``) is ignored, so late rows never
raise or clear anything. Numeric results only (a silent rule counts any result). A
condition holding sets ``condition_since_us``; holding for ``duration_s`` raises an alert
(and opens or updates an incident, :mod:`simulation.incidents.from_alerts`); once the value
is back past ``clear_value`` the alert clears at once (clearing has no minimum duration).
Silent rules are checked by :meth:`~AlertEvaluator.check_silence`, with the caller's
clock.

Each batch is one transaction: states, alerts and incident steps all land or none does.
The evaluator keeps the states it has read (it is their only writer): a state whose
condition or alert changed is written in its batch; one whose last value alone moved is
written every ``persist_every`` batches and by :meth:`~AlertEvaluator.persist` (a restart
may thus find a slightly older ``last_us``: a late row in between is then evaluated once).
A failed batch makes it read them again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Alert, AlertRule, AlertState
from cim.scope import Scope
from simulation.incidents.from_alerts import IncidentTouch, alert_cleared, raise_on_incident
from simulation.incidents.rules import RuleRecord
from simulation.sensors.records import StoredObservation

log = logging.getLogger(__name__)

US = 1_000_000
ID_CHUNK = 500
STATES = cast(Table, AlertState.__table__)

# classes_of(object ids) -> class of each object found (the API reads the city store)
ClassesOf = Callable[[Collection[str]], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What rules need of a datastream."""

    id: int
    thing_id: int
    observed_property_id: int
    jurisdiction: str
    city_object: str | None
    latest_us: int | None = None


@dataclass(frozen=True)
class AlertOutcome:
    """An alert raised or cleared, with what its events need."""

    alert_id: int
    rule: RuleRecord
    datastream_id: int
    city_object: str | None
    jurisdiction: str
    status: str  # active | cleared
    value: float | None
    time_us: int
    lon: float | None
    lat: float | None
    incident_id: int | None
    incident: IncidentTouch | None = None


@dataclass(slots=True)
class _State:
    since_us: int | None = None
    last_us: int | None = None
    last_value: float | None = None
    alert_id: int | None = None
    stored: bool = False
    alert: Alert | None = None  # the active alert, once loaded or raised


@dataclass
class _Targets:
    """The enabled rules by what they watch."""

    rules: list[RuleRecord] = field(default_factory=list)
    by_stream: dict[int, list[RuleRecord]] = field(default_factory=dict)
    by_property: dict[int, list[RuleRecord]] = field(default_factory=dict)
    by_class: dict[str, list[RuleRecord]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: list[RuleRecord]) -> _Targets:
        targets = cls(rules)
        for rule in rules:
            if rule.datastream_id is not None:
                targets.by_stream.setdefault(rule.datastream_id, []).append(rule)
            elif rule.observed_property_id is not None:
                targets.by_property.setdefault(rule.observed_property_id, []).append(rule)
            elif rule.object_class is not None:
                targets.by_class.setdefault(rule.object_class, []).append(rule)
        return targets

    def applying(self, info: StreamInfo, cls: str | None) -> tuple[RuleRecord, ...]:
        found = [
            *self.by_stream.get(info.id, ()),
            *self.by_property.get(info.observed_property_id, ()),
            *(self.by_class.get(cls, ()) if cls is not None else ()),
        ]
        return tuple(r for r in found if Scope.of(r.jurisdiction).contains(info.jurisdiction))


# a datastream and the rules applying to it (None: no such datastream)
_Applying = tuple[StreamInfo, tuple[RuleRecord, ...]] | None


class AlertEvaluator:
    """The rules of one operational database, evaluated on what it stores (thread-safe:
    :meth:`invalidate` may be called from any thread)."""

    def __init__(
        self, db: OpsDatabase, classes_of: ClassesOf | None = None, persist_every: int = 20
    ) -> None:
        self.db = db
        self.classes_of = classes_of
        self.persist_every = persist_every
        # the states, read once and kept (this evaluator is their only writer); those whose
        # last value alone moved are written every ``persist_every`` batches
        self._states: dict[tuple[int, int], _State] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._batches = 0
        self._pruned_for: _Targets | None = None
        self._lock = threading.Lock()
        self._targets: _Targets | None = None
        self._classes: dict[str, str | None] = {}
        self._applying: dict[int, _Applying] = {}
        self._places: dict[int, tuple[float | None, float | None]] = {}

    # --- the index ------------------------------------------------------------------------

    def invalidate(self, rules: bool = True) -> None:
        """Forget what was read: the rules (``rules``) and always the datastreams, their
        city objects' classes and places."""
        with self._lock:
            if rules:
                self._targets = None
            self._classes.clear()
            self._applying.clear()
            self._places.clear()

    def has_rules(self) -> bool:
        """Whether any rule is enabled."""
        return bool(self._current_targets().rules)

    def _current_targets(self) -> _Targets:
        with self._lock:
            if self._targets is not None:
                return self._targets
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(AlertRule).where(AlertRule.enabled.is_(True)))
            rules = [RuleRecord(**{k: getattr(row, k) for k in _RULE_FIELDS}) for row in rows]
        targets = _Targets.of(rules)
        with self._lock:
            self._targets = targets
        return targets

    def applying(
        self, stream_ids: Collection[int]
    ) -> dict[int, tuple[StreamInfo, tuple[RuleRecord, ...]]]:
        """Each of ``stream_ids`` that some rule applies to, with those rules."""
        targets = self._current_targets()
        if not targets.rules:
            return {}
        with self._lock:
            known = {i: self._applying[i] for i in stream_ids if i in self._applying}
        missing = [i for i in stream_ids if i not in known]
        if missing:
            with self.db.engine.connect() as conn:
                infos = _stream_infos(conn, missing)
            classes = self._classes_for(infos.values()) if targets.by_class else {}
            with self._lock:
                for stream_id in missing:
                    info = infos.get(stream_id)
                    if info is None:
                        found: _Applying = None
                    else:
                        found = (info, targets.applying(info, classes.get(stream_id)))
                    self._applying[stream_id] = known[stream_id] = found
        return {i: entry for i, entry in known.items() if entry is not None and entry[1]}

    def _classes_for(self, infos: Collection[StreamInfo]) -> dict[int, str | None]:
        """The class of the city object each datastream's Thing sits in."""
        with self._lock:
            unknown = {
                i.city_object
                for i in infos
                if i.city_object is not None and i.city_object not in self._classes
            }
        if unknown and self.classes_of is not None:
            try:
                found = dict(self.classes_of(unknown))
            except Exception:  # a city store being replaced: no class this time
                log.exception("alert rules: the classes of %d city objects", len(unknown))
                found = {}
            with self._lock:
                self._classes.update({o: found.get(o) for o in unknown})
        with self._lock:
            return {
                i.id: None if i.city_object is None else self._classes.get(i.city_object)
                for i in infos
            }

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(
        self, observations: Sequence[StoredObservation], now_us: int
    ) -> list[AlertOutcome]:
        """Evaluate the rules on ``observations`` (one transaction); the alerts raised and
        cleared, in the order it happened. ``now_us`` stamps incident steps."""
        by_stream: dict[int, list[StoredObservation]] = {}
        for obs in observations:
            by_stream.setdefault(obs.datastream_id, []).append(obs)
        applying = self.applying(list(by_stream))
        if not applying:
            return []
        keys = {(rule.id, i) for i, (_, rules) in applying.items() for rule in rules}
        outcomes: list[AlertOutcome] = []
        with self._batch(keys, now_us, outcomes) as run:
            for stream_id, (info, rules) in applying.items():
                ordered = sorted(by_stream[stream_id], key=lambda o: o.phenomenon_us)
                for rule in rules:
                    run.evaluate(rule, info, ordered)
        return outcomes

    def persist(self) -> None:
        """Write the states whose last value alone moved since they were last written (the
        engine calls it periodically and when it stops)."""
        if not self._dirty:
            return
        with self._batch(set(), 0, []) as run:
            run.persist_all = True

    @contextmanager
    def _batch(
        self, keys: set[tuple[int, int]], now_us: int, outcomes: list[AlertOutcome]
    ) -> Iterator[_Run]:
        """A run over the states ``keys`` in one transaction; on failure the kept states
        are forgotten (read again from the database)."""
        self._prune()
        try:
            with _write_session(self.db) as session:
                missing = {key for key in keys if key not in self._states}
                if missing:
                    loaded = _load_states(session, {stream for _, stream in missing})
                    for key in missing:
                        self._states[key] = loaded.get(key) or _State()
                run = _Run(self, session, keys, now_us, outcomes)
                yield run
                self._batches += 1
                run.finish(run.persist_all or self._batches % self.persist_every == 0)
        except BaseException:
            self._states.clear()
            self._dirty.clear()
            raise

    def _prune(self) -> None:
        """Forget the kept states of rules no longer enabled."""
        targets = self._current_targets()
        if targets is self._pruned_for:
            return
        enabled = {rule.id for rule in targets.rules}
        for key in [key for key in self._states if key[0] not in enabled]:
            del self._states[key]
            self._dirty.discard(key)
        self._pruned_for = targets

    def check_silence(self, now_us: int) -> list[AlertOutcome]:
        """Raise the alerts of silent rules on datastreams whose latest phenomenon time is
        older than ``now_us`` minus the rule's duration (one transaction)."""
        targets = self._current_targets()
        silent = [r for r in targets.rules if r.condition == "silent"]
        if not silent:
            return []
        with self.db.engine.connect() as conn:
            streams = _stream_infos(conn, None)
        quiet = _Targets.of(silent)
        classes = self._classes_for(streams.values()) if quiet.by_class else {}
        due: list[tuple[RuleRecord, StreamInfo]] = []
        for info in streams.values():
            if info.latest_us is None:
                continue  # never heard from: no silence to measure
            for rule in quiet.applying(info, classes.get(info.id)):
                if info.latest_us < now_us - rule.duration_s * US:
                    due.append((rule, info))
        if not due:
            return []
        outcomes: list[AlertOutcome] = []
        with self._batch({(rule.id, info.id) for rule, info in due}, now_us, outcomes) as run:
            for rule, info in due:
                state = run.state(rule.id, info.id)
                if state.alert is None:
                    run.raise_alert(rule, info, state, now_us, None)
        return outcomes

    def place_of(self, session: Session, info: StreamInfo) -> tuple[float | None, float | None]:
        """Longitude and latitude of a datastream's Thing (its first Location's centre)."""
        with self._lock:
            if info.id in self._places:
                return self._places[info.id]
        loc, link = t.Location, t.ThingLocation
        row = session.execute(
            select(loc.lon_min, loc.lat_min, loc.lon_max, loc.lat_max)
            .join(link, link.location_id == loc.id)
            .where(link.thing_id == info.thing_id)
            .order_by(loc.id)
            .limit(1)
        ).first()
        place: tuple[float | None, float | None] = (None, None)
        if row is not None:
            lon_min, lat_min, lon_max, lat_max = row
            if (
                lon_min is not None
                and lat_min is not None
                and lon_max is not None
                and lat_max is not None
            ):
                place = ((lon_min + lon_max) / 2, (lat_min + lat_max) / 2)
        with self._lock:
            self._places[info.id] = place
        return place


_RULE_FIELDS = tuple(RuleRecord.__dataclass_fields__)


@dataclass
class _Change:
    """An alert raised or cleared in the batch, in the order it happened."""

    status: str
    alert: Alert
    rule: RuleRecord
    info: StreamInfo
    value: float | None
    time_us: int


class _Run:
    """The states and alerts of one batch, in its transaction: alerts are raised and
    cleared in memory, inserted in one flush at the end, then their incidents written in
    the order it all happened."""

    def __init__(
        self,
        evaluator: AlertEvaluator,
        session: Session,
        keys: set[tuple[int, int]],
        now_us: int,
        outcomes: list[AlertOutcome],
    ) -> None:
        self.evaluator, self.session, self.states = evaluator, session, evaluator._states
        self.now_us, self.outcomes = now_us, outcomes
        self.persist_all = False
        # (since, alert) of each state the run touched, as they were: what must be written
        self.before: dict[tuple[int, int], tuple[int | None, int | None]] = {}
        self.changes: list[_Change] = []
        self._load_active(keys)

    def _load_active(self, keys: set[tuple[int, int]]) -> None:
        """The active alert of each state of ``keys``, in one query (a state whose alert was
        cleared meanwhile, by its rule being disabled, forgets it)."""
        held = {key: self.states[key].alert_id for key in keys}
        ids = sorted({alert_id for alert_id in held.values() if alert_id is not None})
        found: dict[int, Alert] = {}
        for start in range(0, len(ids), ID_CHUNK):
            query = select(Alert).where(Alert.id.in_(ids[start : start + ID_CHUNK]))
            found.update({alert.id: alert for alert in self.session.scalars(query)})
        for key, alert_id in held.items():
            if alert_id is None:
                continue
            alert = found.get(alert_id)
            state = self.state(*key)
            if alert is None or alert.status != "active":
                state.alert_id = None
            else:
                state.alert = alert

    def state(self, rule_id: int, stream_id: int) -> _State:
        key = (rule_id, stream_id)
        found = self.states.get(key)
        if found is None:
            found = self.states[key] = _State()
        if key not in self.before:
            self.before[key] = (found.since_us, found.alert_id)
        return found

    def evaluate(
        self, rule: RuleRecord, info: StreamInfo, ordered: Sequence[StoredObservation]
    ) -> None:
        """Walk ``rule`` over one datastream's new observations (in time order)."""
        state = self.state(rule.id, info.id)
        silent = rule.condition == "silent"
        for obs in ordered:
            time = obs.phenomenon_us
            if state.last_us is not None and time <= state.last_us:
                continue  # late: evaluated past it already
            value = _numeric(obs.result)
            if silent:
                state.last_us = time
                if state.alert is not None:
                    self.clear_alert(rule, info, state, time, value)
                continue
            if value is None:
                continue
            measure: float | None = value
            if rule.condition == "rate_above":
                measure = None
                if state.last_us is not None and state.last_value is not None:
                    measure = (value - state.last_value) / ((time - state.last_us) / US)
            state.last_us, state.last_value = time, value
            if measure is None:
                continue
            self._step(rule, info, state, time, measure)

    def _step(
        self, rule: RuleRecord, info: StreamInfo, state: _State, time: int, measure: float
    ) -> None:
        assert rule.raise_value is not None and rule.clear_value is not None
        below = rule.condition == "below"
        alert = state.alert
        if alert is not None:
            alert.last_value = measure
            peak = alert.peak_value
            if peak is None or (measure < peak if below else measure > peak):
                alert.peak_value = measure
            back = measure >= rule.clear_value if below else measure <= rule.clear_value
            if back:
                self.clear_alert(rule, info, state, time, measure)
            return
        holds = measure < rule.raise_value if below else measure > rule.raise_value
        if not holds:
            state.since_us = None
            return
        if state.since_us is None:
            state.since_us = time
        if time - state.since_us >= rule.duration_s * US:
            self.raise_alert(rule, info, state, time, measure)

    def raise_alert(
        self, rule: RuleRecord, info: StreamInfo, state: _State, time: int, value: float | None
    ) -> None:
        """Raise an alert of ``rule`` on ``info`` at ``time``."""
        alert = Alert(
            rule_id=rule.id, datastream_id=info.id, city_object=info.city_object,
            jurisdiction=info.jurisdiction, status="active", raised_us=time,
            first_value=value, peak_value=value, last_value=value,
        )  # fmt: skip
        self.session.add(alert)
        state.alert = alert
        self.changes.append(_Change("active", alert, rule, info, value, time))

    def clear_alert(
        self, rule: RuleRecord, info: StreamInfo, state: _State, time: int, value: float | None
    ) -> None:
        """Clear the active alert of ``state`` at ``time``."""
        alert = state.alert
        assert alert is not None
        alert.status = "cleared"
        alert.cleared_us = max(time, alert.raised_us)
        state.alert = None
        state.since_us = None
        self.changes.append(_Change("cleared", alert, rule, info, value, alert.cleared_us))

    def finish(self, persist_all: bool) -> None:
        """Insert the new alerts (one flush), open or update their incidents in order,
        and store the states whose condition or alert changed (``persist_all``: every
        state whose last value moved too)."""
        if self.changes:
            self.session.flush()
        for change in self.changes:
            alert, rule, info = change.alert, change.rule, change.info
            lon, lat = self.evaluator.place_of(self.session, info)
            touch = None
            if change.status == "cleared":
                touch = alert_cleared(self.session, alert, now_us=self.now_us)
            elif rule.category is not None:
                touch = raise_on_incident(
                    self.session, rule, alert, now_us=self.now_us,
                    city_object=info.city_object, jurisdiction=info.jurisdiction,
                    lon=lon, lat=lat,
                )  # fmt: skip
            self.outcomes.append(
                AlertOutcome(
                    alert.id,
                    rule,
                    info.id,
                    info.city_object,
                    info.jurisdiction,
                    change.status,
                    change.value,
                    change.time_us,
                    lon,
                    lat,
                    alert.incident_id,
                    touch,
                )
            )
        self._write_states(persist_all)

    def _write_states(self, persist_all: bool) -> None:
        """One INSERT of the new states and one UPDATE of the changed ones, as plain driver
        statements over tuples (thousands of states a batch: SQLAlchemy's per-row parameter
        building cost more than the database)."""
        dirty = self.evaluator._dirty
        for key in self.before:
            state = self.states[key]
            state.alert_id = None if state.alert is None else state.alert.id
            state.alert = None  # an ORM row of this session only
        dirty.update(self.before)
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for key in sorted(dirty if persist_all else self.before):
            kept = self.states.get(key)
            if kept is None:
                continue
            now = (kept.since_us, kept.alert_id)
            if kept.stored and not persist_all and self.before[key] == now:
                continue  # only its last value moved: written later
            values = (kept.since_us, kept.last_us, kept.last_value, kept.alert_id, *key)
            (changed if kept.stored else new).append(values)
            kept.stored = True
        written = {(row[4], row[5]) for row in (*new, *changed)}
        dirty.difference_update(written)
        conn = self.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        if new:
            conn.exec_driver_sql(_INSERT_STATE.replace("?", mark), new)
        if changed:
            conn.exec_driver_sql(_UPDATE_STATE.replace("?", mark), changed)


_INSERT_STATE = (
    f"INSERT INTO {STATES.name} (condition_since_us, last_us, last_value, alert_id, rule_id,"
    " datastream_id) VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_STATE = (
    f"UPDATE {STATES.name} SET condition_since_us = ?, last_us = ?, last_value = ?,"
    " alert_id = ? WHERE rule_id = ? AND datastream_id = ?"
)


@contextmanager
def _write_session(db: OpsDatabase) -> Iterator[Session]:
    """A session in one transaction, committed at the end of the block (SQLite: the write
    lock taken first, so that a busy database waits instead of failing mid-batch)."""
    with db.write_connection() as conn:
        session = Session(bind=conn, autoflush=False, expire_on_commit=False)
        try:
            yield session
            session.flush()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            session.close()


def _load_states(session: Session, stream_ids: Collection[int]) -> dict[tuple[int, int], _State]:
    found: dict[tuple[int, int], _State] = {}
    ordered = sorted(stream_ids)
    c = STATES.c
    for start in range(0, len(ordered), ID_CHUNK):
        query = select(
            c.rule_id, c.datastream_id, c.condition_since_us, c.last_us, c.last_value, c.alert_id
        ).where(c.datastream_id.in_(ordered[start : start + ID_CHUNK]))
        for rule_id, stream_id, since, last, value, alert_id in session.execute(query):
            found[(rule_id, stream_id)] = _State(since, last, value, alert_id, stored=True)
    return found


def _stream_infos(conn: Connection, ids: Collection[int] | None) -> dict[int, StreamInfo]:
    """What rules need of the datastreams ``ids`` (None: of every datastream)."""
    ds, thing = t.Datastream, t.Thing
    query = select(
        ds.id, ds.thing_id, ds.observed_property_id, ds.jurisdiction, thing.city_object,
        ds.latest_phenomenon_us,
    ).join(thing, thing.id == ds.thing_id)  # fmt: skip
    if ids is None:
        return {row[0]: StreamInfo(*row) for row in conn.execute(query)}
    found: dict[int, StreamInfo] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), ID_CHUNK):
        chunk = query.where(ds.id.in_(ordered[start : start + ID_CHUNK]))
        found.update({row[0]: StreamInfo(*row) for row in conn.execute(chunk)})
    return found


def _numeric(result: Any) -> float | None:
    if isinstance(result, int | float) and not isinstance(result, bool):
        return float(result)
    return None
