"""Settings of the server and the command line, read from ``CIMTWIN_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

VIEWER_DIST = Path(__file__).resolve().parent.parent / "viewer" / "dist"


class Settings(BaseSettings):
    """Where the city lives and how to serve it."""

    model_config = SettingsConfigDict(env_prefix="CIMTWIN_")

    city: Path = Path("city")
    host: str = "127.0.0.1"
    port: int = 8000
    viewer_dir: Path = VIEWER_DIST
    # Largest upload to POST /api/imports, all files of a request together.
    max_upload_mb: float = 2048.0
    # Largest body of any other request (JSON queries and statistics areas).
    max_body_mb: float = 8.0
    # Start the city's job worker process with the server (false: it runs on its own,
    # `cimtwin worker --city DIR`).
    worker: bool = True
    # Signs the access tokens (HS256): at least 32 random characters. `cimtwin serve`
    # refuses to start without one; `cimtwin demo` makes one for its city.
    secret_key: SecretStr | None = None
    access_token_minutes: float = 15.0
    refresh_token_hours: float = 24.0 * 7
    # The operational database (users, keys, audit): default an SQLite file in the city
    # folder; a postgresql:// URL for a server database.
    database_url: str | None = None
    # Sign-in throttling: this many failures for one user name (or per_client from one
    # address) within the window answer 429 until the oldest failure leaves it.
    signin_max_failures: int = 5
    signin_max_failures_per_client: int = 20
    signin_window_seconds: float = 900.0
    # Tiles, terrain and imagery readable without signing in (the API's attributes never
    # are). Off by default; `cimtwin demo` turns it on for its own server.
    anonymous_read: bool = False
    # Open311 GeoReport v2: anonymous callers may list the service requests citizens made
    # (the standard's GET requests needs no key; contact details are never shown).
    open311_public: bool = True
    # Hardening: limits of the child process that parses an import (address space in MiB,
    # wall-clock seconds); writes allowed per client address and per principal (N/second,
    # N/minute or N/hour; empty: no limit); origins allowed to call the API from another
    # site (comma-separated; empty: same origin only); HSTS when served over https.
    import_memory_mb: float = 4096.0
    import_timeout_s: float = 1800.0
    write_rate: str = "30/minute"
    cors_origins: str = ""
    https: bool = False
    # MQTT (SensorThings' MQTT extension), for `cimtwin serve` and `cimtwin demo`: "auto"
    # runs Mosquitto (when installed) beside the server on mqtt_port of 127.0.0.1 (and MQTT
    # over WebSocket on mqtt_websockets_port unless 0); "off"; or
    # mqtt://user:password@host:port of a broker the operator runs.
    mqtt: str = "auto"
    mqtt_port: int = 1883
    mqtt_websockets_port: int = 0
    # The closed loop: the largest photo attached to an incident, and how often overdue
    # incidents are escalated (seconds; 0: never).
    max_photo_mb: float = 10.0
    escalation_seconds: float = 30.0
    # Events the hub keeps so that a stream reopened with Last-Event-ID gets what it missed.
    event_replay: int = Field(default=20_000, ge=0)
    # Alert rules: how often silent rules are checked (seconds).
    silence_check_seconds: float = 30.0
    # Live simulations: the observed properties (names or definitions, comma-separated)
    # whose pollution field is recomputed as observations arrive, at most every
    # field_refresh_seconds; an alert on a property whose name or definition holds one of
    # flood_properties recomputes the flood.
    live_fields: str = "PM2.5"
    field_refresh_seconds: float = Field(default=300.0, ge=0)
    flood_properties: str = "water level"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
