"""A real SensorThings client against a real server: the FROST Python client
(``frost-sta-client``) creates a Thing with its Datastreams and Observations on a
``cimtwin serve`` process, signed in with a bearer token, then reads them back with queries
and pages (it follows ``@iot.nextLink``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import frost_sta_client as fsc
import pytest

from tests.api.sta.served import admin_headers, new_city, serving

STA = "/sta/v1.1"
OBSERVATIONS = 250  # more than one page of the server's default 100


class HeaderAuth:
    """Sends fixed headers (a bearer token) with every request (requests calls it with
    each request it prepares)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def __call__(self, request: Any) -> Any:
        request.headers.update(self.headers)
        return request


class TokenAuth(fsc.AuthHandler):
    """The client's auth handler, with a bearer token instead of a user and password."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__()
        self.auth = HeaderAuth(headers)

    def add_auth_header(self) -> HeaderAuth:
        return self.auth


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fsc.SensorThingsService]:
    folder = tmp_path_factory.mktemp("frost")
    city = new_city(folder / "city")
    headers = admin_headers(city)
    with serving(city, folder / "server.log") as (url, _):
        yield fsc.SensorThingsService(url + STA, auth_handler=TokenAuth(headers))


@pytest.fixture(scope="module")
def made(service: fsc.SensorThingsService) -> dict[str, Any]:
    """A Thing with its Location and two Datastreams created by the client, and
    ``OBSERVATIONS`` observations sent one by one and as a data array."""
    thing = fsc.Thing(
        name="river station",
        description="water level and temperature",
        properties={"owner": "water bureau"},
    )
    thing.locations = [
        fsc.Location(
            name="bank",
            description="east bank",
            encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": [113.33, 23.13]},
        )
    ]
    service.create(thing)
    streams = []
    for name, symbol in (("level", "m"), ("temperature", "degC")):
        stream = fsc.Datastream(
            name=name,
            description=f"water {name}",
            observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            unit_of_measurement=fsc.UnitOfMeasurement(name=name, symbol=symbol, definition=symbol),
            thing=thing,
            sensor=fsc.Sensor(
                name=f"{name} gauge",
                description="gauge",
                encoding_type="application/pdf",
                metadata="http://example.org",
            ),
            observed_property=fsc.ObservedProperty(
                name=name, definition=f"http://x/{name}", description=name
            ),
        )
        service.create(stream)
        streams.append(stream)
    level, temperature = streams
    for minute in range(10):
        observation = fsc.Observation(
            result=1.0 + minute / 10,
            datastream=level,
            phenomenon_time=f"2026-06-01T08:{minute:02d}:00Z",
        )
        service.create(observation)
    rows = fsc.DataArrayValue()
    rows.datastream = temperature
    rows.components = {
        fsc.DataArrayValue.Property.PHENOMENON_TIME,
        fsc.DataArrayValue.Property.RESULT,
    }
    for minute in range(OBSERVATIONS - 10):
        time = f"2026-06-01T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"
        rows.add_observation(
            fsc.Observation(result=20 + minute % 7, datastream=temperature, phenomenon_time=time)
        )
    array = fsc.DataArrayDocument()
    array.add_data_array_value(rows)
    links = service.observations().create(array)
    return {"thing": thing, "level": level, "temperature": temperature, "links": links}


def test_the_client_creates_a_thing_with_datastreams_and_observations(
    service: fsc.SensorThingsService, made: dict[str, Any]
) -> None:
    thing = service.things().find(made["thing"].id)
    assert thing.name == "river station" and thing.properties == {"owner": "water bureau"}
    streams = service.datastreams().query().list()
    assert sorted(s.name for s in streams) == ["level", "temperature"]
    assert len(made["links"]) == OBSERVATIONS - 10
    assert all("Observations(" in link.self_link for link in made["links"])


def test_the_client_pages_through_every_observation(
    service: fsc.SensorThingsService, made: dict[str, Any]
) -> None:
    everything = list(service.observations().query().top(40).list())  # follows nextLink
    assert len(everything) == OBSERVATIONS
    assert len({o.id for o in everything}) == OBSERVATIONS
    counted = service.observations().query().count().top(1).list()
    assert counted.count == OBSERVATIONS


def test_the_client_reads_a_datastreams_observations_in_order(
    service: fsc.SensorThingsService, made: dict[str, Any]
) -> None:
    level = service.datastreams().find(made["level"].id)
    query = level.get_observations().query().orderby("phenomenonTime", "asc").top(4)
    results = [o.result for o in query.list()]
    assert results == pytest.approx([1.0 + i / 10 for i in range(10)])
    expanded = service.things().query().expand("Datastreams($select=name)").list()
    (thing,) = list(expanded)
    assert sorted(d.name for d in thing.datastreams) == ["level", "temperature"]


def test_the_client_updates_and_deletes(
    service: fsc.SensorThingsService, made: dict[str, Any]
) -> None:
    thing = service.things().find(made["thing"].id)
    thing.description = "moved upstream"
    service.update(thing)  # PUT
    assert service.things().find(thing.id).description == "moved upstream"
    service.patch(thing, [{"op": "replace", "path": "/name", "value": "upstream station"}])
    assert service.things().find(thing.id).name == "upstream station"  # JSON Patch
    service.delete(made["level"])
    with pytest.raises(OSError, match="404 Client Error"):  # requests' HTTPError
        service.datastreams().find(made["level"].id)
    remaining = list(service.observations().query().top(100).list())
    assert len(remaining) == OBSERVATIONS - 10  # the level's observations went with it


def test_the_client_without_credentials_is_refused(service: fsc.SensorThingsService) -> None:
    anonymous = fsc.SensorThingsService(str(service.url))
    with pytest.raises(OSError, match="401 Client Error"):
        anonymous.create(fsc.Thing(name="x", description="y"))
