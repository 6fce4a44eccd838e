"""Triangulating IFC elements with the IfcOpenShell geometry iterator, one element at a time.

On Linux the iterator runs in a forked child process that streams each element's mesh to
the importer through a pipe, so that the kernel's work and the importer's (semantics,
footprints, SQLite) run on two cores at once: the iterator holds the interpreter lock
while it computes, so a thread would not overlap them. The pipe holds at most about
:data:`PIPE_BYTES`, so a slow importer pauses the child instead of letting meshes pile
up. A crash of the kernel ends the child, not the import, which then fails cleanly.
``CIMTWIN_GEOMETRY_PROCESS=0`` keeps the iterator in the calling process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import numpy as np

from bim.errors import BimError
from cim.model import FloatArray, IndexArray, Material

DEFAULT_KERNEL = "opencascade"
NOT_TESSELLATED = ("IfcOpeningElement", "IfcOpeningStandardCase", "IfcVirtualElement")
GEOMETRY_PROCESS_ENV = "CIMTWIN_GEOMETRY_PROCESS"
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl command of Linux to resize a pipe's buffer

# An element's mesh with the iterator's progress after it (None: no triangles).
_Item = tuple["ElementShape | None", int]


class GeometryKernelError(BimError):
    """The geometry kernel's process failed or died before the end of the model."""


@dataclass
class ElementShape:
    """The triangulated body of one element: world vertices in metres, faces by material."""

    guid: str
    step_id: int
    vertices: FloatArray
    parts: list[tuple[Material, IndexArray]]


def iterate_shapes(
    model: ifcopenshell.file,
    kernel: str = DEFAULT_KERNEL,
    threads: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[ElementShape]:
    """Yield the triangulated body of every product the kernel can tessellate.

    Parameters
    ----------
    kernel:
        The IfcOpenShell geometry library (``opencascade`` or
        ``hybrid-cgal-simple-opencascade``).
    threads:
        Iterator threads; defaults to :func:`default_threads`.
    on_progress:
        Called with the iterator's percentage as it advances, and with 100 at the end.

    Raises
    ------
    GeometryKernelError
        When the geometry process fails or dies.
    """
    workers = threads or default_threads()
    if uses_geometry_process():
        items = _shapes_from_child(model, kernel, workers)
    else:
        items = _shapes(model, kernel, workers)
    for shape, progress in items:
        if shape is not None:
            yield shape
        if on_progress is not None:
            on_progress(progress)
    if on_progress is not None:
        on_progress(100)


def default_threads() -> int:
    """Iterator threads that help on this machine, for the mode :func:`iterate_shapes` uses.

    With more than one thread, IfcOpenShell's iterator keeps a coordinating thread polling
    without pause beside its workers, and it keeps every shape it made until it is read.
    Beside a geometry process the importer needs a core of its own: the cores left after
    two, at least one (on two cores a second thread only slows the import down). In the
    calling process the workers are what lets the kernel run while Python works: at least
    two when there are two cores, one per core but one beyond that.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    if uses_geometry_process():
        return max(1, cores - 2)
    return 1 if cores == 1 else max(2, cores - 1)


def uses_geometry_process() -> bool:
    """Whether :func:`iterate_shapes` runs the iterator in a forked child process."""
    setting = os.environ.get(GEOMETRY_PROCESS_ENV, "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    return not multiprocessing.current_process().daemon  # daemons may not have children


def _shapes(model: ifcopenshell.file, kernel: str, threads: int) -> Iterator[_Item]:
    """Run the iterator here, yielding each element with the progress after it."""
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    settings.set("apply-default-materials", True)
    iterator = ifcopenshell.geom.iterator(
        settings,
        model,
        threads,
        exclude=[t for t in NOT_TESSELLATED if _schema_has(model, t)],
        geometry_library=kernel,  # type: ignore[arg-type]
    )
    if not iterator.initialize():
        return
    while True:
        yield _to_element_shape(iterator.get()), int(iterator.progress())
        if not iterator.next():
            break


def _shapes_from_child(model: ifcopenshell.file, kernel: str, threads: int) -> Iterator[_Item]:
    """Run the iterator in a forked child and yield what it sends through a pipe."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    _widen(sender.fileno())
    child = context.Process(
        target=_produce, args=(sender, model, kernel, threads), name="cimtwin-geometry"
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = pickle.loads(receiver.recv_bytes())
            except EOFError:
                child.join()
                raise GeometryKernelError(
                    f"the geometry kernel's process ended early (exit code {child.exitcode})"
                ) from None
            if kind == "item":
                yield payload
            elif kind == "error":
                raise GeometryKernelError(f"the geometry kernel failed: {payload}")
            else:
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(sender: Any, model: ifcopenshell.file, kernel: str, threads: int) -> None:
    """The child's work: send every item, then ``done`` or the error that stopped it."""
    # Objects inherited from the parent (its SQLite connection) must never be finalised here.
    gc.disable()
    try:
        for item in _shapes(model, kernel, threads):
            sender.send_bytes(pickle.dumps(("item", item), pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(pickle.dumps(("done", None)))
    except BrokenPipeError:
        pass  # the parent stopped reading
    except BaseException as exc:
        with contextlib.suppress(OSError):
            sender.send_bytes(pickle.dumps(("error", f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


def _widen(fd: int) -> None:
    """Give the pipe a buffer of :data:`PIPE_BYTES` where the system allows it."""
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _schema_has(model: ifcopenshell.file, entity: str) -> bool:
    try:
        ifcopenshell.ifcopenshell_wrapper.schema_by_name(model.schema).declaration_by_name(entity)
    except Exception:
        return False
    return True


def _to_element_shape(shape: Any) -> ElementShape | None:
    geometry = shape.geometry
    faces = np.frombuffer(geometry.faces_buffer, dtype=np.int32).reshape(-1, 3)
    if len(faces) == 0:
        return None
    vertices = np.frombuffer(geometry.verts_buffer, dtype=np.float64).reshape(-1, 3).copy()
    faces = faces.astype(np.uint32)
    material_ids = np.frombuffer(geometry.material_ids_buffer, dtype=np.int32)
    materials = [_material(m) for m in geometry.materials]
    if not materials or len(material_ids) != len(faces):
        materials = [Material("default")]
        material_ids = np.zeros(len(faces), dtype=np.int32)
    parts = [
        (materials[index], faces[material_ids == index])
        for index in np.unique(material_ids)
        if 0 <= index < len(materials)
    ]
    return ElementShape(shape.guid, int(shape.id), vertices, parts)


def _material(style: object) -> Material:
    colour = getattr(style, "diffuse", None)
    rgb = (0.8, 0.8, 0.8)
    if colour is not None:
        components = (colour.r(), colour.g(), colour.b()) if callable(colour.r) else colour
        rgb = tuple(float(c) for c in components)[:3]  # type: ignore[assignment]
    transparency = getattr(style, "transparency", 0.0) or 0.0
    alpha = 1.0 - float(transparency) if transparency == transparency else 1.0
    name = str(getattr(style, "name", "") or "unnamed")
    return Material(name=name, rgba=(*rgb, max(0.05, min(1.0, alpha))))
