"""The FastAPI application: tiles, objects, health, OpenAPI docs and the viewer."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api import openapi30
from api.auth.install import install_auth
from api.bodylimit import BodyLimit
from api.errors import DOMAIN_ERRORS, status_for
from api.locale import error_detail
from api.open311 import routes as open311_routes
from api.ratelimit import Rate, WriteRateLimit
from api.routes import cards as card_routes
from api.routes import city, explore, imports, objects, ogc, sources, stats, terrain, tiles
from api.routes import codes as code_routes
from api.routes import events as event_routes
from api.routes import incident_stats as incident_stats_routes
from api.routes import incidents as incident_routes
from api.routes import jurisdictions as jurisdiction_routes
from api.routes import rules as rule_routes
from api.routes import sensors as sensor_routes
from api.routes import simulations as simulation_routes
from api.security import SecurityHeaders, cors_options
from api.settings import get_settings
from api.sta import read_routes as sta_read_routes
from api.sta import write_routes as sta_write_routes
from api.static import viewer_folder
from api.worker import start_worker_process, stop_worker_process

# Longest piece of a request echoed back in a validation error.
ECHO_CHARS = 200


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the city's job worker and MQTT beside the server (when asked), stop them with it;
    run the alert rules and the simulations they start; replay the demo's sensors when
    serving the demo."""
    from api.alert_engine import run_alert_engine
    from api.demo_sensors import replay_demo_sensors
    from api.incident_escalation import escalating
    from api.live_simulations import run_live_simulations

    city: Path = app.state.city_dir
    worker = start_worker_process(city) if app.state.start_worker and city.is_dir() else None
    mqtt = _start_mqtt(app) if app.state.mqtt else None
    try:
        async with (
            run_alert_engine(app),
            run_live_simulations(app),
            replay_demo_sensors(app),
            escalating(app),
        ):
            yield
    finally:
        if mqtt is not None:
            await asyncio.to_thread(mqtt.stop)
        if worker is not None:
            await asyncio.to_thread(stop_worker_process, worker)


def _start_mqtt(app: FastAPI) -> Any:
    """SensorThings' MQTT extension for ``app`` (imported only when asked)."""
    from api.mqtt.service import start_for_app

    return start_for_app(app)


def create_app(
    city_dir: Path | None = None,
    viewer_dir: Path | None = None,
    max_upload_mb: float | None = None,
    worker: bool | None = None,
    anonymous_read: bool | None = None,
    mqtt: str | None = None,
) -> FastAPI:
    """Build the app serving the city in ``city_dir`` (default: the ``CIMTWIN_CITY`` setting).

    ``max_upload_mb`` caps an upload to ``POST /api/imports`` (default:
    ``CIMTWIN_MAX_UPLOAD_MB``). ``worker`` starts the city's job worker process with the
    app and stops it with the app (default: ``CIMTWIN_WORKER``, true); when one already
    runs for the city, the new one leaves the queue to it. ``anonymous_read`` lets callers
    who have not signed in read tiles, terrain and imagery (default:
    ``CIMTWIN_ANONYMOUS_READ``, false); everything else needs a signed-in caller.
    ``mqtt`` starts SensorThings' MQTT extension with the app (see :mod:`api.mqtt.service`;
    default: off; `cimtwin serve` passes ``CIMTWIN_MQTT``).
    """
    settings = get_settings()
    app = FastAPI(
        title="CIMTwin",
        summary="City information model: objects, 3D Tiles and the viewer.",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.city_dir = (city_dir or settings.city).resolve()
    app.state.start_worker = settings.worker if worker is None else worker
    app.state.anonymous_read = settings.anonymous_read if anonymous_read is None else anonymous_read
    app.state.mqtt = mqtt
    upload_mb = settings.max_upload_mb if max_upload_mb is None else max_upload_mb
    app.state.max_upload_bytes = int(upload_mb * 2**20)
    # level 5: 8 % larger than level 9 in a fifth of its time (the 3.6 MB state of 10 000
    # sensors: 28 ms against 152 ms); small answers are sent as they are
    app.add_middleware(GZipMiddleware, minimum_size=512, compresslevel=5)
    app.state.escalation_seconds = settings.escalation_seconds
    body_bytes = int(settings.max_body_mb * 2**20)
    photo_body = (("/api/incidents", max(body_bytes, photo_body_bytes(settings.max_photo_mb))),
                  ("/open311/v2/requests",
                   max(body_bytes, int((settings.max_photo_mb + 1) * 2**20))))  # fmt: skip
    app.add_middleware(BodyLimit, max_bytes=body_bytes, larger=photo_body)
    app.add_middleware(WriteRateLimit, rate=Rate.parse(settings.write_rate))
    app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    viewer = viewer_folder(viewer_dir or settings.viewer_dir)
    index = None if viewer is None else viewer / "index.html"
    app.add_middleware(SecurityHeaders, viewer_index=index, hsts=settings.https)
    routers = (city, explore, objects, sources, stats, tiles, terrain, imports, ogc)
    for router in (module.router for module in routers):
        app.include_router(router)
    app.include_router(card_routes.router)
    app.include_router(jurisdiction_routes.router)
    app.include_router(sta_read_routes.router)
    app.include_router(sta_write_routes.router)
    app.include_router(sensor_routes.router)
    # before the incidents router: its /api/incidents/{id} would take "stats" for an id
    app.include_router(incident_stats_routes.router)
    app.include_router(incident_routes.router)
    app.include_router(event_routes.router)
    app.include_router(rule_routes.router)
    app.include_router(simulation_routes.router)
    app.include_router(open311_routes.router)
    app.include_router(code_routes.router)
    install_auth(app)

    install_error_handlers(app)
    openapi30.install(app)
    _mount_viewer(app, viewer)
    return app


def photo_body_bytes(max_photo_mb: float) -> int:
    """The largest body of a request carrying photos: the most a step may carry, and a MiB
    for its other fields."""
    from simulation.incidents.attachments import MAX_ATTACHMENTS

    return int((MAX_ATTACHMENTS * max_photo_mb + 1) * 2**20)


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors with their status from the one table, and validation errors with
    422 whose echoed input is always valid JSON."""

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc)
        detail = error_detail(request, exc, status)
        return JSONResponse(status_code=status, content={"detail": detail})

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(status_code=422, content={"detail": _json_safe(exc.errors())})

    for error in DOMAIN_ERRORS:
        app.add_exception_handler(error, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)


def _json_safe(value: Any) -> Any:
    """``value`` as JSON can hold it: NaN and infinities (echoed back from the request) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return value[:ECHO_CHARS] + "..."
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return jsonable_encoder(value)


def _mount_viewer(app: FastAPI, folder: Path | None) -> None:
    if folder is not None:
        app.mount("/", StaticFiles(directory=folder, html=True), name="viewer")
        return

    @app.get("/", include_in_schema=False)
    def viewer_missing() -> HTMLResponse:
        return HTMLResponse(
            "<h1>CIMTwin</h1><p>The viewer is not built: run <code>make viewer</code>"
            " (npm ci and npm run build in viewer/). The API is at <a href=/docs>/docs</a>.</p>",
            status_code=503,
        )
