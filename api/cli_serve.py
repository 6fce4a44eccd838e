"""The commands that serve a city: `serve`, `worker` and `demo` (which builds the demo first)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import CityOption, clear_errors, console, say

if TYPE_CHECKING:
    from api.demo_accounts import DemoAccount


def register(app: typer.Typer) -> None:
    """Add the serving commands to ``app``."""
    app.command()(serve)
    app.command()(worker)
    app.command()(demo)


HostOption = Annotated[
    str | None, typer.Option(help="Interface to listen on (default: CIMTWIN_HOST, else 127.0.0.1).")
]
PortOption = Annotated[
    int | None, typer.Option(help="Port to listen on (default: CIMTWIN_PORT, else 8000).")
]


def serve(city: CityOption, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the API, the tiles and the viewer, with the city's job worker beside it.

    With Mosquitto installed, an MQTT broker (SensorThings' MQTT extension) runs beside it
    on 127.0.0.1:1883 (CIMTWIN_MQTT=off: none; CIMTWIN_MQTT_PORT: another port); devices
    connect with user name = their API key's id and password = the key.
    The worker (a process of its own) runs the imports and tilings sent to the API and is
    stopped with the server; set CIMTWIN_WORKER=false to run it apart (`cimtwin worker`).
    Tokens are signed with CIMTWIN_SECRET_KEY: the server refuses to start without one
    (at least 32 random characters, not a well-known default).

    Examples:

        cimtwin serve --city guangzhou   (then open http://127.0.0.1:8000/)
        CIMTWIN_HOST=0.0.0.0 CIMTWIN_PORT=8080 cimtwin serve --city guangzhou
    """
    _serve(city, host, port, demo=False)


def _serve(city: Path, host: str | None, port: int | None, demo: bool) -> None:
    """Serve the city; ``demo``: sign tokens with the demo city's own random secret."""
    import uvicorn

    from api.app import create_app
    from api.auth.secret import check_secret, demo_secret
    from api.auth.state import configure
    from api.settings import get_settings
    from cim.store import CityStore

    settings = get_settings()
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    with clear_errors():
        CityStore.open(city).close()
        configured = settings.secret_key.get_secret_value() if settings.secret_key else None
        secret = demo_secret(city) if demo else check_secret(configured)
        served = create_app(city, anonymous_read=True if demo else None, mqtt=settings.mqtt)
        served.state.demo_sensors = demo
        configure(served, secret=secret)
        say(f"serving {city} on http://{host}:{port}/ (API docs at /docs)")
        _say_mqtt_news()
        uvicorn.run(served, host=host, port=port, log_level="info")


def _say_mqtt_news() -> None:
    """Print what MQTT does as the server starts (the broker's address, or why it is off)
    and the observations it refuses."""
    import logging

    class Say(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            say(record.getMessage())

    logger = logging.getLogger("api.mqtt")
    logger.setLevel(logging.INFO)
    logger.addHandler(Say())


def worker(
    city: CityOption,
    burst: Annotated[
        bool, typer.Option("--burst", help="Run the queued jobs, then exit (for cron or CI).")
    ] = False,
) -> None:
    """Run the city's queued jobs (imports and tilings sent to the API), one at a time.

    `cimtwin serve` starts one beside the server; run it alone when the server runs with
    CIMTWIN_WORKER=false, or on another machine sharing the folder. One worker per city.
    Ctrl-C lets the running job finish; SIGTERM puts it back in the queue.

    Example:

        cimtwin worker --city guangzhou
    """
    import logging

    from api.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with clear_errors():
        run_worker(city, burst=burst, say=lambda line: console.print(line, highlight=False))


def demo(
    city: Annotated[Path, typer.Option("--city", help="Where to build the demo.")] = Path(
        "demo-city"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve it after building.")
    ] = True,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Build a demo district in Guangzhou (EPSG:4547) from authored IFC and serve it.

    Six IFC buildings, streets, parcels and footprints, a DEM and an orthophoto, tiled,
    in the jurisdictions Guangdong > Guangzhou > Tianhe > streets > communities, with one
    account per level (printed at start; the viewer asks for one). Tiles are readable
    without signing in while the demo serves. A second run reuses what the first built.

    Sensors of every kind (water level, PM2.5, strain, occupancy, power, temperature) sit
    in its buildings, storeys, spaces and streets with a day of history; while it serves,
    each gets a new value every 5 seconds, and scripted events (rain in an underpass, a
    heavy convoy on a viaduct, an air-conditioning failure) pass their warning and alarm
    thresholds within the first minutes. `cimtwin sensors list --city demo-city` lists them.

    The closed loop: alert rules on those sensors, and a history of incidents in every
    status (reported by the rules, by citizens through Open311, by inspectors, the 12345
    hotline and operators; registered, dispatched to the district's departments, handled,
    verified and closed by the demo accounts). The flooding underpass opens a new incident
    within the first two minutes; `tianhe` registers and dispatches it to `water`,
    `tianhe_water` takes it up and handles it, `huacheng` verifies it, `tianhe` closes it.

    Examples:

        cimtwin demo   (builds ./demo-city, serves it on http://127.0.0.1:8000/)
        cimtwin demo --city tianhe-demo --no-serve
    """
    from api.demo import build_demo
    from api.demo_accounts import ensure_demo_accounts
    from api.demo_incidents import city_demo_incidents
    from api.demo_sensors import city_demo_sensors

    with clear_errors():
        result = build_demo(city, log=say)
        say(
            f"demo city in {city}: {len(result.imported)} imported, {len(result.reused)} reused,"
            f" tiles {'rebuilt' if result.tiled else 'reused'}"
        )
        accounts, made = ensure_demo_accounts(city)
        city_demo_sensors(city, log=say)
        incidents = city_demo_incidents(city, log=say)
    _print_demo_accounts(accounts, made)
    if incidents.open311_key is not None:
        say(f"the demo's Open311 key (citizens' reports, shown once): {incidents.open311_key}")
    if serve_after:
        _serve(city, host, port, demo=True)


def _print_demo_accounts(accounts: list[DemoAccount], made: list[str]) -> None:
    """The demo's accounts as a table on standard error (with the shared demo password)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="demo accounts (sign in to the viewer with one)", title_justify="left")
    for column in ("user", "name", "level", "jurisdiction", "roles", "department", "password"):
        table.add_column(column)
    for account in accounts:
        new = " (new)" if account.name in made else ""
        table.add_row(account.name + new, account.display_name, account.level,
                      account.jurisdiction, ", ".join(account.roles), account.department or "",
                      account.password)  # fmt: skip
    terminal = Console(stderr=True)
    Console(stderr=True, width=max(terminal.width, 150)).print(table)  # one line per account
