"""Opening IFC files: each broken input raises IfcReadError naming its problem."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import pytest

from bim.errors import BimError, IfcReadError
from bim.importer import import_ifc
from bim.reader import has_attribute, open_ifc, optional_attribute, read_schema
from cim.model import file_sha256
from tests.conftest import (
    FZK,
    MAP_GK,
    MAP_IFC4,
    OPEN_HOUSE,
    REVIT,
    TEKLA,
    make_city,
    store_state,
)

EXPECTED_SCHEMAS = {
    REVIT: ("IFC2X3", "IFC2X3"),
    TEKLA: ("IFC2X3", "IFC2X3"),
    FZK: ("IFC4", "IFC4"),
    OPEN_HOUSE: ("IFC4", "IFC4"),
    MAP_IFC4: ("IFC4", "IFC4"),
    MAP_GK: ("IFC4X3_ADD2", "IFC4X3"),
}


def _broken_files(ifc_dir: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Broken inputs and the phrase their error must contain."""
    text = tmp_path / "notes.ifc"
    text.write_text("Meeting notes\nThis is not a STEP file.\n", encoding="utf-8")
    data = (ifc_dir / FZK).read_bytes()
    truncated = tmp_path / "truncated.ifc"
    truncated.write_bytes(data[: len(data) // 2])
    original = (ifc_dir / OPEN_HOUSE).read_text(encoding="utf-8")
    assert "FILE_SCHEMA(('IFC4'));" in original
    unknown = tmp_path / "future.ifc"
    unknown.write_text(original.replace("FILE_SCHEMA(('IFC4'));", "FILE_SCHEMA(('IFC9'));"))
    no_schema = tmp_path / "no_schema.ifc"
    no_schema.write_text(original.replace("FILE_SCHEMA(('IFC4'));", ""))
    empty = tmp_path / "empty.ifc"
    empty.write_bytes(b"")
    (tmp_path / "folder.ifc").mkdir()
    return {
        "missing": (tmp_path / "missing.ifc", "no such file"),
        "folder": (tmp_path / "folder.ifc", "not a file"),
        "text": (text, "not an IFC file"),
        "empty": (empty, "not an IFC file"),
        "truncated": (truncated, "truncated file"),
        "unknown-schema": (unknown, "unsupported schema 'IFC9'"),
        "no-schema": (no_schema, "names no FILE_SCHEMA"),
    }


CASES = ["missing", "folder", "text", "empty", "truncated", "unknown-schema", "no-schema"]


@pytest.mark.parametrize("case", CASES)
def test_read_schema_names_the_problem(case: str, ifc_dir: Path, tmp_path: Path) -> None:
    path, phrase = _broken_files(ifc_dir, tmp_path)[case]
    with pytest.raises(IfcReadError) as caught:
        read_schema(path)
    assert phrase in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("case", CASES)
def test_open_ifc_names_the_problem(case: str, ifc_dir: Path, tmp_path: Path) -> None:
    path, phrase = _broken_files(ifc_dir, tmp_path)[case]
    with pytest.raises(IfcReadError, match=phrase):
        open_ifc(path)


@pytest.mark.parametrize("case", CASES)
def test_import_of_a_broken_file_leaves_the_store_untouched(
    case: str, ifc_dir: Path, tmp_path: Path
) -> None:
    path, phrase = _broken_files(ifc_dir, tmp_path)[case]
    store = make_city(tmp_path / "cities")
    before = store_state(store)
    with pytest.raises(BimError, match=phrase):
        import_ifc(store, path)
    assert store_state(store) == before
    store.close()


def test_ifc_read_error_is_a_bim_error() -> None:
    assert issubclass(IfcReadError, BimError)


def test_step_file_without_project_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no_project.ifc"
    path.write_text(
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION((''),'2;1');\n"
        "FILE_NAME('','',(''),(''),'','','');\nFILE_SCHEMA(('IFC4'));\nENDSEC;\n"
        "DATA;\n#1=IFCCARTESIANPOINT((0.,0.,0.));\nENDSEC;\nEND-ISO-10303-21;\n"
    )
    assert read_schema(path) == "IFC4"
    with pytest.raises(IfcReadError, match="no IfcProject"):
        open_ifc(path)


@pytest.mark.parametrize("name", sorted(EXPECTED_SCHEMAS))
def test_supported_schemas_are_read(name: str, ifc_dir: Path) -> None:
    header_schema, model_schema = EXPECTED_SCHEMAS[name]
    path = ifc_dir / name
    assert read_schema(path) == header_schema
    model = open_ifc(path)
    assert model.schema == model_schema
    assert len(model.by_type("IfcProject")) == 1


def test_every_shared_file_is_readable(ifc_dir: Path) -> None:
    files = sorted(ifc_dir.glob("*.ifc"))
    assert len(files) >= 6
    for path in files:
        assert read_schema(path) in ("IFC2X3", "IFC4", "IFC4X3_ADD2")


def test_file_sha256(tmp_path: Path) -> None:
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert file_sha256(path) == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


@pytest.mark.parametrize(("schema", "expected"), [("IFC2X3", None), ("IFC4", "Core")])
def test_optional_attribute_is_none_where_the_schema_has_no_such_attribute(
    schema: str, expected: str | None
) -> None:
    model = ifcopenshell.file(schema=schema)
    material = model.createIfcMaterial("Concrete")
    layer = model.createIfcMaterialLayer(material, 0.2)
    if schema != "IFC2X3":
        layer.Name = "Core"
    assert has_attribute(layer, "Name") is (expected is not None)
    assert optional_attribute(layer, "Name") == expected
    assert optional_attribute(layer, "LayerThickness") == 0.2
    assert optional_attribute(layer, "ToMaterialLayerSet") == ()  # inverse attributes too
    assert not has_attribute(layer, "NoSuchAttribute")
