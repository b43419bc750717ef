"""Seeded household consumption (without the EV and the hot-water element, which are modelled
as controllable devices of their own).

A day is built in local wall-clock minutes from a seeded generator keyed by the local day: base
load with a cycling fridge, an occupancy-shaped activity curve (weekday/weekend, seasonal
lighting), minute noise and appliance events (kettle, hob, oven, microwave, washing machine,
tumble dryer, dishwasher). Events may run past midnight into the next day's buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

from gridshare.twin.rng import Stream, stream
from gridshare.twin.timebase import (
    MINUTES_PER_DAY,
    Calendar,
    FloatArray,
    day_of_year,
    take_daily,
)

SPILL = 240  # minutes an event may run past local midnight

_HOURS = np.arange(24) + 0.5
# Activity (lighting, TV, IT, small appliances) by local hour, W, for an average home.
_WEEKDAY = np.array(
    [70, 55, 50, 48, 48, 60, 160, 300, 240, 140, 110, 110,
     130, 120, 115, 140, 230, 380, 470, 460, 400, 320, 210, 110], dtype=np.float64
)  # fmt: skip
_WEEKEND = np.array(
    [90, 65, 55, 50, 48, 50, 80, 170, 290, 320, 290, 280,
     300, 260, 240, 250, 300, 410, 480, 470, 420, 350, 250, 140], dtype=np.float64
)  # fmt: skip


@dataclass(frozen=True)
class Household:
    """Per-site habits drawn once from the seed."""

    scale: float
    base_w: float
    works_from_home: bool
    early_riser: float  # shift of the morning routine, minutes


@lru_cache(maxsize=1024)
def household(seed: int) -> Household:
    rng = stream(seed, Stream.LOAD_PARAMS)
    return Household(
        scale=float(rng.uniform(0.6, 1.25)),
        base_w=float(rng.uniform(70.0, 180.0)),
        works_from_home=bool(rng.uniform() < 0.3),
        early_riser=float(rng.uniform(-60.0, 45.0)),
    )


def _activity_curve(weekend: bool, works_from_home: bool) -> FloatArray:
    minute_hours = (np.arange(MINUTES_PER_DAY) + 0.5) / 60.0
    curve = np.interp(minute_hours, _HOURS, _WEEKEND if weekend else _WEEKDAY, period=24)
    if works_from_home and not weekend:
        curve = curve + 140.0 * ((minute_hours >= 9) & (minute_hours < 17.5))
    return np.asarray(curve, dtype=np.float64)


_CURVES = {(w, h): _activity_curve(w, h) for w in (False, True) for h in (False, True)}


def _add(buf: FloatArray, start: float, duration: float, power: float, duty: float = 1.0) -> None:
    """Add an appliance run; a duty below 1 makes a thermostat cycle (on 4 of every 4/duty min)."""
    a = max(0, int(start))
    b = min(buf.size, a + max(1, int(duration)))
    if b <= a:
        return
    if duty >= 1.0:
        buf[a:b] += power
    else:
        period = max(2, round(4 / duty))
        on = (np.arange(b - a) % period) < 4
        buf[a:b] += power * on


def day_profile(seed: int, day: int) -> FloatArray:
    """Consumption of one local day, W per minute, 1440 + SPILL long (the tail spills over)."""
    home = household(seed)
    rng = stream(seed, Stream.LOAD_DAY, day)
    weekday = (day + 3) % 7
    weekend = weekday >= 5
    buf = np.zeros(MINUTES_PER_DAY + SPILL)

    # Base: standby plus a fridge-freezer compressor cycling ~40% of the time.
    buf += home.base_w * rng.uniform(0.9, 1.1)
    period = int(rng.integers(35, 55))
    phase = int(rng.integers(0, period))
    buf += 85.0 * (((np.arange(buf.size) + phase) % period) < 0.4 * period)

    # Occupancy-shaped activity with seasonal lighting (more in winter) and AR(1) noise.
    season = np.cos(2 * np.pi * (day_of_year(day) - 15) / 365.25)
    level = home.scale * rng.lognormal(0.0, 0.15) * (1.0 + 0.22 * season)
    noise = lfilter([0.45], [1.0, -0.9], rng.standard_normal(MINUTES_PER_DAY))
    shift = int(home.early_riser) if not weekend else int(home.early_riser) + 60
    curve = np.roll(_CURVES[(weekend, home.works_from_home)], shift)
    buf[:MINUTES_PER_DAY] += np.clip(level * curve * (1.0 + 0.25 * noise), 0.0, None)

    wake = 7 * 60 + home.early_riser + (60 if weekend else 0)
    # Kettle: a few boils a day, clustered around breakfast, lunch and the evening.
    for _ in range(int(rng.poisson(3.5 * home.scale))):
        when = rng.choice([wake + rng.normal(20, 25), rng.uniform(10 * 60, 16 * 60),
                           rng.normal(18 * 60, 90)])  # fmt: skip
        _add(buf, when, float(rng.integers(2, 5)), rng.uniform(2600, 3000))
    for _ in range(int(rng.poisson(1.2))):  # microwave
        _add(buf, rng.uniform(wake, 22 * 60), float(rng.integers(2, 7)), rng.uniform(900, 1200))
    dinner = rng.normal(18.5 * 60, 40)
    if rng.uniform() < 0.55:  # oven, thermostat cycling after preheat
        length = rng.uniform(35, 80)
        _add(buf, dinner - length, 12, 2400)
        _add(buf, dinner - length + 12, length - 12, 2400, duty=0.45)
    if rng.uniform() < 0.6:  # hob
        _add(buf, dinner - rng.uniform(10, 30), rng.uniform(10, 30), rng.uniform(1200, 2000), 0.7)
    washing = rng.uniform() < (0.65 if weekend else 0.4) * home.scale
    if washing:
        start = rng.uniform(wake + 30, 20 * 60)
        _add(buf, start, 15, 2000)  # heating the water
        _add(buf, start + 15, 75, 250)  # washing and spinning
        if rng.uniform() < 0.3:  # tumble dryer afterwards
            _add(buf, start + 100, rng.uniform(45, 90), 2200, duty=0.85)
    if rng.uniform() < 0.55:  # dishwasher after dinner, often past midnight
        start = rng.uniform(19.5 * 60, 23.5 * 60)
        _add(buf, start, 20, 1900)
        _add(buf, start + 20, 60, 140)
        _add(buf, start + 80, 15, 1900)
    return buf


def base_load_w(seed: int, cal: Calendar) -> FloatArray:
    """Household consumption per minute (W, >= 0), excluding the EV and the hot-water element."""
    if cal.n == 0:
        return np.zeros(0)
    first, last = cal.day_span()
    first -= 1  # yesterday's late events spill into today
    buffer = np.zeros((last - first + 1) * MINUTES_PER_DAY + SPILL)
    for day in range(first, last + 1):
        offset = (day - first) * MINUTES_PER_DAY
        buffer[offset : offset + MINUTES_PER_DAY + SPILL] += day_profile(seed, day)
    return np.round(take_daily(cal, first, buffer), 3)
