"""The cimtwin command line: the user's path end to end, and one clear line for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.demo_accounts import demo_accounts
from bim.authoring import BuildingSpec, write_demo_building
from cim.scope import LEVELS, Scope
from cim.store import CityStore
from tests.demo_build import BuiltDemo

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    assert run("init", "--city", str(folder), "--crs", "EPSG:4547")[0] == 0
    return folder


@pytest.fixture()
def building(tmp_path: Path) -> Path:
    return write_demo_building(
        BuildingSpec("Test Hall", 430760.0, 2557880.0, storeys=1), tmp_path / "hall.ifc"
    )


def test_init_import_tile_info(city: Path, building: Path, tmp_path: Path) -> None:
    code, _, err = run(
        "import",
        "ifc",
        str(building),
        "--city",
        str(city),
        "--report",
        str(tmp_path / "report.json"),
    )
    assert code == 0, err
    assert "placed by IfcMapConversion" in err
    assert json.loads((tmp_path / "report.json").read_text())[0]["source"] == "hall.ifc"
    assert run("tile", "--city", str(city))[0] == 0
    code, out, _ = run("info", "--city", str(city))
    info = json.loads(out)
    assert info["crs"] == "EPSG:4547" and info["tiled"] is True
    assert info["objects_by_class"]["IfcWall"] == 4
    assert info["sources"][0]["georeference"] == "IfcMapConversion"


def test_origin_override_places_an_ungeoreferenced_model(city: Path, shared_data: Path) -> None:
    model = shared_data / "ifc" / "IfcOpenHouse_IFC4.ifc"
    code, _, err = run("import", "ifc", str(model), "--city", str(city))
    assert code == 1 and "--origin" in err
    code, _, err = run(
        "import", "ifc", str(model), "--city", str(city), "--origin", "430700,2557800,12"
    )
    assert code == 0, err
    with CityStore.open(city) as store:
        extent = store.extent(scope=Scope.everything())
    assert extent is not None and 430650 < extent[0] < 430750


def _snapshot(city: Path) -> tuple[dict[str, int], list[str]]:
    with CityStore.open(city) as store:
        return store.counts_by_class(scope=Scope.everything()), [
            s["sha256"] for s in store.sources(scope=Scope.everything())
        ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, this is not a model\n", "not an IFC file"),
        (None, "truncated"),
        (b"schema", "unsupported schema 'IFC9'"),
    ],
)
def test_bad_files_give_one_line_and_leave_the_store(
    city: Path, building: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    assert run("import", "ifc", str(building), "--city", str(city))[0] == 0
    before = _snapshot(city)
    bad = tmp_path / "bad.ifc"
    data = building.read_bytes()
    if content is None:
        bad.write_bytes(data[: len(data) // 2])
    elif content == b"schema":
        bad.write_bytes(data.replace(b"FILE_SCHEMA(('IFC4'))", b"FILE_SCHEMA(('IFC9'))"))
    else:
        bad.write_bytes(content)
    code, _, err = run("import", "ifc", str(building), str(bad), "--city", str(city))
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert _snapshot(city) == before


def test_missing_file_and_missing_city(city: Path, tmp_path: Path, building: Path) -> None:
    code, _, err = run("import", "ifc", str(tmp_path / "absent.ifc"), "--city", str(city))
    assert code == 1 and "no such file" in err
    code, _, err = run("import", "ifc", str(building), "--city", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in err
    code, _, err = run("tile", "--city", str(city))
    assert code == 1 and "no geometry to tile" in err
    code, _, err = run("init", "--city", str(tmp_path / "x"), "--crs", "EPSG:4326")
    assert code == 1 and "not a projected CRS" in err


def test_console_script_is_installed() -> None:
    exe = shutil.which("cimtwin") or str(Path(__file__).parents[2] / ".venv" / "bin" / "cimtwin")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "cimtwin demo" in result.stdout


@pytest.mark.slow
def test_demo_builds_then_reuses(built_demo: BuiltDemo, tmp_path: Path) -> None:
    """The session's demo city was built by ``cimtwin demo --no-serve`` (its exit code is
    checked there): what it printed and built; then a second run on a copy."""
    folder, err = built_demo.copy(tmp_path / "demo"), built_demo.output
    # 6 IFC, 3 GIS layers, the planning zones, DEM, ortho, jurisdictions
    assert "13 imported" in err and "tiles rebuilt" in err
    assert (folder / "terrain" / "tiles" / "layer.json").is_file()
    assert (folder / "tiles" / "tileset.json").is_file()
    with CityStore.open(folder) as store:
        counts = store.counts_by_class(scope=Scope.everything())
        by_code = store.jurisdiction_counts(scope=Scope.everything())
        villages = {
            n.code for n in store.jurisdictions(scope=Scope.everything()) if n.level == "village"
        }
    # every demo object lies in the demo's villages and communities, and each has some
    assert by_code.unassigned == 0 and set(by_code.counts) == villages
    assert by_code.assigned == sum(counts.values())
    assert counts["IfcBuilding"] == 6 and counts["IfcWindow"] > 100 and counts["IfcDoor"] >= 6
    assert counts["building"] > 200 and counts["road"] > 10 and counts["parcel"] > 200
    assert counts["zone"] == 4 and "district.gpkg#zones: 4 planning zones" in err
    assert "1 replaced by BIM" in err
    assert "imported jurisdictions.geojson: 12 jurisdictions" in err
    assert "demo accounts" in err and "huachengnan (new)" in err
    assert "tianhe_water (new)" in err and "water" in err  # a department's operator
    assert "made 5 demo alert rules" in err and "played the demo's incident history" in err
    assert "the demo's Open311 key" in err
    _every_level_signs_in_and_sees_its_subtree(folder, sum(counts.values()))
    code, _, err = run("demo", "--city", str(folder), "--no-serve")
    assert code == 0 and "6 reused" in err and "tiles reused" in err
    assert "jurisdictions.geojson" not in err  # the same file: kept
    assert "huachengnan" in err and "(new)" not in err  # the accounts are kept
    assert "alert rules" not in err and "incident history" not in err  # so are the incidents


def _every_level_signs_in_and_sees_its_subtree(folder: Path, total: int) -> None:
    """Each demo account signs in with the published password and sees its subtree only:
    the province all, each level below no more than the one above, the village some."""
    client = TestClient(create_app(folder, worker=False))
    seen: dict[str, int] = {}
    accounts = demo_accounts()
    for account in accounts:
        form = {"username": account.name, "password": account.password}
        token = client.post("/api/auth/token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = client.get("/api/me", headers=headers).json()
        assert me["jurisdiction"]["code"] == account.jurisdiction
        assert me["jurisdiction"]["name"] and me["jurisdiction"]["level"] == account.level
        seen[account.name] = client.get("/api/city", headers=headers).json()["object_count"]
    levels = [account.level for account in accounts]
    assert sorted(set(levels), key=levels.index) == list(LEVELS)  # the chain, province first
    assert seen["guangdong"] == total and seen["huachengnan"] > 0
    for account in accounts:  # no account sees more than one of a node above it
        for above in accounts:
            if Scope.of(above.jurisdiction).covers(Scope.of(account.jurisdiction)):
                assert seen[account.name] <= seen[above.name]
    assert seen["huachengnan"] < seen["huacheng"]  # the village sees part of its town


def test_import_with_tile_writes_the_tiles_in_one_command(city: Path, building: Path) -> None:
    code, _, err = run("import", "ifc", str(building), "--city", str(city), "--tile")
    assert code == 0, err
    assert "placed by IfcMapConversion" in err and "tiles (" in err
    assert (city / "tiles" / "tileset.json").is_file()
    assert f"wrote {city / 'tiles' / 'tileset.json'}:" in " ".join(err.split())  # the file


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, [], ("127.0.0.1", 8000)),
        ({"CIMTWIN_HOST": "0.0.0.0", "CIMTWIN_PORT": "8123"}, [], ("0.0.0.0", 8123)),
        ({"CIMTWIN_PORT": "8123"}, ["--port", "9000", "--host", "::1"], ("::1", 9000)),
    ],
)
def test_serve_listens_where_the_settings_say_unless_told(
    city: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: list[str],
    expected: tuple[str, int],
) -> None:
    import uvicorn

    from api.settings import get_settings

    listened: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, host, port, **_: listened.append((host, port)))
    for name in ("CIMTWIN_HOST", "CIMTWIN_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        code, _, err = run("serve", "--city", str(city), *args)
    finally:
        get_settings.cache_clear()
    assert code == 0, err
    assert listened == [expected]
    assert f":{expected[1]}/" in err


@pytest.mark.parametrize("command", [["import", "ifc"], ["tile"], ["serve"], ["import", "dem"]])
def test_help_teaches_by_example(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "Example" in out and f"cimtwin {' '.join(command)} " in out


def test_the_raster_commands_do_not_import_the_main_command_module() -> None:
    import ast

    import api.cli_raster

    tree = ast.parse(Path(api.cli_raster.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "api.cli" not in imported, "api.cli imports api.cli_raster: no way back"


def test_check_only_prints_the_model_check_and_stores_nothing(city: Path, building: Path) -> None:
    code, out, err = run(
        "import", "ifc", str(building), "--city", str(city), "--check-only", "--tile"
    )
    assert code == 0, err
    assert "hall.ifc: checked, nothing stored" in err
    assert "IfcMapConversion" in out
    assert _snapshot(city) == ({}, [])
    assert not (city / "tiles").exists()
