"""Errors raised while reading BIM models."""


class BimError(Exception):
    """Root of every error raised by :mod:`bim`."""


class IfcReadError(BimError):
    """The file is missing, is not IFC, is truncated or has an unsupported schema."""


class GeoreferenceError(BimError):
    """The model cannot be placed on the map with what the file and the user give."""
