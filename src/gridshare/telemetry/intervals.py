"""Parse the telemetry `interval` parameter: an ISO 8601 time interval, read in UTC.

Accepted (see docs/telemetry.md for the reasons):

* forms `start/end` and `start/duration`; on API v1 also `duration/end`;
* date-times in ISO 8601 extended (`2026-04-01T00:00:00Z`) or basic (`20260401T000000Z`)
  format, with `Z` or any numeric offset (converted to UTC); no designator means UTC, as the
  contract says every time is UTC; a bare date means 00:00 UTC; `24:00` means the next midnight;
  a space where the offset's `+` should be is read as `+` (an unencoded `+` in a query string
  arrives as a space);
* durations built of weeks, days, hours, minutes and seconds (a decimal fraction only on the
  last component); years and months are refused because their length depends on the calendar.

The interval is half-open, `[start, end)`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Final

from gridshare.telemetry.errors import TelemetryQueryError, show

MAX_INTERVAL_LENGTH: Final = 200
MAX_DURATION_LENGTH: Final = 64

#: Earliest and latest instants a query may name: nothing is stored before the epoch, and the
#: upper bound leaves room for local-day arithmetic below `datetime.max`.
MIN_INSTANT: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT: Final = datetime(9999, 1, 1, tzinfo=UTC)

_EPOCH: Final = MIN_INSTANT

_TZ = r"(?P<tz>Z|[+\- ]\d{2}(?::?\d{2})?)"
_EXTENDED: Final = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?" + _TZ + "?)?"
)
_BASIC: Final = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?:(?P<mi>\d{2})(?:(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?" + _TZ + "?)?"
)

_NUM = r"\d{1,12}(?:[.,]\d{1,9})?"
_DURATION: Final = re.compile(
    rf"P(?:(?P<Y>{_NUM})Y)?(?:(?P<MO>{_NUM})M)?(?:(?P<W>{_NUM})W)?(?:(?P<D>{_NUM})D)?"
    rf"(?:T(?:(?P<H>{_NUM})H)?(?:(?P<MI>{_NUM})M)?(?:(?P<S>{_NUM})S)?)?"
)
_DURATION_PARTS: Final = ("Y", "MO", "W", "D", "H", "MI", "S")
_SECONDS_PER: Final = {"W": 604_800, "D": 86_400, "H": 3_600, "MI": 60, "S": 1}


class DurationError(ValueError):
    """Why a duration was refused: `kind` is `malformed` or `calendar` (years/months)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def parse_duration(text: str) -> Fraction:
    """Parse an ISO 8601 duration into an exact number of seconds (may be zero).

    Exact arithmetic lets `PT0.25H` and `PT900S` compare equal to `PT15M` without float noise.
    Callers map `DurationError` to their own error code.
    """
    if len(text) > MAX_DURATION_LENGTH or not text.isascii():
        raise DurationError("malformed", f"{show(text)} is not an ISO 8601 duration")
    upper = text.upper()
    if upper.startswith(("-", "+")):
        raise DurationError("malformed", f"durations must be written unsigned, not {show(text)}")
    match = _DURATION.fullmatch(upper)
    if match is None or upper in ("P", "PT") or upper.endswith("T"):
        raise DurationError(
            "malformed",
            f"{show(text)} is not an ISO 8601 duration such as PT15M, PT24H or P7D",
        )
    present = [name for name in _DURATION_PARTS if match.group(name) is not None]
    for name in present[:-1]:
        if any(sep in match.group(name) for sep in ".,"):
            raise DurationError(
                "malformed", f"in {show(text)} only the last component may have a fraction"
            )
    values = {name: _number(match.group(name)) for name in present}
    if values.get("Y") or values.get("MO"):
        raise DurationError(
            "calendar",
            f"{show(text)} uses years or months, whose length depends on the calendar; "
            "write it in weeks, days, hours, minutes or seconds (e.g. P30D)",
        )
    total: Fraction | int = 0
    for name in present:
        if name in _SECONDS_PER:
            total += values[name] * _SECONDS_PER[name]
    return Fraction(total)


def _number(text: str) -> Fraction | int:
    # Exact arithmetic only when there is a fraction: the common integer case stays cheap.
    if text.isdigit():
        return int(text)
    return Fraction(text.replace(",", "."))


def parse_datetime(text: str) -> datetime:
    """Parse one ISO 8601 date-time (see the module doc for the forms) into an aware UTC datetime.

    Raises `TelemetryQueryError` (`malformed_interval`, `interval_out_of_range`).
    """
    upper = text.upper()
    match = _EXTENDED.fullmatch(upper) or _BASIC.fullmatch(upper)
    if match is None:
        raise TelemetryQueryError(
            "malformed_interval",
            f"{show(text)} is not an ISO 8601 date-time such as 2026-04-01T00:00:00Z",
        )
    g = match.groupdict()
    try:
        hour = int(g["h"] or 0)
        minute = int(g["mi"] or 0)
        second = int(g["s"] or 0)
        fraction = g["f"] or ""
        micro = int((fraction + "000000")[:6])
        next_day = hour == 24
        if next_day:
            if minute or second or fraction.strip("0"):
                raise ValueError("24:00 is only valid as 24:00:00")
            hour = 0
        naive = datetime(int(g["y"]), int(g["mo"]), int(g["d"]), hour, minute, second, micro)
        offset = _offset(g["tz"])
    except ValueError as exc:
        raise TelemetryQueryError(
            "malformed_interval", f"{show(text)} is not a valid date-time ({exc})"
        ) from None
    out_of_range = TelemetryQueryError(
        "interval_out_of_range",
        f"{show(text)} is outside the supported range 1970-01-01 to 9999-01-01 UTC",
    )
    try:
        instant = naive.replace(tzinfo=UTC) - offset + timedelta(days=1 if next_day else 0)
    except OverflowError:
        raise out_of_range from None
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        raise out_of_range
    return instant


def _offset(tz: str | None) -> timedelta:
    if tz is None or tz == "Z":
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {tz.strip()} out of range")
    return sign * timedelta(hours=hours, minutes=minutes)


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open UTC interval `[start, end)` with `start < end`."""

    start: datetime
    end: datetime

    @property
    def start_s(self) -> int:
        """First whole epoch second inside the interval (samples are stamped in whole seconds)."""
        return _ceil_seconds(self.start)

    @property
    def end_s(self) -> int:
        """Exclusive end in whole epoch seconds: `ts < end` and `ts < end_s` agree for integers."""
        return _ceil_seconds(self.end)

    def __str__(self) -> str:
        return f"{_iso(self.start)}/{_iso(self.end)}"


def _ceil_seconds(instant: datetime) -> int:
    delta = instant - _EPOCH
    return delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def parse_interval(text: str | None, *, api_version: int = 2) -> Interval:
    """Parse the `interval` query parameter.

    `api_version` 1 also accepts `duration/end`, which the v1 reference documents and v2 does
    not. Raises `TelemetryQueryError` with `malformed_interval`, `interval_out_of_range`,
    `interval_reversed` or `empty_interval`.
    """
    if text is None or not text.strip():
        raise TelemetryQueryError(
            "malformed_interval",
            "the interval parameter is required, e.g. interval=2026-04-01T00:00:00Z/PT24H",
        )
    if len(text) > MAX_INTERVAL_LENGTH:
        raise TelemetryQueryError(
            "malformed_interval", f"interval is longer than {MAX_INTERVAL_LENGTH} characters"
        )
    if not text.isascii() or not text.isprintable():
        raise TelemetryQueryError(
            "malformed_interval", "interval may contain only printable ASCII characters"
        )
    text = text.strip()
    parts = text.split("/")
    if len(parts) != 2 or not all(parts):
        raise TelemetryQueryError(
            "malformed_interval",
            f"{show(text)} is not an ISO 8601 interval: write start/end or start/duration, "
            "e.g. 2026-04-01T00:00:00Z/PT24H",
        )
    first, second = parts
    if first[0] in "Rr":
        raise TelemetryQueryError("malformed_interval", "repeating intervals are not supported")
    first_is_duration = first[0] in "Pp+-"
    second_is_duration = second[0] in "Pp+-"
    if first_is_duration and second_is_duration:
        raise TelemetryQueryError(
            "malformed_interval", f"{show(text)} has two durations and no date-time"
        )
    if first_is_duration:
        if api_version < 2:
            end = parse_datetime(second)
            length = _interval_duration(first)
            if length > end - MIN_INSTANT:
                raise TelemetryQueryError(
                    "interval_out_of_range", f"{show(text)} starts before 1970-01-01T00:00:00Z"
                )
            return _checked(end - length, end, text)
        raise TelemetryQueryError(
            "malformed_interval",
            "write the interval as start/end or start/duration (duration/end is accepted on "
            "/api/v1 only)",
        )
    start = parse_datetime(first)
    if second_is_duration:
        length = _interval_duration(second)
        if length > MAX_INSTANT - start:
            raise TelemetryQueryError(
                "interval_out_of_range", f"{show(text)} ends after 9999-01-01T00:00:00Z"
            )
        return _checked(start, start + length, text)
    return _checked(start, parse_datetime(second), text)


def _interval_duration(text: str) -> timedelta:
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise TelemetryQueryError("malformed_interval", exc.message) from None
    micros = math.ceil(seconds * 1_000_000)
    if micros > (MAX_INSTANT - MIN_INSTANT) // timedelta(microseconds=1):
        raise TelemetryQueryError(
            "interval_out_of_range", f"duration {show(text)} is longer than the supported range"
        )
    return timedelta(microseconds=micros)


def _checked(start: datetime, end: datetime, text: str) -> Interval:
    if end < start:
        raise TelemetryQueryError(
            "interval_reversed", f"interval {show(text)} ends before it starts"
        )
    if end == start:
        raise TelemetryQueryError("empty_interval", f"interval {show(text)} has zero length")
    return Interval(start, end)
