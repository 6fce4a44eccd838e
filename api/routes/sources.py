"""Imported sources: their check reports, their versions and what changed between them.

A caller sees the sources with at least one object in its jurisdiction (all of them when
its scope is unlimited), and their whole reports; another source is not found (404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.deps import ScopeDep, StoreDep
from bim.check import to_text as ifc_report_text
from cim.errors import ObjectNotFoundError
from cim.scope import Scope
from cim.store import CityStore

router = APIRouter(prefix="/api/sources", tags=["sources"])

SUMMARY_KEYS = ("source", "version", "replaces", "kind", "sha256", "imported_at")
# Lines of one list shown in a text report; the JSON report has them all.
LISTED_ITEMS = 20


class SourceVersion(BaseModel):
    """One version of an imported file (IFC, GIS layer, CityJSON, DEM, orthophoto)."""

    source: str
    version: int
    replaces: str | None
    kind: str | None = Field(description="ifc, gis, cityjson, dem or ortho")
    sha256: str | None
    imported_at: str | None


class SourceSummary(SourceVersion):
    """The current version of a source and how many objects it brought."""

    objects: int


class Source(SourceVersion):
    """A source with its full import report (the model check for IFC files)."""

    path: str | None
    report: dict[str, Any]


class SourceDiff(BaseModel):
    """What changed from the previous version of a source, by GlobalId."""

    model_config = {"extra": "allow"}

    source: str
    version: int
    replaces: str | None


@router.get("", response_model=list[SourceSummary])
def list_sources(store: StoreDep, scope: ScopeDep) -> list[dict[str, Any]]:
    """The current version of every imported source the caller sees, with how many objects
    it brought (in a limited jurisdiction: how many of its objects lie there)."""
    inside = None if scope.unlimited else store.object_counts_by_source(scope=scope)
    return [
        {key: s[key] for key in SUMMARY_KEYS}
        | {"objects": _object_count(s["report"]) if inside is None else inside[s["source"]]}
        for s in store.sources(scope=scope)
    ]


@router.get("/{source}", response_model=Source)
def get_source(source: str, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """A source with its full import and check report."""
    return _source(store, source, scope)


@router.get("/{source}/report.txt", response_class=PlainTextResponse)
def get_source_report_text(source: str, store: StoreDep, scope: ScopeDep) -> str:
    """The import report of a source as readable text (the model check for IFC files)."""
    return report_text(_source(store, source, scope))


@router.get("/{source}/versions", response_model=list[SourceVersion])
def get_versions(source: str, store: StoreDep, scope: ScopeDep) -> list[dict[str, Any]]:
    """Every version of the lineage that ends in ``source``, oldest first."""
    versions = store.source_versions(source, scope=scope)
    return [{key: v[key] for key in SUMMARY_KEYS} for v in versions]


@router.get("/{source}/diff", response_model=SourceDiff)
def get_diff(source: str, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """What changed from the previous version to this one, by GlobalId."""
    record = _source(store, source, scope)
    diff = record["report"].get("diff")
    if diff is None:
        raise ObjectNotFoundError(f"source {source!r} is a first version: it has no diff")
    return {"source": source, "version": record["version"], "replaces": record["replaces"],
            **diff}  # fmt: skip


def report_text(record: dict[str, Any]) -> str:
    """The stored report of a source as readable lines, whatever its kind."""
    report = record["report"]
    if record["kind"] == "ifc" and "schema" in report:
        return ifc_report_text(report)
    lines = [
        f"{record['source']} ({record['kind'] or 'unknown kind'}, version {record['version']})"
    ]
    for key, value in report.items():
        if key != "source":
            lines += _lines(key.replace("_", " "), value)
    return "\n".join(lines)


def _lines(label: str, value: Any) -> list[str]:
    if isinstance(value, dict) and all(not isinstance(v, dict | list) for v in value.values()):
        return [f"  {label}: " + (", ".join(f"{k} {v}" for k, v in value.items()) or "none")]
    if isinstance(value, list) and value and isinstance(value[0], dict | list):
        lines = [f"  {label}: {len(value)}"]
        lines += [f"    - {_item(item)}" for item in value[:LISTED_ITEMS]]
        if len(value) > LISTED_ITEMS:
            lines.append(f"    … {len(value) - LISTED_ITEMS} more")
        return lines
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:LISTED_ITEMS])
        more = f" … {len(value) - LISTED_ITEMS} more" if len(value) > LISTED_ITEMS else ""
        return [f"  {label}: {shown or 'none'}{more}"]
    return [f"  {label}: {value}"]


def _item(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k}: {v}" for k, v in item.items())
    return ", ".join(str(v) for v in item)


def _object_count(report: dict[str, Any]) -> int:
    """Objects a source brought, from the report of its kind (IFC, CityJSON, GIS)."""
    for key in ("objects_by_class", "objects_by_type"):
        if isinstance(report.get(key), dict):
            return int(sum(report[key].values()))
    return int(report.get("imported", 0))


def _source(store: CityStore, source: str, scope: Scope) -> dict[str, Any]:
    for record in store.sources(scope=scope):
        if record["source"] == source:
            return record
    raise ObjectNotFoundError(f"no source {source!r}")
