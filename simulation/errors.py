"""The root error of :mod:`simulation`."""

from __future__ import annotations


class SimulationError(Exception):
    """Root of every error raised by :mod:`simulation`."""
