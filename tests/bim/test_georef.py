"""Placing models on the map: Georeference.to_city, compound angles and the resolution order."""

from __future__ import annotations

import math
from pathlib import Path

import ifcopenshell
import numpy as np
import pytest
from pyproj import Transformer

from bim.errors import BimError, GeoreferenceError
from bim.georef import Georeference, UserOrigin, _compound_angle, resolve
from bim.importer import ImportOptions, import_ifc
from bim.reader import open_ifc
from cim.errors import CrsError, OriginError
from cim.scope import Scope
from tests.conftest import (
    FZK,
    MAP_GK,
    MAP_IFC4,
    OPEN_HOUSE,
    REVIT,
    SITE_METHOD,
    TEKLA,
    make_city,
)

MAP_ORIGIN = (458658.78, 5438232.79, 113.7)
X_AXIS = (0.270600445976, 0.962691746426)


def _map(**changes: object) -> Georeference:
    values: dict[str, object] = {
        "method": "IfcMapConversion",
        "crs": "EPSG:25832",
        "origin": (1000.0, 2000.0, 10.0),
    }
    values.update(changes)
    return Georeference(**values)  # type: ignore[arg-type]


def test_identity_conversion_only_translates() -> None:
    points = np.array([[0.0, 0.0, 0.0], [1.5, -2.0, 3.0]])
    result = _map().to_city(points, "EPSG:25832")
    assert np.allclose(result, [[1000.0, 2000.0, 10.0], [1001.5, 1998.0, 13.0]], atol=1e-9)


def test_rotation_turns_model_axes_to_grid_axes() -> None:
    georef = _map(x_axis=(0.0, 1.0))  # model +x points grid north
    result = georef.to_city(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "EPSG:25832")
    assert np.allclose(result, [[1000.0, 2001.0, 10.0], [999.0, 2000.0, 10.0]], atol=1e-9)
    assert georef.to_dict()["rotation_deg"] == pytest.approx(90.0)


def test_rotation_by_an_arbitrary_angle_keeps_lengths() -> None:
    angle = math.radians(-37.5)
    georef = _map(x_axis=(math.cos(angle), math.sin(angle)))
    rng = np.random.default_rng(3)
    points = rng.uniform(-50, 50, size=(20, 3))
    result = georef.to_city(points, "EPSG:25832") - (1000.0, 2000.0, 10.0)
    assert np.allclose(np.linalg.norm(result, axis=1), np.linalg.norm(points, axis=1))
    assert np.allclose(result[:, 2], points[:, 2])
    expected_x = points[:, 0] * math.cos(angle) - points[:, 1] * math.sin(angle)
    assert np.allclose(result[:, 0], expected_x)


def test_scale_and_model_offset() -> None:
    georef = _map(scale=(2.0, 2.0, 0.5), model_offset=(10.0, 20.0, 1.0))
    result = georef.to_city(np.array([[11.0, 20.0, 5.0], [10.0, 23.0, 1.0]]), "EPSG:25832")
    assert np.allclose(result, [[1002.0, 2000.0, 12.0], [1000.0, 2006.0, 10.0]], atol=1e-9)


def test_crs_change_goes_through_pyproj() -> None:
    georef = _map(origin=MAP_ORIGIN, x_axis=X_AXIS)
    points = np.array([[0.0, 0.0, 0.0], [10.0, 5.0, 2.0]])
    in_own = georef.to_city(points, "EPSG:25832")
    in_gk = georef.to_city(points, "EPSG:31467")
    x, y = Transformer.from_crs("EPSG:25832", "EPSG:31467", always_xy=True).transform(
        in_own[:, 0], in_own[:, 1]
    )
    assert np.allclose(in_gk[:, 0], x, atol=1e-6)
    assert np.allclose(in_gk[:, 1], y, atol=1e-6)
    assert np.array_equal(in_gk[:, 2], in_own[:, 2])
    assert 3.4e6 < in_gk[0, 0] < 3.5e6  # Gauss-Kruger zone 3 eastings
    # the same CRS under another spelling is not transformed
    assert np.array_equal(georef.to_city(points, "epsg:25832"), in_own)


def test_site_method_places_the_origin_at_the_site() -> None:
    lon, lat = 8.436539, 49.100435
    georef = Georeference(SITE_METHOD, "EPSG:4979", (lon, lat, 110.0))
    result = georef.to_city(np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]]), "EPSG:25832")
    to_geo = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    lons, lats = to_geo.transform(result[:, 0], result[:, 1])
    assert lons[0] == pytest.approx(lon, abs=1e-8)
    assert lats[0] == pytest.approx(lat, abs=1e-8)
    assert result[0, 2] == pytest.approx(110.0, abs=1e-6)
    # 100 m along the unrotated model x is 100 m due east on the ellipsoid
    assert lats[1] == pytest.approx(lat, abs=1e-7)
    assert lons[1] > lon
    assert np.hypot(*(result[1, :2] - result[0, :2])) == pytest.approx(100.0, abs=0.1)
    assert result[1, 2] - result[0, 2] == pytest.approx(100.0**2 / 2 / 6.37e6, abs=1e-3)


@pytest.mark.parametrize(
    ("parts", "degrees"),
    [
        ((49, 6, 1, 566000), 49 + 6 / 60 + 1.566 / 3600),
        ((8, 26, 11, 540400), 8 + 26 / 60 + 11.5404 / 3600),
        ((-71, -1, -58, -789672), -(71 + 1 / 60 + 58.789672 / 3600)),
        ((0, -30, 0), -0.5),
        ((0, 0, -36, 0), -0.01),
        ((0, 0, 0, -360000), -0.0001),
        ((-33, 52, 30), -(33 + 52 / 60 + 30 / 3600)),
        ((10, 30), 10.5),
        ((42,), 42.0),
    ],
)
def test_compound_angle(parts: tuple[int, ...], degrees: float) -> None:
    assert _compound_angle(parts) == pytest.approx(degrees, abs=1e-12)


def test_site_coordinates_are_read_with_their_sign(ifc_dir: Path) -> None:
    georef = resolve(open_ifc(ifc_dir / REVIT))
    assert georef.method == SITE_METHOD
    lon, lat, _ = georef.origin
    assert lon == pytest.approx(-(71 + 1 / 60 + 58.789672 / 3600), abs=1e-9)
    assert lat == pytest.approx(42 + 12 / 60 + 46.804504 / 3600, abs=1e-9)


def test_true_north_of_fzk_haus_points_north(ifc_dir: Path) -> None:
    model = open_ifc(ifc_dir / FZK)
    georef = resolve(model)
    assert georef.to_dict()["rotation_deg"] == pytest.approx(50.0)
    contexts = model.by_type("IfcGeometricRepresentationContext", include_subtypes=False)
    model_context = next(c for c in contexts if c.ContextType == "Model")
    north_x, north_y = model_context.TrueNorth.DirectionRatios[:2]
    offset = np.asarray(georef.model_offset)
    points = offset + np.array([[0.0, 0.0, 0.0], [north_x * 50, north_y * 50, 0.0]])
    result = georef.to_city(points, "EPSG:25832")
    lons, lats = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform(
        result[:, 0], result[:, 1]
    )
    assert lons[1] == pytest.approx(lons[0], abs=1e-7)  # ~7 mm at 49 N
    assert lats[1] > lats[0]


def test_map_conversion_of_the_ifc4_sample(ifc_dir: Path) -> None:
    georef = resolve(open_ifc(ifc_dir / MAP_IFC4))
    assert georef.method == "IfcMapConversion"
    assert georef.crs == "EPSG:25832"
    assert georef.origin == MAP_ORIGIN
    assert georef.scale == (1.0, 1.0, 1.0)
    assert georef.to_dict()["rotation_deg"] == pytest.approx(74.2998, abs=1e-3)


def test_inverted_scale_is_noted_and_ignored(ifc_dir: Path) -> None:
    georef = resolve(open_ifc(ifc_dir / MAP_GK))
    assert georef.crs == "EPSG:31467"
    assert georef.scale == (1.0, 1.0, 1.0)
    assert any("Scale 1000 looks inverted" in note for note in georef.notes)


def test_user_origin_overrides_and_says_so(ifc_dir: Path) -> None:
    user = UserOrigin("EPSG:4547", (432700.0, 2557900.0, 10.0))
    georef = resolve(open_ifc(ifc_dir / MAP_IFC4), user)
    assert georef.method == "user origin"
    assert (georef.crs, georef.origin) == ("EPSG:4547", (432700.0, 2557900.0, 10.0))
    assert georef.notes == ["overrides IfcMapConversion found in the file"]
    site = resolve(open_ifc(ifc_dir / FZK), user)
    assert site.notes == [f"overrides {SITE_METHOD} found in the file"]
    plain = resolve(open_ifc(ifc_dir / OPEN_HOUSE), user)
    assert plain.method == "user origin"
    assert plain.notes == []
    assert np.allclose(plain.to_city(np.zeros((1, 3)), "EPSG:4547"), [user.origin])


def test_user_origin_with_an_unknown_crs_is_refused(ifc_dir: Path) -> None:
    with pytest.raises(CrsError):
        resolve(open_ifc(ifc_dir / OPEN_HOUSE), UserOrigin("EPSG:0", (0.0, 0.0, 0.0)))


@pytest.mark.parametrize("name", [OPEN_HOUSE, TEKLA])
def test_missing_georeference_names_the_origin_option(name: str, ifc_dir: Path) -> None:
    with pytest.raises(GeoreferenceError) as caught:
        resolve(open_ifc(ifc_dir / name))
    assert "--origin" in str(caught.value)
    assert "no georeference" in str(caught.value)
    assert issubclass(GeoreferenceError, BimError)


def test_map_conversion_with_unknown_crs_is_refused(ifc_dir: Path, tmp_path: Path) -> None:
    text = (ifc_dir / MAP_IFC4).read_text(encoding="utf-8")
    path = tmp_path / "bad_crs.ifc"
    path.write_text(text.replace("IFCPROJECTEDCRS('EPSG:25832'", "IFCPROJECTEDCRS('EPSG:0'"))
    with pytest.raises(GeoreferenceError, match="'EPSG:0' is unknown"):
        resolve(ifcopenshell.open(str(path)))


@pytest.mark.parametrize(
    "origin", [(math.nan, 2557900.0, 0.0), (432700.0, math.inf, 0.0), (1.0, 2.0, 0.0)]
)
def test_an_unusable_user_origin_is_refused_before_writing(
    ifc_dir: Path, tmp_path: Path, origin: tuple[float, float, float]
) -> None:
    with pytest.raises(OriginError, match="origin"):
        resolve(open_ifc(ifc_dir / OPEN_HOUSE), UserOrigin("EPSG:4547", origin))
    with make_city(tmp_path) as store:
        options = ImportOptions(user_origin=UserOrigin("EPSG:4547", origin), validate=False)
        with pytest.raises(OriginError):
            import_ifc(store, ifc_dir / OPEN_HOUSE, options)
        assert (
            store.counts_by_class(scope=Scope.everything()) == {}
            and store.sources(scope=Scope.everything()) == []
        )


def test_a_user_origin_in_a_compound_crs_uses_its_horizontal_part(ifc_dir: Path) -> None:
    user = UserOrigin("EPSG:4547+5773", (432700.0, 2557900.0, 10.0))
    georef = resolve(open_ifc(ifc_dir / OPEN_HOUSE), user)
    assert georef.crs == "EPSG:4547"
    assert any("horizontal part EPSG:4547" in note for note in georef.notes)
