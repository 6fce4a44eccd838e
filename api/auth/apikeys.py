"""API keys: ``ck_<id>_<secret>``, the id to find the key, the secret checked by its hash."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from api.auth.tokens import new_opaque_token, token_hash
from api.mqtt.credentials import mosquitto_hash

PREFIX = "ck_"
_KEY = re.compile(r"ck_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})")


@dataclass(frozen=True)
class NewKey:
    """A key as made: its id, the full key to hand out once, the hash of its secret to
    store, and the whole key hashed for the MQTT broker's password file."""

    id: str
    key: str
    secret_hash: str
    mqtt_hash: str | None = None


def make_key() -> NewKey:
    """A new random key."""
    key_id = secrets.token_hex(6)
    secret = new_opaque_token()
    key = f"{PREFIX}{key_id}_{secret}"
    return NewKey(key_id, key, token_hash(secret), mosquitto_hash(key))


def looks_like_key(credential: str) -> bool:
    """Whether a credential is meant as an API key (rather than a JWT)."""
    return credential.startswith(PREFIX)


def parse_key(key: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed key, else None."""
    match = _KEY.fullmatch(key)
    return None if match is None else (match.group(1), match.group(2))


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether ``secret`` hashes to ``stored_hash`` (compared in constant time)."""
    return hmac.compare_digest(token_hash(secret), stored_hash)
