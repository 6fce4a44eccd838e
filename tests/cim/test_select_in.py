"""``gpkg.select_in`` runs an ``IN`` list of any length in chunks SQLite accepts."""

from __future__ import annotations

import sqlite3

from cim import gpkg


def test_ids_past_one_chunk_all_come_back_with_the_leading_values() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, kind TEXT)")
    conn.executemany(
        "INSERT INTO t VALUES (?, ?)", [(i, "a" if i % 2 else "b") for i in range(5000)]
    )
    ids = [*range(0, 5000, 2), 99_999]  # 2 501 ids: three chunks, one id absent
    assert len(ids) > 2 * gpkg.IN_CHUNK
    rows = list(gpkg.select_in(conn, "SELECT id FROM t WHERE kind = ? AND id IN ({ids})", ids,
                               leading=["b"]))  # fmt: skip
    assert sorted(row[0] for row in rows) == ids[:-1]
    assert list(gpkg.select_in(conn, "SELECT id FROM t WHERE id IN ({ids})", [])) == []
