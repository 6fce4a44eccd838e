"""The ``cimtwin user`` and ``cimtwin key`` commands: accounts in the operational database.

Passwords are read from standard input (typed twice at a terminal, one line from a pipe),
never from an argument, which other users could read in the process list.

The account modules (SQLAlchemy), the settings (pydantic), the password hasher and the city
store are imported inside the commands: the other commands of `cimtwin` start without them.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.auth.clock import utc_now
from api.auth.roles import ROLE_ORDER, check_roles
from api.cli_common import CityOption, clear_errors, print_json, say
from api.errors import AccountInputError
from cim.errors import CityNotFoundError
from cim.layout import CityLayout
from cim.scope import Scope, check_code

if TYPE_CHECKING:
    from cim.ops.database import OpsDatabase

user_app = typer.Typer(
    help="Users who sign in to the API: one jurisdiction node each, with roles.",
    no_args_is_help=True,
)
key_app = typer.Typer(
    help="API keys of devices and integrations: a jurisdiction and the actions allowed.",
    no_args_is_help=True,
)

JurisdictionOption = Annotated[
    str, typer.Option(help="12-digit division code of the node, e.g. 440106000000.")
]


def register(app: typer.Typer) -> None:
    """Add the ``user`` and ``key`` command groups to ``app``."""
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")


@contextmanager
def _database(city: Path) -> Iterator[OpsDatabase]:
    from api.settings import get_settings
    from cim.ops.database import OpsDatabase

    if not CityLayout(city).store.is_file():
        raise CityNotFoundError(f"no city in {city} (create one with `cimtwin init`)")
    with OpsDatabase.for_city(city, get_settings().database_url) as db:
        yield db


def _check_node(city: Path, code: str) -> None:
    """Refuse a jurisdiction code the city does not hold (when it holds a set at all)."""
    from cim.store import CityStore

    check_code(code)
    with CityStore.open(city) as store:
        known = [node.code for node in store.jurisdictions(scope=Scope.everything())]
    if known and code not in known:
        raise AccountInputError(
            f"{city} holds no jurisdiction {code}; its top ones are"
            f" {', '.join(known[:5])} (`cimtwin import jurisdictions` adds more)"
        )


def _actor() -> str:
    """Who changes accounts from the command line, for the audit log."""
    return f"local:{getpass.getuser()}"


def read_new_password() -> str:
    """A new password from standard input: typed twice at a terminal, else one line."""
    from api.auth.passwords import check_strength

    if sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("the same again: ") != password:
            raise AccountInputError("the two passwords differ")
    else:
        line = sys.stdin.readline()
        if not line:
            raise AccountInputError("no password on standard input (give one line)")
        password = line.rstrip("\r\n")
    return check_strength(password)


@user_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    city: CityOption,
    jurisdiction: JurisdictionOption,
    role: Annotated[
        list[str], typer.Option("--role", help=f"A role ({', '.join(ROLE_ORDER)}); repeatable.")
    ],
    display_name: Annotated[str | None, typer.Option(help="The name shown in the viewer.")] = None,
    department: Annotated[
        str | None,
        typer.Option(help="The department the user works for (e.g. water); see incident codes."),
    ] = None,
) -> None:
    """Add a user; the password comes from standard input (never from an argument).

    Examples:

        cimtwin user add tianhe-ops --city guangzhou --jurisdiction 440106000000 --role operator
        printf '%s\\n' "$PASSWORD" | cimtwin user add li --city guangzhou \\
            --jurisdiction 440106001000 --role viewer --display-name "Li Wei"
    """
    from api.auth import accounts

    with clear_errors():
        _check_node(city, jurisdiction)
        check_roles(role)
        accounts.check_department(department)
        with _database(city) as db:
            user = accounts.create_user(
                db,
                name,
                password=read_new_password(),
                jurisdiction=jurisdiction,
                roles=role,
                now=utc_now(),
                actor=_actor(),
                display_name=display_name,
                department=department,
            )
    works = f", department {user.department}" if user.department else ""
    say(f"added user {user.name} ({', '.join(user.roles)}) in {user.jurisdiction}{works}")


@user_app.command("list")
def list_users(city: CityOption) -> None:
    """Print the users as JSON (no password hashes)."""
    from cim.ops import users

    with clear_errors(), _database(city) as db:
        print_json(
            [
                {
                    "name": u.name,
                    "display_name": u.display_name,
                    "jurisdiction": u.jurisdiction,
                    "roles": list(u.roles),
                    "department": u.department,
                    "disabled": u.disabled,
                    "created_at": u.created_at,
                }
                for u in users.list_users(db)
            ]
        )


@user_app.command("disable")
def disable_user(name: Annotated[str, typer.Argument()], city: CityOption) -> None:
    """Disable a user: sign-in refused, every session of theirs ended."""
    from api.auth import accounts

    with clear_errors(), _database(city) as db:
        accounts.set_disabled(db, name, True, now=utc_now(), actor=_actor())
    say(f"disabled user {name}")


@user_app.command("enable")
def enable_user(name: Annotated[str, typer.Argument()], city: CityOption) -> None:
    """Enable a disabled user again."""
    from api.auth import accounts

    with clear_errors(), _database(city) as db:
        accounts.set_disabled(db, name, False, now=utc_now(), actor=_actor())
    say(f"enabled user {name}")


@user_app.command("set-department")
def set_department(
    name: Annotated[str, typer.Argument()],
    department: Annotated[str, typer.Argument(help="A department code, or 'none'.")],
    city: CityOption,
) -> None:
    """Say which department a user works for ('none': no department).

    Example:

        cimtwin user set-department shuiwu water --city guangzhou
    """
    from api.auth import accounts

    code = None if department == "none" else department
    with clear_errors():
        accounts.check_department(code)
        with _database(city) as db:
            accounts.set_department(db, name, code, now=utc_now(), actor=_actor())
    say(f"user {name} works for {code or 'no department'}")


@user_app.command("reset-password")
def reset_password(name: Annotated[str, typer.Argument()], city: CityOption) -> None:
    """Set a user's password from standard input; every session of theirs is ended."""
    from api.auth import accounts
    from cim.ops import users

    with clear_errors(), _database(city) as db:
        users.get_user(db, name)
        accounts.reset_password(
            db, name, password=read_new_password(), now=utc_now(), actor=_actor()
        )
    say(f"reset the password of {name}; their sessions are ended")


@key_app.command("add")
def add_key(
    name: Annotated[str, typer.Argument(help="What uses the key, e.g. 'gauge-17'.")],
    city: CityOption,
    jurisdiction: JurisdictionOption,
    action: Annotated[
        list[str], typer.Option("--action", help="An action the key allows; repeatable.")
    ],
) -> None:
    """Make an API key and print it once (only its hash is stored).

    Send it as `X-API-Key: ck_...` or `Authorization: Bearer ck_...`.

    Example:

        cimtwin key add survey-upload --city guangzhou --jurisdiction 440106000000 --action import
    """
    from api.auth import accounts

    with clear_errors():
        _check_node(city, jurisdiction)
    with clear_errors(), _database(city) as db:
        record, key = accounts.create_key(
            db, name, jurisdiction=jurisdiction, actions=action, now=utc_now(), actor=_actor()
        )
    say(f"API key {record.id} ({name}): store it now, it is not shown again")
    typer.echo(key)


@key_app.command("list")
def list_keys(city: CityOption) -> None:
    """Print the keys as JSON (ids and names, never the secrets)."""
    from cim.ops import keys

    with clear_errors(), _database(city) as db:
        print_json(
            [
                {
                    "id": k.id,
                    "name": k.name,
                    "jurisdiction": k.jurisdiction,
                    "actions": list(k.actions),
                    "created_at": k.created_at,
                    "revoked_at": k.revoked_at,
                }
                for k in keys.list_keys(db)
            ]
        )


@key_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id.")], city: CityOption
) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    from api.auth import accounts

    with clear_errors(), _database(city) as db:
        accounts.revoke_key(db, key_id, now=utc_now(), actor=_actor())
    say(f"revoked API key {key_id}")
