"""The demo's accounts (``data/demo/accounts.json``): one per level of its jurisdiction
chain, the district's departments, a second street inspector and the 12345 hotline, made in
the demo city's operational database when missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.auth.accounts import create_user
from api.auth.clock import utc_now
from api.settings import get_settings
from cim.data import DataFileError, read_json
from cim.ops import users
from cim.ops.database import OpsDatabase
from cim.scope import Level, level_of
from simulation.incidents.codes import department
from simulation.incidents.errors import IncidentError

ACCOUNTS_FILE = "demo/accounts.json"


@dataclass(frozen=True)
class DemoAccount:
    """A demo user: name, display name, jurisdiction code and level, roles, password and
    the department it works for (None: none)."""

    name: str
    display_name: str
    jurisdiction: str
    level: Level
    roles: tuple[str, ...]
    password: str
    department: str | None = None


def demo_accounts() -> list[DemoAccount]:
    """The accounts ``data/demo/accounts.json`` defines, province first."""
    try:
        document = read_json(ACCOUNTS_FILE)
        password = str(document["password"])
        return [
            DemoAccount(
                name=str(entry["name"]),
                display_name=str(entry["display_name"]),
                jurisdiction=str(entry["jurisdiction"]),
                level=level_of(str(entry["jurisdiction"])),
                roles=tuple(str(role) for role in entry["roles"]),
                password=password,
                department=_department(entry.get("department")),
            )
            for entry in document["accounts"]
        ]
    except (KeyError, TypeError, ValueError, IncidentError) as error:
        raise DataFileError(f"{ACCOUNTS_FILE}: malformed ({error!r})") from error


def demo_account(name: str) -> DemoAccount:
    """The demo account called ``name``."""
    for account in demo_accounts():
        if account.name == name:
            return account
    raise DataFileError(f"{ACCOUNTS_FILE}: no account {name!r}")


def _department(code: object) -> str | None:
    """A department code of ``data/codes/departments.json`` (checked), or None."""
    return None if code is None else department(str(code)).code


def ensure_demo_accounts(city_dir: Path) -> tuple[list[DemoAccount], list[str]]:
    """Make the demo accounts that the city's operational database lacks; the accounts and
    the names made now (an account already there, perhaps with a changed password, is left)."""
    database = OpsDatabase.for_city(city_dir, get_settings().database_url)
    try:
        return demo_accounts(), make_demo_accounts(database)
    finally:
        database.close()


def make_demo_accounts(database: OpsDatabase) -> list[str]:
    """Make the demo accounts ``database`` lacks; the names made."""
    made: list[str] = []
    for account in demo_accounts():
        if users.find_user(database, account.name) is None:
            create_user(
                database,
                account.name,
                password=account.password,
                jurisdiction=account.jurisdiction,
                roles=account.roles,
                now=utc_now(),
                actor="demo",
                display_name=account.display_name,
                department=account.department,
            )
            made.append(account.name)
    return made
