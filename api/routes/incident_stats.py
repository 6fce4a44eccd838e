"""Statistics of the incidents of a jurisdiction over a period, as JSON and as CSV.

``GET /api/incidents/stats`` and ``GET /api/incidents/stats.csv`` take the node
(``jurisdiction``, default: the caller's own; one outside the caller's scope is 404, as a
missing one), the period ``[start, end)`` (ISO 8601; default: the 30 days up to now by the
app's clock) and ``groupBy`` (category, status, jurisdiction, day, week, month). Days,
weeks and months are those of the offset ``start`` names (``+08:00``: Beijing time;
``Z`` or none: UTC). The figures are those of :mod:`simulation.incidents.stats`.

This router must be included before the incidents router, whose ``/api/incidents/{id}``
would otherwise take ``stats`` for an incident id.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.auth.state import auth_state
from api.deps import OpsDep, ScopeDep, StoreDep
from cim.jurisdictions import Jurisdiction
from cim.ops.database import OpsDatabase
from cim.scope import Scope, level_of
from cim.store import CityStore
from simulation.incidents.codes import categories
from simulation.incidents.errors import IncidentInputError
from simulation.incidents.stats import (
    Durations,
    Figures,
    GroupBy,
    IncidentStats,
    StatsQuery,
    incident_stats,
)
from simulation.incidents.workflow import STATUSES
from simulation.sensors.times import format_time

router = APIRouter(tags=["incidents"])

# The period asked for when none is given: the days up to now.
DEFAULT_DAYS = 30
_US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The statuses whose time is measured, in the CSV's columns (final ones are never left).
MEASURED_STATUSES = tuple(code for code, status in STATUSES.items() if not status.final)

JurisdictionQuery = Annotated[
    str | None,
    Query(description="12-digit code of the node (default: the caller's own)"),
]
StartQuery = Annotated[
    str | None,
    Query(description="ISO 8601 start, included; its offset sets the days (default: end - 30 d)"),
]
EndQuery = Annotated[str | None, Query(description="ISO 8601 end, excluded (default: now)")]
GroupQuery = Annotated[
    GroupBy | None, Query(alias="groupBy", description="How to break the figures down")
]


class _CamelModel(BaseModel):
    """Fields in snake case, JSON in camel case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class DurationsOut(_CamelModel):
    """How long something took, in minutes (null: nothing measured)."""

    count: int
    mean_minutes: float | None
    median_minutes: float | None
    p90_minutes: float | None


class StepOut(DurationsOut):
    """The time spent in one status (left in the period), and the steps taken late."""

    status: str
    zh: str
    en: str
    overdue: int


class FiguresOut(_CamelModel):
    """The figures of a group, or the totals."""

    opened: int = Field(description="created in the period")
    closed: int = Field(description="closed in the period")
    not_accepted: int = Field(description="not accepted in the period")
    open_now: int | None = Field(description="not final now (null when grouped by time)")
    overdue_now: int | None = Field(description="past the time limit now (null: by time)")
    overdue_in_period: int = Field(description="left a status after its limit in the period")
    escalated: int = Field(description="escalated in the period")
    time_to_close: DurationsOut
    steps: list[StepOut]


class GroupOut(FiguresOut):
    """One group: its key (category, status, code, day, week's Monday, month) and names."""

    key: str
    zh: str
    en: str


class NodeOut(BaseModel):
    """The jurisdiction counted."""

    code: str
    name: str
    level: str


class IncidentStatsOut(_CamelModel):
    """The totals and groups of a node over a period."""

    jurisdiction: NodeOut | None = Field(description="null: every jurisdiction")
    start: str
    end: str
    now: str
    utc_offset_minutes: int
    group_by: GroupBy | None
    total: FiguresOut
    groups: list[GroupOut]


@router.get("/api/incidents/stats", response_model=IncidentStatsOut)
def get_incident_stats(
    request: Request,
    db: OpsDep,
    store: StoreDep,
    scope: ScopeDep,
    jurisdiction: JurisdictionQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    group_by: GroupQuery = None,
) -> dict[str, Any]:
    """Opened, closed, not accepted, open and overdue incidents, escalations, the time to
    close and the time spent in each status, for a node and period, in total and grouped."""
    stats, names = _answer(request, db, store, scope, jurisdiction, start, end, group_by)
    return _stats_json(stats, names)


@router.get(
    "/api/incidents/stats.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM"}},
)
def get_incident_stats_csv(
    request: Request,
    db: OpsDep,
    store: StoreDep,
    scope: ScopeDep,
    jurisdiction: JurisdictionQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    group_by: GroupQuery = None,
) -> Response:
    """The same figures as a spreadsheet: a header row, a row per group, then the totals
    (UTF-8 with a byte order mark, so that Excel reads the Chinese names)."""
    stats, names = _answer(request, db, store, scope, jurisdiction, start, end, group_by)
    node = stats.node or "all"
    day = format_time(stats.query.start_us)[:10]
    last = format_time(stats.query.end_us - 1)[:10]
    filename = f"incident-stats-{node}-{day}-{last}.csv"
    return Response(
        "\ufeff" + stats_csv(stats, names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _answer(
    request: Request,
    db: OpsDatabase,
    store: CityStore,
    scope: Scope,
    jurisdiction: str | None,
    start: str | None,
    end: str | None,
    group_by: GroupBy | None,
) -> tuple[IncidentStats, dict[str, str]]:
    """The statistics asked for, and the names of the jurisdictions they may mention."""
    now_us = _us(auth_state(request).clock())
    end_us = now_us if end is None else _parse(end, "end")[0]
    if start is None:
        start_us, offset = end_us - DEFAULT_DAYS * 86_400 * _US, 0
    else:
        start_us, offset = _parse(start, "start")
    if jurisdiction is not None:
        store.jurisdiction(jurisdiction, scope=scope)  # 404 when missing or outside
    nodes = store.jurisdictions(scope=scope)
    node = jurisdiction or _default_node(scope, nodes)
    children = [n.code for n in nodes if n.parent_code == node] if node else _roots(nodes)
    query = StatsQuery(start_us, end_us, node, group_by, offset)
    stats = incident_stats(db, scope, query, now_us=now_us, children=children)
    return stats, {n.code: n.name for n in nodes}


def _default_node(scope: Scope, nodes: list[Jurisdiction]) -> str | None:
    """The caller's own node; for the unlimited scope the single root, if there is one."""
    if not scope.unlimited:
        return scope.prefix.ljust(12, "0")
    roots = _roots(nodes)
    return roots[0] if len(roots) == 1 else None


def _roots(nodes: list[Jurisdiction]) -> list[str]:
    codes = {n.code for n in nodes}
    return [n.code for n in nodes if n.parent_code not in codes]


def _parse(text: str, name: str) -> tuple[int, int]:
    """Microseconds since the epoch of an ISO 8601 time (no zone: UTC) and its offset from
    UTC in minutes."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise IncidentInputError(f"{name} {text!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset() or timedelta(0)
    return _us(moment), int(offset.total_seconds() // 60)


def _us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _names(stats: IncidentStats, key: str, names: dict[str, str]) -> tuple[str, str]:
    """A group's Chinese and English names."""
    grouping = stats.query.group_by
    if grouping == "category" and key in categories():
        return categories()[key].zh, categories()[key].en
    if grouping == "status" and key in STATUSES:
        return STATUSES[key].zh, STATUSES[key].en
    if grouping == "jurisdiction":
        name = names.get(key, key)
        return name, name
    return key, key


def _durations_json(durations: Durations) -> dict[str, Any]:
    return {
        "count": durations.count,
        "meanMinutes": durations.mean,
        "medianMinutes": durations.median,
        "p90Minutes": durations.p90,
    }


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "opened": figures.opened,
        "closed": figures.closed,
        "notAccepted": figures.not_accepted,
        "openNow": figures.open_now,
        "overdueNow": figures.overdue_now,
        "overdueInPeriod": figures.overdue_in_period,
        "escalated": figures.escalated,
        "timeToClose": _durations_json(figures.time_to_close),
        "steps": [
            {
                "status": status,
                "zh": STATUSES[status].zh,
                "en": STATUSES[status].en,
                **_durations_json(step.durations),
                "overdue": step.overdue,
            }
            for status, step in figures.steps.items()
        ],
    }


def _stats_json(stats: IncidentStats, names: dict[str, str]) -> dict[str, Any]:
    node = None
    if stats.node is not None:
        name = names.get(stats.node, stats.node)
        node = {"code": stats.node, "name": name, "level": level_of(stats.node)}
    groups = []
    for figures in stats.groups:
        zh, en = _names(stats, figures.key, names)
        groups.append({"key": figures.key, "zh": zh, "en": en, **_figures_json(figures)})
    return {
        "jurisdiction": node,
        "start": format_time(stats.query.start_us),
        "end": format_time(stats.query.end_us),
        "now": format_time(stats.now_us),
        "utcOffsetMinutes": stats.query.utc_offset_minutes,
        "groupBy": stats.query.group_by,
        "total": _figures_json(stats.total),
        "groups": groups,
    }


def stats_csv(stats: IncidentStats, names: dict[str, str]) -> str:
    """The statistics as CSV text: a header, one row per group, a last row ``total``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [
        stats.query.group_by or "group", "name_zh", "name_en", "opened", "closed",
        "not_accepted", "open_now", "overdue_now", "overdue_in_period", "escalated",
        "closed_measured", "close_mean_min", "close_median_min", "close_p90_min",
    ]  # fmt: skip
    for status in MEASURED_STATUSES:
        header += [f"{status}_{column}" for column in
                   ("count", "mean_min", "median_min", "p90_min", "overdue")]  # fmt: skip
    writer.writerow(header)
    rows = [(figures, *_names(stats, figures.key, names)) for figures in stats.groups]
    rows.append((stats.total, "合计", "Total"))
    for figures, zh, en in rows:
        key = figures.key or "total"
        writer.writerow([key, zh, en, *_csv_figures(figures)])
    return out.getvalue()


def _csv_figures(figures: Figures) -> list[Any]:
    def number(value: float | int | None) -> str:
        if value is None:
            return ""
        return str(value) if isinstance(value, int) else f"{value:.2f}"

    close = figures.time_to_close
    cells = [
        figures.opened, figures.closed, figures.not_accepted, number(figures.open_now),
        number(figures.overdue_now), figures.overdue_in_period, figures.escalated,
        close.count, number(close.mean), number(close.median), number(close.p90),
    ]  # fmt: skip
    for status in MEASURED_STATUSES:
        step = figures.steps.get(status)
        if step is None:
            cells += [0, "", "", "", 0]
            continue
        d = step.durations
        cells += [d.count, number(d.mean), number(d.median), number(d.p90), step.overdue]
    return cells
