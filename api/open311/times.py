"""W3C date-times (the subset of ISO 8601 in the W3C note Open311 uses) to and from
microseconds since the epoch, UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from api.errors import Open311RequestError

_US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# YYYY, YYYY-MM or YYYY-MM-DD: a day (or month, or year) starting at midnight UTC.
_DATE = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?")


def parse_w3c(text: str, field: str) -> int:
    """Microseconds since the epoch of a W3C date-time; a time must name its zone (``Z`` or
    ``+08:00``), a bare date is midnight UTC. 400 naming ``field`` otherwise."""
    text = text.strip()
    date = _DATE.fullmatch(text)
    try:
        if date is not None:
            moment = datetime(int(date["year"]), int(date["month"] or 1), int(date["day"] or 1),
                              tzinfo=UTC)  # fmt: skip
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or (date is None and "T" not in text):
        raise Open311RequestError(
            f"{field} {text!r} is not a W3C date-time such as 2010-01-01T00:00:00Z"
        )
    if moment.tzinfo is None:
        raise Open311RequestError(f"{field} {text!r} has no time zone: add Z or an offset")
    return us_of(moment)


def us_of(moment: datetime) -> int:
    """Microseconds since the epoch of an aware ``datetime``."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def w3c_time(us: int | None) -> str | None:
    """``2010-01-01T00:00:00Z``: a time to the second, in UTC (None stays None)."""
    if us is None:
        return None
    return datetime.fromtimestamp(us // _US, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
