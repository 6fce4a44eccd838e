"""Parameters and answers shared by the Open311 routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query

FormatPath = Annotated[str, Path(description="xml or json")]
LangQuery = Annotated[str | None, Query(description="zh or en (default: Accept-Language, else zh)")]
IgnoredJurisdiction = Annotated[
    str | None, Query(description="accepted and ignored: the same for every jurisdiction")
]
AcceptLanguage = Annotated[str | None, Header(include_in_schema=False)]
XML_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {}, "application/json": {}}},
    400: {"description": "a bad request: [{code, description}] or <errors>"},
}
