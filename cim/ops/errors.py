"""Errors of the operational database."""

from __future__ import annotations

from cim.errors import CimError


class OpsError(CimError):
    """Root of the operational database's errors (bad input to its repositories)."""


class AccountNotFoundError(OpsError):
    """No user or API key has the given name or id."""


class AccountExistsError(OpsError):
    """A user of that name already exists."""


class AppendOnlyError(OpsError):
    """Something tried to change or remove an audit entry."""
