"""Escalating overdue incidents beside the server: a task of the app's lifespan runs
:func:`simulation.incidents.escalation.escalate_overdue` every ``CIMTWIN_ESCALATION_SECONDS``
(by the app's clock) and publishes an ``incident`` event for each incident it escalated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from api.auth.state import auth_state_of
from api.incident_json import publish_incidents
from simulation.incidents.escalation import escalate_overdue
from simulation.incidents.records import IncidentRecord

log = logging.getLogger(__name__)


def run_escalation(app: FastAPI) -> list[IncidentRecord]:
    """Escalate what is overdue now (the app's clock) and publish it; the incidents
    escalated."""
    state = auth_state_of(app)
    moment: datetime = state.clock()
    now_us = int(moment.timestamp() * 1_000_000)
    escalated = escalate_overdue(state.db, now_us)
    publish_incidents(app, [(record, "escalate") for record in escalated], now_us)
    return escalated


@asynccontextmanager
async def escalating(app: FastAPI) -> AsyncIterator[None]:
    """Run :func:`run_escalation` every ``app.state.escalation_seconds`` while the app
    serves a city (0 or less: never)."""
    seconds = float(getattr(app.state, "escalation_seconds", 0) or 0)
    if seconds <= 0 or not app.state.city_dir.is_dir():
        yield
        return
    task = asyncio.create_task(_every(app, seconds))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _every(app: FastAPI, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(run_escalation, app)
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("escalating overdue incidents failed")
