"""The broker's password and ACL files, made from the API keys and the datastreams.

Devices connect with their API key: user name = the key's id, password = the whole key
(``ck_<id>_<secret>``). The password file holds the server's own user (a random password
per run) and every unrevoked key that has a Mosquitto hash (keys made since MQTT came).
The ACL file lets the server's user read and write ``v1.1/#``; a key with the ``observe``
action may publish to ``v1.1/Datastreams(<id>)/Observations`` of every datastream of its
jurisdiction; a key with ``observe`` or ``read`` may subscribe to the extension's topics of
the datastreams, things and features of interest of its jurisdiction. Nothing else: the
broker refuses every other publish and subscription.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cim.ops.keys import KeyRecord
from cim.scope import Scope
from simulation.sensors.catalog import Catalog

# Mosquitto 2.0's password file: "$7$" = PBKDF2-HMAC-SHA512, its default 101 iterations, a
# 12-byte salt, both base64 (what `mosquitto_passwd` writes).
HASH_ID = "7"
ITERATIONS = 101
SALT_BYTES = 12
SERVER_USER = "cimtwin-server"
ROOT = "v1.1"
WRITE_ACTION = "observe"
READ_ACTIONS = frozenset({"observe", "read"})


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``password`` hashed as Mosquitto's password file holds it (``$7$...``)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return f"${HASH_ID}${iterations}$" + "$".join(encoded)


def mosquitto_check(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (compared in constant time)."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != HASH_ID or not parts[2].isdigit():
        return False
    salt = base64.b64decode(parts[3])
    return hmac.compare_digest(mosquitto_hash(password, salt, int(parts[2])), stored)


@dataclass(frozen=True)
class ServerUser:
    """The server's own broker account, with a password made for this run."""

    name: str
    password: str
    hashed: str

    @classmethod
    def new(cls) -> ServerUser:
        """A fresh random password."""
        password = secrets.token_urlsafe(32)
        return cls(SERVER_USER, password, mosquitto_hash(password))


def device_keys(keys: Iterable[KeyRecord]) -> list[KeyRecord]:
    """The keys that may connect: unrevoked, with a Mosquitto hash, in id order."""
    return sorted((k for k in keys if not k.revoked and k.mqtt_hash), key=lambda k: k.id)


def password_file(server: ServerUser, keys: Sequence[KeyRecord]) -> str:
    """The text of the broker's password file."""
    lines = [f"{server.name}:{server.hashed}"]
    lines += [f"{key.id}:{key.mqtt_hash}" for key in device_keys(keys)]
    return "\n".join(lines) + "\n"


def acl_file(server: ServerUser, keys: Sequence[KeyRecord], catalog: Catalog) -> str:
    """The text of the broker's ACL file."""
    lines = [f"user {server.name}", f"topic readwrite {ROOT}/#", ""]
    for key in device_keys(keys):
        lines.append(f"user {key.id}")
        lines += _key_topics(key, catalog)
        lines.append("")
    return "\n".join(lines)


def _key_topics(key: KeyRecord, catalog: Catalog) -> list[str]:
    """The ACL lines of one key (none: it may connect but neither publish nor subscribe)."""
    inside = catalog.within(Scope.of(key.jurisdiction))
    writes = WRITE_ACTION in key.actions
    reads = bool(READ_ACTIONS & set(key.actions))
    lines: list[str] = []
    if not reads:
        return lines
    mode = "readwrite" if writes else "read"
    for datastream in inside.datastreams:
        lines.append(f"topic {mode} {ROOT}/Datastreams({datastream})/Observations")
        lines.append(f"topic read {ROOT}/Datastreams({datastream})")
    for thing in inside.things:
        lines.append(f"topic read {ROOT}/Things({thing})")
        lines.append(f"topic read {ROOT}/Things({thing})/Datastreams")
    for feature in inside.features:
        lines.append(f"topic read {ROOT}/FeaturesOfInterest({feature})/Observations")
    return lines


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (readable by its owner only, replaced atomically) unless
    it already holds it; whether it was written."""
    if path.is_file() and path.read_text() == text:
        return False
    temporary = path.with_name(path.name + ".new")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)
    return True
