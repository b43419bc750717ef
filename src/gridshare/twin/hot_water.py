"""Hot-water cylinder with an immersion element behind a load-control relay.

A single-node (fully mixed) tank: seeded draws (showers, a bath, sinks) and standing losses cool
it; the tank's own thermostat (setpoint with hysteresis) heats it only while the relay is
closed. The relay is what plans control (`heatWater`/`idle`); `smart` closes it in the day's
cheapest import minutes and whenever the water is colder than the comfort minimum.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from gridshare.twin.control import Action, Commands
from gridshare.twin.rng import Stream, stream
from gridshare.twin.spec import HotWater, TwinSite
from gridshare.twin.timebase import (
    MINUTES_PER_DAY,
    BoolArray,
    Calendar,
    FloatArray,
    local_day_bounds,
    make_calendar,
    take_daily,
)

RELAY_STATES = ("off", "on")
USE_TEMPERATURE_C = 40.0  # draws are litres of mixed water at this temperature
WATER_WH_PER_LITRE_K = 4186.0 / 3600.0
SMART_CHEAP_MINUTES = 240  # smart keeps the relay closed in the day's cheapest 4 h
SPILL = 60


@dataclass(frozen=True)
class HotWaterState:
    tank_temp_c: float = 55.0
    heating: bool = False
    """The tank thermostat's latch (calling for heat), kept while the relay is open."""


@lru_cache(maxsize=4096)
def draw_day(seed: int, day: int) -> FloatArray:
    """Litres per minute of 40 degC water drawn on one local day (1440 + SPILL long)."""
    rng = stream(seed, Stream.HOT_WATER_DAY, day)
    weekend = (day + 3) % 7 >= 5
    buf = np.zeros(MINUTES_PER_DAY + SPILL)

    def draw(start: float, minutes: float, litres_per_minute: float) -> None:
        a = int(np.clip(start, 0, MINUTES_PER_DAY - 1))
        buf[a : a + max(1, int(minutes))] += litres_per_minute

    morning = 7 * 60 + (75 if weekend else 0)
    for _ in range(int(rng.integers(1, 3))):  # morning showers
        draw(rng.normal(morning, 40), rng.uniform(5, 10), rng.uniform(7, 9))
    if rng.uniform() < 0.5:  # an evening shower
        draw(rng.normal(21 * 60, 50), rng.uniform(5, 10), rng.uniform(7, 9))
    if rng.uniform() < (0.25 if weekend else 0.1):  # a bath
        draw(rng.normal(20 * 60, 60), 10, 10)
    for _ in range(int(rng.poisson(7))):  # sinks, washing up
        draw(rng.uniform(morning - 30, 22.5 * 60), float(rng.integers(1, 3)), rng.uniform(3, 6))
    buf.setflags(write=False)
    return buf


def draws_l(seed: int, cal: Calendar) -> FloatArray:
    if cal.n == 0:
        return np.zeros(0)
    first, last = cal.day_span()
    first -= 1
    buffer = np.zeros((last - first + 1) * MINUTES_PER_DAY + SPILL)
    for day in range(first, last + 1):
        offset = (day - first) * MINUTES_PER_DAY
        buffer[offset : offset + MINUTES_PER_DAY + SPILL] += draw_day(seed, day)
    return take_daily(cal, first, buffer)


def cheap_minutes(site: TwinSite, cal: Calendar, minutes: int = SMART_CHEAP_MINUTES) -> BoolArray:
    """Minutes priced at or below the `minutes`-th cheapest import price of their local day."""
    if cal.n == 0:
        return np.zeros(0, dtype=np.bool_)
    first, last = cal.day_span()
    lo, hi = local_day_bounds(first, last, cal.timezone)
    full = make_calendar(lo, hi - lo, cal.timezone)
    price = site.import_tariff.import_prices(full)
    cuts = [0, *(np.flatnonzero(np.diff(full.day)) + 1).tolist(), full.n]
    cheap = np.zeros(full.n, dtype=np.bool_)
    for a, b in itertools.pairwise(cuts):
        day_prices = price[a:b]
        k = min(minutes, b - a)
        cheap[a:b] = day_prices <= np.partition(day_prices, k - 1)[k - 1]
    return cheap[cal.start - lo : cal.start - lo + cal.n]


@dataclass(frozen=True, eq=False)
class HotWaterRun:
    power_w: FloatArray
    relay_on: npt.NDArray[np.int8]
    tank_temp_c: FloatArray
    end_state: HotWaterState


def simulate_hot_water(
    tank: HotWater,
    draws: FloatArray,
    commands: Commands,
    cheap: BoolArray,
    state: HotWaterState,
) -> HotWaterRun:
    """Step the tank minute by minute (the thermostat latch makes it sequential)."""
    n = draws.size
    capacity = tank.heat_capacity_wh_per_k
    max_heat_wh = tank.element_power_w / 60.0
    loss_per_min = tank.loss_w_per_k / 60.0
    cut_in = tank.setpoint_c - tank.hysteresis_c
    temp, heating = state.tank_temp_c, state.heating
    power = [0.0] * n
    relay = [0] * n
    temps = [0.0] * n
    actions = commands.action.tolist()
    cheap_list = cheap.tolist()
    draw_list = draws.tolist()
    smart, closed = int(Action.SMART), int(Action.POWER)
    for i in range(n):
        drawn = draw_list[i]
        lost = loss_per_min * (temp - tank.ambient_c)
        if drawn:
            useful = min(temp, USE_TEMPERATURE_C) - tank.cold_inlet_c
            lost += drawn * WATER_WH_PER_LITRE_K * max(useful, 0.0)
        temp = max(temp - lost / capacity, tank.cold_inlet_c)
        if heating:
            heating = temp < tank.setpoint_c
        else:
            heating = temp <= cut_in
        action = actions[i]
        on = action == closed or (action == smart and (cheap_list[i] or temp < tank.comfort_min_c))
        if on:
            relay[i] = 1
            if heating:
                heat = min(max_heat_wh, (tank.setpoint_c - temp) * capacity)
                temp += heat / capacity
                power[i] = heat * 60.0
                heating = temp < tank.setpoint_c - 1e-9
        temps[i] = temp
    return HotWaterRun(
        np.array(power),
        np.array(relay, dtype=np.int8),
        np.array(temps),
        HotWaterState(temp, heating),
    )
