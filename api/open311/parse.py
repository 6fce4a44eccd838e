"""What Open311 clients send: the fields of ``POST requests`` (form-encoded or multipart)
and the filters of ``GET requests``, read into plain values (400 naming the problem)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from api.errors import Open311RequestError
from api.open311.services import LIST_TYPES, attributes_of
from api.open311.times import parse_w3c
from simulation.incidents.codes import Category
from simulation.incidents.workflow import STATUSES

# The person submitting a request: kept in the incident's contact, never shown in Open311.
CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "device_id", "account_id")
# The standard limits a description to 4 000 characters.
MAX_DESCRIPTION = 4_000
MAX_FIELD = 500
MAX_URL = 2_000
# GET requests: the standard's default span and volume.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1_000
OPEN311_STATUSES = ("open", "closed")
_DAY_US = 86_400 * 1_000_000
_SCALARS = ("service_code", "lat", "long", "address_string", "address_id", "description",
            "media_url", *CONTACT_FIELDS)  # fmt: skip
_ATTRIBUTE = re.compile(r"attribute\[(?P<code>[^\[\]]+)\](?:\[\])?")


@dataclass(frozen=True)
class ReportForm:
    """The fields of a ``POST requests``."""

    service_code: str
    lat: float | None
    long: float | None
    address_string: str | None
    address_id: str | None
    description: str
    media_url: str | None
    contact: dict[str, str]
    # attribute code -> the values sent (several for a multivaluelist)
    attributes: dict[str, list[str]] = field(default_factory=dict)


def report_form(fields: Iterable[tuple[str, str]]) -> ReportForm:
    """Read a request's text fields (empty ones count as not sent, as the standard says;
    fields it does not name, such as ``api_key`` and ``jurisdiction_id``, are skipped)."""
    scalars: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, raw in fields:
        value = raw.strip()
        found = _ATTRIBUTE.fullmatch(name)
        if found is not None:
            if value:
                attributes.setdefault(found["code"], []).append(value)
            continue
        if name not in _SCALARS or not value:
            continue
        if name in scalars:
            raise Open311RequestError(f"{name} was sent more than once")
        scalars[name] = value
    code = scalars.get("service_code")
    if code is None:
        raise Open311RequestError("service_code was not provided")
    lat, long = _point(scalars.get("lat"), scalars.get("long"))
    address = _limited(scalars, "address_string", MAX_FIELD)
    address_id = _limited(scalars, "address_id", MAX_FIELD)
    if lat is None and address is None and address_id is None:
        raise Open311RequestError(
            "a location was not provided: send lat and long, address_string or address_id"
        )
    return ReportForm(
        service_code=code,
        lat=lat,
        long=long,
        address_string=address,
        address_id=address_id,
        description=_limited(scalars, "description", MAX_DESCRIPTION) or "",
        media_url=_media_url(scalars.get("media_url")),
        contact=_contact(scalars),
        attributes=attributes,
    )


def _contact(scalars: dict[str, str]) -> dict[str, str]:
    contact = {}
    for name in CONTACT_FIELDS:
        text = _limited(scalars, name, MAX_FIELD)
        if text is not None:
            contact[name] = text
    return contact


def _limited(scalars: dict[str, str], name: str, limit: int) -> str | None:
    value = scalars.get(name)
    if value is not None and len(value) > limit:
        raise Open311RequestError(f"{name} is longer than {limit} characters")
    return value


def _point(lat_text: str | None, long_text: str | None) -> tuple[float | None, float | None]:
    if lat_text is None and long_text is None:
        return None, None
    if lat_text is None or long_text is None:
        raise Open311RequestError("lat and long must both be sent")
    lat, long = _number(lat_text, "lat"), _number(long_text, "long")
    if not -90 <= lat <= 90:
        raise Open311RequestError(f"lat {lat_text!r} is not a latitude (-90 to 90, WGS84)")
    if not -180 <= long <= 180:
        raise Open311RequestError(f"long {long_text!r} is not a longitude (-180 to 180, WGS84)")
    return lat, long


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Open311RequestError(f"{name} {text!r} is not a number")
    return value


def _media_url(text: str | None) -> str | None:
    if text is None:
        return None
    parts = urlsplit(text)
    if len(text) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311RequestError(f"media_url {text[:80]!r} is not an http(s) URL")
    return text


def checked_attributes(category: Category, given: dict[str, list[str]]) -> dict[str, Any]:
    """The attribute values of a report, checked against the service's definition: required
    ones present, list values among its keys, numbers and date-times readable, no code it
    does not define. A single value is kept as text, a multivaluelist's as a list."""
    definitions = {entry["code"]: entry for entry in attributes_of(category)}
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        offered = ", ".join(definitions) or "none"
        raise Open311RequestError(
            f"service {category.code!r} has no attribute {unknown[0]!r} (its attributes: {offered})"
        )
    checked: dict[str, Any] = {}
    for code, entry in definitions.items():
        values = given.get(code, [])
        if not values:
            if entry.get("required", False):
                raise Open311RequestError(
                    f"attribute[{code}] is required for service {category.code!r}:"
                    f" {entry.get('description', code)}"
                )
            continue
        checked[code] = _attribute_value(code, entry, values)
    return checked


def _attribute_value(code: str, entry: dict[str, Any], values: list[str]) -> Any:
    datatype = entry["datatype"]
    if datatype != "multivaluelist" and len(values) > 1:
        raise Open311RequestError(f"attribute[{code}] takes one value, {len(values)} were sent")
    if datatype in LIST_TYPES:
        keys = [str(value["key"]) for value in entry["values"]]
        for value in values:
            if value not in keys:
                raise Open311RequestError(
                    f"attribute[{code}] {value!r} is not one of its keys: {', '.join(keys)}"
                )
        return values if datatype == "multivaluelist" else values[0]
    value = values[0]
    if len(value) > MAX_DESCRIPTION:
        raise Open311RequestError(f"attribute[{code}] is longer than {MAX_DESCRIPTION} characters")
    if datatype == "number":
        _number(value, f"attribute[{code}]")
    elif datatype == "datetime":
        _datetime(value, code)
    elif datatype == "string" and ("\n" in value or "\r" in value):
        raise Open311RequestError(f"attribute[{code}] is a string: no line breaks")
    return value


def _datetime(value: str, code: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise Open311RequestError(f"attribute[{code}] {value!r} is not an ISO 8601 date") from None


@dataclass(frozen=True)
class RequestsQuery:
    """The filters of ``GET requests``: ids (which override every other filter), or service
    codes, a range of ``requested_datetime`` and Open311 statuses."""

    ids: tuple[int, ...] | None
    service_codes: tuple[str, ...] | None
    start_us: int
    end_us: int
    statuses: tuple[str, ...] | None

    @property
    def workflow_statuses(self) -> tuple[str, ...] | None:
        """The workflow's statuses the Open311 statuses stand for (None: all)."""
        if self.statuses is None:
            return None
        return tuple(code for code, status in STATUSES.items() if status.open311 in self.statuses)


def requests_query(params: dict[str, list[str]], now_us: int) -> RequestsQuery:
    """Read the filters (each may be repeated or comma-separated) of ``GET requests``;
    without dates the span is the last 90 days, and it may not be longer."""
    ids = _listed(params, "service_request_id")
    codes = _listed(params, "service_code")
    statuses = _listed(params, "status")
    for status in statuses or ():
        if status not in OPEN311_STATUSES:
            raise Open311RequestError(f"status {status!r} is not open or closed")
    start_us, end_us = _span(_single(params, "start_date"), _single(params, "end_date"), now_us)
    return RequestsQuery(
        ids=None if ids is None else tuple(_request_id(text) for text in ids),
        service_codes=None if codes is None else tuple(codes),
        start_us=start_us,
        end_us=end_us,
        statuses=None if statuses is None else tuple(statuses),
    )


def _listed(params: dict[str, list[str]], name: str) -> tuple[str, ...] | None:
    items = [item.strip() for raw in params.get(name, []) for item in raw.split(",")]
    items = [item for item in items if item]
    if len(items) > MAX_REQUESTS:
        raise Open311RequestError(f"{name} lists more than {MAX_REQUESTS} values")
    return tuple(dict.fromkeys(items)) if items else None


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = [value.strip() for value in params.get(name, []) if value.strip()]
    if len(values) > 1:
        raise Open311RequestError(f"{name} was sent more than once")
    return values[0] if values else None


def request_id(text: str) -> int:
    """A ``service_request_id`` (the incident's id; 400 when it cannot be one)."""
    return _request_id(text)


def _request_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise Open311RequestError(f"service_request_id {text!r} is not a request id")
    return int(text)


def _span(start: str | None, end: str | None, now_us: int) -> tuple[int, int]:
    """The range of ``requested_datetime``: as given; from a start, 90 days on (but not past
    now); to an end, the 90 days before; neither: the last 90 days."""
    span = DEFAULT_DAYS * _DAY_US
    start_us = None if start is None else parse_w3c(start, "start_date")
    end_us = None if end is None else parse_w3c(end, "end_date")
    if start_us is None:
        end_us = now_us if end_us is None else end_us
        return end_us - span, end_us
    if end_us is None:
        return start_us, max(start_us, min(start_us + span, now_us))
    if end_us < start_us:
        raise Open311RequestError(f"end_date {end} is before start_date {start}")
    if end_us - start_us > span:
        raise Open311RequestError(
            f"start_date to end_date may not span more than {DEFAULT_DAYS} days"
        )
    return start_us, end_us
