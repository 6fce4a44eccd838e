"""The tables of the operational database, as SQLAlchemy 2 typed declarative models.

The migrations in :mod:`cim.ops.migrations` create exactly these tables (a test compares
them); change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A time stored in UTC and read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give the time in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# An integer key that autoincrements on both backends (SQLite needs INTEGER for it).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """The declarative base: the naming convention and the Python-to-column type map."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        list[str]: JSON,
        dict[str, Any]: JSON,
    }


class User(Base):
    """A person who signs in: one jurisdiction node, some roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    roles: Mapped[list[str]]
    # the department the user works for (data/codes/departments.json), None for most users:
    # only a department's staff handle the incidents dispatched to it
    department: Mapped[str | None] = mapped_column(String(40))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKey(Base):
    """A device's or an integration's key: a jurisdiction and the actions it may perform."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    actions: Mapped[list[str]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # the key's secret hashed as Mosquitto's password file wants it (PBKDF2-SHA512), so the
    # broker can check a device's key; None for keys made before MQTT
    mqtt_hash: Mapped[str | None] = mapped_column(String(255))


class SignInSession(Base):
    """One sign-in of a user, from the password to logout; its refresh tokens rotate."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    """A refresh token of a session, stored as its SHA-256; used once, then replaced."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sign_in_sessions.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInFailure(Base):
    """A failed sign-in, counted per user name and per client address to slow guessing."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    client: Mapped[str | None] = mapped_column(String(64), index=True)


class AuditEntry(Base):
    """One line of the append-only audit log (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    jurisdiction: Mapped[str | None] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    action: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]


# The sensing tables share this metadata (the migrations and their comparison see them).
from cim.ops import incident_tables as _incident_tables  # noqa: E402, F401
from cim.ops import sensor_tables as _sensor_tables  # noqa: E402, F401
