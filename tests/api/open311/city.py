"""An Open311 test city: the scoped city's two towns of Tianhe, an app on it with a
settable clock, API keys of the towns, points inside them, and photos."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from api.app import create_app
from api.auth.apikeys import make_key
from api.auth.state import auth_state_of, configure
from cim.crs import transformer
from cim.ops import keys
from tests.conftest import LOCAL_CRS
from tests.scoped_city import PLACES, ScopedCity

V2 = "/open311/v2"
START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The app's clock, moved by the tests."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open311_app(city: ScopedCity, clock: Clock) -> FastAPI:
    """The app serving ``city`` with ``clock``."""
    app = create_app(city.folder, worker=False)
    configure(app, clock=clock)
    return app


def api_key(app: FastAPI, jurisdiction: str, actions: tuple[str, ...] = ("report",)) -> str:
    """A new API key of ``jurisdiction`` that may perform ``actions``."""
    state = auth_state_of(app)
    new = make_key()
    keys.add_key(state.db, new.id, secret_hash=new.secret_hash, name="citizen app",
                 jurisdiction=jurisdiction, actions=actions, now=state.clock())  # fmt: skip
    return new.key


def lonlat(place: str, dx: float = 10.0, dy: float = 10.0) -> tuple[float, float]:
    """Longitude and latitude (WGS84) of a point near the building of ``place`` (A, B, far)."""
    x, y = PLACES[place]
    lon, lat = transformer(LOCAL_CRS, "EPSG:4326").transform(x + dx, y + dy)
    return float(lon), float(lat)


def png_bytes() -> bytes:
    """A valid 1 x 1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
