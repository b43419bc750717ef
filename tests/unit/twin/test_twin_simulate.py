"""Whole-site invariants, determinism and the chunking contract, over seeds, sites and plans."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.twin.twin_support import (
    FAST,
    days_after,
    full_home,
    joined,
    property_settings,
    roundtrip,
    site_controls,
    sites,
)

from gridshare.twin import (
    SENSORS,
    BatteryModel,
    SimResult,
    SiteControl,
    TwinSite,
    initial_state,
    simulate,
)

PROPERTY = property_settings()


def check_invariants(site: TwinSite, result: SimResult) -> None:
    s = result.sensors
    assert set(s) <= set(SENSORS)
    grid, use = s["grid"].power_w, s["consumption"].power_w
    pv = s["pv"].power_w if "pv" in s else np.zeros(result.n)
    battery = s["battery"].power_w if "battery" in s else np.zeros(result.n)
    # Energy balance at every minute: grid = consumption + battery + pv.
    np.testing.assert_allclose(grid, use + battery + pv, atol=1e-6)
    assert np.all(pv <= 0) and np.all(use >= 0)
    loads = sum((s[k].power_w for k in ("ev", "hot_water") if k in s), np.zeros(result.n))
    assert np.all(use - loads >= -1e-6)
    if "inverter" in s:
        expected = battery + pv if site.hybrid else battery
        np.testing.assert_allclose(s["inverter"].power_w, expected, atol=1e-6)
        assert np.all(np.abs(s["inverter"].power_w) <= site.inverter_rated_w + 1e-6)
    for series in s.values():
        inc, dec = series.energy_wh_increment, series.energy_wh_decrement
        assert np.all(inc >= 0) and np.all(dec <= 0)
        assert np.all(np.diff(inc) >= 0) and np.all(np.diff(dec) <= 0)
    for key, counter in result.end_state.counters.items():
        if result.n and key in s:
            assert counter.increment_wh == s[key].energy_wh_increment[-1]
            assert counter.decrement_wh == s[key].energy_wh_decrement[-1]
    if "battery" in s:
        model = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w)
        assert model is not None
        soc = s["battery"].soc_percent
        assert soc is not None
        lo = model.soc_min_wh / model.capacity_wh * 100
        hi = model.soc_max_wh / model.capacity_wh * 100
        assert np.all(soc >= lo - 1e-9) and np.all(soc <= hi + 1e-9)
        assert np.all(np.abs(battery) <= max(model.max_charge_w, model.max_discharge_w) + 1e-6)
        words = s["battery"].states()
        assert words is not None
        assert all(w == "charging" for w, p in zip(words, battery, strict=True) if p > 1.0)
        assert all(w == "discharging" for w, p in zip(words, battery, strict=True) if p < -1.0)


@PROPERTY
@given(
    site=sites(),
    day=st.integers(0, 364),
    hours=st.integers(1, 30),
    data=st.data(),
)
def test_invariants_hold_for_any_site_and_plan(
    site: TwinSite, day: int, hours: int, data: st.DataObject
) -> None:
    start = days_after(day, data.draw(st.integers(0, 1439)))
    control = data.draw(site_controls(start, hours * 60))
    state = initial_state(site, start, soc_percent=data.draw(st.floats(0, 100)))
    result = simulate(site, state, start + timedelta(hours=hours), control, FAST)
    assert result.n == hours * 60
    check_invariants(site, result)


@PROPERTY
@given(site=sites(), day=st.integers(0, 364), data=st.data())
def test_chunked_runs_equal_one_run(site: TwinSite, day: int, data: st.DataObject) -> None:
    start = days_after(day, data.draw(st.integers(0, 1439)))
    total = data.draw(st.integers(2, 36 * 60))
    control = data.draw(site_controls(start, total))
    cuts = sorted(data.draw(st.sets(st.integers(1, total - 1), max_size=3)))
    state = initial_state(site, start, soc_percent=data.draw(st.floats(0, 100)))
    whole = simulate(site, state, start + timedelta(minutes=total), control, FAST)

    parts = []
    for edge in [*cuts, total]:
        part = simulate(site, state, start + timedelta(minutes=edge), control, FAST)
        parts.append(part)
        state = roundtrip(part.end_state)

    for key, series in whole.sensors.items():
        assert np.array_equal(series.power_w, joined(parts, key, "power_w"))
        if series.soc_percent is not None:
            assert np.array_equal(series.soc_percent, joined(parts, key, "soc_percent"), True)
        if series.state is not None:
            assert np.array_equal(series.state, joined(parts, key, "state"))
        for field in ("energy_wh_increment", "energy_wh_decrement"):
            np.testing.assert_allclose(
                series.__getattribute__(field), joined(parts, key, field), rtol=1e-12, atol=1e-6
            )
    end = whole.end_state
    assert state.battery_soc_wh == end.battery_soc_wh
    assert state.ev == end.ev and state.hot_water == end.hot_water
    assert state.smart_plan == end.smart_plan


@property_settings(10)
@given(site=sites(), day=st.integers(0, 364))
def test_same_inputs_same_outputs(site: TwinSite, day: int) -> None:
    start = days_after(day)
    state = initial_state(site, start)
    a = simulate(site, state, start + timedelta(hours=6))
    b = simulate(site, state, start + timedelta(hours=6))
    for key in a.sensors:
        assert np.array_equal(a.sensors[key].power_w, b.sensors[key].power_w)
    assert a.end_state == b.end_state


@PROPERTY
@given(site=sites(battery=True), day=st.integers(0, 364), soc=st.floats(0, 100))
def test_simple_never_charges_from_the_grid(site: TwinSite, day: int, soc: float) -> None:
    start = days_after(day)
    result = simulate(site, initial_state(site, start, soc_percent=soc), start + timedelta(days=1))
    battery = result.sensors["battery"].power_w
    grid = result.sensors["grid"].power_w
    assert np.all(grid[battery > 0] <= 1e-6)  # charging only ever soaks up an export
    assert np.all(grid[battery < 0] >= -1e-6)  # discharging never exports


def test_empty_range_returns_the_state() -> None:
    site = full_home()
    state = initial_state(site, days_after(0))
    result = simulate(site, state, days_after(0))
    assert result.n == 0
    assert result.end_state.battery_soc_wh == state.battery_soc_wh
    assert result.end_state.time == state.time


def test_end_before_start_is_refused() -> None:
    site = full_home()
    state = initial_state(site, days_after(1))
    try:
        simulate(site, state, days_after(0))
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_full_home_reports_every_role_and_counts_energy() -> None:
    site = full_home()
    result = simulate(site, initial_state(site, days_after(90)), days_after(97))
    assert set(result.sensors) == {
        "grid", "consumption", "pv", "battery", "inverter", "ev", "hot_water"
    }
    s = result.sensors
    assert s["pv"].energy_wh_decrement[-1] < -10_000  # a June week of 4.5 kWp
    assert s["battery"].energy_wh_increment[-1] > 0
    assert s["ev"].energy_wh_increment[-1] > 0
    assert s["hot_water"].energy_wh_increment[-1] > 0
    assert set(s["ev"].states() or []) <= {"unplugged", "plugged", "charging"}
    assert set(s["hot_water"].states() or []) <= {"off", "on"}
    ev_soc = s["ev"].soc_percent
    assert ev_soc is not None
    plugged = ~np.isnan(ev_soc)
    assert plugged.any() and np.all((ev_soc[plugged] > 0) & (ev_soc[plugged] <= 100 + 1e-9))
    # Exported PV shows on the grid meter's decrement, the battery's charge on its increment.
    assert s["grid"].energy_wh_decrement[-1] < 0
    check_invariants(site, result)


def test_separate_pv_inverter_splits_the_inverter_roles() -> None:
    site = full_home(pv_inverter_rated_w=4000, inverter_rated_w=3000)
    result = simulate(site, initial_state(site, days_after(100)), days_after(101))
    s = result.sensors
    np.testing.assert_array_equal(s["pv_inverter"].power_w, s["pv"].power_w)
    np.testing.assert_array_equal(s["inverter"].power_w, s["battery"].power_w)
    assert s["pv"].power_w.min() >= -4000
    check_invariants(site, result)


def test_timestamps_follow_the_state() -> None:
    site = full_home()
    start = days_after(3, 17)
    result = simulate(site, initial_state(site, start), start + timedelta(minutes=5))
    assert result.start_time == start and result.end_time == start + timedelta(minutes=5)
    assert str(result.timestamps()[0]) == "2025-03-06T00:17"
    assert result.sample_count == 5 * len(result.sensors)
    assert SiteControl() == SiteControl()
