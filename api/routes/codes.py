"""The shipped code lists (``data/codes``) the viewer names things with: IFC classes, property
sets and their common properties, building uses, and the catalogue of server messages.

Public like the viewer's own files: they are reference data, not city data.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.errors import FileNotServedError
from cim.data import read_json

router = APIRouter(prefix="/api", tags=["codes"])

#: The lists served, by the name in the URL.
CODE_LISTS = {
    "classes": "codes/classes.json",
    "ifc_properties": "codes/ifc_properties.json",
    "uses": "codes/uses.json",
    "messages": "codes/messages.json",
}


@router.get("/codes/{name}")
def code_list(name: str, response: Response) -> Any:
    """One code list, as shipped (``classes``, ``ifc_properties``, ``uses``, ``messages``)."""
    if name not in CODE_LISTS:
        known = ", ".join(CODE_LISTS)
        raise FileNotServedError(f"no code list {name[:40]!r}: the lists are {known}")
    response.headers["Cache-Control"] = "max-age=3600"
    return read_json(CODE_LISTS[name])
