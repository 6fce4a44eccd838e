"""The sensors' latest values as a simulation model reads them (:class:`LiveReadings`).

Read from the operational database's latest states (one query, made once per run, at the
first question), limited to the run's scope, numeric values only, each sensor's position
converted from longitude/latitude to the city CRS.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import select

from cim.crs import transformer
from cim.ops.database import OpsDatabase
from cim.ops.sensor_tables import ObservedProperty
from cim.scope import Scope
from simulation.models.spec import Reading
from simulation.sensors.records import DatastreamState
from simulation.sensors.state import latest_states


class OpsLiveReadings:
    """The latest numeric readings of the datastreams in ``scope``, in ``city_crs``."""

    def __init__(
        self, db: OpsDatabase, scope: Scope, city_crs: str, now_us: int | None = None
    ) -> None:
        self.db = db
        self.scope = scope
        self.city_crs = city_crs
        self.now_us = now_us if now_us is not None else time.time_ns() // 1000
        self._readings: dict[int, Reading] | None = None

    def latest(self, datastream_id: int) -> Reading | None:
        """The latest numeric value of one datastream (None: unknown, none, not numeric,
        outside the scope)."""
        return self._all().get(datastream_id)

    def of_property(self, observed_property: str) -> list[Reading]:
        """The latest numeric values of every datastream observing a property, given by its
        name or its definition (a URI), ordered by datastream id."""
        with self.db.engine.connect() as connection:
            names = set(connection.scalars(select(ObservedProperty.name).where(
                ObservedProperty.definition == observed_property)))  # fmt: skip
        names.add(observed_property)
        return [r for r in self._all().values() if r.observed_property in names]

    def _all(self) -> dict[int, Reading]:
        if self._readings is None:
            states = latest_states(self.db, self.scope, now_us=self.now_us)
            self._readings = {}
            for state in states:
                reading = self._reading(state)
                if reading is not None:
                    self._readings[reading.datastream_id] = reading
        return self._readings

    def _reading(self, state: DatastreamState) -> Reading | None:
        value = state.result
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value) or state.phenomenon_us is None:
            return None
        x = y = None
        if state.lon is not None and state.lat is not None:
            x, y = transformer("EPSG:4326", self.city_crs).transform(state.lon, state.lat)
            if not (math.isfinite(x) and math.isfinite(y)):
                x = y = None
        return Reading(state.datastream_id, state.name, state.observed_property,
                       state.unit_symbol, float(value), state.phenomenon_us, x, y,
                       state.city_object)  # fmt: skip
