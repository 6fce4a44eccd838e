"""The model check on ingest: findings a planner's intake desk would want."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ifcopenshell
import ifcopenshell.api

from bim.authoring import BuildingSpec, write_demo_building
from bim.check import to_text
from bim.importer import ImportOptions, import_ifc
from tests.conftest import FZK, PROJECT_ROOT, make_city


def _codes(report: object) -> dict[str, dict]:
    return {f["code"]: f for f in report.findings}  # type: ignore[attr-defined]


def test_clean_authored_building_has_only_information(tmp_path: Path) -> None:
    path = write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0), tmp_path / "hall.ifc")
    report = import_ifc(make_city(tmp_path), path)
    assert {f["level"] for f in report.findings} == {"info"}
    assert "length-unit" in _codes(report) and "georeference" in _codes(report)
    assert report.validation == {"errors": 0, "warnings": 0, "issues": []}
    assert report.outside_storeys == [] and report.failed == []


def test_disagreeing_site_location_and_outside_storey_are_reported(tmp_path: Path) -> None:
    path = write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0), tmp_path / "hall.ifc")
    model = ifcopenshell.open(str(path))
    site = model.by_type("IfcSite")[0]
    site.RefLatitude, site.RefLongitude = (42, 21, 28, 0), (-71, -3, -42, 0)  # Boston
    building = model.by_type("IfcBuilding")[0]
    storey = model.by_type("IfcBuildingStorey")[0]
    loose = ifcopenshell.api.root.copy_class(model, product=model.by_type("IfcWall")[0])
    ifcopenshell.api.spatial.unassign_container(model, products=[loose])
    ifcopenshell.api.aggregate.assign_object(model, products=[loose], relating_object=building)
    assert storey.GlobalId != loose.GlobalId
    model.write(str(tmp_path / "moved.ifc"))
    report = import_ifc(make_city(tmp_path), tmp_path / "moved.ifc")
    codes = _codes(report)
    disagreement = codes["georeference-disagreement"]
    assert disagreement["level"] == "warning" and "km" in disagreement["message"]
    assert report.georeference["method"] == "IfcMapConversion"  # the map conversion wins
    assert loose.GlobalId in codes["outside-storeys"]["ids"]


def test_schema_findings_of_a_real_file_reach_the_text_report(
    ifc_dir: Path, tmp_path: Path
) -> None:
    report = import_ifc(
        make_city(tmp_path, "EPSG:25832"), ifc_dir / FZK, ImportOptions(check_only=True)
    )
    assert report.validation["errors"] > 0  # the file has IfcRelSpaceBoundary without element
    assert any("RelatedBuildingElement" in i["attribute"] for i in report.validation["issues"])
    text = to_text(report.to_dict())
    assert "schema validation:" in text and "IfcSite RefLatitude/RefLongitude" in text
    assert "openings" not in text or "subtracted" in text


def test_validation_can_be_switched_off(tmp_path: Path) -> None:
    path = write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0), tmp_path / "hall.ifc")
    report = import_ifc(make_city(tmp_path), path, ImportOptions(validate=False))
    assert report.validation == {}


def test_the_importer_starts_without_the_schema_validator() -> None:
    """``ifcopenshell.validate`` loads in the validation's process, not at start-up."""
    script = "import sys, api.cli, api.usecases.ifc; print('ifcopenshell.validate' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=PROJECT_ROOT, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )  # fmt: skip
    assert done.stdout.split() == ["False"], done.stderr[-500:]
