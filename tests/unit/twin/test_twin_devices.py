"""Battery physics, EV sessions and charging, the hot-water tank, and the persisted state."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.twin.twin_support import MONDAY, days_after, full_home, property_settings

from gridshare.twin import (
    TOU,
    BatteryBlock,
    BatteryModel,
    DeviceControl,
    EnergyCounter,
    EvCharger,
    EvState,
    Mode,
    SiteControl,
    SmartPlan,
    TwinState,
    initial_state,
    simulate,
    split_blocks,
)
from gridshare.twin.ev import sessions_between
from gridshare.twin.timebase import make_calendar, to_minute

PACK = [BatteryBlock(5000, 2500, 3000, 0.9, 10, 95), BatteryBlock(3000, 1500, 1500, 0.8, 0, 100)]


def test_blocks_aggregate_into_one_pack() -> None:
    model = BatteryModel.from_blocks(PACK, inverter_w=10_000)
    assert model is not None
    assert model.capacity_wh == 8000
    assert (model.max_charge_w, model.max_discharge_w) == (4000, 4500)
    assert model.soc_min_wh == 500 and model.soc_max_wh == 7750
    assert model.round_trip_efficiency == pytest.approx((0.9 * 5000 + 0.8 * 3000) / 8000)
    assert BatteryModel.from_blocks([], 5000) is None
    soc = np.array([500.0, 4125.0, 7750.0])
    per_block = split_blocks(PACK, soc, np.array([100.0, 0.0, -100.0]))
    np.testing.assert_allclose(per_block[0][0], [10, 52.5, 95])
    np.testing.assert_allclose(per_block[1][0], [0, 50, 100])
    np.testing.assert_allclose(per_block[0][1] + per_block[1][1], [100, 0, -100])
    total = sum(b.capacity_wh * pct / 100 for b, (pct, _) in zip(PACK, per_block, strict=True))
    np.testing.assert_allclose(total, soc)


@property_settings(60)
@given(
    start=st.floats(0, 100),
    wants=st.lists(st.floats(-20_000, 20_000), min_size=1, max_size=200),
    window=st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted),
    pv=st.floats(-6000, 0),  # PV is clipped at the inverter rating before it gets here
)
def test_battery_never_leaves_its_bounds(
    start: float, wants: list[float], window: list[float], pv: float
) -> None:
    model = BatteryModel.from_blocks(PACK, inverter_w=6000)
    assert model is not None
    soc = model.soc_wh(start)
    lo, hi = (model.capacity_wh * p / 100 for p in window)
    for want in wants:
        power, after = model.step(soc, want, lo, hi, pv)
        assert model.soc_min_wh <= after <= model.soc_max_wh
        assert power == 0 or np.sign(power) == np.sign(want)
        assert abs(power) <= abs(want)
        assert -6000 <= pv + power <= 6000 or power == 0
        if power > 0:
            assert after <= max(hi, soc) and power <= model.charge_limit_w(soc) + 1e-9
        if power < 0:
            assert after >= min(lo, soc) and -power <= model.discharge_limit_w(soc) + 1e-9
        soc = after


def test_round_trip_efficiency_and_taper() -> None:
    model = BatteryModel.from_blocks([BatteryBlock(10_000, 5000, 5000, 0.81)], 10_000)
    assert model is not None
    soc = start = model.soc_wh(50)
    charged = discharged = 0.0
    for _ in range(30):  # 30 minutes at 2 kW in
        power, soc = model.step(soc, 2000, 0, 10_000, 0)
        charged += power / 60
    while soc > start + 1e-9:
        power, soc = model.step(soc, -(soc - start) * 60 * 0.9, 0, 10_000, 0)
        discharged -= power / 60
    assert discharged / charged == pytest.approx(0.81, rel=1e-6)
    band = model.taper_band_wh  # 5 % of 10 kWh
    assert model.charge_limit_w(model.soc_max_wh - band / 2) == pytest.approx(2500)
    assert model.charge_limit_w(model.soc_max_wh) == 0
    assert model.discharge_limit_w(model.soc_min_wh + band / 4) == pytest.approx(1250)


def test_ev_sessions_are_seeded_and_never_overlap() -> None:
    start, end = to_minute(MONDAY), to_minute(MONDAY + timedelta(days=60))
    sessions = sessions_between(7, "Europe/London", start, end)
    assert sessions == sessions_between(7, "Europe/London", start, end)
    assert 15 < len(sessions) < 60
    for a, b in itertools.pairwise(sessions):
        assert a.departure <= b.arrival
    assert all(s.departure > s.arrival and 1500 <= s.energy_wh <= 60_000 for s in sessions)
    middle = sessions_between(7, "Europe/London", start + 20 * 1440, start + 30 * 1440)
    assert set(middle) <= set(sessions)


def test_simple_ev_charges_at_full_power_from_arrival_until_full() -> None:
    site = full_home(3, ev_charger=EvCharger(7000))
    start = days_after(14)
    result = simulate(site, initial_state(site, start), start + timedelta(days=7))
    ev = result.sensors["ev"]
    sessions = sessions_between(site.seed, site.timezone, result.start, result.start + result.n)
    assert sessions
    for s in sessions:
        a, b = max(s.arrival, result.start) - result.start, s.departure - result.start
        power = ev.power_w[a:b]
        if s.arrival >= result.start and s.departure <= result.start + result.n:
            assert power.sum() / 60 == pytest.approx(min(s.energy_wh, 7000 * (b - a) / 60))
            full = int(s.energy_wh // (7000 / 60))
            assert np.all(power[: min(full, b - a)] == 7000)
    states = ev.states() or []
    assert all(
        w == ("charging" if p > 0 else w) for w, p in zip(states, ev.power_w, strict=True)
    )


def test_smart_ev_charges_in_the_cheapest_minutes() -> None:
    site = full_home(3, ev_charger=EvCharger(7000), import_tariff=TOU)
    start = days_after(14)
    control = SiteControl(ev=DeviceControl(Mode.SMART))
    result = simulate(site, initial_state(site, start), start + timedelta(days=7), control)
    simple = simulate(site, initial_state(site, start), start + timedelta(days=7))
    cal = make_calendar(result.start, result.n, site.timezone)
    price = TOU.import_prices(cal)
    smart_ev, simple_ev = result.sensors["ev"].power_w, simple.sensors["ev"].power_w
    assert smart_ev.sum() == pytest.approx(simple_ev.sum(), rel=0.05)
    assert (smart_ev * price).sum() < 0.8 * (simple_ev * price).sum()
    assert np.all(price[smart_ev > 0] <= 0.26)  # never at the weekday peak


def test_hot_water_tank_stays_below_setpoint_and_the_relay_gates_heat() -> None:
    site = full_home(5)
    start = days_after(30)
    result = simulate(site, initial_state(site, start, tank_temp_c=40), start + timedelta(days=3))
    assert result.tank_temp_c is not None
    assert result.tank_temp_c.max() <= site.hot_water.setpoint_c + 1e-9  # type: ignore[union-attr]
    hot = result.sensors["hot_water"]
    assert hot.power_w.max() == 3000 and hot.power_w.min() == 0
    smart = SiteControl(hot_water=DeviceControl(Mode.SMART))
    cheap = simulate(site, initial_state(site, start), start + timedelta(days=3), smart)
    cal = make_calendar(cheap.start, cheap.n, site.timezone)
    price = TOU.import_prices(cal)
    heat = cheap.sensors["hot_water"].power_w
    assert (heat * price).sum() / heat.sum() < (hot.power_w * price).sum() / hot.power_w.sum()
    assert cheap.tank_temp_c is not None and cheap.tank_temp_c.min() > 35


def test_state_round_trips_through_json() -> None:
    state = TwinState(
        time=MONDAY,
        battery_soc_wh=1234.5678901234,
        ev=EvState(to_minute(MONDAY) - 90, 4321.123456789),
        counters={"grid": EnergyCounter(10.000000000001, -3.3)},
        smart_plan=SmartPlan(to_minute(MONDAY), (1.5, -2.25, 0.1 + 0.2)),
    )
    data = json.loads(json.dumps(state.to_dict()))
    assert data["time"] == "2025-03-03T00:00:00Z"
    assert TwinState.from_dict(data) == state
    fresh = initial_state(full_home(), MONDAY + timedelta(seconds=42), soc_percent=0)
    assert fresh.time == MONDAY
    assert fresh.battery_soc_wh == 500.0  # the blocks' own minimum (5 %), never below
    with pytest.raises(ValueError):
        TwinState(time=MONDAY + timedelta(seconds=1))
