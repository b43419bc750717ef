"""Modes, weekly schedules and overlay plans as the simulator applies them."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.twin.twin_support import (
    FAST,
    days_after,
    full_home,
    property_settings,
    schedules,
)

from gridshare.twin import (
    TOU,
    BatteryBlock,
    CommandType,
    DeviceControl,
    Intent,
    IntentKind,
    Mode,
    OverlayCommand,
    OverlayPlan,
    ScheduleSlot,
    SiteControl,
    WeeklySchedule,
    initial_state,
    simulate,
)
from gridshare.twin.control import BATTERY_RULES, EV_RULES, RELAY_RULES, Action, resolve
from gridshare.twin.timebase import make_calendar, to_minute


@property_settings(15)
@given(
    seed=st.integers(0, 2**31),
    mode=st.sampled_from(list(Mode)),
    day=st.integers(0, 364),
    setpoint=st.floats(-2500, -200),
    schedule=schedules(),
)
def test_setpoint_discharge_overrides_the_mode_then_the_mode_resumes(
    seed: int, mode: Mode, day: int, setpoint: float, schedule: WeeklySchedule
) -> None:
    site = full_home(seed)
    start = days_after(day, 60)
    window = (start + timedelta(minutes=30), 45)
    overlay = OverlayPlan(window[0], (OverlayCommand(CommandType.SETPOINT, window[1], setpoint),))
    with_overlay = SiteControl(battery=DeviceControl(mode, schedule, overlay))
    without = SiteControl(battery=DeviceControl(mode, schedule))
    state = initial_state(site, start, soc_percent=80)
    end = start + timedelta(hours=5)
    result = simulate(site, state, end, with_overlay, FAST)

    battery = result.sensors["battery"].power_w
    inside = battery[30:75]
    assert np.all(inside < 0)
    pv = result.sensors["pv"].power_w[30:75]
    # Exactly the setpoint unless the shared inverter's AC rating binds.
    np.testing.assert_allclose(inside, np.maximum(setpoint, -(site.inverter_rated_w + pv)))

    # After the window the overlay has no effect: the mode's own run from that state matches.
    at_window_end = simulate(site, state, start + timedelta(minutes=75), with_overlay, FAST)
    resumed = simulate(site, at_window_end.end_state, end, without, FAST)
    assert np.array_equal(battery[75:], resumed.sensors["battery"].power_w)


def test_overlay_commands_run_in_order_from_the_next_whole_minute() -> None:
    start = days_after(0)
    plan = OverlayPlan(
        start + timedelta(minutes=10, seconds=20),
        (
            OverlayCommand(CommandType.CHARGE, 5, 1500),
            OverlayCommand(CommandType.IDLE, 5),
            OverlayCommand(CommandType.HEAT_WATER, 5),
            OverlayCommand(CommandType.SETPOINT, 5, -800),
        ),
    )
    cal = make_calendar(to_minute(start), 60, "Europe/London")
    battery = resolve(DeviceControl(Mode.SMART, overlay=plan), cal, BATTERY_RULES)
    assert list(battery.action[:11]) == [Action.SMART] * 11  # starts at 00:11, not 00:10
    assert list(battery.action[11:16]) == [Action.POWER] * 5
    assert list(battery.power_w[11:16]) == [1500] * 5
    assert list(battery.action[16:21]) == [Action.IDLE] * 5
    assert list(battery.action[21:26]) == [Action.SMART] * 5  # heatWater is not for batteries
    assert list(battery.power_w[26:31]) == [-800] * 5
    assert list(battery.action[31:]) == [Action.SMART] * 29
    relay = resolve(DeviceControl(Mode.SIMPLE, overlay=plan), cal, RELAY_RULES)
    assert list(relay.action[16:21]) == [Action.IDLE] * 5
    assert list(relay.action[21:26]) == [Action.POWER] * 5
    ev = resolve(DeviceControl(Mode.SIMPLE, overlay=plan), cal, EV_RULES)
    assert list(ev.action[26:31]) == [Action.IDLE] * 5  # a negative setpoint: no V2H


DAY = [  # one local day, repeated seven times
    (7 * 60, Intent(IntentKind.CHARGE, 0, 90, 2000)),
    (9 * 60, Intent(IntentKind.BALANCE, 30, 100)),
    (3 * 60, Intent(IntentKind.DISCHARGE, 20, 100, 3000)),
    (5 * 60, Intent(IntentKind.IDLE)),
]
WEEK = WeeklySchedule(tuple(ScheduleSlot(m, i) for _ in range(7) for m, i in DAY))


def test_schedule_slots_follow_local_time_across_dst() -> None:
    # London moves to BST on 2025-03-30: local 00:00 Monday 31st is 23:00 UTC on the 30th.
    start = days_after(27)  # 2025-03-30 00:00 UTC, a Sunday
    cal = make_calendar(to_minute(start), 2 * 1440, "Europe/London")
    commands = resolve(DeviceControl(Mode.SCHEDULE, WEEK), cal, BATTERY_RULES)
    local_hour = cal.minute_of_day // 60
    assert np.all(commands.power_w[local_hour < 7] == 2000)
    assert np.all(commands.action[(local_hour >= 7) & (local_hour < 16)] == Action.SELF)
    assert np.all(commands.power_w[(local_hour >= 16) & (local_hour < 19)] == -3000)
    assert np.all(commands.action[local_hour >= 19] == Action.IDLE)
    # Monday 31st 00:00 local is 23:00 UTC on Sunday: the charge slot starts then.
    assert commands.power_w[23 * 60] == 2000 and commands.action[23 * 60 - 1] == Action.IDLE


def test_schedule_mode_charges_discharges_and_idles() -> None:
    site = full_home(4, import_tariff=TOU)
    start = days_after(0)  # Monday 00:00 local (GMT)
    state = initial_state(site, start, soc_percent=20)
    control = SiteControl(battery=DeviceControl(Mode.SCHEDULE, WEEK))
    result = simulate(site, state, start + timedelta(days=2), control)
    battery = result.sensors["battery"]
    soc = battery.soc_percent
    assert soc is not None
    p = battery.power_w
    grid = result.sensors["grid"].power_w
    minute = np.arange(result.n) % 1440
    charge = minute < 7 * 60
    assert np.all(soc[charge] <= 90 + 1e-9)
    assert np.all(p[charge & (soc < 85)] == 2000)  # from the grid, at the asked power
    balance = (minute >= 7 * 60) & (minute < 16 * 60)
    assert np.all(grid[balance & (p > 0)] <= 1e-6)  # balance = self-consumption
    assert np.all(soc[balance] >= 30 - 1e-9) or soc[7 * 60] < 30
    discharge = (minute >= 16 * 60) & (minute < 19 * 60)
    assert np.all(p[discharge] <= 0) and np.all(soc[discharge] >= 20 - 1e-9)
    assert np.all(p[discharge & (soc > 25)] == -3000)
    assert np.all(p[minute >= 19 * 60] == 0)


def test_overlay_relay_and_ev_commands_reach_their_devices() -> None:
    site = full_home(2)
    start = days_after(10, 18 * 60)  # evening: the car is usually home
    plan = OverlayPlan(start, (OverlayCommand(CommandType.IDLE, 120),))
    heat = OverlayPlan(start, (OverlayCommand(CommandType.HEAT_WATER, 120),))
    state = initial_state(site, start, tank_temp_c=30)
    control = SiteControl(ev=DeviceControl(overlay=plan), hot_water=DeviceControl(overlay=heat))
    result = simulate(site, state, start + timedelta(hours=3), control)
    assert np.all(result.sensors["ev"].power_w[:120] == 0)
    hot = result.sensors["hot_water"]
    assert np.all(hot.power_w[:30] == 3000) and hot.states()[0] == "on"
    idle = SiteControl(hot_water=DeviceControl(overlay=OverlayPlan(start, (plan.commands[0],))))
    cold = simulate(site, state, start + timedelta(hours=2), idle)
    assert np.all(cold.sensors["hot_water"].power_w == 0)
    assert set(cold.sensors["hot_water"].states() or []) == {"off"}


def test_plans_parse_from_api_json() -> None:
    overlay = OverlayPlan.from_json(
        {
            "startTime": "2025-03-03T10:00:00Z",
            "commands": [
                {"type": "setpoint", "durationMinutes": 30, "powerW": -2000},
                {"type": "HEATWATER", "durationMinutes": 15},
                {"type": "charge", "durationMinutes": 15},
            ],
        }
    )
    assert overlay is not None and overlay.duration_minutes == 60
    assert overlay.commands[1].type is CommandType.HEAT_WATER
    assert OverlayPlan.from_json({"commands": []}) is None
    schedule = WeeklySchedule.from_json(
        [{"durationMinutes": 10080, "intent": {"kind": "Balance", "socMin": 10, "socMax": 90}}]
    )
    assert schedule.slots[0].intent == Intent(IntentKind.BALANCE, 10, 90, None)
    assert Mode.parse("SMART") is Mode.SMART
    with pytest.raises(ValueError):
        WeeklySchedule.from_json([{"durationMinutes": 60, "intent": {"kind": "idle"}}])
    with pytest.raises(ValueError):
        OverlayCommand(CommandType.SETPOINT, 10)
    with pytest.raises(ValueError):
        DeviceControl(Mode.SCHEDULE)
    with pytest.raises(ValueError):
        Mode.parse("unknown")
    with pytest.raises(ValueError):
        BatteryBlock(1000, 1000, 1000, soc_min_pct=50, soc_max_pct=40)
