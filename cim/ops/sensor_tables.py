"""The sensing tables of the operational database: the entities of OGC SensorThings 1.1.

One table per entity type (``sta_things``, ``sta_locations``...), the many-to-many links
(``sta_thing_locations``, ``sta_historical_location_locations``) and the observations.
Times are integers: microseconds since 1970-01-01 UTC (``*_us``), so that comparisons,
ordering and bucketing by hour are plain integer arithmetic on both backends.

Every entity but the link tables carries ``jurisdiction``, the 12-digit code of the node
it sits in, so a caller's scope is a code-prefix condition (:func:`cim.ops.scoping.within`);
observations take theirs from their datastream. Geometries (locations, features of
interest, observed areas) are GeoJSON in CRS84 with their bounding box in four columns,
which a spatial filter tests in SQL before the exact predicate.

A datastream keeps its latest observation (``latest_*``) and its phenomenon- and
result-time extents, updated by every ingest batch: the latest state of thousands of
datastreams is one scan of this table. An observation is unique by datastream and
phenomenon time (the same reading sent twice is stored once).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cim.ops.models import Base, BigId

# Microseconds since the epoch, UTC.
TimeUs = BigInteger
# JSON whose Python None is SQL NULL (not the JSON text 'null').
Json = JSON(none_as_null=True)


def _key(table_column: str, name: str | None = None) -> Any:
    """A foreign key whose rows go with the row they point at (``name``: where the
    conventional name would pass PostgreSQL's 63 characters)."""
    return ForeignKey(table_column, ondelete="CASCADE", name=name)


class GeometryColumns:
    """A GeoJSON geometry (CRS84) and its bounding box, for spatial filters."""

    lon_min: Mapped[float | None] = mapped_column(Float)
    lat_min: Mapped[float | None] = mapped_column(Float)
    lon_max: Mapped[float | None] = mapped_column(Float)
    lat_max: Mapped[float | None] = mapped_column(Float)


class Thing(Base):
    """A thing that carries sensors: a station, a device, a room's sensor box."""

    __tablename__ = "sta_things"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    city_object: Mapped[str | None] = mapped_column(String(64), index=True)


class Location(GeometryColumns, Base):
    """Where a thing is (a GeoJSON geometry)."""

    __tablename__ = "sta_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    encoding_type: Mapped[str] = mapped_column(String(100))
    location: Mapped[dict[str, Any]] = mapped_column(Json)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    city_object: Mapped[str | None] = mapped_column(String(64), index=True)


class ThingLocation(Base):
    """A thing's current location (STA allows several)."""

    __tablename__ = "sta_thing_locations"

    thing_id: Mapped[int] = mapped_column(_key("sta_things.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(_key("sta_locations.id"), primary_key=True, index=True)


class HistoricalLocation(Base):
    """When a thing was at its locations."""

    __tablename__ = "sta_historical_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thing_id: Mapped[int] = mapped_column(_key("sta_things.id"), index=True)
    time_us: Mapped[int] = mapped_column(TimeUs)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)


class HistoricalLocationLocation(Base):
    """The locations of one historical location."""

    __tablename__ = "sta_historical_location_locations"

    historical_location_id: Mapped[int] = mapped_column(
        _key("sta_historical_locations.id", "fk_sta_hl_locations_hl"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        _key("sta_locations.id", "fk_sta_hl_locations_location"), primary_key=True, index=True
    )


class Sensor(Base):
    """An instrument, described by its metadata (a data sheet's URL, a SensorML document)."""

    __tablename__ = "sta_sensors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    encoding_type: Mapped[str] = mapped_column(String(100))
    sensor_metadata: Mapped[str] = mapped_column("metadata", Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)


class ObservedProperty(Base):
    """What is observed: water level, PM2.5, strain..."""

    __tablename__ = "sta_observed_properties"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)


class Datastream(Base):
    """The observations of one property by one sensor on one thing, and its latest one."""

    __tablename__ = "sta_datastreams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    observation_type: Mapped[str] = mapped_column(String(200))
    unit_of_measurement: Mapped[dict[str, Any]] = mapped_column(Json)
    observed_area: Mapped[dict[str, Any] | None] = mapped_column(Json)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    thing_id: Mapped[int] = mapped_column(_key("sta_things.id"), index=True)
    sensor_id: Mapped[int] = mapped_column(_key("sta_sensors.id"), index=True)
    observed_property_id: Mapped[int] = mapped_column(
        _key("sta_observed_properties.id"), index=True
    )
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    phenomenon_start_us: Mapped[int | None] = mapped_column(TimeUs)
    phenomenon_end_us: Mapped[int | None] = mapped_column(TimeUs)
    result_start_us: Mapped[int | None] = mapped_column(TimeUs)
    result_end_us: Mapped[int | None] = mapped_column(TimeUs)
    latest_observation_id: Mapped[int | None] = mapped_column(BigInteger)
    latest_phenomenon_us: Mapped[int | None] = mapped_column(TimeUs)
    latest_result_number: Mapped[float | None] = mapped_column(Float)
    latest_result_json: Mapped[Any | None] = mapped_column(Json)


class FeatureOfInterest(GeometryColumns, Base):
    """The feature an observation is about (by default where its thing was)."""

    __tablename__ = "sta_features"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    encoding_type: Mapped[str] = mapped_column(String(100))
    feature: Mapped[dict[str, Any]] = mapped_column(Json)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    city_object: Mapped[str | None] = mapped_column(String(64), index=True)
    # the Location this feature was made from (for observations sent without one), so the
    # same location gives the same feature
    source_location_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class Observation(Base):
    """One observation: a numeric result in ``result_number``, a text in ``result_text``,
    anything else (booleans, objects, arrays) in ``result_json``."""

    __tablename__ = "sta_observations"
    __table_args__ = (
        UniqueConstraint("datastream_id", "phenomenon_us"),
        Index("ix_sta_observations_feature_id", "feature_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    datastream_id: Mapped[int] = mapped_column(_key("sta_datastreams.id"))
    phenomenon_us: Mapped[int] = mapped_column(TimeUs)
    phenomenon_end_us: Mapped[int | None] = mapped_column(TimeUs)
    result_us: Mapped[int | None] = mapped_column(TimeUs)
    valid_start_us: Mapped[int | None] = mapped_column(TimeUs)
    valid_end_us: Mapped[int | None] = mapped_column(TimeUs)
    result_number: Mapped[float | None] = mapped_column(Float)
    result_text: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[Any | None] = mapped_column(Json)
    result_quality: Mapped[Any | None] = mapped_column(Json)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(Json)
    feature_id: Mapped[int | None] = mapped_column(_key("sta_features.id"))
