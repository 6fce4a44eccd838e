"""Actors and reports of the incident tests: the staff of two towns of Tianhe, of Tianhe
itself and of Guangzhou, and a minimal photo of each accepted type."""

from __future__ import annotations

import struct
import zlib

from cim.scope import Scope
from simulation.incidents.actors import Actor
from simulation.incidents.records import AttachmentIn, IncidentReport

T0 = 1_796_000_000_000_000
MINUTE = 60_000_000
PROVINCE = "440000000000"
CITY = "440100000000"
COUNTY = "440106000000"
TOWN = "440106001000"
VILLAGE = "440106001001"
OTHER_TOWN = "440106002000"

OPERATOR = frozenset({"read", "import", "observe", "report", "handle", "verify"})
MANAGER = OPERATOR | {"tile", "jurisdictions", "sensors", "dispatch", "rules"}


def person(
    name: str, jurisdiction: str, role: str = "operator", department: str | None = None
) -> Actor:
    """A user of ``jurisdiction`` with the permissions of ``role``."""
    permissions = MANAGER if role == "manager" else OPERATOR
    return Actor(name, "user", jurisdiction, Scope.of(jurisdiction), permissions, department, role)


HUACHENG = person("huacheng", TOWN)  # an inspector of the town
ZHANG = person("zhang", TOWN, "manager")  # the town's command centre
WATER = person("shuiwu", TOWN, department="water")  # the town's water affairs office
ENVIRONMENT = person("huanbao", TOWN, department="environment")
COUNTY_MANAGER = person("tianhe", COUNTY, "manager")
COUNTY_WATER = person("tianhe_water", COUNTY, department="water")
CITY_MANAGER = person("guangzhou", CITY, "manager")
OTHER_MANAGER = person("liwan", OTHER_TOWN, "manager")
VIEWER = Actor("guest", "user", TOWN, Scope.of(TOWN), frozenset({"read"}), None, "viewer")


def report(**changes: object) -> IncidentReport:
    """A waterlogging report in the village (``changes`` replace fields)."""
    fields: dict[str, object] = {
        "category": "waterlogging",
        "title": "Water over the road at the school gate",
        "description": "About 30 cm deep, cars stuck",
        "source": "inspector",
        "jurisdiction": VILLAGE,
        "lon": 113.3612,
        "lat": 23.1247,
    }
    fields.update(changes)
    return IncidentReport(**fields)  # type: ignore[arg-type]


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG image of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# The start of a JFIF file (SOI, APP0) and its end marker: what the type check reads.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def photo(
    name: str = "scene.png", content: bytes | None = None, media_type: str = "image/png"
) -> AttachmentIn:
    """An attachment (a PNG by default)."""
    return AttachmentIn(name, media_type, png_bytes() if content is None else content)
