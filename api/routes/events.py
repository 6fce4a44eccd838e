"""The city's event stream: observations, entity changes, alerts and incidents of the
caller's jurisdiction as server-sent events, filtered by kind, category and area, resumable
with ``Last-Event-ID``.

A browser's ``EventSource`` cannot send the ``Authorization`` header: the page trades its
access token for a one-use ticket (``POST /api/events/stream/ticket``) and opens
``GET /api/events/stream?ticket=...``. When the stream breaks, it asks for a new ticket
and opens the stream again with ``lastEventId=<the id of the last event it received>``:
the events it missed come first (or a ``reset`` event when they are no longer known).
Clients that can send headers use ``Authorization`` and ``Last-Event-ID`` instead.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.auth.deps import SignedInDep
from api.auth.principal import Principal
from api.deps import ScopeDep
from api.errors import StreamFilterError
from api.event_stream import (
    StreamTicket,
    issue_ticket,
    last_event_id,
    open_stream,
    stream_principal,
)
from api.events import BBox, EventFilter, EventHub, event_hub
from simulation.incidents.codes import categories as category_codes

router = APIRouter(tags=["events"])

# The kinds of events on the hub.
EVENT_KINDS = frozenset({"observation", "entity", "alert", "incident", "simulation"})


def _names(text: str | None, known: frozenset[str], what: str) -> frozenset[str]:
    """The comma-separated names of ``text`` (None, empty: none), each one of ``known``."""
    names = frozenset(part.strip() for part in (text or "").split(",") if part.strip())
    unknown = sorted(names - known)
    if unknown:
        raise StreamFilterError(
            f"unknown {what} {', '.join(unknown)}: expected some of {', '.join(sorted(known))}"
        )
    return names


def parse_bbox(text: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat`` (CRS84) as a box."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise StreamFilterError(
            f"bbox {text!r} must be four numbers: min_lon,min_lat,max_lon,max_lat"
        )
    west, south, east, north = numbers
    if west > east or south > north:
        raise StreamFilterError(f"bbox {text!r}: a minimum is larger than its maximum")
    return west, south, east, north


def event_filter(
    kinds: str | None = Query(
        None, description="comma-separated: observation, entity, alert, incident (default: all)"
    ),
    categories: str | None = Query(
        None,
        description="comma-separated incident category codes: alert and incident events of"
        " other categories are left out (other kinds are not filtered by category)",
    ),
    bbox: str | None = Query(
        None,
        description="min_lon,min_lat,max_lon,max_lat (CRS84) on the events' lon/lat; events"
        " without a location pass unless strictArea",
    ),
    strict_area: bool = Query(
        False, alias="strictArea", description="with bbox: leave out events without a location"
    ),
) -> EventFilter:
    """The stream's filter from its query (422 on an unknown kind or category, a bad box)."""
    return EventFilter(
        kinds=_names(kinds, EVENT_KINDS, "event kind"),
        categories=_names(categories, frozenset(category_codes()), "category"),
        bbox=None if bbox is None else parse_bbox(bbox),
        strict_area=strict_area,
    )


@router.post("/api/events/stream/ticket", response_model=StreamTicket)
def events_stream_ticket(
    request: Request, principal: SignedInDep, _scope: ScopeDep
) -> StreamTicket:
    """A ticket that opens ``GET /api/events/stream`` once, within a minute (the browser's
    ``EventSource`` cannot send the ``Authorization`` header)."""
    return issue_ticket(request, principal, "/api/events/stream")


@router.get(
    "/api/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events_stream(
    request: Request,
    principal: Annotated[Principal, Depends(stream_principal)],
    hub: Annotated[EventHub, Depends(event_hub)],
    wanted: Annotated[EventFilter, Depends(event_filter)],
    resume_after: Annotated[str | None, Depends(last_event_id)],
) -> StreamingResponse:
    """Server-sent events of the caller's jurisdiction: ``observation``, ``entity``,
    ``alert`` and ``incident``, each with its id (``<boot>-<seq>``). The stream starts with
    ``ready``; opened with ``Last-Event-ID`` (or ``lastEventId``) it first sends the events
    after that one that pass its filter, or ``reset`` (``{"reason"}``: reload your state)
    when they are no longer known. It sends a comment when idle, ``dropped`` when a slow
    reader lost events, and ``end`` when an access token would have expired: reconnect
    with a new ticket and the last id."""
    return open_stream(request, hub, principal, wanted, resume_after)
