"""Errors raised while tiling a city."""


class TilesError(Exception):
    """Root of every error raised by :mod:`tiles`."""


class TilingBusyError(TilesError):
    """Another tiling of the same city is running."""


class NothingToTileError(TilesError):
    """The city has no geometry to tile."""
