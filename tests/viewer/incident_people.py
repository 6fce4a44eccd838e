"""The people and requests of the incident browser tests: accounts of the served app (a
stored session for their pages, a bearer header for their HTTP calls), incidents reported
and stepped through the API, observations sent as a device sends them, small PNG photos."""

from __future__ import annotations

import secrets
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any

import httpx

from simulation.sensors.times import format_time
from tests.viewer.conftest import APPS, session_of

HUACHENG = "440106001000"  # a town (street) of Tianhe in the demo jurisdictions


@dataclass(frozen=True)
class Account:
    """A user of the served app: its name, the session its page holds, its header."""

    name: str
    session: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session['accessToken']}"}


def account(url: str, role: str, jurisdiction: str = HUACHENG, **more: Any) -> Account:
    """A new user of the app served at ``url`` with ``role`` (and e.g. ``department``)."""
    name = f"{role}-{secrets.token_hex(3)}"
    session = session_of(APPS[url], name=name, roles=(role,), jurisdiction=jurisdiction, **more)
    return Account(name, session)


def png(rgb: tuple[int, int, int], size: int = 24) -> bytes:
    """A small PNG of one colour (written by hand: no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))  # fmt: skip


def report(url: str, who: Account, **fields: Any) -> dict[str, Any]:
    """Report an incident through the API (multipart, as the page does); its JSON."""
    data = {"description": "", **{k: str(v) for k, v in fields.items()}}
    answer = httpx.post(f"{url}/api/incidents", data=data, headers=who.headers, timeout=30)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def step(url: str, who: Account, incident: Any, action: str, **fields: Any) -> httpx.Response:
    """Take ``action`` on ``incident`` through the API (the answer, refused or not)."""
    data = {"action": action, **{k: str(v) for k, v in fields.items()}}
    return httpx.post(
        f"{url}/api/incidents/{incident}/steps", data=data, headers=who.headers, timeout=30
    )


def walk(url: str, incident: Any, steps: list[tuple[Account, str, dict[str, Any]]]) -> None:
    """Take each (who, action, fields) in turn; each must be accepted."""
    for who, action, fields in steps:
        answer = step(url, who, incident, action, **fields)
        assert answer.status_code in (200, 201), (action, answer.text)


def observe(url: str, who: Account, datastream: int, value: float) -> None:
    """Send a value now through SensorThings, as a device does."""
    body = {"result": value, "phenomenonTime": format_time(time.time_ns() // 1000),
            "Datastream": {"@iot.id": datastream}}  # fmt: skip
    answer = httpx.post(f"{url}/sta/v1.1/Observations", json=body, headers=who.headers, timeout=30)
    assert answer.status_code == 201, answer.text
