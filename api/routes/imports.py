"""Importing IFC files over HTTP: an upload becomes a background job that the client polls.

``POST /api/imports`` copies the uploaded files in 1 MiB chunks into
``<city>/.uploads/<job id>/`` and queues an import job (see :mod:`api.jobs`), which the
city's worker process runs and which removes that folder when it ends. ``POST
/api/imports/preview`` meshes one uploaded file into a GLB without storing anything, and
``POST /api/imports/placement`` checks where a user puts a model (terrain height there,
warnings) before the upload that imports it; ``GET /api/terrain/height`` answers the
terrain height and city coordinates of a clicked point. ``POST /api/tilings`` queues a re-tiling.
``GET /api/jobs/{id}`` tells how a job is doing, from the jobs table in the city folder
(any server process answers, across restarts). A job records the submitter's
jurisdiction; callers see the jobs of their jurisdiction only.
"""

from __future__ import annotations

import base64
import math
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, BinaryIO

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.types import Message

from api.auth.audit import record_write
from api.auth.deps import require
from api.auth.principal import Principal
from api.deps import CityDirDep, ScopeDep, StoreDep, caller_scope
from api.errors import JobNotFoundError, UploadRejectedError, UploadTooLargeError
from api.jobs import JobQueue, new_job_id, upload_folder
from api.jobtable import KEEP_JOBS
from api.worker import running_worker
from bim.geometry import DEFAULT_KERNEL, KERNELS
from bim.georef import UserOrigin
from bim.preview import preview_ifc
from cim.crs import parse_origin
from cim.placement import check_placement, terrain_height, to_city

CHUNK_SIZE = 1 << 20
# Room for the multipart framing and the form fields on top of the files' bytes.
FORM_OVERHEAD = 1 << 20


class UploadLimitRoute(APIRoute):
    """A route answering 413 for a body far over the upload limit, before it is parsed.

    A ``Content-Length`` over the limit (plus :data:`FORM_OVERHEAD`) is refused before any
    byte is read; a body without one is counted as it arrives. The route itself then counts
    the files' bytes exactly (:func:`save_upload`).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the size checks."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            limit: int = request.app.state.max_upload_bytes
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
                return JSONResponse({"detail": too_large(limit)}, status_code=413)
            received = 0

            async def receive() -> Message:
                nonlocal received
                message = await request.receive()
                received += len(message.get("body", b""))
                if received > limit + FORM_OVERHEAD:
                    # the one HTTPException: FastAPI's form parser turns any other error
                    # raised while it reads the body into a 400
                    raise HTTPException(status_code=413, detail=too_large(limit))
                return message

            return await handler(Request(request.scope, receive))

        return checked


router = APIRouter(prefix="/api", tags=["imports"], route_class=UploadLimitRoute)


def job_queue(request: Request, city: CityDirDep) -> JobQueue:
    """The city's job queue (opened once per app)."""
    queue: JobQueue | None = getattr(request.app.state, "job_queue", None)
    if queue is None:
        queue = request.app.state.job_queue = JobQueue(city)
    return queue


JobsDep = Annotated[JobQueue, Depends(job_queue)]
# Writers: the caller must hold a role that allows the action (operator: import; manager: tile).
ImporterDep = Annotated[Principal, Depends(require("import"))]
TilerDep = Annotated[Principal, Depends(require("tile"))]


@router.post("/imports", status_code=202)
def create_import(
    request: Request,
    response: Response,
    store: StoreDep,
    jobs: JobsDep,
    scope: ScopeDep,
    importer: ImporterDep,
    files: Annotated[list[UploadFile], File(description="IFC files (IFC2X3, IFC4, IFC4X3).")],
    origin: Annotated[
        str | None, Form(description="E,N[,H]: place the model origin here (metres).")
    ] = None,
    crs: Annotated[str | None, Form(description="CRS of origin (default: the city's).")] = None,
    kernel: Annotated[str, Form(description=f"geometry library: {', '.join(KERNELS)}")] = (
        DEFAULT_KERNEL
    ),
    retile: Annotated[bool, Form(description="rewrite the 3D Tiles after the import")] = True,
    rotation: Annotated[
        float,
        Form(
            description="degrees the model's +X axis turns counter-clockwise from grid east"
            " (with origin)"
        ),
    ] = 0.0,
    proposed: Annotated[
        bool, Form(description="mark the model as a proposed building (what-if models)")
    ] = False,
) -> dict[str, Any]:
    """Upload IFC files and queue their import; poll the job at the returned URL.

    All files import in one transaction, or none do. Answers 202 with the job's id and URL
    (also in ``Location``), 413 when the upload is over ``CIMTWIN_MAX_UPLOAD_MB``, 422 for
    a file name not ending in ``.ifc`` or a bad origin or kernel.
    """
    names = [upload_name(upload.filename) for upload in files]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UploadRejectedError(f"two files are named {twice[0]}: rename one")
    if kernel not in KERNELS:
        raise UploadRejectedError(f"unknown kernel {kernel!r} (known: {', '.join(KERNELS)})")
    if crs and not origin:
        raise UploadRejectedError("crs is the CRS of origin: give origin too")
    if not math.isfinite(rotation):
        raise UploadRejectedError(f"rotation {rotation!r} is not a finite number of degrees")
    if rotation and not origin:
        raise UploadRejectedError("rotation turns the model about its origin: give origin too")
    user_origin = user_origin_of(origin, crs or store.crs, rotation) if origin else None
    job_id = new_job_id()
    folder = upload_folder(store.city_dir, job_id)
    limit: int = request.app.state.max_upload_bytes
    sizes: list[int] = []
    try:
        folder.mkdir(parents=True)
        for upload, name in zip(files, names, strict=True):
            sizes.append(save_upload(upload.file, folder / name, limit - sum(sizes), limit))
        params = {
            "files": [{"name": n, "bytes": b} for n, b in zip(names, sizes, strict=True)],
            "origin": None if user_origin is None else list(user_origin.origin),
            "crs": None if user_origin is None else user_origin.crs,
            "rotation": None if user_origin is None else user_origin.rotation_deg,
            "kernel": kernel,
            "retile": retile,
            "proposed": proposed,
            "scope": scope.prefix,  # the objects must land inside it
        }
        job = jobs.submit("import", params, job_id, importer.jurisdiction).to_dict()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    record_write(request, importer, "import", f"job:{job_id}", details={"files": names})
    response.headers["Location"] = job["url"]
    return {"id": job["id"], "status": job["status"], "url": job["url"]}


@router.post("/imports/preview", dependencies=[Depends(caller_scope)])
def preview_import(
    request: Request,
    store: StoreDep,
    _importer: ImporterDep,
    file: Annotated[UploadFile, File(description="one IFC file")],
) -> dict[str, Any]:
    """Mesh one IFC file for a preview and describe it; nothing is stored.

    Answers the file's schema, length unit, the georeference it carries (null: it needs an
    origin), the bounds of its meshes in its own frame (metres) and its base (the lowest
    point of what it stands on, footings and site left out), its counts, and ``glb``:
    a base64 binary glTF of the model in that frame (Z up, X forward), to be placed with
    a model matrix. 422 for a file that is not IFC.
    """
    name = upload_name(file.filename)
    folder = upload_folder(store.city_dir, f"preview-{new_job_id()}")
    limit: int = request.app.state.max_upload_bytes
    try:
        folder.mkdir(parents=True)
        save_upload(file.file, folder / name, limit, limit)
        preview = preview_ifc(folder / name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {**preview.to_dict(), "glb": base64.b64encode(preview.glb).decode("ascii")}


@router.get("/terrain/height", tags=["terrain"], dependencies=[Depends(caller_scope)])
def get_terrain_height(
    store: StoreDep,
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude (degrees)")],
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude (degrees)")],
) -> dict[str, Any]:
    """The city's terrain height at a longitude/latitude (null outside its DEM, or without
    one), and the point in the city CRS: where a clicked model origin goes."""
    x, y = to_city(lon, lat, store.crs)
    return {"lon": lon, "lat": lat, "crs": store.crs, "x": x, "y": y,
            "height": terrain_height(store.city_dir, store.crs, x, y)}  # fmt: skip


class PlacementRequest(BaseModel):
    """Where a user puts a model: its origin, rotation and lowest point."""

    origin: list[float] = Field(
        min_length=2, max_length=3, description="E, N[, H] in metres (H: the terrain there)"
    )
    crs: str | None = Field(None, description="CRS of origin (default: the city's)")
    rotation: float = Field(
        0.0, description="degrees the model's +X axis turns counter-clockwise from grid east"
    )
    bottom: float = Field(
        0.0, description="the model's base above its origin (m): the preview's base"
    )


@router.post("/imports/placement")
def check_import_placement(
    body: PlacementRequest, store: StoreDep, scope: ScopeDep, _importer: ImporterDep
) -> dict[str, Any]:
    """Check a placement before importing with it: the origin used (the height defaults to
    the terrain there), longitude/latitude, the terrain height, and warnings (``below-terrain``,
    ``far-from-city``, ``outside-terrain``: codes with their numbers and an English message).
    422 for an unusable origin.
    """
    crs = body.crs or store.crs
    extent = store.extent(scope=scope) if crs == store.crs else None
    placement = check_placement(
        store.city_dir, crs, tuple(body.origin), body.rotation, body.bottom, extent
    )
    return placement.to_dict()


@router.post("/tilings", status_code=202)
def create_tiling(
    request: Request, response: Response, jobs: JobsDep, scope: ScopeDep, tiler: TilerDep
) -> dict[str, Any]:
    """Queue a rewrite of the city's 3D Tiles (tiles whose objects did not change are kept).

    Answers 202 with the job's id and URL (also in ``Location``).
    """
    job = jobs.submit("tile", {}, jurisdiction=tiler.jurisdiction).to_dict()
    record_write(request, tiler, "tile", f"job:{job['id']}")
    response.headers["Location"] = job["url"]
    return {"id": job["id"], "status": job["status"], "url": job["url"]}


@router.get("/imports", dependencies=[Depends(caller_scope)])
def import_limits(request: Request) -> dict[str, Any]:
    """What ``POST /api/imports`` takes: the upload limit and the geometry kernels."""
    limit: int = request.app.state.max_upload_bytes
    return {"max_upload_bytes": limit, "kernels": list(KERNELS), "default_kernel": DEFAULT_KERNEL}


@router.get("/jobs")
def list_jobs(jobs: JobsDep, scope: ScopeDep) -> dict[str, Any]:
    """The kept jobs (the last 200 finished, and every unfinished one) of the caller's
    jurisdiction, newest first, without their results."""
    listed = (job.to_dict() for job in jobs.table.recent(scope=scope))
    return {"jobs": [{k: v for k, v in job.items() if k != "result"} for job in listed]}


@router.get("/jobs/{job_id}")
def get_job(job_id: str, jobs: JobsDep, scope: ScopeDep) -> dict[str, Any]:
    """A job: status, progress with the current file, message, runs, result or error (404
    for a job of another jurisdiction)."""
    job = jobs.table.get(job_id, scope=scope)
    if job is None:
        raise JobNotFoundError(
            f"no job with id {job_id!r} (the city keeps the last {KEEP_JOBS} finished jobs)"
        )
    return job.to_dict()


@router.get("/worker", dependencies=[Depends(caller_scope)])
def worker_state(city: CityDirDep) -> dict[str, Any]:
    """Whether a job worker runs for the city, and its process id."""
    pid = running_worker(city)
    return {"running": pid is not None, "pid": pid if pid and pid > 0 else None}


def upload_name(filename: str | None) -> str:
    """The base name of an uploaded file; rejects names that are not ``*.ifc``."""
    name = PureWindowsPath(filename or "").name  # drops folders written with / or \
    if (
        not name.lower().endswith(".ifc")
        or name.startswith(".")
        or len(name.encode()) > 255
        or any(ord(c) < 32 for c in name)
    ):
        raise UploadRejectedError(f"{filename!r}: only files named *.ifc can be imported")
    return name


def user_origin_of(text: str, crs: str, rotation: float = 0.0) -> UserOrigin:
    """``E,N[,H]`` in metres, in ``crs``, as a user origin (checked by the one parser in cim)
    turned by ``rotation`` degrees."""
    return UserOrigin(crs, parse_origin(text, crs), rotation % 360.0)


def save_upload(source: BinaryIO, target: Path, budget: int, limit: int) -> int:
    """Copy ``source`` to ``target`` in chunks of :data:`CHUNK_SIZE`; return the bytes.

    Raises
    ------
    UploadTooLargeError
        When more than ``budget`` bytes come (``limit`` is the total, for the message).
    """
    written = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK_SIZE):
            written += len(chunk)
            if written > budget:
                raise UploadTooLargeError(too_large(limit))
            out.write(chunk)
    return written


def too_large(limit: int) -> str:
    """The message of a 413 for the upload limit of ``limit`` bytes."""
    size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit} bytes"
    return f"the upload is larger than the server's limit of {size} (CIMTWIN_MAX_UPLOAD_MB)"
