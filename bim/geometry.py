"""Triangulating IFC elements with the IfcOpenShell geometry iterator, one element at a time."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import numpy as np

from cim.model import FloatArray, IndexArray, Material

DEFAULT_KERNEL = "opencascade"
NOT_TESSELLATED = ("IfcOpeningElement", "IfcOpeningStandardCase", "IfcVirtualElement")


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
        Iterator threads; defaults to the machine's cores.
    on_progress:
        Called with the iterator's percentage as it advances.
    """
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    settings.set("apply-default-materials", True)
    iterator = ifcopenshell.geom.iterator(
        settings,
        model,
        threads or multiprocessing.cpu_count(),
        exclude=[t for t in NOT_TESSELLATED if _schema_has(model, t)],
        geometry_library=kernel,  # type: ignore[arg-type]
    )
    if not iterator.initialize():
        return
    while True:
        shape = iterator.get()
        element = _to_element_shape(shape)
        if element is not None:
            yield element
        if on_progress is not None:
            on_progress(int(iterator.progress()))
        if not iterator.next():
            break


def _schema_has(model: ifcopenshell.file, entity: str) -> bool:
    try:
        ifcopenshell.ifcopenshell_wrapper.schema_by_name(model.schema).declaration_by_name(entity)
    except Exception:
        return False
    return True


def _to_element_shape(shape: Any) -> ElementShape | None:
    geometry = shape.geometry
    vertices = np.asarray(geometry.verts, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(geometry.faces, dtype=np.uint32).reshape(-1, 3)
    if len(faces) == 0:
        return None
    material_ids = np.asarray(geometry.material_ids, dtype=np.int64)
    materials = [_material(m) for m in geometry.materials]
    if not materials or len(material_ids) != len(faces):
        materials = [Material("default")]
        material_ids = np.zeros(len(faces), dtype=np.int64)
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
