"""IFC2X3 georeference as written in the wild: ePSets on IfcProject or IfcSite, in any case.

Also compound CRS names, the map conversion against the IfcSite latitude/longitude, and
files whose georeference numbers are unusable.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.util.geolocation as geolocation
import numpy as np
import pytest
from pyproj import Transformer

from bim.check import georeference_findings, to_text
from bim.errors import BimError, GeoreferenceError, IfcReadError
from bim.georef import SITE_METHOD, UserOrigin, candidates, resolve
from bim.importer import ImportOptions, import_ifc
from cim.scope import Scope
from tests.bim.test_georef_sources import (
    ANGLE,
    EASTING,
    HEIGHT,
    NORTHING,
    expected_point,
    give_ifc2x3_an_owner,
    has_vertex,
    wall_model,
    wall_vertices,
)
from tests.conftest import LOCAL_CRS, make_city

SPELLINGS = ["ePSet_", "EPset_", "ePset_", "EPSET_", "epset_"]
KARLSRUHE = (458658.78, 5438232.79)  # in ETRS89 / UTM 32N (EPSG:25832)
CONVERSION = {
    "Eastings": EASTING, "Northings": NORTHING, "OrthogonalHeight": HEIGHT,
    "XAxisAbscissa": math.cos(math.radians(ANGLE)), "XAxisOrdinate": math.sin(math.radians(ANGLE)),
    "Scale": 1.0,
}  # fmt: skip


@pytest.fixture()
def owner(monkeypatch: pytest.MonkeyPatch) -> None:
    give_ifc2x3_an_owner(monkeypatch)


def with_psets(
    schema: str = "IFC2X3",
    holder: str = "IfcProject",
    prefix: str = "ePSet_",
    crs_name: str = LOCAL_CRS,
    crs_holder: str | None = None,
    **changes: object,
) -> ifcopenshell.file:
    """The wall model with ``<prefix>MapConversion`` and ``<prefix>ProjectedCRS`` on ``holder``.

    ``changes`` replace conversion properties; a value of None leaves the property out.
    """
    model, project = wall_model(schema)
    holders = {"IfcProject": project, "IfcSite": model.by_type("IfcSite")[0]}
    properties = {k: v for k, v in {**CONVERSION, **changes}.items() if v is not None}
    conversion = ifcopenshell.api.pset.add_pset(
        model, product=holders[holder], name=f"{prefix}MapConversion"
    )
    ifcopenshell.api.pset.edit_pset(model, pset=conversion, properties=properties)
    crs = ifcopenshell.api.pset.add_pset(
        model, product=holders[crs_holder or holder], name=f"{prefix}ProjectedCRS"
    )
    ifcopenshell.api.pset.edit_pset(model, pset=crs, properties={"Name": crs_name})
    return model


def with_map_conversion(crs_name: str = LOCAL_CRS, **changes: float) -> ifcopenshell.file:
    """The IFC4 wall model with an IfcMapConversion (the IFC4 way) to ``crs_name``."""
    model, _ = wall_model("IFC4")
    ifcopenshell.api.georeference.add_georeferencing(model, name=crs_name)
    operation = {**CONVERSION, **changes}
    ifcopenshell.api.georeference.edit_georeferencing(model, coordinate_operation=operation)
    return model


def site_and_conversion(schema: str, monkeypatch: pytest.MonkeyPatch) -> ifcopenshell.file:
    """A model with a map conversion: ePSets on the IfcSite in IFC2X3, IfcMapConversion in IFC4."""
    if schema == "IFC4":
        return with_map_conversion()
    give_ifc2x3_an_owner(monkeypatch)
    return with_psets(holder="IfcSite")


def set_site(model: ifcopenshell.file, east: float, north: float) -> tuple[float, float]:
    """Give the IfcSite the latitude/longitude of ``east``, ``north`` metres from the map origin.

    Returns the longitude and latitude written (degrees, to the microsecond of arc).
    """
    to_geodetic = Transformer.from_crs(LOCAL_CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_geodetic.transform(EASTING + east, NORTHING + north)
    site = model.by_type("IfcSite")[0]
    site.RefLatitude = geolocation.dd2dms(lat, use_us=True)
    site.RefLongitude = geolocation.dd2dms(lon, use_us=True)
    site.RefElevation = HEIGHT
    written = resolve_site(model)
    return written[0], written[1]


def resolve_site(model: ifcopenshell.file) -> tuple[float, float, float]:
    (site,) = [g for g in candidates(model) if g.method == SITE_METHOD]
    return site.origin


def disagreements(model: ifcopenshell.file) -> list[str]:
    findings = georeference_findings(resolve(model), candidates(model), LOCAL_CRS)
    return [f.message for f in findings if f.code == "georeference-disagreement"]


@pytest.mark.usefixtures("owner")
@pytest.mark.parametrize("holder", ["IfcProject", "IfcSite"])
@pytest.mark.parametrize("prefix", SPELLINGS)
def test_psets_are_read_on_the_project_or_the_site_in_any_case(holder: str, prefix: str) -> None:
    model = with_psets(holder=holder, prefix=prefix)
    georef = resolve(model)
    assert georef.method == f"{prefix}MapConversion on {holder}"
    assert (georef.crs, georef.origin) == (LOCAL_CRS, (EASTING, NORTHING, HEIGHT))
    assert georef.to_dict()["rotation_deg"] == pytest.approx(ANGLE)
    assert georef.notes == []
    if holder == "IfcSite" or prefix != "ePSet_":  # IfcOpenShell alone misses these
        assert geolocation.get_helmert_transformation_parameters(model) is None


@pytest.mark.usefixtures("owner")
def test_conversion_and_crs_may_sit_on_different_entities() -> None:
    georef = resolve(with_psets(holder="IfcSite", crs_holder="IfcProject", crs_name="4547"))
    assert georef.method == "ePSet_MapConversion on IfcSite"
    assert georef.crs == LOCAL_CRS  # a bare EPSG number is read as a code


@pytest.mark.usefixtures("owner")
def test_psets_on_the_site_place_the_model(tmp_path: Path) -> None:
    vertices = wall_vertices(tmp_path, with_psets(holder="IfcSite", prefix="EPset_"))
    assert has_vertex(vertices, expected_point(4.0, 0.0, 3.0))
    assert has_vertex(vertices, expected_point(0.0, 0.2, 0.0))


@pytest.mark.parametrize("name", ["EPSG:5555", "EPSG:25832+5783", "5555"])
@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4"])
def test_a_compound_crs_places_by_its_horizontal_part(
    name: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = {"Eastings": KARLSRUHE[0], "Northings": KARLSRUHE[1]}
    if schema == "IFC2X3":
        give_ifc2x3_an_owner(monkeypatch)
        model = with_psets(crs_name=name, **place)
    else:
        model = with_map_conversion(name, **place)
    georef = resolve(model)
    assert georef.crs == "EPSG:25832"
    (note,) = georef.notes
    assert "compound" in note and "horizontal part EPSG:25832" in note and "DHHN92" in note
    origin = georef.to_city(np.zeros((1, 3)), "EPSG:25832")[0]
    assert np.allclose(origin, [*KARLSRUHE, HEIGHT])


def test_a_compound_crs_is_said_in_the_import_report(tmp_path: Path) -> None:
    model = with_map_conversion("EPSG:5555", Eastings=KARLSRUHE[0], Northings=KARLSRUHE[1])
    path = tmp_path / "compound.ifc"
    model.write(str(path))
    report = import_ifc(make_city(tmp_path, "EPSG:25832"), path, ImportOptions(validate=False))
    assert report.georeference["crs"] == "EPSG:25832"
    notes = [f["message"] for f in report.findings if f["code"] == "georeference-note"]
    assert any("EPSG:5555 is a compound CRS" in note for note in notes)
    assert "horizontal part EPSG:25832" in to_text(report.to_dict())


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4"])
def test_site_150_m_from_the_map_conversion_warns_naming_both_places(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = site_and_conversion(schema, monkeypatch)
    lon, lat = set_site(model, 90.0, 120.0)
    georef = resolve(model)
    assert georef.method != SITE_METHOD  # the map conversion wins
    (message,) = disagreements(model)
    assert re.search(r"\b150 m apart", message), message
    assert f"E {EASTING:.2f}, N {NORTHING:.2f} in {LOCAL_CRS}" in message
    site_place = re.search(rf"{SITE_METHOD} at lat (\S+), lon (\S+);", message)
    assert site_place is not None, message
    assert float(site_place[1]) == pytest.approx(lat, abs=2e-6)
    assert float(site_place[2].rstrip(";")) == pytest.approx(lon, abs=2e-6)
    assert message.endswith(f"{georef.method} is used")


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4"])
def test_site_50_m_from_the_map_conversion_does_not_warn(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = site_and_conversion(schema, monkeypatch)
    set_site(model, 30.0, 40.0)
    assert len(candidates(model)) == 2
    assert disagreements(model) == []


@pytest.mark.usefixtures("owner")
def test_disagreement_reaches_the_import_report(tmp_path: Path) -> None:
    model = with_psets(holder="IfcSite", prefix="ePset_")
    set_site(model, 3000.0, -4000.0)
    path = tmp_path / "model.ifc"
    model.write(str(path))
    with make_city(tmp_path) as store:
        report = import_ifc(store, path, ImportOptions(validate=False))
        wall = store.objects(cls="IfcWall", scope=Scope.everything())[0]
        (part,) = store.meshes([wall.id], scope=Scope.everything())[wall.id]
    assert has_vertex(part.vertices, expected_point(4.0, 0.0, 3.0))  # the map conversion wins
    assert report.georeference["method"] == "ePset_MapConversion on IfcSite"
    (warning,) = [f for f in report.findings if f["code"] == "georeference-disagreement"]
    assert warning["level"] == "warning" and "5000 m apart" in warning["message"]
    assert warning["message"] in to_text(report.to_dict())


BAD_VALUES = [
    ({"Eastings": "NaN"}, "Eastings is 'NaN', not a finite number"),
    ({"Northings": "inf"}, "Northings is 'inf', not a finite number"),
    ({"OrthogonalHeight": "-Infinity"}, "OrthogonalHeight is '-Infinity'"),
    ({"XAxisAbscissa": "nan"}, "XAxisAbscissa is 'nan'"),
    ({"Scale": 0.0}, "Scale is 0; it must be positive"),
    ({"Scale": -1.0}, "Scale is -1; it must be positive"),
    ({"Eastings": None}, "has no Eastings"),
    ({"Eastings": "east"}, "Eastings is 'east', not a finite number"),
    ({"Eastings": 1e300, "Northings": 1e300}, "lie nowhere in EPSG:4547"),
]


@pytest.mark.usefixtures("owner")
@pytest.mark.parametrize(("changes", "message"), BAD_VALUES)
def test_unusable_pset_values_refuse_the_file_before_writing(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    model = with_psets(holder="IfcSite", prefix="EPset_", **changes)
    path = tmp_path / "bad.ifc"
    model.write(str(path))
    with make_city(tmp_path) as store:
        with pytest.raises(GeoreferenceError, match=re.escape(message)) as caught:
            import_ifc(store, path)
        assert "EPset_MapConversion on IfcSite" in str(caught.value)
        assert "give --origin" in str(caught.value)
        assert (
            store.counts_by_class(scope=Scope.everything()) == {}
            and store.sources(scope=Scope.everything()) == []
        )


@pytest.mark.parametrize(
    ("written", "replacement", "error", "message"),
    [
        (",1.);", ",0.);", GeoreferenceError, "IfcMapConversion: Scale is 0"),
        (",1.);", ",-2.5);", GeoreferenceError, "IfcMapConversion: Scale is -2.5"),
        (f",{EASTING:.0f}.,", ",$,", GeoreferenceError, "IfcMapConversion has no Eastings"),
        (f",{EASTING:.0f}.,", ",1.E999,", IfcReadError, "cannot parse it"),
    ],
)
def test_unusable_map_conversion_refuses_the_file_before_writing(
    tmp_path: Path, written: str, replacement: str, error: type[BimError], message: str
) -> None:
    text_path = tmp_path / "good.ifc"
    with_map_conversion().write(str(text_path))
    text = text_path.read_text()
    (line,) = [
        row for row in text.splitlines() if row.startswith("#") and "IFCMAPCONVERSION" in row
    ]
    assert written in line, line
    path = tmp_path / "bad.ifc"
    path.write_text(text.replace(line, line.replace(written, replacement)))
    with make_city(tmp_path) as store:
        with pytest.raises(error, match=re.escape(message)):
            import_ifc(store, path)
        assert (
            store.counts_by_class(scope=Scope.everything()) == {}
            and store.sources(scope=Scope.everything()) == []
        )


@pytest.mark.usefixtures("owner")
def test_a_site_latitude_beyond_the_pole_is_refused() -> None:
    model, _ = wall_model("IFC2X3")
    site = model.by_type("IfcSite")[0]
    site.RefLatitude, site.RefLongitude = (95, 0, 0, 0), (113, 0, 0, 0)
    with pytest.raises(GeoreferenceError, match="no place on Earth"):
        resolve(model)


@pytest.mark.usefixtures("owner")
def test_a_user_origin_overrides_an_unusable_georeference_and_says_so() -> None:
    model = with_psets(Scale=0.0)
    georef = resolve(model, UserOrigin(LOCAL_CRS, (430700.0, 2557800.0, 5.0)))
    assert georef.method == "user origin"
    (note,) = georef.notes
    assert "overrides the file's unusable georeference" in note and "Scale is 0" in note
