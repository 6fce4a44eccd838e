"""The API description as OpenAPI 3.0, which OGC API - Features clients expect.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12). This rewrites the few constructs 3.0
lacks: ``anyOf`` with ``null`` becomes ``nullable``, ``const`` an ``enum``, ``examples``
an ``example``, ``contentMediaType`` a binary format, numeric ``exclusiveMinimum`` and
``exclusiveMaximum`` the 3.0 booleans.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

OPENAPI_VERSION = "3.0.3"


def install(app: FastAPI) -> None:
    """Make ``app`` serve its description as OpenAPI 3.0 at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary,
                description=app.description, routes=app.routes,
            )  # fmt: skip
            schema["openapi"] = OPENAPI_VERSION
            summary = schema["info"].pop("summary", None)  # 3.0 info has no summary
            if summary and not schema["info"].get("description"):
                schema["info"]["description"] = summary
            app.openapi_schema = downgrade(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def downgrade(node: Any) -> Any:
    """Rewrite a 3.1 schema tree into 3.0 terms, recursively."""
    if isinstance(node, list):
        return [downgrade(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: downgrade(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        nulls = ({"type": "null"}, {"nullable": True})  # the latter: already rewritten
        if isinstance(options, list) and any(option in nulls for option in options):
            rest = [option for option in options if option not in nulls]
            del node[key]
            node["nullable"] = True
            if len(rest) == 1:
                node.update({k: v for k, v in rest[0].items() if k not in node})
            else:
                node[key] = rest
    if "contentMediaType" in node:
        node.pop("contentMediaType")
        node["format"] = "binary"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list) and "properties" not in node.get("examples", []):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain], node[bound] = value, True
    if node.get("type") == "null":
        node.pop("type")
        node["nullable"] = True
    return node
