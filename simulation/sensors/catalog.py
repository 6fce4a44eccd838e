"""Which datastreams, things and features of interest exist, and in which jurisdiction:
what the MQTT broker's access list is made of, and a cheap fingerprint telling when it
must be made again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from cim.ops.database import OpsDatabase
from cim.ops.sensor_tables import Datastream, FeatureOfInterest, Thing
from cim.scope import Scope

_ENTITIES = (Datastream, Thing, FeatureOfInterest)


@dataclass(frozen=True)
class Catalog:
    """Ids with their jurisdiction code: ``(id, jurisdiction)`` pairs in id order."""

    datastreams: tuple[tuple[int, str], ...]
    things: tuple[tuple[int, str], ...]
    features: tuple[tuple[int, str], ...]

    def within(self, scope: Scope) -> CatalogIds:
        """The ids inside ``scope``."""

        def inside(pairs: tuple[tuple[int, str], ...]) -> tuple[int, ...]:
            return tuple(id_ for id_, code in pairs if scope.contains(code))

        return CatalogIds(inside(self.datastreams), inside(self.things), inside(self.features))


@dataclass(frozen=True)
class CatalogIds:
    """The datastream, thing and feature-of-interest ids of one scope."""

    datastreams: tuple[int, ...]
    things: tuple[int, ...]
    features: tuple[int, ...]


def read_catalog(db: OpsDatabase) -> Catalog:
    """Every datastream, thing and feature of interest with its jurisdiction."""
    with db.transaction() as session:
        pairs = [
            tuple((row.id, row.jurisdiction) for row in session.execute(
                select(model.id, model.jurisdiction).order_by(model.id)
            ))
            for model in _ENTITIES
        ]  # fmt: skip
    return Catalog(*pairs)


def catalog_fingerprint(db: OpsDatabase) -> tuple[object, ...]:
    """Counts and largest ids of the catalog's tables: changes when one is added or deleted
    (a change of jurisdiction alone is seen through the app's ``"entity"`` events)."""
    with db.transaction() as session:
        rows = [
            session.execute(select(func.count(), func.max(model.id))).one() for model in _ENTITIES
        ]
    return tuple(value for row in rows for value in row)
