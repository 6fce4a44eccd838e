"""OGC SensorThings API 1.1 at ``/sta/v1.1``: the HTTP interface to :mod:`simulation.sensors`."""
