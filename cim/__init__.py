"""The domain core of CIMTwin: city objects, coordinates, geometry and the city store."""

from cim.errors import CimError

__all__ = ["CimError"]
