"""Creating, changing and deleting SensorThings entities in the domain (both backends):
deep insert, links by id, placement and scope, validation, cascades."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from cim.errors import OutsideScopeError
from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.scope import Scope
from simulation.sensors import write
from simulation.sensors.entities import entity_type
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.write import Placed
from tests.simulation.sensors.network import VILLAGE_A, VILLAGE_B, Network

TOWN = Scope.of("440106001000")  # holds both villages
HOME = write.place_in(VILLAGE_A)
POINT = {"type": "Point", "coordinates": [113.33, 23.13]}


def thing_body(observations: int = 2) -> dict[str, Any]:
    """A Thing with a Location and a Datastream with its Sensor, ObservedProperty and
    ``observations`` Observations, all inline."""
    return {
        "name": "Station",
        "description": "river station",
        "properties": {"owner": "water bureau"},
        "Locations": [
            {
                "name": "bank",
                "description": "b",
                "encodingType": "application/geo+json",
                "location": POINT,
            }
        ],
        "Datastreams": [
            {
                "name": "level",
                "description": "water level",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "m"},
                "Sensor": {
                    "name": "gauge",
                    "description": "g",
                    "encodingType": "application/pdf",
                    "metadata": "http://example.org/gauge.pdf",
                },
                "ObservedProperty": {
                    "name": "water level",
                    "definition": "http://x/level",
                    "description": "w",
                },
                "Observations": [
                    {"phenomenonTime": f"2026-01-01T00:0{i}:00Z", "result": 1.5 + i}
                    for i in range(observations)
                ],
            }
        ],
    }


def count(db: OpsDatabase, model: type[Any]) -> int:
    with db.transaction() as session:
        found: int = session.execute(select(func.count()).select_from(model)).scalar_one()
        return found


def test_a_deep_insert_makes_every_entity_linked(sensing_db: OpsDatabase) -> None:
    result = write.insert(sensing_db, "Things", thing_body(), TOWN, place=HOME)
    made = {(c.type, c.change) for c in result.changes}
    assert made == {
        (kind, "created")
        for kind in (
            "Thing",
            "Location",
            "HistoricalLocation",
            "Sensor",
            "ObservedProperty",
            "Datastream",
        )
    }
    assert len(result.observations) == 2
    with sensing_db.transaction() as session:
        thing = session.get(t.Thing, result.id)
        assert thing is not None and thing.jurisdiction == VILLAGE_A
        stream = session.execute(select(t.Datastream)).scalar_one()
        assert stream.thing_id == thing.id and stream.jurisdiction == VILLAGE_A
        assert stream.latest_result_number == 2.5
        (link,) = session.execute(select(t.ThingLocation)).scalars()
        assert link.thing_id == thing.id
        history = session.execute(select(t.HistoricalLocation)).scalar_one()
        assert history.thing_id == thing.id


def test_a_deep_insert_with_a_bad_part_stores_nothing(sensing_db: OpsDatabase) -> None:
    body = thing_body()
    del body["Datastreams"][0]["Sensor"]["metadata"]
    with pytest.raises(SensorInputError, match="Sensor needs metadata"):
        write.insert(sensing_db, "Things", body, TOWN, place=HOME)
    for model in (t.Thing, t.Location, t.Datastream, t.ObservedProperty, t.Observation):
        assert count(sensing_db, model) == 0


def test_an_observation_the_ingest_refuses_takes_the_deep_insert_back(
    sensing_db: OpsDatabase,
) -> None:
    body = thing_body()
    del body["Locations"]  # no location: no default FeatureOfInterest for the observations
    with pytest.raises(SensorInputError, match="no Location"):
        write.insert(sensing_db, "Things", body, TOWN, place=HOME)
    for model in (t.Thing, t.Datastream, t.Sensor, t.Observation):
        assert count(sensing_db, model) == 0


def test_unknown_and_mistyped_properties_are_named(sensing_db: OpsDatabase) -> None:
    with pytest.raises(SensorInputError, match="'colour', 'size'"):
        write.insert(
            sensing_db,
            "Things",
            {"name": "a", "description": "b", "colour": 1, "size": 2},
            TOWN,
            place=HOME,
        )
    with pytest.raises(SensorInputError, match="Thing name must be text"):
        write.insert(sensing_db, "Things", {"name": 3, "description": "b"}, TOWN, place=HOME)
    with pytest.raises(SensorInputError, match="properties must be a JSON object"):
        write.insert(
            sensing_db,
            "Things",
            {"name": "a", "description": "b", "properties": [1]},
            TOWN,
            place=HOME,
        )
    with pytest.raises(SensorInputError, match=r"not a valid GeoJSON|outside longitude"):
        location = {
            "name": "a",
            "description": "b",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [500, 23]},
        }
        write.insert(sensing_db, "Locations", location, TOWN, place=HOME)
    with pytest.raises(SensorInputError, match="server"):
        write.insert(
            sensing_db, "Things", {"@iot.id": 4, "name": "a", "description": "b"}, TOWN, place=HOME
        )
    assert count(sensing_db, t.Thing) == 0


def test_links_by_id_reach_only_the_callers_entities(
    sensing_db: OpsDatabase, network: Network
) -> None:
    sensor = write.create(
        sensing_db,
        "Sensors",
        {"name": "s", "description": "d", "encodingType": "text/html", "metadata": "m"},
        TOWN,
        place=HOME,
    )
    observed = write.create(
        sensing_db,
        "ObservedProperties",
        {"name": "p", "definition": "d", "description": "d"},
        TOWN,
        place=HOME,
    )
    stream = {
        "name": "n",
        "description": "d",
        "observationType": "o",
        "unitOfMeasurement": {"symbol": "m"},
        "Thing": {"@iot.id": network.things["b"]},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"@iot.id": observed},
    }
    made = write.create(sensing_db, "Datastreams", stream, TOWN, place=HOME)
    with sensing_db.transaction() as session:
        assert session.get(t.Datastream, made).jurisdiction == VILLAGE_B  # type: ignore[union-attr]
    village_a = Scope.of(VILLAGE_A)
    with pytest.raises(EntityNotFoundError, match=f"no Thing with id {network.things['b']}"):
        write.create(sensing_db, "Datastreams", stream, village_a, place=HOME)


def test_creating_through_a_path_links_to_the_parent(
    sensing_db: OpsDatabase, network: Network
) -> None:
    thing = network.things["a"]
    location = {
        "name": "new",
        "description": "d",
        "encodingType": "application/geo+json",
        "location": POINT,
    }
    made = write.insert(
        sensing_db, "Locations", location, TOWN, place=HOME, parent=("Things", thing, "Locations")
    )
    assert ("HistoricalLocation", "created") in {(c.type, c.change) for c in made.changes}
    with sensing_db.transaction() as session:
        links = session.execute(
            select(t.ThingLocation.location_id).where(t.ThingLocation.thing_id == thing)
        ).scalars()
        assert list(links) == [made.id]  # the new location replaces the old one
    observation = write.create(
        sensing_db,
        "Observations",
        {"result": 7},
        TOWN,
        place=HOME,
        parent=("Datastreams", network.datastreams["a-level"], "Observations"),
    )
    with sensing_db.transaction() as session:
        stored = session.get(t.Observation, observation)
        assert stored is not None and stored.datastream_id == network.datastreams["a-level"]


def test_an_entity_outside_the_callers_scope_is_refused(sensing_db: OpsDatabase) -> None:
    def elsewhere(city_object: str | None, geometry: dict[str, Any] | None) -> Placed:
        return Placed(VILLAGE_B if geometry else VILLAGE_A)

    location = {
        "name": "far",
        "description": "d",
        "encodingType": "application/geo+json",
        "location": POINT,
    }
    with pytest.raises(OutsideScopeError, match=VILLAGE_B):
        write.insert(sensing_db, "Locations", location, Scope.of(VILLAGE_A), place=elsewhere)
    assert count(sensing_db, t.Location) == 0


def test_a_thing_naming_a_city_object_takes_its_place(sensing_db: OpsDatabase) -> None:
    def by_object(city_object: str | None, geometry: dict[str, Any] | None) -> Placed:
        if city_object == "B-bldg":
            return Placed(VILLAGE_B, "B-bldg", {"type": "Point", "coordinates": [113.4, 23.2, 9]})
        return Placed(VILLAGE_A)

    body = {"name": "box", "description": "d", "properties": {"cityObject": "B-bldg"}}
    made = write.create(sensing_db, "Things", body, TOWN, place=by_object)
    with sensing_db.transaction() as session:
        thing = session.get(t.Thing, made)
        assert thing is not None
        assert (thing.city_object, thing.jurisdiction) == ("B-bldg", VILLAGE_B)
        location = session.execute(select(t.Location)).scalar_one()
        assert location.location["coordinates"] == [113.4, 23.2, 9]
        assert (location.city_object, location.jurisdiction) == ("B-bldg", VILLAGE_B)
    with pytest.raises(SensorInputError, match="cityObject"):
        write.create(
            sensing_db,
            "Things",
            {"name": "a", "description": "b", "properties": {"cityObject": 5}},
            TOWN,
            place=by_object,
        )


def test_patch_changes_what_it_names_and_put_replaces(
    sensing_db: OpsDatabase, network: Network
) -> None:
    thing = network.things["a"]
    write.update(sensing_db, "Things", thing, {"description": "renamed"}, TOWN, place=HOME)
    with sensing_db.transaction() as session:
        row = session.get(t.Thing, thing)
        assert row is not None and (row.name, row.description) == ("station a", "renamed")
    write.update(
        sensing_db,
        "Things",
        thing,
        {"name": "n", "description": "d"},
        TOWN,
        place=HOME,
        replace=True,
    )
    with pytest.raises(SensorInputError, match="needs name"):
        write.update(
            sensing_db, "Things", thing, {"description": "d"}, TOWN, place=HOME, replace=True
        )
    with pytest.raises(SensorInputError, match="links existing entities only"):
        write.update(sensing_db, "Things", thing, {"Locations": [{"name": "x"}]}, TOWN, place=HOME)
    with pytest.raises(EntityNotFoundError):
        write.update(
            sensing_db,
            "Things",
            network.things["b"],
            {"name": "x"},
            Scope.of(VILLAGE_A),
            place=HOME,
        )


def test_patching_a_things_locations_records_history_and_moves_it(
    sensing_db: OpsDatabase, network: Network
) -> None:
    thing = network.things["b"]  # village B, no location yet
    patch = {"Locations": [{"@iot.id": network.locations["a"]}]}
    result = write.update(sensing_db, "Things", thing, patch, TOWN, place=HOME)
    kinds = {(c.type, c.change) for c in result.changes}
    assert {("HistoricalLocation", "created"), ("Datastream", "updated")} <= kinds
    with sensing_db.transaction() as session:
        row = session.get(t.Thing, thing)
        assert row is not None and row.jurisdiction == VILLAGE_A  # its location's
        stream = session.get(t.Datastream, network.datastreams["b-level"])
        assert stream is not None and stream.jurisdiction == VILLAGE_A


def test_changing_an_observation_keeps_the_datastreams_latest_value(
    sensing_db: OpsDatabase, network: Network
) -> None:
    stream = network.datastreams["a-level"]
    ids = [
        write.create(
            sensing_db,
            "Observations",
            {"result": value, "phenomenonTime": time, "Datastream": {"@iot.id": stream}},
            TOWN,
            place=HOME,
        )
        for value, time in ((1, "2026-01-01T00:00:00Z"), (2, "2026-01-01T01:00:00Z"))
    ]
    write.update(sensing_db, "Observations", ids[1], {"result": 20}, TOWN, place=HOME)
    with sensing_db.transaction() as session:
        assert session.get(t.Datastream, stream).latest_result_number == 20  # type: ignore[union-attr]
    write.delete(sensing_db, "Observations", ids[1], TOWN)
    with sensing_db.transaction() as session:
        row = session.get(t.Datastream, stream)
        assert row is not None and (row.latest_observation_id, row.latest_result_number) == (
            ids[0],
            1,
        )
    with pytest.raises(SensorInputError, match="phenomenonTime"):
        third = write.create(
            sensing_db,
            "Observations",
            {
                "result": 3,
                "phenomenonTime": "2026-01-01T02:00:00Z",
                "Datastream": {"@iot.id": stream},
            },
            TOWN,
            place=HOME,
        )
        write.update(
            sensing_db,
            "Observations",
            third,
            {"phenomenonTime": "2026-01-01T00:00:00Z"},
            TOWN,
            place=HOME,
        )


@pytest.mark.parametrize(
    ("deleted", "gone", "kept"),
    [
        ("Thing", {"Thing", "Datastream", "HistoricalLocation", "Observation"},
         {"Location", "Sensor", "ObservedProperty", "FeatureOfInterest"}),
        ("Datastream", {"Datastream", "Observation"},
         {"Thing", "Sensor", "ObservedProperty", "FeatureOfInterest", "Location",
          "HistoricalLocation"}),
        ("Location", {"Location", "HistoricalLocation"},
         {"Thing", "Sensor", "ObservedProperty", "FeatureOfInterest", "Datastream",
          "Observation"}),
        ("Sensor", {"Sensor", "Datastream", "Observation"},
         {"Thing", "ObservedProperty", "FeatureOfInterest", "Location", "HistoricalLocation"}),
        ("ObservedProperty", {"ObservedProperty", "Datastream", "Observation"},
         {"Thing", "Sensor", "FeatureOfInterest", "Location", "HistoricalLocation"}),
        ("FeatureOfInterest", {"FeatureOfInterest", "Observation"},
         {"Thing", "Sensor", "ObservedProperty", "Location", "HistoricalLocation",
          "Datastream"}),
        ("Observation", {"Observation"},
         {"Thing", "Sensor", "ObservedProperty", "FeatureOfInterest", "Location",
          "HistoricalLocation", "Datastream"}),
    ],
)  # fmt: skip
def test_delete_cascades_as_the_standard_says(
    sensing_db: OpsDatabase, deleted: str, gone: set[str], kept: set[str]
) -> None:
    write.insert(sensing_db, "Things", thing_body(observations=1), TOWN, place=HOME)
    models = {name: entity_type(name).model for name in gone | kept}
    with sensing_db.transaction() as session:
        target = session.execute(select(models[deleted].id)).scalar_one()
    write.delete(sensing_db, deleted, target, TOWN)
    assert {name for name in gone if count(sensing_db, models[name])} == set()
    assert {name for name in kept if not count(sensing_db, models[name])} == set()
    with pytest.raises(EntityNotFoundError):
        write.delete(sensing_db, deleted, target, TOWN)


def test_a_thing_follows_the_location_that_placed_it(
    sensing_db: OpsDatabase, network: Network
) -> None:
    def by_longitude(city_object: str | None, geometry: dict[str, Any] | None) -> Placed:
        east = geometry is not None and geometry["coordinates"][0] > 114
        return Placed(VILLAGE_B if east else VILLAGE_A)

    moved = {"location": {"type": "Point", "coordinates": [114.5, 23.1]}}
    location = network.locations["a"]
    result = write.update(sensing_db, "Locations", location, moved, TOWN, place=by_longitude)
    assert ("Thing", network.things["a"]) in {(c.type, c.id) for c in result.changes}
    with sensing_db.transaction() as session:
        thing = session.get(t.Thing, network.things["a"])
        stream = session.get(t.Datastream, network.datastreams["a-level"])
        assert thing is not None and stream is not None
        assert (thing.jurisdiction, stream.jurisdiction) == (VILLAGE_B, VILLAGE_B)
