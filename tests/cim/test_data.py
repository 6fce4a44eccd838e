"""The shipped data: the demo district, the code lists and the demo's jurisdictions."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import ifcopenshell
import pytest
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import box

from bim import authoring
from bim.authoring import BuildingSpec
from cim import data, vocabulary
from cim.crs import parse_crs

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"\d{12}")
# Digits of the code each level fixes: 2 province, 2 city, 2 county, 3 town, 3 village.
LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12}


def test_the_demo_district_defines_valid_buildings_inside_its_layout() -> None:
    district = data.demo_district()
    parse_crs(district.crs)
    assert district.crs == authoring.CRS_NAME  # the authored IFC files are georeferenced in it
    assert len(district.buildings) == 6 and len({b.name for b in district.buildings}) == 6
    west, south, east, north = district.bounds
    for building in district.buildings:
        spec = BuildingSpec(**dataclasses.asdict(building))  # the authoring rules hold
        assert west < spec.easting < east and south < spec.northing < north
    assert [layer.cls for layer in district.gis_layers] == ["building", "road", "parcel"]
    assert set(district.gis_uses) <= {"residential", "office", "retail", "education", "hotel"}


def test_the_demo_builds_what_the_district_file_defines() -> None:
    from api import demo, demo_gis

    district = data.demo_district()
    assert (district.crs, district.name) == (demo.DEMO_CRS, demo.DEMO_NAME)
    assert [spec.name for spec in demo.DISTRICT] == [b.name for b in district.buildings]
    assert [spec.storeys for spec in demo.DISTRICT] == [b.storeys for b in district.buildings]
    assert demo.GIS_LAYERS == (
        ("buildings", "building"),
        ("streets", "road"),
        ("parcels", "parcel"),
    )
    assert (district.centre, district.half_size) == (demo_gis.CENTRE, demo_gis.HALF_SIZE)


def test_the_class_code_list_names_real_ifc_classes() -> None:
    document = data.read_json(data.CLASSES_FILE)
    classes = [item["class"] for section in ("ifc", "city") for item in document[section]]
    assert len(classes) == len(set(classes))
    schemas = [ifcopenshell.schema_by_name(name) for name in ("IFC2X3", "IFC4", "IFC4X3")]
    for item in document["ifc"]:
        assert any(_declares(schema, item["class"]) for schema in schemas), item["class"]
    for name in vocabulary.class_names().values():
        assert name.zh.strip() and name.en.strip()
        assert name.kind in ("spatial", "element", "feature", "other")
    assert all(vocabulary.is_building(c) == (c in vocabulary.BUILDING_CLASSES) for c in classes)
    assert set(vocabulary.BUILDING_CLASSES) <= set(classes)


def _declares(schema: ifcopenshell.ifcopenshell_wrapper.schema_definition, name: str) -> bool:
    try:
        schema.declaration_by_name(name)
    except RuntimeError:
        return False
    return True


def test_the_viewer_shows_the_chinese_names_of_the_code_list() -> None:
    source = (ROOT / "viewer" / "src" / "i18n.js").read_text(encoding="utf-8")
    table = re.search(r"CLASS_NAMES_ZH = \{(.*?)\};", source, re.DOTALL)
    assert table is not None
    shown = dict(re.findall(r"(\w+): \"([^\"]+)\"", table.group(1)))
    names = vocabulary.class_names()
    assert {cls: names[cls].zh for cls in shown} == shown


def test_the_height_bands_follow_gb_50352() -> None:
    bands = vocabulary.height_bands()
    assert [b.zh for b in bands] == ["低层或多层民用建筑", "高层民用建筑", "超高层建筑"]
    assert (bands[0].max_residential, bands[0].max_public) == (27.0, 24.0)
    assert (bands[1].max_residential, bands[1].max_public) == (100.0, 100.0)
    assert (bands[2].max_residential, bands[2].max_public) == (None, None)


def test_jurisdiction_codes_are_well_formed_and_nested() -> None:
    nodes = data.demo_jurisdictions()
    by_code = {n.code: n for n in nodes}
    assert len(by_code) == len(nodes)
    assert [n.code for n in nodes if n.level in ("province", "city", "county")] == [
        "440000000000", "440100000000", "440106000000"]  # fmt: skip
    for node in nodes:
        assert CODE.fullmatch(node.code), node.code
        fixed = LEVEL_DIGITS[node.level]
        assert node.code[fixed:] == "0" * (12 - fixed), f"{node.code} is not a {node.level} code"
        assert int(node.code[fixed - (3 if fixed > 6 else 2) : fixed]) > 0, node.code
        assert node.name.strip() and node.name_en.strip()
        assert node.area.is_valid and node.area.geom_type == "Polygon"
        if node.level == "province":
            assert node.parent is None
            continue
        assert node.parent in by_code, node.code
        parent = by_code[node.parent]
        levels = list(LEVEL_DIGITS)
        assert levels.index(node.level) == levels.index(parent.level) + 1
        assert node.code.startswith(parent.code[: LEVEL_DIGITS[parent.level]])
        assert node.area.difference(parent.area).area < 1e-12, f"{node.code} leaves its parent"


def test_sibling_jurisdictions_do_not_overlap_and_villages_cover_the_demo() -> None:
    nodes = data.demo_jurisdictions()
    for parent in {n.parent for n in nodes if n.parent}:
        siblings = [n.area for n in nodes if n.parent == parent]
        for index, one in enumerate(siblings):
            for other in siblings[index + 1 :]:
                assert one.intersection(other).area < 1e-12, parent
    district = data.demo_district()
    to_crs84 = Transformer.from_crs(district.crs, "OGC:CRS84", always_xy=True)
    extent = shapely.transform(box(*district.bounds), to_crs84.transform, interleaved=False)
    villages = shapely.union_all([n.area for n in nodes if n.level == "village"])
    assert extent.difference(villages).area < 1e-12
    # each authored building stands inside one village or community, not across a boundary
    for b in district.buildings:
        plan = box(0.0, 0.0, b.width, b.depth)
        placed = shapely.affinity.translate(
            shapely.affinity.rotate(plan, b.rotation_deg, origin=(0, 0)), b.easting, b.northing
        )
        footprint = shapely.transform(placed, to_crs84.transform, interleaved=False)
        assert sum(n.area.contains(footprint) for n in nodes if n.level == "village") == 1, b.name


def test_a_missing_data_file_is_a_clear_error() -> None:
    with pytest.raises(data.DataFileError, match=r"'demo/nothing\.json' not found"):
        data.data_file("demo/nothing.json")


@pytest.mark.slow
def test_an_installed_wheel_finds_its_data(project_wheel: Path, tmp_path: Path) -> None:
    wheel = project_wheel  # built once for the session (tests/wheel.py)
    shipped = {p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data").rglob("*.*json")}
    names = zipfile.ZipFile(wheel).namelist()
    packed = {n.split("/share/cimtwin/data/", 1)[1] for n in names if "/share/cimtwin/data/" in n}
    assert shipped == packed
    # installed away from the source tree, the package finds its data through its file list
    prefix = tmp_path / "prefix"
    # --ignore-installed: without it pip uninstalls the environment's own cimtwin first
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--no-index",
               "--ignore-installed",
               "--prefix", str(prefix), str(wheel)]  # fmt: skip
    subprocess.run(install, check=True, capture_output=True, timeout=600)
    [site] = prefix.glob("lib/python*/site-packages")
    probe = ("import json, cim.data as d, cim.vocabulary as v;"
             " print(json.dumps([d.data_file(d.DISTRICT_FILE).as_posix(),"
             " d.demo_district().name, v.class_names()['IfcSlab'].zh]))")  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(site)},
                           cwd=tmp_path, timeout=120)  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    path, name, slab = json.loads(shown.stdout)
    assert path == (prefix / "share/cimtwin/data/demo/district.json").resolve().as_posix()
    assert (name, slab) == (data.demo_district().name, "楼板")
