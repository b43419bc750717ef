"""Bucket grids: epoch alignment, local days across DST, counts and vectorised lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.telemetry.buckets import (
    bucket_count,
    bucket_grid,
    local_day_grid,
    uniform_grid,
)
from gridshare.telemetry.intervals import parse_interval
from gridshare.telemetry.resolution import Resolution

SUB_DAY = [r for r in Resolution if not r.is_daily]
ZONES = [
    "UTC",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Apia",
    "Africa/Casablanca",
]


def hours(grid_edges: np.ndarray) -> list[float]:
    return (np.diff(grid_edges) / 3600).tolist()  # type: ignore[no-any-return]


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("Europe/London", "2026-03-29", 23),
        ("Europe/London", "2026-10-25", 25),
        ("Europe/London", "2026-06-01", 24),
        ("America/Los_Angeles", "2026-03-08", 23),
        ("America/Los_Angeles", "2026-11-01", 25),
        ("Australia/Lord_Howe", "2026-04-05", 24.5),
        ("Australia/Lord_Howe", "2026-10-04", 23.5),
        ("Asia/Kolkata", "2026-03-29", 24),
    ],
)
def test_dst_days(zone: str, day: str, length: float) -> None:
    tz = ZoneInfo(zone)
    d = date.fromisoformat(day)
    midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
    interval = parse_interval(f"{midnight.isoformat()}/PT1S")
    grid = bucket_grid(interval, Resolution.P1D, zone)
    assert grid.count == 1
    assert grid.start_s == int(midnight.timestamp())
    assert hours(grid.edges) == [length]
    local_end = datetime.fromtimestamp(grid.end_s, tz)
    assert (local_end.date(), local_end.time().hour, local_end.minute) == (
        d + timedelta(days=1),
        0,
        0,
    )


def test_a_week_across_the_london_spring_change() -> None:
    interval = parse_interval("2026-03-26T00:00:00Z/2026-04-01T23:00:00Z")
    grid = bucket_grid(interval, Resolution.P1D, "Europe/London")
    assert hours(grid.edges) == [24, 24, 24, 23, 24, 24, 24]
    assert datetime.fromtimestamp(grid.start_s, UTC) == datetime(2026, 3, 26, tzinfo=UTC)


def test_utc_interval_touches_two_local_days() -> None:
    # The London day 2026-04-01 runs 2026-03-31T23:00Z..2026-04-01T23:00Z: a UTC day touches two.
    grid = bucket_grid(parse_interval("2026-04-01T00:00:00Z/P1D"), Resolution.P1D, "Europe/London")
    assert grid.count == 2
    assert grid.start_s == ts("2026-03-31T23:00:00+00:00")


def test_midnight_in_a_dst_gap_starts_the_day_at_the_gap_end() -> None:
    # America/Santiago springs forward at 24:00 -> 01:00 (2026-09-06).
    tz = ZoneInfo("America/Santiago")
    grid = local_day_grid(ts("2026-09-05T12:00:00-04:00"), ts("2026-09-06T12:00:00-03:00"), tz)
    assert grid.count == 2
    starts = [datetime.fromtimestamp(int(e), tz) for e in grid.edges]
    assert [s.strftime("%d %H:%M") for s in starts] == ["05 00:00", "06 01:00", "07 00:00"]
    assert hours(grid.edges) == [24, 23]


def test_a_skipped_calendar_day_has_no_bucket() -> None:
    # Samoa skipped 2011-12-30 when it crossed the date line.
    tz = ZoneInfo("Pacific/Apia")
    grid = local_day_grid(ts("2011-12-29T12:00:00-10:00"), ts("2011-12-31T12:00:00+14:00"), tz)
    assert grid.count == 2
    assert bool(np.all(np.diff(grid.edges) > 0))


def test_sub_day_buckets_are_epoch_aligned_in_any_zone() -> None:
    interval = parse_interval("2026-04-01T00:10:00+05:30/PT2H")
    grid = bucket_grid(interval, Resolution.PT1H, "Asia/Kolkata")
    assert bool(np.all(grid.edges % 3600 == 0))
    assert grid.start_s == ts("2026-03-31T18:00:00+00:00")
    assert grid.count == 3


@settings(max_examples=200)
@given(
    start=st.integers(min_value=0, max_value=4_000_000_000),
    length=st.integers(min_value=1, max_value=30 * 86_400),
    resolution=st.sampled_from(SUB_DAY),
)
def test_uniform_grids(start: int, length: int, resolution: Resolution) -> None:
    step = resolution.seconds
    interval = parse_interval(f"{datetime.fromtimestamp(start, UTC).isoformat()}/PT{length}S")
    count = bucket_count(interval, resolution, "UTC")
    if count > 10_000:
        return
    grid = bucket_grid(interval, resolution, "UTC")
    assert grid.count == count
    assert bool(np.all(grid.edges % step == 0))
    assert bool(np.all(np.diff(grid.edges) == step))
    assert grid.start_s <= start < grid.start_s + step
    assert grid.end_s - step < start + length <= grid.end_s


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=2_500_000_000),
    days=st.integers(min_value=0, max_value=60),
    extra=st.integers(min_value=1, max_value=86_400),
    zone=st.sampled_from(ZONES),
)
def test_local_day_grids(start: int, days: int, extra: int, zone: str) -> None:
    tz = ZoneInfo(zone)
    end = start + days * 86_400 + extra
    grid = local_day_grid(start, end, zone)
    assert grid.count >= 1
    assert grid.start_s <= start and end <= grid.end_s
    assert bool(np.all(np.diff(grid.edges) > 0))
    lengths = np.diff(grid.edges)
    assert bool(np.all((lengths >= 22 * 3600) & (lengths <= 26 * 3600)) or zone == "Pacific/Apia")
    for edge in grid.edges.tolist():
        local = datetime.fromtimestamp(edge, tz)
        before = datetime.fromtimestamp(edge - 1, tz)
        # every edge is the first instant of a local calendar day
        assert local.date() != before.date()
    # every sample lands in the bucket of its own local day
    sample = np.array([start, end - 1, (start + end) // 2], dtype=np.int64)
    idx = grid.index(sample)
    assert bool(np.all(idx >= 0))
    for t, i in zip(sample.tolist(), idx.tolist(), strict=True):
        day = datetime.fromtimestamp(t, tz).date()
        assert datetime.fromtimestamp(int(grid.edges[i]), tz).date() == day


@settings(max_examples=200)
@given(
    data=st.lists(st.integers(min_value=-100_000, max_value=400_000), max_size=200),
    daily=st.booleans(),
    step=st.sampled_from([60, 300, 900, 1800, 3600]),
)
def test_bucket_index_matches_a_scalar_search(data: list[int], daily: bool, step: int) -> None:
    grid = (
        local_day_grid(0, 300_000, "America/Los_Angeles")
        if daily
        else uniform_grid(1000, 300_000, step)
    )
    got = grid.index(np.array(data, dtype=np.int64)).tolist()
    edges = grid.edges.tolist()
    for t, i in zip(data, got, strict=True):
        expected = next((k for k in range(len(edges) - 1) if edges[k] <= t < edges[k + 1]), -1)
        assert i == expected


def test_count_matches_grid_for_daily() -> None:
    interval = parse_interval("2026-01-01T00:00:00Z/P365D")
    for zone in ZONES:
        grid = bucket_grid(interval, Resolution.P1D, zone)
        assert grid.count <= bucket_count(interval, Resolution.P1D, zone)
        assert grid.count >= 365


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=253_370_000_000),
    days=st.integers(min_value=0, max_value=1200),
    zone=st.sampled_from(ZONES),
)
def test_cached_year_midnights_match_day_by_day(start: int, days: int, zone: str) -> None:
    tz = ZoneInfo(zone)
    end = min(start + days * 86_400 + 1, 253_370_764_800)  # 9999-01-01
    grid = local_day_grid(start, end, tz)
    first = datetime.fromtimestamp(start, tz).date()
    last = datetime.fromtimestamp(end - 1, tz).date()
    naive = [
        int(datetime.combine(first + timedelta(days=i), datetime.min.time(), tz).timestamp())
        for i in range((last - first).days + 2)
    ]
    assert grid.edges.tolist() == sorted(set(naive))
