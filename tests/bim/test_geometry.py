"""The geometry iterator: in child processes or not, with one thread or two, the same shapes."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import pytest

import bim.geometry
from bim.geometry import (
    GEOMETRY_PROCESS_ENV,
    ElementShape,
    GeometryKernelError,
    default_workers,
    iterate_shapes,
    uses_geometry_process,
)
from cim.model import Material
from tests.conftest import OPEN_HOUSE, REVIT

Shapes = dict[str, ElementShape]


def _model(ifc_dir: Path, name: str) -> ifcopenshell.file:
    return ifcopenshell.open(str(ifc_dir / name))


def _by_guid(shapes: Iterator[ElementShape]) -> Shapes:
    return {shape.guid: shape for shape in shapes}


def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "0")


def _assert_same(first: Shapes, second: Shapes) -> None:
    assert first.keys() == second.keys()
    for guid, shape in first.items():
        other = second[guid]
        assert shape.step_id == other.step_id
        np.testing.assert_array_equal(shape.vertices, other.vertices)
        assert [m for m, _ in shape.parts] == [m for m, _ in other.parts]
        for (_, faces), (_, other_faces) in zip(shape.parts, other.parts, strict=True):
            assert faces.dtype == np.uint32
            np.testing.assert_array_equal(faces, other_faces)


def _fake_shape(index: int, vertices: int = 3) -> ElementShape:
    faces = np.array([[0, 1, 2]], dtype=np.uint32)
    return ElementShape(f"guid{index}", index, np.zeros((vertices, 3)), [(Material("m"), faces)])


def test_child_process_gives_the_shapes_of_the_calling_process(
    ifc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(ifc_dir, OPEN_HOUSE)
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")
    assert uses_geometry_process()
    from_child = list(iterate_shapes(model, threads=1, workers=1))
    from_two = list(iterate_shapes(model, threads=1, workers=2))
    _in_process(monkeypatch)
    assert not uses_geometry_process()
    here = list(iterate_shapes(model, threads=1))
    assert [s.guid for s in from_child] == [s.guid for s in here]  # same order too
    _assert_same(_by_guid(iter(from_child)), _by_guid(iter(here)))
    _assert_same(_by_guid(iter(from_two)), _by_guid(iter(here)))
    assert multiprocessing.active_children() == []


def test_two_threads_give_the_shapes_of_one(ifc_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _in_process(monkeypatch)
    model = _model(ifc_dir, REVIT)
    _assert_same(
        _by_guid(iterate_shapes(model, threads=2)), _by_guid(iterate_shapes(model, threads=1))
    )


def test_buffers_give_what_the_iterator_lists_give(ifc_dir: Path) -> None:
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    settings.set("apply-default-materials", True)
    model = _model(ifc_dir, OPEN_HOUSE)
    iterator = ifcopenshell.geom.iterator(settings, model, 1, exclude=["IfcOpeningElement"])
    assert iterator.initialize()
    while True:
        shape = iterator.get()
        converted = bim.geometry._to_element_shape(shape)
        geometry = shape.geometry
        faces = np.asarray(geometry.faces, dtype=np.uint32).reshape(-1, 3)
        if converted is not None:
            np.testing.assert_array_equal(
                converted.vertices, np.asarray(geometry.verts, dtype=float).reshape(-1, 3)
            )
            ids = np.asarray(geometry.material_ids)
            for index, (_, part) in zip(np.unique(ids), converted.parts, strict=True):
                np.testing.assert_array_equal(part, faces[ids == index])
        else:
            assert len(faces) == 0
        if not iterator.next():
            break


def test_progress_reaches_100(ifc_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")
    seen: list[int] = []
    shapes = list(iterate_shapes(_model(ifc_dir, OPEN_HOUSE), on_progress=seen.append))
    assert len(seen) >= len(shapes) > 0
    assert seen == sorted(seen) and seen[-1] == 100


def test_an_error_in_the_child_fails_the_iteration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")

    def failing(*_: object) -> Iterator[ElementShape]:
        yield _fake_shape(0)
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(bim.geometry, "_work", failing)
    received = []
    with pytest.raises(GeometryKernelError, match="RuntimeError: kernel exploded"):
        for shape in iterate_shapes(ifcopenshell.file(), threads=1):
            received.append(shape.guid)
    assert received == ["guid0"]
    assert multiprocessing.active_children() == []


def test_a_crash_of_the_child_fails_the_iteration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")

    def crashing(*_: object) -> Iterator[ElementShape]:
        yield _fake_shape(0)
        os._exit(3)  # what a segmentation fault in the kernel amounts to

    monkeypatch.setattr(bim.geometry, "_work", crashing)
    with pytest.raises(GeometryKernelError, match="exit code 3"):
        list(iterate_shapes(ifcopenshell.file(), threads=1))


def test_the_child_waits_for_a_slow_reader_and_stops_when_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory stays bounded: the child runs at most a pipe's worth ahead of the importer."""
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")
    produced = multiprocessing.get_context("fork").Value("i", 0)
    big = bim.geometry.PIPE_BYTES // 4 // 24  # vertices of about a quarter of the pipe

    def many(*_: object) -> Iterator[ElementShape]:
        for index in range(100):
            with produced.get_lock():
                produced.value += 1
            yield _fake_shape(index, big)

    monkeypatch.setattr(bim.geometry, "_work", many)
    shapes = iterate_shapes(ifcopenshell.file(), threads=1, workers=1)
    assert isinstance(shapes, Generator)
    assert next(shapes).guid == "guid0"
    time.sleep(1.0)
    assert produced.value < 12  # blocked on a full pipe, far from all 100
    shapes.close()
    assert multiprocessing.active_children() == []


def test_environment_keeps_the_iterator_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("0", "false", "off"):
        monkeypatch.setenv(GEOMETRY_PROCESS_ENV, value)
        assert not uses_geometry_process()
    monkeypatch.delenv(GEOMETRY_PROCESS_ENV)
    assert uses_geometry_process()  # Linux default


def test_default_workers_are_one_per_core() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))
