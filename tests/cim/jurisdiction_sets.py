"""Small jurisdiction sets the tests author, in EPSG:4547 metres around Tianhe.

The tree: province and city (2 km squares), county (the inner 1.6 km), two towns splitting
the county west and east, and two villages splitting the west town south and north. The
east town has no villages.
"""

from __future__ import annotations

from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from cim.jurisdictions import RawFeature

X0, Y0 = 430000.0, 2557000.0
PROVINCE, CITY, COUNTY = "440000000000", "440100000000", "440106000000"
WEST, EAST = "440106001000", "440106002000"
SOUTH, NORTH = "440106001001", "440106001002"


def square(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """A box given in metres from the set's origin."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def feature(code: object, shape: BaseGeometry | None, name: object = "a name") -> RawFeature:
    """One feature of a layer."""
    return RawFeature(code, name, shape)


def tree() -> list[RawFeature]:
    """The well-formed tree described above."""
    return [
        feature(PROVINCE, square(-200, -200, 2000, 2000), "广东省"),
        feature(CITY, square(-100, -100, 1900, 1900), "广州市"),
        feature(COUNTY, square(100, 100, 1700, 1700), "天河区"),
        feature(WEST, square(100, 100, 900, 1700), "West town"),
        feature(EAST, square(900, 100, 1700, 1700), "East town"),
        feature(SOUTH, square(100, 100, 900, 900), "South village"),
        feature(NORTH, square(100, 900, 900, 1700), "North village"),
    ]


def replaced(features: list[RawFeature], code: str, shape: BaseGeometry) -> list[RawFeature]:
    """``features`` with the boundary of ``code`` replaced."""
    return [feature(f.code, shape, f.name) if f.code == code else f for f in features]
