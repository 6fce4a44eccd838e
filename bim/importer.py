"""Importing an IFC file into a city store in one transaction, element by element."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, overload

import ifcopenshell
import numpy as np
import shapely

from bim import semantics
from bim.csg import tessellate_csg
from bim.errors import IfcReadError
from bim.footprint import footprint_of
from bim.geometry import DEFAULT_KERNEL, ElementShape, iterate_shapes
from bim.georef import Georeference, UserOrigin, resolve
from bim.reader import file_sha256, open_ifc, read_schema
from cim.crs import parse_crs, transformer
from cim.model import CityObject, MeshPart
from cim.store import CityStore, CityWriter


@dataclass(frozen=True)
class ImportOptions:
    """How to import: a georeference override and the geometry kernel settings."""

    user_origin: UserOrigin | None = None
    kernel: str = DEFAULT_KERNEL
    threads: int | None = None


@dataclass
class ImportReport:
    """What an import did, for the user and for the store's source record."""

    source: str
    schema: str
    application: str
    georeference: dict[str, Any]
    objects_by_class: dict[str, int] = field(default_factory=dict)
    elements_with_mesh: int = 0
    triangles: int = 0
    without_mesh: list[dict[str, str]] = field(default_factory=list)
    tessellated_by_cimtwin: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replaced_objects: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return dict(self.__dict__)


@dataclass
class _Spatial:
    """Footprints and heights gathered for one spatial element from what it contains."""

    footprints: list[shapely.Geometry] = field(default_factory=list)
    low: float = float("inf")
    high: float = float("-inf")


@overload
def import_ifc(
    store: CityStore,
    paths: Path,
    options: ImportOptions | None = None,
    on_progress: Callable[[Path, int], None] | None = None,
) -> ImportReport: ...


@overload
def import_ifc(
    store: CityStore,
    paths: Sequence[Path],
    options: ImportOptions | None = None,
    on_progress: Callable[[Path, int], None] | None = None,
) -> list[ImportReport]: ...


def import_ifc(
    store: CityStore,
    paths: Path | Sequence[Path],
    options: ImportOptions | None = None,
    on_progress: Callable[[Path, int], None] | None = None,
) -> ImportReport | list[ImportReport]:
    """Import IFC files into ``store`` in one transaction: all of them or none.

    Given one path, returns its report; given a sequence, a report per file.

    A file whose name was imported before replaces the earlier import. Every file is
    checked (header, schema, end, georeference) before anything is written.

    Raises
    ------
    BimError
        When a file cannot be read or placed; the store is then untouched.
    """
    if isinstance(paths, Path):
        return import_ifc(store, [paths], options, on_progress)[0]
    options = options or ImportOptions()
    names = [path.name for path in paths]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise IfcReadError(f"two files share the name {duplicates[0]}: rename one")
    prepared = []
    for path in paths:
        schema = read_schema(path)
        model = open_ifc(path)
        prepared.append((path, schema, model, resolve(model, options.user_origin)))
    reports = []
    with store.transaction() as writer:
        for path, schema, model, georef in prepared:
            progress = None if on_progress is None else partial(on_progress, path)
            reports.append(
                _import_one(writer, store.crs, path, schema, model, georef, options, progress)
            )
    return reports


def _import_one(
    writer: CityWriter,
    crs: str,
    path: Path,
    schema: str,
    model: ifcopenshell.file,
    georef: Georeference,
    options: ImportOptions,
    on_progress: Callable[[int], None] | None,
) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(path.name, schema, _application(model), georef.to_dict())
    report.warnings += _area_warnings(georef, crs)
    report.replaced_objects = writer.remove_source(path.name)
    run = _ImportRun(model, georef, crs, writer, report)
    for shape in iterate_shapes(model, options.kernel, options.threads, on_progress):
        run.add_shape(shape)
    run.finish()
    report.seconds = round(time.perf_counter() - started, 3)
    writer.record_source(path.name, str(path), file_sha256(path), "ifc", report.to_dict())
    return report


class _ImportRun:
    """The state of one import: spatial aggregates, seen ids and counts."""

    def __init__(
        self,
        model: ifcopenshell.file,
        georef: Georeference,
        crs: str,
        writer: CityWriter,
        report: ImportReport,
    ) -> None:
        self.model, self.georef, self.crs = model, georef, crs
        self.writer, self.report = writer, report
        self.spatial: dict[str, _Spatial] = defaultdict(_Spatial)
        self.spatial_ancestors: dict[int, list[str]] = {}
        self.meshed: set[str] = set()
        self.classes: Counter[str] = Counter()

    def add_shape(self, shape: ElementShape) -> None:
        entity = self.model.by_id(shape.step_id)
        if shape.guid in self.meshed:
            self.report.warnings.append(f"duplicate GlobalId {shape.guid}: second one skipped")
            return
        points = self.georef.to_city(shape.vertices, self.crs)
        parts = [MeshPart(material, *_compact(points, faces)) for material, faces in shape.parts]
        all_faces = np.concatenate([faces for _, faces in shape.parts])
        footprint = footprint_of(points, all_faces)
        low, high = float(points[:, 2].min()), float(points[:, 2].max())
        self.writer.add_mesh(shape.guid, parts)
        self.meshed.add(shape.guid)
        self.report.elements_with_mesh += 1
        self.report.triangles += len(all_faces)
        if semantics.is_spatial(entity):
            self._gather(shape.guid, footprint, low, high)
        else:
            self._add_object(entity, footprint, low, high)
        for ancestor in self._spatial_ancestors(entity):
            self._gather(ancestor, footprint, low, high)

    def finish(self) -> None:
        self._tessellate_what_the_kernel_left()
        for entity in self.model.by_type("IfcProduct"):
            if semantics.is_spatial(entity):
                gathered = self.spatial.get(entity.GlobalId, _Spatial())
                union = shapely.union_all(gathered.footprints) if gathered.footprints else None
                low = gathered.low if gathered.footprints else None
                high = gathered.high if gathered.footprints else None
                self._add_object(entity, union, low, high)
            elif entity.GlobalId not in self.meshed and entity.Representation is not None:
                reason = semantics.missing_geometry_reason(entity)
                self.report.without_mesh.append(
                    {"id": entity.GlobalId, "class": entity.is_a(), "reason": reason}
                )
                if not entity.is_a("IfcOpeningElement"):
                    self._add_object(entity, None, None, None)
        self.report.objects_by_class = dict(sorted(self.classes.items()))

    def _tessellate_what_the_kernel_left(self) -> None:
        """Give CSG bodies the kernel returned empty their own triangles (see bim.csg)."""
        for entity in self.model.by_type("IfcProduct"):
            if entity.GlobalId in self.meshed or entity.Representation is None:
                continue
            if entity.is_a("IfcOpeningElement") or semantics.is_spatial(entity):
                continue
            shape = tessellate_csg(entity)
            if shape is not None:
                self.add_shape(shape)
                self.report.tessellated_by_cimtwin.append(
                    {
                        "id": entity.GlobalId,
                        "class": entity.is_a(),
                        "reason": "CSG primitives the geometry kernel does not map",
                    }
                )

    def _add_object(
        self,
        entity: ifcopenshell.entity_instance,
        footprint: shapely.Geometry | None,
        low: float | None,
        high: float | None,
    ) -> None:
        parent = semantics.parent_of(entity)
        self.writer.add_object(
            CityObject(
                id=entity.GlobalId,
                cls=entity.is_a(),
                name=entity.Name or "",
                parent_id=parent.GlobalId if parent is not None else None,
                source=self.report.source,
                attributes=semantics.attributes_of(entity),
                footprint=footprint,
                base_height=low,
                top_height=high,
            )
        )
        self.classes[entity.is_a()] += 1

    def _gather(
        self, guid: str, footprint: shapely.Geometry | None, low: float, high: float
    ) -> None:
        gathered = self.spatial[guid]
        if footprint is not None:
            gathered.footprints.append(footprint)
        gathered.low, gathered.high = min(gathered.low, low), max(gathered.high, high)

    def _spatial_ancestors(self, entity: ifcopenshell.entity_instance) -> list[str]:
        cached = self.spatial_ancestors.get(entity.id())
        if cached is not None:
            return cached
        parent = semantics.parent_of(entity)
        chain: list[str] = []
        if parent is not None:
            chain = list(self._spatial_ancestors(parent))
            if semantics.is_spatial(parent):
                chain.insert(0, parent.GlobalId)
        self.spatial_ancestors[entity.id()] = chain
        return chain


def _compact(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only the vertices ``faces`` use, renumbered."""
    used, inverse = np.unique(faces.ravel(), return_inverse=True)
    return points[used], inverse.reshape(-1, 3).astype(np.uint32)


def _application(model: ifcopenshell.file) -> str:
    header = model.header.file_name
    return str(getattr(header, "originating_system", "") or "")


def _area_warnings(georef: Georeference, city_crs: str) -> list[str]:
    """Warn when the model's origin lands outside the city CRS's area of use."""
    area = parse_crs(city_crs).area_of_use
    if area is None:
        return []
    origin = georef.to_city(np.zeros((1, 3)), city_crs)
    lon, lat = transformer(city_crs, "EPSG:4326").transform(origin[0, 0], origin[0, 1])
    if area.west <= lon <= area.east and area.south <= lat <= area.north:
        return []
    return [
        f"the model lands at lon {lon:.5f}, lat {lat:.5f}, outside the area of use of"
        f" {city_crs} ({area.name}): check the city CRS or give --origin"
    ]
