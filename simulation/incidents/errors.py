"""Errors of the closed loop."""

from __future__ import annotations

from simulation.errors import SimulationError


class IncidentError(SimulationError):
    """Root of the errors of incidents and alert rules."""


class IncidentInputError(IncidentError):
    """A report, a step, a rule or a filter that is not valid (HTTP 422)."""


class IncidentNotFoundError(IncidentError):
    """No incident, rule or attachment with that id, or none the caller may see (HTTP 404)."""


class StepRefusedError(IncidentError):
    """A step the caller may not take, or that the incident's status does not allow; the
    message says why (HTTP 403 for a caller without the right, 409 for the status)."""


class NotAllowedError(StepRefusedError):
    """The caller's role, department or jurisdiction does not allow the step (HTTP 403)."""


class WrongStatusError(StepRefusedError):
    """The incident is not in a status the step starts from, or changed meanwhile
    (HTTP 409)."""
