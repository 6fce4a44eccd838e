"""The SensorThings 1.1 data model as data: entity types, their properties and links.

Every part of the sensing code that maps SensorThings names to the tables (reading,
writing, ``$filter``, ``$orderby``, ``$expand``) looks them up here, so the mapping is
written once. Property names are SensorThings' (``unitOfMeasurement``); columns are the
attributes of the models in :mod:`cim.ops.sensor_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cim.ops import sensor_tables as t
from simulation.sensors.errors import SensorInputError

# text: a string; json: any JSON value; time: one instant; interval: an instant or a
# start/end pair (``column``, ``end_column``); geometry: GeoJSON with its bbox columns;
# result: an observation's result (``result_number``, ``result_text``, ``result_json``).
Kind = Literal["text", "json", "time", "interval", "geometry", "result"]


@dataclass(frozen=True)
class Field:
    """A property of an entity type."""

    name: str
    column: str
    kind: Kind
    required: bool = False
    end_column: str | None = None
    # set by the server, never by a client (a Datastream's phenomenonTime)
    derived: bool = False


@dataclass(frozen=True)
class Link:
    """A navigation property: ``many`` targets, or one.

    The join is ``this.local == target.remote``, or through an association table
    ``through`` where ``through.<this_side> == this.id`` and ``through.<target_side> ==
    target.id``.
    """

    name: str
    target: str
    many: bool
    local: str = "id"
    remote: str = "id"
    through: type[Any] | None = None
    this_side: str | None = None
    target_side: str | None = None


@dataclass(frozen=True)
class EntityType:
    """One entity type: its names, its table and what it holds."""

    name: str
    plural: str
    model: type[Any]
    fields: tuple[Field, ...]
    links: tuple[Link, ...]

    def field(self, name: str) -> Field:
        """The property ``name`` (400 when this type has none of that name)."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        known = ", ".join(["id", *(f.name for f in self.fields)])
        raise SensorInputError(f"{self.name} has no property {name!r} (it has {known})")

    def link(self, name: str) -> Link:
        """The navigation property ``name`` (400 when this type has none of that name)."""
        for candidate in self.links:
            if candidate.name == name:
                return candidate
        known = ", ".join(link.name for link in self.links)
        raise SensorInputError(f"{self.name} has no navigation property {name!r} ({known})")

    def has_link(self, name: str) -> bool:
        """Whether ``name`` is one of this type's navigation properties."""
        return any(link.name == name for link in self.links)


def _named(required: bool = True) -> tuple[Field, Field]:
    return (
        Field("name", "name", "text", required),
        Field("description", "description", "text", required),
    )


PROPERTIES = Field("properties", "properties", "json")

THING = EntityType(
    "Thing",
    "Things",
    t.Thing,
    (*_named(), PROPERTIES),
    (
        Link("Datastreams", "Datastream", True, remote="thing_id"),
        Link(
            "Locations",
            "Location",
            True,
            through=t.ThingLocation,
            this_side="thing_id",
            target_side="location_id",
        ),
        Link("HistoricalLocations", "HistoricalLocation", True, remote="thing_id"),
    ),
)
LOCATION = EntityType(
    "Location",
    "Locations",
    t.Location,
    (
        *_named(),
        Field("encodingType", "encoding_type", "text", True),
        Field("location", "location", "geometry", True),
        PROPERTIES,
    ),
    (
        Link(
            "Things",
            "Thing",
            True,
            through=t.ThingLocation,
            this_side="location_id",
            target_side="thing_id",
        ),
        Link(
            "HistoricalLocations",
            "HistoricalLocation",
            True,
            through=t.HistoricalLocationLocation,
            this_side="location_id",
            target_side="historical_location_id",
        ),
    ),
)
HISTORICAL_LOCATION = EntityType(
    "HistoricalLocation",
    "HistoricalLocations",
    t.HistoricalLocation,
    (Field("time", "time_us", "time", True),),
    (
        Link("Thing", "Thing", False, local="thing_id"),
        Link(
            "Locations",
            "Location",
            True,
            through=t.HistoricalLocationLocation,
            this_side="historical_location_id",
            target_side="location_id",
        ),
    ),
)
SENSOR = EntityType(
    "Sensor",
    "Sensors",
    t.Sensor,
    (
        *_named(),
        Field("encodingType", "encoding_type", "text", True),
        Field("metadata", "sensor_metadata", "text", True),
        PROPERTIES,
    ),
    (Link("Datastreams", "Datastream", True, remote="sensor_id"),),
)
OBSERVED_PROPERTY = EntityType(
    "ObservedProperty",
    "ObservedProperties",
    t.ObservedProperty,
    (*_named(), Field("definition", "definition", "text", True), PROPERTIES),
    (Link("Datastreams", "Datastream", True, remote="observed_property_id"),),
)
DATASTREAM = EntityType(
    "Datastream",
    "Datastreams",
    t.Datastream,
    (
        *_named(),
        Field("observationType", "observation_type", "text", True),
        Field("unitOfMeasurement", "unit_of_measurement", "json", True),
        Field("observedArea", "observed_area", "geometry", derived=True),
        Field(
            "phenomenonTime",
            "phenomenon_start_us",
            "interval",
            end_column="phenomenon_end_us",
            derived=True,
        ),
        Field(
            "resultTime", "result_start_us", "interval", end_column="result_end_us", derived=True
        ),
        PROPERTIES,
    ),
    (
        Link("Thing", "Thing", False, local="thing_id"),
        Link("Sensor", "Sensor", False, local="sensor_id"),
        Link("ObservedProperty", "ObservedProperty", False, local="observed_property_id"),
        Link("Observations", "Observation", True, remote="datastream_id"),
    ),
)
OBSERVATION = EntityType(
    "Observation",
    "Observations",
    t.Observation,
    (
        Field("phenomenonTime", "phenomenon_us", "interval", end_column="phenomenon_end_us"),
        Field("result", "result_number", "result", True),
        Field("resultTime", "result_us", "time"),
        Field("resultQuality", "result_quality", "json"),
        Field("validTime", "valid_start_us", "interval", end_column="valid_end_us"),
        Field("parameters", "parameters", "json"),
    ),
    (
        Link("Datastream", "Datastream", False, local="datastream_id"),
        Link("FeatureOfInterest", "FeatureOfInterest", False, local="feature_id"),
    ),
)
FEATURE_OF_INTEREST = EntityType(
    "FeatureOfInterest",
    "FeaturesOfInterest",
    t.FeatureOfInterest,
    (
        *_named(),
        Field("encodingType", "encoding_type", "text", True),
        Field("feature", "feature", "geometry", True),
        PROPERTIES,
    ),
    (Link("Observations", "Observation", True, remote="feature_id"),),
)

ENTITY_TYPES: tuple[EntityType, ...] = (
    THING,
    LOCATION,
    HISTORICAL_LOCATION,
    SENSOR,
    OBSERVED_PROPERTY,
    DATASTREAM,
    OBSERVATION,
    FEATURE_OF_INTEREST,
)
BY_NAME: dict[str, EntityType] = {e.name: e for e in ENTITY_TYPES}
BY_PLURAL: dict[str, EntityType] = {e.plural: e for e in ENTITY_TYPES}


def entity_type(name: str) -> EntityType:
    """The entity type of singular name ``name`` (``Thing``) or set name (``Things``)."""
    found = BY_NAME.get(name) or BY_PLURAL.get(name)
    if found is None:
        known = ", ".join(BY_PLURAL)
        raise SensorInputError(f"no entity set {name!r}: use {known}")
    return found
