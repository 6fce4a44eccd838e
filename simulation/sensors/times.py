"""SensorThings times: ISO 8601 text to microseconds since the epoch (UTC) and back."""

from __future__ import annotations

from datetime import UTC, datetime

from simulation.sensors.errors import SensorInputError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 time that names its zone ('Z', +08:00)."""
    if not isinstance(text, str):
        raise SensorInputError(f"a time must be ISO 8601 text, not {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SensorInputError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise SensorInputError(f"time {text!r} has no time zone: add 'Z' or an offset")
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_interval(text: str) -> tuple[int, int | None]:
    """A time ``t`` as ``(t, None)``, an interval ``a/b`` as ``(a, b)`` (``a <= b``)."""
    if not isinstance(text, str):
        raise SensorInputError(f"a time must be ISO 8601 text, not {type(text).__name__}")
    if "/" not in text:
        return parse_time(text), None
    first, _, second = text.partition("/")
    start, end = parse_time(first), parse_time(second)
    if end < start:
        raise SensorInputError(f"interval {text!r} ends before it starts")
    return start, end


def format_time(us: int) -> str:
    """``2026-12-03T08:00:00.123Z``: the ISO 8601 text of a time (milliseconds kept)."""
    seconds, micro = divmod(us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    return text + "Z"


def format_interval(start: int | None, end: int | None) -> str | None:
    """A time, an interval ``a/b``, or None when there is no start."""
    if start is None:
        return None
    if end is None or end == start:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"
