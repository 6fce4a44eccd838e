"""A :class:`cim.scope.Scope` as an SQLAlchemy condition on a jurisdiction column."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.orm import InstrumentedAttribute

from cim.scope import Scope


def within(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], scope: Scope
) -> ColumnElement[bool]:
    """Rows whose jurisdiction code is in ``scope`` (NULL only for the unlimited scope)."""
    if scope.unlimited:
        return true()
    prefix = scope.prefix
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < after)
