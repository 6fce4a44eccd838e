"""One model flowing into the store: element shapes, spatial aggregates, LODs, findings."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import ifcopenshell
import numpy as np
import shapely

from bim import lods, semantics
from bim.csg import tessellate_csg
from bim.footprint import footprint_of
from bim.geometry import ElementShape
from bim.georef import Georeference
from bim.relations import ModelFacts
from cim.errors import CimError
from cim.model import CityObject, MeshPart, mesh_digest
from cim.writer import CityWriter

log = logging.getLogger(__name__)
#: objects (and meshes) held before they are written in one statement
BATCH = 1000
Ancestor = tuple[str, str]  # (GlobalId, class)


@dataclass
class Gathered:
    """Footprints and heights gathered for one spatial element from what it contains.

    ``footprints`` holds (GlobalId, footprint) of the elements it contains directly and of
    its spatial children (their unions, see :meth:`ModelIngest._union`); they are unioned
    in GlobalId order, so the outline does not depend on the order the geometry kernels
    finished in. ``count`` counts the footprints of everything it contains, at any depth;
    ``low`` and ``high`` bound it all.
    """

    footprints: list[tuple[str, shapely.Geometry]] = field(default_factory=list)
    low: float = float("inf")
    high: float = float("-inf")
    count: int = 0
    children: set[str] = field(default_factory=set)

    def union(self) -> shapely.Geometry | None:
        if not self.footprints:
            return None
        if len(self.footprints) == 1:
            return self.footprints[0][1]
        ordered = sorted(self.footprints, key=lambda item: item[0])
        return shapely.union_all([footprint for _, footprint in ordered])


@dataclass
class IngestResult:
    """What the ingest counted, for the import report."""

    objects_by_class: Counter[str] = field(default_factory=Counter)
    elements_with_mesh: int = 0
    triangles: int = 0
    without_mesh: list[dict[str, str]] = field(default_factory=list)
    tessellated_by_cimtwin: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    kernel_fallback: list[dict[str, str]] = field(default_factory=list)
    outside_storeys: list[str] = field(default_factory=list)
    lods: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class ModelIngest:
    """Writes one model's objects and meshes through ``writer`` as shapes arrive.

    Objects and meshes are held and written :data:`BATCH` at a time (one statement each);
    :meth:`finish` writes the rest. An id the city already has fails its element at once,
    as a single insert would.
    """

    def __init__(
        self, model: ifcopenshell.file, georef: Georeference, crs: str, writer: CityWriter,
        source: str, marks: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.model, self.georef, self.crs, self.writer = model, georef, crs, writer
        self.source = source
        self.marks = marks or {}  # attributes every object gets (planning_status...)
        self.result = IngestResult()
        self.spatial: dict[str, Gathered] = defaultdict(Gathered)
        self.unions: dict[str, shapely.Geometry | None] = {}
        self.ancestors: dict[int, list[Ancestor]] = {}
        self.meshed: set[str] = set()
        self.type_psets: semantics.TypePsets = {}
        self.facts = ModelFacts.of(model)
        self.definitions: semantics.Definitions = {}
        self.parents: dict[int, ifcopenshell.entity_instance | None] = {}
        self.taken: set[str] = set()
        self.owners: dict[str, str] | None = None  # sources of the model's ids the city has
        self.asked: set[str] = set()
        self.pending_objects: list[CityObject] = []
        self.pending_meshes: list[tuple[str, list[MeshPart]]] = []

    def add_shape(self, shape: ElementShape) -> None:
        """Store one element's mesh and object; a failure is reported, never raised."""
        entity = self.model.by_id(shape.step_id)
        if shape.guid in self.meshed:
            self.result.warnings.append(f"duplicate GlobalId {shape.guid}: second one skipped")
            return
        try:
            self._store_shape(entity, shape)
        except Exception as exc:  # one bad element never fails the import
            log.warning("element %s failed: %s", shape.guid, exc)
            self.result.failed.append(
                {"id": shape.guid, "class": entity.is_a(), "reason": f"{type(exc).__name__}: {exc}"}
            )
        if len(self.pending_objects) >= BATCH or len(self.pending_meshes) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the objects and meshes held so far."""
        self.writer.add_objects(self.pending_objects)
        self.writer.add_meshes(self.pending_meshes)
        self.pending_objects, self.pending_meshes = [], []

    def _store_shape(self, entity: ifcopenshell.entity_instance, shape: ElementShape) -> None:
        self._check_new(shape.guid, entity.is_a())
        points = self.georef.to_city(shape.vertices, self.crs)
        if not np.isfinite(points).all():
            raise ValueError("coordinates are not finite after georeferencing")
        parts = [MeshPart(material, *_compact(points, faces)) for material, faces in shape.parts]
        all_faces = np.concatenate([faces for _, faces in shape.parts])
        footprint = footprint_of(points, all_faces, shape.closed)
        low, high = float(points[:, 2].min()), float(points[:, 2].max())
        self.pending_meshes.append((shape.guid, parts))
        self.meshed.add(shape.guid)
        if shape.fallback is not None:
            self.result.kernel_fallback.append({
                "id": shape.guid, "class": entity.is_a(), "kernel": shape.kernel,
                "reason": shape.fallback,
            })  # fmt: skip
        self.result.elements_with_mesh += 1
        self.result.triangles += len(all_faces)
        containers = [guid for guid, _ in self._ancestors(entity)]
        if semantics.is_spatial(entity):
            containers.insert(0, shape.guid)
        else:
            self._add_object(entity, footprint, low, high, mesh_digest(parts))
        self._gather(containers, shape.guid, footprint, low, high)

    def finish(self) -> None:
        """Tessellate what the kernel left, add spatial objects and LODs, list what is missing."""
        self._tessellate_what_the_kernel_left()
        for entity in self.model.by_type("IfcProduct"):
            if semantics.is_spatial(entity):
                gathered = self.spatial.get(entity.GlobalId, Gathered())
                low = gathered.low if gathered.count else None
                high = gathered.high if gathered.count else None
                self._add_object(entity, self._union(entity.GlobalId), low, high, None)
            elif entity.GlobalId not in self.meshed:
                if entity.Representation is not None:
                    reason = semantics.missing_geometry_reason(entity)
                    self.result.without_mesh.append(
                        {"id": entity.GlobalId, "class": entity.is_a(), "reason": reason}
                    )
                if not entity.is_a("IfcOpeningElement"):
                    self._add_object(entity, None, None, None, None)
        self.flush()
        self._add_lods()

    def _tessellate_what_the_kernel_left(self) -> None:
        for entity in self.model.by_type("IfcProduct"):
            if entity.GlobalId in self.meshed or entity.Representation is None:
                continue
            if entity.is_a("IfcOpeningElement") or semantics.is_spatial(entity):
                continue
            shape = tessellate_csg(entity)
            if shape is not None:
                self.add_shape(shape)
                self.result.tessellated_by_cimtwin.append({
                    "id": entity.GlobalId, "class": entity.is_a(),
                    "reason": "CSG primitives the geometry kernel does not map",
                })  # fmt: skip

    def _add_lods(self) -> None:
        for building in self.model.by_type("IfcBuilding"):
            gathered = self.spatial.get(building.GlobalId)
            if gathered is None or not gathered.count:
                continue
            storeys = [
                (self._union(s.GlobalId), self.spatial[s.GlobalId].low,
                 self.spatial[s.GlobalId].high)
                for s in self.model.by_type("IfcBuildingStorey")
                if (building.GlobalId, "IfcBuilding") in self._ancestors(s)
                and self.spatial.get(s.GlobalId) is not None
            ]  # fmt: skip
            height = gathered.high - gathered.low
            block = lods.block(self._union(building.GlobalId), gathered.low, gathered.high)
            for lod, part in (("LOD1", block), ("LOD2", lods.stepped_shell(storeys))):
                if part is not None:
                    self.writer.add_lod(building.GlobalId, lod, self.source, height, part)
                    self.result.lods[lod] = self.result.lods.get(lod, 0) + 1

    def _add_object(
        self, entity: ifcopenshell.entity_instance, footprint: shapely.Geometry | None,
        low: float | None, high: float | None, digest: str | None,
    ) -> None:  # fmt: skip
        parent = self._parent(entity)
        chain = self._ancestors(entity)
        own = [(entity.GlobalId, entity.is_a())]
        read = semantics.attributes_of(entity, self.type_psets, self.definitions, self.facts)
        if not semantics.is_spatial(entity) and not any(c == "IfcBuildingStorey" for _, c in chain):
            self.result.outside_storeys.append(entity.GlobalId)
        self._hold_object(
            CityObject(
                id=entity.GlobalId, cls=entity.is_a(), name=entity.Name or "",
                parent_id=parent.GlobalId if parent is not None else None, source=self.source,
                attributes={
                    **read,
                    **self.marks,
                },
                footprint=footprint,
                base_height=low, top_height=high, digest=digest,
                building_id=_first(own + chain, "IfcBuilding"),
                storey_id=_first(own + chain, "IfcBuildingStorey"),
            )
        )  # fmt: skip
        self.result.objects_by_class[entity.is_a()] += 1

    def _hold_object(self, obj: CityObject) -> None:
        """Queue ``obj`` for the next batch; an id already in the city or the batch raises."""
        self._check_new(obj.id, obj.cls)
        self.taken.add(obj.id)
        self.pending_objects.append(obj)

    def _check_new(self, guid: str, cls: str) -> None:
        """Raise when the city (or this import) already has an object ``guid``.

        The city is asked once for every product id of the model, not once per object.
        """
        if self.owners is None:
            # a GlobalId that is not text (a reference, in a broken file) is no one's id
            guids = (p.GlobalId for p in self.model.by_type("IfcProduct"))
            ids = sorted({guid for guid in guids if isinstance(guid, str)})
            self.owners = self.writer.object_sources(ids)
            self.asked = set(ids)
        if guid in self.taken:
            owner: str | None = self.source
        elif guid in self.asked:
            owner = self.owners.get(guid)
        else:
            owner = self.writer.object_source(guid)
        if owner is not None:
            raise CimError(f"object {guid} ({cls}) already exists, from source {owner}")

    def _parent(self, entity: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
        """:func:`semantics.parent_of`, read once per entity."""
        key = entity.id()
        if key not in self.parents:
            self.parents[key] = semantics.parent_of(entity, self.facts)
        return self.parents[key]

    def _gather(
        self, containers: list[str], element: str, footprint: shapely.Geometry | None,
        low: float, high: float,
    ) -> None:  # fmt: skip
        """Add the footprint and heights of ``element`` to the spatial elements that contain
        it (innermost first): the footprint itself to the innermost only, whose union its
        container takes in turn (:meth:`_union`)."""
        for depth, guid in enumerate(containers):
            gathered = self.spatial[guid]
            if footprint is not None:
                gathered.count += 1
                if depth == 0:
                    gathered.footprints.append((element, footprint))
                else:
                    gathered.children.add(containers[depth - 1])
            gathered.low, gathered.high = min(gathered.low, low), max(gathered.high, high)

    def _union(self, guid: str) -> shapely.Geometry | None:
        """The footprint of the spatial element ``guid``: the union of what it contains
        directly and of its spatial children's footprints, each computed once.

        Taking the children's unions instead of all their elements again makes the outline
        of a site or building cost a union of a few polygons, not of every element.
        """
        if guid not in self.unions:
            gathered = self.spatial.get(guid, Gathered())
            parts = list(gathered.footprints)
            for child in gathered.children:
                union = self._union(child)
                if union is not None:
                    parts.append((child, union))
            self.unions[guid] = Gathered(footprints=parts).union()
        return self.unions[guid]

    def _ancestors(self, entity: ifcopenshell.entity_instance) -> list[Ancestor]:
        """The spatial elements containing ``entity``, innermost first."""
        cached = self.ancestors.get(entity.id())
        if cached is not None:
            return cached
        parent = self._parent(entity)
        chain: list[Ancestor] = []
        if parent is not None:
            chain = list(self._ancestors(parent))
            if semantics.is_spatial(parent):
                chain.insert(0, (parent.GlobalId, parent.is_a()))
        self.ancestors[entity.id()] = chain
        return chain


def _first(chain: list[Ancestor], cls: str) -> str | None:
    return next((guid for guid, kind in chain if kind == cls), None)


def _compact(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only the vertices ``faces`` use, renumbered in their order (no sort needed)."""
    is_used = np.zeros(len(points), dtype=bool)
    is_used[faces.ravel()] = True
    renumbered = np.cumsum(is_used, dtype=np.int64) - 1
    return points[is_used], renumbered[faces].reshape(-1, 3).astype(np.uint32)


def result_dict(result: IngestResult) -> dict[str, Any]:
    """The ingest counts as report fields."""
    data = dict(result.__dict__)
    data["objects_by_class"] = dict(sorted(result.objects_by_class.items()))
    return data
