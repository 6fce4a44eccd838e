"""What-if models over the city model and its live state: flood, sunlight, zoning, fields.

Each model module defines ``MODEL``; :func:`model` and :func:`models` find them by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from simulation.models.errors import UnknownModelError

if TYPE_CHECKING:  # the spec needs pydantic: importing an error of a model must not load it
    from simulation.models.spec import ModelSpec

#: Model name -> the module that defines its ``MODEL``.
MODULES: dict[str, str] = {
    "flood": "simulation.models.flood",
    "sunlight": "simulation.models.sunlight",
    "zoning": "simulation.models.zoning",
    "pollution": "simulation.models.pollution",
}


def model(name: str) -> ModelSpec:
    """The model called ``name``.

    Raises
    ------
    UnknownModelError
        When no model has that name (the message lists those that exist).
    """
    module = MODULES.get(name)
    if module is None:
        raise UnknownModelError(f"no simulation model {name!r}; models: {', '.join(MODULES)}")
    spec: ModelSpec = importlib.import_module(module).MODEL
    return spec


def models() -> list[ModelSpec]:
    """Every model, in the order of :data:`MODULES`."""
    return [model(name) for name in MODULES]
