"""Errors of the simulation models."""

from __future__ import annotations

from simulation.errors import SimulationError


class ModelError(SimulationError):
    """A model cannot run on these inputs (no DEM, no residential building, bad level...)."""


class UnknownModelError(ModelError):
    """No model has the requested name."""


class ParametersError(ModelError):
    """A model's parameters are invalid; the message names the field and the problem."""
