"""Errors raised while tiling a city."""


class TilesError(Exception):
    """Root of every error raised by :mod:`tiles`."""


class NothingToTileError(TilesError):
    """The city has no geometry to tile."""
