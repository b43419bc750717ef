"""Pure rules of the site views: site-local months (DST, year ends, limits), role parsing, and
tariff pages walking backwards over an interval (checked against per-minute prices)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridshare.api.errors import status_of
from gridshare.fleet.savings import months_of
from gridshare.fleet.tariff_pages import PageRequest, parse_token, price_runs, tariff_page
from gridshare.homes.errors import DomainError
from gridshare.homes.site_streams import parse_roles
from gridshare.homes.topology import SensorRole
from gridshare.twin.tariffs import TARIFFS
from gridshare.twin.timebase import make_calendar

NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


def test_default_months_are_the_running_one_and_eleven_before() -> None:
    months = months_of(None, "Pacific/Auckland", NOW)  # already Dec 8th there
    assert months[0].label == "2026-01" and months[-1].label == "2026-12"
    assert len(months) == 12
    zone = ZoneInfo("Pacific/Auckland")
    for month in months:
        start = datetime.fromtimestamp(month.start_s, zone)
        assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(months))


def test_months_follow_the_site_zone_and_exclusive_end() -> None:
    months = months_of("2026-03-01T00:00:00Z/2026-04-01T00:00:00Z", "America/Los_Angeles", NOW)
    # 00:00Z on March 1st is still February in Los Angeles; the end is exclusive
    assert [m.label for m in months] == ["2026-02", "2026-03"]
    # April starts at 23:00Z in London (summer time): the hour after it touches April
    touched = months_of("2026-03-01T00:00:00Z/2026-04-01T00:00:00Z", "Europe/London", NOW)
    assert [m.label for m in touched] == ["2026-03", "2026-04"]
    london = months_of("2026-03-01T00:00:00Z/2026-03-31T23:00:00Z", "Europe/London", NOW)
    assert [m.label for m in london] == ["2026-03"]
    assert london[0].end_s - london[0].start_s == 31 * 86_400 - 3600  # the clocks go forward


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("soon", "malformed_interval"),
        ("2000-01-01T00:00:00Z/2026-01-01T00:00:00Z", "interval_too_long"),
        ("2199-12-01T00:00:00Z/P60D", "interval_out_of_range"),
    ],
)
def test_bad_month_intervals(raw: str, code: str) -> None:
    with pytest.raises(DomainError) as err:
        months_of(raw, "UTC", NOW)
    assert (status_of(err.value), err.value.code) == (400, code)


def test_roles() -> None:
    assert parse_roles(None) is None and parse_roles("  ") is None
    assert parse_roles("PV, hotWater,hot_water") == {SensorRole.PV, SensorRole.HOT_WATER}
    for bad in ("sun", ",", "pv,,x", "x" * 201):
        with pytest.raises(DomainError) as err:
            parse_roles(bad)
        assert err.value.code == "malformed_roles"


@pytest.mark.parametrize("tariff_id", sorted(TARIFFS))
@pytest.mark.parametrize("zone", ["Europe/London", "Asia/Kolkata", "America/Los_Angeles"])
def test_pages_walk_back_over_the_interval_once(tariff_id: str, zone: str) -> None:
    tariff = TARIFFS[tariff_id]
    start, end = 1_774_000_020, 1_775_900_040  # about 22 days over a DST change, odd minutes
    request = PageRequest(tariff_id, "import", start, end)
    runs: list[tuple[int, int, float]] = []
    pages = 0
    while True:
        page = tariff_page(tariff, request, zone)
        pages += 1
        got = [
            (int(datetime.fromisoformat(e["start"]).timestamp()),
             int(datetime.fromisoformat(e["end"]).timestamp()), e["price"])
            for e in page["entries"]
        ]  # fmt: skip
        assert got == sorted(got, reverse=True) and got[0][1] - got[-1][0] <= 7 * 86_400
        runs += got
        if "nextToken" not in page:
            break
        request = parse_token(page["nextToken"], tariff_id)
    assert pages == 4
    runs.sort()
    assert runs[0][0] == start and runs[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    cal = make_calendar(start // 60, (end - start) // 60, zone)
    prices = tariff.import_prices(cal)
    rebuilt = np.concatenate([np.full((b - a) // 60, price) for a, b, price in runs])
    assert np.array_equal(rebuilt, prices)
    assert price_runs(tariff, "export", zone, start, start) == []
