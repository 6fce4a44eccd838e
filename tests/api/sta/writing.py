"""Helpers of the SensorThings write tests: an app over an empty city, its admin's client,
the bodies the OGC test suite posts, and the events the writes publish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import configure
from api.events import Event, event_hub_of
from cim.store import CityStore
from tests.signin import admin_client

STA = "/sta/v1.1"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
POINT = {"type": "Point", "coordinates": [-114.05, 51.05]}


def empty_city_app(folder: Path, database_url: str | None = None) -> FastAPI:
    """The app of a new city without objects or jurisdictions (no job worker), on the
    city's operational database or ``database_url``."""
    CityStore.create(folder, "EPSG:4547", "sensing").close()
    app = create_app(folder, worker=False)
    if database_url is not None:
        configure(app, url=database_url)
    return app


def admin(app: FastAPI) -> TestClient:
    """A client signed in as an admin of the province."""
    return admin_client(app)


def recorded_events(app: FastAPI) -> list[Event]:
    """A list that receives every event the app publishes from now on."""
    events: list[Event] = []
    event_hub_of(app).add_listener(events.append)
    return events


def thing() -> dict[str, Any]:
    return {"name": "Test Thing", "description": "This is a Test Thing"}


def location() -> dict[str, Any]:
    return {
        "name": "bow river",
        "description": "bow river",
        "encodingType": "application/vnd.geo+json",
        "location": POINT,
    }


def sensor() -> dict[str, Any]:
    return {
        "name": "Fuguro Barometer",
        "description": "Fuguro Barometer",
        "encodingType": "application/pdf",
        "metadata": "Barometer",
    }


def observed_property() -> dict[str, Any]:
    return {
        "name": "DewPoint Temperature",
        "definition": "http://dbpedia.org/page/Dew_point",
        "description": "The dewpoint temperature",
    }


def feature() -> dict[str, Any]:
    return {
        "name": "A weather station.",
        "description": "A weather station.",
        "encodingType": "application/vnd.geo+json",
        "feature": {"type": "Point", "coordinates": [10, 10]},
    }


def datastream(**links: Any) -> dict[str, Any]:
    return {
        "name": "test datastream.",
        "description": "test datastream.",
        "observationType": MEASUREMENT,
        "unitOfMeasurement": {
            "name": "Celsius",
            "symbol": "degC",
            "definition": "http://qudt.org/vocab/unit#DegreeCelsius",
        },
        **links,
    }


def ref(entity_id: int) -> dict[str, int]:
    return {"@iot.id": entity_id}


def post(client: TestClient | httpx.Client, path: str, body: Any) -> dict[str, Any]:
    """POST and check the 201 and its Location header; the created entity's JSON."""
    response = client.post(f"{STA}/{path}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["Location"] == created["@iot.selfLink"]
    return created


def deep_thing() -> dict[str, Any]:
    """The OGC suite's deep insert: a Thing with a Location and a Datastream with its Sensor
    and ObservedProperty, here with two Observations too."""
    return {
        **thing(),
        "properties": {"reference": "Third Floor"},
        "Locations": [location()],
        "Datastreams": [
            datastream(
                Sensor=sensor(),
                ObservedProperty=observed_property(),
                Observations=[
                    {"phenomenonTime": "2015-03-01T00:00:00Z", "result": 1},
                    {"phenomenonTime": "2015-03-01T01:00:00Z", "result": 2},
                ],
            )
        ],
    }
