"""The demo's series: daily and weekly cycles, events past the thresholds, one series whatever
the times asked (backfill and live steps agree), fixed by the seed."""

from __future__ import annotations

import numpy as np
import pytest

from api.demo_plan import sensor_plan
from simulation.sensors.errors import SensorInputError
from simulation.sensors.replay import KINDS, Event, SeriesSpec, generate, sample_times

US = 1_000_000
HOUR = 3600 * US
# Monday 2026-11-30 00:00 in Guangzhou (UTC+8).
MONDAY = 1_795_968_000 * US
SEED = 2026


def local_hours(times: np.ndarray) -> np.ndarray:
    return ((times // HOUR) + 8) % 24


def week(step_s: float = 600) -> np.ndarray:
    return sample_times(MONDAY, MONDAY + 7 * 24 * HOUR - 1, step_s)


def test_the_kinds_the_demo_needs() -> None:
    assert set(KINDS) == {"water_level", "pm25", "strain", "occupancy", "power", "temperature"}
    assert KINDS["pm25"].unit["symbol"] == "µg/m³"


@pytest.mark.parametrize("kind", ["occupancy", "power"])
def test_office_hours_and_weekends(kind: str) -> None:
    spec = SeriesSpec(kind, f"office {kind}", {"pattern": "office"})
    times = week()
    values = generate(spec, times, seed=SEED, anchor_us=MONDAY)
    weekday = times < MONDAY + 5 * 24 * HOUR
    hours = local_hours(times)
    work, night = (hours >= 10) & (hours < 16), hours < 5
    assert values[weekday & work].mean() > 2 * values[weekday & night].mean()
    assert values[weekday & work].mean() > 2 * values[~weekday & work].mean()


def test_a_school_is_empty_at_the_weekend_and_a_residence_full_at_night() -> None:
    times = week()
    school = generate(SeriesSpec("occupancy", "s", {"pattern": "school", "capacity": 500}),
                      times, seed=SEED, anchor_us=MONDAY)  # fmt: skip
    homes = generate(SeriesSpec("occupancy", "h", {"pattern": "residential", "capacity": 500}),
                     times, seed=SEED, anchor_us=MONDAY)  # fmt: skip
    weekend = times >= MONDAY + 5 * 24 * HOUR
    hours = local_hours(times)
    assert school[weekend].max() == 0 and school[~weekend].max() > 400
    assert homes[hours < 5].mean() > 1.5 * homes[(hours >= 10) & (hours < 16) & ~weekend].mean()


def test_temperature_and_strain_follow_the_day() -> None:
    times = week()
    hours = local_hours(times)
    air = generate(SeriesSpec("temperature", "t", {"pattern": "office"}), times, seed=SEED,
                   anchor_us=MONDAY)  # fmt: skip
    cooled = (hours >= 10) & (hours < 16) & (times < MONDAY + 5 * 24 * HOUR)
    assert abs(air[cooled].mean() - 24.5) < 0.5 and air[hours < 5].mean() > 25.3
    strain = generate(SeriesSpec("strain", "g"), times, seed=SEED, anchor_us=MONDAY)
    rush, small_hours = (hours >= 8) & (hours < 10), (hours >= 2) & (hours < 5)
    assert strain[rush].mean() > strain[small_hours].mean() + 10


def test_water_level_follows_the_tide() -> None:
    times = sample_times(MONDAY, MONDAY + 48 * HOUR, 300)
    level = generate(SeriesSpec("water_level", "r", {"base": 1.0, "tide": 0.5}), times,
                     seed=SEED, anchor_us=MONDAY)  # fmt: skip
    spectrum = np.abs(np.fft.rfft(level - level.mean()))
    period_h = (times[-1] - times[0]) / HOUR / np.argmax(spectrum)
    assert 11 < period_h < 14  # the semidiurnal tide dominates
    assert level.max() - level.min() > 1.0


def test_an_event_rises_holds_recedes_and_repeats() -> None:
    event = Event(at_s=10, magnitude=1, rise_s=10, duration_s=60, fall_s=10, every_s=600)
    share = event.pulse(np.array([0.0, 9.9, 50.0, 70.0, 150.0, 650.0, 670.0]))
    assert share[0] == share[1] == 0
    assert 0.9 < share[2] < share[3] <= 1 and share[4] < 0.001
    assert share[5] == pytest.approx(share[2]) and share[6] == pytest.approx(share[3], rel=1e-3)


def test_an_additive_pm25_event_reaches_its_level_whatever_the_day() -> None:
    """A PM2.5 event multiplies the value unless additive: then it adds its magnitude, so an
    episode passes 75 µg/m³ even on a clean day."""
    plan = sensor_plan()
    profile = plan.datastreams()["East-West Road 5 PM2.5"].series.profile
    times = sample_times(MONDAY, MONDAY + 7 * 24 * HOUR, 600)
    series = {
        additive: SeriesSpec("pm25", "episode", {}, (Event(0, 110, 60, 30 * 24 * 3600, 60,
                                                          None, additive),), profile)
        for additive in (False, True)
    }  # fmt: skip
    plain = generate(SeriesSpec("pm25", "episode", {}, (), profile), times, seed=SEED,
                     anchor_us=MONDAY - HOUR)  # fmt: skip
    scaled, added = (generate(series[a], times, seed=SEED, anchor_us=MONDAY - HOUR)
                     for a in (False, True))  # fmt: skip
    assert np.allclose(added, plain + 110, atol=0.2) and added.min() > 75
    assert np.allclose(scaled, plain * 111, atol=6)  # both rounded to 0.1
    assert Event.from_dict({"at_s": 0, "magnitude": 1, "additive": True}).additive


def test_one_series_whatever_the_times_asked() -> None:
    """A live step gives the value the backfill would have given at that time."""
    plan = sensor_plan()
    anchor = MONDAY + 13 * HOUR
    day = sample_times(anchor - 24 * HOUR, anchor + 600 * US, 5)
    for stream in plan.datastreams().values():
        whole = generate(stream.series, day, seed=plan.seed, anchor_us=anchor)
        steps = [generate(stream.series, day[i : i + 1], seed=plan.seed, anchor_us=anchor)[0]
                 for i in (0, 5000, len(day) - 1)]  # fmt: skip
        assert steps == [whole[0], whole[5000], whole[-1]], stream.name


def test_the_seed_fixes_the_series() -> None:
    times = sample_times(MONDAY, MONDAY + 6 * HOUR, 60)
    for stream in sensor_plan().datastreams().values():
        first = generate(stream.series, times, seed=1, anchor_us=MONDAY)
        assert np.array_equal(first, generate(stream.series, times, seed=1, anchor_us=MONDAY))
        if stream.series.kind != "occupancy":  # counts may repeat at night
            assert not np.array_equal(first, generate(stream.series, times, seed=2,
                                                      anchor_us=MONDAY)), stream.name  # fmt: skip


@pytest.mark.parametrize("hour", [0, 4, 9, 13, 18, 22])
def test_the_demo_reaches_warning_and_alarm_in_its_first_minutes(hour: int) -> None:
    """Whatever the hour the demo starts, the scripted events take the underpass gauge past
    its warning within a minute and sensors of several kinds past their alarm within three;
    values change at every 5-second step."""
    plan = sensor_plan()
    anchor = MONDAY + 2 * 24 * HOUR + hour * HOUR + 17 * US
    steps = sample_times(anchor, anchor + 180 * US, plan.replay_step_s)
    first_warning, alarmed, changing = {}, set(), 0
    for stream in plan.datastreams().values():
        values = generate(stream.series, steps, seed=plan.seed, anchor_us=anchor)
        past = np.flatnonzero(values >= stream.thresholds["warning"])
        if len(past):
            first_warning[stream.name] = (steps[past[0]] - anchor) / US
        if np.any(values >= stream.thresholds["alarm"]):
            alarmed.add(stream.series.kind)
        changing += int(np.any(np.diff(values[:13]) != 0))
    assert first_warning["East-West Road 3 underpass water depth"] <= 60
    assert {"water_level", "strain", "temperature"} <= alarmed
    assert changing >= len(plan.datastreams()) * 0.6


def test_the_backfilled_day_stays_mostly_normal() -> None:
    """Before the replay starts the demo's sensors are mostly within their limits (the
    day's events are rarer than the live ones)."""
    plan = sensor_plan()
    anchor = MONDAY + 2 * 24 * HOUR + 15 * HOUR
    day = sample_times(anchor - 24 * HOUR, anchor - 1, plan.backfill_step_s)
    shares = [np.mean(generate(s.series, day, seed=plan.seed, anchor_us=anchor)
                      >= s.thresholds["warning"]) for s in plan.datastreams().values()]  # fmt: skip
    assert np.mean(shares) < 0.1


def test_bad_specs_are_refused() -> None:
    with pytest.raises(SensorInputError, match="no sensor kind 'noise'"):
        SeriesSpec("noise", "x")
    with pytest.raises(SensorInputError, match="needs a fitted profile"):
        SeriesSpec("pm25", "x")
    with pytest.raises(SensorInputError, match="no usage pattern 'factory'"):
        SeriesSpec("power", "x", {"pattern": "factory"})
    with pytest.raises(SensorInputError, match="not an event"):
        Event.from_dict({"at_s": 1})
