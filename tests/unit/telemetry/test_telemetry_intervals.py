"""The `interval` parameter: accepted forms, refusals with the right code, and fuzzing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.telemetry.errors import TelemetryQueryError
from gridshare.telemetry.intervals import (
    MAX_INSTANT,
    MIN_INSTANT,
    DurationError,
    parse_datetime,
    parse_duration,
    parse_interval,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-04-01T00:00:00Z/PT24H", utc(2026, 4, 1), utc(2026, 4, 2)),
        ("2026-04-01T00:00:00Z/2026-04-08T00:00:00Z", utc(2026, 4, 1), utc(2026, 4, 8)),
        ("2026-04-01T00:00:00+00:00/P1W", utc(2026, 4, 1), utc(2026, 4, 8)),
        ("2026-04-01T02:00:00+02:00/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-04-01T00:00:00-07:00/PT1H", utc(2026, 4, 1, 7), utc(2026, 4, 1, 8)),
        ("2026-04-01T05:30:00+0530/PT15M", utc(2026, 4, 1), utc(2026, 4, 1, 0, 15)),
        ("2026-04-01T01:00:00+01/PT15M", utc(2026, 4, 1), utc(2026, 4, 1, 0, 15)),
        # an unencoded "+" arrives as a space
        ("2026-04-01T01:00:00 01:00/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        # no designator: UTC, as the contract says all times are
        ("2026-04-01T00:00:00/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-04-01T00:00/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-04-01/2026-04-02", utc(2026, 4, 1), utc(2026, 4, 2)),
        ("20260401T000000Z/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("20260401T0100+0100/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-03-31T24:00:00Z/PT1H", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-04-01t00:00:00z/pt1h", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("  2026-04-01T00:00:00Z/PT1H  ", utc(2026, 4, 1), utc(2026, 4, 1, 1)),
        ("2026-04-01T00:00:00Z/P1DT12H", utc(2026, 4, 1), utc(2026, 4, 2, 12)),
        ("2026-04-01T00:00:00Z/PT1.5H", utc(2026, 4, 1), utc(2026, 4, 1, 1, 30)),
        ("2026-04-01T00:00:00Z/PT1,5H", utc(2026, 4, 1), utc(2026, 4, 1, 1, 30)),
        ("2026-04-01T00:00:00Z/P0Y0M1D", utc(2026, 4, 1), utc(2026, 4, 2)),
        (
            "2026-04-01T00:00:00.250Z/PT1S",
            utc(2026, 4, 1) + timedelta(milliseconds=250),
            utc(2026, 4, 1, 0, 0, 1) + timedelta(milliseconds=250),
        ),
    ],
)
def test_accepted_forms(text: str, start: datetime, end: datetime) -> None:
    interval = parse_interval(text)
    assert (interval.start, interval.end) == (start, end)
    assert interval.start.tzinfo is UTC or interval.start.utcoffset() == timedelta(0)


def test_duration_end_only_on_v1() -> None:
    interval = parse_interval("P7D/2026-01-07T00:00:00Z", api_version=1)
    assert (interval.start, interval.end) == (utc(2025, 12, 31), utc(2026, 1, 7))
    with pytest.raises(TelemetryQueryError) as err:
        parse_interval("P7D/2026-01-07T00:00:00Z", api_version=2)
    assert err.value.code == "malformed_interval"
    assert "v1" in err.value.message


def test_v1_still_accepts_the_v2_forms() -> None:
    assert parse_interval("2026-04-01T00:00:00Z/PT24H", api_version=1).end == utc(2026, 4, 2)


def test_whole_second_bounds() -> None:
    interval = parse_interval("2026-04-01T00:00:00.5Z/2026-04-01T00:01:00.5Z")
    # ts >= 00:00:00.5 <=> ts >= 00:00:01; ts < 00:01:00.5 <=> ts < 00:01:01 (integers)
    assert interval.start_s == int(utc(2026, 4, 1, 0, 0, 1).timestamp())
    assert interval.end_s == int(utc(2026, 4, 1, 0, 1, 1).timestamp())
    exact = parse_interval("2026-04-01T00:00:00Z/PT1M")
    assert exact.end_s - exact.start_s == 60
    assert str(exact) == "2026-04-01T00:00:00Z/2026-04-01T00:01:00Z"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (None, "malformed_interval"),
        ("", "malformed_interval"),
        ("   ", "malformed_interval"),
        ("2026-04-01T00:00:00Z", "malformed_interval"),
        ("2026-04-01T00:00:00Z/", "malformed_interval"),
        ("/PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT1H/PT1H", "malformed_interval"),
        ("PT1H/PT1H", "malformed_interval"),
        ("R5/2026-04-01T00:00:00Z/PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/P1M", "malformed_interval"),
        ("2026-04-01T00:00:00Z/P1Y", "malformed_interval"),
        ("2026-04-01T00:00:00Z/-PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/P", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT", "malformed_interval"),
        ("2026-04-01T00:00:00Z/P1DT", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT1.5H30M", "malformed_interval"),
        ("2026-04-01T00:00:00Z/P1H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/1H", "malformed_interval"),
        ("2026-13-01T00:00:00Z/PT1H", "malformed_interval"),
        ("2026-02-30T00:00:00Z/PT1H", "malformed_interval"),
        ("2026-04-01T25:00:00Z/PT1H", "malformed_interval"),
        ("2026-04-01T24:00:01Z/PT1H", "malformed_interval"),
        ("2026-04-01T23:60:00Z/PT1H", "malformed_interval"),
        ("2026-04-01T23:59:60Z/PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00+24:00/PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00+01:60/PT1H", "malformed_interval"),
        ("2026-04-01Z/PT1H", "malformed_interval"),
        ("2026-4-1T00:00:00Z/PT1H", "malformed_interval"),
        ("yesterday/today", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT1H\x00", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT1H\n", "malformed_interval"),
        ("2026-04-01T00:00:00Z/ＰT1H", "malformed_interval"),
        ("２０２６-04-01T00:00:00Z/PT1H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT" + "1" * 300 + "H", "malformed_interval"),
        ("2026-04-01T00:00:00Z/PT1234567890123H", "malformed_interval"),
        ("1969-12-31T23:59:59Z/PT1H", "interval_out_of_range"),
        ("1970-01-01T00:30:00+01:00/PT1H", "interval_out_of_range"),
        ("9999-12-31T00:00:00Z/PT1H", "interval_out_of_range"),
        ("9998-12-31T00:00:00Z/P1000D", "interval_out_of_range"),
        ("2026-04-01T00:00:00Z/PT999999999999H", "interval_out_of_range"),
        ("P1000000D/2026-04-01T00:00:00Z", "interval_out_of_range"),
        ("2026-04-02T00:00:00Z/2026-04-01T00:00:00Z", "interval_reversed"),
        ("2026-04-01T03:00:00+02:00/2026-04-01T00:00:00Z", "interval_reversed"),
        ("2026-04-01T00:00:00Z/2026-04-01T00:00:00Z", "empty_interval"),
        ("2026-04-01T00:00:00Z/PT0S", "empty_interval"),
        ("2026-04-01T02:00:00+02:00/2026-04-01T00:00:00Z", "empty_interval"),
    ],
)
def test_refusals(text: str | None, code: str) -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_interval(text, api_version=1 if text and text.startswith("P1000000D") else 2)
    assert err.value.code == code, err.value.message
    assert err.value.to_dict() == {"message": err.value.message, "code": code}


def test_calendar_units_get_a_clear_message() -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_interval("2026-04-01T00:00:00Z/P1M")
    assert "calendar" in err.value.message
    assert "P30D" in err.value.message


def test_error_messages_quote_input_briefly() -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_interval("x" * 199)
    assert len(err.value.message) < 200


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT15M", 900),
        ("PT0.25H", 900),
        ("PT900S", 900),
        ("P1W", 604_800),
        ("P1W1D", 691_200),
        ("P1DT1H1M1S", 90_061),
        ("PT0.5S", 0.5),
        ("P0D", 0),
    ],
)
def test_duration_values(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("P1Y", "calendar"),
        ("P2M", "calendar"),
        ("P1.5M", "calendar"),
        ("PT", "malformed"),
        ("P1DT", "malformed"),
        ("1D", "malformed"),
        ("-P1D", "malformed"),
        ("P1S", "malformed"),
    ],
)
def test_duration_refusals(text: str, kind: str) -> None:
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    assert err.value.kind == kind


instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9990, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(start=instants, seconds=st.integers(min_value=1, max_value=400 * 86_400), tz=offsets)
def test_round_trip(start: datetime, seconds: int, tz: timezone) -> None:
    local = start.astimezone(tz).isoformat()
    end = start + timedelta(seconds=seconds)
    by_duration = parse_interval(f"{local}/PT{seconds}S")
    by_end = parse_interval(f"{local}/{end.isoformat().replace('+00:00', 'Z')}")
    assert by_duration == by_end
    assert (by_end.start, by_end.end) == (start, end)
    assert by_end.end_s - by_end.start_s == seconds
    v1 = parse_interval(f"PT{seconds}S/{end.astimezone(tz).isoformat()}", api_version=1)
    assert (v1.start, v1.end) == (start, end)


@settings(max_examples=400)
@given(st.text(max_size=250))
def test_any_text_gives_a_result_or_a_coded_error(text: str) -> None:
    for version in (1, 2):
        try:
            interval = parse_interval(text, api_version=version)
        except TelemetryQueryError as err:
            assert err.code in {
                "malformed_interval",
                "interval_out_of_range",
                "interval_reversed",
                "empty_interval",
            }
        else:
            assert MIN_INSTANT <= interval.start < interval.end <= MAX_INSTANT


@settings(max_examples=300)
@given(
    st.from_regex(
        r"\A[0-9]{4}-?[0-9]{2}-?[0-9]{2}(T[0-9]{2}(:?[0-9]{2}(:?[0-9]{2}([.,][0-9]{1,9})?)?)?"
        r"(Z|[+\- ][0-9]{2}(:?[0-9]{2})?)?)?/P([0-9]{1,3}[YMWD])*(T([0-9]{1,3}[HMS])+)?\Z"
    )
)
def test_near_miss_text_gives_a_result_or_a_coded_error(text: str) -> None:
    try:
        parse_interval(text)
    except TelemetryQueryError as err:
        assert err.code.endswith(("interval", "range", "reversed"))


def test_parse_datetime_converts_offsets() -> None:
    assert parse_datetime("2026-10-25T01:30:00+01:00") == utc(2026, 10, 25, 0, 30)
