"""Jurisdiction codes and scopes: levels, prefixes, parents and the prefix match in SQL."""

from __future__ import annotations

import sqlite3

import pytest

from cim.errors import JurisdictionCodeError
from cim.scope import Scope, check_code, level_of, parent_of, prefix_of


@pytest.mark.parametrize(
    ("code", "level", "prefix", "parent"),
    [
        ("440000000000", "province", "44", None),
        ("440100000000", "city", "4401", "440000000000"),
        ("440106000000", "county", "440106", "440100000000"),
        ("440106001000", "town", "440106001", "440106000000"),
        ("440106001002", "village", "440106001002", "440106001000"),
    ],
)
def test_the_level_prefix_and_parent_follow_from_the_code(
    code: str, level: str, prefix: str, parent: str | None
) -> None:
    assert (level_of(code), prefix_of(code), parent_of(code)) == (level, prefix, parent)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("44010600000", "12 digits"),
        ("4401060000001", "12 digits"),
        ("44010600000a", "12 digits"),
        ("000000000000", "no province"),
        ("440006000000", "county digits under an empty city"),
        ("440100000001", "village digits under an empty county"),
    ],
)
def test_a_malformed_code_is_refused_naming_why(code: str, reason: str) -> None:
    with pytest.raises(JurisdictionCodeError, match=reason):
        check_code(code)


def test_a_scope_holds_its_subtree_and_nothing_beside_it() -> None:
    tianhe = Scope.of("440106000000")
    assert tianhe.contains("440106000000") and tianhe.contains("440106001002")
    assert not tianhe.contains("440104000000") and not tianhe.contains(None)
    assert Scope.everything().contains(None)
    assert Scope.of("440000000000").covers(tianhe) and not tianhe.covers(Scope.of("440100000000"))
    assert Scope.everything().covers(tianhe) and not Scope.of("440000000000").covers(
        Scope.everything()
    )


def test_the_sql_condition_matches_exactly_the_subtree() -> None:
    codes = [
        "440106000000",
        "440106001000",
        "440106009999",
        "440107000000",
        "440105999999",
        "440100000000",
        None,
    ]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE o (code TEXT)")
    conn.executemany("INSERT INTO o VALUES (?)", [(code,) for code in codes])
    for scope in (Scope.of("440106000000"), Scope.of("440106009000"), Scope.everything()):
        condition, params = scope.sql("code")
        found = {row[0] for row in conn.execute(f"SELECT code FROM o WHERE {condition}", params)}
        assert found == {code for code in codes if scope.contains(code)}
