"""`smart` against `simple` and against the perfect-foresight optimum, and the LP's physics."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from tests.unit.twin.twin_support import days_after, full_home, roundtrip

from gridshare.twin import (
    TOU,
    BatteryModel,
    DeviceControl,
    Mode,
    SiteControl,
    SmartConfig,
    TwinConfig,
    cost,
    initial_state,
    optimum,
    simulate,
)

SMART = SiteControl(battery=DeviceControl(Mode.SMART))


@pytest.mark.parametrize(
    ("seed", "day", "overrides"),
    [
        (1, 0, {}),  # a full home (EV, hot water) in early March
        (4, 301, {"ev_charger": None, "hot_water": None}),  # PV and battery only, December
    ],
)
def test_smart_beats_simple_and_is_within_2_percent_of_the_optimum(
    seed: int, day: int, overrides: dict[str, object]
) -> None:
    site = full_home(seed, import_tariff=TOU, export_tariff=TOU, **overrides)
    start, end = days_after(day), days_after(day + 7)
    state = initial_state(site, start)
    smart = simulate(site, state, end, SMART)
    simple = simulate(site, state, end)
    smart_cost, simple_cost = cost(smart, site.tariffs), cost(simple, site.tariffs)
    # Same end SoC for the optimum: otherwise it would sell the battery empty by the end.
    best = optimum(site, state, end, final_soc_min_wh=smart.end_state.battery_soc_wh)
    assert smart_cost < simple_cost
    assert best.cost <= smart_cost + 1e-6  # a true lower bound
    assert smart_cost - best.cost <= 0.02 * abs(best.cost)


def test_optimum_schedule_replays_exactly_through_the_battery_physics() -> None:
    site = full_home(3, ev_charger=None, hot_water=None)
    start = days_after(40)
    state = initial_state(site, start, soc_percent=30)
    best = optimum(site, state, start + timedelta(days=1))
    model = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w)
    assert model is not None
    flows = simulate(site, state, start + timedelta(days=1)).sensors["pv"].power_w
    soc = state.battery_soc_wh
    for minute, power in enumerate(best.battery_w):
        lo, hi = model.soc_min_wh, model.soc_max_wh
        applied, soc = model.step(soc, float(power), lo, hi, float(flows[minute]))
        assert applied == pytest.approx(power, abs=1e-3)
        assert soc == pytest.approx(best.soc_wh[minute], abs=1e-3)


def test_smart_plan_survives_chunking_with_forecast_errors() -> None:
    site = full_home(6)
    config = TwinConfig(smart=SmartConfig(forecast_error=0.2))
    start = days_after(120, 13)
    end = start + timedelta(hours=8)
    whole = simulate(site, initial_state(site, start), end, SMART, config)
    first = simulate(site, initial_state(site, start), start + timedelta(minutes=97), SMART, config)
    assert first.end_state.smart_plan is not None  # a mid-hour plan, carried in the state
    rest = simulate(site, roundtrip(first.end_state), end, SMART, config)
    joined = np.concatenate([first.sensors["battery"].power_w, rest.sensors["battery"].power_w])
    assert np.array_equal(whole.sensors["battery"].power_w, joined)


def test_smart_charges_off_peak_for_the_evening_peak() -> None:
    site = full_home(2, ev_charger=None, hot_water=None, pv_arrays=[])
    start = days_after(7)  # Monday: a weekday peak at 16:00-19:00 local
    state = initial_state(site, start, soc_percent=10)
    result = simulate(site, state, start + timedelta(days=1), SMART)
    battery = result.sensors["battery"].power_w
    hour = np.arange(result.n) // 60
    assert battery[hour < 7].sum() > 0  # charges on off-peak
    assert np.all(battery[(hour >= 7) & (hour < 16)] <= 1e-6)  # no grid charging at shoulder
    assert battery[(hour >= 16) & (hour < 19)].sum() < 0  # discharges at peak


def test_smart_config_rejects_short_horizons() -> None:
    with pytest.raises(ValueError):
        SmartConfig(horizon_minutes=12 * 60)
