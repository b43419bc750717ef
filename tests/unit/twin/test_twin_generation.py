"""PV, household load and tariffs: physical sense, determinism and range independence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.twin.twin_support import property_settings

from gridshare.twin import DYNAMIC, FLAT, TARIFFS, TOU, PvArray, TwinSite, price_periods
from gridshare.twin.load import base_load_w
from gridshare.twin.pv import pv_power_w, solar_geometry
from gridshare.twin.tariffs import tariff_by_id
from gridshare.twin.timebase import make_calendar, to_minute

YEAR_START = to_minute(datetime(2025, 1, 1, tzinfo=UTC))


def london(seed: int = 1, **overrides: object) -> TwinSite:
    fields: dict[str, object] = {
        "site_id": "pv", "latitude": 51.5, "longitude": -0.12, "timezone": "Europe/London",
        "seed": seed, "pv_arrays": [PvArray(4000, 180, 35)], "inverter_rated_w": 5000,
    }  # fmt: skip
    fields.update(overrides)
    return TwinSite(**fields)  # type: ignore[arg-type]


@property_settings(20)
@given(
    seed=st.integers(0, 2**32),
    latitude=st.floats(-60, 65),
    longitude=st.floats(-180, 180),
    day=st.integers(0, 364),
)
def test_pv_is_zero_at_night(seed: int, latitude: float, longitude: float, day: int) -> None:
    site = london(seed, latitude=latitude, longitude=longitude)
    start = YEAR_START + day * 1440
    pv = pv_power_w(site, make_calendar(start, 1440, "UTC"))
    times = pd.date_range(
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=30), periods=1440, freq="min"
    )
    # An independent reference (NREL SPA): with the sun a degree below the horizon, no power.
    elevation = pvlib.solarposition.get_solarposition(times, latitude, longitude)["elevation"]
    assert np.all(pv[elevation.to_numpy() < -1.0] == 0.0)
    assert np.all(pv <= 0.0) and np.all(pv >= -site.inverter_rated_w)


@property_settings(20)
@given(seed=st.integers(0, 2**32), lo=st.integers(0, 20000), length=st.integers(1, 5000))
def test_pv_and_load_do_not_depend_on_the_range(seed: int, lo: int, length: int) -> None:
    site = london(seed)
    wide = make_calendar(YEAR_START, 26000, site.timezone)
    narrow = make_calendar(YEAR_START + lo, length, site.timezone)
    assert np.array_equal(pv_power_w(site, wide)[lo : lo + length], pv_power_w(site, narrow))
    assert np.array_equal(base_load_w(seed, wide)[lo : lo + length], base_load_w(seed, narrow))


def test_pv_yield_and_shape_are_plausible() -> None:
    cal = make_calendar(YEAR_START, 525_600, "Europe/London")
    for seed in (1, 2):
        pv = pv_power_w(london(seed), cal)
        kwh_per_kwp = -pv.sum() / 60 / 1000 / 4
        assert 800 < kwh_per_kwp < 1200  # London, south-facing
        by_month = -pv.reshape(365, 1440).sum(axis=1)
        assert by_month[150:200].mean() > 3 * by_month[:30].mean()  # summer vs January
    summer = winter = 0.0
    for seed in (1, 2, 3):  # north-facing in Sydney: January is summer
        sydney = london(seed, latitude=-33.9, longitude=151.2, pv_arrays=[PvArray(4000, 0, 30)])
        daily = -pv_power_w(sydney, cal).reshape(365, 1440).sum(axis=1)
        summer, winter = summer + daily[:45].sum(), winter + daily[160:205].sum()
    assert summer > 1.15 * winter


def test_pv_is_clipped_at_the_inverter_and_geometry_matches_spa() -> None:
    site = london(5, pv_arrays=[PvArray(9000, 180, 35)], inverter_rated_w=5000)
    cal = make_calendar(YEAR_START + 160 * 1440, 7 * 1440, site.timezone)
    assert pv_power_w(site, cal).min() == -5000.0
    sun = solar_geometry(cal.minutes, 51.5, -0.12)
    times = pd.DatetimeIndex(((cal.minutes * 60 + 30) * 10**9).astype("datetime64[ns]"), tz="UTC")
    spa = pvlib.solarposition.get_solarposition(times, 51.5, -0.12)
    assert np.abs(sun.zenith - spa["zenith"].to_numpy()).max() < 0.6


def test_load_has_a_household_shape() -> None:
    cal = make_calendar(YEAR_START, 525_600, "Europe/London")
    for seed in (1, 2, 3, 4):
        load = base_load_w(seed, cal)
        assert load.min() > 0
        assert 1800 < load.sum() / 60 / 1000 < 6000  # kWh a year without EV or hot water
        hourly = load.reshape(365, 24, 60).mean(axis=(0, 2))
        assert hourly[17:21].mean() > 1.8 * hourly[1:5].mean()  # evening peak, quiet nights
        assert load.max() > 2500  # kettles, ovens, washing machines


def test_tou_follows_local_time_and_weekdays() -> None:
    def price(local: str, zone: str) -> float:
        when = pd.Timestamp(local, tz=zone).tz_convert("UTC").to_pydatetime()
        return float(TOU.import_prices(make_calendar(to_minute(when), 1, zone))[0])

    assert price("2025-06-02 16:30", "Europe/London") == 0.38  # Monday, BST
    assert price("2025-06-07 16:30", "Europe/London") == 0.26  # Saturday: no peak
    assert price("2025-06-02 03:00", "America/New_York") == 0.09
    assert price("2025-06-02 12:00", "Asia/Kolkata") == 0.26
    assert float(FLAT.export_prices(make_calendar(0, 1, "UTC"))[0]) == FLAT.export_rate


def test_dynamic_prices_are_half_hourly_deterministic_and_sane() -> None:
    cal = make_calendar(YEAR_START, 525_600, "Europe/London")
    imp, exp = DYNAMIC.import_prices(cal), DYNAMIC.export_prices(cal)
    assert np.array_equal(imp, DYNAMIC.import_prices(cal))
    half_hours = imp.reshape(-1, 30)
    assert np.all(half_hours == half_hours[:, :1])  # GMT: half-hours align with UTC
    assert np.all(exp <= imp - 0.01 + 1e-12)
    hourly = imp.reshape(365, 24, 60).mean(axis=(0, 2))
    assert hourly[16:19].mean() > 1.5 * hourly[2:5].mean()
    assert 0.12 < imp.mean() < 0.35 and (imp < 0).mean() < 0.05
    part = make_calendar(YEAR_START + 5000, 777, "Europe/London")
    assert np.array_equal(DYNAMIC.import_prices(part), imp[5000:5777])


def test_registry_and_price_periods() -> None:
    # ids are stored on sites: every id ever shipped stays (never renamed or removed)
    assert set(TARIFFS) == {"flat", "tou", "dynamic", "us-ca-tou", "us-ca-nbt", "de-flat"}
    assert tariff_by_id("tou") is TOU
    with pytest.raises(ValueError):
        tariff_by_id("nope")
    day = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
    periods = price_periods(TOU, day, day + timedelta(days=1), "Europe/London")
    assert [(p.start.hour, p.import_price) for p in periods] == [
        (0, 0.09), (6, 0.26), (15, 0.38), (18, 0.26), (23, 0.09),
    ]  # fmt: skip
    assert len(price_periods(DYNAMIC, day, day + timedelta(days=1), "Europe/London")) <= 48
