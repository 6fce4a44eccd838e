"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import AccountInputError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_hasher = PasswordHasher()


class WeakPasswordError(AccountInputError):
    """A new password is too short or too long."""


def check_strength(password: str) -> str:
    """``password`` when it may be set: at least 10 characters, not only spaces."""
    if len(password) < MIN_LENGTH or not password.strip():
        raise WeakPasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"a password has at most {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of a password that passed :func:`check_strength`."""
    return _hasher.hash(check_strength(password))


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash verified against when the user does not exist, so both cases take as long."""
    return hasher.hash("no such user, no such password")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (None: no such user, still slow)."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(_hasher), password[:MAX_LENGTH])
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
