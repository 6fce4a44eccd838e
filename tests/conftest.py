"""Shared fixtures: the real data folder, helpers, and the cities that are costly to import.

The shared data lives beside the project (``<project>/../shared/data``) unless the
``CIMTWIN_SHARED_DATA`` environment variable names another folder. Missing data fails the
tests that need it: it is never a reason to skip.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.util.element
import ifcopenshell.util.placement
import numpy as np
import pytest

from bim.authoring import BuildingSpec, write_demo_building
from bim.georef import UserOrigin
from bim.importer import ImportOptions, ImportReport, import_ifc
from cim.model import CityObject, Material, MeshPart
from cim.scope import Scope
from cim.store import CityStore
from tests.demo_build import built_demo  # noqa: F401  (fixture)
from tests.postgres import ops_url, postgres_server  # noqa: F401  (fixtures)
from tests.wheel import project_wheel  # noqa: F401  (fixture)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Servers the tests start (in this process or as `cimtwin serve`) sign tokens with this.
os.environ.setdefault("CIMTWIN_SECRET_KEY", secrets.token_urlsafe(48))
# ... and start no MQTT broker unless a test asks for one on a port of its own (the MQTT
# tests do), so that no two servers reach for the default port.
os.environ["CIMTWIN_MQTT"] = "off"
SHARED_DATA_ENV = "CIMTWIN_SHARED_DATA"
MIN_IFC_FILES = 6

# Guangzhou Tianhe, in CGCS2000 / 3-degree Gauss-Kruger CM 114E.
LOCAL_CRS = "EPSG:4547"
LOCAL_ORIGIN = (432700.0, 2557900.0, 10.0)
USER_ORIGIN = UserOrigin(LOCAL_CRS, LOCAL_ORIGIN)

TEKLA = "Tekla_MiniProject_Carwash.ifc"
FZK = "AC20-FZK-Haus.ifc"
OPEN_HOUSE = "IfcOpenHouse_IFC4.ifc"
REVIT = "Revit2021_example.ifc"
MAP_IFC4 = "geographic-referencing_IFC4.ifc"
MAP_GK = "geographic-referencing-gk_IFC4X3.ifc"

SITE_METHOD = "IfcSite RefLatitude/RefLongitude"


@dataclass(frozen=True)
class FileSetup:
    """How a shared IFC file is imported in the tests and what its georeference is.

    Attributes
    ----------
    crs:
        The city CRS to import it into.
    user_origin:
        Whether the file needs a user origin (it carries no georeference).
    method:
        The expected ``report.georeference["method"]``.
    lon_lat:
        Where the model lies (degrees), from MANIFEST.md, or None for user-placed files.
    """

    crs: str
    user_origin: bool
    method: str
    lon_lat: tuple[float, float] | None = None

    def options(self) -> ImportOptions:
        """The import options for the file."""
        return ImportOptions(user_origin=USER_ORIGIN if self.user_origin else None)


KNOWN_FILES: dict[str, FileSetup] = {
    FZK: FileSetup("EPSG:25832", False, SITE_METHOD, (8.43654, 49.10044)),
    REVIT: FileSetup("EPSG:26919", False, SITE_METHOD, (-71.03300, 42.21300)),
    MAP_IFC4: FileSetup("EPSG:25832", False, "IfcMapConversion", (8.43370, 49.09556)),
    MAP_GK: FileSetup("EPSG:31467", False, "IfcMapConversion", (8.43370, 49.09556)),
    TEKLA: FileSetup(LOCAL_CRS, True, "user origin"),
    OPEN_HOUSE: FileSetup(LOCAL_CRS, True, "user origin"),
}


def shared_data_dir() -> Path:
    """The shared data folder: ``$CIMTWIN_SHARED_DATA`` or ``<project>/../shared/data``."""
    override = os.environ.get(SHARED_DATA_ENV)
    return Path(override) if override else PROJECT_ROOT.parent / "shared" / "data"


def ifc_files() -> list[Path]:
    """Every IFC file of the shared data (empty when the folder is missing)."""
    return sorted((shared_data_dir() / "ifc").glob("*.ifc"))


def setup_for(path: Path) -> FileSetup:
    """The import setup of a shared IFC file; files added later get one from their header."""
    known = KNOWN_FILES.get(path.name)
    if known is not None:
        return known
    return _guess_setup(path)


def _guess_setup(path: Path) -> FileSetup:
    from bim.errors import GeoreferenceError
    from bim.georef import resolve
    from bim.reader import open_ifc

    try:
        georef = resolve(open_ifc(path))
    except GeoreferenceError:
        return FileSetup(LOCAL_CRS, True, "user origin")
    if georef.method.startswith("IfcSite"):
        lon, lat = georef.origin[0], georef.origin[1]
        zone = int((lon + 180) // 6) + 1
        return FileSetup(f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}", False, georef.method)
    return FileSetup(georef.crs, False, georef.method)


def make_city(tmp: Path, crs: str = LOCAL_CRS, name: str = "city") -> CityStore:
    """Create an empty city in ``tmp/name`` with the projected ``crs``."""
    return CityStore.create(tmp / name, crs)


def copy_city(store: CityStore, destination: Path) -> CityStore:
    """Copy a city's store (not its tiles) to ``destination`` and open the copy."""
    return store.copy_to(destination)


def box_mesh(
    low: tuple[float, float, float], high: tuple[float, float, float], material: str = "grey"
) -> MeshPart:
    """A closed axis-aligned box of 12 triangles between ``low`` and ``high``."""
    (x0, y0, z0), (x1, y1, z1) = low, high
    vertices = np.array(
        [
            [x0, y0, z0],
            [x1, y0, z0],
            [x1, y1, z0],
            [x0, y1, z0],
            [x0, y0, z1],
            [x1, y0, z1],
            [x1, y1, z1],
            [x0, y1, z1],
        ]
    )
    faces = np.array(
        [
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ]
    )
    return MeshPart(Material(material, (0.6, 0.6, 0.6, 1.0)), vertices, faces)


def add_boxes(
    store: CityStore,
    count: int,
    source: str = "synthetic",
    origin: tuple[float, float, float] = LOCAL_ORIGIN,
    cls: str = "IfcWall",
) -> list[str]:
    """Add ``count`` box-shaped objects on a 20 m grid around ``origin``; return their ids."""
    ids = []
    with store.transaction() as writer:
        for index in range(count):
            x = origin[0] + 20.0 * (index % 4)
            y = origin[1] + 20.0 * (index // 4)
            object_id = f"{source}-{index}"
            writer.add_object(CityObject(id=object_id, cls=cls, name=f"box {index}", source=source))
            writer.add_mesh(
                object_id,
                [box_mesh((x, y, origin[2]), (x + 8.0, y + 6.0, origin[2] + 3.0 + index))],
            )
            ids.append(object_id)
        writer.record_source(source, "", "", "synthetic", {"objects": count})
    return ids


def table_rows(store: CityStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store's GeoPackage, read through a second connection."""
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        conn.close()


def store_state(store: CityStore) -> dict[str, Any]:
    """What the store holds, through its own API, for before/after comparisons."""
    return {
        "counts": store.counts_by_class(scope=Scope.everything()),
        "sources": store.sources(scope=Scope.everything()),
        "meshes": list(store.mesh_index(scope=Scope.everything())),
        "objects": [
            (o.id, o.cls, o.name, o.parent_id, o.source, o.attributes, o.base_height)
            for o in store.objects(scope=Scope.everything())
        ],
        "extent": store.extent(scope=Scope.everything()),
    }


@dataclass
class ImportedCity:
    """A city holding one imported IFC file; shared, so tests must not change it."""

    store: CityStore
    report: ImportReport
    ifc: Path

    @property
    def model(self) -> ifcopenshell.file:
        """The IFC model, opened anew (cheap next to the import)."""
        return ifcopenshell.open(str(self.ifc))


def import_into_new_city(tmp: Path, path: Path) -> ImportedCity:
    """Create a city suited to ``path`` in ``tmp`` and import the file into it."""
    setup = setup_for(path)
    store = make_city(tmp, setup.crs)
    report = import_ifc(store, path, setup.options())
    return ImportedCity(store, report, path)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; fails (never skips) when it is missing."""
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.fail(
            f"the shared test data folder {folder} does not exist: put the data at"
            f" <project>/../shared/data or set {SHARED_DATA_ENV} to its location",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def ifc_dir(shared_data: Path) -> Path:
    """The folder of the shared IFC files."""
    folder = shared_data / "ifc"
    if not folder.is_dir():
        pytest.fail(f"the shared data has no ifc folder ({folder})", pytrace=False)
    return folder


def _imported(ifc_dir: Path, name: str, tmp: Path) -> Iterator[ImportedCity]:
    path = ifc_dir / name
    if not path.is_file():
        pytest.fail(f"the shared IFC file {path} is missing", pytrace=False)
    city = import_into_new_city(tmp, path)
    yield city
    city.store.close()


@pytest.fixture(scope="session")
def tekla_city(ifc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImportedCity]:
    """The Tekla carwash (2643 products) imported once per session at the user origin."""
    yield from _imported(ifc_dir, TEKLA, tmp_path_factory.mktemp("tekla"))


@pytest.fixture(scope="session")
def fzk_city(ifc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImportedCity]:
    """The Karlsruhe FZK-Haus imported once per session into EPSG:25832."""
    yield from _imported(ifc_dir, FZK, tmp_path_factory.mktemp("fzk"))


@pytest.fixture(scope="session")
def revit_city(ifc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImportedCity]:
    """The Revit 2021 sample imported once per session into EPSG:26919."""
    yield from _imported(ifc_dir, REVIT, tmp_path_factory.mktemp("revit"))


@pytest.fixture()
def versions(tmp_path: Path) -> dict[str, Any]:
    """Version 1 of a building and version 2: a window removed, a wall's pset and a slab moved."""
    first = write_demo_building(
        BuildingSpec("Hall", 430760.0, 2557880.0, storeys=2), tmp_path / "hall-v1.ifc"
    )
    model = ifcopenshell.open(str(first))
    window = model.by_type("IfcWindow")[0]
    removed = window.GlobalId
    ifcopenshell.api.root.remove_product(model, product=window)
    wall = model.by_type("IfcWall")[0]
    pset = ifcopenshell.util.element.get_psets(wall)["Pset_WallCommon"]
    ifcopenshell.api.pset.edit_pset(model, pset=model.by_id(pset["id"]), properties={
        "LoadBearing": not pset["LoadBearing"]})  # fmt: skip
    slab = model.by_type("IfcSlab")[0]
    matrix = ifcopenshell.util.placement.get_local_placement(slab.ObjectPlacement)
    matrix[0, 3] += 1.0
    ifcopenshell.api.geometry.edit_object_placement(model, product=slab, matrix=matrix)
    second = tmp_path / "hall-v2.ifc"
    model.write(str(second))
    return {"v1": first, "v2": second, "removed": removed, "wall": wall.GlobalId,
            "slab": slab.GlobalId}  # fmt: skip
