"""Errors of the interface layer and the one table that turns domain errors into HTTP codes."""

from __future__ import annotations

from bim.errors import BimError, GeoreferenceError, IfcReadError
from cim.errors import (
    AreaError,
    CimError,
    CityExistsError,
    CityNotFoundError,
    CrsError,
    InvalidResultError,
    JurisdictionCodeError,
    NotAStoreError,
    ObjectNotFoundError,
    OriginError,
    OutsideScopeError,
    RunNotFoundError,
    StoreBusyError,
)
from cim.ops.errors import AccountExistsError, AccountNotFoundError
from simulation.errors import SimulationError
from simulation.incidents.errors import (
    IncidentInputError,
    IncidentNotFoundError,
    NotAllowedError,
    WrongStatusError,
)
from simulation.models.errors import ModelError, ParametersError, UnknownModelError
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from tiles.errors import NothingToTileError, TilesError, TilingBusyError


class ApiError(Exception):
    """Root of every error raised by :mod:`api` itself."""


class ViewerNotBuiltError(ApiError):
    """The viewer's static files are missing."""


class UploadRejectedError(ApiError):
    """An upload is not what the endpoint takes (file name, form field)."""


class UploadTooLargeError(ApiError):
    """An upload is larger than the server's limit (``CIMTWIN_MAX_UPLOAD_MB``)."""


class JobNotFoundError(ApiError):
    """No background job has the requested id."""


class TilingAfterImportError(ApiError):
    """Files were imported but the tiling after them failed; ``result`` holds the reports."""

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class WorkerBusyError(ApiError):
    """Another job worker already runs for this city."""


class FileNotServedError(ApiError):
    """No file of the requested name is served here (missing, outside the folder, bad name)."""


class NoGeometryError(ApiError):
    """The object asked about has no footprint, so it has no extent or area."""


class NotAuthenticatedError(ApiError):
    """No credentials, or credentials that are bad, expired or revoked (answered with
    ``WWW-Authenticate: Bearer``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ApiError):
    """The caller is known but its roles (or its key's actions) do not allow the action."""


class TooManySignInsError(ApiError):
    """Too many failed sign-ins for a user name or from an address; retry after a while."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class AccountInputError(ApiError):
    """A new account's details are unusable (unknown role or action, weak password)."""


class StreamFilterError(ApiError):
    """An event stream's filter is unusable (an unknown kind or category, a bad box)."""


class Open311RequestError(ApiError):
    """An Open311 GeoReport v2 request misses a field or has a value the standard or the
    service's definition does not allow."""


class Open311NotFoundError(Open311RequestError):
    """No Open311 service has the requested ``service_code``."""


class InsecureSecretError(ApiError):
    """The token-signing secret is missing, too short or a well-known default."""


# Most specific first: the first matching class decides the status code.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (ObjectNotFoundError, 404),
    (NotAuthenticatedError, 401),
    (ForbiddenError, 403),
    (TooManySignInsError, 429),
    (AccountNotFoundError, 404),
    (AccountExistsError, 409),
    (AccountInputError, 422),
    (StreamFilterError, 422),
    (Open311NotFoundError, 404),
    (Open311RequestError, 400),
    (JobNotFoundError, 404),
    (FileNotServedError, 404),
    (NoGeometryError, 404),
    (AreaError, 422),
    (UploadTooLargeError, 413),
    (UploadRejectedError, 422),
    (CityNotFoundError, 404),
    (RunNotFoundError, 404),
    (InvalidResultError, 500),
    (CityExistsError, 409),
    (CrsError, 400),
    (OriginError, 422),
    (JurisdictionCodeError, 422),
    (OutsideScopeError, 403),
    (StoreBusyError, 503),
    (NotAStoreError, 500),
    (IfcReadError, 422),
    (GeoreferenceError, 422),
    (NothingToTileError, 409),
    (BimError, 422),
    (TilingBusyError, 409),
    (TilesError, 500),
    (CimError, 400),
    (EntityNotFoundError, 404),
    (SensorInputError, 400),
    (IncidentNotFoundError, 404),
    (NotAllowedError, 403),
    (WrongStatusError, 409),
    (IncidentInputError, 422),
    (UnknownModelError, 404),
    (ParametersError, 422),
    (ModelError, 422),
    (ApiError, 500),
)

DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    CimError,
    BimError,
    TilesError,
    SimulationError,
    ApiError,
)


def status_for(error: Exception) -> int:
    """The HTTP status for a domain error."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500
