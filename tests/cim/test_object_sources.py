"""The writer tells the sources of many object ids in one call."""

from __future__ import annotations

from pathlib import Path

import pytest

import cim.gpkg
from tests.conftest import add_boxes, make_city


def test_object_sources_answers_for_every_chunk_and_leaves_unknown_ids_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cim.gpkg, "IN_CHUNK", 3)  # several chunks for a few ids
    store = make_city(tmp_path)
    first = add_boxes(store, 4, source="first")
    second = add_boxes(store, 3, source="second")
    with store.transaction() as writer:
        found = writer.object_sources([*first, "missing", *second, "also-missing"])
    store.close()
    assert found == {**dict.fromkeys(first, "first"), **dict.fromkeys(second, "second")}
