"""GET /api/objects/{id}/card: the planning figures of a building, 404 like the object."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _building(client: TestClient, name: str) -> str:
    listed = client.get("/api/objects?class=IfcBuilding").json()["objects"]
    return str(next(o["id"] for o in listed if o["name"] == name))


def test_the_card_of_a_building(client: TestClient) -> None:
    response = client.get(f"/api/objects/{_building(client, 'South Hall')}/card")
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["kind"] == "bim-building" and card["name"] == "South Hall"
    assert card["height"]["value"] == 10.5 and card["ground"]["method"] == "ground-floor"
    assert (card["storeys"]["above"], card["storeys"]["below"]) == (3, 0)
    assert card["gross_floor_area"]["method"] == "slabs"
    assert card["position"]["crs"] == "EPSG:4547"
    assert card["vertical_datum"] is None


def test_a_storey_of_the_list_has_its_own_card(client: TestClient) -> None:
    card = client.get(f"/api/objects/{_building(client, 'North Hall')}/card").json()
    upper = card["storeys"]["list"][0]
    storey = client.get(f"/api/objects/{upper['id']}/card").json()
    assert storey["kind"] == "element" and storey["building"]["name"] == "North Hall"
    assert storey["base_level"] is not None and storey["base_level"] > 3.0


def test_an_unknown_object_has_no_card(client: TestClient) -> None:
    response = client.get("/api/objects/nothing-here/card")
    assert response.status_code == 404
    assert "nothing-here" in response.json()["detail"]
