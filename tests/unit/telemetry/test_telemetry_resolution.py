"""`resolution`, `include`, `aggregation` and the whole-query parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.telemetry.errors import ERROR_CODES, TelemetryQueryError
from gridshare.telemetry.query import parse_telemetry_query
from gridshare.telemetry.resolution import (
    Aggregation,
    Include,
    Resolution,
    parse_aggregation,
    parse_include,
    parse_resolution,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Resolution.PT15M),
        ("", Resolution.PT15M),
        ("PT1M", Resolution.PT1M),
        ("PT60S", Resolution.PT1M),
        ("PT5M", Resolution.PT5M),
        ("PT300S", Resolution.PT5M),
        ("PT15M", Resolution.PT15M),
        ("pt15m", Resolution.PT15M),
        ("PT0.25H", Resolution.PT15M),
        ("PT900S", Resolution.PT15M),
        ("PT30M", Resolution.PT30M),
        ("PT0,5H", Resolution.PT30M),
        ("PT1H", Resolution.PT1H),
        ("PT60M", Resolution.PT1H),
        ("PT3600S", Resolution.PT1H),
        ("P1D", Resolution.P1D),
        ("PT24H", Resolution.P1D),
        ("PT1440M", Resolution.P1D),
        (" P1D ", Resolution.P1D),
    ],
)
def test_resolutions(text: str | None, expected: Resolution) -> None:
    assert parse_resolution(text) is expected


def test_canonical_spelling_and_seconds() -> None:
    assert [r.value for r in Resolution] == ["PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "P1D"]
    assert [r.seconds for r in Resolution] == [60, 300, 900, 1800, 3600, 86400]
    assert parse_resolution("PT60M").value == "PT1H"
    assert [r.is_daily for r in Resolution] == [False] * 5 + [True]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("15", "malformed_resolution"),
        ("15m", "malformed_resolution"),
        ("PT", "malformed_resolution"),
        ("-PT15M", "malformed_resolution"),
        ("PT15", "malformed_resolution"),
        ("quarter-hour", "malformed_resolution"),
        ("ＰＴ15Ｍ", "malformed_resolution"),
        ("PT" + "1" * 100 + "M", "malformed_resolution"),
        ("PT10M", "unsupported_resolution"),
        ("PT2H", "unsupported_resolution"),
        ("PT0S", "unsupported_resolution"),
        ("PT1S", "unsupported_resolution"),
        ("P1W", "unsupported_resolution"),
        ("P2D", "unsupported_resolution"),
        ("P1M", "unsupported_resolution"),
        ("P1Y", "unsupported_resolution"),
        ("PT1.5M", "unsupported_resolution"),
    ],
)
def test_resolution_refusals(text: str, code: str) -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_resolution(text)
    assert err.value.code == code
    if code == "unsupported_resolution":
        assert "PT15M" in err.value.message


@pytest.mark.parametrize(
    ("text", "energy"),
    [
        (None, False),
        ("", False),
        ("default", False),
        ("energy", True),
        ("default,energy", True),
        ("energy,default", True),
        ("Default, ENERGY", True),
        ("default,", False),
        ("energy,energy", True),
    ],
)
def test_include(text: str | None, energy: bool) -> None:
    assert parse_include(text) == Include(energy=energy)


@pytest.mark.parametrize("text", [",", " , ", "power", "default;energy", "default,all", "é"])
def test_include_refusals(text: str) -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_include(text)
    assert err.value.code == "malformed_include"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Aggregation.DEFAULT),
        ("", Aggregation.DEFAULT),
        ("default", Aggregation.DEFAULT),
        ("DEFAULT", Aggregation.DEFAULT),
        ("mean", Aggregation.DEFAULT),
        ("latest", Aggregation.LATEST),
        ("Latest", Aggregation.LATEST),
        ("last", Aggregation.LATEST),
    ],
)
def test_aggregation(text: str | None, expected: Aggregation) -> None:
    assert parse_aggregation(text) is expected


@pytest.mark.parametrize("text", ["max", "avg", "latest,default", "ｌatest", "x" * 500])
def test_aggregation_refusals(text: str) -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_aggregation(text)
    assert err.value.code == "malformed_aggregation"


@settings(max_examples=300)
@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=80))
def test_any_text_gives_a_value_or_a_coded_error(res: str, inc: str, agg: str) -> None:
    for parse, code in (
        (parse_resolution, "resolution"),
        (parse_include, "malformed_include"),
        (parse_aggregation, "malformed_aggregation"),
    ):
        text = {"resolution": res, "malformed_include": inc}.get(code, agg)
        try:
            parse(text)
        except TelemetryQueryError as err:
            assert code in err.code


def test_query_defaults() -> None:
    q = parse_telemetry_query("2026-04-01T00:00:00Z/PT24H")
    assert q.resolution is Resolution.PT15M
    assert q.include == Include(energy=False)
    assert q.aggregation is Aggregation.DEFAULT
    assert q.grid.count == 96


def test_query_reports_the_first_mistake() -> None:
    with pytest.raises(TelemetryQueryError) as err:
        parse_telemetry_query("nope", "PT7M", "x", "y")
    assert err.value.code == "malformed_interval"
    with pytest.raises(TelemetryQueryError) as err:
        parse_telemetry_query("2026-04-01T00:00:00Z/PT24H", "PT7M", "x", "y")
    assert err.value.code == "unsupported_resolution"
    with pytest.raises(TelemetryQueryError) as err:
        parse_telemetry_query("2026-04-01T00:00:00Z/PT24H", "PT5M", "x", "y")
    assert err.value.code == "malformed_include"
    with pytest.raises(TelemetryQueryError) as err:
        parse_telemetry_query("2026-04-01T00:00:00Z/PT24H", "PT5M", "energy", "y")
    assert err.value.code == "malformed_aggregation"


@pytest.mark.parametrize(
    ("interval", "resolution", "ok"),
    [
        ("2026-01-01T00:00:00Z/PT10000M", "PT1M", True),
        ("2026-01-01T00:00:00Z/PT10001M", "PT1M", False),
        ("2026-01-01T00:00:30Z/PT9999M", "PT1M", True),  # misaligned: touches 10,000
        ("2026-01-01T00:00:30Z/PT10000M", "PT1M", False),  # misaligned: touches 10,001
        ("2026-01-01T00:00:00Z/P10000D", "PT1H", False),
        ("2026-01-01T00:00:00Z/PT10000H", "PT1H", True),
        ("2000-01-01T00:00:00Z/P10000D", "P1D", True),
        ("2000-01-01T00:00:00Z/P10001D", "P1D", False),
    ],
)
def test_point_limit(interval: str, resolution: str, ok: bool) -> None:
    if ok:
        assert parse_telemetry_query(interval, resolution).grid.count <= 10_000
    else:
        with pytest.raises(TelemetryQueryError) as err:
            parse_telemetry_query(interval, resolution)
        assert err.value.code == "too_many_points"
        assert "10000" in err.value.message


def test_point_limit_counts_local_days() -> None:
    # 10,000 UTC days from UTC midnight touch 10,001 local days in New York.
    interval = "2000-01-01T00:00:00Z/P10000D"
    assert parse_telemetry_query(interval, "P1D", zone="UTC").grid.count == 10_000
    with pytest.raises(TelemetryQueryError) as err:
        parse_telemetry_query(interval, "P1D", zone="America/New_York")
    assert err.value.code == "too_many_points"
    local = "2000-01-01T00:00:00-05:00/2027-05-19T00:00:00-04:00"
    assert parse_telemetry_query(local, "P1D", zone="America/New_York").grid.count == 10_000


def test_error_codes_are_known() -> None:
    assert {"malformed_interval", "too_many_points", "malformed_include"} <= ERROR_CODES
