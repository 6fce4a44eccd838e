"""Access tokens (short-lived HS256 JWTs) and opaque random tokens stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
CLAIMS = ("sub", "jurisdiction", "roles", "sid", "exp", "iat", "jti")


class TokenError(ValueError):
    """An access token that is malformed, badly signed or expired."""


@dataclass(frozen=True)
class AccessClaims:
    """What an access token says."""

    subject: str
    jurisdiction: str
    roles: tuple[str, ...]
    session_id: str
    issued_at: datetime
    expires_at: datetime
    token_id: str


def issue_access_token(
    secret: str,
    *,
    subject: str,
    jurisdiction: str,
    roles: tuple[str, ...],
    session_id: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """A signed access token for a user's session."""
    claims = {
        "sub": subject,
        "jurisdiction": jurisdiction,
        "roles": list(roles),
        "sid": session_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str, now: datetime) -> AccessClaims:
    """The claims of ``token`` if its signature is good and it has not expired at ``now``.

    The expiry is checked against ``now`` (the app's clock) rather than PyJWT's own.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": list(CLAIMS), "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid access token ({exc})") from None
    try:
        read = AccessClaims(
            subject=str(claims["sub"]),
            jurisdiction=str(claims["jurisdiction"]),
            roles=tuple(str(r) for r in claims["roles"]),
            session_id=str(claims["sid"]),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), now.tzinfo),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), now.tzinfo),
            token_id=str(claims["jti"]),
        )
    except (TypeError, ValueError, OverflowError):
        raise TokenError("invalid access token (malformed claims)") from None
    if read.expires_at <= now:
        raise TokenError("the access token has expired")
    return read


def new_opaque_token() -> str:
    """A random token (refresh tokens, key secrets): 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A random session id."""
    return uuid.uuid4().hex


def token_hash(token: str) -> str:
    """The stored form of a random token: its SHA-256 (the token has 256 bits of entropy)."""
    return hashlib.sha256(token.encode()).hexdigest()
