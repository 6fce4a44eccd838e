"""What the app's authentication needs: settings, the secret, the database, a clock.

:func:`install` gives each app an :class:`AuthState` built from the settings; the
command line's ``serve`` and the tests call :func:`configure` to set the secret (and a
clock). The operational database opens at first use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request

from api.auth.clock import Clock, utc_now
from api.auth.secret import check_secret
from api.settings import Settings, get_settings
from cim.ops import OpsDatabase, database_url


@dataclass(frozen=True)
class AuthConfig:
    """Token lifetimes and sign-in throttling."""

    access_lifetime: timedelta = timedelta(minutes=15)
    refresh_lifetime: timedelta = timedelta(days=7)
    max_failures: int = 5
    max_failures_per_client: int = 20
    failure_window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        """The configuration the ``CIMTWIN_*`` settings give."""
        return cls(
            access_lifetime=timedelta(minutes=settings.access_token_minutes),
            refresh_lifetime=timedelta(hours=settings.refresh_token_hours),
            max_failures=settings.signin_max_failures,
            max_failures_per_client=settings.signin_max_failures_per_client,
            failure_window=timedelta(seconds=settings.signin_window_seconds),
        )


@dataclass
class AuthState:
    """One app's authentication: its secret (None: not set), config, database URL, clock."""

    secret: str | None
    config: AuthConfig
    url: str
    clock: Clock = utc_now
    _db: OpsDatabase | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def signing_key(self) -> str:
        """The secret, checked (an app without one cannot sign or read tokens)."""
        return check_secret(self.secret)

    def ensure_secret(self) -> None:
        """Refuse (:class:`~api.errors.InsecureSecretError`) when there is no good secret."""
        check_secret(self.secret)

    @property
    def db(self) -> OpsDatabase:
        """The operational database, opened (and migrated) at first use, with the SQL
        functions SensorThings' spatial filters call on SQLite."""
        with self._lock:
            if self._db is None:
                from simulation.sensors.filter import register_sqlite_functions

                self._db = OpsDatabase.open(self.url)
                # the geo functions of SensorThings' $filter, on every SQLite connection
                register_sqlite_functions(self._db.engine)
            return self._db

    def close(self) -> None:
        """Close the database if it was opened."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def state_from_settings(city_dir: Path, settings: Settings) -> AuthState:
    """An app's state as the settings give it; a secret that is set must be a good one."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    if secret is not None:
        check_secret(secret)
    return AuthState(
        secret, AuthConfig.from_settings(settings), database_url(city_dir, settings.database_url)
    )


def configure(
    app: FastAPI,
    *,
    secret: str | None = None,
    clock: Clock | None = None,
    config: AuthConfig | None = None,
    url: str | None = None,
) -> AuthState:
    """Set an app's secret, clock, configuration or database URL; the new state."""
    state = auth_state_of(app)
    if secret is not None:
        check_secret(secret)
    changes: dict[str, object] = {
        key: value
        for key, value in (("secret", secret), ("clock", clock), ("config", config), ("url", url))
        if value is not None
    }
    if url is not None:
        state.close()
    new = replace(state, **changes)  # type: ignore[arg-type]
    app.state.auth = new
    return new


def auth_state_of(app: FastAPI) -> AuthState:
    """The app's state, built from the settings at first use."""
    state: AuthState | None = getattr(app.state, "auth", None)
    if state is None:
        state = state_from_settings(app.state.city_dir, get_settings())
        app.state.auth = state
    return state


def auth_state(request: Request) -> AuthState:
    """The state of the app serving ``request`` (a dependency)."""
    return auth_state_of(request.app)
