"""The code lists that name IFC property sets, their properties, building uses and the
server's messages in Chinese (``data/codes``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import ifcopenshell.util.pset
import pytest

from cim import data, vocabulary
from cim.data import read_json

ROOT = Path(__file__).resolve().parents[2]
IDENTIFIER = re.compile(r"^[A-Za-z]\w*$")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_every_named_property_set_is_a_standard_one_whose_properties_are_all_named() -> None:
    document = read_json("codes/ifc_properties.json")
    templates = ifcopenshell.util.pset.PsetQto("IFC4")
    named = {item["name"] for item in document["properties"]}
    psets = [item["name"] for item in document["psets"]]
    assert len(psets) == len(set(psets)) and len(named) == len(document["properties"])
    for pset in psets:
        template = templates.get_by_name(pset)
        assert template is not None, f"{pset} is not an IFC4 property or quantity set"
        props = {p.Name for p in template.HasPropertyTemplates if IDENTIFIER.match(p.Name)}
        assert props <= named, f"{pset}: unnamed {sorted(props - named)}"
    assert {"Pset_WallCommon", "Pset_SpaceCommon", "Pset_BuildingCommon"} <= set(psets)
    for pset, overridden in document["overrides"].items():
        assert pset in psets and set(overridden) <= named
    for item in [*document["psets"], *document["properties"]]:
        assert CHINESE.search(item["zh"]) and item["en"].strip(), item


def test_uses_name_every_use_the_vocabulary_and_the_demo_know() -> None:
    uses = read_json("codes/uses.json")["uses"]
    keys = [k.casefold() for u in uses for k in (u["code"], *u["aliases"])]
    assert len(keys) == len(set(keys)), "a value belongs to two uses"
    assert set(data.demo_district().gis_uses) <= set(keys)
    assert {b.use for b in data.demo_district().buildings} <= set(keys)
    residential = next(u for u in uses if u["code"] == "residential")
    for value in ("apartments", "住宅"):
        assert vocabulary.is_residential(value) and value in residential["aliases"]
    assert all(CHINESE.search(u["zh"]) for u in uses)


def test_the_message_patterns_compile_in_python_and_javascript() -> None:
    entries = read_json("codes/messages.json")["messages"]
    assert len({e["code"] for e in entries}) == len(entries)
    for entry in entries:
        groups = set(re.findall(r"\(\?<(\w+)>", entry["en"]))
        assert set(re.findall(r"\{(\w+)\}", entry["zh"])) <= groups, entry["code"]
        assert CHINESE.search(entry["zh"]), entry["code"]
    script = (
        "const m = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')).messages;"
        "for (const e of m) new RegExp(`^(?:${e.en})$`);"
        "console.log(m.length);"
    )
    node = subprocess.run(
        ["node", "-e", script, str(ROOT / "data" / "codes" / "messages.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if node.returncode == 127:
        pytest.skip("node is not installed")
    assert node.returncode == 0, node.stderr
    assert int(node.stdout) == len(entries)
