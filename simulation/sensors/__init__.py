"""Sensors and observations: the entities of OGC SensorThings 1.1, ingest, latest state and
time series, stored in the operational database (:mod:`cim.ops.sensor_tables`)."""
