"""Telemetry query building (ISO 8601 intervals and durations) and the splitting of long ranges
into calls that each stay within the API's 10,000-point limit.

Buckets: sub-day resolutions are multiples of the resolution since the Unix epoch, and a query
returns every whole bucket its interval touches; so chunks are cut on bucket edges, each chunk
holds at most `max_points` buckets, and the merged series has no duplicate. `P1D` buckets start
at the site's local midnight, which the client does not need to know: daily chunks are one day
shorter than the limit (a UTC span of N days touches at most N + 1 local days) and the merge
drops duplicate timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from gridshare_client.errors import InvalidArgument
from gridshare_client.models import TelemetryEntry

MAX_POINTS = 10_000

ResolutionName = Literal["PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "P1D"]
RESOLUTIONS: dict[str, int] = {
    "PT1M": 60,
    "PT5M": 300,
    "PT15M": 900,
    "PT30M": 1_800,
    "PT1H": 3_600,
    "P1D": 86_400,
}
Aggregation = Literal["default", "latest"]

_DURATION = re.compile(
    r"^P(?:(?P<W>\d+(?:[.,]\d+)?)W)?(?:(?P<D>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<H>\d+(?:[.,]\d+)?)H)?(?:(?P<M>\d+(?:[.,]\d+)?)M)?(?:(?P<S>\d+(?:[.,]\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"W": 604_800, "D": 86_400, "H": 3_600, "M": 60, "S": 1}


def parse_duration(text: str) -> timedelta:
    """`PT15M`, `P7D`, `P1W`, `PT1H30M`... (no years or months: their length varies)."""
    upper = text.strip().upper()
    match = _DURATION.match(upper)
    if match is None or upper in ("P", "PT") or upper.endswith("T"):
        raise InvalidArgument(f"not an ISO 8601 duration (weeks..seconds): {text!r}")
    seconds = 0.0
    for unit, value in match.groupdict().items():
        if value is not None:
            seconds += float(value.replace(",", ".")) * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise InvalidArgument(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    total = value.total_seconds()
    if total <= 0:
        raise InvalidArgument("duration must be positive")
    whole = int(total)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    fraction = total - whole
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        time += f"{seconds + fraction:g}S"
    return out + ("T" + time if time else "")


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime; naive datetimes and strings without an offset are read as UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidArgument(f"not an ISO 8601 date-time: {value!r}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    value = as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def as_duration(value: timedelta | str) -> timedelta:
    return parse_duration(value) if isinstance(value, str) else value


def resolution_seconds(resolution: str) -> int:
    canonical = canonical_resolution(resolution)
    return RESOLUTIONS[canonical]


def canonical_resolution(resolution: str | timedelta) -> ResolutionName:
    """`PT60M` → `PT1H`, `timedelta(minutes=15)` → `PT15M`; only the six allowed values."""
    seconds = (
        resolution.total_seconds()
        if isinstance(resolution, timedelta)
        else parse_duration(resolution).total_seconds()
    )
    for name, length in RESOLUTIONS.items():
        if seconds == length:
            return cast(ResolutionName, name)
    raise InvalidArgument(
        f"unsupported resolution {resolution!r}; use one of {', '.join(RESOLUTIONS)}"
    )


def parse_interval(text: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """`start/end`, `start/duration`, `duration/end`, or a bare `duration` ending now."""
    text = text.strip()
    if "/" not in text:
        end = as_utc(now or datetime.now(UTC))
        return end - parse_duration(text), end
    left, _, right = text.partition("/")
    if left.upper().startswith("P"):
        end = as_utc(right)
        return end - parse_duration(left), end
    start = as_utc(left)
    end = start + parse_duration(right) if right.upper().startswith("P") else as_utc(right)
    if end <= start:
        raise InvalidArgument(f"the interval ends before it starts: {text!r}")
    return start, end


def interval_param(
    start: datetime | str | None,
    end: datetime | str | None = None,
    duration: timedelta | str | None = None,
) -> str:
    """The `interval` query value: `start/end`, `start/duration` or (v1) `duration/end`."""
    if start is not None and end is not None:
        if duration is not None:
            raise InvalidArgument("give end or duration, not both")
        return f"{format_instant(as_utc(start))}/{format_instant(as_utc(end))}"
    if start is not None and duration is not None:
        return f"{format_instant(as_utc(start))}/{format_duration(as_duration(duration))}"
    if end is not None and duration is not None:
        return f"{format_duration(as_duration(duration))}/{format_instant(as_utc(end))}"
    raise InvalidArgument("an interval needs two of start, end and duration")


def resolve_range(
    start: datetime | str | None,
    end: datetime | str | None = None,
    duration: timedelta | str | None = None,
) -> tuple[datetime, datetime]:
    """Absolute [start, end) from any two of start, end and duration."""
    if start is not None and end is not None:
        first, last = as_utc(start), as_utc(end)
    elif start is not None and duration is not None:
        first = as_utc(start)
        last = first + as_duration(duration)
    elif end is not None and duration is not None:
        last = as_utc(end)
        first = last - as_duration(duration)
    else:
        raise InvalidArgument("an interval needs two of start, end and duration")
    if last <= first:
        raise InvalidArgument("the interval must end after it starts")
    return first, last


def bucket_count(start: datetime, end: datetime, resolution: str) -> int:
    """Buckets the API returns at most for [start, end) (an upper bound for `P1D`)."""
    step = resolution_seconds(resolution)
    a, b = int(start.timestamp()), int(end.timestamp())
    if resolution == "P1D":
        return (b - a + step - 1) // step + 1
    return -((-b) // step) - a // step


@dataclass(frozen=True)
class Chunk:
    start: datetime
    end: datetime


def plan_chunks(
    start: datetime, end: datetime, resolution: str, max_points: int = MAX_POINTS
) -> list[Chunk]:
    """Split [start, end) into consecutive calls of at most `max_points` buckets each."""
    if max_points < 2:
        raise InvalidArgument("max_points must be at least 2")
    resolution = canonical_resolution(resolution)
    step = RESOLUTIONS[resolution]
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InvalidArgument("the interval must end after it starts")
    chunks: list[Chunk] = []
    cursor = start
    if resolution == "P1D":
        span = timedelta(days=max_points - 1)
        while cursor < end:
            nxt = min(end, cursor + span)
            chunks.append(Chunk(cursor, nxt))
            cursor = nxt
        return chunks
    while cursor < end:
        first_edge = (int(cursor.timestamp()) // step) * step
        nxt = min(end, datetime.fromtimestamp(first_edge + max_points * step, UTC))
        chunks.append(Chunk(cursor, nxt))
        cursor = nxt
    return chunks


def merge_entries(parts: Iterable[Iterable[TelemetryEntry]]) -> list[TelemetryEntry]:
    """One series in time order; a bucket returned by two calls is kept once (the later)."""
    by_time: dict[datetime, TelemetryEntry] = {}
    for part in parts:
        for entry in part:
            by_time[entry.timestamp] = entry
    return [by_time[t] for t in sorted(by_time)]
