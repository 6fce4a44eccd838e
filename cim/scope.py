"""Jurisdiction codes and the scope of a caller: the part of the jurisdiction tree it may see.

A jurisdiction is named by its 12-digit statistical division code: 2 digits of province,
2 of city, 2 of county, 3 of town and 3 of village (440000000000 Guangdong, 440100000000
Guangzhou, 440106000000 Tianhe). A node's subtree is every code that starts with the node's
significant prefix ("440106" for Tianhe), so "inside my jurisdiction" is a prefix match that
any backend can index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cim.errors import JurisdictionCodeError

Level = Literal["province", "city", "county", "town", "village"]
LEVELS: tuple[Level, ...] = ("province", "city", "county", "town", "village")
# Where each level's digits end in the 12-digit code.
PREFIX_LENGTHS: dict[Level, int] = {
    "province": 2,
    "city": 4,
    "county": 6,
    "town": 9,
    "village": 12,
}
CODE_LENGTH = 12
_CODE = re.compile(r"\d{12}")


def check_code(code: str) -> str:
    """``code`` when it is a well-formed 12-digit division code; otherwise an error naming why.

    Well-formed: 12 digits, a province part that is not 00, and no level filled below an
    empty one (440100000001 names a village under no county and no town).
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise JurisdictionCodeError(f"jurisdiction code {code!r} is not 12 digits")
    if code[:2] == "00":
        raise JurisdictionCodeError(f"jurisdiction code {code} has no province (starts 00)")
    empty_seen: Level | None = None
    start = 0
    for level in LEVELS:
        part = code[start : PREFIX_LENGTHS[level]]
        start = PREFIX_LENGTHS[level]
        if int(part) == 0:
            empty_seen = empty_seen or level
        elif empty_seen is not None:
            raise JurisdictionCodeError(
                f"jurisdiction code {code} fills its {level} digits"
                f" under an empty {empty_seen} part"
            )
    return code


def level_of(code: str) -> Level:
    """The level of the node ``code`` names: the deepest level whose digits are not all 0."""
    check_code(code)
    for level in reversed(LEVELS):
        start = _start_of(level)
        if int(code[start : PREFIX_LENGTHS[level]]) != 0:
            return level
    raise AssertionError("unreachable: check_code refuses a code of zeros")


def prefix_of(code: str) -> str:
    """The significant prefix of ``code`` ("440106" for 440106000000): its subtree's key."""
    return code[: PREFIX_LENGTHS[level_of(code)]]


def parent_of(code: str) -> str | None:
    """The code of the level above ``code`` (None for a province)."""
    level = level_of(code)
    if level == "province":
        return None
    above = LEVELS[LEVELS.index(level) - 1]
    return code[: PREFIX_LENGTHS[above]].ljust(CODE_LENGTH, "0")


def _start_of(level: Level) -> int:
    index = LEVELS.index(level)
    return 0 if index == 0 else PREFIX_LENGTHS[LEVELS[index - 1]]


@dataclass(frozen=True)
class Scope:
    """The part of the jurisdiction tree a caller may see.

    ``prefix`` is the significant prefix of the caller's node; the empty prefix is every
    jurisdiction *and* what lies outside them all (objects whose code is NULL), which only
    :meth:`everything` grants (the local command line, the tiler, the root's admins).
    """

    prefix: str

    @classmethod
    def everything(cls) -> Scope:
        """No limit: every object, inside a jurisdiction or not."""
        return cls("")

    @classmethod
    def of(cls, code: str) -> Scope:
        """The node ``code`` and its whole subtree."""
        return cls(prefix_of(code))

    @property
    def unlimited(self) -> bool:
        """Whether this scope sees everything."""
        return self.prefix == ""

    def contains(self, code: str | None) -> bool:
        """Whether an object of jurisdiction ``code`` (None: outside all) is in this scope."""
        if self.unlimited:
            return True
        return code is not None and code.startswith(self.prefix)

    def covers(self, other: Scope) -> bool:
        """Whether everything ``other`` sees is in this scope too."""
        return other.prefix.startswith(self.prefix) and (self.unlimited or not other.unlimited)

    def sql(self, column: str) -> tuple[str, tuple[str, ...]]:
        """A condition on ``column`` (SQLite and PostgreSQL) with its parameters.

        A prefix match as a half-open text range, which both backends answer from a plain
        index on the column (``LIKE`` would not use it under a case-insensitive collation).
        """
        if self.unlimited:
            return "1 = 1", ()
        return f"({column} >= ? AND {column} < ?)", (self.prefix, _next_prefix(self.prefix))


def _next_prefix(prefix: str) -> str:
    """The smallest text after every code starting with ``prefix`` (digits only)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
