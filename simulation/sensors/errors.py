"""Errors of the sensing domain."""

from __future__ import annotations

from simulation.errors import SimulationError


class SensorError(SimulationError):
    """Root of the sensing errors."""


class SensorInputError(SensorError):
    """A request or a value that is not valid SensorThings input (HTTP 400)."""


class EntityNotFoundError(SensorError):
    """No entity of that type and id, or none the caller may see (HTTP 404)."""
