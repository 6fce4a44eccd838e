"""The model check on ingest (CJJ/T 315-2022): schema validation, units, georeference, storeys.

Findings have a level (``error``, ``warning``, ``info``), a code, a message and the ids they
concern. Schema validation runs in a separate process, beside the geometry iterator.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.util.unit
import ifcopenshell.validate
import numpy as np

from bim.georef import SITE_METHOD, Georeference
from cim.crs import (
    FloatArray,
    area_of_use_warning,
    to_lonlat,
    transform_arrays,
)

MAX_LISTED = 200
DISAGREEMENT_METRES = 100.0


@dataclass
class Finding:
    """One finding of the model check."""

    level: str
    code: str
    message: str
    ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with at most :data:`MAX_LISTED` ids."""
        data = asdict(self)
        data["ids"] = self.ids[:MAX_LISTED]
        data["id_count"] = len(self.ids)
        return data


class Validation:
    """Schema validation of one file running in a child process, beside the import."""

    def __init__(self, path: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bim.check", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def result(self) -> dict[str, Any]:
        """Wait for the child; its summary, or an ``error`` entry if it failed."""
        out, err = self._process.communicate()
        if self._process.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            return {"errors": 0, "warnings": 0, "issues": [], "error": f"validation failed: {last}"}
        summary: dict[str, Any] = json.loads(out)
        return summary

    def cancel(self) -> None:
        """Stop the child if the import ends early."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def validate_file(path: str) -> dict[str, Any]:
    """Schema validation of one file (``ifcopenshell.validate``, without EXPRESS rules)."""
    model = ifcopenshell.open(path)
    collected = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(model, collected)
    issues = [
        {
            "level": str(s.get("level", "error")),
            "attribute": str(s.get("attribute") or ""),
            "instance": str(s.get("instance") or "")[:200],
            "message": " ".join(str(s.get("message", "")).split())[:300],
        }
        for s in collected.statements
    ]
    errors = sum(1 for issue in issues if issue["level"] == "error")
    return {"errors": errors, "warnings": len(issues) - errors, "issues": issues[:MAX_LISTED]}


def unit_findings(model: ifcopenshell.file) -> list[Finding]:
    """The project's length unit, and whether one is declared at all."""
    unit = ifcopenshell.util.unit.get_project_unit(model, "LENGTHUNIT")
    if unit is None:
        return [
            Finding(
                "error", "no-length-unit", "the project declares no length unit; metres assumed"
            )
        ]
    scale = float(ifcopenshell.util.unit.calculate_unit_scale(model))
    name = ifcopenshell.util.unit.get_full_unit_name(unit)
    level = "info" if any(math.isclose(scale, s) for s in (1.0, 0.001, 0.01)) else "warning"
    return [Finding(level, "length-unit", f"length unit {name} ({scale:g} m)")]


def georeference_findings(
    georef: Georeference, alternatives: list[Georeference], city_crs: str
) -> list[Finding]:
    """Which source placed the model, and where other sources in the file disagree with it.

    Sources more than :data:`DISAGREEMENT_METRES` apart get a warning naming both places;
    the one that placed the model (the map conversion before the site) is said to win.
    """
    findings = [
        Finding("info", "georeference", f"placed by {georef.method} ({georef.crs})"),
        *(Finding("warning", "georeference-note", note) for note in georef.notes),
    ]
    here = _model_origin(georef, city_crs)
    for other in alternatives:
        if other.method == georef.method:
            continue
        distance = float(np.hypot(*(_model_origin(other, city_crs)[:2] - here[:2])))
        if not math.isfinite(distance) or distance > DISAGREEMENT_METRES:
            findings.append(Finding(
                "warning", "georeference-disagreement",
                f"{georef.method} and {other.method} put the model origin {_far(distance)}"
                f" apart: {georef.method} at {_place(georef, city_crs)}, {other.method} at"
                f" {_place(other, city_crs)}; {georef.method} is used",
            ))  # fmt: skip
    lon, lat = transform_arrays(city_crs, "EPSG:4326", *here[:2, None])
    outside = area_of_use_warning(city_crs, lon, lat, "the model")
    if outside is not None:
        message = f"{outside}: check the city CRS or give --origin"
        findings.append(Finding("warning", "outside-crs-area", message))
    return findings


def _model_origin(georef: Georeference, crs: str) -> FloatArray:
    """Where ``georef`` puts the model's origin, in ``crs``."""
    return georef.to_city(np.zeros((1, 3)), crs)[0]


def _far(distance: float) -> str:
    if not math.isfinite(distance):
        return "an unknown distance"
    return f"{distance:.0f} m" if distance < 10_000 else f"{distance / 1000:.1f} km"


def _place(georef: Georeference, city_crs: str) -> str:
    """The model origin under ``georef``: map coordinates in its own CRS, and lat/lon."""
    origin = _model_origin(georef, city_crs)
    lon, lat = to_lonlat(origin[0], origin[1], city_crs)
    geodetic = f"lat {lat:.6f}, lon {lon:.6f}"
    if georef.method == SITE_METHOD:
        return geodetic
    easting, northing = _model_origin(georef, georef.crs)[:2]
    return f"E {easting:.2f}, N {northing:.2f} in {georef.crs} ({geodetic})"


def to_text(report: dict[str, Any]) -> str:
    """The report of one import as readable lines."""
    lines = [
        f"{report['source']} ({report['schema']}, {report.get('application') or 'unknown tool'})",
        "  objects: " + ", ".join(f"{k} {v}" for k, v in report["objects_by_class"].items()),
        f"  meshes: {report['elements_with_mesh']} elements, {report['triangles']} triangles",
    ]
    validation = report.get("validation") or {}
    if validation:
        lines.append(
            f"  schema validation: {validation['errors']} errors, {validation['warnings']} warnings"
        )
        lines += [
            f"    - {i['message'][:120]} ({i['instance'][:60]})" for i in validation["issues"][:10]
        ]
    for finding in report.get("findings", []):
        count = f" [{finding['id_count']}]" if finding.get("id_count") else ""
        lines.append(f"  {finding['level']}: {finding['message']}{count}")
    missing = report.get("without_mesh", [])
    openings = sum(1 for item in missing if item["class"] == "IfcOpeningElement")
    if openings:
        lines.append(f"  {openings} openings: subtracted from their hosts, no mesh of their own")
    others = [item for item in missing if item["class"] != "IfcOpeningElement"]
    for item in others[:20]:
        lines.append(f"  no mesh: {item['id']} {item['class']}: {item['reason']}")
    if len(others) > 20:
        lines.append(f"  … {len(others) - 20} more without mesh")
    for item in report.get("failed", []):
        lines.append(f"  failed: {item['id']} {item['class']}: {item['reason']}")
    diff = report.get("diff")
    if diff:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in diff["counts"].items())
        lines.append(f"  version {report['version']} replacing {report['replaces']}: {counts}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(validate_file(sys.argv[1])))
