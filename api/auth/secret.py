"""The token-signing secret: refused when missing, short or a well-known default."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from api.errors import InsecureSecretError
from cim.layout import CityLayout

MIN_LENGTH = 32
# Placeholders found in sample configurations: never a real secret.
KNOWN_DEFAULTS = frozenset(
    {
        "secret",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "default",
        "development",
        "dev",
        "test",
        "password",
        "your-secret-key",
        "secret-key",
        "supersecret",
        "cimtwin",
    }
)
HOW = (
    "set CIMTWIN_SECRET_KEY to at least 32 random characters, e.g. the output of"
    " `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


def check_secret(secret: str | None) -> str:
    """``secret`` when it may sign tokens; otherwise an error saying what to do."""
    if not secret:
        raise InsecureSecretError(f"no secret key to sign tokens with: {HOW}")
    if secret.strip().lower() in KNOWN_DEFAULTS or len(set(secret)) < 8:
        raise InsecureSecretError(f"the secret key is a well-known default: {HOW}")
    if len(secret) < MIN_LENGTH:
        raise InsecureSecretError(
            f"the secret key has {len(secret)} characters, fewer than {MIN_LENGTH}: {HOW}"
        )
    return secret


def demo_secret(city_dir: Path) -> str:
    """The demo city's secret: read from the city folder, or made and stored there (mode 600)."""
    path = CityLayout(city_dir).demo_secret
    if path.is_file():
        stored = path.read_text(encoding="ascii").strip()
        if len(stored) >= MIN_LENGTH:
            return stored
    secret = secrets.token_urlsafe(48)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    partial.replace(path)
    return secret
