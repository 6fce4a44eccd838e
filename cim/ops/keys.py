"""API keys of devices and integrations: a jurisdiction and the actions the key may perform.

Only a hash of the key's secret is stored; the key itself is shown once, when made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from cim.ops.database import OpsDatabase
from cim.ops.errors import AccountNotFoundError, OpsError
from cim.ops.models import ApiKey
from cim.scope import check_code


@dataclass(frozen=True)
class KeyRecord:
    """A stored API key (``secret_hash`` is left out of its repr)."""

    id: str
    name: str
    jurisdiction: str
    actions: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    secret_hash: str = field(repr=False)
    mqtt_hash: str | None = field(default=None, repr=False)

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None


def add_key(
    db: OpsDatabase,
    key_id: str,
    *,
    secret_hash: str,
    name: str,
    jurisdiction: str,
    actions: Iterable[str],
    now: datetime,
    mqtt_hash: str | None = None,
) -> KeyRecord:
    """Store a new key (``mqtt_hash``: the whole key hashed for the MQTT broker's password
    file; without it the key cannot connect to the broker)."""
    check_code(jurisdiction)
    action_list = sorted(set(actions))
    if not action_list:
        raise OpsError(f"API key {name!r} needs at least one action")
    if not name.strip():
        raise OpsError("an API key needs a name (what uses it)")
    with db.transaction() as session:
        key = ApiKey(
            id=key_id,
            secret_hash=secret_hash,
            name=name,
            jurisdiction=jurisdiction,
            actions=action_list,
            created_at=now,
            revoked_at=None,
            mqtt_hash=mqtt_hash,
        )
        session.add(key)
        session.flush()
        return _record(key)


def find_key(db: OpsDatabase, key_id: str) -> KeyRecord | None:
    """The key of id ``key_id`` (revoked or not), or None."""
    with db.transaction() as session:
        key = session.get(ApiKey, key_id)
        return None if key is None else _record(key)


def list_keys(db: OpsDatabase) -> list[KeyRecord]:
    """Every key, oldest first."""
    with db.transaction() as session:
        return [_record(k) for k in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]


def revoke_key(db: OpsDatabase, key_id: str, now: datetime) -> KeyRecord:
    """Revoke a key (a second revocation keeps the first time)."""
    with db.transaction() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise AccountNotFoundError(f"no API key has the id {key_id!r}")
        if key.revoked_at is None:
            key.revoked_at = now
        return _record(key)


def keys_fingerprint(db: OpsDatabase) -> tuple[object, ...]:
    """How many keys there are, how many are revoked, how many have an MQTT hash: changes
    whenever a key is added or revoked."""
    with db.transaction() as session:
        row = session.execute(
            select(func.count(), func.count(ApiKey.revoked_at), func.count(ApiKey.mqtt_hash))
        ).one()
    return tuple(row)


def _record(key: ApiKey) -> KeyRecord:
    return KeyRecord(
        id=key.id,
        name=key.name,
        jurisdiction=key.jurisdiction,
        actions=tuple(key.actions),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        secret_hash=key.secret_hash,
        mqtt_hash=key.mqtt_hash,
    )
