"""Minute arithmetic and site-local calendars.

The twin counts time in integer UTC epoch minutes so that chunk boundaries are exact, and reads
local wall-clock fields (hour, weekday, local day) from a vectorised `Calendar` because tariffs,
schedules and household habits follow site-local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_MINUTE = timedelta(minutes=1)
# 1970-01-01 was a Thursday; with Monday = 0 the weekday of epoch day d is (d + 3) % 7.
_EPOCH_WEEKDAY = 3


def to_minute(when: datetime) -> int:
    """UTC epoch minute of an aware, minute-aligned datetime (misaligned input is a caller bug)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: the twin needs aware datetimes")
    whole, rest = divmod(when - _EPOCH, _ONE_MINUTE)
    if rest:
        raise ValueError(f"{when.isoformat()} is not aligned to a whole minute")
    return int(whole)


def floor_minute(when: datetime) -> int:
    """The whole minute containing `when` (a runner simulates "up to now")."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: the twin needs aware datetimes")
    return int((when - _EPOCH) // _ONE_MINUTE)


def ceil_minute(when: datetime) -> int:
    """First whole minute at or after `when` (plans may start at any second)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: the twin needs aware datetimes")
    whole, rest = divmod(when - _EPOCH, _ONE_MINUTE)
    return int(whole) + (1 if rest else 0)


def from_minute(minute: int) -> datetime:
    return _EPOCH + timedelta(minutes=minute)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_to_utc_minute(local_minute: int, timezone: str) -> int:
    """UTC minute of a local wall-clock minute (first occurrence; times in a DST gap shift on)."""
    naive = _NAIVE_EPOCH + timedelta(minutes=local_minute)
    return to_minute(naive.replace(tzinfo=_zone(timezone)).astimezone(UTC))


@dataclass(frozen=True, eq=False)
class Calendar:
    """Per-minute local-time fields for the UTC minutes [start, start + n)."""

    start: int
    timezone: str
    local: IntArray
    """Local wall-clock minutes since 1970-01-01 00:00 local time."""

    @property
    def n(self) -> int:
        return int(self.local.shape[0])

    @property
    def end(self) -> int:
        return self.start + self.n

    @property
    def minutes(self) -> IntArray:
        return np.arange(self.start, self.end, dtype=np.int64)

    @property
    def day(self) -> IntArray:
        return self.local // MINUTES_PER_DAY

    @property
    def minute_of_day(self) -> IntArray:
        return self.local % MINUTES_PER_DAY

    @property
    def weekday(self) -> IntArray:
        """0 = Monday."""
        return (self.day + _EPOCH_WEEKDAY) % 7

    @property
    def minute_of_week(self) -> IntArray:
        """Minutes since Monday 00:00 local time."""
        return self.weekday * MINUTES_PER_DAY + self.minute_of_day

    def slice(self, lo: int, hi: int) -> Calendar:
        return Calendar(self.start + lo, self.timezone, self.local[lo:hi])

    def day_span(self) -> tuple[int, int]:
        """First and last local day touched (inclusive)."""
        if self.n == 0:
            raise ValueError("empty calendar")
        return int(self.local.min()) // MINUTES_PER_DAY, int(self.local.max()) // MINUTES_PER_DAY


def make_calendar(start: int, n: int, timezone: str) -> Calendar:
    utc_ns = (np.arange(start, start + n, dtype=np.int64) * 60) * 1_000_000_000
    index = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]"), tz="UTC").tz_convert(timezone)
    local_ns = index.tz_localize(None).asi8
    local = np.asarray(local_ns // 60_000_000_000, dtype=np.int64)
    return Calendar(start, timezone, local)


def take_daily(cal: Calendar, first_day: int, buffer: FloatArray) -> FloatArray:
    """Read a buffer laid out by local day (first_day at offset 0) at each minute of `cal`.

    Local-day buffers make events land at the same wall-clock time every day; on DST days a
    skipped hour drops its events and a repeated hour shows them twice, as real life would.
    """
    return np.asarray(buffer[cal.local - first_day * MINUTES_PER_DAY], dtype=np.float64)


def day_of_year(local_day: int) -> int:
    return (_NAIVE_EPOCH + timedelta(days=local_day)).timetuple().tm_yday


def local_day_of(minute: int, timezone: str) -> int:
    """The local day (days since 1970-01-01 local) containing a UTC minute."""
    local = from_minute(minute).astimezone(_zone(timezone)).replace(tzinfo=None)
    return (local - _NAIVE_EPOCH).days


def local_day_bounds(first_day: int, last_day: int, timezone: str) -> tuple[int, int]:
    """UTC minutes [start, end) covering local days first_day..last_day inclusive."""
    return (
        local_to_utc_minute(first_day * MINUTES_PER_DAY, timezone),
        local_to_utc_minute((last_day + 1) * MINUTES_PER_DAY, timezone),
    )
