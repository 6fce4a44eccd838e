"""Tile properties from IFC property sets, GIS fields and OSM tags, inherited from the building."""

from __future__ import annotations

from tiles.properties import feature_row


def test_an_ifc_wall_takes_its_own_psets_and_its_buildings_use_and_year() -> None:
    building = {"psets": {"Pset_BuildingCommon": {"YearOfConstruction": "2012",
                                                  "NumberOfStoreys": 8},
                          "CIMTwin_Demo": {"Use": "office"}}}  # fmt: skip
    wall = {"psets": {"Pset_WallCommon": {"IsExternal": True, "LoadBearing": False,
                                          "FireRating": "REI90"}},
            "materials": [{"name": "Concrete C30/37"}]}  # fmt: skip
    row = feature_row("w1", "IfcWall", "South wall", "b1", "s1", 10.0, 13.5, wall, building)
    assert row == {"id": "w1", "class": "IfcWall", "name": "South wall", "building": "b1",
                   "storey": "s1", "height": 3.5, "base": 10.0, "use": "office", "year": 2012,
                   "levels": 8, "external": "true", "load_bearing": "false",
                   "fire_rating": "REI90", "material": "Concrete C30/37"}  # fmt: skip


def test_gis_fields_and_osm_tags() -> None:
    osm = {"osm_tags": {"building": "apartments", "start_date": "1987-05", "building:levels": "6"}}
    row = feature_row("osm:1", "building", "", None, None, 0.0, 18.0, osm)
    assert (row["use"], row["year"], row["levels"]) == ("apartments", 1987, 6)
    assert "name" not in row and "building" not in row
    plain = feature_row("b:2", "building", "", "b:2", None, None, None, {"building": "yes"})
    assert "use" not in plain and "height" not in plain and "building" not in plain
