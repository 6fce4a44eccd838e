"""A digest of every table of a city's store, to show that a refused input changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from cim.layout import CityLayout


def store_digest(city: Path) -> dict[str, str]:
    """``{table: blake2b of its rows in rowid order}`` for every table of the store."""
    db = sqlite3.connect(f"file:{CityLayout(city).store}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        digests = {}
        for table in sorted(tables):
            digest = hashlib.blake2b()
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
        return digests
    finally:
        db.close()
