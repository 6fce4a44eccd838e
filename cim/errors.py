"""Errors raised by the domain core."""


class CimError(Exception):
    """Root of every error raised by :mod:`cim`."""


class CityNotFoundError(CimError):
    """The city folder does not exist or holds no city store."""


class CityExistsError(CimError):
    """A city store already exists where a new one was asked for."""


class ObjectNotFoundError(CimError):
    """No city object has the requested id."""


class CrsError(CimError):
    """A coordinate reference system is unknown or unusable."""


class OriginError(CimError):
    """A user-given origin is malformed, not finite or outside its CRS's area of use."""


class NotAStoreError(CimError):
    """A file where the city store should be is not one (not SQLite, not a CIMTwin store)."""


class StoreBusyError(CimError):
    """The city store stayed locked by another writer past the busy timeout."""


class AreaError(CimError):
    """A requested area is malformed, not finite, out of range or too complex."""


class QueryError(CimError):
    """A query's parameters are unusable (a bounding box with NaN, inverted corners...)."""


class JurisdictionCodeError(CimError):
    """A jurisdiction code is not a well-formed 12-digit statistical division code."""


class OutsideScopeError(CimError):
    """A write would add, replace or remove objects outside the writer's jurisdiction."""


class RunNotFoundError(CimError):
    """No simulation run has the requested id (or it lies outside the caller's scope), or
    the run has no layer of the requested name."""


class InvalidResultError(CimError):
    """A simulation result cannot be stored as it is (a bad layer name, two layers of one
    name, a raster that is not 2-D)."""
