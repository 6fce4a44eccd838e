"""The sunlight rule over homes: hours at every sill point, with and without proposed buildings.

A face is checked when it could meet the rule with nothing around it (the sun in front
of it for the required hours): a north face never can, and the rule is not read there.
A home passes when every sill point of its checked faces gets the required hours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulation.models.sun_hours import (
    BoolArray,
    Edges,
    FloatArray,
    Groups,
    IntArray,
    facing,
    shaded,
    spell_minutes,
)
from simulation.models.sun_position import SunPath
from simulation.models.sun_sills import Face, Home, SillPoints, faces_of, sill_points

#: A home's verdict.
PASS, FAIL, FAILS_DUE_TO_PROPOSED = "pass", "fail", "fails_due_to_proposed"


@dataclass(frozen=True)
class RuleSettings:
    """How the rule is read: required hours, shortest counted spell, sill points."""

    required_hours: float = 2.0
    min_spell_minutes: float = 0.0
    sill_height: float = 0.9
    spacing: float = 1.0
    all_floors: bool = False


@dataclass(frozen=True)
class Assessment:
    """Hours at each sill point with everything built (``hours``) and without the proposed
    buildings (``hours_without``); ``checked`` per face."""

    faces: list[Face]
    points: SillPoints
    checked: npt.NDArray[np.bool_]
    hours: FloatArray
    hours_without: FloatArray
    required_hours: float

    def verdicts(self, owners: Sequence[int], count: int) -> list[str | None]:
        """The verdict of each of ``count`` owners (buildings) of the homes (``owners[home]``
        the owner of home ``home``); None: no checked face."""
        checked = self.checked[self.points.face]
        home_of = np.array([face.home for face in self.faces], dtype=np.int64)[self.points.face]
        owner_of = np.asarray(owners, dtype=np.int64)[home_of] if len(home_of) else home_of
        required = self.required_hours - 1e-9
        failing = checked & ~(self.hours >= required)
        failing_without = checked & ~(self.hours_without >= required)
        result: list[str | None] = [None] * count
        for owner in np.unique(owner_of[checked]):
            mine = owner_of == owner
            if not failing[mine].any():
                result[owner] = PASS
            elif not failing_without[mine].any():
                result[owner] = FAILS_DUE_TO_PROPOSED
            else:
                result[owner] = FAIL
        return result


def assess(
    homes: Sequence[Home],
    existing: Edges,
    proposed: Edges,
    path: SunPath,
    settings: RuleSettings,
    done: Callable[[float], None] | None = None,
) -> Assessment:
    """The hours of sun at every sill point of ``homes`` behind the obstacles; ``done``
    hears the share of the work done (0..1) and may raise to stop."""
    faces = faces_of(homes)
    points = sill_points(
        homes,
        faces,
        sill_height=settings.sill_height,
        spacing=settings.spacing,
        all_floors=settings.all_floors,
    )
    normals = np.array([face.normal for face in faces], dtype=np.float64)
    in_front = facing(normals, path.azimuth, path.elevation)
    possible = spell_minutes(in_front, path.step_minutes, settings.min_spell_minutes) / 60.0
    checked = possible >= settings.required_hours - 1e-9
    hours_without = np.full(points.size, np.nan)
    hours = np.full(points.size, np.nan)
    read = np.flatnonzero(checked[points.face])  # the points the rule is read at
    if len(read):
        xyz, groups = points.xyz[read], _line_groups(points, read)
        lit: BoolArray = in_front[points.face[read]]
        passes = 2 if proposed.size else 1

        def share(first: int) -> Callable[[float], None] | None:
            if done is None:
                return None
            report = done
            return lambda part: report((first + part) / passes)

        lit &= ~shaded(xyz, existing, path.azimuth, path.elevation, groups, share(0))
        minutes = spell_minutes(lit, path.step_minutes, settings.min_spell_minutes)
        hours_without[read] = hours[read] = minutes / 60.0
        if proposed.size:
            lit &= ~shaded(xyz, proposed, path.azimuth, path.elevation, groups, share(1))
            minutes = spell_minutes(lit, path.step_minutes, settings.min_spell_minutes)
            hours[read] = minutes / 60.0
    return Assessment(faces, points, checked, hours, hours_without, settings.required_hours)


def _line_groups(points: SillPoints, read: IntArray) -> Groups:
    """The points of one face and floor as a group, its ends as corners."""
    key = points.face[read] * (int(points.floor.max()) + 1) + points.floor[read]
    _, member = np.unique(key, return_inverse=True)
    member = member.astype(np.int64)
    xy = points.xyz[read, :2]
    first = np.full(int(member.max()) + 1, len(read))
    np.minimum.at(first, member, np.arange(len(read)))
    last = np.zeros(int(member.max()) + 1, dtype=np.int64)
    np.maximum.at(last, member, np.arange(len(read)))
    return Groups(member, np.stack([xy[first], xy[last]], axis=1))


def ground_hours(
    xy: FloatArray, ground: FloatArray, edges: Edges, path: SunPath, min_spell_minutes: float
) -> FloatArray:
    """Hours of sun on the ground at points ``xy`` (heights ``ground``) behind the obstacles."""
    points = np.column_stack([xy, ground])
    up = np.broadcast_to(path.elevation > 0, (len(points), path.size))
    lit = up & ~shaded(points, edges, path.azimuth, path.elevation)
    hours: FloatArray = spell_minutes(lit, path.step_minutes, min_spell_minutes) / 60.0
    return hours
