"""The model check on ingest (CJJ/T 315-2022): schema validation, units, georeference, storeys.

Findings have a level (``error``, ``warning``, ``info``), a code, a message and the ids they
concern. Schema validation runs in a child process at the lowest CPU priority, beside the
geometry kernels.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import multiprocessing
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import ifcopenshell
import ifcopenshell.util.unit
import numpy as np

from bim.children import die_with_parent
from bim.georef import SITE_METHOD, Georeference
from cim.crs import FloatArray, area_of_use_warning, to_lonlat, transform_arrays

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
    """Schema validation of one model in a forked child, beside the import.

    The child shares the parsed model with the importer (no second parse, no interpreter
    start-up) and runs at the lowest CPU priority (nice 19): it takes the time the
    geometry kernels and the importer leave idle, never theirs. When the importer is done
    and waits for it, the child is given back the normal priority where the system allows
    it. It dies with the importer (:func:`bim.children.die_with_parent`). Off Linux, or in
    a daemon process, validation runs in the calling process when the result is asked for.
    """

    def __init__(self, model: ifcopenshell.file) -> None:
        self._model = model
        self._process: Any = None
        self._receiver: Any = None
        if sys.platform.startswith("linux") and not multiprocessing.current_process().daemon:
            context = multiprocessing.get_context("fork")
            self._receiver, sender = context.Pipe(duplex=False)
            self._process = context.Process(
                target=_validate_in_child, args=(sender, model, os.getpid()),
                name="cimtwin-validation",
            )  # fmt: skip
            self._process.start()
            sender.close()

    def result(self) -> dict[str, Any]:
        """Wait for the validation; its summary, or an ``error`` entry if it failed."""
        if self._process is None:
            return validate_model(self._model)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self._process.pid, 0)
        try:
            summary: dict[str, Any] = self._receiver.recv()
        except EOFError:
            summary = _failed(f"the validation process ended (exit code {self._end()})")
        else:
            self._end()
        return summary

    def cancel(self) -> None:
        """Stop the child if the import ends early."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._end()

    def _end(self) -> int | None:
        self._receiver.close()
        self._process.join()
        code: int | None = self._process.exitcode
        return code


def _validate_in_child(sender: Any, model: ifcopenshell.file, parent: int) -> None:
    die_with_parent(parent)
    gc.disable()  # objects inherited from the importer (its SQLite connection) stay untouched
    os.nice(19)
    try:
        summary = validate_model(model)
    except Exception as exc:
        summary = _failed(f"{type(exc).__name__}: {exc}")
    sender.send(summary)
    sender.close()


def _failed(message: str) -> dict[str, Any]:
    return {"errors": 0, "warnings": 0, "issues": [], "error": f"validation failed: {message}"}


def validate_file(path: str) -> dict[str, Any]:
    """Schema validation of one file (``ifcopenshell.validate``'s findings, without EXPRESS
    rules)."""
    return validate_model(ifcopenshell.open(path))


def validate_model(model: ifcopenshell.file) -> dict[str, Any]:
    """Schema validation of one model: ``ifcopenshell.validate``'s findings, without EXPRESS
    rules, with the instances that certainly pass cleared first (:mod:`bim.validation`).

    The validator is imported here, in the validation's own process, not when the
    importer starts (0.1-0.2 s of start-up it does not need).
    """
    import ifcopenshell.validate

    from bim.validation import validate

    collected = ifcopenshell.validate.json_logger()
    validate(model, collected)
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
    if validation.get("pending"):
        lines.append("  schema validation: pending (it runs while the tiles are written)")
    elif validation:
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
