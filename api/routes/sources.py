"""Imported sources: their check reports, their versions and what changed between them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import StoreDep
from bim.check import to_text
from cim.errors import ObjectNotFoundError

router = APIRouter(prefix="/api/sources", tags=["sources"])

SUMMARY_KEYS = ("source", "version", "replaces", "kind", "sha256", "imported_at")


@router.get("")
def list_sources(store: StoreDep) -> list[dict[str, Any]]:
    """The current version of every imported source."""
    return [
        {key: s[key] for key in SUMMARY_KEYS}
        | {"objects": sum(s["report"].get("objects_by_class", {}).values())}
        for s in store.sources()
    ]


@router.get("/{source}")
def get_source(source: str, store: StoreDep) -> dict[str, Any]:
    """A source with its full import and check report."""
    return _source(store, source)


@router.get("/{source}/report.txt", response_class=PlainTextResponse)
def get_source_report_text(source: str, store: StoreDep) -> str:
    """The check report of a source as readable text."""
    return to_text(_source(store, source)["report"])


@router.get("/{source}/versions")
def get_versions(source: str, store: StoreDep) -> list[dict[str, Any]]:
    """Every version of the lineage that ends in ``source``, oldest first."""
    return [{key: v[key] for key in SUMMARY_KEYS} for v in store.source_versions(source)]


@router.get("/{source}/diff")
def get_diff(source: str, store: StoreDep) -> dict[str, Any]:
    """What changed from the previous version to this one, by GlobalId."""
    record = _source(store, source)
    diff = record["report"].get("diff")
    if diff is None:
        raise ObjectNotFoundError(f"source {source!r} is a first version: it has no diff")
    return {"source": source, "version": record["version"], "replaces": record["replaces"],
            **diff}  # fmt: skip


def _source(store: StoreDep, source: str) -> dict[str, Any]:
    for record in store.sources():
        if record["source"] == source:
            return record
    raise ObjectNotFoundError(f"no source {source!r}")
