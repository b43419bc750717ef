"""Bucket grids: where each telemetry bucket starts and ends, and which bucket a sample falls in.

Sub-day buckets are multiples of the resolution since the Unix epoch (so `PT1H` buckets start
on the UTC hour even in a +05:30 zone); `P1D` buckets start at the site's local midnight, so a
daylight-saving day is 23 or 25 hours long. A query gets every whole bucket that overlaps its
interval: entries always describe complete buckets, which keeps them comparable between calls
and lets them be answered exactly from rollups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridshare.telemetry.errors import TelemetryQueryError
from gridshare.telemetry.intervals import Interval
from gridshare.telemetry.resolution import Resolution

MAX_POINTS: Final = 10_000

Int64Array = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, eq=False)
class BucketGrid:
    """Consecutive buckets `[edges[i], edges[i+1])` in epoch seconds.

    `step` is the bucket length for epoch-aligned grids and `None` for local-day grids, whose
    buckets differ in length.
    """

    edges: Int64Array
    step: int | None

    @property
    def count(self) -> int:
        return int(self.edges.size) - 1

    @property
    def starts(self) -> Int64Array:
        return self.edges[:-1]

    @property
    def start_s(self) -> int:
        """Start of the first bucket: where a query must start reading."""
        return int(self.edges[0])

    @property
    def end_s(self) -> int:
        """End of the last bucket (exclusive)."""
        return int(self.edges[-1])

    def index(self, ts: npt.ArrayLike) -> IndexArray:
        """Bucket index of each epoch-second timestamp, `-1` where it lies outside the grid."""
        return bucket_index(np.asarray(ts, dtype=np.int64), self)

    def is_aligned_to(self, step: int) -> bool:
        """True if every edge is a multiple of `step`, so `step`-sized rollups nest inside."""
        return bool(np.all(self.edges % step == 0))


def get_zone(zone: str | tzinfo) -> tzinfo:
    """Accept an IANA name or a tzinfo; names are cached since ZoneInfo lookups touch disk."""
    return _zone(zone) if isinstance(zone, str) else zone


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def uniform_grid(start_s: int, end_s: int, step: int) -> BucketGrid:
    """Epoch-aligned buckets of `step` seconds covering `[start_s, end_s)`."""
    first = (start_s // step) * step
    last = -((-end_s) // step) * step
    return BucketGrid(np.arange(first, last + 1, step, dtype=np.int64), step)


def _local_date(ts: int, zone: tzinfo) -> date:
    return datetime.fromtimestamp(ts, zone).date()


def _local_midnight(day: date, zone: tzinfo) -> int:
    # fold=0 resolves a midnight that falls in a DST gap to the gap's end, the day's first
    # instant; a midnight after a fall-back is unambiguous.
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def local_day_count(start_s: int, end_s: int, zone: str | tzinfo) -> int:
    """How many local calendar days `[start_s, end_s)` touches (an upper bound on buckets)."""
    tz = get_zone(zone)
    return (_local_date(end_s - 1, tz) - _local_date(start_s, tz)).days + 1


def local_day_grid(start_s: int, end_s: int, zone: str | tzinfo) -> BucketGrid:
    """Buckets from local midnight to local midnight covering `[start_s, end_s)`.

    A calendar day a zone skipped entirely (Pacific/Apia, 2011-12-30) has no bucket.
    """
    tz = get_zone(zone)
    first = _local_date(start_s, tz)
    last = _local_date(end_s - 1, tz)
    parts = [_year_midnights(tz, year) for year in range(first.year, last.year + 1)]
    days = np.concatenate(parts)
    lo = first.timetuple().tm_yday - 1
    hi = days.size - parts[-1].size + last.timetuple().tm_yday
    closing = _local_midnight(last + timedelta(days=1), tz)
    edges = np.append(days[lo:hi], np.int64(closing))
    return BucketGrid(np.unique(edges), None)


@lru_cache(maxsize=1024)
def _year_midnights(zone: tzinfo, year: int) -> Int64Array:
    """Local midnights of every day of a year, cached: computing one costs ~3 µs in zoneinfo,
    which a 10,000-day query would otherwise pay 10,000 times per call."""
    first = date(year, 1, 1)
    count = (date(year, 12, 31) - first).days + 1
    one = timedelta(days=1)
    edges = np.array([_local_midnight(first + one * i, zone) for i in range(count)], np.int64)
    edges.setflags(write=False)
    return edges


def bucket_count(interval: Interval, resolution: Resolution, zone: str | tzinfo) -> int:
    """Number of buckets a query returns at most, computed without building the grid."""
    start_s, end_s = interval.start_s, interval.end_s
    if resolution.is_daily:
        return local_day_count(start_s, end_s, zone)
    step = resolution.seconds
    return -((-end_s) // step) - start_s // step


def bucket_grid(
    interval: Interval,
    resolution: Resolution,
    zone: str | tzinfo,
    *,
    max_points: int = MAX_POINTS,
) -> BucketGrid:
    """The grid for a query, after enforcing the point limit (`too_many_points`)."""
    count = bucket_count(interval, resolution, zone)
    if count > max_points:
        raise TelemetryQueryError(
            "too_many_points",
            f"interval {interval} at resolution {resolution.value} has {count} buckets; "
            f"at most {max_points} are allowed per call: shorten the interval or coarsen "
            "the resolution",
        )
    if resolution.is_daily:
        return local_day_grid(interval.start_s, interval.end_s, zone)
    return uniform_grid(interval.start_s, interval.end_s, resolution.seconds)


def bucket_index(ts: Int64Array, grid: BucketGrid) -> IndexArray:
    """Vectorised bucket lookup; `-1` marks timestamps outside the grid."""
    n = grid.count
    idx: IndexArray
    if grid.step is not None:
        idx = ((ts - grid.edges[0]) // grid.step).astype(np.intp)
    else:
        idx = np.searchsorted(grid.edges, ts, side="right").astype(np.intp) - 1
    idx[(idx < 0) | (idx >= n)] = -1
    return idx
