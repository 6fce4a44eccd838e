"""SensorThings resource paths: ``Things``, ``Things(1)``, ``Things(1)/Datastreams``,
``Datastreams(1)/Thing``, ``Things(1)/name``, ``Things(1)/name/$value``,
``Things(1)/Datastreams/$ref``.

An entity set or a navigation property to many may be narrowed to one entity by its id
(an integer); a navigation continues only from one entity. A property, then ``$value``, or
``$ref`` end a path. Unknown names answer 404, malformed ids and misplaced segments 400,
each with a message naming the segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulation.sensors.entities import BY_NAME, BY_PLURAL, EntityType
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.read import Step

_SEGMENT = re.compile(r"(?P<name>[A-Za-z$@.]+)(?:\((?P<id>[^()]*)\))?")
REF = "$ref"
VALUE = "$value"


@dataclass(frozen=True)
class ResourcePath:
    """A parsed path: its steps, and the property, ``$value`` or ``$ref`` ending it."""

    steps: tuple[Step, ...]
    property_name: str | None = None
    value: bool = False
    ref: bool = False

    @property
    def etype(self) -> EntityType:
        """The type of the entities the steps reach."""
        return self.steps[-1].etype

    @property
    def single(self) -> bool:
        """Whether the steps reach one entity rather than a collection."""
        return self.steps[-1].single


def parse_path(text: str) -> ResourcePath:
    """The :class:`ResourcePath` of ``text`` (the part after ``/sta/v1.1/``)."""
    segments = text.strip("/").split("/")
    first = _segment(segments[0])
    name, id_text = first
    etype = BY_PLURAL.get(name)
    if etype is None:
        known = ", ".join(BY_PLURAL)
        raise EntityNotFoundError(f"no entity set {name!r} (the sets are {known})")
    steps = [Step(etype, _id(id_text, name))]
    rest = segments[1:]
    while rest:
        segment, rest = rest[0], rest[1:]
        name, id_text = _segment(segment)
        if name == REF and id_text is None:
            if rest:
                raise SensorInputError(f"$ref must end the path, not precede {'/'.join(rest)!r}")
            return ResourcePath(tuple(steps), ref=True)
        current = steps[-1]
        if not current.single:
            raise SensorInputError(
                f"{segment!r} follows the collection {_label(current)}: address one entity"
                f" first ({_label(current)}(1)/{segment})"
            )
        if current.etype.has_link(name):
            link = current.etype.link(name)
            if id_text is not None and not link.many:
                raise SensorInputError(f"{name} is one entity: it takes no id")
            steps.append(Step(BY_NAME[link.target], _id(id_text, name), link))
            continue
        if id_text is None and (name == "id" or _has_field(current.etype, name)):
            return _property_path(tuple(steps), name, rest)
        raise EntityNotFoundError(
            f"{current.etype.name} has no property or navigation property {name!r}"
        )
    return ResourcePath(tuple(steps))


def _property_path(steps: tuple[Step, ...], name: str, rest: list[str]) -> ResourcePath:
    if not rest:
        return ResourcePath(steps, property_name=name)
    if rest == [VALUE]:
        return ResourcePath(steps, property_name=name, value=True)
    raise SensorInputError(f"only $value may follow the property {name!r}, not {'/'.join(rest)!r}")


def _segment(text: str) -> tuple[str, str | None]:
    found = _SEGMENT.fullmatch(text)
    if found is None:
        raise SensorInputError(f"{text!r} is not a path segment (Name or Name(id))")
    return found["name"], found["id"]


def _id(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise SensorInputError(f"{name}({text}): an entity id is a whole number, such as {name}(1)")
    return int(text)


def _has_field(etype: EntityType, name: str) -> bool:
    return any(candidate.name == name for candidate in etype.fields)


def _label(step: Step) -> str:
    return step.link.name if step.link is not None else step.etype.plural
