"""Jurisdictions: the tree of division codes with their boundaries, checked before it is stored.

A node is a :class:`Jurisdiction` (12-digit code, name, level and parent code that follow
from the code, boundary in the city CRS). :func:`check` turns the features of a layer into
nodes and findings: malformed or duplicate codes, missing parents, children outside their
parent, overlapping siblings and invalid polygons are errors that refuse the whole set;
digitising noise (at most :data:`TOLERANCE` of a node's area outside its parent or over a
sibling) is a warning. :func:`smallest_containing` finds, for many points at once, the
deepest node holding each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from cim.errors import CimError, JurisdictionCodeError, ObjectNotFoundError
from cim.scope import LEVELS, Level, check_code, level_of, parent_of

#: Share of a node's area that may lie outside its parent, or over a sibling, and still count
#: as inside (digitising noise): 0.1 %.
TOLERANCE = 1e-3
#: Below this share the difference is floating-point noise and not even reported.
NOISE = 1e-9
#: Metres: the grid an overlay falls back to when GEOS cannot compute it exactly.
SNAP = 1e-3

Severity = Literal["error", "warning"]
ObjectArray = npt.NDArray[np.object_]


class JurisdictionError(CimError):
    """A set of jurisdictions was refused; ``findings`` lists why."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


class JurisdictionNotFoundError(ObjectNotFoundError):
    """No jurisdiction of that code is stored, or the caller may not see it."""


@dataclass(frozen=True)
class Jurisdiction:
    """One node of the tree: its code, name, level, parent's code and boundary (city CRS)."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    boundary: MultiPolygon

    @classmethod
    def of(cls, code: str, name: str, boundary: BaseGeometry) -> Jurisdiction:
        """A node whose level and parent follow from its (checked) code."""
        return cls(code, name, level_of(code), parent_of(code), _multipolygon(boundary))

    @property
    def depth(self) -> int:
        """0 for a province, 4 for a village."""
        return LEVELS.index(self.level)


@dataclass(frozen=True)
class Finding:
    """One thing the checks found, naming the codes involved."""

    severity: Severity
    kind: str
    codes: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready values."""
        return {
            "severity": self.severity,
            "kind": self.kind,
            "codes": list(self.codes),
            "message": self.message,
        }


@dataclass(frozen=True)
class RawFeature:
    """A feature of a layer before the checks: its code and name values and its geometry."""

    code: Any
    name: Any
    geometry: BaseGeometry | None


@dataclass
class CheckedSet:
    """The nodes that passed the per-feature checks, and every finding."""

    nodes: list[Jurisdiction]
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The findings that refuse the set."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings reported but accepted."""
        return [f for f in self.findings if f.severity == "warning"]

    def accepted(self) -> list[Jurisdiction]:
        """The nodes, parents first; :class:`JurisdictionError` listing the errors if any."""
        errors = self.errors
        if errors:
            listed = "; ".join(f.message for f in errors[:20])
            more = f"; … {len(errors) - 20} more" if len(errors) > 20 else ""
            raise JurisdictionError(
                f"jurisdictions refused, {len(errors)} error(s): {listed}{more}", self.findings
            )
        if not self.nodes:
            raise JurisdictionError("jurisdictions refused: the layer holds no feature")
        return self.nodes


def check(features: Iterable[RawFeature]) -> CheckedSet:
    """Check the features of a layer as a jurisdiction tree (see the module's description)."""
    findings: list[Finding] = []
    candidates: list[Jurisdiction] = []
    for number, feature in enumerate(features, start=1):
        node = _checked_feature(number, feature, findings)
        if node is not None:
            candidates.append(node)
    counts = Counter(node.code for node in candidates)
    for code, count in sorted(counts.items()):
        if count > 1:
            findings.append(
                Finding("error", "duplicate_code", (code,), f"code {code} appears {count} times")
            )
    nodes = sorted((n for n in candidates if counts[n.code] == 1), key=lambda n: (n.depth, n.code))
    findings += _missing_parents(nodes)
    findings += _outside_parents(nodes)
    findings += _overlapping_siblings(nodes)
    return CheckedSet(nodes, findings)


def _checked_feature(
    number: int, feature: RawFeature, findings: list[Finding]
) -> Jurisdiction | None:
    code = _code_text(feature.code)
    if code is None:
        findings.append(Finding("error", "bad_code", (), f"feature #{number} has no code"))
        return None
    try:
        check_code(code)
    except JurisdictionCodeError as exc:
        findings.append(Finding("error", "bad_code", (code,), f"feature #{number}: {exc}"))
        return None
    problem = _geometry_problem(feature.geometry)
    if problem is not None:
        findings.append(Finding("error", "invalid_polygon", (code,), f"{code}: {problem}"))
        return None
    name = "" if feature.name is None else str(feature.name).strip()
    if not name or name.lower() == "nan":
        findings.append(Finding("warning", "no_name", (code,), f"{code} has no name: its code"))
        name = code
    assert feature.geometry is not None
    return Jurisdiction.of(code, name, feature.geometry)


def _code_text(value: Any) -> str | None:
    """A code as text: 12-digit strings as they are, integral numbers from GIS columns too."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    return text or None


def _geometry_problem(geometry: BaseGeometry | None) -> str | None:
    if geometry is None or geometry.is_empty:
        return "no polygon"
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        return f"a {geometry.geom_type}, not a polygon"
    if not shapely.is_valid(geometry):
        return f"invalid polygon ({shapely.is_valid_reason(geometry)})"
    if geometry.area <= 0:
        return "a polygon of no area"
    return None


def _missing_parents(nodes: list[Jurisdiction]) -> list[Finding]:
    """Every node but those of the file's top level needs its parent in the file."""
    if not nodes:
        return []
    top = min(node.depth for node in nodes)
    present = {node.code for node in nodes}
    return [
        Finding(
            "error",
            "missing_parent",
            (node.code, node.parent_code),
            f"{node.code} ({node.level}): its parent {node.parent_code} is not in the set",
        )
        for node in nodes
        if node.depth > top and node.parent_code not in present and node.parent_code is not None
    ]


def _outside_parents(nodes: list[Jurisdiction]) -> list[Finding]:
    """Each node against its parent: the share of its area outside (one vectorized pass)."""
    by_code = {node.code: node for node in nodes}
    pairs = [(node, by_code[node.parent_code]) for node in nodes if node.parent_code in by_code]
    if not pairs:
        return []
    children = np.array([child.boundary for child, _ in pairs], dtype=object)
    parents = np.array([parent.boundary for _, parent in pairs], dtype=object)
    shares = _overlay_area(shapely.difference, children, parents) / shapely.area(children)
    findings = [
        _graded(
            "outside_parent", (child.code, parent.code), share,
            f"{child.code} lies {_percent(share)} outside its parent {parent.code}",
            "counted as inside",
        )
        for (child, parent), share in zip(pairs, shares.tolist(), strict=True)
    ]  # fmt: skip
    return [finding for finding in findings if finding is not None]


def _overlapping_siblings(nodes: list[Jurisdiction]) -> list[Finding]:
    """Nodes of one parent (or the file's top nodes) whose areas overlap: STRtree candidates,
    then the overlap of each candidate pair as a share of the smaller node."""
    if not nodes:
        return []
    boundaries = np.array([node.boundary for node in nodes], dtype=object)
    left, right = shapely.STRtree(boundaries).query(boundaries, predicate="intersects")
    parents = np.array([node.parent_code or "" for node in nodes], dtype=object)
    keep = (left < right) & (parents[left] == parents[right])
    left, right = left[keep], right[keep]
    shared = _overlay_area(shapely.intersection, boundaries[left], boundaries[right])
    smaller = np.minimum(shapely.area(boundaries[left]), shapely.area(boundaries[right]))
    findings = [
        _graded(
            "sibling_overlap", (nodes[i].code, nodes[j].code), area / least,
            f"{nodes[i].code} and {nodes[j].code} overlap by {area:.3g} m²"
            f" ({_percent(area / least)} of the smaller)",
            "counted as not overlapping",
        )
        for i, j, area, least in zip(
            left.tolist(), right.tolist(), shared.tolist(), smaller.tolist(), strict=True
        )
    ]  # fmt: skip
    return [finding for finding in findings if finding is not None]


def _graded(
    kind: str, codes: tuple[str, ...], share: float, what: str, tolerated: str
) -> Finding | None:
    """An error above :data:`TOLERANCE`, a warning saying so down to :data:`NOISE`, else none."""
    if share > TOLERANCE:
        return Finding("error", kind, codes, what)
    if share > NOISE:
        return Finding(
            "warning",
            kind,
            codes,
            f"{what}: within the {_percent(TOLERANCE)} tolerance, {tolerated}",
        )
    return None


def _overlay_area(operation: Any, one: ObjectArray, other: ObjectArray) -> npt.NDArray[np.float64]:
    """The area of ``operation(one, other)`` pairwise; GEOS's robustness failures on valid
    but nearly degenerate input are retried with snap rounding to the millimetre."""
    try:
        return np.asarray(shapely.area(operation(one, other)), dtype=np.float64)
    except shapely.errors.GEOSException:
        return np.asarray(shapely.area(operation(one, other, grid_size=SNAP)), dtype=np.float64)


def _percent(share: float) -> str:
    return f"{share * 100:.3g} %"


def _multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    if isinstance(geometry, MultiPolygon):
        return geometry
    if geometry.geom_type == "Polygon":
        return MultiPolygon([geometry])
    raise JurisdictionError(f"a jurisdiction boundary must be a polygon, not {geometry.geom_type}")


def smallest_containing(points: ObjectArray, nodes: Sequence[Jurisdiction]) -> ObjectArray:
    """For each point (shapely Point or None), the code of the deepest node holding it (on
    its boundary counts), the smaller by area among equals; None outside every node.

    One STRtree query for all points: no Python loop over points or polygons.
    """
    result: ObjectArray = np.full(len(points), None, dtype=object)
    if not nodes or not len(points):
        return result
    boundaries = np.array([node.boundary for node in nodes], dtype=object)
    codes = np.array([node.code for node in nodes], dtype=object)
    depth = np.array([node.depth for node in nodes])
    area = shapely.area(boundaries)
    point_index, node_index = shapely.STRtree(boundaries).query(points, predicate="intersects")
    if not len(point_index):
        return result
    # sort by point, then deepest first, then smallest area; keep the first per point
    order = np.lexsort((area[node_index], -depth[node_index], point_index))
    point_index, node_index = point_index[order], node_index[order]
    first = np.ones(len(point_index), dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    result[point_index[first]] = codes[node_index[first]]
    return result
