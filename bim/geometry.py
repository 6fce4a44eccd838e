"""Triangulating IFC elements with the IfcOpenShell geometry iterator, one element at a time.

The fast kernel (:data:`DEFAULT_KERNEL`) meshes every element first; an element it fails
on, or whose mesh looks wrong, is meshed again by the reference kernel
(:data:`REFERENCE_KERNEL`, IfcOpenShell's default), element by element:

- it gave no triangles, or coordinates that are not finite, or no area at all, although
  the element has a body representation;
- it gave an open mesh for a solid body (swept solid, B-rep, CSG, clipping) and the
  reference kernel gives a closed one (the reference's is kept only then);
- its kind (class and representation type) differed from the reference kernel on a
  sample: before the rest, one element of each of the largest kinds is meshed by both
  kernels and compared by area, volume and bounds (:func:`differs`); a kind that differs
  goes to the reference kernel entirely.

Each shape says which kernel made it and why the reference kernel was asked.

On Linux the work runs in forked child processes (:func:`default_workers`, each a share of
the elements) that stream meshes to the importer through pipes, so that the kernels and
the importer (semantics, footprints, SQLite) run on every core: the iterator holds the
interpreter lock while it computes, so threads would not overlap them. A pipe holds at
most about :data:`PIPE_BYTES`, so a slow importer pauses the children instead of letting
meshes pile up. A crash of the kernel ends a child, not the import, which then fails
cleanly; the children die with the importer (:func:`bim.children.die_with_parent`).
``CIMTWIN_GEOMETRY_PROCESS=0`` keeps the work in the calling process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import numpy.ma  # np.unique imports it on first call: once here, not in each child

from bim.children import die_with_parent
from bim.errors import BimError
from bim.footprint import is_closed_and_oriented
from bim.reader import optional_attribute
from cim.model import FloatArray, IndexArray, Material

DEFAULT_KERNEL = "hybrid-cgal-simple-opencascade"
REFERENCE_KERNEL = "opencascade"
KERNELS = ("hybrid-cgal-simple-opencascade", "opencascade", "cgal-simple")
NOT_TESSELLATED = ("IfcOpeningElement", "IfcOpeningStandardCase", "IfcVirtualElement")
BODY_IDENTIFIERS = ("Body", "Facetation", "Body-FallBack", "Mesh")
SOLID_TYPES = frozenset(("SweptSolid", "AdvancedSweptSolid", "Brep", "AdvancedBrep", "CSG",
                         "Clipping"))  # fmt: skip
NOT_BODY_TYPES = frozenset(("Curve", "Curve2D", "Curve3D", "GeometricCurveSet", "GeometricSet",
                            "Annotation2D", "Point", "PointCloud"))  # fmt: skip
SAMPLED_KINDS = 8
RELATIVE_TOLERANCE = 0.05
AREA_TOLERANCE = 0.01  # m²
VOLUME_TOLERANCE = 1e-4  # m³
BOUNDS_TOLERANCE = 0.05  # m
GEOMETRY_PROCESS_ENV = "CIMTWIN_GEOMETRY_PROCESS"
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl command of Linux to resize a pipe's buffer

Kind = tuple[str, str]  # (class, representation type)


class GeometryKernelError(BimError):
    """The geometry kernel's process failed or died before the end of the model."""


@dataclass
class ElementShape:
    """The triangulated body of one element: world vertices in metres, faces by material.

    ``kernel`` is the geometry library that made it; ``fallback`` why the reference
    kernel was asked for it (None when the first kernel's mesh was kept); ``closed``
    whether the mesh is closed and consistently wound, once known
    (:func:`bim.footprint.is_closed_and_oriented`).
    """

    guid: str
    step_id: int
    vertices: FloatArray
    parts: list[tuple[Material, IndexArray]]
    kernel: str = ""
    fallback: str | None = None
    closed: bool | None = None


def iterate_shapes(
    model: ifcopenshell.file,
    kernel: str = DEFAULT_KERNEL,
    threads: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    fallback: str | None = REFERENCE_KERNEL,
    workers: int | None = None,
) -> Iterator[ElementShape]:
    """Yield the triangulated body of every product the kernels can tessellate.

    Parameters
    ----------
    kernel:
        The IfcOpenShell geometry library tried first (one of :data:`KERNELS`).
    threads:
        Iterator threads per worker (default 1: more only add a polling thread).
    on_progress:
        Called with a percentage as shapes arrive, and with 100 at the end.
    fallback:
        The kernel that meshes what ``kernel`` fails on (None: no second try).
    workers:
        Geometry processes; defaults to :func:`default_workers`.

    Raises
    ------
    BimError
        For an unknown kernel.
    GeometryKernelError
        When a geometry process fails or dies.
    """
    check_kernels(kernel, fallback)
    if fallback == kernel:
        fallback = None
    products = planned_products(model)
    expected = max(1, sum(1 for p in products if has_body(p)))
    sample = tuple(p.id() for p in _sample(products)) if fallback is not None else ()
    job = _Job(kernel, fallback, threads or 1, sample)
    if uses_geometry_process():
        shapes = _shapes_from_children(model, products, job, workers or default_workers())
    else:
        shapes = _work(model, products, job)
    for count, shape in enumerate(shapes, start=1):
        yield shape
        if on_progress is not None:
            on_progress(min(99, 100 * count // expected))
    if on_progress is not None:
        on_progress(100)


def check_kernels(*kernels: str | None) -> None:
    """Refuse a geometry library this module does not know (None is no kernel)."""
    for name in kernels:
        if name is not None and name not in KERNELS:
            raise BimError(f"unknown geometry kernel {name!r} (known: {', '.join(KERNELS)})")


def default_workers() -> int:
    """Geometry processes: one per core (the importer shares the cores with them)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def uses_geometry_process() -> bool:
    """Whether :func:`iterate_shapes` runs the kernels in forked child processes."""
    setting = os.environ.get(GEOMETRY_PROCESS_ENV, "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    return not multiprocessing.current_process().daemon  # daemons may not have children


def planned_products(model: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    """The products the iterator is asked for: those with a representation, openings left out."""
    excluded = [t for t in NOT_TESSELLATED if _schema_has(model, t)]
    return [
        product
        for product in model.by_type("IfcProduct")
        if product.Representation is not None and not any(product.is_a(t) for t in excluded)
    ]


def has_body(product: ifcopenshell.entity_instance) -> bool:
    """Whether ``product`` has a representation a kernel should turn into triangles."""
    return any(
        (r.RepresentationIdentifier or "Body") in BODY_IDENTIFIERS
        and (r.RepresentationType or "") not in NOT_BODY_TYPES
        for r in product.Representation.Representations
    )


def kind_of(product: ifcopenshell.entity_instance) -> Kind:
    """The class and body representation type that group elements for the sample."""
    types = sorted(
        r.RepresentationType or "?"
        for r in product.Representation.Representations
        if (r.RepresentationIdentifier or "Body") in BODY_IDENTIFIERS
    )
    return product.is_a(), "+".join(types)


def measures(shape: ElementShape) -> tuple[float, float, FloatArray, FloatArray]:
    """Surface area, enclosed volume (meaningful for closed meshes) and bounds of a shape."""
    faces = np.concatenate([faces for _, faces in shape.parts])
    a, b, c = (shape.vertices[faces[:, i]] for i in range(3))
    area = 0.5 * float(np.linalg.norm(_cross(b - a, c - a), axis=1).sum())
    volume = float((a * _cross(b, c)).sum()) / 6.0
    return area, volume, shape.vertices.min(axis=0), shape.vertices.max(axis=0)


def _cross(u: FloatArray, v: FloatArray) -> FloatArray:
    """Row-wise cross products (``np.cross`` costs more on small arrays)."""
    return np.stack([u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
                     u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
                     u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]], axis=1)  # fmt: skip


def differs(first: ElementShape, second: ElementShape) -> str | None:
    """How two meshes of one element differ materially, or None.

    Area and absolute volume may differ by :data:`RELATIVE_TOLERANCE` (curves are
    segmented differently) or by :data:`AREA_TOLERANCE` / :data:`VOLUME_TOLERANCE`
    (small parts), bounds by :data:`BOUNDS_TOLERANCE`.
    """
    area, volume, low, high = measures(first)
    area2, volume2, low2, high2 = measures(second)
    if abs(area - area2) > max(AREA_TOLERANCE, RELATIVE_TOLERANCE * max(area, area2)):
        return f"area {area:.3f} against {area2:.3f} m²"
    volume, volume2 = abs(volume), abs(volume2)
    if abs(volume - volume2) > max(VOLUME_TOLERANCE, RELATIVE_TOLERANCE * max(volume, volume2)):
        return f"volume {volume:.4f} against {volume2:.4f} m³"
    shift = float(max(np.abs(low - low2).max(), np.abs(high - high2).max()))
    if shift > BOUNDS_TOLERANCE:
        return f"bounds {shift:.3f} m apart"
    return None


@dataclass(frozen=True)
class _Job:
    """What every worker does: the kernels, the sample, and this worker's part of it."""

    kernel: str
    fallback: str | None
    threads: int
    sample: tuple[int, ...] = ()
    part: int = 0
    parts: int = 1


class _Verdicts:
    """The kinds of the sample that differed, shared by the workers once all compared."""

    def __init__(self, flags: Any = None, barrier: Any = None) -> None:
        self.flags = flags if flags is not None else [0] * SAMPLED_KINDS
        self.barrier = barrier

    def agree(self) -> None:
        """Wait until every worker has compared its part of the sample."""
        if self.barrier is not None:
            self.barrier.wait()


def _work(
    model: ifcopenshell.file, products: Sequence[ifcopenshell.entity_instance], job: _Job,
    verdicts: _Verdicts | None = None,
) -> Iterator[ElementShape]:  # fmt: skip
    """Mesh ``products``: this worker's part of the sample, the first kernel, the fallback."""
    if job.fallback is None:
        yield from (s for s in _run(model, products, job.kernel, job.threads) if not _flaw(s))
        return
    verdicts = verdicts or _Verdicts()
    sample = [model.by_id(step_id) for step_id in job.sample]
    mine = [(i, p) for i, p in enumerate(sample) if i % job.parts == job.part]
    yield from _compare_sample(model, mine, job, verdicts.flags)
    verdicts.agree()
    differing = {kind_of(p) for i, p in enumerate(sample) if verdicts.flags[i]}
    rest = [p for p in products if p.id() not in job.sample]
    again = {p.id(): f"its kind differed from {job.fallback} on a sample"
             for p in rest if differing and kind_of(p) in differing}  # fmt: skip
    first = [p for p in rest if p.id() not in again]
    kept: dict[int, ElementShape] = {}
    made: set[int] = set()
    for shape in _run(model, first, job.kernel, job.threads):
        made.add(shape.step_id)
        problem = _flaw(shape) or _open_solid(model, shape)
        if problem is None:
            yield shape
            continue
        again[shape.step_id] = problem
        if problem == OPEN:
            kept[shape.step_id] = shape
    for product in first:
        if product.id() not in made and has_body(product):
            again[product.id()] = f"{job.kernel} gave no shape"
    retried = [model.by_id(step_id) for step_id in again]
    for shape in _run(model, retried, job.fallback, job.threads):
        own = kept.pop(shape.step_id, None)
        if _flaw(shape) or (own is not None and not _is_closed(shape)):
            if own is not None:
                yield own
            continue
        yield replace(shape, fallback=again[shape.step_id])
    yield from kept.values()


OPEN = "an open mesh for a solid body"


def _compare_sample(
    model: ifcopenshell.file, sample: list[tuple[int, ifcopenshell.entity_instance]], job: _Job,
    flags: Any,
) -> Iterator[ElementShape]:  # fmt: skip
    """Mesh sampled elements with both kernels; flag the kinds that differ; yield the better."""
    assert job.fallback is not None
    products = [p for _, p in sample]
    mine = {s.step_id: s for s in _run(model, products, job.kernel, job.threads)}
    theirs = {s.step_id: s for s in _run(model, products, job.fallback, job.threads)}
    for index, product in sample:
        first, second = mine.get(product.id()), theirs.get(product.id())
        first = first if first is not None and not _flaw(first) else None
        second = second if second is not None and not _flaw(second) else None
        if first is not None and second is not None:
            difference = differs(first, second)
            if difference is None:
                yield first
            else:
                flags[index] = 1
                yield replace(second, fallback=f"differs from {job.fallback}: {difference}")
        elif first is not None:
            yield first
        elif second is not None:
            yield replace(second, fallback=f"{job.kernel} gave no usable shape")


def _sample(products: Sequence[ifcopenshell.entity_instance]) -> list[ifcopenshell.entity_instance]:
    """One element of each of the :data:`SAMPLED_KINDS` largest kinds of two or more.

    Elements with openings are not sampled: subtracting openings is where the reference
    kernel is slowest (a second per wall is common), which would cost more than it checks.
    """
    bodies = [p for p in products if has_body(p)]
    kinds = Counter(kind_of(p) for p in bodies)
    chosen = {kind for kind, count in kinds.most_common(SAMPLED_KINDS) if count > 1}
    sample = []
    for product in bodies:
        kind = kind_of(product)
        if kind in chosen and not optional_attribute(product, "HasOpenings"):
            chosen.discard(kind)
            sample.append(product)
    return sample


def _flaw(shape: ElementShape) -> str | None:
    """What makes a shape unusable: coordinates not finite, or all on one line."""
    if not np.isfinite(shape.vertices).all():
        return "coordinates that are not finite"
    if np.count_nonzero(np.ptp(shape.vertices, axis=0) > 0.0) < 2:
        return "no area"
    return None


def _open_solid(model: ifcopenshell.file, shape: ElementShape) -> str | None:
    if _is_closed(shape):
        return None
    product = model.by_id(shape.step_id)
    types = {
        r.RepresentationType
        for r in product.Representation.Representations
        if (r.RepresentationIdentifier or "Body") in BODY_IDENTIFIERS
    }
    return OPEN if types and types <= SOLID_TYPES else None


def _is_closed(shape: ElementShape) -> bool:
    if shape.closed is None:
        shape.closed = is_closed_and_oriented(np.concatenate([f for _, f in shape.parts]))
    return shape.closed


def _run(
    model: ifcopenshell.file, products: Sequence[ifcopenshell.entity_instance], kernel: str,
    threads: int,
) -> Iterator[ElementShape]:  # fmt: skip
    """Run one iterator over ``products``, yielding every shape with triangles."""
    if not products:
        return
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    settings.set("apply-default-materials", True)
    iterator = ifcopenshell.geom.iterator(
        settings,
        model,
        threads,
        include=list(products),
        geometry_library=kernel,  # type: ignore[arg-type]
    )
    if not iterator.initialize():
        return
    while True:
        shape = _to_element_shape(iterator.get(), kernel)
        if shape is not None:
            yield shape
        if not iterator.next():
            break


def _shapes_from_children(
    model: ifcopenshell.file, products: list[ifcopenshell.entity_instance], job: _Job,
    workers: int,
) -> Iterator[ElementShape]:  # fmt: skip
    """Share the products between forked children; yield what they send through pipes."""
    context = multiprocessing.get_context("fork")
    shares = [share for share in (products[i::workers] for i in range(workers)) if share]
    shares = shares or [[]]
    verdicts = _Verdicts(
        context.Array("b", SAMPLED_KINDS, lock=False), context.Barrier(len(shares))
    )
    children: dict[Connection, Any] = {}
    try:
        for part, share in enumerate(shares):
            receiver, sender = context.Pipe(duplex=False)
            _widen(sender.fileno())
            work = replace(job, part=part, parts=len(shares))
            child = context.Process(
                target=_produce, args=(sender, model, share, work, verdicts, os.getpid()),
                name="cimtwin-geometry",
            )  # fmt: skip
            child.start()
            sender.close()
            children[receiver] = child
        while children:
            for ready in wait(list(children)):
                receiver = next(r for r in children if r is ready)
                kind, payload = _receive(receiver, children[receiver])
                if kind == "item":
                    yield payload
                elif kind == "error":
                    raise GeometryKernelError(f"the geometry kernel failed: {payload}")
                else:
                    receiver.close()
                    children.pop(receiver).join()
    finally:
        for receiver, child in children.items():
            receiver.close()
            if child.is_alive():
                child.terminate()
            child.join()


def _receive(receiver: Connection, child: Any) -> tuple[str, Any]:
    try:
        message: tuple[str, Any] = pickle.loads(receiver.recv_bytes())
    except EOFError:
        child.join()
        raise GeometryKernelError(
            f"the geometry kernel's process ended early (exit code {child.exitcode})"
        ) from None
    return message


def _produce(
    sender: Any, model: ifcopenshell.file, products: list[ifcopenshell.entity_instance],
    job: _Job, verdicts: _Verdicts, parent: int,
) -> None:  # fmt: skip
    """A child's work: send every shape, then ``done`` or the error that stopped it."""
    die_with_parent(parent)
    # Objects inherited from the parent (its SQLite connection) must never be finalised here.
    gc.disable()
    try:
        for shape in _work(model, products, job, verdicts):
            sender.send_bytes(pickle.dumps(("item", shape), pickle.HIGHEST_PROTOCOL))
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


def _to_element_shape(shape: Any, kernel: str = "") -> ElementShape | None:
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
    return ElementShape(shape.guid, int(shape.id), vertices, parts, kernel)


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
